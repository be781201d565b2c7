# Quick start: `make run` (the embedded default benchmark, offline) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
# The temporary local Prefect API can take longer than Prefect's default 20 s on a busy 2-core machine.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: setup run test lint format bench deploy clean-results

setup: $(STAMP)

# Re-installs only when pyproject.toml changes: `make run` and `make test` stay idempotent and fast.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test,docker]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/vlmhb run $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# One formatter and linter (ruff, line length 110) and the layer contracts (import-linter, pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/bench_scoring.py
	$(PY) bench/bench_inference.py

# Work pools, concurrency limits and prefect.yaml's deployments on the server PREFECT_API_URL names (idempotent).
deploy: $(STAMP)
	$(VENV)/bin/vlmhb deploy $(ARGS)

clean-results:
	rm -rf results
