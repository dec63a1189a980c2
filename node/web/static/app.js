// Progressive help only: every page works without this file.
"use strict";

// After a check or a refused form, move the keyboard focus to the answer or to the
// first field in error, so a border officer can read it and type again at once.
function focusAnswer() {
  const target = document.querySelector("[data-error]") || document.querySelector("[data-focus]");
  if (target) {
    target.focus();
  }
}

// A page waiting on the network (purge receipts still outstanding) reloads itself every
// few seconds until nothing is outstanding; without script it has a link to itself.
function refreshWhileWaiting() {
  const waiting = document.querySelector("[data-refresh]");
  if (waiting) {
    const seconds = Number(waiting.getAttribute("data-refresh")) || 2;
    window.setTimeout(() => window.location.reload(), seconds * 1000);
  }
}

// An import runs step by step (a hundred rows a request): the page's script sends the
// steps one after the other and moves the progress bar; without script, "Continue" does.
async function runImport(form) {
  const bar = document.getElementById("import-bar");
  const count = document.getElementById("import-count");
  const button = form.querySelector("button");
  if (button) {
    button.hidden = true;
  }
  for (;;) {
    const answer = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!answer.ok) {
      break;
    }
    const progress = await answer.json();
    bar.max = progress.total;
    bar.value = progress.done;
    count.textContent = count.textContent.replace(/\d+/, String(progress.done));
    if (progress.finished) {
      break;
    }
  }
  window.location.reload();
}

// A border check answers in place: the form is sent in the background and only the
// answer is replaced, so the officer keeps the page and the answer shows at once. Any
// other answer (signed out, refused form) falls back to sending the form as a page.
function checkInPlace(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let answer;
    try {
      answer = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-Fragment": "answer" },
        credentials: "same-origin",
        redirect: "manual",
      });
    } catch (error) {
      form.submit();
      return;
    }
    const fresh = answer.ok || answer.status === 422
      ? new DOMParser().parseFromString(await answer.text(), "text/html").getElementById("answer")
      : null;
    const current = document.getElementById("answer");
    if (!fresh || !current) {
      form.submit();
      return;
    }
    current.replaceWith(fresh);
    const field = form.querySelector("textarea, input:not([type=hidden])");
    if (field && fresh.querySelector("#check-error")) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", "check-error");
    } else if (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    }
    const target = fresh.querySelector("[data-focus]");
    if (target) {
      target.focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  focusAnswer();
  document.querySelectorAll("form[data-check]").forEach(checkInPlace);
  refreshWhileWaiting();
  const step = document.querySelector("form[data-auto-step]");
  if (step) {
    runImport(step);
  }
});
