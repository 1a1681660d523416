"""A simulated GPR unit: a cart with a survey wheel moving over a buried scene, one GPR_TRACE per trigger.

The cart follows a CartTrack (scenario.py): survey x = distance along the lane, the antenna at y = lane_y_m.
Triggers: `time` (a trace every 1 / trace_rate_hz of device time) or `wheel` (a trace each time the wheel
encoder has advanced trace_spacing_m * ticks_per_m ticks, both configured; the wheel itself turns out
wheel_ticks_per_m ticks per metre, 1000 by default, and reads floor(x * wheel_ticks_per_m)). At each trigger
the device latches its clock and the encoder count; the trace is the forward model
(sensorkit.synth.gpr.simulate_traces) at the cart position at the trigger's UTC time, computed in batches
ahead of time on a worker thread.

Samples: `stacks` pulses averaged, so the white noise (scene.noise_rms) drops by sqrt(stacks). Quantised to
sample_format (not part of the configure schema: a property of the unit, --sample-format): int16 / int32
counts = round(amplitude * max_count / full_scale), saturated at the format's range (CLIPPED flag); float32
carries the model amplitude unscaled. full_scale defaults to twice the direct air wave
(2 * direct_wave_amplitude / max(offset_m, min_range_m)), so the direct wave peaks below half scale; IDENT
capabilities state it.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from firmware_sims.device import CommandRefused, ProtocolDevice
from firmware_sims.scenario import CartTrack
from sensorkit.drivers.frames import FLAG_CLIPPED
from sensorkit.drivers.messages import GprConfig, GprTrace

#: Largest integer count of each integer sample format.
MAX_COUNT = {"int16": (1 << 15) - 1, "int32": (1 << 31) - 1}
GPR_SAMPLE_FORMATS = ("int16", "int32", "float32")
STREAM = 1

#: trace_source(antenna_xy_m (n, 2), n_samples, dt_s, stacks, seed) -> (n, n_samples) float amplitudes.
TraceSource = Callable[[np.ndarray, int, float, int, object], np.ndarray]


def default_gpr_scene():
    """The default buried scene: eps_r 6 soil, a 0.8 m lane along x from 0 to 10 m, four objects.

    A plastic anti-personnel mine (disc) at x 2 m, a metal ball at 4 m, a metal pipe across the lane at 6 m and
    a stone at 8 m; 1 GHz antenna, 0.1 m offset, 5 cm above the ground; a little white noise.
    """
    from sensorkit.synth import Antenna, GprScene, Scatterer, Soil

    return GprScene(
        soil=Soil(eps_r=6.0, conductivity_s_per_m=0.005),
        scatterers=[
            Scatterer(2.0, 0.10, 0.10, kind="disc", radius_m=0.04, eps_r=3.0, name="plastic mine"),
            Scatterer(4.0, -0.15, 0.25, kind="sphere", radius_m=0.05, eps_r="metal", name="metal ball"),
            Scatterer(6.0, 0.0, 0.40, kind="cylinder", radius_m=0.025, length_m=0.5, azimuth_rad=math.pi / 2,
                      eps_r="metal", name="pipe"),
            Scatterer(8.0, 0.20, 0.30, kind="point", eps_r=9.0, name="stone"),
        ],
        antenna=Antenna(centre_frequency_hz=1.0e9, offset_m=0.1, height_m=0.05),
        noise_rms=0.002, time_zero_s=3e-9)


def default_full_scale(scene) -> float:
    """Twice the direct-wave amplitude of the scene (1.0 when the scene has no direct wave)."""
    if not scene.direct_wave:
        return 1.0
    return 2.0 * scene.direct_wave_amplitude / max(scene.antenna.offset_m, scene.min_range_m)


class SceneTraceSource:
    """The forward model of a GprScene as a TraceSource: white noise scaled by 1 / sqrt(stacks)."""

    def __init__(self, scene):
        scene.validate()
        self.scene = scene

    def __call__(self, xy_m: np.ndarray, n_samples: int, dt_s: float, stacks: int, seed) -> np.ndarray:
        from sensorkit.synth import simulate_traces

        scene = self.scene
        if stacks > 1 and scene.noise_rms > 0:
            scene = dataclasses.replace(scene, noise_rms=scene.noise_rms / math.sqrt(stacks))
        return simulate_traces(scene, xy_m, n_samples, dt_s, seed=seed)


def quantise(traces: np.ndarray, sample_format: str, full_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(samples in sample_format, clipped per trace (n,) bool) of amplitudes (n, n_samples)."""
    if sample_format == "float32":
        return np.asarray(traces, dtype=np.float32), np.zeros(len(traces), dtype=bool)
    top = MAX_COUNT[sample_format]
    counts = np.rint(np.asarray(traces, dtype=np.float64) * (top / full_scale))
    clipped = (np.abs(counts) > top).any(axis=1)
    np.clip(counts, -top - 1, top, out=counts)
    return counts.astype(np.int16 if sample_format == "int16" else np.int32), clipped


@dataclass(frozen=True)
class Trigger:
    """One trace's trigger: index since start, true and device time (ns), cart position and encoder count."""

    trace_index: int
    true_ns: int
    device_ns: int
    x_m: float
    ticks: int


class _TraceEngine:
    """Worker thread computing traces for batches of triggers: jobs in, {(run, trace_index): (samples, clip)}."""

    def __init__(self, name: str):
        self.jobs: queue.Queue = queue.Queue()
        self.results: dict = {}
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-traces", daemon=True)
        self._stop = False
        self.current_run = 0  # results of other runs are discarded

    def start(self, warm_up: Callable[[], None] | None) -> None:
        self._warm_up = warm_up
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        self.jobs.put(None)
        self._thread.join(timeout=30.0)

    def submit(self, job) -> None:
        self.jobs.put(job)

    def _run(self) -> None:
        if self._warm_up is not None:
            try:
                self._warm_up()
            finally:
                self.ready.set()
        else:
            self.ready.set()
        while True:
            job = self.jobs.get()
            if job is None or self._stop:
                return
            run, triggers, compute = job
            try:
                samples, clipped = compute(triggers)
                out = {(run, t.trace_index): (samples[i], clipped[i]) for i, t in enumerate(triggers)}
            except Exception as exc:  # noqa: BLE001 - reported to the device loop, which sends a LOG error
                out = {(run, t.trace_index): exc for t in triggers}
            with self.cond:
                if run == self.current_run:
                    self.results.update(out)
                self.cond.notify_all()

    def take(self, run: int, trace_index: int, timeout_s: float = 0.0):
        """The result of one trace, or None when not computed within timeout_s."""
        key = (run, trace_index)
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while key not in self.results:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.results.pop(key)

    def forget(self, run: int) -> None:
        with self.cond:
            for key in [k for k in self.results if k[0] == run]:
                del self.results[key]


class GprUnitSim(ProtocolDevice):
    """The GPR unit. scene: a sensorkit.synth GprScene (default_gpr_scene()), or trace_source: any TraceSource.

    track: the cart's CartTrack (default: leaves the origin when the simulator is made); lane_y_m: antenna y.
    channel_y_m: an antenna array: the y of each channel's antenna (default: one channel at lane_y_m). Channel c
    streams on stream 1 + c; at each trigger every channel sends one GPR_TRACE (same trace_index, ticks, time).
    Other keyword arguments: SimDevice / ProtocolDevice (link, fast, faults, log_path, drift_ppm, seed, ...).
    """

    name = "gpr"
    model = "SK-GPR-SIM"
    firmware = "1.0.0"

    DEFAULT_CONFIG = {"n_samples": 512, "time_window_ns": 40.0, "trigger": "time", "trace_rate_hz": 25.0,
                      "ticks_per_m": 1000.0, "stacks": 1}

    def __init__(self, *, scene=None, trace_source: TraceSource | None = None, track: CartTrack | None = None,
                 lane_y_m: float = 0.0, sample_format: str = "int16", full_scale: float | None = None,
                 wheel_ticks_per_m: float = 1000.0, max_n_samples: int = 4096, max_trace_rate_hz: float = 2000.0,
                 batch_traces: int = 16, warm_up: bool = True, channel_y_m=None, **kwargs):
        super().__init__(**kwargs)
        if sample_format not in GPR_SAMPLE_FORMATS:
            raise ValueError(f"sample_format: expected one of {GPR_SAMPLE_FORMATS}, found {sample_format!r}")
        if not (isinstance(wheel_ticks_per_m, (int, float)) and wheel_ticks_per_m > 0):
            raise ValueError(f"wheel_ticks_per_m: expected a number > 0, found {wheel_ticks_per_m!r}")
        if scene is None and trace_source is None:
            scene = default_gpr_scene()
        self.scene = scene
        self.trace_source = trace_source if trace_source is not None else SceneTraceSource(scene)
        if full_scale is None:
            full_scale = default_full_scale(scene) if scene is not None else 1.0
        if not (isinstance(full_scale, (int, float)) and math.isfinite(full_scale) and full_scale > 0):
            raise ValueError(f"full_scale: expected a positive amplitude, found {full_scale!r}")
        self.full_scale = float(full_scale)
        self.track = track if track is not None else CartTrack.starting_now()
        self.lane_y_m = float(lane_y_m)
        ys = [self.lane_y_m] if channel_y_m is None else [float(y) for y in channel_y_m]
        if not 1 <= len(ys) <= 255 or not all(math.isfinite(y) for y in ys):
            raise ValueError(f"channel_y_m: expected 1 to 255 finite antenna positions (m), found {channel_y_m!r}")
        self.channel_y_m = ys
        self.sample_format = sample_format
        self.wheel_ticks_per_m = float(wheel_ticks_per_m)
        self.max_n_samples = int(max_n_samples)
        self.max_trace_rate_hz = float(max_trace_rate_hz)
        self.batch_traces = int(batch_traces)
        self._engine = _TraceEngine(self.name)
        self._warm_up = warm_up
        self._run_id = 0
        self._planned: collections.deque[Trigger] = collections.deque()  # submitted, not yet sent
        self._plan: Iterator[Trigger] | None = None
        self._next_plan: Trigger | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self):
        warm = (lambda: self.trace_source(np.array([[0.0, self.lane_y_m]]), 64, 1e-10, 1, 0)) \
            if self._warm_up else None
        self._engine.start(warm)
        return super().start()

    def stop(self) -> None:
        super().stop()
        self._engine.stop()

    def wait_ready(self, timeout_s: float = 120.0) -> bool:
        """Wait until the forward model has run once (Numba compiles on first use)."""
        return self._engine.ready.wait(timeout_s)

    # ------------------------------------------------------------------ protocol hooks
    def capabilities(self) -> dict:
        caps = {"kind": "gpr", "channels": len(self.channel_y_m), "channel_y_m": list(self.channel_y_m),
                "streams": [{"stream": STREAM + c, "type": "GPR_TRACE", "channel": c}
                            for c in range(len(self.channel_y_m))],
                "sample_formats": [self.sample_format], "max_n_samples": self.max_n_samples,
                "max_trace_rate_hz": self.max_trace_rate_hz, "triggers": ["time", "wheel"],
                "full_scale": self.full_scale,
                "amplitude": (f"counts: +-{MAX_COUNT[self.sample_format]} = +-full_scale model amplitude"
                              if self.sample_format in MAX_COUNT else "float32 model amplitude")}
        if self.scene is not None:
            a = self.scene.antenna
            caps.update(centre_frequency_hz=float(a.centre_frequency_hz), antenna_offset_m=float(a.offset_m),
                        antenna_height_m=float(a.height_m))
        return caps

    def default_config(self) -> dict:
        return dict(self.DEFAULT_CONFIG)

    def apply_config(self, args: dict) -> dict:
        cfg = GprConfig.from_args(args)
        if cfg.n_samples > self.max_n_samples:
            raise CommandRefused(f"n_samples: {cfg.n_samples} is more than this unit's {self.max_n_samples}")
        if cfg.trace_rate_hz is not None and cfg.trace_rate_hz > self.max_trace_rate_hz:
            raise CommandRefused(f"trace_rate_hz: {cfg.trace_rate_hz} is more than this unit's "
                                 f"{self.max_trace_rate_hz} Hz")
        applied = cfg.to_args()
        if cfg.trigger == "wheel" and cfg.trace_spacing_m is not None:
            ticks = round(cfg.trace_spacing_m * cfg.ticks_per_m)
            if ticks < 1:
                raise CommandRefused(f"trace_spacing_m: {cfg.trace_spacing_m} m is less than one encoder tick "
                                     f"(1 / ticks_per_m = {1 / cfg.ticks_per_m} m)")
            applied["trace_spacing_m"] = ticks / cfg.ticks_per_m
        return applied

    def _spacing_ticks(self) -> int:
        cfg = self.config
        if cfg.get("trace_spacing_m") is None:
            return 1
        return max(1, round(cfg["trace_spacing_m"] * cfg["ticks_per_m"]))

    def _ticks_at(self, x_m: float) -> int:
        return math.floor(x_m * self.wheel_ticks_per_m + 1e-9)

    def _triggers(self, start_true_ns: int) -> Iterator[Trigger]:
        cfg = self.config
        clock = self.clock
        if cfg["trigger"] == "time":
            start_dev = clock.device_ns(start_true_ns)
            period_ns = 1e9 / cfg["trace_rate_hz"]
            k = 0
            while True:
                dev = start_dev + round(k * period_ns)
                true = clock.true_of_device(dev)
                x = self.track.distance_m(clock.utc_ns(true))
                yield Trigger(k, true, dev, x, self._ticks_at(x))
                k += 1
        else:
            spacing = self._spacing_ticks()
            step_m = spacing / self.wheel_ticks_per_m
            for k, crossing in enumerate(self.track.crossings(clock.utc_ns(start_true_ns), step_m)):
                true = clock.true_of_utc(crossing.utc_ns)
                yield Trigger(k, true, clock.device_ns(true), crossing.distance_m, crossing.index * spacing)

    def _compute(self, triggers: list[Trigger], seed, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
        n_samples = cfg["n_samples"]
        dt_s = cfg["time_window_ns"] * 1e-9 / n_samples
        xy = np.array([[t.x_m, y] for t in triggers for y in self.channel_y_m], dtype=np.float64)
        traces = self.trace_source(xy, n_samples, dt_s, cfg.get("stacks", 1), seed)
        samples, clipped = quantise(traces, self.sample_format, self.full_scale)
        n_channels = len(self.channel_y_m)  # (n * channels, ...) -> (n, channels, ...)
        return samples.reshape(len(triggers), n_channels, n_samples), clipped.reshape(len(triggers), n_channels)

    def begin_run(self) -> None:
        self._run_id += 1
        self._engine.current_run = self._run_id
        self._planned.clear()
        self._plan = self._triggers(self.clock.true_ns())
        self._next_plan = next(self._plan, None)

    def _top_up(self) -> None:
        """Keep two batches of triggers submitted to the engine ahead of their time (the cart's positions at
        future triggers are known: the track is a function of time)."""
        while self._next_plan is not None and len(self._planned) < 2 * self.batch_traces:
            batch = []
            while self._next_plan is not None and len(batch) < self.batch_traces:
                batch.append(self._next_plan)
                self._next_plan = next(self._plan, None)
            self._planned.extend(batch)
            seed = np.random.default_rng([self.seed, self.boot_count, self._run_id, batch[0].trace_index])
            cfg = dict(self.config)
            self._engine.submit((self._run_id, batch, lambda trig, s=seed, c=cfg: self._compute(trig, s, c)))

    def next_data_due_ns(self) -> int | None:
        self._top_up()
        if self._planned:
            return self._planned[0].true_ns
        return None if self._next_plan is None else self._next_plan.true_ns

    def produce_data(self) -> bool:
        if not self._planned:
            return True
        return self._emit(self._planned[0], 0.0)

    def _emit(self, trig: Trigger, timeout_s: float) -> bool:
        result = self._engine.take(self._run_id, trig.trace_index, timeout_s)
        if result is None:
            return False
        self._planned.popleft()
        if isinstance(result, Exception):
            self.send_log(f"trace {trig.trace_index}: forward model failed: {result}", "error")
            return True
        samples, clipped = result
        stacks = self.config.get("stacks", 1)
        for c in range(len(self.channel_y_m)):
            msg = GprTrace(trig.trace_index, trig.ticks, c, stacks, samples[c], self.sample_format)
            self.send_data(STREAM + c, msg, trig.device_ns, FLAG_CLIPPED if clipped[c] else 0)
        return True

    def end_run(self) -> None:
        now = self.clock.true_ns()
        while self._planned and self._planned[0].true_ns <= now:
            if not self._emit(self._planned[0], 5.0):
                break
        self._drop_run()

    def abort_run(self) -> None:
        self._drop_run()

    def _drop_run(self) -> None:
        self._planned.clear()
        self._plan = None
        self._next_plan = None
        self._run_id += 1
        self._engine.current_run = self._run_id
        self._engine.forget(self._run_id - 1)
