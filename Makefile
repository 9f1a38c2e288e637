# Two commands set everything up on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BENCH_VENV ?= .venv-bench
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup demo test unit e2e image-test bench lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: setup  ## sync every stream from the bundled fake vendor APIs into demo_output/exports.duckdb
	$(PY) -m integration_tests.demo

test: setup  ## the whole suite: lint, unit, end-to-end, CDK standard tests, container image
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

unit: setup
	$(PY) -m pytest unit_tests

e2e: setup
	$(PY) -m pytest integration_tests -m "not image"

# The benchmark runs the connector as the image installs it: runtime dependencies only (no test or demo extras).
$(BENCH_VENV)/.installed: setup.py
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e .
	touch $@

bench: setup $(BENCH_VENV)/.installed  ## rows/s, MB/s, peak RSS of `source-exports read` vs a lean reference (1M rows; docs/performance.md)
	$(PY) -m bench --python $(BENCH_VENV)/bin/python

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(BENCH_VENV) demo_output .pytest_cache .ruff_cache build *.egg-info
