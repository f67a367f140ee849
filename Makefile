# Two commands for a newcomer (Python 3.11+ and pip are all you need):
#   make run    set everything up, then run the whole service on the embedded default (SQLite)
#   make test   set everything up, then lint and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNTIME := $(VENV)/.installed-run
STAMP   := $(VENV)/.installed-dev
# Ralph, the learning record store the xAPI tests send to, in a virtualenv of its own (its FastAPI
# and pydantic pins are not ours); tests/helpers/ralph.py finds it there
RALPH_VENV  := .venv-ralph
RALPH_STAMP := $(RALPH_VENV)/.installed

.PHONY: run test lint format bench clean ralph

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` installs what running needs, nothing more; `make test` adds the test tools
$(RUNTIME): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME)

run: $(RUNTIME)
	$(BIN)/curation run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(RALPH_STAMP):
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RALPH_VENV)/bin/python -m pip install --quiet 'ralph-malph[cli,lrs]>=5.1,<6' \
		click-option-group requests  # (5.x has its file-system backend built in: no extra)
	touch $(RALPH_STAMP)

ralph: $(RALPH_STAMP)

test: lint ralph
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(RALPH_VENV) .pytest_cache .ruff_cache
