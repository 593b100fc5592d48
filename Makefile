# Two commands matter: `make run` and `make test`. Both work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test soak lint install demo clean histories

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: Temporal dev server (SQLite under .data/, Web UI :8233), local SMTP (.data/mail/), worker, HTTP starters (:8000)
## run OLD=<git ref>: two workers instead, <git ref>'s build (current) and this checkout's, as deployment versions (docs/versioning.md)
run: $(STAMP)
	$(BIN)/python -m devstack $(if $(OLD),--old $(OLD))

## lint: format, imports and types (ruff, mypy); part of `make test`
lint: $(STAMP)
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .
	$(BIN)/mypy

## test: the lint gate, then the suite against real servers (time-skipping, dev server, SMTP, HTTP on loopback, PostgreSQL)
## in two processes, a test file to each at a time (each with its own servers); PYTEST_ARGS="-n 0" runs it in one
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not soak" -n 2 --dist loadfile $(PYTEST_ARGS)

## soak: the heavy-traffic tests (floods into every wait state, workers SIGKILLed mid-journey); CI runs it after `make test`
soak: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m soak $(PYTEST_ARGS)

## demo: start a demo journey on the running `make run` stack
demo: $(STAMP)
	$(BIN)/python -m devstack.demo

clean:
	rm -rf $(VENV) .pytest_cache

## histories: record the replay corpus for the current workflow version (tests/histories/<version>/) on a dev server
histories: $(STAMP)
	$(BIN)/python -m replay.record $(RECORD_ARGS)
