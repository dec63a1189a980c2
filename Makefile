# The two commands a fresh machine needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

CHROMIUM := /usr/bin/chromium

.PHONY: demo demo-keep test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/noticenet demo

# The same tour, then the network stays up (Ctrl-C stops it) for a person to sign in.
demo-keep: $(STAMP)
	$(BIN)/noticenet demo --keep

lint: $(STAMP)
	$(BIN)/ruff check .
	mkdir -p .typecheck/noticenet
	for d in crypto protocol; do ln -sfn ../../$$d .typecheck/noticenet/$$d; done
	MYPYPATH=.typecheck $(BIN)/mypy -p noticenet.crypto -p noticenet.protocol

# The browser tests (tests/test_web.py) drive Debian's Chromium through Playwright; it is
# installed here where it is missing (about 20 s with a reachable mirror), never downloaded
# by Playwright itself.
$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium

test: lint $(CHROMIUM)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
