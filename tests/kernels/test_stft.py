"""STFT: equivalence with the NumPy reference, exact values on tones, streaming equals one-shot bit for bit."""

import numpy as np
import pytest

from sensorkit.kernels.acoustic_reference import stft_reference
from sensorkit.kernels.stft import StreamingSTFT, make_window, n_stft_blocks, stft, stft_frequencies_hz


@pytest.mark.parametrize("nfft, hop, window", [(256, 100, "hann"), (512, 512, "boxcar"), (64, 1, "hamming")])
def test_matches_reference(nfft, hop, window):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 3)).astype(np.float32)
    got = stft(x, nfft=nfft, hop=hop, window=window)
    ref = stft_reference(x, nfft, hop, window)
    assert got.dtype == np.complex64 and got.shape == ref.shape == (3, 1 + (3000 - nfft) // hop, nfft // 2 + 1)
    # complex64 output: error within a few float32 ulps of the block's largest coefficient
    assert np.max(np.abs(got - ref)) <= 2e-6 * np.max(np.abs(ref))


def test_tone_on_a_bin_has_the_textbook_amplitude():
    fs, nfft = 16000.0, 512
    k = 40  # 1250 Hz
    t = np.arange(4096) / fs
    x = (0.5 * np.cos(2 * np.pi * k * fs / nfft * t)).astype(np.float32)[:, None]
    rect = stft(x, nfft=nfft, hop=256, window="boxcar")
    hann = stft(x, nfft=nfft, hop=256)
    assert stft_frequencies_hz(nfft, fs)[k] == 1250.0
    np.testing.assert_allclose(np.abs(rect[0, :, k]), 0.5 * nfft / 2, rtol=1e-5)  # A N / 2
    np.testing.assert_allclose(np.abs(hann[0, :, k]), 0.5 * nfft / 4, rtol=1e-5)  # A sum(w) / 2 = A N / 4
    np.testing.assert_allclose(np.abs(hann[0, :, k + 1]), 0.5 * nfft / 8, rtol=1e-4)  # Hann's first neighbour: half
    assert np.abs(hann[0, :, k + 3]).max() < 1e-3


def test_block_count_and_short_input():
    assert n_stft_blocks(1000, 256, 128) == 1 + (1000 - 256) // 128 == 6
    out = stft(np.zeros((100, 2), np.float32), nfft=256)
    assert out.shape == (2, 0, 129)


def test_streaming_equals_one_shot_bit_for_bit():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((20000, 4)).astype(np.float32)
    whole = stft(x, nfft=512, hop=192)
    stream = StreamingSTFT(4, nfft=512, hop=192)
    pieces, start = [], 0
    for size in [1, 700, 0, 511, 4096, 3, 5000, 9689]:
        pieces.append(stream.process(x[start:start + size]))
        start += size
    assert start == x.shape[0]
    joined = np.concatenate(pieces, axis=1)
    np.testing.assert_array_equal(joined, whole)
    assert stream.n_blocks_out == whole.shape[1]
    assert stream.next_block_start == whole.shape[1] * 192
    stream.reset()
    np.testing.assert_array_equal(stream.process(x[:2000]), stft(x[:2000], nfft=512, hop=192))


def test_window_array_is_used_as_given():
    w = np.linspace(0, 1, 128)
    x = np.ones((128, 1), np.float32)
    out = stft(x, nfft=128, window=w)
    assert out[0, 0, 0].real == pytest.approx(w.sum(), rel=1e-6)
    np.testing.assert_array_equal(make_window("hann", 4), np.array([0, 0.5, 1, 0.5], np.float32))


@pytest.mark.parametrize("kwargs, frames, message", [
    ({}, np.zeros(1000), "expected shape \\(n_frames, n_channels\\)"),
    ({"hop": 600}, np.zeros((1000, 1)), "hop: expected an integer in \\[1, 512\\], found 600"),
    ({"nfft": 1}, np.zeros((1000, 1)), "nfft"),
    ({"window": "nope"}, np.zeros((1000, 1)), "window"),
    ({"window": np.ones(10)}, np.zeros((1000, 1)), "nfft=512 values"),
    ({}, np.full((1000, 1), np.nan), "1000 non-finite"),
    ({}, np.zeros((1000, 1), complex), "dtype complex128"),
])
def test_bad_input_is_refused(kwargs, frames, message):
    with pytest.raises(ValueError, match=message):
        stft(frames, **kwargs)


def test_streaming_refuses_a_channel_change():
    stream = StreamingSTFT(2, nfft=64)
    with pytest.raises(ValueError, match="expected 2 channels"):
        stream.process(np.zeros((100, 3)))
