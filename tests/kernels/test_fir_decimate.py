"""FIR decimation: equal to scipy.signal.lfilter's output every d-th row (float32 within 1e-5 of the float64
reference), the same rows however the stream is cut into calls, a tone below the cut-off kept at its amplitude
and one above it removed, bad input refused."""

import numpy as np
import pytest
import scipy.signal

from sensorkit.kernels.fir_decimate import StreamingDecimator, fir_decimate_reference

FS_HZ = 48000.0


def lowpass(n_taps=27, cutoff_hz=8000.0):
    return scipy.signal.firwin(n_taps, cutoff_hz, fs=FS_HZ).astype(np.float32)


@pytest.mark.parametrize("n_taps, factor, n_ch", [(27, 3, 16), (1, 2, 1), (8, 3, 5), (61, 2, 8)])
def test_matches_the_reference(n_taps, factor, n_ch):
    x = np.random.default_rng(n_taps).standard_normal((4801, n_ch)).astype(np.float32)
    h = lowpass(n_taps) if n_taps > 1 else np.ones(1, np.float32)
    y = StreamingDecimator(n_ch, h, factor).process(x)
    ref = fir_decimate_reference(x, h, factor)
    assert y.shape == ref.shape and y.dtype == np.float32
    assert np.max(np.abs(y - ref)) < 1e-5 * max(1.0, np.abs(ref).max())


@pytest.mark.parametrize("cuts", [[1], [2, 5, 7, 11], [26, 27, 28], [1000, 3, 999], [4801]])
def test_any_split_of_the_stream_gives_the_same_rows(cuts):
    x = np.random.default_rng(1).standard_normal((4801, 4)).astype(np.float32)
    h = lowpass()
    whole = StreamingDecimator(4, h, 3).process(x)
    dec = StreamingDecimator(4, h, 3)
    parts, start, i = [], 0, 0
    while start < x.shape[0]:
        n = cuts[i % len(cuts)]
        parts.append(dec.process(x[start:start + n]))
        start += n
        i += 1
    assert np.array_equal(np.concatenate(parts), whole)


def test_tone_below_cutoff_kept_and_tone_above_removed():
    t = np.arange(48000) / FS_HZ
    x = np.column_stack([np.sin(2 * np.pi * 1000.0 * t), np.sin(2 * np.pi * 15000.0 * t)]).astype(np.float32)
    h = scipy.signal.firwin(61, 7000.0, fs=FS_HZ).astype(np.float32)
    y = StreamingDecimator(2, h, 3).process(x)[100:]  # 16 kHz; past the filter's start
    assert abs(np.sqrt(2) * y[:, 0].std() - 1.0) < 0.01  # 1 kHz: passband
    assert np.sqrt(2) * y[:, 1].std() < 0.01  # 15 kHz would alias to 1 kHz: stopband


@pytest.mark.parametrize("make, message", [
    (lambda: StreamingDecimator(2, np.ones((2, 2)), 3), "taps: expected a 1-D array"),
    (lambda: StreamingDecimator(2, [1.0, np.nan], 3), "taps"),
    (lambda: StreamingDecimator(2, [1.0], 0), "factor"),
    (lambda: StreamingDecimator(2, [1.0], 3).process(np.zeros((10, 3), np.float32)), "frames: expected shape"),
])
def test_bad_input_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()
