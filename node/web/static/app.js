// Progressive help only: every page works without this file.
// After a check or a refused form, move the keyboard focus to the answer or to the
// first field in error, so a border officer can read it and type again at once.
document.addEventListener("DOMContentLoaded", () => {
  const target = document.querySelector("[data-error]") || document.querySelector("[data-focus]");
  if (target) {
    target.focus();
  }
});
