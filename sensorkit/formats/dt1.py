"""Sensors & Software pulseEKKO / Noggin files: a .DT1 data file with its .HD text header.

.HD: text lines ``KEY = VALUE`` (number of traces, points per trace, time window in ns, positions in
the stated POSITION UNITS, nominal frequency in MHz, antenna separation, survey mode, ...), after a few
lines without ``=`` (file tag, "Data Collected with ...", date).

.DT1: per trace a 128-byte little-endian header then the samples (int16; 4-byte samples are read as
float32). Trace header layout (byte offset: meaning)::

    0 trace number (f4)        4 position (f4)         8 points per trace (f4)   12 topography (f4)
    16 odometer ticks (i4)     20 bytes per point (f4) 24 window (f4)           28 stacks (f4)
    32 GPS x (f8)              40 GPS y (f8)           48 GPS z (f8)
    56 rx x, y, z (3 f4)       68 tx x, y, z (3 f4)    80 time-zero adjustment   84 zero flag
    88 unused                  92 time of day, s past midnight (f4)              96 comment flag
    100 comment (28 bytes)

What goes where:

- ``x_m`` = the per-trace position field converted to metres (feet, inches, cm, mm converted).
- ``device_time_ns`` = the time of day of the trace (seconds past midnight of the survey date).
- ``encoder_ticks`` = the odometer ticks field, only when the .HD gives an ODOMETER CAL (then
  ``FLAG_POSITION_FROM_WHEEL`` is set too).
- ``attrs["survey_mode"]``: "reflection", "cmp", "warr", ... as the .HD says. For CMP and WARR the
  antenna separation changes from trace to trace: pulseEKKO then records the separation as the trace
  position, so ``attrs["trace_offsets_m"]`` holds the per-trace offsets (JSON list, m) and
  ``antenna_offset_m`` is NaN. In reflection mode ``antenna_offset_m`` is the .HD ANTENNA SEPARATION.
- A GPS/topography side file ``<stem>.xyz`` or ``GPS.xyz`` beside the data (lines ``easting, northing,
  elevation``, projected coordinates, m) is kept as ``attrs["gps_utm_enz"]`` (JSON list of
  [e, n, z]) with its name in ``attrs["gps_utm_file"]``. Its points need not be one per trace (the
  GPRPy example has 103 points for 531 traces), so nothing is interpolated onto traces and lat/lon
  stay NaN.
- ``time_zero_s`` = TIMEZERO AT POINT x dt (the point counted from 0, as GPRPy does).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError
from sensorkit.formats.base import DeviceInfo, GprLine, Imported, find_side_file, new_trace_meta
from sensorkit.store.schema import FLAG_POSITION_FROM_WHEEL

TRACE_HEADER_BYTES = 128

#: The 128-byte trace header of a .DT1 file.
TRACE_HEADER_DTYPE = np.dtype([
    ("trace_number", "<f4"),
    ("position", "<f4"),
    ("n_points", "<f4"),
    ("topography", "<f4"),
    ("odometer_ticks", "<i4"),
    ("bytes_per_point", "<f4"),
    ("window", "<f4"),
    ("stacks", "<f4"),
    ("gps_x", "<f8"),
    ("gps_y", "<f8"),
    ("gps_z", "<f8"),
    ("rx_x", "<f4"),
    ("rx_y", "<f4"),
    ("rx_z", "<f4"),
    ("tx_x", "<f4"),
    ("tx_y", "<f4"),
    ("tx_z", "<f4"),
    ("time_zero_adjust", "<f4"),
    ("zero_flag", "<f4"),
    ("unused", "<f4"),
    ("time_of_day_s", "<f4"),
    ("comment_flag", "<f4"),
    ("comment", "S28"),
])
assert TRACE_HEADER_DTYPE.itemsize == TRACE_HEADER_BYTES

#: metres per position unit, by the .HD POSITION UNITS text (lower case)
POSITION_UNITS_M = {
    "m": 1.0, "metre": 1.0, "metres": 1.0, "meter": 1.0, "meters": 1.0,
    "cm": 0.01, "mm": 0.001,
    "ft": 0.3048, "feet": 0.3048, "foot": 0.3048,
    "in": 0.0254, "inch": 0.0254, "inches": 0.0254,
}

_SAMPLE_DTYPES = {2: np.dtype("<i2"), 4: np.dtype("<f4")}
_GATHER_MODES = ("cmp", "warr")



def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FormatError(path, "file", "a readable file", str(error)) from None


def parse_hd(path: Path, text: str) -> tuple[dict[str, str], list[str]]:
    """The .HD lines as ({KEY: value text}, [lines without '=']); keys upper case, spaces collapsed."""
    fields: dict[str, str] = {}
    other: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            key = re.sub(r"\s+", " ", key.strip()).upper()
            fields.setdefault(key, value.strip())
        else:
            other.append(line)
    if not fields:
        raise FormatError(path, "header", "lines 'KEY = VALUE' (a Sensors & Software .HD file)",
                          text[:40] if text else "(empty)")
    return fields, other


def _number(path: Path, fields: dict, key: str, *, default=None, positive=False) -> float:
    if key not in fields:
        if default is not None:
            return default
        raise FormatError(path, key, "a header line 'KEY = number'", "line missing")
    text = fields[key]
    try:
        value = float(text.split()[0]) if text.split() else math.nan
    except ValueError:
        raise FormatError(path, key, "a number", text) from None
    if not math.isfinite(value):
        raise FormatError(path, key, "a finite number", text)
    if positive and value <= 0:
        raise FormatError(path, key, "a number > 0", text)
    return value


def _count(path: Path, fields: dict, key: str) -> int:
    value = _number(path, fields, key, positive=True)
    if value != int(value) or value > 2**31:
        raise FormatError(path, key, "a whole number of at most 2**31", fields[key])
    return int(value)


def _read_xyz(path: Path) -> list[list[float]]:
    """Rows of ``easting, northing, elevation`` (comma or blank separated)."""
    text = _read_bytes(path).decode("latin-1")
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in re.split(r"[,\s;]+", line) if p]
        try:
            row = [float(p) for p in parts]
        except ValueError:
            raise FormatError(path, f"line {number}", "three numbers: easting, northing, elevation", line) from None
        if len(row) != 3 or not all(math.isfinite(v) for v in row):
            raise FormatError(path, f"line {number}", "three finite numbers: easting, northing, elevation", line)
        rows.append(row)
    if not rows:
        raise FormatError(path, "rows", "at least one line 'easting, northing, elevation'", "(empty)")
    return rows


def _gps_side_file(dt1_path: Path) -> Path | None:
    own = find_side_file(dt1_path, ".xyz")
    if own is not None:
        return own
    try:
        shared = sorted(p for p in dt1_path.parent.iterdir() if p.name.lower() == "gps.xyz" and p.is_file())
    except OSError:
        return None
    return shared[0] if shared else None


def _partners(path: Path) -> tuple[Path, Path]:
    suffix = path.suffix.lower()
    if suffix not in (".dt1", ".hd"):
        raise FormatError(path, "file extension", ".DT1 or .HD", path.suffix or "(none)")
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    partner_suffix = ".hd" if suffix == ".dt1" else ".dt1"
    partner = find_side_file(path, partner_suffix)
    if partner is None:
        raise FormatError(path, "partner file", f"{path.stem}{partner_suffix.upper()} beside it", "not found")
    return (path, partner) if suffix == ".dt1" else (partner, path)


def read_dt1(path) -> Imported:
    """Read a Sensors & Software .DT1 + .HD pair (either may be named); see the module docstring.

    Returns one GprLine: traces (n_traces, n_samples) int16 (float32 for 4-byte files), dt_s =
    TOTAL TIME WINDOW / NUMBER OF PTS/TRC, positions in metres.
    """
    dt1_path, hd_path = _partners(Path(path))
    hd_text = _read_bytes(hd_path).decode("latin-1")
    fields, other_lines = parse_hd(hd_path, hd_text)

    n_traces = _count(hd_path, fields, "NUMBER OF TRACES")
    n_samples = _count(hd_path, fields, "NUMBER OF PTS/TRC")
    window_ns = _number(hd_path, fields, "TOTAL TIME WINDOW", positive=True)
    units_text = fields.get("POSITION UNITS")
    if units_text is None:
        raise FormatError(hd_path, "POSITION UNITS", "a header line 'POSITION UNITS = m|ft|...'", "line missing")
    unit_m = POSITION_UNITS_M.get(units_text.strip().lower())
    if unit_m is None:
        raise FormatError(hd_path, "POSITION UNITS", "one of " + ", ".join(sorted(POSITION_UNITS_M)), units_text)
    timezero_point = _number(hd_path, fields, "TIMEZERO AT POINT", default=0.0)
    frequency_mhz = _number(hd_path, fields, "NOMINAL FREQUENCY", default=math.nan)
    separation = _number(hd_path, fields, "ANTENNA SEPARATION", default=math.nan)
    start = _number(hd_path, fields, "STARTING POSITION", default=math.nan)
    final = _number(hd_path, fields, "FINAL POSITION", default=math.nan)
    step = _number(hd_path, fields, "STEP SIZE USED", default=math.nan)
    stacks = _number(hd_path, fields, "NUMBER OF STACKS", default=math.nan)
    odometer_cal = _number(hd_path, fields, "ODOMETER CAL (T/M)", default=math.nan)
    survey_mode = fields.get("SURVEY MODE", "reflection").strip().lower() or "reflection"

    sizes = {bpp: n_traces * (TRACE_HEADER_BYTES + bpp * n_samples) for bpp in _SAMPLE_DTYPES}
    try:
        file_size = dt1_path.stat().st_size
        matching = [bpp for bpp, size in sizes.items() if size == file_size]
        if not matching:
            raise FormatError(dt1_path, "file size",
                              f"{sizes[2]} bytes ({n_traces} traces x (128 + 2 x {n_samples}), int16) or "
                              f"{sizes[4]} bytes (float32), as {hd_path.name} says", f"{file_size} bytes")
        bytes_per_point = matching[0]
        record = np.dtype([("head", TRACE_HEADER_DTYPE),
                           ("samples", _SAMPLE_DTYPES[bytes_per_point], (n_samples,))])
        records = np.fromfile(dt1_path, dtype=record, count=n_traces)
    except OSError as error:
        raise FormatError(dt1_path, "file", "a readable file", str(error)) from None
    if records.size != n_traces:  # the file changed while being read
        raise FormatError(dt1_path, "traces", f"{n_traces}", records.size)
    head = records["head"]
    stated_bpp = float(head["bytes_per_point"][0])
    if stated_bpp in (2.0, 4.0) and stated_bpp != bytes_per_point:
        raise FormatError(dt1_path, "trace 1 header: bytes per point",
                          f"{bytes_per_point} (from the file size)", stated_bpp)
    traces = np.ascontiguousarray(records["samples"])

    dt_s = window_ns / n_samples / 1e9
    meta = new_trace_meta(n_traces)
    positions = head["position"].astype(str).astype(np.float64)  # shortest decimal: 0.1, not 0.10000000149
    meta["x_m"] = positions * unit_m
    seconds = head["time_of_day_s"].astype(np.float64)
    valid_time = np.isfinite(seconds) & (seconds >= 0) & (seconds < 2 * 86400)
    seconds[~valid_time] = 0.0
    meta["device_time_ns"] = np.where(valid_time, np.round(seconds * 1e9), -1).astype(np.int64)
    if math.isfinite(odometer_cal):
        meta["encoder_ticks"] = head["odometer_ticks"].astype(np.int64)
        meta["flags"] |= FLAG_POSITION_FROM_WHEEL

    attrs: dict = {
        "survey_mode": survey_mode,
        "position_units": units_text.strip(),
        "start_position_m": start * unit_m,
        "final_position_m": final * unit_m,
        "trace_step_m": step * unit_m,
        "stacks": stacks,
        "bytes_per_point": bytes_per_point,
        "timezero_at_point": timezero_point,
    }
    antenna_offset_m = separation * unit_m
    if any(mode in survey_mode for mode in _GATHER_MODES):
        attrs["trace_offsets_m"] = json.dumps([float(v) for v in meta["x_m"]])
        antenna_offset_m = math.nan
    if "PULSER VOLTAGE (V)" in fields:
        attrs["pulser_voltage_v"] = _number(hd_path, fields, "PULSER VOLTAGE (V)")
    gps_path = _gps_side_file(dt1_path)
    if gps_path is not None:
        attrs["gps_utm_enz"] = json.dumps(_read_xyz(gps_path))
        attrs["gps_utm_file"] = gps_path.name

    collected = (re.match(r".*collected with\s*(.*)", line, flags=re.IGNORECASE) for line in other_lines)
    model = next((m.group(1).strip() for m in collected if m and m.group(1).strip()), "Sensors & Software")
    serials = {key: value for key, value in fields.items() if "SERIAL" in key}
    device = DeviceInfo(
        kind="gpr", model=model, serial=fields.get("DVL SERIAL#", next(iter(serials.values()), "")),
        port=str(dt1_path),
        config={"nominal_frequency_mhz": frequency_mhz, "antenna_separation_m": separation * unit_m,
                "serials": serials, "stacks": stacks, "survey_mode": survey_mode})
    first = {name: _plain(head[name][0]) for name in TRACE_HEADER_DTYPE.names}
    source_header = {"hd_file": hd_path.name, "hd": fields, "hd_other_lines": other_lines,
                     "first_trace_header": first}
    line = GprLine(
        name=dt1_path.stem, traces=traces, dt_s=dt_s, trace_meta=meta, device=device,
        centre_frequency_hz=frequency_mhz * 1e6, antenna_offset_m=antenna_offset_m,
        time_zero_s=timezero_point * dt_s, units="counts",
        attrs=attrs, source_header=source_header)
    return Imported(source=dt1_path, format="dt1", gpr=[line])


def _plain(value):
    """A header value as a JSON-able Python value (bytes to text, NaN/inf to None)."""
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode("latin-1").strip()
    value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
