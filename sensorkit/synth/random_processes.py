"""Seeded random signals that are the same whatever the block size they are read in.

Every random number is drawn from a generator keyed by (seed, stream, source, sub-stream, index of a fixed chunk
of absolute time), so a value at a given time never depends on which block asked for it or in which order:

- :func:`keyed_generator`  a numpy Generator for a fixed-length key (SeedSequence of the key).
- :class:`SmoothRandom`    a slow, smooth, zero-mean process of roughly unit variance: a uniform cubic B-spline
                           through independent N(0, 1) knots every ``time_step_s``, scaled by 1/sqrt(0.48)
                           (the spline's variance lies between 0.46 and 0.50 depending on the phase to the knots).
- :class:`ShapedNoise`     stationary Gaussian noise with a given power spectrum, made of chunks of N samples
                           starting every N/2 samples; chunk j is irfft(X_j * M) with X_j complex white noise
                           and M the amplitude response, weighted by the sine window w(n) = sin(pi (n + 1/2) / N).
                           Two overlapping windows satisfy w(n)**2 + w(n + N/2)**2 = 1, so the variance is
                           the same at every sample; the spectrum is M**2 smoothed over ~2 bins (fs / N each).
                           Bins above the last one where M is within -70 dB of its peak are left empty.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

# stream identifiers of keyed_generator (first key after the seed)
STREAM_SOURCE_SETUP = 1
STREAM_DRIFT = 2
STREAM_LEVEL = 3
STREAM_BROADBAND = 4
STREAM_WIND = 5
STREAM_GUSTS = 6
STREAM_SENSOR = 7
STREAM_BIRDS = 8
STREAM_TRAFFIC_SETUP = 9

_SPLINE_STD = float(np.sqrt(0.48))
#: ShapedNoise leaves the bins above the last one within FLOOR_DB of the peak amplitude empty (saves random draws)
FLOOR_DB = -70.0
_KNOTS_PER_BLOCK = 256


def keyed_generator(seed: int, stream: int, owner: int, sub: int, index: int) -> np.random.Generator:
    """A numpy Generator determined by the five integers (``index`` may be negative: time before 0)."""
    index_key = 2 * index if index >= 0 else -2 * index - 1
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), int(owner), int(sub),
                                                         int(index_key)]))


class LruCache:
    """A small least-recently-used cache of computed chunks."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()

    def get(self, key, make):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make(key)
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


class SmoothRandom:
    """A smooth random process x(t), roughly N(0, 1) at every t, correlated over ~``time_step_s``.

    ``n_channels`` independent processes; :meth:`values` returns (n_channels, len(t)).
    """

    def __init__(self, seed: int, stream: int, owner: int, time_step_s: float, n_channels: int = 1):
        if not time_step_s > 0:
            raise ValueError(f"time_step_s: expected a time > 0 s, found {time_step_s!r}")
        self.seed, self.stream, self.owner = int(seed), int(stream), int(owner)
        self.time_step_s = float(time_step_s)
        self.n_channels = int(n_channels)
        self._cache = LruCache(16)

    def _block(self, b: int) -> np.ndarray:
        return self._cache.get(b, lambda key: np.stack([
            keyed_generator(self.seed, self.stream, self.owner, ch, key).standard_normal(_KNOTS_PER_BLOCK)
            for ch in range(self.n_channels)]))

    def values(self, t_s) -> np.ndarray:
        """x(t) for times ``t_s`` (any shape, flattened), shape (n_channels, n)."""
        x = np.asarray(t_s, dtype=float).ravel() / self.time_step_s
        if x.size == 0:
            return np.zeros((self.n_channels, 0))
        k = np.floor(x)
        u = x - k
        k = k.astype(np.int64)
        lo, hi = int(k.min()) - 1, int(k.max()) + 2
        b_lo, b_hi = lo // _KNOTS_PER_BLOCK, hi // _KNOTS_PER_BLOCK
        knots = np.concatenate([self._block(b) for b in range(b_lo, b_hi + 1)], axis=1)
        base = k - b_lo * _KNOTS_PER_BLOCK
        # uniform cubic B-spline weights of knots k-1, k, k+1, k+2
        u2, u3 = u * u, u * u * u
        w0 = (1.0 - u) ** 3 / 6.0
        w1 = (3.0 * u3 - 6.0 * u2 + 4.0) / 6.0
        w2 = (-3.0 * u3 + 3.0 * u2 + 3.0 * u + 1.0) / 6.0
        w3 = u3 / 6.0
        out = (w0 * knots[:, base - 1] + w1 * knots[:, base] + w2 * knots[:, base + 1] + w3 * knots[:, base + 2])
        return out / _SPLINE_STD


class ShapedNoise:
    """Stationary Gaussian noise with power spectrum ~ ``amplitude_response(f) ** 2`` and a given RMS.

    ``amplitude_response``: a function of frequency in Hz (array) giving the relative amplitude response,
    evaluated on the rfft bins of a chunk; the DC and Nyquist bins are set to 0. ``rms`` is the standard
    deviation of every channel. Chunks of ``chunk_length`` samples (a power of two) start every
    chunk_length / 2 samples of absolute index 0, 1, 2, ... at rate ``fs_hz``.
    """

    def __init__(self, seed: int, stream: int, owner: int, fs_hz: float, amplitude_response, rms: float,
                 n_channels: int = 1, chunk_length: int = 2 ** 15, sub: int = 0):
        if chunk_length < 16 or chunk_length & (chunk_length - 1):
            raise ValueError(f"chunk_length: expected a power of two >= 16, found {chunk_length!r}")
        self.seed, self.stream, self.owner, self.sub = int(seed), int(stream), int(owner), int(sub)
        self.n = int(chunk_length)
        self.hop = self.n // 2
        self.n_channels = int(n_channels)
        freqs = np.fft.rfftfreq(self.n, 1.0 / fs_hz)
        m = np.asarray(amplitude_response(freqs), dtype=float) * np.ones_like(freqs)
        m[0] = 0.0
        m[-1] = 0.0
        peak = float(np.max(m, initial=0.0))
        active = np.nonzero(m >= peak * 10.0 ** (FLOOR_DB / 20.0))[0] if peak > 0 else np.array([0])
        self.n_active = int(active[-1]) + 1  # bins above the floor: only these get random numbers
        m[self.n_active:] = 0.0
        power = 2.0 * float(np.sum(m * m))  # variance of irfft(X M) * N with E|X|^2 = 1
        self.magnitude = m * (float(rms) / np.sqrt(power)) if power > 0 else m
        self.window = np.sin(np.pi * (np.arange(self.n) + 0.5) / self.n)
        self._cache = LruCache(8)
        self._spectra = LruCache(4)  # reused when several filters are applied to the same chunk

    def spectrum(self, j: int) -> np.ndarray:
        """The complex spectrum (n_channels, chunk_length / 2 + 1) of chunk ``j`` (before any filtering)."""
        rng = keyed_generator(self.seed, self.stream, self.owner, self.sub, j)
        z = np.zeros((self.n_channels, self.hop + 1), np.complex128)
        z[:, :self.n_active] = rng.standard_normal((self.n_channels, 2 * self.n_active)).view(np.complex128)
        z *= self.magnitude * np.sqrt(0.5)
        return z

    def chunk(self, j: int, filter_response=None) -> np.ndarray:
        """Windowed chunk ``j`` (n_channels, chunk_length); ``filter_response`` multiplies the spectrum."""
        spectrum = self._spectra.get(j, self.spectrum) if filter_response is not None else self.spectrum(j)
        if filter_response is not None:
            spectrum = spectrum * filter_response
        return np.fft.irfft(spectrum, n=self.n, axis=-1) * (self.n * self.window)

    def samples(self, first: int, n: int) -> np.ndarray:
        """Samples first .. first + n - 1, shape (n_channels, n), float64."""
        return overlap_add(lambda j: self._cache.get(j, self.chunk), first, n, self.n, self.n_channels)


def overlap_add(chunk, first: int, n: int, chunk_length: int, n_channels: int) -> np.ndarray:
    """Sum of chunk(j) (n_channels, chunk_length) placed at j * chunk_length / 2, over samples [first, first + n)."""
    hop = chunk_length // 2
    out = np.zeros((n_channels, n))
    if n <= 0:
        return out
    j_lo = first // hop - 1
    j_hi = (first + n - 1) // hop
    for j in range(j_lo, j_hi + 1):
        start = j * hop
        a = max(start, first)
        b = min(start + chunk_length, first + n)
        if a < b:
            out[:, a - first:b - first] += chunk(j)[:, a - start:b - start]
    return out
