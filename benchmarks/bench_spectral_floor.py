"""Band power and the spectral noise floor (sensorkit.kernels.harmonic) against NumPy and SciPy.

Input: the STFT the drone pipeline's harmonic detector sees: 4 s of 16 channels at 48 kHz (white noise plus a
180 Hz comb), nfft 4096, hop 2048 (92 blocks x 2049 bins), seeded.

- band_power (mean |X|^2 over channels) vs the NumPy expression np.mean(np.abs(X) ** 2, axis=0): rate in
  STFT cells/s (channels x blocks x bins read).
- spectral_noise_floor (running median over 51 bins along frequency, truncated at the band edges) vs
  acoustic_reference.running_median_reference, and scipy.ndimage.median_filter of size (1, 51) (edge handling
  differs: it reflects instead of truncating; a speed comparison only): rate in (block, bin) cells/s.
numpy_over_numba / scipy_over_numba: the reference's median over the kernel's.

Run: .venv/bin/python -m pytest benchmarks/bench_spectral_floor.py --benchmark-enable -q
"""

import math

import numpy as np
import pytest
import scipy.ndimage

from sensorkit.kernels import acoustic_reference as ref
from sensorkit.kernels.harmonic import band_power, median_to_mean_ratio, spectral_noise_floor
from sensorkit.kernels.stft import stft

FS_HZ = 48000.0
N_CH = 16
NFFT = 4096
HALF_WIDTH = 25
_RESULTS: dict = {}


@pytest.fixture(scope="module")
def spectra():
    rng = np.random.default_rng(4)
    n = int(4 * FS_HZ)
    t = np.arange(n) / FS_HZ
    x = rng.standard_normal((n, N_CH)) + sum(0.9 ** k * np.cos(2 * np.pi * 180.0 * k * t)[:, None]
                                             for k in range(1, 21))
    s = stft(x.astype(np.float32), nfft=NFFT, hop=NFFT // 2)
    return s, band_power(s)


CASES = {
    "band_power 16 ch nfft 4096": {
        "unit": "stft_cells",
        "numba": lambda s, p: band_power(s),
        "numpy": lambda s, p: np.mean(np.abs(s) ** 2, axis=0),
    },
    "spectral_noise_floor 51 bins": {
        "unit": "cells",
        "numba": lambda s, p: spectral_noise_floor(p, half_width_bins=HALF_WIDTH),
        "numpy": lambda s, p: ref.running_median_reference(p, HALF_WIDTH),
        "scipy": lambda s, p: scipy.ndimage.median_filter(p, size=(1, 2 * HALF_WIDTH + 1), mode="reflect"),
    },
}


@pytest.mark.parametrize("impl", ["numpy", "scipy", "numba"])
@pytest.mark.parametrize("case", list(CASES))
def test_spectral(benchmark, run_benchmark, spectra, case, impl):
    c = CASES[case]
    if impl not in c:
        pytest.skip(f"no {impl} counterpart for {case}")
    s, p = spectra
    n_units = s.size if c["unit"] == "stft_cells" else p.size
    benchmark.group = case
    benchmark.extra_info.update(impl=impl, shape=list(s.shape if c["unit"] == "stft_cells" else p.shape))
    median_s = run_benchmark(c[impl], s, p)
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info[f"{c['unit']}_per_s"] = n_units / median_s
    _RESULTS.setdefault(case, {})[impl] = (median_s, benchmark.extra_info)


def test_agreement(spectra):
    """The kernels agree with their NumPy references on the benchmark input."""
    s, p = spectra
    np.testing.assert_allclose(band_power(s), np.mean(np.abs(s.astype(np.complex128)) ** 2, axis=0), rtol=1e-5)
    floor = spectral_noise_floor(p, half_width_bins=HALF_WIDTH)
    median = ref.running_median_reference(p, HALF_WIDTH) / median_to_mean_ratio(1)
    np.testing.assert_allclose(floor, median, rtol=1e-5)


def test_ratios():
    """Runs last: numpy_over_numba and scipy_over_numba (medians) in the extra_infos of each case."""
    if not _RESULTS:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    for case, r in _RESULTS.items():
        assert "numba" in r and "numpy" in r, f"{case}: a counterpart was not measured"
        for other in ("numpy", "scipy"):
            if other in r:
                ratio = r[other][0] / r["numba"][0]
                assert math.isfinite(ratio) and ratio > 0
                r["numba"][1][f"{other}_over_numba"] = ratio
                r[other][1][f"{other}_over_numba"] = ratio
