"""Point sources of sound: harmonic combs plus broadband noise, moving along a trajectory.

A :class:`PointSource` emits, as heard 1 m away in free field (pressure in Pa, p_ref = 20 uPa):

    s(t) = a(t) [ sum_c sum_h A_ch sin(n_ch phi_c(t) + theta_ch) + b(t) ]

- comb c has a fundamental f_c(t) = f_c,nominal (1 + o_c) F(t) (1 + d_0 D_0(t)) (1 + d_c D_c(t)) and phase
  phi_c(t) = 2 pi integral_0^t f_c dt' (phi_c(0) = 0); o_c a fixed offset (e.g. rotor-to-rotor spread), F(t) a
  deterministic manoeuvre factor (1 for a plain source, thrust for a drone), D_0 (common) and D_c (per comb) slow
  smooth random drifts of unit variance (sensorkit.synth.random_processes.SmoothRandom) scaled by d_0, d_c.
- n_ch are integer harmonic orders with amplitudes A_ch (Pa at 1 m, peak) and random phases theta_ch.
- b(t) is Gaussian broadband noise with the power spectrum of :class:`BroadbandSpectrum` (RMS from its level).
- a(t) = F(t) ** amplitude_exponent 10 ** (sigma_L L(t) / 20) / exp((sigma_L ln10 / 20) ** 2): louder when the
  rotors spin faster, plus a slow random level fluctuation L(t) of sigma_L dB with unit mean square.

The ground-truth fundamental is f0(t) = fundamental_hz F(t) (1 + d_0 D_0) mean_c[(1 + o_c)(1 + d_c D_c)].
:class:`SourceRuntime` holds what the scene draws at random for one source (keyed by scene seed and source index)
and evaluates frequencies, phases and broadband signals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensorkit.synth.air_absorption import absorption_from_coefficients
from sensorkit.synth.random_processes import (STREAM_BROADBAND, STREAM_DRIFT, STREAM_LEVEL, STREAM_SOURCE_SETUP,
                                              ShapedNoise, SmoothRandom, LruCache, keyed_generator,
                                              overlap_add)
from sensorkit.synth.trajectory import Trajectory

P_REF_PA = 20e-6
#: broadband noise is band-limited below this fraction of the output sampling rate (no aliasing after Doppler)
BAND_LIMIT_FRACTION = 0.42
#: phase integration control points per second (frequency linear in between, phase integrated exactly)
PHASE_CONTROL_RATE_HZ = 1000
_PER_SECOND = PHASE_CONTROL_RATE_HZ


def rms_pa(level_db: float) -> float:
    """RMS pressure in Pa of a sound pressure level in dB re 20 uPa."""
    return P_REF_PA * 10.0 ** (level_db / 20.0)


def level_db(mean_square_pa2: float) -> float:
    """Sound pressure level in dB re 20 uPa of a mean-square pressure in Pa**2 (-inf for silence)."""
    return 10.0 * math.log10(mean_square_pa2 / P_REF_PA ** 2) if mean_square_pa2 > 0 else -math.inf


def _check_level(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and -20.0 <= v <= 160.0):
        raise ValueError(f"{name}: expected a sound pressure level in dB re 20 uPa in [-20, 160], found {value!r}")
    return v


@dataclass(frozen=True)
class HarmonicComb:
    """Harmonics ``orders`` (increasing integers >= 1) of ``frequency_hz`` with peak amplitudes ``amplitudes_pa``
    at 1 m."""

    frequency_hz: float
    orders: tuple
    amplitudes_pa: tuple

    def __post_init__(self):
        if not (math.isfinite(self.frequency_hz) and 0.1 <= self.frequency_hz <= 20000.0):
            raise ValueError(f"frequency_hz: expected a fundamental in [0.1, 20000] Hz, found {self.frequency_hz!r}")
        orders = np.asarray(self.orders)
        amps = np.asarray(self.amplitudes_pa, dtype=float)
        if (orders.ndim != 1 or orders.size == 0 or orders.size != amps.size
                or not np.issubdtype(orders.dtype, np.integer) or orders.min() < 1 or np.any(np.diff(orders) <= 0)):
            raise ValueError(f"orders: expected increasing integers >= 1, one per amplitude ({amps.size}), "
                             f"found {self.orders!r}")
        if not np.all(np.isfinite(amps) & (amps >= 0)):
            raise ValueError(f"amplitudes_pa: expected finite amplitudes >= 0 Pa, found {self.amplitudes_pa!r}")


def comb_amplitudes_pa(level_db_spl: float, relative_db, n_combs: int = 1) -> np.ndarray:
    """Peak amplitudes (Pa at 1 m) of harmonics with levels ``relative_db`` (dB, any reference), scaled so that all
    ``n_combs`` equal combs together have the sound pressure level ``level_db_spl`` (mean square sum A**2 / 2)."""
    w = 10.0 ** (np.asarray(relative_db, dtype=float) / 20.0)
    total = rms_pa(level_db_spl) ** 2
    return w * np.sqrt(2.0 * total / (n_combs * float(np.sum(w * w))))


@dataclass(frozen=True)
class BroadbandSpectrum:
    """Broadband noise of sound pressure level ``level_db`` at 1 m (dB re 20 uPa, whole band, unweighted).

    Power spectrum shape: [(f/f_lo)**2 / (1 + (f/f_lo)**2)] x (1 + (f/f_hi)**2) ** (-k), k = slope / 6.02:
    a second-order rise below ``low_corner_hz`` and a fall of ``high_slope_db_per_octave`` above
    ``high_corner_hz``. The band is cut (smoothly) at 0.42 x the scene's sampling rate.
    """

    level_db: float
    low_corner_hz: float = 200.0
    high_corner_hz: float = 4000.0
    high_slope_db_per_octave: float = 6.0

    def __post_init__(self):
        _check_level("level_db", self.level_db)
        if not (0 < self.low_corner_hz < self.high_corner_hz and math.isfinite(self.high_corner_hz)):
            raise ValueError(f"low_corner_hz, high_corner_hz: expected 0 < low < high, found "
                             f"{self.low_corner_hz!r}, {self.high_corner_hz!r}")
        if not 0 <= self.high_slope_db_per_octave <= 60:
            raise ValueError(f"high_slope_db_per_octave: expected 0..60 dB, found {self.high_slope_db_per_octave!r}")

    def relative_power(self, frequency_hz) -> np.ndarray:
        """The power spectrum shape (peak near 1) at ``frequency_hz``."""
        f = np.asarray(frequency_hz, dtype=float)
        x = (f / self.low_corner_hz) ** 2
        k = self.high_slope_db_per_octave / (20.0 * math.log10(2.0))
        return x / (1.0 + x) * (1.0 + (f / self.high_corner_hz) ** 2) ** (-k)


class PointSource:
    """A moving point source: harmonic combs and broadband noise (see the module docstring for the model).

    kind: a label reported in the ground truth ("drone", "car", "tone", ...).
    fundamental_hz: the nominal fundamental reported as truth f0 (blade-passing or firing frequency).
    comb_offsets_frac: fixed relative offsets o_c (one per comb); if None they are drawn uniformly in
    +-comb_offset_spread_frac from the scene's seed.
    """

    amplitude_exponent = 0.0

    def __init__(self, trajectory: Trajectory, *, kind: str = "source", combs=(), fundamental_hz: float | None = None,
                 broadband: BroadbandSpectrum | None = None, comb_offsets_frac=None,
                 comb_offset_spread_frac: float = 0.0, frequency_drift_frac: float = 0.0,
                 comb_drift_frac: float = 0.0, drift_time_s: float = 2.0, level_fluctuation_db: float = 0.0,
                 fluctuation_time_s: float = 5.0):
        if not isinstance(trajectory, Trajectory):
            raise ValueError(f"trajectory: expected a sensorkit.synth.trajectory.Trajectory, found "
                             f"{type(trajectory).__name__}")
        self.trajectory = trajectory
        self.kind = str(kind)
        self.combs = tuple(combs)
        for c in self.combs:
            if not isinstance(c, HarmonicComb):
                raise ValueError(f"combs: expected HarmonicComb items, found {type(c).__name__}")
        if broadband is not None and not isinstance(broadband, BroadbandSpectrum):
            raise ValueError(f"broadband: expected a BroadbandSpectrum or None, found {type(broadband).__name__}")
        if not self.combs and broadband is None:
            raise ValueError("combs, broadband: a source needs at least one harmonic comb or a broadband spectrum")
        self.broadband = broadband
        if fundamental_hz is None:
            fundamental_hz = self.combs[0].frequency_hz if self.combs else 0.0
        self.fundamental_hz = float(fundamental_hz)
        if comb_offsets_frac is not None:
            offsets = np.asarray(comb_offsets_frac, dtype=float)
            if offsets.shape != (len(self.combs),) or not np.all(np.abs(offsets) < 0.5):
                raise ValueError(f"comb_offsets_frac: expected {len(self.combs)} offsets in (-0.5, 0.5), found "
                                 f"{comb_offsets_frac!r}")
            self.comb_offsets_frac = offsets
        else:
            self.comb_offsets_frac = None
        for name, value, hi in (("comb_offset_spread_frac", comb_offset_spread_frac, 0.3),
                                ("frequency_drift_frac", frequency_drift_frac, 0.2),
                                ("comb_drift_frac", comb_drift_frac, 0.2),
                                ("level_fluctuation_db", level_fluctuation_db, 20.0)):
            if not 0.0 <= float(value) <= hi:
                raise ValueError(f"{name}: expected 0..{hi}, found {value!r}")
        for name, value in (("drift_time_s", drift_time_s), ("fluctuation_time_s", fluctuation_time_s)):
            if not (math.isfinite(float(value)) and float(value) > 0):
                raise ValueError(f"{name}: expected a time > 0 s, found {value!r}")
        self.comb_offset_spread_frac = float(comb_offset_spread_frac)
        self.frequency_drift_frac = float(frequency_drift_frac)
        self.comb_drift_frac = float(comb_drift_frac)
        self.drift_time_s = float(drift_time_s)
        self.level_fluctuation_db = float(level_fluctuation_db)
        self.fluctuation_time_s = float(fluctuation_time_s)

    @classmethod
    def tone(cls, trajectory: Trajectory, frequency_hz: float, level_db: float, *, n_harmonics: int = 1,
             harmonic_slope_db: float = 0.0, kind: str = "tone") -> "PointSource":
        """A steady harmonic tone: ``n_harmonics`` harmonics falling by ``harmonic_slope_db`` each, total level
        ``level_db`` at 1 m. No drift, no noise: the clean source of calibration tests."""
        _check_level("level_db", level_db)
        orders = tuple(range(1, int(n_harmonics) + 1))
        amps = comb_amplitudes_pa(level_db, harmonic_slope_db * np.arange(len(orders)))
        return cls(trajectory, kind=kind, combs=[HarmonicComb(float(frequency_hz), orders, tuple(amps))])

    @classmethod
    def noise(cls, trajectory: Trajectory, spectrum: BroadbandSpectrum, *, kind: str = "noise") -> "PointSource":
        """A broadband noise source with ``spectrum`` and no tones."""
        return cls(trajectory, kind=kind, broadband=spectrum)

    def frequency_factor(self, t_s: np.ndarray) -> np.ndarray:
        """F(t): the deterministic factor on all frequencies (1 here; a drone follows its thrust)."""
        return np.ones(np.shape(t_s))

    def tonal_mean_square_pa2(self) -> float:
        """Mean-square pressure at 1 m of all combs at nominal conditions, Pa**2."""
        return float(sum(np.sum(np.square(c.amplitudes_pa)) / 2.0 for c in self.combs))


@dataclass(frozen=True)
class SceneContext:
    """What a source or noise runtime needs to know about the scene."""

    fs_hz: float
    mic_positions_m: np.ndarray
    array_height_m: float
    speed_of_sound_mps: float
    absorption_coefficients: tuple
    seed: int


class SourceRuntime:
    """One source of one scene: its random draws and the evaluation of frequencies, phases and noise.

    ``owner`` distinguishes the random streams of the scene's sources; the broadband noise lives on a source-time
    grid of rate ``buffer_rate_hz`` (2 x fs), as samples with absolute index n at time n / buffer_rate_hz.
    """

    BROADBAND_CHUNK = 2 ** 15

    def __init__(self, source: PointSource, context: SceneContext, owner: int):
        self.source = source
        self.trajectory = source.trajectory
        self.context = context
        self.owner = owner
        seed = context.seed
        n_combs = len(source.combs)
        rng = keyed_generator(seed, STREAM_SOURCE_SETUP, owner, 0, 0)
        if source.comb_offsets_frac is not None:
            self.offsets = source.comb_offsets_frac.copy()
        else:
            self.offsets = rng.uniform(-1.0, 1.0, n_combs) * source.comb_offset_spread_frac
        self.n_harmonics_max = max((len(c.orders) for c in source.combs), default=0)
        self.orders = np.ones((n_combs, max(self.n_harmonics_max, 1)), np.int64)
        self.amplitudes_pa = np.zeros((n_combs, max(self.n_harmonics_max, 1)))
        self.n_harmonics = np.zeros(n_combs, np.int64)
        for c, comb in enumerate(source.combs):
            n = len(comb.orders)
            self.orders[c, :n] = comb.orders
            self.orders[c, n:] = comb.orders[-1] + 1 + np.arange(self.orders.shape[1] - n)
            self.amplitudes_pa[c, :n] = comb.amplitudes_pa
            self.n_harmonics[c] = n
        self.harmonic_phase_rad = rng.uniform(0.0, 2.0 * np.pi, self.orders.shape)
        self.nominal_hz = np.array([c.frequency_hz for c in source.combs]) * (1.0 + self.offsets)
        self.drift = SmoothRandom(seed, STREAM_DRIFT, owner, source.drift_time_s, n_combs + 1)
        self.level = SmoothRandom(seed, STREAM_LEVEL, owner, source.fluctuation_time_s, 1)
        self.level_norm = math.exp((source.level_fluctuation_db * math.log(10.0) / 20.0) ** 2)
        self._seconds = LruCache(8)
        self._anchors = {0: np.zeros(n_combs)}
        self.buffer_rate_hz = 2.0 * context.fs_hz
        self.noise = None
        if source.broadband is not None:
            spectrum = source.broadband
            cut_hz = BAND_LIMIT_FRACTION * context.fs_hz

            def amplitude(f):
                taper = np.clip((cut_hz - f) / (0.1 * cut_hz), 0.0, 1.0)
                return np.sqrt(spectrum.relative_power(f)) * np.sin(0.5 * np.pi * taper)

            self.noise = ShapedNoise(seed, STREAM_BROADBAND, owner, self.buffer_rate_hz, amplitude,
                                     rms_pa(spectrum.level_db), chunk_length=self.BROADBAND_CHUNK)
            self.bin_hz = np.fft.rfftfreq(self.BROADBAND_CHUNK, 1.0 / self.buffer_rate_hz)
            self.bin_alpha_db_per_m = absorption_from_coefficients(self.bin_hz, context.absorption_coefficients)
            self._path_chunks = LruCache(16)

    # ------------------------------------------------------------------ frequencies and amplitudes

    def _factors(self, t: np.ndarray):
        base = self.source.frequency_factor(t)
        drift = self.drift.values(t)
        common = base * (1.0 + self.source.frequency_drift_frac * drift[0])
        per = 1.0 + self.source.comb_drift_frac * drift[1:]
        return common, per

    def comb_frequencies_hz(self, t_s) -> np.ndarray:
        """Emitted fundamental of every comb (n_combs, n) at source times ``t_s`` (flattened)."""
        t = np.asarray(t_s, dtype=float).ravel()
        common, per = self._factors(t)
        return self.nominal_hz[:, None] * common[None, :] * per

    def f0_hz(self, t_s) -> np.ndarray:
        """Ground-truth emitted fundamental (n,) at source times ``t_s``."""
        t = np.asarray(t_s, dtype=float).ravel()
        common, per = self._factors(t)
        if not self.source.combs:
            return np.zeros(t.size)
        return self.source.fundamental_hz * common * np.mean((1.0 + self.offsets)[:, None] * per, axis=0)

    def amplitude_factor(self, t_s) -> np.ndarray:
        """a(t) (n,): the common amplitude factor of tones and noise at source times ``t_s``."""
        t = np.asarray(t_s, dtype=float).ravel()
        a = np.ones(t.size)
        if self.source.amplitude_exponent:
            a = a * self.source.frequency_factor(t) ** self.source.amplitude_exponent
        if self.source.level_fluctuation_db:
            a = a * 10.0 ** (self.source.level_fluctuation_db * self.level.values(t)[0] / 20.0) / self.level_norm
        return a

    # ------------------------------------------------------------------ phase: phi_c(t) = 2 pi integral f_c

    def _anchor(self, a: int) -> np.ndarray:
        """Phase of every comb at t = a seconds, integrating second by second from 0 (cached)."""
        if a in self._anchors:
            return self._anchors[a]
        known = [k for k in self._anchors if (k < a if a > 0 else k > a)]
        k = max(known) if a > 0 else min(known)
        while k != a:
            if a > 0:
                f = self._second_frequencies(k)
                self._anchors[k + 1] = self._anchors[k] + np.cumsum(_trapezoids(f), axis=1)[:, -1]
                k += 1
            else:
                f = self._second_frequencies(k - 1)
                self._anchors[k - 1] = self._anchors[k] - np.cumsum(_trapezoids(f), axis=1)[:, -1]
                k -= 1
        return self._anchors[a]

    def _second_frequencies(self, a: int) -> np.ndarray:
        t = (a * _PER_SECOND + np.arange(_PER_SECOND + 1)) / PHASE_CONTROL_RATE_HZ
        return self.comb_frequencies_hz(t)

    def _second(self, a: int):
        def make(key):
            f = self._second_frequencies(key)
            phase = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(_trapezoids(f), axis=1)], axis=1)
            return f, self._anchor(key)[:, None] + phase
        return self._seconds.get(a, make)

    def comb_phases_rad(self, t_s) -> np.ndarray:
        """phi_c(t) (n_combs, n) at source times ``t_s`` (flattened): the integral of the frequency, linear between
        control points every 1 ms, starting from 0 at t = 0."""
        t = np.asarray(t_s, dtype=float).ravel()
        x = t * PHASE_CONTROL_RATE_HZ
        k = np.floor(x)
        frac = x - k
        k = k.astype(np.int64)
        a_lo, a_hi = int(k.min()) // _PER_SECOND, int(k.max()) // _PER_SECOND
        parts = [self._second(a) for a in range(a_lo, a_hi + 1)]
        f = np.concatenate([p[0][:, :-1] for p in parts] + [parts[-1][0][:, -1:]], axis=1)
        ph = np.concatenate([p[1][:, :-1] for p in parts] + [parts[-1][1][:, -1:]], axis=1)
        idx = k - a_lo * _PER_SECOND
        f0, f1 = f[:, idx], f[:, idx + 1]
        return ph[:, idx] + (2.0 * np.pi / PHASE_CONTROL_RATE_HZ) * frac * (f0 + 0.5 * (f1 - f0) * frac)

    # ------------------------------------------------------------------ broadband: source-time signal of a path

    def broadband_buffer(self, path: int, receiver_m: np.ndarray, first: int, n: int) -> np.ndarray:
        """The broadband source signal of one propagation path on the source-time grid, samples first..first+n-1.

        The signal, the same for every path, is filtered by air absorption over the distance from the source to
        ``receiver_m`` (the array centre or its ground image) at each noise chunk's centre time (chunks of
        0.34 s overlap-added, so the filter changes smoothly), and multiplied by a(t). Spreading is not applied.
        """
        if self.noise is None:
            raise ValueError(f"source {self.owner}: has no broadband spectrum")
        receiver = np.asarray(receiver_m, dtype=float)

        def make(key):
            j = key[1]
            n_c, hop = self.noise.n, self.noise.hop
            t_centre = (j * hop + n_c / 2) / self.buffer_rate_hz
            r = float(np.linalg.norm(self.trajectory.position_m([t_centre])[0] - receiver))
            response = 10.0 ** (-self.bin_alpha_db_per_m * r / 20.0)
            chunk = self.noise.chunk(j, response)[0]
            t_ms = (j * hop + np.arange(0, n_c + 96, 96)) / self.buffer_rate_hz
            a = self.amplitude_factor(t_ms)
            return chunk * np.interp(np.arange(n_c), np.arange(0, n_c + 96, 96), a)

        return overlap_add(lambda j: self._path_chunks.get((path, j), make)[None, :], first, n, self.noise.n, 1)[0]


def _trapezoids(f: np.ndarray) -> np.ndarray:
    """2 pi x the phase increments of each control interval, frequency linear in between: (n_combs, n - 1)."""
    return (np.pi / PHASE_CONTROL_RATE_HZ) * (f[:, 1:] + f[:, :-1])
