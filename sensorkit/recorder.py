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
    GNSS_FIX_DTYPE,
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
    missing: int = 0  # records lost (from gap events)
    reconnects: int = 0
    resets: int = 0
    errors: int = 0
    first_s: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        return self.records / max(1e-9, time.monotonic() - self.first_s)


class _GprSink:
    def __init__(self, writer: RecordingWriter, name: str, applied: dict):
        self.writer = writer
        self.name = name
        self.ticks_per_m = applied.get("ticks_per_m")
        self.pending: list[tuple[int, np.ndarray, np.ndarray]] = []  # (utc_ns, samples, meta)
        self.gap_before = False

    def add(self, received: Received, trigger_utc_ns: int) -> None:
        trace: GprTrace = received.message
        meta = empty_records(TRACE_META_DTYPE, 1)
        meta["seq"] = received.index
        meta["device_time_ns"] = received.frame.device_time_ns
        meta["host_time_ns"] = received.host_time_ns
        meta["encoder_ticks"] = trace.encoder_ticks
        flags = FLAG_GAP_BEFORE if self.gap_before else 0
        if self.ticks_per_m:
            meta["x_m"] = trace.encoder_ticks / self.ticks_per_m
            meta["y_m"] = 0.0
            flags |= FLAG_POSITION_FROM_WHEEL
        meta["flags"] = flags
        self.gap_before = False
        self.pending.append((trigger_utc_ns, np.asarray(trace.samples), meta))

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
                 position_wait_s: float = 0.5, progress=None):
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
        self.progress = progress
        self.stats = {s.name: StreamStats() for s in specs}
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
            def declare(writer):
                writer.add_device(spec.name, info)
                writer.add_gpr_stream(
                    spec.name, n_samples=int(applied["n_samples"]),
                    dt_s=float(applied["time_window_ns"]) * 1e-9 / int(applied["n_samples"]),
                    dtype=SAMPLE_DTYPES[ident.capabilities.get("sample_format", "int16")],
                    centre_frequency_hz=float(ident.capabilities.get("centre_frequency_hz", math.nan)),
                    antenna_offset_m=float(ident.capabilities.get("antenna_offset_m", math.nan)),
                    attrs={"trigger": applied.get("trigger", ""), "stacks": int(applied.get("stacks", 1)),
                           "ticks_per_m": applied.get("ticks_per_m")})
                self._gpr[spec.name] = _GprSink(writer, spec.name, applied)
            return declare

        positions = ident.capabilities.get("mic_positions_m")
        n_channels = int(applied["channels"])

        def declare(writer):
            writer.add_device(spec.name, info)
            writer.add_audio_stream(
                spec.name, n_channels=n_channels, fs_hz=float(applied["fs_hz"]),
                dtype=SAMPLE_DTYPES[applied.get("sample_format", "int24")],
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
        return {name: vars(s) for name, s in self.stats.items()}

    def _pump_all(self, timeout_s: float) -> None:
        writer = self._writer
        for name, device in self.devices.items():
            for item in device.pump(timeout_s=timeout_s / max(1, len(self.devices))):
                self._handle(name, device, item)
        now_ns = time.time_ns()
        for name, sink in self._gpr.items():
            self.stats[name].records += sink.write_ready(self._fixes, now_ns, self.position_wait_ns)
        writer.flush_if_due()

    def _handle(self, name: str, device, item) -> None:
        spec_kind = next(s.kind for s in self.specs if s.name == name)
        stream = f"{spec_kind}/{name}"
        stats = self.stats[name]
        if isinstance(item, Note):
            self._writer.append_event(item.kind, stream, item.detail, host_time_ns=item.host_time_ns)
            if item.kind == "gap":
                stats.missing += int(item.detail.get("n_missing", 0))
                if name in self._gpr:
                    self._gpr[name].gap_before = True
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
            utc = int(device.clock.to_host_ns(item.frame.device_time_ns)) if device.clock.ready else item.host_time_ns
            self._gpr[name].add(item, utc)
        elif isinstance(message, AudioBlock):
            block = empty_records(BLOCK_META_DTYPE, 1)
            block["seq"] = item.index
            block["first_frame"] = self._writer.frames_written(name)
            block["device_time_ns"] = item.frame.device_time_ns
            block["host_time_ns"] = item.host_time_ns
            block["flags"] = 0
            self._writer.append_audio(name, message.samples, block)
            stats.records += 1

    def _finish(self) -> None:
        """Stop the devices, write what they still send and every held trace, and close the file."""
        for name, device in self.devices.items():
            if isinstance(device, ProtocolDevice) and device.running:
                try:
                    device.stop()
                except DeviceError as error:
                    if self._writer is not None:
                        self._writer.append_event("error", f"{self._kind(name)}/{name}", {"what": "stop failed",
                                                                                         "error": str(error)})
        if self._writer is not None:
            self._pump_all(timeout_s=0.05)
            for name, sink in self._gpr.items():
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
        return next(s.kind for s in self.specs if s.name == name)

    def progress_lines(self) -> list[str]:
        lines = []
        for spec in self.specs:
            s = self.stats[spec.name]
            unit = {"gpr": "traces", "acoustic": "blocks", "gnss": "fixes"}[spec.kind]
            lines.append(f"{spec.kind}/{spec.name}: {s.records} {unit} ({s.rate():.1f}/s), missing {s.missing}, "
                         f"reconnects {s.reconnects}, resets {s.resets}, errors {s.errors}")
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
