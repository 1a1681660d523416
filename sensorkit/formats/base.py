"""What an importer returns: plain in-memory records that the store writes into a recording.

Every importer is a function ``read_xxx(path) -> Imported`` that raises only
:class:`sensorkit.FormatError` on bad input. It maps what the file says into SI
units (seconds, metres, hertz) and keeps the original header as a JSON-able dict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class DeviceInfo:
    """The instrument a stream came from, as far as the file tells."""

    kind: str  # "gpr" | "acoustic" | "gnss"
    model: str = ""
    serial: str = ""
    firmware: str = ""
    port: str = ""  # for imports: the source file path
    config: dict = field(default_factory=dict)  # JSON-able


@dataclass
class GprLine:
    """One GPR line (a B-scan), or one multi-channel swath.

    traces: (n_traces, n_samples) or (n_traces, n_channels, n_samples), int16/int32/float32,
        in the file's own units (``units``); sample k of a trace is at two-way time
        ``k * dt_s - time_zero_s`` relative to the time zero stated by the file.
    trace_meta: records of TRACE_META_DTYPE, one per trace (positions in metres, NaN where unknown).
    """

    name: str
    traces: np.ndarray
    dt_s: float
    trace_meta: np.ndarray
    device: DeviceInfo
    centre_frequency_hz: float = math.nan
    antenna_offset_m: float = math.nan  # transmitter-receiver separation
    antenna_height_m: float = 0.0
    time_zero_s: float = 0.0  # two-way time of the sample the file calls time zero
    units: str = "counts"
    attrs: dict = field(default_factory=dict)  # extra scalar/str attributes (e.g. rel_permittivity)
    source_header: dict = field(default_factory=dict)

    @property
    def n_traces(self) -> int:
        return int(self.traces.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.traces.shape[-1])

    @property
    def time_window_s(self) -> float:
        return self.n_samples * self.dt_s


@dataclass
class AudioRecord:
    """A multi-channel audio recording: samples (n_frames, n_channels) at fs_hz."""

    name: str
    samples: np.ndarray
    fs_hz: float
    device: DeviceInfo
    mic_positions_m: np.ndarray | None = None  # (n_channels, 3), array frame (x, y horizontal, z up)
    units: str = "full scale"
    attrs: dict = field(default_factory=dict)
    source_header: dict = field(default_factory=dict)


@dataclass
class GnssTrack:
    """GNSS fixes (records of GNSS_FIX_DTYPE)."""

    name: str
    fixes: np.ndarray
    device: DeviceInfo
    source_header: dict = field(default_factory=dict)


@dataclass
class Imported:
    """Everything one source file (with its side files) holds."""

    source: Path
    format: str  # short name: "dzt", "dt1", "rd3", "segy", "wav", "flac", "gprmax"
    gpr: list[GprLine] = field(default_factory=list)
    audio: list[AudioRecord] = field(default_factory=list)
    gnss: list[GnssTrack] = field(default_factory=list)


def find_side_file(path: Path, suffix: str) -> Path | None:
    """The file beside ``path`` with the same stem and ``suffix``, whatever the case of either extension."""
    path = Path(path)
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper()), path.with_suffix(suffix.lower())):
        if candidate.is_file():
            return candidate
    try:
        matches = sorted(p for p in path.parent.iterdir()
                         if p.stem == path.stem and p.suffix.lower() == suffix.lower() and p.is_file())
    except OSError:
        return None
    return matches[0] if matches else None


def new_trace_meta(n_traces: int) -> np.ndarray:
    """trace_meta records with ``seq`` = 0..n-1 and every other field unknown."""
    from sensorkit.store.schema import TRACE_META_DTYPE, empty_records  # here: the store imports this module

    meta = empty_records(TRACE_META_DTYPE, n_traces)
    meta["seq"] = np.arange(n_traces)
    meta["flags"] = 0
    return meta


def new_gnss_fixes(n: int) -> np.ndarray:
    """GNSS fix records with every field unknown."""
    from sensorkit.store.schema import GNSS_FIX_DTYPE, empty_records

    return empty_records(GNSS_FIX_DTYPE, n)
