"""Background sound at the array: wind, microphone self-noise, birds, distant traffic.

Each class is a specification; the scene calls ``runtime(context, owner)`` to get an object whose
``render(first_frame, n_frames)`` returns (n_frames, n_mics) float64 in Pa (or, for :class:`Traffic`,
``point_sources(context, owner)``: distant sources rendered with full propagation like any other).
``mean_square_pa2(context)`` is the nominal long-term mean square at one microphone, the noise floor of the SNR
estimates. All randomness is keyed by (seed, owner, absolute time), so blocks of any size give the same sound.

Wind     turbulence at the microphones (windscreen fitted): Gaussian noise with power spectrum
         (f / 1 Hz)**2 / (1 + (f / 1 Hz)**2) x (1 + (f / corner_hz)**2) ** (-7/6)  (the f^-7/3 fall of turbulent
         pressure above the corner), level ``level_db`` at each microphone. A fraction ``coherent_fraction`` of the
         power is common to all microphones (large eddies), the rest independent per microphone. Gusts: the
         amplitude is multiplied by 10 ** (gust_depth_db G(t) / 20), G a smooth unit-variance process over
         ``gust_time_s``, normalised to unit mean square.
Sensor   white Gaussian self-noise, independent per microphone, ``level_db`` over the whole band (MEMS
         microphones: ~29-35 dB(A) equivalent input noise).
Birds    calls at random times (Poisson, ``rate_per_s``) from random directions (azimuth uniform, elevation and
         distance in the given ranges): 1..6 syllables, each a linear FM sweep between two frequencies drawn in
         ``frequency_hz`` (2..6 kHz), 30..150 ms long with a sin**2 envelope, 30..120 ms apart, at
         ``level_db`` -6..+3 dB (SPL at 1 m, peak of the envelope). Each microphone hears the call delayed by
         d / c, scaled by 1 / d and by air absorption at the syllable's centre frequency (no ground reflection).
Traffic  ``n_sources`` stationary broadband point sources (roads) at random azimuths, ``distance_m`` away and
         ``source_height_m`` above the ground: rumble with a spectrum rising to ``low_corner_hz`` and falling
         above ``high_corner_hz``, slow level fluctuations (vehicles passing); ``level_db`` is the SPL at the array
         of all of them together before air absorption and ground reflection.
"""

from __future__ import annotations

import math

import numpy as np

from sensorkit.synth.air_absorption import absorption_from_coefficients
from sensorkit.synth.random_processes import (STREAM_BIRDS, STREAM_GUSTS, STREAM_SENSOR, STREAM_TRAFFIC_SETUP,
                                              STREAM_WIND, ShapedNoise, SmoothRandom, keyed_generator)
from sensorkit.synth.sound_sources import BroadbandSpectrum, PointSource, SceneContext, rms_pa
from sensorkit.synth.trajectory import Trajectory


def _range(name: str, value, lo: float, hi: float) -> tuple[float, float]:
    a, b = (float(v) for v in value)
    if not (lo <= a <= b <= hi):
        raise ValueError(f"{name}: expected (low, high) with {lo} <= low <= high <= {hi}, found {value!r}")
    return a, b


def _level(name: str, value) -> float:
    v = float(value)
    if not (math.isfinite(v) and -20.0 <= v <= 140.0):
        raise ValueError(f"{name}: expected a level in dB re 20 uPa in [-20, 140], found {value!r}")
    return v


class BackgroundNoise:
    """Base class of the background sounds."""

    def runtime(self, context: SceneContext, owner: int):
        """An object with ``render(first_frame, n_frames) -> (n_frames, n_mics)``, or None."""
        return None

    def point_sources(self, context: SceneContext, owner: int) -> list[PointSource]:
        """Point sources to render with full propagation (none by default)."""
        return []

    def mean_square_pa2(self, context: SceneContext, band_hz=None) -> float:
        """Nominal long-term mean-square pressure at one microphone, Pa**2, over ``band_hz`` (low, high) or all."""
        return 0.0


def band_fraction(relative_power, band_hz, fs_hz: float) -> float:
    """The fraction of a power spectrum shape (a function of Hz) that lies in ``band_hz`` (None: 1)."""
    if band_hz is None:
        return 1.0
    f = np.linspace(0.0, fs_hz / 2.0, 8193)
    p = relative_power(f)
    inside = (f >= band_hz[0]) & (f <= band_hz[1])
    return float(np.sum(p[inside]) / np.sum(p))


# --------------------------------------------------------------------------------------------------- wind

class Wind(BackgroundNoise):
    """Wind noise at the microphones (see the module docstring)."""

    def __init__(self, level_db: float = 55.0, corner_hz: float = 10.0, coherent_fraction: float = 0.3,
                 gust_depth_db: float = 6.0, gust_time_s: float = 3.0):
        self.level_db = _level("level_db", level_db)
        if not 1.0 <= corner_hz <= 1000.0:
            raise ValueError(f"corner_hz: expected 1..1000 Hz, found {corner_hz!r}")
        if not 0.0 <= coherent_fraction <= 1.0:
            raise ValueError(f"coherent_fraction: expected 0..1, found {coherent_fraction!r}")
        if not 0.0 <= gust_depth_db <= 20.0:
            raise ValueError(f"gust_depth_db: expected 0..20 dB, found {gust_depth_db!r}")
        if not gust_time_s > 0:
            raise ValueError(f"gust_time_s: expected a time > 0 s, found {gust_time_s!r}")
        self.corner_hz = float(corner_hz)
        self.coherent_fraction = float(coherent_fraction)
        self.gust_depth_db = float(gust_depth_db)
        self.gust_time_s = float(gust_time_s)

    def amplitude_response(self, f):
        """Relative amplitude response (the square root of the power spectrum shape)."""
        f = np.asarray(f, dtype=float)
        return np.sqrt(f * f / (1.0 + f * f) * (1.0 + (f / self.corner_hz) ** 2) ** (-7.0 / 6.0))

    def runtime(self, context, owner):
        return _WindRuntime(self, context, owner)

    def mean_square_pa2(self, context, band_hz=None):
        fraction = band_fraction(lambda f: self.amplitude_response(f) ** 2, band_hz, context.fs_hz)
        return rms_pa(self.level_db) ** 2 * fraction


class _WindRuntime:
    def __init__(self, wind: Wind, context: SceneContext, owner: int):
        self.wind = wind
        self.n_mics = len(context.mic_positions_m)
        self.fs_hz = context.fs_hz
        self.noise = ShapedNoise(context.seed, STREAM_WIND, owner, context.fs_hz, wind.amplitude_response,
                                 rms_pa(wind.level_db), n_channels=self.n_mics + 1, chunk_length=2 ** 16)
        self.gusts = SmoothRandom(context.seed, STREAM_GUSTS, owner, wind.gust_time_s)
        self.gust_norm = math.exp((wind.gust_depth_db * math.log(10.0) / 20.0) ** 2)

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        x = self.noise.samples(first_frame, n_frames)
        rho = self.wind.coherent_fraction
        mixed = math.sqrt(rho) * x[:1] + math.sqrt(1.0 - rho) * x[1:]
        step = 48
        t_coarse = (first_frame + np.arange(0, n_frames + step, step)) / self.fs_hz
        g = 10.0 ** (self.wind.gust_depth_db * self.gusts.values(t_coarse)[0] / 20.0) / self.gust_norm
        gain = np.interp(np.arange(n_frames), np.arange(0, n_frames + step, step), g)
        return (mixed * gain).T


# --------------------------------------------------------------------------------------------------- sensor

class SensorNoise(BackgroundNoise):
    """White self-noise of each microphone, ``level_db`` SPL-equivalent over the whole band."""

    CHUNK_FRAMES = 8192

    def __init__(self, level_db: float = 32.0):
        self.level_db = _level("level_db", level_db)

    def runtime(self, context, owner):
        return _SensorRuntime(self, context, owner)

    def mean_square_pa2(self, context, band_hz=None):
        return rms_pa(self.level_db) ** 2 * band_fraction(lambda f: np.ones_like(f), band_hz, context.fs_hz)


class _SensorRuntime:
    def __init__(self, sensor: SensorNoise, context: SceneContext, owner: int):
        self.rms = rms_pa(sensor.level_db)
        self.seed, self.owner = context.seed, owner
        self.n_mics = len(context.mic_positions_m)

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        c = SensorNoise.CHUNK_FRAMES
        out = np.empty((n_frames, self.n_mics))
        for j in range(first_frame // c, (first_frame + n_frames - 1) // c + 1):
            rng = keyed_generator(self.seed, STREAM_SENSOR, self.owner, 0, j)
            chunk = rng.standard_normal((c, self.n_mics)) * self.rms
            a, b = max(j * c, first_frame), min((j + 1) * c, first_frame + n_frames)
            out[a - first_frame:b - first_frame] = chunk[a - j * c:b - j * c]
        return out


# --------------------------------------------------------------------------------------------------- birds

class Birds(BackgroundNoise):
    """Bird calls: short FM sweeps from random directions at random times (see the module docstring)."""

    SEGMENT_S = 1.0
    MAX_SYLLABLES = 6
    SYLLABLE_S = (0.03, 0.15)
    GAP_S = (0.03, 0.12)

    def __init__(self, rate_per_s: float = 0.3, level_db: float = 80.0, distance_m=(15.0, 80.0),
                 elevation_rad=(0.0, 0.6), frequency_hz=(2000.0, 6000.0)):
        if not 0.0 <= rate_per_s <= 20.0:
            raise ValueError(f"rate_per_s: expected 0..20 calls per second, found {rate_per_s!r}")
        self.rate_per_s = float(rate_per_s)
        self.level_db = _level("level_db", level_db)
        self.distance_m = _range("distance_m", distance_m, 1.0, 1000.0)
        self.elevation_rad = _range("elevation_rad", elevation_rad, 0.0, math.pi / 2)
        self.frequency_hz = _range("frequency_hz", frequency_hz, 100.0, 20000.0)

    def runtime(self, context, owner):
        if context.fs_hz < 2.2 * self.frequency_hz[1]:
            raise ValueError(f"frequency_hz: the highest bird frequency {self.frequency_hz[1]} Hz needs a sampling "
                             f"rate above {2.2 * self.frequency_hz[1]:.0f} Hz, the scene has {context.fs_hz} Hz")
        return _BirdsRuntime(self, context, owner)


class _BirdsRuntime:
    def __init__(self, birds: Birds, context: SceneContext, owner: int):
        self.birds = birds
        self.context = context
        self.owner = owner
        self.c = context.speed_of_sound_mps
        longest = birds.MAX_SYLLABLES * (birds.SYLLABLE_S[1] + birds.GAP_S[1])
        self.lookback = int(math.ceil((longest + birds.distance_m[1] * 1.01 / self.c) / birds.SEGMENT_S)) + 1

    def calls(self, segment: int) -> list:
        """The calls starting in one segment: (position (3,), [(t_start, duration, f_start, f_end, amp, phase)])."""
        b = self.birds
        rng = keyed_generator(self.context.seed, STREAM_BIRDS, self.owner, 0, segment)
        out = []
        for _ in range(rng.poisson(b.rate_per_s * b.SEGMENT_S)):
            t = (segment + rng.uniform()) * b.SEGMENT_S
            az = rng.uniform(0.0, 2.0 * np.pi)
            el = rng.uniform(*b.elevation_rad)
            d = rng.uniform(*b.distance_m)
            pos = d * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            amp = math.sqrt(2.0) * rms_pa(b.level_db + rng.uniform(-6.0, 3.0))
            syllables = []
            for _ in range(int(rng.integers(1, b.MAX_SYLLABLES + 1))):
                dur = rng.uniform(*b.SYLLABLE_S)
                f1, f2 = rng.uniform(*b.frequency_hz, size=2)
                syllables.append((t, dur, f1, f2, amp, rng.uniform(0.0, 2.0 * np.pi)))
                t += dur + rng.uniform(*b.GAP_S)
            out.append((pos, syllables))
        return out

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        fs = self.context.fs_hz
        mics = self.context.mic_positions_m
        out = np.zeros((n_frames, len(mics)))
        t0, t1 = first_frame / fs, (first_frame + n_frames) / fs
        seg_lo = int(math.floor(t0 / self.birds.SEGMENT_S)) - self.lookback
        seg_hi = int(math.floor(t1 / self.birds.SEGMENT_S))
        for segment in range(seg_lo, seg_hi + 1):
            for pos, syllables in self.calls(segment):
                d = np.linalg.norm(mics - pos, axis=1)  # (n_mics,)
                delay = d / self.c
                for (ts, dur, f1, f2, amp, phase) in syllables:
                    a = int(math.floor((ts + delay.min()) * fs)) + 1
                    b = int(math.ceil((ts + dur + delay.max()) * fs))
                    a, b = max(a, first_frame), min(b, first_frame + n_frames)
                    if a >= b:
                        continue
                    tau = (np.arange(a, b) / fs)[:, None] - delay[None, :] - ts  # (n, n_mics)
                    inside = (tau >= 0.0) & (tau < dur)
                    env = np.where(inside, np.sin(np.pi * np.clip(tau, 0.0, dur) / dur) ** 2, 0.0)
                    wave = np.sin(2.0 * np.pi * (f1 * tau + 0.5 * (f2 - f1) / dur * tau * tau) + phase)
                    alpha = absorption_from_coefficients(0.5 * (f1 + f2), self.context.absorption_coefficients)
                    gain = amp / d * 10.0 ** (-alpha * d / 20.0)
                    out[a - first_frame:b - first_frame] += env * wave * gain[None, :]
        return out


# --------------------------------------------------------------------------------------------------- traffic

class Traffic(BackgroundNoise):
    """Distant road traffic: stationary broadband point sources far away (see the module docstring)."""

    def __init__(self, level_db: float = 45.0, n_sources: int = 3, distance_m=(300.0, 1500.0),
                 source_height_m: float = 0.5, low_corner_hz: float = 40.0, high_corner_hz: float = 500.0,
                 fluctuation_db: float = 3.0, fluctuation_time_s: float = 8.0):
        self.level_db = _level("level_db", level_db)
        if isinstance(n_sources, bool) or int(n_sources) != n_sources or not 1 <= n_sources <= 20:
            raise ValueError(f"n_sources: expected an integer 1..20, found {n_sources!r}")
        self.n_sources = int(n_sources)
        self.distance_m = _range("distance_m", distance_m, 10.0, 5000.0)
        if not 0.0 <= source_height_m <= 10.0:
            raise ValueError(f"source_height_m: expected 0..10 m above the ground, found {source_height_m!r}")
        self.source_height_m = float(source_height_m)
        self.spectrum_corners_hz = (float(low_corner_hz), float(high_corner_hz))
        self.fluctuation_db = float(fluctuation_db)
        self.fluctuation_time_s = float(fluctuation_time_s)
        BroadbandSpectrum(level_db, low_corner_hz, high_corner_hz)  # validates the corners

    def point_sources(self, context, owner):
        rng = keyed_generator(context.seed, STREAM_TRAFFIC_SETUP, owner, 0, 0)
        out = []
        for _ in range(self.n_sources):
            az = rng.uniform(0.0, 2.0 * np.pi)
            d = rng.uniform(*self.distance_m)
            z = self.source_height_m - context.array_height_m
            at_1m = self.level_db - 10.0 * math.log10(self.n_sources) + 20.0 * math.log10(d)
            spectrum = BroadbandSpectrum(at_1m, *self.spectrum_corners_hz, 6.0)
            out.append(PointSource(Trajectory.hover((d * np.cos(az), d * np.sin(az), z)), kind="traffic",
                                   broadband=spectrum, level_fluctuation_db=self.fluctuation_db,
                                   fluctuation_time_s=self.fluctuation_time_s))
        return out

    def mean_square_pa2(self, context, band_hz=None):
        shape = BroadbandSpectrum(self.level_db, *self.spectrum_corners_hz, 6.0).relative_power
        return rms_pa(self.level_db) ** 2 * band_fraction(shape, band_hz, context.fs_hz)
