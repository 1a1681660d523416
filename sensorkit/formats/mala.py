"""MALA (RAMAC, ProEx, GroundExplorer) files: .RD3 (int16) or .RD7 (int32) data, .RAD header, .COR positions.

.RAD: text lines ``KEY:VALUE``: SAMPLES, FREQUENCY (the *sampling* frequency, MHz), TIMEWINDOW (ns),
LAST TRACE (the number of traces), ANTENNAS (name, e.g. "500MHz shielded"), ANTENNA SEPARATION (m),
DISTANCE FLAG / DISTANCE INTERVAL (m), TIME FLAG / TIME INTERVAL (s), START POSITION (m), STACKS, ...

.RD3 / .RD7: the traces one after the other, SAMPLES little-endian int16 (RD3) or int32 (RD7) each.

.COR (optional): one line per GPS fix, blank/tab separated: trace number (1-based), date (YYYY-MM-DD),
UTC time (hh:mm:ss), latitude, N|S, longitude, E|W, altitude, unit (M), and often an accuracy value.

What goes where:

- dt_s = TIMEWINDOW / SAMPLES (as RGPR does; FREQUENCY is kept in ``attrs["sampling_frequency_hz"]``:
  some files, such as ImpDAR's ten_col test file, state a FREQUENCY that does not match TIMEWINDOW).
- centre frequency: the first number of the ANTENNAS name, in MHz unless followed by GHz ("500MHz
  shielded" -> 500e6, "1.6 GHz" -> 1.6e9); NaN when the name holds no number.
- x_m = START POSITION + index x DISTANCE INTERVAL for distance-triggered files (DISTANCE FLAG 1,
  flag ``FLAG_POSITION_FROM_WHEEL``), NaN otherwise.
- lat/lon/alt_m of each trace from the .COR: exact at the traces it lists; between them linearly
  interpolated along the trace number, before the first and after the last listed trace held at the
  nearest fix; those traces carry ``FLAG_POSITION_INTERPOLATED``. The fixes themselves are also returned
  unchanged as a GnssTrack (UTC time in ``host_time_ns``).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError
from sensorkit.formats.base import (
    DeviceInfo,
    GnssTrack,
    GprLine,
    Imported,
    find_side_file,
    new_gnss_fixes,
    new_trace_meta,
)
from sensorkit.store.schema import FLAG_POSITION_FROM_WHEEL, FLAG_POSITION_INTERPOLATED

#: sample type by data file extension (lower case)
DATA_DTYPES = {".rd3": np.dtype("<i2"), ".rd7": np.dtype("<i4")}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)



def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("latin-1")
    except OSError as error:
        raise FormatError(path, "file", "a readable file", str(error)) from None


def parse_rad(path: Path, text: str) -> dict[str, str]:
    """The .RAD lines as {KEY: value text}, keys upper case."""
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if ":" not in line:
            raise FormatError(path, "header line", "'KEY:VALUE'", line[:60])
        key, value = line.split(":", 1)
        fields.setdefault(re.sub(r"\s+", " ", key.strip()).upper(), value.strip())
    if not fields:
        raise FormatError(path, "header", "lines 'KEY:VALUE' (a MALA .RAD file)", "(empty)")
    return fields


def _number(path: Path, fields: dict, key: str, *, default=None, positive=False) -> float:
    if key not in fields:
        if default is not None:
            return default
        raise FormatError(path, key, "a header line 'KEY:number'", "line missing")
    try:
        value = float(fields[key])
    except ValueError:
        raise FormatError(path, key, "a number", fields[key]) from None
    if not math.isfinite(value):
        raise FormatError(path, key, "a finite number", fields[key])
    if positive and value <= 0:
        raise FormatError(path, key, "a number > 0", fields[key])
    return value


def _count(path: Path, fields: dict, key: str) -> int:
    value = _number(path, fields, key, positive=True)
    if value != int(value) or value > 2**31:
        raise FormatError(path, key, "a whole number of at most 2**31", fields[key])
    return int(value)


def antenna_frequency_hz(name: str) -> float:
    """Centre frequency from a MALA antenna name: first number, MHz unless 'GHz' follows; NaN if none."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*(ghz|mhz)?", name, flags=re.IGNORECASE)
    if match is None:
        return math.nan
    scale = 1e9 if (match.group(2) or "").lower() == "ghz" else 1e6
    return float(match.group(1)) * scale


def read_cor(path: Path) -> np.ndarray:
    """The fixes of a .COR file as records (trace, time_ns, lat, lon, alt_m); south and west negative."""
    rows = []
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        field = f"line {number}"
        if len(parts) < 9:
            raise FormatError(path, field, "at least 9 columns: trace date time lat N|S lon E|W altitude unit",
                              raw.strip()[:80])
        try:
            trace = int(parts[0])
            stamp = datetime.fromisoformat(f"{parts[1]}T{parts[2]}").replace(tzinfo=timezone.utc)
            lat, lon, alt = float(parts[3]), float(parts[5]), float(parts[7])
        except (ValueError, OverflowError):
            raise FormatError(path, field, "trace number, date, time, latitude, longitude and altitude",
                              raw.strip()[:80]) from None
        hemispheres = (parts[4].upper(), parts[6].upper())
        if hemispheres[0] not in ("N", "S") or hemispheres[1] not in ("E", "W"):
            raise FormatError(path, field, "hemisphere letters N|S and E|W", f"{parts[4]} {parts[6]}")
        if parts[8].upper() != "M":
            raise FormatError(path, field, "altitude unit M", parts[8])
        if not (0 <= lat <= 90 and 0 <= lon <= 180 and math.isfinite(alt)):
            raise FormatError(path, field, "decimal degrees (lat 0..90, lon 0..180) and a finite altitude",
                              raw.strip()[:80])
        since_epoch = stamp - _EPOCH
        time_ns = (since_epoch.days * 86400 + since_epoch.seconds) * 10**9 + since_epoch.microseconds * 1000
        rows.append((trace, time_ns,
                     -lat if hemispheres[0] == "S" else lat, -lon if hemispheres[1] == "W" else lon, alt))
    fixes = np.array(rows, dtype=[("trace", "<i8"), ("time_ns", "<i8"), ("lat", "<f8"), ("lon", "<f8"),
                                  ("alt_m", "<f8")])
    if fixes.size == 0:
        raise FormatError(path, "fixes", "at least one line", "(empty)")
    if np.any(np.diff(fixes["trace"]) <= 0):
        raise FormatError(path, "trace numbers", "strictly increasing")
    return fixes


def _positions_from_cor(meta: np.ndarray, fixes: np.ndarray) -> None:
    trace_numbers = meta["seq"].astype(np.float64) + 1.0
    for name in ("lat", "lon", "alt_m"):
        meta[name] = np.interp(trace_numbers, fixes["trace"].astype(np.float64), fixes[name])
    exact = np.isin(meta["seq"] + 1, fixes["trace"])
    meta["flags"][~exact] |= FLAG_POSITION_INTERPOLATED


def _files(path: Path) -> tuple[Path, Path]:
    """(data file, .RAD file) for a path naming either."""
    suffix = path.suffix.lower()
    if suffix not in (".rd3", ".rd7", ".rad"):
        raise FormatError(path, "file extension", ".RD3, .RD7 or .RAD", path.suffix or "(none)")
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    if suffix != ".rad":
        rad = find_side_file(path, ".rad")
        if rad is None:
            raise FormatError(path, "partner file", f"{path.stem}.rad beside it", "not found")
        return path, rad
    found = [p for p in (find_side_file(path, ".rd3"), find_side_file(path, ".rd7")) if p is not None]
    if len(found) != 1:
        raise FormatError(path, "partner file", f"exactly one of {path.stem}.rd3 / {path.stem}.rd7 beside it",
                          "none" if not found else "both")
    return found[0], path


def read_mala(path) -> Imported:
    """Read a MALA .RD3/.RD7 + .RAD (+ .COR) set, naming any of the data file or the .RAD.

    Returns one GprLine (traces (n_traces, n_samples) int16 for RD3, int32 for RD7) and, when a .COR
    exists, one GnssTrack of its fixes. See the module docstring for the mapping.
    """
    data_path, rad_path = _files(Path(path))
    fields = parse_rad(rad_path, _read_text(rad_path))
    n_samples = _count(rad_path, fields, "SAMPLES")
    n_traces = _count(rad_path, fields, "LAST TRACE")
    window_ns = _number(rad_path, fields, "TIMEWINDOW", positive=True)
    sampling_mhz = _number(rad_path, fields, "FREQUENCY", default=math.nan)
    separation_m = _number(rad_path, fields, "ANTENNA SEPARATION", default=math.nan)
    distance_flag = _number(rad_path, fields, "DISTANCE FLAG", default=0.0)
    distance_interval_m = _number(rad_path, fields, "DISTANCE INTERVAL", default=math.nan)
    time_flag = _number(rad_path, fields, "TIME FLAG", default=0.0)
    time_interval_s = _number(rad_path, fields, "TIME INTERVAL", default=math.nan)
    start_m = _number(rad_path, fields, "START POSITION", default=0.0)
    stacks = _number(rad_path, fields, "STACKS", default=math.nan)
    antennas = fields.get("ANTENNAS", "")

    dtype = DATA_DTYPES[data_path.suffix.lower()]
    expected = n_traces * n_samples * dtype.itemsize
    try:
        size = data_path.stat().st_size
        if size != expected:
            raise FormatError(data_path, "file size", f"{expected} bytes ({n_traces} traces x {n_samples} samples x "
                                                      f"{dtype.itemsize} bytes, as {rad_path.name} says)",
                              f"{size} bytes")
        traces = np.fromfile(data_path, dtype=dtype, count=n_traces * n_samples).reshape(n_traces, n_samples)
    except OSError as error:
        raise FormatError(data_path, "file", "a readable file", str(error)) from None
    if traces.size != n_traces * n_samples:  # the file changed while being read
        raise FormatError(data_path, "samples", f"{n_traces * n_samples}", traces.size)

    meta = new_trace_meta(n_traces)
    attrs: dict = {"sampling_frequency_hz": sampling_mhz * 1e6, "stacks": stacks, "antennas": antennas}
    if distance_flag == 1 and distance_interval_m > 0:
        meta["x_m"] = start_m + np.arange(n_traces) * distance_interval_m
        meta["flags"] |= FLAG_POSITION_FROM_WHEEL
        attrs["distance_interval_m"] = distance_interval_m
    if time_flag == 1 and time_interval_s > 0:
        attrs["trace_interval_s"] = time_interval_s

    gnss = []
    cor_path = find_side_file(data_path, ".cor")
    if cor_path is not None:
        fixes = read_cor(cor_path)
        _positions_from_cor(meta, fixes)
        records = new_gnss_fixes(fixes.size)
        records["host_time_ns"] = fixes["time_ns"]
        for name in ("lat", "lon", "alt_m"):
            records[name] = fixes[name]
        gnss.append(GnssTrack(
            name=f"{data_path.stem}_cor", fixes=records,
            device=DeviceInfo(kind="gnss", model="MALA .cor positions", port=str(cor_path)),
            source_header={"cor_file": cor_path.name, "trace_numbers": fixes["trace"].tolist()}))

    device = DeviceInfo(kind="gpr", model=f"MALA {antennas}".strip(), port=str(data_path),
                        config={"antennas": antennas, "sampling_frequency_mhz": sampling_mhz, "stacks": stacks})
    line = GprLine(
        name=data_path.stem, traces=traces, dt_s=window_ns / n_samples / 1e9, trace_meta=meta, device=device,
        centre_frequency_hz=antenna_frequency_hz(antennas), antenna_offset_m=separation_m, units="counts",
        attrs=attrs,
        source_header={"rad_file": rad_path.name, "rad": fields,
                       "cor_file": cor_path.name if cor_path is not None else None})
    return Imported(source=data_path, format=data_path.suffix.lower().lstrip("."), gpr=[line], gnss=gnss)
