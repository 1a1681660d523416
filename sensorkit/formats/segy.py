"""SEG-Y (rev 1) in and out for GPR lines, via segyio.

Layout written by :func:`write_segy` (and read back exactly by :func:`read_segy`):

- Samples: format code 3 (int16), 2 (int32) or 5 (IEEE float32), chosen from the
  traces' dtype, so the samples round-trip bit for bit. Big-endian, as SEG-Y says.
- Sample interval: SEG-Y has a 16-bit integer in microseconds, far too coarse for GPR
  (dt ~ 0.1 ns). Like other GPR software (RGPR's ``readSGY``, the USGS GPR programs)
  the binary header (bytes 3217-3218) and trace headers (bytes 117-118) hold dt in
  **picoseconds**, rounded (0 when it does not fit in 16 bits). The exact ``dt_s`` is
  also written as text in the textual header and read from there when present.
- Textual header (ASCII written as EBCDIC): line 1 ``SENSORKIT GPR LINE``, then
  ``KEY value`` lines: NAME, DT_S, CHANNELS, CENTRE_FREQUENCY_HZ, ANTENNA_OFFSET_M,
  ANTENNA_HEIGHT_M, TIME_ZERO_S, UNITS, DEVICE_MODEL/SERIAL/FIRMWARE and ATTRS (JSON,
  split over several lines), then NOTE lines describing this scheme.
- Positions per trace: x_m, y_m in SourceX/SourceY, GroupX/GroupY and CDP_X/CDP_Y
  (CoordinateUnits 1 = length) times SourceGroupScalar (bytes 71-72): -1000 (mm) unless
  the values need a coarser scalar to fit in int32 (beyond 2147 km); lat/lon in degrees
  * 1e7 in the unassigned trace bytes 233-236 (lat) and 237-240 (lon); alt_m in
  ReceiverGroupElevation and SourceSurfaceElevation times ElevationScalar (-1000).
  Unknown values (NaN) are written as -2147483648. When no x_m/y_m is known but lat/lon
  are, Source/Group/CDP X/Y hold longitude/latitude in arc-seconds (CoordinateUnits 2,
  scalar -1000) so that other SEG-Y readers see them.
- A multi-channel line (n_traces, n_channels, n_samples) is written channel-major: all
  traces of channel 1, then channel 2, ...; TraceNumber (bytes 13-16) holds the channel
  (1-based) and FieldRecord (bytes 9-12) the trace index (1-based).
- Not kept: trace_meta seq (renumbered 0..n-1 on reading), device/host times, encoder
  ticks and flags.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError
from sensorkit.formats.base import DeviceInfo, GprLine, Imported, new_trace_meta

MAGIC = "SENSORKIT GPR LINE"
UNKNOWN_INT32 = -2147483648
_INT32_MAX = 2147483647
_TEXT_BYTES = 3200
_HEADERS_BYTES = 3600
_TRACE_HEADER_BYTES = 240

#: dtype of the traces -> SEG-Y sample format code
WRITE_FORMAT_CODES = {np.dtype(np.int16): 3, np.dtype(np.int32): 2, np.dtype(np.float32): 5}

#: SEG-Y rev 2 sample format codes, and those segyio reads (not 4: fixed point with gain, 7/15: 24-bit)
_KNOWN_FORMATS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16)
_READABLE_FORMATS = (1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16)

#: unit of the sample-interval fields for foreign files -> units per second
SAMPLE_INTERVAL_UNITS = {"ps": 1e12, "ns": 1e9, "us": 1e6}

_SCALARS = (-1000, -100, -10, 1, 10, 100, 1000, 10000)  # SEG-Y scalar: <0 divide, >0 multiply


# ----------------------------------------------------------------------------- writing


def write_segy(path, line: GprLine) -> None:
    """Write a GPR line as SEG-Y rev 1 (layout in the module docstring).

    line.traces: (n_traces, n_samples) or (n_traces, n_channels, n_samples), int16, int32
    or float32, at most 32767 samples a trace. Raises ValueError on a line it cannot write.
    """
    import segyio

    traces = np.asarray(line.traces)
    if traces.ndim not in (2, 3):
        raise ValueError(f"traces: expected 2-D or 3-D, got shape {traces.shape}")
    if traces.dtype not in WRITE_FORMAT_CODES:
        raise ValueError(f"traces: expected int16, int32 or float32, got {traces.dtype}")
    n_traces, n_samples = traces.shape[0], traces.shape[-1]
    n_channels = traces.shape[1] if traces.ndim == 3 else 1
    if n_traces < 1 or n_channels < 1 or not 1 <= n_samples <= 32767:
        raise ValueError(f"traces: expected >= 1 trace, >= 1 channel and 1..32767 samples, got shape {traces.shape}")
    if len(line.trace_meta) != n_traces:
        raise ValueError(f"trace_meta: expected {n_traces} records, got {len(line.trace_meta)}")
    if not (math.isfinite(line.dt_s) and line.dt_s > 0):
        raise ValueError(f"dt_s: expected a positive finite number, got {line.dt_s!r}")

    dt_ps = round(line.dt_s * 1e12)
    interval_field = dt_ps if 1 <= dt_ps <= 32767 else 0
    format_code = WRITE_FORMAT_CODES[traces.dtype]
    per_trace = _trace_header_values(line.trace_meta)
    # channel-major: file trace k = channel * n_traces + i
    file_traces = np.ascontiguousarray(traces.transpose(1, 0, 2) if traces.ndim == 3 else traces[np.newaxis])

    spec = segyio.spec()
    spec.samples = list(range(n_samples))
    spec.format = format_code
    spec.tracecount = n_traces * n_channels
    spec.endian = "big"
    with segyio.create(str(path), spec) as f:
        f.text[0] = _text_header(line, n_channels)
        f.bin.update(
            ntrpr=n_channels, nart=0, hdt=interval_field, dto=interval_field, hns=n_samples, nso=n_samples,
            format=format_code, mfeet=1, tsort=1, rev=1, revmin=0, trflag=1, exth=0,
        )
        k = 0
        for channel in range(n_channels):
            for i in range(n_traces):
                header = dict(per_trace[i])
                header.update({
                    segyio.TraceField.TRACE_SEQUENCE_LINE: k + 1,
                    segyio.TraceField.TRACE_SEQUENCE_FILE: k + 1,
                    segyio.TraceField.FieldRecord: i + 1,
                    segyio.TraceField.TraceNumber: channel + 1,
                    segyio.TraceField.TraceIdentificationCode: 1,
                    segyio.TraceField.TRACE_SAMPLE_COUNT: n_samples,
                    segyio.TraceField.TRACE_SAMPLE_INTERVAL: interval_field,
                })
                f.header[k] = header
                f.trace[k] = file_traces[channel, i]
                k += 1


def _text_header(line: GprLine, n_channels: int) -> bytes:
    """The 3200-byte textual header (ASCII; segyio stores it as EBCDIC)."""
    device = line.device
    rows = [
        f"{MAGIC}, SEG-Y REV 1, WRITTEN BY SENSORKIT",
        f"NAME {_ascii(line.name)}",
        f"DT_S {float(line.dt_s)!r}",
        f"CHANNELS {n_channels}",
        f"CENTRE_FREQUENCY_HZ {float(line.centre_frequency_hz)!r}",
        f"ANTENNA_OFFSET_M {float(line.antenna_offset_m)!r}",
        f"ANTENNA_HEIGHT_M {float(line.antenna_height_m)!r}",
        f"TIME_ZERO_S {float(line.time_zero_s)!r}",
        f"UNITS {_ascii(line.units)}",
        f"DEVICE_MODEL {_ascii(device.model)}",
        f"DEVICE_SERIAL {_ascii(device.serial)}",
        f"DEVICE_FIRMWARE {_ascii(device.firmware)}",
    ]
    notes = [
        "NOTE SAMPLE INTERVAL (BIN 3217-3218, TRACE 117-118) IN PICOSECONDS",
        "NOTE X_M Y_M IN SOURCE/GROUP/CDP X Y (UNITS 1) * SCALAR 71-72",
        "NOTE LAT LON DEGREES*1E7 IN TRACE BYTES 233-236 237-240",
        "NOTE ALT_M IN TRACE BYTES 41-48 * SCALAR 69-70; UNKNOWN = -2147483648",
        "NOTE CHANNEL-MAJOR TRACES, CHANNEL IN 13-16, TRACE INDEX IN 9-12",
    ]
    attrs_json = _attrs_json(line.attrs)
    chunk = 70
    attr_rows = [f"ATTRS {attrs_json[i:i + chunk]}" for i in range(0, len(attrs_json), chunk)]
    room = 38 - len(rows) - len(notes)
    if len(attr_rows) > room:
        attr_rows = ["ATTRS_OMITTED TOO LONG FOR THE TEXTUAL HEADER"]
    rows += attr_rows + notes
    rows += [""] * (38 - len(rows)) + ["SEG Y REV1", "END TEXTUAL HEADER"]
    text = "".join(f"C{n:>2} {row[:76]:<76}" for n, row in enumerate(rows, start=1))
    return text.encode("ascii")


def _ascii(text) -> str:
    """Printable ASCII for the textual header: other characters become '?'."""
    return "".join(c if " " <= c <= "~" else "?" for c in str(text))[:60]


def _attrs_json(attrs: dict) -> str:
    if not attrs:
        return ""
    try:
        return json.dumps(attrs, ensure_ascii=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"attrs: expected JSON-able scalars and strings ({exc})") from None


def _scalar_for(values: np.ndarray) -> int:
    """The finest SEG-Y scalar whose scaled |values| fit in int32."""
    finite = values[np.isfinite(values)]
    biggest = float(np.max(np.abs(finite))) if finite.size else 0.0
    for scalar in _SCALARS:
        factor = -scalar if scalar < 0 else 1.0 / scalar
        if biggest * factor <= _INT32_MAX - 1:
            return scalar
    raise ValueError(f"coordinates: |value| {biggest} too large for SEG-Y int32 fields")


def _scaled(values: np.ndarray, scalar: int) -> np.ndarray:
    factor = -scalar if scalar < 0 else 1.0 / scalar
    out = np.full(values.shape, UNKNOWN_INT32, dtype=np.int64)
    ok = np.isfinite(values)
    out[ok] = np.round(values[ok] * factor).astype(np.int64)
    return out


def _trace_header_values(meta: np.ndarray) -> list[dict]:
    """Per trace: the position fields of the trace header."""
    from segyio import TraceField as T

    x, y = np.asarray(meta["x_m"], float), np.asarray(meta["y_m"], float)
    lat, lon, alt = np.asarray(meta["lat"], float), np.asarray(meta["lon"], float), np.asarray(meta["alt_m"], float)
    if np.any(np.abs(lat[np.isfinite(lat)]) > 90) or np.any(np.abs(lon[np.isfinite(lon)]) > 180):
        raise ValueError("trace_meta: lat must be within [-90, 90] and lon within [-180, 180] degrees")
    if np.isfinite(x).any() or np.isfinite(y).any():
        scalar = _scalar_for(np.concatenate([x, y]))
        units, cx, cy = 1, _scaled(x, scalar), _scaled(y, scalar)
    elif np.isfinite(lat).any() or np.isfinite(lon).any():
        scalar, units = -1000, 2
        cx, cy = _scaled(lon * 3600.0, scalar), _scaled(lat * 3600.0, scalar)
    else:
        scalar, units = -1000, 1
        cx = cy = np.full(len(meta), UNKNOWN_INT32, dtype=np.int64)
    elevation_scalar = _scalar_for(alt)
    z = _scaled(alt, elevation_scalar)
    lat_e7, lon_e7 = _scaled(lat, -10_000_000), _scaled(lon, -10_000_000)
    rows = []
    for i in range(len(meta)):
        rows.append({
            T.SourceGroupScalar: scalar, T.CoordinateUnits: units,
            T.SourceX: int(cx[i]), T.SourceY: int(cy[i]), T.GroupX: int(cx[i]), T.GroupY: int(cy[i]),
            T.CDP_X: int(cx[i]), T.CDP_Y: int(cy[i]),
            T.ElevationScalar: elevation_scalar,
            T.ReceiverGroupElevation: int(z[i]), T.SourceSurfaceElevation: int(z[i]),
            T.UnassignedInt1: int(lat_e7[i]), T.UnassignedInt2: int(lon_e7[i]),
        })
    return rows


# ----------------------------------------------------------------------------- reading


def read_segy(path, sample_interval_unit: str = "ps") -> Imported:
    """Read a SEG-Y file as one GPR line (Imported with one GprLine).

    dt_s comes from our textual header (``DT_S``) when present. Otherwise from the binary
    header sample interval (bytes 3217-3218, read as unsigned; the first trace header's
    bytes 117-118 when that is 0) in ``sample_interval_unit``: "ps" by default, the GPR
    convention (RGPR, USGS GPR tools); pass "us" for files following the seismic
    convention (microseconds) or "ns". The unit cannot be told from the file itself.

    Foreign files: positions from Source X/Y (else Group X/Y, else CDP X/Y) with
    SourceGroupScalar; CoordinateUnits 2 (arc-seconds), 3 (degrees) or 4 (DDDMMSS) give
    lon/lat, 0 or 1 give x_m/y_m; fields that are 0 on every trace count as unknown (NaN).
    Samples in formats other than int16/int32/float32 are widened exactly (int8, uint8 ->
    int16; uint16 -> int32) or converted to float32 (IBM float by segyio; float64, uint32 and
    64-bit integers rounded, noted in source_header["converted_from"]); formats segyio
    cannot read (4, 7, 15) are refused. Bad input raises FormatError.
    """
    if sample_interval_unit not in SAMPLE_INTERVAL_UNITS:
        raise ValueError(f"sample_interval_unit: expected one of {sorted(SAMPLE_INTERVAL_UNITS)}, "
                         f"got {sample_interval_unit!r}")
    path = Path(path)
    try:
        return _read_segy(path, sample_interval_unit)
    except FormatError:
        raise
    except Exception as exc:  # segyio raises RuntimeError, OSError, IndexError...: the contract is FormatError
        raise FormatError(path, "SEG-Y file", "a readable SEG-Y file", f"{type(exc).__name__}: {exc}") from exc


def _read_segy(path: Path, unit: str) -> Imported:
    import segyio

    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    size = path.stat().st_size
    if size < _HEADERS_BYTES + _TRACE_HEADER_BYTES:
        raise FormatError(path, "file size", f"at least {_HEADERS_BYTES + _TRACE_HEADER_BYTES} bytes "
                          "(textual + binary header + one trace header)", size)
    with path.open("rb") as handle:
        head = handle.read(_HEADERS_BYTES)
    text, text_encoding = _decode_text(head[:_TEXT_BYTES])
    endian, format_code = _endian_and_format(path, head[_TEXT_BYTES:])

    with segyio.open(str(path), "r", ignore_geometry=True, endian=endian) as f:
        n_file_traces = f.tracecount
        n_samples = len(f.samples)
        if n_file_traces < 1 or n_samples < 1:
            raise FormatError(path, "traces", "at least one trace of at least one sample",
                              f"{n_file_traces} traces x {n_samples} samples")
        binary = {_field_name(k): int(v) for k, v in f.bin.items()}
        first_header = {_field_name(k): int(v) for k, v in f.header[0].items()}
        fields = {name: np.asarray(f.attributes(getattr(segyio.TraceField, name))[:], dtype=np.int64)
                  for name in ("SourceGroupScalar", "CoordinateUnits", "SourceX", "SourceY", "GroupX", "GroupY",
                               "CDP_X", "CDP_Y", "ElevationScalar", "ReceiverGroupElevation",
                               "SourceSurfaceElevation", "UnassignedInt1", "UnassignedInt2", "TraceNumber")}
        data = f.trace.raw[:]

    ours = text.startswith("C 1 " + MAGIC)
    keys = _parse_text(text) if ours else {}
    source_header = {
        "textual_header": text, "textual_header_encoding": text_encoding, "endian": endian,
        "sample_format_code": format_code, "binary_header": binary, "first_trace_header": first_header,
        "sensorkit_layout": ours,
    }
    data, converted_from = _supported_dtype(data)
    if converted_from:
        source_header["converted_from"] = converted_from

    dt_s, dt_source = _dt_seconds(path, keys, binary, first_header, unit)
    source_header["dt_source"] = dt_source

    n_channels = _int_key(path, keys, "CHANNELS", 1)
    if n_channels < 1 or n_file_traces % n_channels:
        raise FormatError(path, "trace count", f"a multiple of CHANNELS {n_channels}", n_file_traces)
    n_traces = n_file_traces // n_channels
    if n_channels > 1:
        expected = np.repeat(np.arange(1, n_channels + 1), n_traces)
        if not np.array_equal(fields["TraceNumber"], expected):
            raise FormatError(path, "TraceNumber (trace bytes 13-16)",
                              f"channels 1..{n_channels} in channel-major order")
        traces = np.ascontiguousarray(data.reshape(n_channels, n_traces, n_samples).transpose(1, 0, 2))
    else:
        traces = data

    first = slice(0, n_traces)  # positions from the first channel's traces
    meta = new_trace_meta(n_traces)
    if ours:
        _positions_ours(meta, {k: v[first] for k, v in fields.items()})
    else:
        _positions_foreign(meta, {k: v[first] for k, v in fields.items()})

    line = GprLine(
        name=keys.get("NAME") or path.stem,
        traces=traces,
        dt_s=dt_s,
        trace_meta=meta,
        device=DeviceInfo(kind="gpr", model=keys.get("DEVICE_MODEL", ""), serial=keys.get("DEVICE_SERIAL", ""),
                          firmware=keys.get("DEVICE_FIRMWARE", ""), port=str(path)),
        centre_frequency_hz=_float_key(path, keys, "CENTRE_FREQUENCY_HZ", math.nan),
        antenna_offset_m=_float_key(path, keys, "ANTENNA_OFFSET_M", math.nan),
        antenna_height_m=_float_key(path, keys, "ANTENNA_HEIGHT_M", 0.0),
        time_zero_s=_float_key(path, keys, "TIME_ZERO_S", 0.0),
        units=keys.get("UNITS", "counts"),
        attrs=_attrs_from_keys(path, keys),
        source_header=source_header,
    )
    return Imported(source=path, format="segy", gpr=[line])


def _decode_text(raw: bytes) -> tuple[str, str]:
    """The textual header as 40 lines of text, from EBCDIC (cp037) or ASCII, whichever reads better."""
    candidates = []
    for encoding, codec in (("ebcdic", "cp037"), ("ascii", "latin-1")):
        text = raw.decode(codec, errors="replace")
        score = sum(c.isalnum() or c == " " for c in text)
        candidates.append((score, encoding, text))
    _, encoding, text = max(candidates, key=lambda c: c[0])
    text = "".join(c if " " <= c <= "~" else " " for c in text)
    return "\n".join(text[i:i + 80].rstrip() for i in range(0, _TEXT_BYTES, 80)), encoding


def _endian_and_format(path: Path, binary: bytes) -> tuple[str, int]:
    """Byte order and sample format code, from the format code field (bytes 3225-3226)."""
    field = "binary header sample format code (bytes 3225-3226)"
    big, = struct.unpack(">h", binary[24:26])
    little, = struct.unpack("<h", binary[24:26])
    endian, code = ("big", big) if big in _KNOWN_FORMATS else ("little", little)
    if code not in _READABLE_FORMATS:
        raise FormatError(path, field, "one of " + ", ".join(map(str, _READABLE_FORMATS)), big)
    return endian, code


def _field_name(key) -> str:
    return getattr(key, "name", str(key))


def _parse_text(text: str) -> dict:
    """KEY value pairs of our textual header (ATTRS lines concatenated)."""
    keys: dict[str, str] = {}
    for row in text.split("\n"):
        content = row[4:].strip()
        key, _, value = content.partition(" ")
        if key == "ATTRS":
            keys["ATTRS"] = keys.get("ATTRS", "") + value.strip()
        elif key.isupper() and key.replace("_", "").isalpha() and key not in keys:
            keys[key] = value.strip()
    return keys


def _float_key(path: Path, keys: dict, key: str, default: float) -> float:
    if key not in keys:
        return default
    try:
        return float(keys[key])
    except ValueError:
        raise FormatError(path, f"textual header {key}", "a number", keys[key]) from None


def _int_key(path: Path, keys: dict, key: str, default: int) -> int:
    if key not in keys:
        return default
    try:
        return int(keys[key])
    except ValueError:
        raise FormatError(path, f"textual header {key}", "an integer", keys[key]) from None


def _attrs_from_keys(path: Path, keys: dict) -> dict:
    if not keys.get("ATTRS"):
        return {}
    try:
        attrs = json.loads(keys["ATTRS"])
    except ValueError:
        raise FormatError(path, "textual header ATTRS", "a JSON object", keys["ATTRS"][:60]) from None
    if not isinstance(attrs, dict):
        raise FormatError(path, "textual header ATTRS", "a JSON object", type(attrs).__name__)
    return attrs


def _dt_seconds(path: Path, keys: dict, binary: dict, first_header: dict, unit: str) -> tuple[float, str]:
    if "DT_S" in keys:
        dt_s = _float_key(path, keys, "DT_S", math.nan)
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise FormatError(path, "textual header DT_S", "a positive number of seconds", keys["DT_S"])
        return dt_s, "textual header DT_S"
    interval = binary.get("Interval", 0) & 0xFFFF
    source = "binary header bytes 3217-3218"
    if interval == 0:
        interval = first_header.get("TRACE_SAMPLE_INTERVAL", 0) & 0xFFFF
        source = "trace header bytes 117-118"
    if interval == 0:
        raise FormatError(path, "sample interval (binary bytes 3217-3218, trace bytes 117-118)", "a positive value", 0)
    return interval / SAMPLE_INTERVAL_UNITS[unit], f"{source} read as {unit}"


def _supported_dtype(data: np.ndarray) -> tuple[np.ndarray, str]:
    dtype = data.dtype
    if dtype in (np.int16, np.int32, np.float32):
        return data, ""
    if dtype in (np.int8, np.uint8):
        return data.astype(np.int16), str(dtype)
    if dtype == np.uint16:
        return data.astype(np.int32), str(dtype)
    return data.astype(np.float32), str(dtype)


def _unscale(values: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """SEG-Y scaled integers to floats: scalar < 0 divides, > 0 multiplies, 0 means 1."""
    s = scalars.astype(float)
    factor = np.where(s < 0, -1.0 / np.where(s < 0, s, -1.0), np.where(s > 0, s, 1.0))
    return values.astype(float) * factor


def _positions_ours(meta: np.ndarray, fields: dict) -> None:
    units = fields["CoordinateUnits"]
    x = _unscale(fields["SourceX"], fields["SourceGroupScalar"])
    y = _unscale(fields["SourceY"], fields["SourceGroupScalar"])
    x[fields["SourceX"] == UNKNOWN_INT32] = np.nan
    y[fields["SourceY"] == UNKNOWN_INT32] = np.nan
    metres = units != 2
    meta["x_m"] = np.where(metres, x, np.nan)
    meta["y_m"] = np.where(metres, y, np.nan)
    for name, field in (("lat", "UnassignedInt1"), ("lon", "UnassignedInt2")):
        value = fields[field].astype(float) / 1e7
        value[fields[field] == UNKNOWN_INT32] = np.nan
        meta[name] = value
    alt = _unscale(fields["SourceSurfaceElevation"], fields["ElevationScalar"])
    alt[fields["SourceSurfaceElevation"] == UNKNOWN_INT32] = np.nan
    meta["alt_m"] = alt


def _positions_foreign(meta: np.ndarray, fields: dict) -> None:
    scalars = fields["SourceGroupScalar"]
    for fx, fy in (("SourceX", "SourceY"), ("GroupX", "GroupY"), ("CDP_X", "CDP_Y")):
        if np.any(fields[fx]) or np.any(fields[fy]):
            x, y = _unscale(fields[fx], scalars), _unscale(fields[fy], scalars)
            break
    else:
        x = y = None
    if x is not None:
        units = fields["CoordinateUnits"]
        metres = (units == 0) | (units == 1)
        meta["x_m"] = np.where(metres, x, np.nan)
        meta["y_m"] = np.where(metres, y, np.nan)
        lon = np.where(units == 2, x / 3600.0, np.where(units == 3, x, np.where(units == 4, _dms(x), np.nan)))
        lat = np.where(units == 2, y / 3600.0, np.where(units == 3, y, np.where(units == 4, _dms(y), np.nan)))
        meta["lon"], meta["lat"] = lon, lat
    for field in ("ReceiverGroupElevation", "SourceSurfaceElevation"):
        if np.any(fields[field]):
            meta["alt_m"] = _unscale(fields[field], fields["ElevationScalar"])
            break


def _dms(values: np.ndarray) -> np.ndarray:
    """DDDMMSS.ss (CoordinateUnits 4) to decimal degrees."""
    sign, a = np.sign(values), np.abs(values)
    degrees = np.floor(a / 10000)
    minutes = np.floor((a - degrees * 10000) / 100)
    seconds = a - degrees * 10000 - minutes * 100
    return sign * (degrees + minutes / 60 + seconds / 3600)
