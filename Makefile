# Two commands on a fresh machine (Debian, Python >= 3.11, make):
#   make run    install into .venv, create the sample database, start the app
#   make test   install into .venv and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install clean

run: install
	$(BIN)/orchard init --sample
	$(BIN)/orchard app

test: install
	$(BIN)/python -m pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) .orchard .pytest_cache
