"""The drone sound field at a microphone array: the forward model shared by the simulator, datasets and tests.

    scene = SoundScene(circular_array(8, 0.1), 48000, sources=[Drone(Trajectory.flyby((0, 50, 40), 15.0))],
                       noise=[Wind(), SensorNoise(), Traffic(), Birds()], seed=1)
    block = scene.render(0.0, 4800)        # float32 (4800, 8), Pa, continuous across calls
    truth = scene.truth(np.arange(0, 10, 0.1))

Physics (each piece documented in its module):
- sources (sensorkit.synth.sound_sources, drone_sound, interferers): harmonic combs + broadband, moving along
  smooth trajectories (trajectory);
- propagation (propagation): retarded time per microphone, hence Doppler; the tones' phases are the source phase
  integrated up to the emission time; spherical spreading 1/r (r floored at 0.1 m); air absorption per ISO
  9613-1 (air_absorption) for every harmonic at its received frequency and, for broadband noise, per frequency
  bin over 0.34 s chunks; a ground reflection from the image source below a flat ground at z = -array_height_m
  with a real, frequency-independent reflection coefficient (default 0.7: grass; 1 a rigid surface, 0 none);
- background (background_noise): wind, microphone self-noise, birds, distant traffic.

Frames: frame k is at time k / fs_hz. The scene renders fixed chunks of CHUNK_FRAMES frames aligned on frame 0, and
every random draw is keyed by seed and absolute time, so render(0, 2000) equals render(0, 1000) followed by
render(1000 / fs, 1000), bit for bit, and a fresh scene with the same seed renders the same sound.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from sensorkit.kernels.acoustic_forward import (PointSourceBlock, render_point_sources,
                                                render_point_sources_reference)
from sensorkit.synth.air_absorption import (REFERENCE_PRESSURE_KPA, absorption_coefficients,
                                            absorption_from_coefficients, speed_of_sound_mps)
from sensorkit.synth.background_noise import BackgroundNoise
from sensorkit.synth.propagation import direction, doppler_factor, mirror_in_ground, retarded_time_s
from sensorkit.synth.sound_sources import (BAND_LIMIT_FRACTION, P_REF_PA, PointSource, SceneContext, SourceRuntime,
                                           level_db, rms_pa)

#: tones above this fraction of fs are faded out (fully gone at HARMONIC_CUT_FRACTION)
HARMONIC_FADE_FRACTION = 0.40
HARMONIC_CUT_FRACTION = 0.45
MIN_RANGE_M = 0.1
SNR_BAND_LOW_HZ = 100.0
_DB_TO_NEPER = math.log(10.0) / 20.0  # amplitude factor 10 ** (-x / 20) = exp(-x ln10 / 20)


@dataclass
class SourceTruth:
    """Ground truth of one source at the requested times (n,), as heard at the array centre (the origin).

    emission_time_s: when the sound arriving at times_s left the source; position_m (n, 3) the source there;
    azimuth_rad, elevation_rad, range_m: its direction and distance from the origin (array frame conventions);
    f0_hz: the fundamental (blade-passing or firing frequency) as received, with Doppler; f0_emitted_hz at source;
    level_db: SPL of the direct sound at the origin (tones + broadband, spreading and absorption, no ground);
    snr_db: signal-to-background ratio in the detection band 100 Hz .. 0.42 fs: the direct sound's power in the band
    over the nominal stationary background at one microphone in the band (wind, sensor, traffic; not birds, not
    other sources) -- an estimate from nominal levels, not a measurement.
    """

    index: int
    kind: str
    times_s: np.ndarray
    emission_time_s: np.ndarray
    position_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    range_m: np.ndarray
    f0_hz: np.ndarray
    f0_emitted_hz: np.ndarray
    level_db: np.ndarray
    snr_db: np.ndarray


class SoundScene:
    """Point sources and background noise heard by a microphone array (see the module docstring).

    mic_positions_m (n_mics, 3): array frame, metres, above the ground (z > -array_height_m).
    sources: PointSource objects (Drone, Interferer, PointSource.tone, ...): rendered and reported by truth().
    noise: BackgroundNoise objects (Wind, SensorNoise, Birds, Traffic): rendered, not in truth().
    ground_reflection: the ground's reflection coefficient (-1..1; 0 or None: no reflection).
    use_reference_kernel: render point sources with the NumPy reference (slow; for tests and benchmarks).
    """

    CHUNK_FRAMES = 8192
    KNOT_INTERVAL_S = 1e-3

    def __init__(self, mic_positions_m, fs_hz: float, sources=(), noise=(), array_height_m: float = 1.5,
                 temperature_c: float = 20.0, humidity_pct: float = 70.0, pressure_kpa: float = REFERENCE_PRESSURE_KPA,
                 ground_reflection: float | None = 0.7, seed: int = 0, use_reference_kernel: bool = False):
        mics = np.asarray(mic_positions_m, dtype=float)
        if mics.ndim != 2 or mics.shape[1] != 3 or not 1 <= mics.shape[0] <= 1024:
            raise ValueError(f"mic_positions_m: expected shape (n_mics, 3) with 1..1024 microphones, found "
                             f"{mics.shape}")
        if not np.all(np.isfinite(mics)):
            raise ValueError("mic_positions_m: expected finite positions in metres, found NaN or infinity")
        fs = float(fs_hz)
        if not (math.isfinite(fs) and 1000.0 <= fs <= 384000.0):
            raise ValueError(f"fs_hz: expected a sampling rate of 1000..384000 Hz, found {fs_hz!r}")
        h = float(array_height_m)
        if not (math.isfinite(h) and 0.0 <= h <= 1000.0):
            raise ValueError(f"array_height_m: expected 0..1000 m above the ground, found {array_height_m!r}")
        if np.any(mics[:, 2] < -h):
            raise ValueError(f"mic_positions_m: microphone {int(np.argmin(mics[:, 2]))} is below the ground "
                             f"(z = {mics[:, 2].min()} m < -array_height_m = {-h} m)")
        refl = 0.0 if ground_reflection is None else float(ground_reflection)
        if not (math.isfinite(refl) and -1.0 <= refl <= 1.0):
            raise ValueError(f"ground_reflection: expected a coefficient in [-1, 1] or None, found "
                             f"{ground_reflection!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected an integer >= 0, found {seed!r}")
        sources = list(sources)
        for i, s in enumerate(sources):
            if not isinstance(s, PointSource):
                raise ValueError(f"sources[{i}]: expected a PointSource (Drone, Interferer, ...), found "
                                 f"{type(s).__name__}")
        noise = list(noise)
        for i, n in enumerate(noise):
            if not isinstance(n, BackgroundNoise):
                raise ValueError(f"noise[{i}]: expected a BackgroundNoise (Wind, SensorNoise, Birds, Traffic), "
                                 f"found {type(n).__name__}")
        self.mic_positions_m = mics
        self.n_mics = mics.shape[0]
        self.fs_hz = fs
        self.array_height_m = h
        self.ground_reflection = refl
        self.seed = int(seed)
        self.speed_of_sound_mps = speed_of_sound_mps(temperature_c)
        self.absorption = absorption_coefficients(temperature_c, humidity_pct, pressure_kpa)
        self.temperature_c, self.humidity_pct, self.pressure_kpa = temperature_c, humidity_pct, pressure_kpa
        self.sources = sources
        self.noise = noise
        self.use_reference_kernel = bool(use_reference_kernel)
        self.knot_step = max(1, int(round(fs * self.KNOT_INTERVAL_S)))
        self.context = SceneContext(fs, mics, h, self.speed_of_sound_mps, self.absorption, self.seed)
        self._runtimes = [SourceRuntime(s, self.context, owner=i) for i, s in enumerate(sources)]
        for i, n in enumerate(noise):
            for k, s in enumerate(n.point_sources(self.context, i)):
                self._runtimes.append(SourceRuntime(s, self.context, owner=10_000 + 100 * i + k))
        self._noise_runtimes = [rt for rt in (n.runtime(self.context, i) for i, n in enumerate(noise)) if rt]
        self._paths = [(mics, np.zeros(3), 1.0)]
        if refl != 0.0:
            self._paths.append((mirror_in_ground(mics, h), mirror_in_ground(np.zeros(3), h)[0], refl))
        self._receivers = np.vstack([np.vstack([r, cen]) for r, cen, _ in self._paths])
        self._chunks: OrderedDict = OrderedDict()

    # ------------------------------------------------------------------ rendering

    def frame_index(self, time_s: float) -> int:
        """The frame at ``time_s`` (time_s x fs_hz must be an integer to within 1e-3 of a frame)."""
        x = float(time_s) * self.fs_hz
        k = round(x)
        if not math.isfinite(x) or abs(x - k) > 1e-3:
            raise ValueError(f"start_s: expected a whole number of frames (k / fs_hz with fs_hz={self.fs_hz}), "
                             f"found {time_s!r} s = frame {x!r}")
        return int(k)

    def render(self, start_s: float, n_frames: int) -> np.ndarray:
        """Sound pressure (n_frames, n_mics) float32, Pa, from time ``start_s`` (a whole frame)."""
        return self.render_frames(self.frame_index(start_s), n_frames)

    def render_frames(self, first_frame: int, n_frames: int) -> np.ndarray:
        """Sound pressure (n_frames, n_mics) float32, Pa, of frames first_frame .. first_frame + n_frames - 1."""
        for name, value in (("first_frame", first_frame), ("n_frames", n_frames)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name}: expected an integer, found {value!r}")
        if n_frames < 0:
            raise ValueError(f"n_frames: expected >= 0 frames, found {n_frames}")
        first_frame, n_frames = int(first_frame), int(n_frames)
        out = np.empty((n_frames, self.n_mics), np.float32)
        c = self.CHUNK_FRAMES
        if n_frames == 0:
            return out
        for q in range(first_frame // c, (first_frame + n_frames - 1) // c + 1):
            chunk = self._chunk(q)
            a, b = max(q * c, first_frame), min((q + 1) * c, first_frame + n_frames)
            out[a - first_frame:b - first_frame] = chunk[a - q * c:b - q * c]
        return out

    def render_all(self, duration_s: float, start_s: float = 0.0) -> np.ndarray:
        """Sound pressure (round(duration_s x fs_hz), n_mics) float32 from ``start_s``."""
        if not (math.isfinite(float(duration_s)) and duration_s >= 0):
            raise ValueError(f"duration_s: expected a duration >= 0 s, found {duration_s!r}")
        return self.render_frames(self.frame_index(start_s), int(round(duration_s * self.fs_hz)))

    def _chunk(self, q: int) -> np.ndarray:
        if q in self._chunks:
            self._chunks.move_to_end(q)
            return self._chunks[q]
        first, n = q * self.CHUNK_FRAMES, self.CHUNK_FRAMES
        block = self.point_source_block(first, n)
        kernel = render_point_sources_reference if self.use_reference_kernel else render_point_sources
        p = kernel(block)
        for rt in self._noise_runtimes:
            p += rt.render(first, n)
        chunk = p.astype(np.float32)
        self._chunks[q] = chunk
        if len(self._chunks) > 4:
            self._chunks.popitem(last=False)
        return chunk

    def point_source_block(self, first_frame: int, n_frames: int) -> PointSourceBlock:
        """The kernel inputs (sensorkit.kernels.acoustic_forward) of all point sources for a block of frames."""
        step = self.knot_step
        first_knot = first_frame // step
        n_knots = (first_frame + n_frames - 1) // step + 2 - first_knot
        t = (first_knot + np.arange(n_knots)) * step / self.fs_hz
        c = self.speed_of_sound_mps
        m = self.n_mics
        phases, gains, orders, thetas, n_harm = [], [], [], [], []
        positions, bb_gains, buffers, firsts = [], [], [], []
        for rt in self._runtimes:
            te_all = retarded_time_s(rt.trajectory, self._receivers, t, c).reshape(len(self._paths), m + 1, n_knots)
            self._check_above_ground(rt, te_all[0, -1])
            for p, (receivers, centre, coefficient) in enumerate(self._paths):
                te_m, te_c = te_all[p, :-1], te_all[p, -1]
                r_m = c * (t[None, :] - te_m)  # (M, K)
                spread = coefficient / np.maximum(r_m, MIN_RANGE_M)
                if rt.source.combs:
                    n_c = len(rt.source.combs)
                    ph = rt.comb_phases_rad(te_m).reshape(n_c, m, n_knots).transpose(0, 2, 1)
                    f_rx = (rt.orders[:, :, None] * rt.comb_frequencies_hz(te_c)[:, None, :]
                            * doppler_factor(rt.trajectory, centre, te_c, c)[None, None, :])  # (C, H, K)
                    alpha = absorption_from_coefficients(f_rx, self.absorption)
                    base = rt.amplitudes_pa[:, :, None] * rt.amplitude_factor(te_c)[None, None, :] * _fade(
                        f_rx, self.fs_hz)
                    g = base[..., None] * spread.T[None, None] * np.exp(
                        (-_DB_TO_NEPER) * alpha[..., None] * r_m.T[None, None])
                    phases.extend(ph)
                    gains.extend(g)
                    orders.extend(rt.orders)
                    thetas.extend(rt.harmonic_phase_rad)
                    n_harm.extend(rt.n_harmonics)
                if rt.noise is not None:
                    u = te_m.T * rt.buffer_rate_hz  # (K, M)
                    lo = int(np.floor(u.min())) - 2
                    hi = int(np.floor(u.max())) + 3
                    buffers.append(rt.broadband_buffer(p, centre, lo, hi - lo + 1))
                    firsts.append(lo)
                    positions.append(u)
                    bb_gains.append(spread.T)
        h = max((len(o) for o in orders), default=1)
        n_lines = len(phases)
        tone_gain = np.zeros((n_lines, h, n_knots, m))
        tone_order = np.ones((n_lines, h), np.int64)
        tone_theta = np.zeros((n_lines, h))
        for i in range(n_lines):
            k = gains[i].shape[0]
            tone_gain[i, :k] = gains[i]
            tone_order[i, :k] = orders[i]
            tone_theta[i, :k] = thetas[i]
        n_buf = max((len(b) for b in buffers), default=4)
        bb_buffer = np.zeros((len(buffers), n_buf))
        for i, b in enumerate(buffers):
            bb_buffer[i, :len(b)] = b
        return PointSourceBlock(
            first_frame, n_frames, step, first_knot, m,
            np.ascontiguousarray(np.array(phases).reshape(n_lines, n_knots, m)), tone_gain, tone_order, tone_theta,
            np.array(n_harm, np.int64).reshape(n_lines),
            np.ascontiguousarray(np.array(positions).reshape(len(buffers), n_knots, m)),
            np.ascontiguousarray(np.array(bb_gains).reshape(len(buffers), n_knots, m)), bb_buffer,
            np.array(firsts, np.int64).reshape(len(buffers)))

    def _check_above_ground(self, rt: SourceRuntime, te: np.ndarray) -> None:
        z = rt.trajectory.position_m(te)[:, 2]
        if np.any(z < -self.array_height_m):
            i = int(np.argmin(z))
            raise ValueError(f"source {rt.owner} ({rt.source.kind}): below the ground at t = {te[i]:.3f} s "
                             f"(z = {z[i]:.2f} m, ground at z = {-self.array_height_m} m)")

    # ------------------------------------------------------------------ ground truth

    def snr_band_hz(self) -> tuple[float, float]:
        """The band of the SNR estimates: 100 Hz .. 0.42 fs."""
        return SNR_BAND_LOW_HZ, BAND_LIMIT_FRACTION * self.fs_hz

    def background_mean_square_pa2(self, band_hz=None) -> float:
        """Nominal stationary background at one microphone (wind, sensor, traffic), Pa**2, in ``band_hz`` or all."""
        return float(sum(n.mean_square_pa2(self.context, band_hz) for n in self.noise))

    def truth(self, times_s) -> list[SourceTruth]:
        """Ground truth of every source in ``sources`` at times ``times_s`` (see :class:`SourceTruth`)."""
        t = np.asarray(times_s, dtype=float).ravel()
        if not np.all(np.isfinite(t)):
            raise ValueError("times_s: expected finite times in seconds")
        c = self.speed_of_sound_mps
        band = self.snr_band_hz()
        background = self.background_mean_square_pa2(band)
        out = []
        for i, rt in enumerate(self._runtimes[:len(self.sources)]):
            te = retarded_time_s(rt.trajectory, np.zeros((1, 3)), t, c)[0]
            pos = rt.trajectory.position_m(te)
            az, el, rng = direction(pos)
            doppler = doppler_factor(rt.trajectory, np.zeros(3), te, c)
            f0_emitted = rt.f0_hz(te)
            r = np.maximum(rng, MIN_RANGE_M)
            lev = _levels_db(self._received_mean_square(rt, te, r, doppler, None))
            in_band = _levels_db(self._received_mean_square(rt, te, r, doppler, band))
            snr = in_band - level_db(background) if background > 0 else np.full(t.size, np.inf)
            out.append(SourceTruth(i, rt.source.kind, t, te, pos, az, el, rng, f0_emitted * doppler, f0_emitted,
                                   lev, snr))
        return out

    def _received_mean_square(self, rt: SourceRuntime, te, r, doppler, band_hz) -> np.ndarray:
        lo, hi = band_hz if band_hz is not None else (0.0, np.inf)
        amp = rt.amplitude_factor(te)
        total = np.zeros(te.size)
        if rt.source.combs:
            f_rx = rt.orders[:, :, None] * rt.comb_frequencies_hz(te)[:, None, :] * doppler[None, None, :]
            alpha = absorption_from_coefficients(f_rx, self.absorption)
            a = rt.amplitudes_pa[:, :, None] * _fade(f_rx, self.fs_hz) * ((f_rx >= lo) & (f_rx <= hi))
            total += np.sum(a * a / 2.0 * 10.0 ** (-alpha * r / 10.0), axis=(0, 1))
        if rt.source.broadband is not None:
            f = np.linspace(1.0, BAND_LIMIT_FRACTION * self.fs_hz, 1024)
            s = rt.source.broadband.relative_power(f)
            alpha = absorption_from_coefficients(f, self.absorption)
            inside = (f >= lo) & (f <= hi)
            kept = np.sum((s * inside)[None, :] * 10.0 ** (-alpha[None, :] * r[:, None] / 10.0), axis=1) / np.sum(s)
            total += rms_pa(rt.source.broadband.level_db) ** 2 * kept
        return total * amp * amp / (r * r)


def _levels_db(mean_square: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(mean_square / P_REF_PA ** 2)


def _fade(frequency_hz: np.ndarray, fs_hz: float) -> np.ndarray:
    """1 below 0.40 fs, 0 above 0.45 fs, sin**2 in between: keeps harmonics clear of aliasing."""
    x = np.clip((HARMONIC_CUT_FRACTION * fs_hz - frequency_hz) / ((HARMONIC_CUT_FRACTION - HARMONIC_FADE_FRACTION)
                                                                  * fs_hz), 0.0, 1.0)
    return np.sin(0.5 * np.pi * x) ** 2
