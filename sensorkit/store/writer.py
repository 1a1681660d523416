"""The recording writer: appends GPR traces, audio blocks, GNSS fixes and events to one HDF5 file.

One thread drives a writer (h5py calls do not run in parallel anyway). Appends are buffered in memory
and written at each flush; a flush happens by itself when an append finds the last one older than
``flush_interval_s``, and the owner calls :meth:`RecordingWriter.flush_if_due` from its loop so that a
quiet stream is flushed too. Each flush writes the data, flushes the file, then writes the committed
lengths (``/committed``) and flushes again: a reader, or a file cut at any instant, sees only data that
is completely on disk.

In ``live`` mode the file switches to HDF5 single-writer/multiple-reader (SWMR) mode at the first
flush, so other processes can read it while it grows; every stream must be declared before then.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from sensorkit.formats.base import DeviceInfo
from sensorkit.store.schema import (
    BLOCK_META_DTYPE,
    EVENT_DTYPE,
    EVENT_KINDS,
    FIELD_DOCS,
    FORMAT_NAME,
    FORMAT_VERSION,
    GNSS_FIX_DTYPE,
    TRACE_META_DTYPE,
    empty_records,
)

COMPRESSION = "gzip"
COMPRESSION_LEVEL = 1  # fast enough for a 16-channel 48 kHz array on one core, still ~2x on GPR data
GPR_CHUNK_TRACES = 64
AUDIO_CHUNK_FRAMES = 8192
RECORD_CHUNK_ROWS = 256

_SAMPLE_DTYPES = {np.dtype("int16"), np.dtype("int32"), np.dtype("float32")}


def _software() -> str:
    from sensorkit import __version__

    return f"sensorkit {__version__}"


def _json_text(value) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValueError(f"stream name must be a non-empty string without '/', got {name!r}")
    return name


def _set_attr(obj, key: str, value) -> None:
    """Write an attribute: numeric lists as float64 arrays, other dicts/lists as JSON text, None not at all."""
    if value is None:
        return
    if isinstance(value, (list, tuple)) and _numeric_array(value) is not None:
        obj.attrs[key] = _numeric_array(value)
    elif isinstance(value, (dict, list, tuple)) and not isinstance(value, np.ndarray):
        obj.attrs[key] = _json_text(value)
    elif isinstance(value, (bool, np.bool_)):
        obj.attrs[key] = bool(value)
    elif isinstance(value, (int, np.integer)):
        obj.attrs[key] = int(value)
    elif isinstance(value, (float, np.floating)):
        obj.attrs[key] = float(value)
    else:
        obj.attrs[key] = value


def _numeric_array(value) -> np.ndarray | None:
    """A non-empty, rectangular list of numbers (not booleans) as float64, else None."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged
        return None
    if array.size == 0 or array.dtype.kind not in "iuf":
        return None
    return array.astype(np.float64)


def writing_marker(path) -> Path:
    """The file beside a recording that says which process writes it (removed when the writer closes)."""
    path = Path(path)
    return path.with_name(path.name + ".writing")


def writer_alive(path) -> int | None:
    """The pid of a live process on this host still writing ``path``, or None."""
    marker = writing_marker(path)
    try:
        owner = json.loads(marker.read_text())
        pid = int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if owner.get("host") != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


class _Appendable:
    """One resizable dataset plus the rows appended to it but not yet written."""

    def __init__(self, dataset: h5py.Dataset):
        self.dataset = dataset
        self.pending: list[np.ndarray] = []
        self.length = int(dataset.shape[0])

    def append(self, rows: np.ndarray) -> None:
        if len(rows):
            self.pending.append(rows)

    def write_pending(self) -> None:
        if not self.pending:
            return
        rows = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending, axis=0)
        self.pending = []
        start = self.length
        self.dataset.resize(start + len(rows), axis=0)
        self.dataset[start:start + len(rows)] = rows
        self.length = start + len(rows)

    @property
    def pending_rows(self) -> int:
        return sum(len(p) for p in self.pending)


class RecordingWriter:
    """Writes one recording (format v1, see docs/format.md).

    path: the file to create; an existing file is refused unless ``overwrite``.
    live: switch to SWMR at the first flush so the file can be read while it is written.
    flush_interval_s: the longest time appended data waits in memory (<= 1 s).
    """

    def __init__(self, path, *, overwrite: bool = False, live: bool = False, flush_interval_s: float = 0.5,
                 software: str | None = None):
        if not 0 < flush_interval_s <= 1.0:
            raise ValueError(f"flush_interval_s must be in (0, 1] s, got {flush_interval_s}")
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path}: exists; refusing to overwrite (use --force / overwrite=True)")
        self.live = live
        self.flush_interval_s = float(flush_interval_s)
        self._marker = writing_marker(self.path)
        self._marker.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        self._file = h5py.File(self.path, "w", libver="latest")
        self._file.attrs["format"] = FORMAT_NAME
        self._file.attrs["format_version"] = FORMAT_VERSION
        self._file.attrs["created_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._file.attrs["software"] = software or _software()
        self._file.create_group("devices")
        self._streams: dict[str, dict[str, _Appendable]] = {}
        self._events = _Appendable(self._records_dataset(self._file, "events", EVENT_DTYPE,
                                                         "losses, reconnects, resets, overruns and errors"))
        self._committed = self._file.create_dataset("committed", shape=(0,), maxshape=(None,), dtype="<i8",
                                                    chunks=(64,))
        self._committed.attrs["description"] = (
            "committed length (rows along axis 0) of each appendable dataset, in the order of attr 'paths'; "
            "written after the data it covers: readers trust only these lengths")
        self._committed_paths: list[str] = []
        self._by_path: dict[str, _Appendable] = {}
        self._register("events", self._events)
        self._last_flush = time.monotonic()
        self._swmr = False
        self._closed = False

    # ----------------------------------------------------------------- declaring streams and devices
    def add_device(self, name: str, device: DeviceInfo) -> None:
        """Describe the instrument behind the streams of the same name."""
        self._check_declarable()
        group = self._file["devices"].require_group(_check_name(name))
        group.attrs["kind"] = device.kind
        group.attrs["model"] = device.model
        group.attrs["serial"] = device.serial
        group.attrs["firmware"] = device.firmware
        group.attrs["port"] = device.port
        group.attrs["config"] = _json_text(device.config)

    def add_gpr_stream(self, name: str, *, n_samples: int, dt_s: float, dtype="int16", n_channels: int | None = None,
                       centre_frequency_hz: float = math.nan, antenna_offset_m: float = math.nan,
                       antenna_height_m: float = 0.0, time_zero_s: float = 0.0, units: str = "counts",
                       attrs: dict | None = None, source: dict | None = None) -> None:
        """Create /gpr/<name>/traces and trace_meta. ``source``: {file, format, header} of an import."""
        self._check_declarable()
        dtype = self._check_sample_dtype(dtype, f"gpr stream {name!r}")
        if int(n_samples) < 1:
            raise ValueError(f"gpr stream {name!r}: n_samples must be >= 1, got {n_samples}")
        if not (dt_s > 0 and math.isfinite(dt_s)):
            raise ValueError(f"gpr stream {name!r}: dt_s must be a positive finite number of seconds, got {dt_s}")
        group = self._new_stream_group("gpr", name)
        inner = (int(n_samples),) if n_channels is None else (int(n_channels), int(n_samples))
        traces = group.create_dataset(
            "traces", shape=(0, *inner), maxshape=(None, *inner), dtype=dtype,
            chunks=(GPR_CHUNK_TRACES, *inner), compression=COMPRESSION, compression_opts=COMPRESSION_LEVEL,
            shuffle=True)
        traces.attrs["dims"] = "trace, sample" if n_channels is None else "trace, channel, sample"
        traces.attrs["dt_s"] = float(dt_s)
        traces.attrs["time_window_s"] = float(dt_s) * int(n_samples)
        traces.attrs["time_zero_s"] = float(time_zero_s)
        traces.attrs["centre_frequency_hz"] = float(centre_frequency_hz)
        traces.attrs["antenna_offset_m"] = float(antenna_offset_m)
        traces.attrs["antenna_height_m"] = float(antenna_height_m)
        traces.attrs["units"] = units
        traces.attrs["description"] = (
            "GPR traces; sample k is at two-way time k*dt_s - time_zero_s; antenna_offset_m is the "
            "transmitter-receiver separation")
        for key, value in (attrs or {}).items():
            _set_attr(traces, key, value)
        meta = self._records_dataset(group, "trace_meta", TRACE_META_DTYPE, "one record per trace")
        self._write_source(group, source)
        self._streams[f"gpr/{name}"] = {"traces": _Appendable(traces), "trace_meta": _Appendable(meta)}
        self._register(f"gpr/{name}/traces", self._streams[f"gpr/{name}"]["traces"])
        self._register(f"gpr/{name}/trace_meta", self._streams[f"gpr/{name}"]["trace_meta"])

    def add_audio_stream(self, name: str, *, n_channels: int, fs_hz: float, dtype="int16",
                         mic_positions_m=None, units: str = "full scale", attrs: dict | None = None,
                         source: dict | None = None) -> None:
        """Create /acoustic/<name>/samples (n_frames, n_channels) and blocks."""
        self._check_declarable()
        dtype = self._check_sample_dtype(dtype, f"acoustic stream {name!r}")
        if int(n_channels) < 1:
            raise ValueError(f"acoustic stream {name!r}: n_channels must be >= 1, got {n_channels}")
        if not (fs_hz > 0 and math.isfinite(fs_hz)):
            raise ValueError(f"acoustic stream {name!r}: fs_hz must be positive, got {fs_hz}")
        group = self._new_stream_group("acoustic", name)
        n_channels = int(n_channels)
        samples = group.create_dataset(
            "samples", shape=(0, n_channels), maxshape=(None, n_channels), dtype=dtype,
            chunks=(max(1024, AUDIO_CHUNK_FRAMES // n_channels), n_channels), compression=COMPRESSION,
            compression_opts=COMPRESSION_LEVEL, shuffle=True)
        samples.attrs["dims"] = "frame, channel"
        samples.attrs["fs_hz"] = float(fs_hz)
        samples.attrs["units"] = units
        if mic_positions_m is not None:
            positions = np.asarray(mic_positions_m, dtype="<f8")
            if positions.shape != (n_channels, 3) or not np.all(np.isfinite(positions)):
                raise ValueError(f"acoustic stream {name!r}: mic_positions_m must be finite, shaped "
                                 f"({n_channels}, 3), got shape {positions.shape}")
            samples.attrs["mic_positions_m"] = positions
        samples.attrs["description"] = (
            "audio frames; mic_positions_m (n_channels, 3) in the array frame: x, y horizontal, z up, metres")
        for key, value in (attrs or {}).items():
            _set_attr(samples, key, value)
        blocks = self._records_dataset(group, "blocks", BLOCK_META_DTYPE, "one record per received block")
        self._write_source(group, source)
        self._streams[f"acoustic/{name}"] = {"samples": _Appendable(samples), "blocks": _Appendable(blocks)}
        self._register(f"acoustic/{name}/samples", self._streams[f"acoustic/{name}"]["samples"])
        self._register(f"acoustic/{name}/blocks", self._streams[f"acoustic/{name}"]["blocks"])

    def add_gnss_stream(self, name: str, *, source: dict | None = None) -> None:
        """Create /gnss/<name>/fixes."""
        self._check_declarable()
        group = self._new_stream_group("gnss", name)
        fixes = self._records_dataset(group, "fixes", GNSS_FIX_DTYPE, "one record per GNSS fix")
        self._write_source(group, source)
        self._streams[f"gnss/{name}"] = {"fixes": _Appendable(fixes)}
        self._register(f"gnss/{name}/fixes", self._streams[f"gnss/{name}"]["fixes"])

    # ----------------------------------------------------------------- appending
    def append_gpr(self, name: str, traces: np.ndarray, meta: np.ndarray) -> None:
        """Append traces (n, [n_channels,] n_samples) and their trace_meta records (n,)."""
        stream = self._stream("gpr", name)
        dataset = stream["traces"].dataset
        traces = np.asarray(traces)
        if traces.ndim == dataset.ndim - 1:
            traces = traces[np.newaxis]
        if traces.shape[1:] != dataset.shape[1:]:
            raise ValueError(f"gpr stream {name!r}: traces shaped {traces.shape[1:]} per trace, "
                             f"the stream holds {dataset.shape[1:]}")
        meta = self._records(meta, TRACE_META_DTYPE, f"gpr stream {name!r} trace_meta")
        if len(meta) != len(traces):
            raise ValueError(f"gpr stream {name!r}: {len(traces)} traces but {len(meta)} trace_meta records")
        stream["traces"].append(traces.astype(dataset.dtype, copy=False))
        stream["trace_meta"].append(meta)
        self.flush_if_due()

    def append_audio(self, name: str, samples: np.ndarray, block: np.ndarray) -> None:
        """Append frames (n_frames, n_channels) and the block record(s) that describe them."""
        stream = self._stream("acoustic", name)
        dataset = stream["samples"].dataset
        samples = np.asarray(samples)
        if samples.ndim != 2 or samples.shape[1] != dataset.shape[1]:
            raise ValueError(f"acoustic stream {name!r}: samples must be (n_frames, {dataset.shape[1]}), "
                             f"got {samples.shape}")
        stream["samples"].append(samples.astype(dataset.dtype, copy=False))
        stream["blocks"].append(self._records(block, BLOCK_META_DTYPE, f"acoustic stream {name!r} blocks"))
        self.flush_if_due()

    def append_gnss(self, name: str, fixes: np.ndarray) -> None:
        """Append GNSS fix records."""
        stream = self._stream("gnss", name)
        stream["fixes"].append(self._records(fixes, GNSS_FIX_DTYPE, f"gnss stream {name!r} fixes"))
        self.flush_if_due()

    def append_event(self, kind: str, stream: str, detail=None, host_time_ns: int | None = None) -> None:
        """Record an event (gap, reconnect, reset, overrun, error, note) about a stream ('gpr/cart')."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, got {kind!r}")
        record = np.zeros(1, dtype=EVENT_DTYPE)
        record["host_time_ns"] = time.time_ns() if host_time_ns is None else int(host_time_ns)
        record["stream"] = stream
        record["kind"] = kind
        record["detail"] = detail if isinstance(detail, str) else _json_text(detail or {})
        self._events.append(record)
        self.flush_if_due()

    def frames_written(self, name: str) -> int:
        """Frames of an acoustic stream appended so far (written or pending): the next block's first_frame."""
        stream = self._stream("acoustic", name)["samples"]
        return stream.length + stream.pending_rows

    # ----------------------------------------------------------------- flushing and closing
    def flush_if_due(self) -> bool:
        """Flush when the last flush is older than flush_interval_s; returns whether it flushed."""
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write pending rows, flush, then commit their lengths and flush again."""
        if self._closed:
            return
        if self.live and not self._swmr:
            self._file.swmr_mode = True
            self._swmr = True
        appendables = [self._events] + [a for stream in self._streams.values() for a in stream.values()]
        for appendable in appendables:
            appendable.write_pending()
        self._file.flush()
        lengths = np.array([self._by_path[p].length for p in self._committed_paths], dtype="<i8")
        self._committed[:] = lengths
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush everything and close the file (idempotent)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._file.close()
            self._marker.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def h5(self) -> h5py.File:
        """The open h5py file, for results written by pipelines (not in live mode)."""
        return self._file

    # ----------------------------------------------------------------- internals
    def _check_declarable(self) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: the writer is closed")
        if self._swmr:
            raise ValueError(f"{self.path}: in live mode every stream and device must be declared before the "
                             f"first flush")

    @staticmethod
    def _check_sample_dtype(dtype, what: str) -> np.dtype:
        dtype = np.dtype(dtype)
        if dtype not in _SAMPLE_DTYPES:
            raise ValueError(f"{what}: sample dtype must be int16, int32 or float32, got {dtype}")
        return dtype

    def _new_stream_group(self, kind: str, name: str) -> h5py.Group:
        _check_name(name)
        path = f"{kind}/{name}"
        if path in self._file:
            raise ValueError(f"{self.path}: stream {path} exists already")
        return self._file.require_group(kind).create_group(name)

    @staticmethod
    def _records_dataset(parent: h5py.Group, name: str, dtype: np.dtype, description: str) -> h5py.Dataset:
        dataset = parent.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(RECORD_CHUNK_ROWS,),
                                        compression=COMPRESSION, compression_opts=COMPRESSION_LEVEL)
        dataset.attrs["description"] = description
        for field in dtype.names:
            dataset.attrs[f"field_{field}"] = FIELD_DOCS[field]
        return dataset

    @staticmethod
    def _write_source(group: h5py.Group, source: dict | None) -> None:
        if not source:
            return
        group.attrs["source_file"] = str(source.get("file", ""))
        group.attrs["source_format"] = str(source.get("format", ""))
        group.attrs["source_header"] = _json_text(source.get("header", {}))

    def _register(self, path: str, appendable: _Appendable) -> None:
        self._by_path[path] = appendable
        self._committed_paths.append(path)
        self._committed.resize(len(self._committed_paths), axis=0)
        self._committed[-1] = appendable.length
        self._committed.attrs["paths"] = _json_text(self._committed_paths)

    def _stream(self, kind: str, name: str) -> dict[str, _Appendable]:
        try:
            return self._streams[f"{kind}/{name}"]
        except KeyError:
            raise KeyError(f"{self.path}: no {kind} stream named {name!r}; declare it first") from None

    @staticmethod
    def _records(values, dtype: np.dtype, what: str) -> np.ndarray:
        values = np.atleast_1d(np.asarray(values))
        if values.dtype != dtype:
            if values.dtype.names is None or set(values.dtype.names) - set(dtype.names):
                raise ValueError(f"{what}: expected records of {dtype.names}, got dtype {values.dtype}")
            converted = empty_records(dtype, len(values))
            for field in values.dtype.names:
                converted[field] = values[field]
            values = converted
        return values

