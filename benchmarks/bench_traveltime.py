"""Refracted travel times (sensorkit.kernels.traveltime) against the NumPy reference (brute-force Fermat minimum).

refracted_one_way_time_s is a scalar jitted function inlined into the Kirchhoff operator tables and the GPR
forward model; it is timed here the way they call it, from a jitted loop, over 100 000 seeded (offset, height,
depth) triples of an air-launched survey: offsets 0-1 m, antenna 2-30 cm up, depths 0-1.3 m, v = 0.1 m/ns.
The reference (a minimum over 200 001 refraction points per time) runs on the first 20 triples. Rate in travel
times/s; numpy_over_numba is the ratio of rates (the reference's time scaled to the full size).

Run: .venv/bin/python -m pytest benchmarks/bench_traveltime.py --benchmark-enable -q
"""

import math

import numpy as np
import pytest
from numba import njit

from sensorkit.kernels.traveltime import refracted_one_way_time_reference, refracted_one_way_time_s

N_TIMES = 100_000
N_REFERENCE = 20
V_MPS = 0.1e9
_RESULTS: dict = {}


@njit(cache=False)
def _times(offset_m, height_m, depth_m, v_mps):
    out = np.empty(offset_m.size)
    for i in range(offset_m.size):
        out[i] = refracted_one_way_time_s(offset_m[i], height_m[i], depth_m[i], v_mps)
    return out


def _reference(offset_m, height_m, depth_m, v_mps):
    return np.array([refracted_one_way_time_reference(r, h, z, v_mps)
                     for r, h, z in zip(offset_m, height_m, depth_m)])


@pytest.fixture(scope="module")
def triples():
    rng = np.random.default_rng(5)
    return rng.uniform(0.0, 1.0, N_TIMES), rng.uniform(0.02, 0.3, N_TIMES), rng.uniform(0.0, 1.3, N_TIMES)


@pytest.mark.parametrize("impl", ["numpy", "numba"])
def test_refracted_one_way_time(benchmark, run_benchmark, triples, impl):
    n = N_TIMES if impl == "numba" else N_REFERENCE
    args = tuple(a[:n] for a in triples) + (V_MPS,)
    benchmark.group = "refracted_one_way_time_s"
    benchmark.extra_info.update(impl=impl, n_times=n)
    median_s = run_benchmark(_times if impl == "numba" else _reference, *args)
    times = _times(*(a[:5] for a in args[:3]), V_MPS)
    np.testing.assert_allclose(times, _reference(*(a[:5] for a in args[:3]), V_MPS), rtol=1e-6)
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info["travel_times_per_s"] = n / median_s
    _RESULTS[impl] = (n / median_s, benchmark.extra_info)


def test_ratio():
    """Runs last: numpy_over_numba (the kernel's rate over the reference's) in both extra_infos."""
    if not _RESULTS:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    assert set(_RESULTS) == {"numpy", "numba"}
    ratio = _RESULTS["numba"][0] / _RESULTS["numpy"][0]
    assert math.isfinite(ratio) and ratio > 0
    for _, info in _RESULTS.values():
        info["numpy_over_numba"] = ratio
