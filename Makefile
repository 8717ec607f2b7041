# Two commands on a fresh machine (Debian, Python >= 3.11, make):
#   make run    install into .venv, create the sample database, start the app
#   make test   install into .venv and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install system clean

run: install
	$(BIN)/orchard init --sample
	$(BIN)/orchard app

test: system install
	$(BIN)/python -m pytest

# Debian packages the tests need: Chromium (browser tests drive it through Playwright, which must not
# download its own) and a CJK font (Chinese text on the risk maps). Installed when missing, as root or
# with sudo; otherwise the command to run is printed.
SYSTEM_PACKAGES := chromium fonts-noto-cjk
system:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "make: please run: sudo apt-get install $(SYSTEM_PACKAGES)" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) .orchard .pytest_cache
