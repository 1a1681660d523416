"""Shared benchmark inputs (seeded synthetic GPR data).

Run: .venv/bin/python -m pytest benchmarks --benchmark-enable -q
"""

import numpy as np
import pytest

GPR_DT_S = 1e-10  # 0.1 ns: 512 samples span 51.2 ns, a 1 GHz landmine GPR
GPR_N_SAMPLES = 512
GPR_LINE_TRACES = 1040
GPR_GRID_SHAPE = (50, 50)  # (line, trace), 1 cm apart both ways

RESULTS_KEY = pytest.StashKey[dict]()


def synthetic_gpr(traces_shape, seed, n_samples=GPR_N_SAMPLES, dt_s=GPR_DT_S, spacing_m=0.01):
    """A seeded synthetic GPR section or grid (*traces_shape, n_samples), float32, in volts.

    Holds what pre-processing meets: a DC offset and slow drift (wow), a strong direct wave whose arrival
    jitters by up to +-2 samples (time zero), a flat layer, point-target hyperbolae in a v = 0.1 m/ns ground
    with amplitude falling as exp(-t / 10 ns), and noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) * dt_s
    shape = tuple(traces_shape)

    def ricker(tau):
        a = (np.pi * 1e9 * tau) ** 2
        return (1.0 - 2.0 * a) * np.exp(-a)

    t0 = 3e-9 + rng.uniform(-2, 2, shape + (1,)) * dt_s
    data = 0.5 * ricker(t - t0)                                   # direct wave
    data += 0.05 * ricker(t - t0 - 4e-9)                          # flat layer
    positions = np.stack(np.meshgrid(*[np.arange(n) * spacing_m for n in shape], indexing="ij"), axis=-1)
    for _ in range(6):                                            # point targets
        centre = rng.uniform(0, 1, len(shape)) * np.array(shape) * spacing_m
        depth_m = rng.uniform(0.05, 0.4)
        r = np.sqrt(((positions - centre) ** 2).sum(axis=-1) + depth_m ** 2)
        t_hyp = t0[..., 0] + 2.0 * r / 0.1e9
        data += 0.1 * rng.choice([-1, 1]) * ricker(t - t_hyp[..., None])
    data *= np.exp(-np.maximum(t - t0, 0) / 10e-9)
    data += 0.02 * rng.standard_normal(shape + (1,)) + 0.05 * t / t[-1]   # wow
    data += 1e-3 * rng.standard_normal(data.shape)                       # noise
    return data.astype(np.float32)


@pytest.fixture(scope="session")
def gpr_inputs():
    """{"line": (1040, 512), "grid": (50, 50, 512)} float32, seeded."""
    return {
        "line": synthetic_gpr((GPR_LINE_TRACES,), seed=1),
        "grid": synthetic_gpr(GPR_GRID_SHAPE, seed=2),
    }


@pytest.fixture(scope="session")
def bench_results(request):
    """Session store of measured medians: {(kernel, input): {"numba": s, "numpy": s, "info": {...}}}."""
    return request.config.stash.setdefault(RESULTS_KEY, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(RESULTS_KEY, None)
    if not results:
        return
    tr = terminalreporter
    tr.section("GPR kernels: Numba vs NumPy reference (median of rounds)")
    tr.write_line(f"{'kernel':<26}{'input':<6}{'numba ms':>10}{'numpy ms':>10}{'Msamples/s':>12}{'speed-up':>10}")
    for (kernel, data), r in results.items():
        if "numba" not in r:
            continue
        numba_ms = r["numba"] * 1e3
        numpy_ms = r["numpy"] * 1e3 if "numpy" in r else float("nan")
        rate = r["n_samples"] / r["numba"] / 1e6
        tr.write_line(f"{kernel:<26}{data:<6}{numba_ms:>10.2f}{numpy_ms:>10.2f}{rate:>12.1f}"
                      f"{numpy_ms / numba_ms:>9.1f}x")
