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
# again and fails when a benchmark's BENCH_FIELD (min: its best round) is slower than in the last saved run by
# more than BENCH_THRESHOLD. Both run Numba, OpenMP and OpenBLAS on BENCH_THREADS threads (1: steady on a
# shared machine; empty: all cores). See docs/performance.md.
BENCH_FIELD ?= min
BENCH_THRESHOLD ?= 50%
BENCH_THREADS ?= 1
BENCH_ENV := $(if $(BENCH_THREADS),NUMBA_NUM_THREADS=$(BENCH_THREADS) OMP_NUM_THREADS=$(BENCH_THREADS) OPENBLAS_NUM_THREADS=$(BENCH_THREADS))
BENCH_ARGS := benchmarks --benchmark-enable --benchmark-storage=.benchmarks -q

bench: $(VENV)/.installed-bench
	$(BENCH_ENV) $(BIN)/python -m pytest $(BENCH_ARGS) --benchmark-autosave

bench-compare: $(VENV)/.installed-bench
	@ls .benchmarks/*/*.json >/dev/null 2>&1 || { echo "make bench-compare: no saved run under .benchmarks/; run make bench first"; exit 2; }
	$(BENCH_ENV) $(BIN)/python -m pytest $(BENCH_ARGS) --benchmark-compare --benchmark-compare-fail=$(BENCH_FIELD):$(BENCH_THRESHOLD)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks build *.egg-info
