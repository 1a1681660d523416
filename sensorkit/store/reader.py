"""The recording reader: lazy, committed-length-aware access to a sensorkit recording (format v1).

A file being written in live (SWMR) mode, or left by a killed writer, is opened in SWMR read mode;
every appendable dataset is seen only up to its committed length (``/committed``), so what a reader
gets is always complete. :meth:`Recording.refresh` picks up what a live writer has committed since.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np

from sensorkit.errors import FormatError, VersionError
from sensorkit.formats.base import AudioRecord, DeviceInfo, GnssTrack, GprLine
from sensorkit.store.schema import FORMAT_MAJOR, FORMAT_NAME


def open_h5_for_reading(path) -> h5py.File:
    """Open an HDF5 file read-only; a file still open for writing (or left by a killed writer) in SWMR mode."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file", "an existing HDF5 recording", "no such file")
    try:
        return h5py.File(path, "r")
    except (OSError, RuntimeError) as plain_error:
        reason = str(plain_error)
    if "truncated file" in reason:
        # HDF5's SWMR open retries a truncated file's metadata for ever: refuse it here, saying how much is missing
        found = reason[reason.index("truncated file"):].rstrip(")")
        raise FormatError(path, "file", "a complete HDF5 file", found)
    if "already open for write" not in reason:
        raise FormatError(path, "file", "an HDF5 file (a sensorkit recording; other files go through "
                                        "`sensorkit import`)", _h5_reason(reason))
    try:  # a file still open for writing, or left by a killed writer
        return h5py.File(path, "r", swmr=True, libver="latest")
    except (OSError, RuntimeError) as swmr_error:
        raise FormatError(path, "file", "an HDF5 file", str(swmr_error).split("(")[0].strip()) from None


def _h5_reason(message: str) -> str:
    """HDF5's reason from an h5py error: 'Unable to synchronously open file (file signature not found)' ->
    'file signature not found'."""
    inner = message[message.find("(") + 1:message.rfind(")")] if "(" in message and ")" in message else ""
    return inner.strip() or message.strip()


class CommittedArray:
    """A read-only, lazy view of an appendable dataset cut at its committed length.

    Slicing reads only what is asked: ``view[100:200]``, ``view[5]``, ``view[:, 3]``; ``np.asarray(view)``
    reads everything committed.
    """

    def __init__(self, dataset: h5py.Dataset, length: int):
        self.dataset = dataset
        self.length = int(length)

    @property
    def shape(self) -> tuple:
        return (self.length, *self.dataset.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.dataset.dtype

    @property
    def ndim(self) -> int:
        return self.dataset.ndim

    @property
    def attrs(self):
        return self.dataset.attrs

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if key is Ellipsis:
            key, rest = slice(None), (Ellipsis, *rest) if rest else ()
        if isinstance(key, (int, np.integer)):
            index = int(key) + self.length if key < 0 else int(key)
            if not 0 <= index < self.length:
                raise IndexError(f"index {key} out of range for {self.length} committed rows")
            first = index
        elif isinstance(key, slice):
            start, stop, step = key.indices(self.length)
            if step != 1:
                return np.asarray(self[start:stop])[::step][(slice(None), *rest)]
            if stop <= start:
                return np.empty((0, *self.dataset.shape[1:]), dtype=self.dtype)[(slice(None), *rest)]
            first = slice(start, stop)
        else:
            indices = np.arange(self.length)[key]  # fancy or boolean index: read the committed rows, then pick
            return self[:][indices][(slice(None), *rest)]
        return self.dataset[(first, *rest)]

    def __array__(self, dtype=None, copy=None):
        data = self[:]
        return data if dtype is None else data.astype(dtype)


class GprStream:
    """A GPR stream: lazy ``traces`` and ``trace_meta``, and its attributes in SI units."""

    def __init__(self, recording: "Recording", name: str):
        self.recording = recording
        self.name = name
        self.group = recording.h5["gpr"][name]
        self.traces = CommittedArray(self.group["traces"], recording.committed_length(f"gpr/{name}/traces"))
        self.trace_meta = CommittedArray(self.group["trace_meta"],
                                         recording.committed_length(f"gpr/{name}/trace_meta"))
        attrs = self.group["traces"].attrs
        self.dt_s = float(attrs["dt_s"])
        self.time_zero_s = float(attrs.get("time_zero_s", 0.0))
        self.centre_frequency_hz = float(attrs.get("centre_frequency_hz", math.nan))
        self.antenna_offset_m = float(attrs.get("antenna_offset_m", math.nan))
        self.antenna_height_m = float(attrs.get("antenna_height_m", 0.0))
        self.units = str(attrs.get("units", ""))

    @property
    def n_traces(self) -> int:
        return min(len(self.traces), len(self.trace_meta))

    @property
    def n_samples(self) -> int:
        return int(self.traces.shape[-1])

    @property
    def n_channels(self) -> int | None:
        return int(self.traces.shape[1]) if self.traces.ndim == 3 else None

    @property
    def extra_attrs(self) -> dict:
        known = {"dims", "dt_s", "time_window_s", "time_zero_s", "centre_frequency_hz", "antenna_offset_m",
                 "antenna_height_m", "units", "description"}
        return {k: _plain(v) for k, v in self.group["traces"].attrs.items() if k not in known}

    def to_line(self, start: int = 0, stop: int | None = None) -> GprLine:
        """Read traces [start, stop) into memory as a GprLine (the form importers and exporters share)."""
        stop = self.n_traces if stop is None else min(stop, self.n_traces)
        return GprLine(
            name=self.name, traces=self.traces[start:stop], dt_s=self.dt_s, trace_meta=self.trace_meta[start:stop],
            device=self.recording.device(self.name), centre_frequency_hz=self.centre_frequency_hz,
            antenna_offset_m=self.antenna_offset_m, antenna_height_m=self.antenna_height_m,
            time_zero_s=self.time_zero_s, units=self.units, attrs=self.extra_attrs,
            source_header=_source_header(self.group))


class AudioStream:
    """An acoustic stream: lazy ``samples`` (n_frames, n_channels) and ``blocks``."""

    def __init__(self, recording: "Recording", name: str):
        self.recording = recording
        self.name = name
        self.group = recording.h5["acoustic"][name]
        self.samples = CommittedArray(self.group["samples"], recording.committed_length(f"acoustic/{name}/samples"))
        self.blocks = CommittedArray(self.group["blocks"], recording.committed_length(f"acoustic/{name}/blocks"))
        attrs = self.group["samples"].attrs
        self.fs_hz = float(attrs["fs_hz"])
        self.units = str(attrs.get("units", ""))
        self.mic_positions_m = np.asarray(attrs["mic_positions_m"]) if "mic_positions_m" in attrs else None

    @property
    def n_frames(self) -> int:
        return len(self.samples)

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fs_hz

    def to_record(self, start: int = 0, stop: int | None = None) -> AudioRecord:
        """Read frames [start, stop) into memory as an AudioRecord."""
        return AudioRecord(name=self.name, samples=self.samples[start:stop], fs_hz=self.fs_hz,
                           device=self.recording.device(self.name), mic_positions_m=self.mic_positions_m,
                           units=self.units, source_header=_source_header(self.group))


class Recording:
    """An open sensorkit recording. Use as a context manager, or call close()."""

    def __init__(self, path):
        self.path = Path(path)
        self.h5 = open_h5_for_reading(self.path)
        try:
            self._check_format()
            self._read_committed()
        except Exception:
            self.h5.close()
            raise

    def _check_format(self) -> None:
        attrs = self.h5.attrs
        if attrs.get("format") != FORMAT_NAME:
            raise FormatError(self.path, "format (root attribute)", f"{FORMAT_NAME!r}", attrs.get("format"))
        version = str(attrs.get("format_version", ""))
        try:
            major = int(version.split(".")[0])
        except ValueError:
            raise FormatError(self.path, "format_version (root attribute)", "'<major>.<minor>'", version) from None
        if major > FORMAT_MAJOR:
            raise VersionError(self.path, "format_version (root attribute)",
                               f"major version <= {FORMAT_MAJOR}: the file was written by a newer sensorkit; "
                               f"upgrade sensorkit to read it", version)
        self.format_version = version

    def _read_committed(self) -> None:
        if "committed" not in self.h5:
            raise FormatError(self.path, "/committed", "the committed-length index of a v1 recording", "missing")
        committed = self.h5["committed"]
        paths = json.loads(committed.attrs.get("paths", "[]"))
        lengths = committed[()]
        self._committed = {p: int(n) for p, n in zip(paths, lengths)}

    def refresh(self) -> None:
        """Pick up data a live writer has committed since the file was opened (SWMR mode)."""
        committed = self.h5["committed"]
        committed.refresh()
        for path in self._committed:
            self.h5[path].refresh()
        self._read_committed()

    def committed_length(self, path: str) -> int:
        """Rows of dataset ``path`` ('gpr/cart/traces') that are completely on disk."""
        if path in self._committed:
            return self._committed[path]
        return int(self.h5[path].shape[0])  # a dataset written in one piece (results)

    # ----------------------------------------------------------------- listing
    def _names(self, kind: str) -> list[str]:
        return sorted(self.h5[kind].keys()) if kind in self.h5 else []

    @property
    def gpr_names(self) -> list[str]:
        return self._names("gpr")

    @property
    def acoustic_names(self) -> list[str]:
        return self._names("acoustic")

    @property
    def gnss_names(self) -> list[str]:
        return self._names("gnss")

    @property
    def attrs(self) -> dict:
        return {k: _plain(v) for k, v in self.h5.attrs.items()}

    def device(self, name: str) -> DeviceInfo:
        """The device record of the streams called ``name`` (kind 'unknown' where none was written)."""
        if "devices" not in self.h5 or name not in self.h5["devices"]:
            return DeviceInfo(kind="unknown")
        attrs = self.h5["devices"][name].attrs
        config = attrs.get("config", "{}")
        return DeviceInfo(kind=str(attrs.get("kind", "")), model=str(attrs.get("model", "")),
                          serial=str(attrs.get("serial", "")), firmware=str(attrs.get("firmware", "")),
                          port=str(attrs.get("port", "")), config=json.loads(config) if config else {})

    @property
    def device_names(self) -> list[str]:
        return sorted(self.h5["devices"].keys()) if "devices" in self.h5 else []

    # ----------------------------------------------------------------- streams
    def gpr(self, name: str | None = None) -> GprStream:
        return GprStream(self, self._pick("gpr", name))

    def acoustic(self, name: str | None = None) -> AudioStream:
        return AudioStream(self, self._pick("acoustic", name))

    def gnss_fixes(self, name: str | None = None) -> np.ndarray:
        name = self._pick("gnss", name)
        return CommittedArray(self.h5["gnss"][name]["fixes"], self.committed_length(f"gnss/{name}/fixes"))[:]

    def gnss(self, name: str | None = None) -> GnssTrack:
        name = self._pick("gnss", name)
        return GnssTrack(name=name, fixes=self.gnss_fixes(name), device=self.device(name),
                         source_header=_source_header(self.h5["gnss"][name]))

    @property
    def events(self) -> np.ndarray:
        """All committed events (records of EVENT_DTYPE, strings decoded)."""
        records = CommittedArray(self.h5["events"], self.committed_length("events"))[:]
        out = np.empty(len(records), dtype=[("host_time_ns", "<i8"), ("stream", object), ("kind", object),
                                            ("detail", object)])
        out["host_time_ns"] = records["host_time_ns"]
        for field in ("stream", "kind", "detail"):
            out[field] = [v.decode() if isinstance(v, bytes) else v for v in records[field]]
        return out

    def _pick(self, kind: str, name: str | None) -> str:
        names = self._names(kind)
        if name is None:
            if len(names) != 1:
                raise KeyError(f"{self.path}: {len(names)} {kind} streams ({', '.join(names) or 'none'}); "
                               f"name the one you want")
            return names[0]
        if name not in names:
            raise KeyError(f"{self.path}: no {kind} stream {name!r} (has: {', '.join(names) or 'none'})")
        return name

    def close(self) -> None:
        self.h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _plain(value):
    """An attribute value as plain Python (str, float, int, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _source_header(group: h5py.Group) -> dict:
    text = group.attrs.get("source_header")
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"raw": text}
