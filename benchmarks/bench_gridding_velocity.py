"""Gridding and velocity-analysis kernels against their NumPy references, plus the end-to-end velocity estimate.

Inputs (seeded):
- binning: a 24-line survey of 451 traces x 512 samples (the dune grid's size), rate in traces/s;
- filling: a (100, 24, 512) cube with 40 % of the cells empty, radius 2.5 cells, rate in filled cells/s;
- hyperbola semblance: a 401 x 512 line, 8 apexes x 21 velocities x 3 time shifts x 3 trace shifts, at most 48
  traces per hyperbola, rate in hyperbolae/s (one semblance of one apex, velocity and shift);
- NMO semblance: a 164 x 1900 gather (the WARR file's size), 69 velocities, rate in panel cells/s;
- estimate_velocity_line on a 201 x 512 synthetic line with three diffractions (no reference), in traces/s.
extra_info holds the rate in those units and samples_per_s; test_speedups (last) adds numpy_over_numba, the
reference's median time over the kernel's, to every kernel pair measured in the same run.

Run: .venv/bin/python -m pytest benchmarks/bench_gridding_velocity.py --benchmark-enable -q
"""

import numpy as np
import pytest

from sensorkit.gpr.velocity import estimate_velocity_line
from sensorkit.kernels import _reference_gridding as ref_grid
from sensorkit.kernels import _reference_velocity as ref_vel
from sensorkit.kernels import gridding, semblance
from sensorkit.kernels.traveltime import refracted_one_way_time_s

TARGET_S = 1.0 / 2  # seconds of measurement per benchmark
DT_S = 0.1e-9


def _ricker(t_s, f_hz=1e9):
    a = (np.pi * f_hz * t_s) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


def _diffraction_line(n_traces, n_samples, dx_m, v_mps, apexes, seed):
    """A line of point-diffraction hyperbolae (1 GHz Ricker, spreading (t0 / t)**2) plus noise, float32."""
    x = np.arange(n_traces) * dx_m
    t = np.arange(n_samples) * DT_S
    out = 0.05 * np.random.default_rng(seed).standard_normal((n_traces, n_samples))
    for x0, t0 in apexes:
        for k in range(n_traces):
            tk = 2.0 * refracted_one_way_time_s(abs(x[k] - x0), 0.0, 0.5 * t0 * v_mps, v_mps)
            out[k] += (t0 / tk) ** 2 * _ricker(t - tk)
    return out.astype(np.float32), x


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(7)
    survey = rng.standard_normal((24 * 451, 512)).astype(np.float32)
    ix = np.tile(np.arange(451), 24)
    iy = np.repeat(np.arange(24), 451)
    cube = rng.standard_normal((100, 24, 512)).astype(np.float32)
    has = rng.random((100, 24)) >= 0.4
    cube[~has] = 0.0
    line, x_m = _diffraction_line(401, 512, 0.01, 0.1e9, [(1.0, 10e-9), (2.0, 20e-9), (3.0, 30e-9)], seed=1)
    apex_index = np.array([100, 200, 300, 150, 250, 50, 350, 380])
    apex_sample = np.array([100.0, 200.0, 300.0, 150.0, 250.0, 120.0, 330.0, 400.0])
    gather = rng.standard_normal((164, 1900)).astype(np.float32)
    small, _ = _diffraction_line(201, 512, 0.02, 0.1e9, [(1.0, 10e-9), (2.0, 20e-9), (3.0, 30e-9)], seed=2)
    return dict(survey=survey, ix=ix, iy=iy, cube=cube, has=has, line=line, x_m=x_m, apex_index=apex_index,
                apex_sample=apex_sample, gather=gather, small=small)


HYP = dict(half_window=5, aperture_m=1.0, shifts_samples=np.array([-1.0, 0.0, 1.0]), trace_shifts=np.array([-1, 0, 1]),
           max_traces=48, min_traces=8)
HYP_V = np.linspace(0.05e9, 0.2e9, 21)
NMO_V = np.linspace(0.03e9, 0.2e9, 69)

# name: (Numba call, NumPy reference call, units of the rate, count of units per call, samples per call)
CASES = {
    "bin_traces": (
        lambda d: gridding.bin_traces(d["survey"], d["ix"], d["iy"], 451, 24),
        lambda d: ref_grid.bin_traces_reference(d["survey"], d["ix"], d["iy"], 451, 24),
        "traces_per_s", lambda d: d["survey"].shape[0], lambda d: d["survey"].size),
    "fill_empty_cells": (
        lambda d: gridding.fill_empty_cells(d["cube"], d["has"], cell_x_m=0.02, cell_y_m=0.2, radius_m=0.5),
        lambda d: ref_grid.fill_empty_cells_reference(d["cube"], d["has"], 0.02, 0.2, 0.5),
        "filled_cells_per_s", lambda d: int((~d["has"]).sum()), lambda d: d["cube"].size),
    "hyperbola_semblance": (
        lambda d: semblance.hyperbola_semblance(d["line"], d["x_m"], d["apex_index"], d["apex_sample"], HYP_V,
                                                dt_s=DT_S, **HYP),
        lambda d: ref_vel.hyperbola_semblance_reference(d["line"], d["x_m"], d["apex_index"], d["apex_sample"],
                                                        HYP_V, DT_S, 0.0, 0.0, **HYP),
        "hyperbolae_per_s", lambda d: d["apex_index"].size * HYP_V.size * 9, lambda d: d["line"].size),
    "nmo_semblance": (
        lambda d: semblance.nmo_semblance(d["gather"], 0.6 + 0.1 * np.arange(164), NMO_V, dt_s=0.4e-9,
                                          time_zero_s=13.6e-9, half_window=12),
        lambda d: ref_vel.nmo_semblance_reference(d["gather"], 0.6 + 0.1 * np.arange(164), NMO_V, 0.4e-9,
                                                  13.6e-9, 12),
        "panel_cells_per_s", lambda d: NMO_V.size * d["gather"].shape[1], lambda d: d["gather"].size),
}


@pytest.mark.parametrize("impl", ["numpy", "numba"])
@pytest.mark.parametrize("kernel", list(CASES))
def test_kernel(benchmark, run_benchmark, inputs, bench_results, kernel, impl):
    numba_fn, numpy_fn, unit, count, samples = CASES[kernel]
    benchmark.group = kernel
    benchmark.extra_info.update(kernel=kernel, impl=impl)
    median_s = run_benchmark(numba_fn if impl == "numba" else numpy_fn, inputs, target_s=TARGET_S)
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info[unit] = count(inputs) / median_s
    benchmark.extra_info["samples_per_s"] = samples(inputs) / median_s
    entry = bench_results.setdefault((kernel, "velocity" if "semblance" in kernel else "grid"),
                                     {"n_samples": samples(inputs)})
    entry[impl] = median_s
    entry[impl + "_extra_info"] = benchmark.extra_info


def test_estimate_velocity_line(benchmark, run_benchmark, inputs):
    """End to end, no reference: candidate apexes, two semblance passes, combination (traces/s)."""
    x = inputs["small"]
    fn = lambda d: estimate_velocity_line(d["small"], dt_s=DT_S, dx_m=0.02)  # noqa: E731
    benchmark.group = "estimate_velocity_line"
    median_s = run_benchmark(fn, inputs, target_s=TARGET_S)
    est = fn(inputs)
    assert abs(est.velocity_mps / 0.1e9 - 1.0) < 0.05
    if median_s is not None:
        benchmark.extra_info["traces_per_s"] = x.shape[0] / median_s
        benchmark.extra_info["samples_per_s"] = x.size / median_s


def test_speedups(bench_results):
    """Runs last: records numpy_over_numba in each Numba benchmark's extra_info; every pair was measured."""
    mine = {key: r for key, r in bench_results.items() if key[0] in CASES}
    if not mine:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    missing = [key for key, r in mine.items() if not ("numba" in r and "numpy" in r)]
    assert not missing, f"benchmarks without their counterpart: {missing}"
    for r in mine.values():
        ratio = r["numpy"] / r["numba"]
        r["numba_extra_info"]["numpy_over_numba"] = ratio
        r["numpy_extra_info"]["numpy_over_numba"] = ratio
        assert np.isfinite(ratio) and ratio > 0
