"""The live recorder: several devices at once into one crash-safe HDF5 recording.

Each device's port is read on its own thread (the transport); one recorder thread pumps every device,
turns messages into rows, and owns the writer, which flushes at least every ``flush_interval_s``.
Losses are data: every gap, reset, reconnect, overrun and damaged frame becomes an event. GPR traces
get GNSS positions by time: the trace's trigger time (device clock mapped to UTC by the clock
estimate) is interpolated between the GNSS fixes around it, so a trace waits for the next fix at most
``position_wait_s`` before it is written without one. Wheel ticks become along-track distance.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensorkit.drivers.device import Note, ProtocolDevice, Received
from sensorkit.drivers.gnss import NmeaGnss
from sensorkit.drivers.messages import AudioBlock, GprTrace
from sensorkit.errors import DeviceError
from sensorkit.formats.base import DeviceInfo
from sensorkit.store import RecordingWriter
from sensorkit.store.schema import (
    BLOCK_META_DTYPE,
    FLAG_GAP_BEFORE,
    FLAG_POSITION_FROM_WHEEL,
    FLAG_POSITION_INTERPOLATED,
    TRACE_META_DTYPE,
    empty_records,
)

SAMPLE_DTYPES = {"int16": "int16", "int24": "int32", "int32": "int32", "float32": "float32"}

#: What the recorder asks for when the user gives no configuration (docs/protocol.md, section 6).
DEFAULT_GPR_CONFIG = {"n_samples": 512, "time_window_ns": 50.0, "trigger": "time", "trace_rate_hz": 50.0}
DEFAULT_MIC_CONFIG = {"fs_hz": 48000.0, "block_frames": 1024, "sample_format": "int24"}


def default_config(kind: str, capabilities: dict) -> dict:
    """The configuration used when none is given: the table above, all the microphones the device has."""
    if kind == "gpr":
        return dict(DEFAULT_GPR_CONFIG)
    channels = len(capabilities.get("mic_positions_m") or []) or int(capabilities.get("channels", 1))
    return {"channels": channels, **DEFAULT_MIC_CONFIG}


@dataclass
class DeviceSpec:
    """One device to record: kind gpr|acoustic|gnss, its port, the stream name and its configuration."""

    kind: str
    url: str
    name: str = ""
    config: dict | None = None  # `configure` args (docs/protocol.md); None: the device's own defaults

    def __post_init__(self):
        if self.kind not in ("gpr", "acoustic", "gnss"):
            raise ValueError(f"device kind must be gpr, acoustic or gnss, got {self.kind!r}")
        self.name = self.name or self.kind


@dataclass
class StreamStats:
    records: int = 0  # traces, blocks or fixes written
    gaps: int = 0  # gap events
    missing: int = 0  # records lost (from gap events)
    reconnects: int = 0
    resets: int = 0
    errors: int = 0
    first_s: float = field(default_factory=time.monotonic)
    _recent: deque = field(default_factory=lambda: deque(maxlen=64), repr=False)  # (monotonic s, records)

    def rate(self, window_s: float | None = None) -> float:
        """Records per second: over the last window_s seconds (between calls), or since the start (None)."""
        now = time.monotonic()
        if window_s is None:
            return self.records / max(1e-9, now - self.first_s)
        self._recent.append((now, self.records))
        while len(self._recent) > 2 and now - self._recent[1][0] >= window_s:
            self._recent.popleft()
        t0, n0 = self._recent[0] if len(self._recent) > 1 else (self.first_s, 0)
        return (self.records - n0) / max(1e-9, now - t0)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def _mismatch(samples: np.ndarray, shape: tuple, dtype: np.dtype) -> str | None:
    """Why samples cannot go into a dataset of rows shaped `shape` and of `dtype` (None when they can)."""
    if samples.shape != shape:
        return f"samples shaped {samples.shape}, the stream holds {shape}"
    if not np.can_cast(samples.dtype, dtype, casting="safe"):
        return f"{samples.dtype} samples, the stream holds {dtype}"
    return None


class _GprSink:
    """Turns GPR_TRACE frames into rows of /gpr/<name>: one frame per trace, or, for a unit with n_channels > 1,
    the frames of every channel with the same trace_index gathered into one (n_channels, n_samples) trace.

    A multi-channel trace that lost a channel's frame (a gap on that channel's stream) is not stored: an `error`
    event names its trace_index and the missing channels (nothing is filled in).
    """

    MAX_ASSEMBLING = 256  # traces waiting for their other channels

    def __init__(self, writer: RecordingWriter, name: str, applied: dict, n_samples: int, dtype,
                 n_channels: int = 1, event=None):
        self.writer = writer
        self.name = name
        self.ticks_per_m = applied.get("ticks_per_m")
        self.shape = (int(n_samples),)
        self.dtype = np.dtype(dtype)
        self.n_channels = int(n_channels)
        self.event = event or (lambda kind, detail: None)
        self.pending: list[tuple[int, np.ndarray, np.ndarray]] = []  # (utc_ns, samples, meta)
        self.gap_before = False
        self.incomplete = 0  # multi-channel traces not stored
        self._parts: dict[int, dict[int, tuple[Received, int]]] = {}  # trace_index -> channel -> (frame, utc_ns)
        self._last_index: dict[int, int] = {}  # channel -> latest trace_index received

    def check(self, trace: GprTrace) -> str | None:
        """Why this trace does not fit the stream (None when it does)."""
        if trace.channel >= self.n_channels:
            return f"channel {trace.channel}, the unit has {self.n_channels} channel(s)"
        return _mismatch(np.asarray(trace.samples), self.shape, self.dtype)

    def add(self, received: Received, trigger_utc_ns: int) -> None:
        if self.n_channels == 1:
            self._push([(received, trigger_utc_ns)])
            return
        trace: GprTrace = received.message
        index, channel = int(trace.trace_index), int(trace.channel)
        last = self._last_index.get(channel)
        if last is not None and index <= last:  # trace_index restarted: a new run (start, reset)
            self.drop_incomplete("a new run started")
            self._last_index.clear()
        self._last_index[channel] = index
        self._parts.setdefault(index, {})[channel] = (received, trigger_utc_ns)
        for i in sorted(self._parts):  # traces that can no longer complete: each missing channel has gone past
            missing = set(range(self.n_channels)) - set(self._parts[i])
            if missing and all(self._last_index.get(c, -1) > i for c in missing):
                self._drop(i, "frames lost")
        if len(self._parts.get(index, ())) == self.n_channels:
            parts = self._parts.pop(index)
            self._push([parts[c] for c in range(self.n_channels)])
        while len(self._parts) > self.MAX_ASSEMBLING:
            self._drop(min(self._parts), "waited too long for its other channels")

    def drop_incomplete(self, why: str) -> None:
        """Give up on every trace still waiting for channels."""
        for i in sorted(self._parts):
            self._drop(i, why)

    def _drop(self, index: int, why: str) -> None:
        parts = self._parts.pop(index)
        self.incomplete += 1
        self.gap_before = True
        self.event("error", {"what": "incomplete trace not stored", "trace_index": index, "why": why,
                             "channels_missing": sorted(set(range(self.n_channels)) - set(parts)),
                             "seq_of_received": {str(c): r.index for c, (r, _) in sorted(parts.items())}})

    def _push(self, parts: list[tuple[Received, int]]) -> None:
        """Queue one trace made of the frames of its channels (in channel order)."""
        received, trigger_utc_ns = parts[0]
        trace: GprTrace = received.message
        meta = empty_records(TRACE_META_DTYPE, 1)
        meta["seq"] = received.index
        meta["device_time_ns"] = received.frame.device_time_ns
        meta["host_time_ns"] = max(r.host_time_ns for r, _ in parts)
        meta["encoder_ticks"] = trace.encoder_ticks
        flags = FLAG_GAP_BEFORE if self.gap_before else 0
        if self.ticks_per_m:
            meta["x_m"] = trace.encoder_ticks / self.ticks_per_m
            meta["y_m"] = 0.0
            flags |= FLAG_POSITION_FROM_WHEEL
        meta["flags"] = flags
        self.gap_before = False
        if self.n_channels == 1:
            samples = np.asarray(trace.samples)
        else:
            samples = np.stack([np.asarray(r.message.samples) for r, _ in parts])
        self.pending.append((trigger_utc_ns, samples, meta))

    def write_ready(self, fixes: "_FixTrack | None", now_ns: int, wait_ns: int, everything: bool = False) -> int:
        """Write the traces whose position is known (or waited for long enough); returns how many."""
        ready = 0
        for utc_ns, _, meta in self.pending:
            if fixes is not None and not everything and fixes.latest_ns < utc_ns and now_ns - utc_ns < wait_ns:
                break
            if fixes is not None:
                fixes.position(utc_ns, meta)
            ready += 1
        if ready:
            batch, self.pending = self.pending[:ready], self.pending[ready:]
            self.writer.append_gpr(self.name, np.stack([b[1] for b in batch]), np.concatenate([b[2] for b in batch]))
        return ready


class _FixTrack:
    """GNSS fixes by UTC time, for positioning traces."""

    def __init__(self):
        self.times: list[int] = []
        self.lla: list[tuple[float, float, float]] = []

    @property
    def latest_ns(self) -> int:
        return self.times[-1] if self.times else -1

    def add(self, fix: np.ndarray) -> None:
        utc = int(fix["device_time_ns"][0])
        if utc < 0:
            utc = int(fix["host_time_ns"][0])
        if self.times and utc <= self.times[-1]:
            return
        self.times.append(utc)
        self.lla.append((float(fix["lat"][0]), float(fix["lon"][0]), float(fix["alt_m"][0])))

    def position(self, utc_ns: int, meta: np.ndarray) -> None:
        if len(self.times) < 2 or not self.times[0] <= utc_ns <= self.times[-1]:
            return  # never extrapolated
        k = int(np.searchsorted(self.times, utc_ns))
        k = min(max(k, 1), len(self.times) - 1)
        t0, t1 = self.times[k - 1], self.times[k]
        w = (utc_ns - t0) / (t1 - t0)
        (lat0, lon0, alt0), (lat1, lon1, alt1) = self.lla[k - 1], self.lla[k]
        meta["lat"] = lat0 + w * (lat1 - lat0)
        meta["lon"] = lon0 + w * (lon1 - lon0)
        meta["alt_m"] = alt0 + w * (alt1 - alt0)
        meta["flags"] |= FLAG_POSITION_INTERPOLATED


class Recorder:
    """Records devices into one file. Use :meth:`run`; a stop event (or Ctrl-C/SIGTERM in the CLI) ends it."""

    def __init__(self, out: Path, specs: list[DeviceSpec], *, overwrite: bool = False, flush_interval_s: float = 0.25,
                 position_wait_s: float = 0.5, silence_s: float = 3.0, stop_timeout_s: float = 5.0, progress=None):
        names = [s.name for s in specs]
        if not specs:
            raise ValueError("nothing to record: give at least one device")
        if len(set(names)) != len(names):
            raise ValueError(f"device names must differ, got {names}")
        self.out = Path(out)
        self.specs = specs
        self.overwrite = overwrite
        self.flush_interval_s = flush_interval_s
        self.position_wait_ns = int(position_wait_s * 1e9)
        self.silence_s = silence_s
        self.stop_timeout_s = stop_timeout_s
        self.progress = progress
        self.stats = {s.name: StreamStats() for s in specs}
        self._kinds = {s.name: s.kind for s in specs}
        self._silent: dict[str, bool] = {}
        self._audio_shape: dict[str, tuple[tuple, np.dtype]] = {}
        self._audio_gap_before: dict[str, bool] = {}
        self.devices: dict[str, ProtocolDevice | NmeaGnss] = {}
        self._gpr: dict[str, _GprSink] = {}
        self._fixes: _FixTrack | None = None
        self._writer: RecordingWriter | None = None

    # ----------------------------------------------------------------- set-up
    def _open(self) -> None:
        if self.out.exists() and not self.overwrite:
            raise FileExistsError(f"{self.out}: exists; use --force to overwrite it")
        declared = []
        try:
            for spec in self.specs:
                declared.append(self._open_device(spec))
        except BaseException:
            for device in self.devices.values():
                device.close()
            raise
        self._writer = RecordingWriter(self.out, overwrite=self.overwrite, live=True,
                                       flush_interval_s=self.flush_interval_s)
        for declare in declared:
            declare(self._writer)

    def _open_device(self, spec: DeviceSpec):
        if spec.kind == "gnss":
            device = NmeaGnss(spec.url)
            self.devices[spec.name] = device
            self._fixes = _FixTrack()
            info = DeviceInfo("gnss", model="NMEA 0183 receiver", port=spec.url)

            def declare(writer):
                writer.add_device(spec.name, info)
                writer.add_gnss_stream(spec.name)
            return declare
        device = ProtocolDevice(spec.url)
        self.devices[spec.name] = device
        ident = device.identify()
        kind = ident.capabilities.get("kind", spec.kind)
        if kind != spec.kind:
            raise DeviceError(f"{spec.url}: is a {kind} device ({ident.model}), not a {spec.kind} device")
        applied = device.configure(spec.config if spec.config is not None
                                   else default_config(spec.kind, ident.capabilities))
        info = DeviceInfo(spec.kind, model=ident.model, serial=ident.serial, firmware=ident.firmware, port=spec.url,
                          config={"applied": applied, "capabilities": ident.capabilities})
        if spec.kind == "gpr":
            formats = ident.capabilities.get("sample_formats") or [ident.capabilities.get("sample_format", "int16")]
            dtype = SAMPLE_DTYPES[formats[0]]
            n_channels = int(ident.capabilities.get("channels", 1) or 1)

            def declare(writer):
                writer.add_device(spec.name, info)
                writer.add_gpr_stream(
                    spec.name, n_samples=int(applied["n_samples"]),
                    dt_s=float(applied["time_window_ns"]) * 1e-9 / int(applied["n_samples"]),
                    dtype=dtype, n_channels=n_channels if n_channels > 1 else None,
                    centre_frequency_hz=float(ident.capabilities.get("centre_frequency_hz", math.nan)),
                    antenna_offset_m=float(ident.capabilities.get("antenna_offset_m", math.nan)),
                    antenna_height_m=float(ident.capabilities.get("antenna_height_m", 0.0)),
                    attrs={"trigger": applied.get("trigger", ""), "stacks": int(applied.get("stacks", 1)),
                           "ticks_per_m": applied.get("ticks_per_m"),
                           "channel_y_m": ident.capabilities.get("channel_y_m") if n_channels > 1 else None})
                self._gpr[spec.name] = _GprSink(writer, spec.name, applied, int(applied["n_samples"]), dtype,
                                                n_channels, event=lambda kind, detail: self._sink_event(spec.name,
                                                                                                        kind, detail))
            return declare

        positions = ident.capabilities.get("mic_positions_m")
        n_channels = int(applied["channels"])

        audio_dtype = np.dtype(SAMPLE_DTYPES[applied.get("sample_format", "int24")])
        self._audio_shape[spec.name] = ((int(applied.get("block_frames", 0)) or None, n_channels), audio_dtype)

        def declare(writer):
            writer.add_device(spec.name, info)
            writer.add_audio_stream(
                spec.name, n_channels=n_channels, fs_hz=float(applied["fs_hz"]),
                dtype=audio_dtype,
                mic_positions_m=None if positions is None else np.asarray(positions)[:n_channels],
                attrs={"sample_format": applied.get("sample_format", "int24"),
                       "full_scale": ident.capabilities.get("full_scale_pa")})
        return declare

    # ----------------------------------------------------------------- running
    def run(self, duration_s: float | None = None, n_traces: int | None = None,
            stop: threading.Event | None = None) -> dict:
        """Record until duration_s, n_traces (over all GPR streams) or the stop event; returns the stats."""
        stop = stop or threading.Event()
        self._open()
        try:
            for name, device in self.devices.items():
                if isinstance(device, ProtocolDevice):
                    device.start()
            started = time.monotonic()
            last_progress = 0.0
            while not stop.is_set():
                self._pump_all(timeout_s=0.02)
                now = time.monotonic()
                if duration_s is not None and now - started >= duration_s:
                    break
                if n_traces is not None and sum(self.stats[n].records for n in self._gpr) >= n_traces:
                    break
                if self.progress and now - last_progress >= 0.5:
                    self.progress(self.progress_lines())
                    last_progress = now
        finally:
            self._finish()
        return {name: s.as_dict() for name, s in self.stats.items()}

    def _pump_all(self, timeout_s: float) -> None:
        writer = self._writer
        for name, device in self.devices.items():
            self._pump_device(name, device, timeout_s / max(1, len(self.devices)))
        now_ns = time.time_ns()
        for name, sink in self._gpr.items():
            self.stats[name].records += sink.write_ready(self._fixes, now_ns, self.position_wait_ns)
        self._watch_silence()
        writer.flush_if_due()

    def _pump_device(self, name: str, device, timeout_s: float) -> None:
        for item in device.pump(timeout_s=timeout_s):
            try:
                self._handle(name, device, item)
            except (ValueError, TypeError, KeyError) as error:  # a message the recorder cannot store: an event
                self.stats[name].errors += 1
                self._event(name, "error", {"what": "message not stored", "error": str(error)[:300]})

    def _event(self, name: str, kind: str, detail: dict, host_time_ns: int | None = None) -> None:
        self._writer.append_event(kind, f"{self._kinds[name]}/{name}", detail, host_time_ns=host_time_ns)

    def _sink_event(self, name: str, kind: str, detail: dict) -> None:
        if kind == "error":
            self.stats[name].errors += 1
        self._event(name, kind, detail)

    def _watch_silence(self) -> None:
        """An event when a device has sent nothing for silence_s (and another when it is heard again)."""
        now = time.monotonic()
        for name, device in self.devices.items():
            quiet_s = now - device.transport.last_read_s
            silent = quiet_s >= self.silence_s
            if silent and not self._silent.get(name):
                self.stats[name].errors += 1
                self._event(name, "error", {"what": "device silent", "silent_s": round(quiet_s, 2),
                                            "link": "up" if device.transport.connected else "down"})
            elif not silent and self._silent.get(name):
                self._event(name, "note", {"what": "device heard again"})
            self._silent[name] = silent

    def _handle(self, name: str, device, item) -> None:
        stream = f"{self._kinds[name]}/{name}"
        stats = self.stats[name]
        if isinstance(item, Note):
            detail = {**item.detail, "wire_stream": item.stream} if item.kind == "gap" else item.detail
            self._writer.append_event(item.kind, stream, detail, host_time_ns=item.host_time_ns)
            if item.kind == "gap":
                stats.missing += int(item.detail.get("n_missing", 0))
                stats.gaps += 1
                if name in self._gpr:
                    self._gpr[name].gap_before = True
                else:
                    self._audio_gap_before[name] = True
            elif item.kind == "reconnect":
                stats.reconnects += 1
            elif item.kind == "reset":
                stats.resets += 1
            elif item.kind == "error":
                stats.errors += 1
            return
        if isinstance(item, np.ndarray):  # a GNSS fix
            self._writer.append_gnss(name, item)
            self._fixes.add(item)
            stats.records += 1
            return
        message = item.message
        if isinstance(message, GprTrace) and name in self._gpr:
            problem = self._gpr[name].check(message)
            if problem:
                self._refuse(name, item, problem)
                return
            utc = int(device.clock.to_host_ns(item.frame.device_time_ns)) if device.clock.ready else item.host_time_ns
            self._gpr[name].add(item, utc)
        elif isinstance(message, AudioBlock) and name in self._audio_shape:
            (block_frames, n_channels), dtype = self._audio_shape[name]
            samples = np.asarray(message.samples)
            problem = _mismatch(samples, (block_frames or samples.shape[0], n_channels), dtype)
            if problem:
                self._refuse(name, item, problem)
                return
            block = empty_records(BLOCK_META_DTYPE, 1)
            block["seq"] = item.index
            block["first_frame"] = self._writer.frames_written(name)
            block["device_time_ns"] = item.frame.device_time_ns
            block["host_time_ns"] = item.host_time_ns
            block["flags"] = FLAG_GAP_BEFORE if self._audio_gap_before.pop(name, False) else 0
            self._writer.append_audio(name, samples, block)
            stats.records += 1

    def _refuse(self, name: str, item: Received, problem: str) -> None:
        """A well-formed data frame that does not fit the configured stream: counted and logged, not stored."""
        self.stats[name].errors += 1
        self._event(name, "error", {"what": "data frame does not fit the stream", "seq": item.index,
                                    "error": problem}, host_time_ns=item.host_time_ns)

    def _stop_device(self, name: str, device: ProtocolDevice) -> None:
        """Stop acquisition; while the link is down or the device does not answer, keep reading and try again
        until stop_timeout_s (the stop ACK comes after the run's last frame: then everything sent is here)."""
        deadline = time.monotonic() + self.stop_timeout_s
        while True:
            try:
                device.stop()
                return
            except DeviceError as error:
                if time.monotonic() >= deadline or self._writer is None:
                    if self._writer is not None:
                        self.stats[name].errors += 1
                        self._event(name, "error", {"what": "stop failed", "error": str(error)})
                    return
            for _ in range(10):  # 0.2 s of reading (a reconnect and the recovery happen in there)
                self._pump_device(name, device, 0.02)

    def _finish(self) -> None:
        """Stop the devices, write what they still send and every held trace, and close the file."""
        for name, device in self.devices.items():
            if isinstance(device, ProtocolDevice) and device.running:
                self._stop_device(name, device)
        if self._writer is not None:
            self._pump_all(timeout_s=0.05)
            for name, sink in self._gpr.items():
                sink.drop_incomplete("the recording ended")
                self.stats[name].records += sink.write_ready(self._fixes, time.time_ns(), 0, everything=True)
            for name, device in self.devices.items():
                if isinstance(device, ProtocolDevice) and device.clock.ready:
                    self._writer.append_event("note", f"{self._kind(name)}/{name}", {
                        "what": "clock estimate", "drift_ppm": round(device.clock.drift_ppm, 3),
                        "decoder": device.decoder.stats.as_dict()})
            self._writer.close()
        for device in self.devices.values():
            device.close()

    def _kind(self, name: str) -> str:
        return self._kinds[name]

    def progress_lines(self, window_s: float | None = 5.0) -> list[str]:
        """One line per device: records written and their rate (over the last window_s seconds between calls;
        None: since the start), gaps, records missing, reconnects, resets, errors."""
        lines = []
        for spec in self.specs:
            s = self.stats[spec.name]
            unit = {"gpr": "traces", "acoustic": "blocks", "gnss": "fixes"}[spec.kind]
            lines.append(f"{spec.kind}/{spec.name}: {s.records} {unit} ({s.rate(window_s):.1f}/s), gaps {s.gaps} "
                         f"({s.missing} missing), reconnects {s.reconnects}, resets {s.resets}, errors {s.errors}")
        return lines


def print_progress(lines: list[str], stream=sys.stderr, _state={"n": 0}) -> None:  # noqa: B006 - redraw state
    """Redraw one line per device in place on a terminal; elsewhere print them every call."""
    if stream.isatty() and _state["n"]:
        stream.write(f"\x1b[{_state['n']}F")
    for line in lines:
        stream.write(("\x1b[2K" if stream.isatty() else "") + line + "\n")
    stream.flush()
    _state["n"] = len(lines)


def parse_config(text: str | None) -> dict | None:
    """A --gpr-config / --acoustic-config value: JSON text or @FILE."""
    if text is None:
        return None
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"device configuration: expected JSON, got {text[:60]!r} ({error.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"device configuration: expected a JSON object, got {type(value).__name__}")
    return value
