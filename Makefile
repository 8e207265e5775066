# The two commands: `make run` (whole platform on SQLite with demo residents) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: install lock proto keys run run-pg test test-fast chaos lint typecheck check bench clean
.PHONY: reconcile-spark

# Everything is installed from uv.lock (pinned, with hashes). uv is the field's lock tool: one
# binary from PyPI, one lock for every platform and extra, and installs that refuse a lock
# that no longer matches pyproject.toml (--locked; `make lock` refreshes it).
# Only uv itself comes through pip, from uv-requirements.txt (pinned, with hashes).
# --inexact keeps pip and anything a developer added by hand; the image syncs exactly.
$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r uv-requirements.txt

$(STAMP): pyproject.toml uv.lock uv-requirements.txt | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --all-extras --inexact
	touch $(STAMP)

install: $(STAMP)  ## create the virtualenv and install the project with every extra, from uv.lock

lock: | $(UV)  ## re-resolve uv.lock from pyproject.toml (commit both), then `make install`
	$(UV) lock

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

chaos: $(STAMP)  ## the fault suite (SIGKILL, DB restart, frozen provider, black hole) with its report
	$(PY) -m pytest tests/chaos -q -s

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src services tests scripts bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy src services scripts bench tests

check: lint typecheck

bench: $(STAMP)  ## performance figures beside baselines measured in the same run
	$(PY) -m bench

# Lost pension records on Spark (issue 13): the registry's linkage model through Splink's
# Spark backend in local mode, over generated data (needs Java 17; pyspark is in the extra
# `spark`). Sizes: make reconcile-spark ARGS="--residents 100000 --orphans 100000 --compare".
reconcile-spark: $(STAMP)  ## score generated orphan records on Spark local mode (docs/pension-reconciliation.md)
	$(PY) scripts/reconcile_spark.py $(ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
