# The two commands: `make run` (whole platform on SQLite with demo residents) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install proto keys run run-pg test test-fast lint typecheck check bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create the virtualenv and install the project with dev tools

proto: $(STAMP)  ## regenerate gen/ from protos/
	rm -rf gen && $(PY) scripts/gen_protos.py gen

keys: $(STAMP)  ## generate dev CA, service certificates and keyrings under var/ if missing
	$(PY) -m mynumber_dev keys

run: $(STAMP)  ## start every service on SQLite with synthetic demo residents (Ctrl-C stops)
	$(PY) -m mynumber_dev run

run-pg: $(STAMP)  ## the same on the PostgreSQL at 127.0.0.1:5432
	$(PY) -m mynumber_dev run --postgres postgresql+psycopg://postgres@127.0.0.1:5432

test: $(STAMP)  ## the whole suite (SQLite and PostgreSQL, e2e, browser)
	$(PY) -m pytest

test-fast: $(STAMP)  ## unit tests only
	$(PY) -m pytest tests/unit -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src services tests scripts bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy src services scripts bench tests

check: lint typecheck

bench: $(STAMP)  ## performance figures beside baselines measured in the same run
	$(PY) -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
