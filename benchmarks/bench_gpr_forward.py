"""Benchmark of the GPR forward kernel: a 50 x 50 grid of traces, 256 samples, 20 point scatterers.

Run: .venv/bin/python -m pytest benchmarks/bench_gpr_forward.py --benchmark-enable
extra_info holds traces_per_s and the speed-up over the NumPy reference (timed once, outside the benchmark).
"""

import time

import numpy as np
import pytest

from sensorkit.kernels import gpr_forward as fwd
from sensorkit.synth.gpr import Antenna, GprScene, Scatterer, Soil, forward_settings, scene_elements

N_SIDE = 50
N_SAMPLES = 256
DT_S = 0.05e-9


def _case(height_m: float):
    rng = np.random.default_rng(1)
    scatterers = [Scatterer(x_m=float(x), y_m=float(y), depth_m=float(z))
                  for x, y, z in zip(rng.uniform(0, 1, 20), rng.uniform(0, 1, 20), rng.uniform(0.05, 0.4, 20))]
    scene = GprScene(soil=Soil(eps_r=9.0, conductivity_s_per_m=0.005), scatterers=scatterers,
                     antenna=Antenna(centre_frequency_hz=1.0e9, offset_m=0.05, height_m=height_m),
                     direct_wave=False, surface_reflection=False)
    x = np.linspace(0.0, 1.0, N_SIDE)
    gx, gy = np.meshgrid(x, x, indexing="ij")
    half = 0.5 * scene.antenna.offset_m
    antennas = np.column_stack([gx.ravel() - half, gy.ravel(), gx.ravel() + half, gy.ravel(),
                                np.full(gx.size, height_m)])
    return antennas, scene_elements(scene), forward_settings(scene, N_SAMPLES, DT_S)


@pytest.mark.parametrize("height_m", [0.0, 0.1], ids=["ground_coupled", "air_launched_refracted"])
def test_bench_gpr_forward_grid(benchmark, height_m):
    antennas, elements, settings = _case(height_m)
    fwd.render_traces(antennas, elements, settings)  # compile (or load the cache) outside the timing
    started = time.perf_counter()
    reference = fwd.render_traces_reference(antennas, elements, settings)
    reference_s = time.perf_counter() - started
    traces = benchmark(fwd.render_traces, antennas, elements, settings)
    np.testing.assert_allclose(traces, reference, rtol=0, atol=1e-6 * np.abs(reference).max())
    n_traces = antennas.shape[0]
    benchmark.extra_info["n_traces"] = n_traces
    benchmark.extra_info["n_samples"] = N_SAMPLES
    benchmark.extra_info["n_scatterers"] = int(elements.shape[0])
    benchmark.extra_info["reference_s"] = reference_s
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None with --benchmark-disable (the function then ran once, untimed)
        mean_s = stats.stats.mean
        benchmark.extra_info["traces_per_s"] = n_traces / mean_s
        benchmark.extra_info["speedup_vs_numpy"] = reference_s / mean_s
