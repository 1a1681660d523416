# Two set-up commands, each creating .venv when missing and installing the project into it:
#   make demo   the main job (see README)
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench bench-compare clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/sensorkit demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Benchmarks: every run is saved under .benchmarks/ (pytest-benchmark JSON); bench-compare runs the suite
# again and fails when a benchmark's median is slower than the last saved run by more than BENCH_THRESHOLD.
BENCH_THRESHOLD ?= 25%
BENCH_ARGS := benchmarks --benchmark-enable --benchmark-storage=.benchmarks -q

bench: $(VENV)/.installed-bench
	$(BIN)/python -m pytest $(BENCH_ARGS) --benchmark-autosave

bench-compare: $(VENV)/.installed-bench
	@ls .benchmarks/*/*.json >/dev/null 2>&1 || { echo "make bench-compare: no saved run under .benchmarks/; run make bench first"; exit 2; }
	$(BIN)/python -m pytest $(BENCH_ARGS) --benchmark-compare --benchmark-compare-fail=median:$(BENCH_THRESHOLD)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks build *.egg-info
