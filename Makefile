# Quick start: `make run` (the embedded default benchmark, offline) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
# The temporary local Prefect API can take longer than Prefect's default 20 s on a busy 2-core machine.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: setup run test test-fast lint format docs bench deploy clean-results

setup: $(STAMP)

# Re-installs only when pyproject.toml changes: `make run` and `make test` stay idempotent and fast.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test,docker,docs]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/vlmhb run $(ARGS)

# The tests mostly wait on servers, pip and Docker: 4 workers on 2 cores (tests/conftest.py keeps those that
# share a run, a server or the Docker engine on one worker).
TEST_WORKERS ?= 4
XDIST := -n $(TEST_WORKERS) --dist loadgroup

# Every test (what CI runs).
test: $(STAMP)
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# The inner loop: every test but those that build environments, start Docker or run whole benchmarks.
test-fast: $(STAMP)
	$(PY) -m pytest $(XDIST) -m "not slow and not docker" $(PYTEST_ARGS)

# One formatter and linter (ruff, line length 110) and the layer contracts (import-linter, pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The documentation site (mkdocs.yml) in strict mode: a broken link or anchor, or a column, setting or result
# column without its description, fails. Material's notice about MkDocs 2.0 is known (docs/development.md).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

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
