"""A simulated microphone array: AUDIO_BLOCKs of a sound scene at the configured rate and sample format.

Geometry: a uniform circular array of 8 microphones of radius 0.1 m (sensorkit.formats.array_geometry
.circular_array) or the positions read from a geometry file (acoular XML or JSON); IDENT capabilities list them
(`mic_positions_m`), channel i is row i, and `configure` streams the first `channels` of them.

Sound: an AudioSource made by `source_factory(mic_positions_m (n, 3), fs_hz, seed)`, with
``render(start_s, n_frames) -> (n_frames, n_mics)`` pressures in pascals. The default factory builds the
library's drone scene (sensorkit.synth.acoustic, a drone flying past) when that module is installed, else a
stand-in (ToneSource: a harmonic comb arriving as a plane wave from a slowly turning direction, plus sensor
noise); pass your own factory to simulate anything else. Scene time is the simulation's true time in seconds
since the simulator was made, modulo scene_period_s (60 s: the default drone passes closest at 30 s of every
minute); the scene does not restart with each `start`, and wraps (a discontinuity) once per period.

Samples: int16 / int24 / int32 counts = round(p / full_scale_pa * max_count), saturated (CLIPPED flag);
float32 carries pascals. full_scale_pa (default 20 Pa, 120 dB SPL peak, a typical MEMS microphone's acoustic
overload point) is stated in IDENT capabilities. Block k (first_frame = k * block_frames) is latched at the
device time of its first sample and sent when its last sample has been taken.
"""

from __future__ import annotations

import math
from typing import Callable, Protocol

import numpy as np

from firmware_sims.device import CommandRefused, ProtocolDevice
from sensorkit.drivers.frames import DEFAULT_MAX_FRAME_SIZE, FLAG_CLIPPED, HEADER_SIZE
from sensorkit.drivers.messages import SAMPLE_FORMATS, AudioBlock, MicArrayConfig
from sensorkit.formats.array_geometry import circular_array, read_array_geometry

STREAM = 1
MAX_COUNT = {"int16": (1 << 15) - 1, "int24": (1 << 23) - 1, "int32": (1 << 31) - 1}
SUPPORTED_FS_HZ = (8000.0, 16000.0, 22050.0, 24000.0, 32000.0, 44100.0, 48000.0, 96000.0)
#: Scene time (s) at which the default drone passes closest to the array (default scene period: 60 s).
DRONE_CLOSEST_S = 30.0


class AudioSource(Protocol):
    def render(self, start_s: float, n_frames: int) -> np.ndarray:
        """Pressures (n_frames, n_mics) in pascals from scene time start_s, one frame every 1 / fs_hz."""


AudioSourceFactory = Callable[[np.ndarray, float, int], AudioSource]


class ToneSource:
    """Stand-in scene: a harmonic comb (rotor-like, fundamental_hz and harmonics with 1/h amplitudes) arriving as
    a plane wave whose azimuth turns at turn_rate_dps (elevation elevation_deg), plus white sensor noise.

    Exact per microphone: p_m(t) = sum_h a_h sin(2 pi h f0 (t + d_m(t) / c)), d_m the projection of the
    microphone position on the arrival direction. level_pa: amplitude of the fundamental.
    """

    def __init__(self, mic_positions_m: np.ndarray, fs_hz: float, seed: int = 0, fundamental_hz: float = 180.0,
                 n_harmonics: int = 6, level_pa: float = 0.05, noise_pa: float = 0.002,
                 turn_rate_dps: float = 6.0, elevation_deg: float = 20.0, sound_speed_mps: float = 343.0):
        self.mic_positions_m = np.asarray(mic_positions_m, dtype=np.float64)
        self.fs_hz = float(fs_hz)
        self.seed = seed
        self.fundamental_hz = fundamental_hz
        self.n_harmonics = n_harmonics
        self.level_pa = level_pa
        self.noise_pa = noise_pa
        self.turn_rate_dps = turn_rate_dps
        self.elevation_deg = elevation_deg
        self.sound_speed_mps = sound_speed_mps

    def direction(self, t_s) -> np.ndarray:
        """Unit vectors (n, 3) from the array towards the source at scene times t_s (array frame)."""
        az = np.radians(self.turn_rate_dps * np.asarray(t_s, dtype=np.float64))
        el = math.radians(self.elevation_deg)
        return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.full_like(az, math.sin(el))], axis=-1)

    def render(self, start_s: float, n_frames: int) -> np.ndarray:
        first = round(start_s * self.fs_hz)
        t = (first + np.arange(n_frames)) / self.fs_hz
        lead_s = self.direction(t) @ self.mic_positions_m.T / self.sound_speed_mps  # (n_frames, n_mics)
        tt = t[:, None] + lead_s
        out = np.zeros((n_frames, len(self.mic_positions_m)))
        for h in range(1, self.n_harmonics + 1):
            out += (self.level_pa / h) * np.sin(2 * np.pi * h * self.fundamental_hz * tt)
        if self.noise_pa > 0:
            rng = np.random.default_rng([self.seed, first])
            out += self.noise_pa * rng.standard_normal(out.shape)
        return out.astype(np.float32)


def default_audio_source(mic_positions_m: np.ndarray, fs_hz: float, seed: int) -> AudioSource:
    """The library's drone scene for this array (sensorkit.synth.acoustic), or ToneSource when it is missing.

    A quadcopter (Drone defaults: 4 rotors, 5400 rpm, 75 dB) flying level and straight along +x at 15 m/s,
    40 m up, passing 50 m to the side (+y) of the array at scene time 30 s; wind, microphone self-noise,
    distant traffic and birds in the background; array 1.5 m above a grass-like ground.
    """
    try:
        from sensorkit.synth.acoustic import SoundScene
        from sensorkit.synth.background_noise import Birds, SensorNoise, Traffic, Wind
        from sensorkit.synth.drone_sound import Drone
        from sensorkit.synth.trajectory import Trajectory
    except ImportError:
        return ToneSource(mic_positions_m, fs_hz, seed)
    drone = Drone(Trajectory.flyby((0.0, 50.0, 40.0), 15.0, heading_rad=0.0, time_at_closest_s=DRONE_CLOSEST_S))
    return SoundScene(mic_positions_m, fs_hz, sources=[drone], noise=[Wind(), SensorNoise(), Traffic(), Birds()],
                      seed=seed)


def quantise_audio(pressure_pa: np.ndarray, sample_format: str, full_scale_pa: float) -> tuple[np.ndarray, bool]:
    """(samples in sample_format, clipped) of pressures (n_frames, n_channels) in pascals."""
    if sample_format == "float32":
        return np.asarray(pressure_pa, dtype=np.float32), False
    top = MAX_COUNT[sample_format]
    counts = np.rint(np.asarray(pressure_pa, dtype=np.float64) * (top / full_scale_pa))
    clipped = bool((np.abs(counts) > top).any())
    np.clip(counts, -top - 1, top, out=counts)
    return counts.astype(np.int16 if sample_format == "int16" else np.int32), clipped


class MicArraySim(ProtocolDevice):
    """The microphone array. mic_positions_m (n, 3) or geometry_path (default: 8 mics on a 0.1 m circle).

    source_factory: AudioSourceFactory (default_audio_source). Other keyword arguments: ProtocolDevice.
    """

    name = "mic"
    model = "SK-MIC-SIM"
    firmware = "1.0.0"

    def __init__(self, *, mic_positions_m=None, geometry_path=None,
                 source_factory: AudioSourceFactory | None = None, full_scale_pa: float = 20.0,
                 scene_period_s: float = 60.0, default_fs_hz: float = 48000.0, **kwargs):
        super().__init__(**kwargs)
        if geometry_path is not None:
            positions = read_array_geometry(geometry_path)
        elif mic_positions_m is not None:
            positions = np.asarray(mic_positions_m, dtype=np.float64)
            if positions.ndim != 2 or positions.shape[1] != 3 or not np.all(np.isfinite(positions)):
                raise ValueError(f"mic_positions_m: expected finite positions (n_mics, 3) in metres, "
                                 f"found shape {positions.shape}")
        else:
            positions = circular_array(8, 0.1)
        if not 1 <= len(positions) <= 0xFFFF:
            raise ValueError(f"mic_positions_m: expected 1 to 65535 microphones, found {len(positions)}")
        if not (math.isfinite(full_scale_pa) and full_scale_pa > 0):
            raise ValueError(f"full_scale_pa: expected a pressure > 0 Pa, found {full_scale_pa!r}")
        if default_fs_hz not in SUPPORTED_FS_HZ:
            raise ValueError(f"default_fs_hz: expected one of {SUPPORTED_FS_HZ}, found {default_fs_hz!r}")
        self.mic_positions_m = positions
        self.source_factory = source_factory if source_factory is not None else default_audio_source
        self.full_scale_pa = float(full_scale_pa)
        self.scene_period_s = float(scene_period_s)
        self.default_fs_hz = float(default_fs_hz)
        self.source: AudioSource | None = None
        self._source_key = None
        self._block = 0

    # ------------------------------------------------------------------ protocol hooks
    def capabilities(self) -> dict:
        return {"kind": "acoustic", "streams": [{"stream": STREAM, "type": "AUDIO_BLOCK"}],
                "max_channels": len(self.mic_positions_m), "fs_hz": list(SUPPORTED_FS_HZ),
                "sample_formats": ["int16", "int24", "int32", "float32"],
                "mic_positions_m": [[float(v) for v in row] for row in self.mic_positions_m],
                "full_scale_pa": self.full_scale_pa,
                "amplitude": "counts: +-max_count = +-full_scale_pa pascals; float32 in pascals"}

    def default_config(self) -> dict:
        return {"channels": len(self.mic_positions_m), "fs_hz": self.default_fs_hz, "block_frames": 1024,
                "sample_format": "int24"}

    def apply_config(self, args: dict) -> dict:
        cfg = MicArrayConfig.from_args(args)
        n_mics = len(self.mic_positions_m)
        if cfg.channels > n_mics:
            raise CommandRefused(f"channels: {cfg.channels} is more than this array's {n_mics} microphones")
        fs = min(SUPPORTED_FS_HZ, key=lambda f: abs(f - cfg.fs_hz))
        if abs(fs - cfg.fs_hz) > 0.01 * fs:
            raise CommandRefused(f"fs_hz: {cfg.fs_hz} Hz is not supported; supported: {list(SUPPORTED_FS_HZ)}")
        size = SAMPLE_FORMATS[cfg.sample_format][1]
        frame_bytes = HEADER_SIZE + 16 + cfg.block_frames * cfg.channels * size + 4
        if frame_bytes > DEFAULT_MAX_FRAME_SIZE:
            raise CommandRefused(f"block_frames: {cfg.block_frames} frames x {cfg.channels} channels of "
                                 f"{cfg.sample_format} make a {frame_bytes}-byte frame, more than "
                                 f"{DEFAULT_MAX_FRAME_SIZE}")
        applied = {"channels": cfg.channels, "fs_hz": fs, "block_frames": cfg.block_frames,
                   "sample_format": cfg.sample_format}
        key = (cfg.channels, fs)
        if key != self._source_key:
            self.source = self.source_factory(self.mic_positions_m[:cfg.channels], fs, self.seed)
            self._source_key = key
        return applied

    def scene_time_s(self, true_ns: int) -> float:
        """Scene time (s) of a true time (clock.py): seconds since the simulator was made, modulo scene_period_s."""
        return (true_ns * 1e-9) % self.scene_period_s

    def scene_time_at_utc(self, utc_ns: int) -> float:
        """Scene time (s) of the sound the array hears at host UTC utc_ns (for source.truth(...))."""
        return self.scene_time_s(self.clock.true_of_utc(utc_ns))

    def begin_run(self) -> None:
        self._block = 0
        self._start_true_ns = self.clock.true_ns()
        self._start_dev_ns = self.clock.device_ns(self._start_true_ns)
        self._scene_first_frame = round(self.scene_time_s(self._start_true_ns) * self.config["fs_hz"])

    def _device_ns_of_frame(self, frame_index: int) -> int:
        return self._start_dev_ns + round(frame_index * 1e9 / self.config["fs_hz"])

    def next_data_due_ns(self) -> int | None:
        end = (self._block + 1) * self.config["block_frames"]
        return self.clock.true_of_device(self._device_ns_of_frame(end))

    def _render(self, first: int, n: int) -> np.ndarray:
        """Pressures of n frames from the run's frame `first`; scene frames wrap at scene_period_s."""
        fs = self.config["fs_hz"]
        period = max(1, round(self.scene_period_s * fs))
        position = (self._scene_first_frame + first) % period
        parts = []
        while n > 0:
            k = min(n, period - position)
            parts.append(self.source.render(position / fs, k))
            n -= k
            position = 0
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def produce_data(self) -> bool:
        cfg = self.config
        n = cfg["block_frames"]
        first = self._block * n
        samples, clipped = quantise_audio(self._render(first, n), cfg["sample_format"], self.full_scale_pa)
        self.send_data(STREAM, AudioBlock(first, samples, cfg["sample_format"]), self._device_ns_of_frame(first),
                       FLAG_CLIPPED if clipped else 0)
        self._block += 1
        return True
