"""`make bench-compare` catches a 2x slowdown of one kernel and passes an unchanged rerun.

The comparison is pytest-benchmark's --benchmark-compare with --benchmark-compare-fail=min:75% (the Makefile's
BENCH_FIELD and BENCH_THRESHOLD defaults), on one small benchmark: the Numba dewow of the 50 x 50 x 512 grid in
benchmarks/bench_gpr_filters.py. The slowdown comes from benchmarks/slowdown_plugin.py (loaded with -p), which
makes sensorkit.kernels.gpr_filters.dewow run twice per call; library code is untouched. Numba runs on one
thread in these runs, so that the minimum is not spread by the other users of the shared machine's two cores.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = "test_gpr_kernel[dewow 2 ns-grid-numba]"
COMPARE_FAIL = "min:75%"


def _run_benchmark(storage: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT / "benchmarks"))
    cmd = [sys.executable, "-m", "pytest", "benchmarks/bench_gpr_filters.py", "-k", "dewow and grid and numba",
           "--benchmark-enable", "-q", "-p", "no:cacheprovider", f"--benchmark-storage={storage}", *extra]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not (REPO_ROOT / "benchmarks" / "bench_gpr_filters.py").is_file(), reason="no benchmarks/")
def test_compare_flags_an_injected_2x_slowdown_and_passes_an_unchanged_rerun(tmp_path):
    saved = _run_benchmark(tmp_path, "--benchmark-autosave")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert "1 passed" in saved.stdout
    assert len(list(tmp_path.glob("*/0001_*.json"))) == 1

    compare = ("--benchmark-compare", f"--benchmark-compare-fail={COMPARE_FAIL}")
    unchanged = _run_benchmark(tmp_path, *compare)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "Performance has regressed" not in unchanged.stdout + unchanged.stderr

    slowed = _run_benchmark(tmp_path, *compare, "-p", "slowdown_plugin",
                            "--slowdown=sensorkit.kernels.gpr_filters:dewow")
    report = slowed.stdout + slowed.stderr
    assert slowed.returncode != 0, report
    assert "Performance has regressed" in report
    assert f"{BENCHMARK} (0001_" in report and "Field 'min' has failed PercentageRegressionCheck" in report


def test_slowdown_plugin_refuses_a_malformed_target(tmp_path):
    result = _run_benchmark(tmp_path, "-p", "slowdown_plugin", "--slowdown=sensorkit.kernels.gpr_filters")
    assert result.returncode != 0
    assert "--slowdown: expected MODULE:ATTRIBUTE" in result.stdout + result.stderr
