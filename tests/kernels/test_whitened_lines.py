"""Spatially whitened line power (sensorkit.kernels.whitened_lines): the kernel against the NumPy reference,
a stream in pieces against one call, a tone under a louder directional noise source standing out where the
channel mean's power does not, the comb null's statistics, and bad input refused."""

import numpy as np
import pytest

from sensorkit.formats.array_geometry import circular_array
from sensorkit.kernels.acoustic_reference import whitened_line_power_reference
from sensorkit.kernels.harmonic import band_power, spectral_noise_floor
from sensorkit.kernels.stft import stft
from sensorkit.kernels.whitened_lines import whitened_comb_null, whitened_line_power

from . import acoustic_scenes as scenes
from .acoustic_scenes import FS_HZ

NFFT = 1024
TONE_HZ = 1000.0
TONE_BIN = int(round(TONE_HZ / (FS_HZ / NFFT)))


def _random_spectra(m, n_blocks, n_bins, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, n_blocks, n_bins)) + 1j * rng.standard_normal((m, n_blocks, n_bins))
    x[:, :, n_bins // 2] += 6.0 * np.exp(1j * rng.uniform(0, 2 * np.pi, m))[:, None]  # a coherent line
    return x.astype(np.complex64)


@pytest.mark.parametrize("m", [4, 8])
def test_matches_the_reference(m):
    """Converged (200 iterations) the kernel's lambda equals numpy.linalg.eigvalsh's to 1e-4, every bin (the
    edges, with noise bins on one side only, included) and every block, the first ones over fewer blocks."""
    x = _random_spectra(m, 9, 48, seed=m)
    got = whitened_line_power(x, n_average=4, first_block=2, n_iter=200)
    ref = whitened_line_power_reference(x, 4, first_block=2)
    assert got.shape == ref.shape == (7, 48)
    assert np.abs(got - ref).max() <= 1e-4 * ref.max()
    assert got[:, 24].min() > 3.0 * np.median(got)  # the coherent line stands out


def test_few_iterations_under_estimate_noise_bins_only():
    """The pipeline's 8 iterations give lambda_max within 1 % on a strong line, and never above it."""
    x = _random_spectra(8, 12, 64, seed=5)
    ref = whitened_line_power_reference(x, 10, first_block=9)
    got = whitened_line_power(x, n_average=10, first_block=9, n_iter=8)
    assert np.all(got <= ref * (1 + 1e-5))
    assert np.all(got[:, 32] >= 0.99 * ref[:, 32])
    assert np.median(got / ref) > 0.98


def test_a_stream_in_pieces_equals_one_call():
    """Blocks computed in three calls, each given the n_average - 1 blocks before it, equal one call's."""
    x = _random_spectra(6, 20, 40, seed=2)
    whole = whitened_line_power(x, n_average=5)
    parts = [whitened_line_power(x[:, max(0, a - 4):b], n_average=5, first_block=a - max(0, a - 4))
             for a, b in ((0, 7), (7, 8), (8, 20))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_a_tone_under_a_louder_directional_source_stands_out():
    """A 1 kHz tone from azimuth 40 deg under broadband noise from 250 deg, 10 dB louder per bin than the tone's
    peak, on an 8-microphone ring: over the tone's neighbours, the channel mean's power at its bin rises less
    than 2 dB, lambda more than 6 dB (measured -0.2 to 1.5 and 7.3 to 8.0 dB on seeds 0-2; the broadband
    source is whitened away down to the 5 % loading, which sets how far the tone can rise)."""
    mics = circular_array(8, 0.1)
    for seed in (0, 1, 2):
        rng = np.random.default_rng(seed)
        n = 16000
        t = np.arange(n) / FS_HZ
        tone = 0.05 * np.cos(2 * np.pi * TONE_HZ * t + rng.uniform(0, 2 * np.pi))
        w = np.hanning(NFFT + 1)[:-1]
        road = np.sqrt(10.0 * (0.025 * w.sum()) ** 2 / np.sum(w ** 2)) * rng.standard_normal(n)  # 10 dB per bin
        x = stft(scenes.plane_waves(mics, [(40, 10, tone), (250, 0, road)], n_frames=n, noise=0.002, seed=seed),
                 nfft=NFFT)
        band = slice(TONE_BIN - 40, TONE_BIN + 41)
        power = band_power(x[:, :, band]).mean(axis=0)
        lam = whitened_line_power(x[:, :, band], n_average=10, first_block=9, n_iter=8).mean(axis=0)
        centre = 40
        rise = lambda v: 10 * np.log10(v[centre] / np.median(v))  # noqa: E731
        assert rise(power) < 2.0, rise(power)
        assert rise(lam) > 6.0, rise(lam)


def test_comb_null_on_white_noise():
    """The null's effective averages match lambda's spread (more than one periodogram, fewer than the blocks x
    microphones averaged), its threshold is finite and positive, and a second call (the memo) gives the same."""
    store = {}

    def memo(key, compute, accept):
        if key not in store:
            store[key] = compute()
        return store[key]

    kw = dict(n_mics=4, nfft=256, hop=128, window="hann", n_bins=129, n_average=6, df_hz=FS_HZ / 256,
              half_width_bins=12, pfa=1e-3, n_iter=8, comb_parameters=dict(f0_min_hz=200.0, f0_max_hz=1000.0,
                                                                         f_max_hz=3500.0), n_blocks=300, memo=memo)
    n_eff, threshold = whitened_comb_null(**kw)
    assert 2 <= n_eff < 4 * 6 and 0.0 < threshold < 1e3
    assert whitened_comb_null(**kw) == (n_eff, threshold) and len(store) == 1


@pytest.mark.parametrize("call, message", [
    (lambda: whitened_line_power(np.ones((1, 3, 8), np.complex64), n_average=2), "n_mics >= 2"),
    (lambda: whitened_line_power(np.ones((2, 3, 8)), n_average=2), "complex STFT"),
    (lambda: whitened_line_power(np.ones((2, 3, 8), np.complex64), n_average=0), "n_average"),
    (lambda: whitened_line_power(np.ones((2, 3, 8), np.complex64), n_average=2, first_block=4), "first_block"),
    (lambda: whitened_line_power(np.full((2, 3, 8), np.nan, np.complex64), n_average=2), "spectra"),
    (lambda: whitened_line_power(np.ones((2, 3, 8), np.complex64), n_average=2, noise_inner_bins=1), "noise_inner"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
