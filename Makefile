# Two commands set everything up on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
LATEST_VENV ?= .venv-latest
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup demo test unit e2e connector-test image-test bench lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: setup  ## sync every stream from the bundled fake vendor APIs into demo_output/exports.duckdb
	$(PY) -m integration_tests.demo

test: setup $(LATEST_VENV)/.installed  ## the whole suite: lint, unit, end-to-end, CDK standard tests, container image
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest
	@echo "--- the CDK's own test runner (airbyte-cdk connector test) against the fake vendor servers"
	$(PY) -m integration_tests.connector_test
	@echo "--- the download machinery again, on the dependency versions the container image installs"
	$(LATEST_VENV)/bin/python -m pytest -q -p no:cacheprovider unit_tests/download integration_tests/test_fast_read.py

unit: setup
	$(PY) -m pytest unit_tests

e2e: setup
	$(PY) -m pytest integration_tests -m "not image"

connector-test: setup  ## `airbyte-cdk connector test` on this connector: starts the fakes, writes secrets/, runs the CDK's runner
	$(PY) -m integration_tests.connector_test

# The connector with its runtime dependencies at the newest versions setup.py allows, as the container
# image installs them (PyAirbyte holds the dev venv at pyarrow<22), plus the test tools, which the
# connector never imports. The benchmark runs in it; `make test` reruns the download tests in it.
$(LATEST_VENV)/.installed: setup.py
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/python -m pip install --quiet -e ".[tests]"
	touch $@

bench: setup $(LATEST_VENV)/.installed  ## rows/s, MB/s, peak RSS of `source-exports read` vs a lean reference (1M rows; docs/performance.md)
	$(PY) -m bench --python $(LATEST_VENV)/bin/python
	$(PY) -m bench.overlap --python $(LATEST_VENV)/bin/python

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) $(LATEST_VENV) demo_output .pytest_cache .ruff_cache build *.egg-info
