"""GCC-PHAT: equivalence with the NumPy reference, integer and fractional delays recovered in noise, the pair
form equal to the two-signal form, bad input refused."""

import numpy as np
import pytest

from sensorkit.kernels.acoustic_reference import gcc_phat_reference
from sensorkit.kernels.gcc_phat import gcc_phat, gcc_phat_correlation, gcc_phat_pairs

N = 4096


def delayed(signal, delay_samples):
    """signal delayed by a fractional number of samples (band-limited, through a zero-padded FFT)."""
    n = signal.size
    spectrum = np.fft.rfft(signal, 2 * n)
    f = np.fft.rfftfreq(2 * n)
    return np.fft.irfft(spectrum * np.exp(-2j * np.pi * f * delay_samples), 2 * n)[:n]


@pytest.mark.parametrize("delay", [0.0, 5.0, -7.0, 3.37, -0.25, 12.71])
def test_matches_reference(delay):
    rng = np.random.default_rng(3)
    s = rng.standard_normal(N)
    a = s + 0.3 * rng.standard_normal(N)
    b = delayed(s, delay) + 0.3 * rng.standard_normal(N)
    got, peak = gcc_phat(a, b, max_delay_samples=40)
    ref = gcc_phat_reference(a, b, 40, upsample=64)
    assert abs(got - ref) <= 1 / 128 + 2e-3  # the reference's grid is 1/64 sample
    assert 0.5 < peak <= 1.0


@pytest.mark.parametrize("delay", [4.0, -9.0, 0.5, 2.3, -6.77])
def test_delay_recovered_in_noise(delay):
    """White source, independent white noise at 0 dB SNR on each microphone, 4096 samples."""
    rng = np.random.default_rng(int(abs(delay) * 100))
    s = rng.standard_normal(N)
    a = s + rng.standard_normal(N)
    b = delayed(s, delay) + rng.standard_normal(N)
    got, peak = gcc_phat(a, b, max_delay_samples=20)
    assert abs(got - delay) < 0.1
    assert 0.2 < peak < 0.7  # about the coherence at 0 dB: SNR / (1 + SNR) = 0.5


def test_identical_signals_peak_one_at_zero():
    s = np.random.default_rng(0).standard_normal(1000)
    d, peak = gcc_phat(s, s)
    assert abs(d) < 1e-6 and peak == pytest.approx(1.0, abs=1e-9)


def test_pairs_of_a_multichannel_recording():
    rng = np.random.default_rng(5)
    s = rng.standard_normal(N)
    delays = np.array([0.0, 1.5, -3.25, 7.0])
    frames = np.column_stack([delayed(s, d) for d in delays]) + 0.1 * rng.standard_normal((N, 4))
    res = gcc_phat_pairs(frames.astype(np.float32), max_delay_samples=12)
    assert res.pairs.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    expected = delays[res.pairs[:, 1]] - delays[res.pairs[:, 0]]
    np.testing.assert_allclose(res.delays_samples, expected, atol=0.05)
    single = [gcc_phat(frames[:, i], frames[:, j], max_delay_samples=12)[0] for i, j in res.pairs]
    np.testing.assert_allclose(res.delays_samples, single, atol=1e-9)


def test_search_is_bounded():
    rng = np.random.default_rng(6)
    s = rng.standard_normal(N)
    b = delayed(s, 30.0)
    assert abs(gcc_phat(s, b, max_delay_samples=40)[0] - 30.0) < 0.05
    assert abs(gcc_phat(s, b, max_delay_samples=10)[0]) <= 11.0  # the true peak is outside: not found


def test_correlation_has_its_peak_at_the_delay():
    s = np.random.default_rng(7).standard_normal(512)
    lags, r = gcc_phat_correlation(s, np.roll(s, 3))
    assert lags[np.argmax(r)] == 3 and r.size == lags.size


@pytest.mark.parametrize("call, message", [
    (lambda: gcc_phat(np.zeros(10), np.zeros(11)), "same length"),
    (lambda: gcc_phat(np.zeros((10, 2)), np.zeros((10, 2))), "1-D signals"),
    (lambda: gcc_phat(np.full(10, np.nan), np.zeros(10)), "non-finite"),
    (lambda: gcc_phat(np.zeros(10), np.zeros(10), max_delay_samples=20), "max_delay_samples"),
    (lambda: gcc_phat(np.zeros(10), np.zeros(10), n_fft=8), "n_fft"),
    (lambda: gcc_phat_pairs(np.zeros((10, 2)), pairs=[[0, 2]]), "pairs: expected channel indices in \\[0, 1\\]"),
    (lambda: gcc_phat_pairs(np.zeros((10, 2)), pairs=[0, 1]), "pairs: expected integer pairs"),
    (lambda: gcc_phat_pairs(np.zeros((10, 2), complex)), "dtype complex"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
