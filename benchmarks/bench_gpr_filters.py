"""GPR pre-processing kernels against their NumPy references, on a 1040 x 512 line and a 50 x 50 x 512 grid.

Each kernel and its reference are benchmarked in the same run on the same seeded input (benchmarks/conftest.py).
extra_info holds samples_per_s for each; test_speedups (last) adds numpy_over_numba, the reference's median time
over the kernel's, to every Numba benchmark and checks that each pair was measured. Rounds are chosen so that
one benchmark takes about half a second.

Run: .venv/bin/python -m pytest benchmarks/bench_gpr_filters.py --benchmark-enable -q
"""

import numpy as np
import pytest

from sensorkit.kernels import _reference_gpr as ref
from sensorkit.kernels import gpr_filters as gpr

DT_S = 1e-10
N_SAMPLES = 512
BAND_HZ = (250e6, 3e9)
SEC = dict(power=1.0, exponent_per_s=1e8, max_gain=1e4)
SEC_CURVE = ref.power_exp_gain_curve_reference(N_SAMPLES, DT_S, SEC["power"], SEC["exponent_per_s"], 0.0, 1e-9,
                                               SEC["max_gain"])
SOS = gpr.bandpass_sos(dt_s=DT_S, low_hz=BAND_HZ[0], high_hz=BAND_HZ[1], order=4)
TARGET_S = 1.0 / 2  # seconds of measurement per benchmark


# name: (Numba wrapper, NumPy reference), each called as f(traces, picks) with the input's time-zero picks
CASES = {
    "dewow 2 ns": (lambda x, p: gpr.dewow(x, window_s=2e-9, dt_s=DT_S),
                   lambda x, p: ref.dewow_reference(x, 20)),
    "first_break amplitude": (lambda x, p: gpr.first_break_picks(x, threshold=0.2),
                              lambda x, p: ref.first_break_picks_reference(x, 0.2, "amplitude")),
    "first_break envelope": (lambda x, p: gpr.first_break_picks(x, threshold=0.5, method="envelope"),
                             lambda x, p: ref.first_break_picks_reference(x, 0.5, "envelope")),
    "align fractional": (lambda x, p: gpr.align_time_zero(x, p, target_sample=20.0),
                         lambda x, p: ref.shift_traces_reference(x, 20.0 - p)),
    "background mean": (lambda x, p: gpr.remove_background(x),
                        lambda x, p: ref.remove_background_reference(x, "mean", None, -2)),
    "background median 21": (lambda x, p: gpr.remove_background(x, statistic="median", window_traces=21),
                             lambda x, p: ref.remove_background_reference(x, "median", 21, -2)),
    "sec gain": (lambda x, p: gpr.sec_gain(x, dt_s=DT_S, **SEC),
                 lambda x, p: ref.apply_gain_reference(x, SEC_CURVE)),
    "agc 5 ns": (lambda x, p: gpr.agc_gain(x, window_s=5e-9, dt_s=DT_S),
                 lambda x, p: ref.agc_gain_reference(x, 50, 1e-12)),
    "bandpass 0.25-3 GHz": (lambda x, p: gpr.bandpass(x, dt_s=DT_S, low_hz=BAND_HZ[0], high_hz=BAND_HZ[1]),
                            lambda x, p: ref.bandpass_reference(x, SOS)),
    "envelope": (lambda x, p: gpr.envelope(x), lambda x, p: ref.envelope_reference(x)),
}


@pytest.fixture(scope="module")
def picks(gpr_inputs):
    """Time-zero picks of each input, for the alignment benchmarks."""
    return {name: gpr.first_break_picks(x, threshold=0.2) for name, x in gpr_inputs.items()}


@pytest.mark.parametrize("impl", ["numpy", "numba"])
@pytest.mark.parametrize("data", ["line", "grid"])
@pytest.mark.parametrize("kernel", list(CASES))
def test_gpr_kernel(benchmark, run_benchmark, gpr_inputs, picks, bench_results, kernel, data, impl):
    x = gpr_inputs[data]
    p = picks[data]
    fn = CASES[kernel][0 if impl == "numba" else 1]
    benchmark.group = f"{kernel} / {data}"
    benchmark.extra_info.update(kernel=kernel, input=data, impl=impl, shape=list(x.shape))
    median_s = run_benchmark(fn, x, p, target_s=TARGET_S)  # conftest: one untimed call, then rounds
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info["samples_per_s"] = x.size / median_s
    entry = bench_results.setdefault((kernel, data), {"n_samples": x.size})
    entry[impl] = median_s
    entry[impl + "_extra_info"] = benchmark.extra_info


def test_speedups(bench_results):
    """Runs last: records numpy_over_numba in each Numba benchmark's extra_info; every pair was measured."""
    if not bench_results:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    missing = [key for key, r in bench_results.items() if not ("numba" in r and "numpy" in r)]
    assert not missing, f"benchmarks without their counterpart: {missing}"
    for r in bench_results.values():
        ratio = r["numpy"] / r["numba"]
        r["numba_extra_info"]["numpy_over_numba"] = ratio
        r["numpy_extra_info"]["numpy_over_numba"] = ratio
        assert np.isfinite(ratio) and ratio > 0
