"""The recording format, version 1: names, compound dtypes and sentinel values (see docs/format.md)."""

import h5py
import numpy as np

FORMAT_NAME = "sensorkit-recording"
FORMAT_VERSION = "1.0"
FORMAT_MAJOR = 1

#: Integer fields that are not known hold this value; float fields hold NaN.
UNKNOWN_INT = -1

STREAM_KINDS = ("gpr", "acoustic", "gnss")
EVENT_KINDS = ("gap", "reconnect", "reset", "overrun", "error", "note")

#: Bits of the `flags` field of trace_meta and blocks.
FLAG_GAP_BEFORE = 1  # one or more records were lost just before this one
FLAG_POSITION_INTERPOLATED = 2  # x_m, y_m, lat, lon, alt_m were interpolated from GNSS fixes
FLAG_POSITION_FROM_WHEEL = 4  # x_m comes from encoder ticks
FLAG_CLIPPED = 8  # the device reported saturated samples

_STR = h5py.string_dtype("utf-8")

TRACE_META_DTYPE = np.dtype([
    ("seq", "<i8"),
    ("device_time_ns", "<i8"),
    ("host_time_ns", "<i8"),
    ("encoder_ticks", "<i8"),
    ("x_m", "<f8"),
    ("y_m", "<f8"),
    ("lat", "<f8"),
    ("lon", "<f8"),
    ("alt_m", "<f8"),
    ("flags", "<u4"),
])

BLOCK_META_DTYPE = np.dtype([
    ("seq", "<i8"),
    ("first_frame", "<i8"),
    ("device_time_ns", "<i8"),
    ("host_time_ns", "<i8"),
    ("flags", "<u4"),
])

GNSS_FIX_DTYPE = np.dtype([
    ("host_time_ns", "<i8"),
    ("device_time_ns", "<i8"),
    ("lat", "<f8"),
    ("lon", "<f8"),
    ("alt_m", "<f8"),
    ("quality", "<i2"),
    ("n_sats", "<i2"),
    ("hdop", "<f4"),
])

EVENT_DTYPE = np.dtype([
    ("host_time_ns", "<i8"),
    ("stream", _STR),
    ("kind", _STR),
    ("detail", _STR),
])

#: What each field means, written as attributes beside the compound datasets.
FIELD_DOCS = {
    "seq": "sequence number of the record in its stream (wire seq unwrapped; -1 unknown)",
    "device_time_ns": "device clock at the trigger or first sample, ns (-1 unknown)",
    "host_time_ns": "host UTC time when received, ns since 1970-01-01 (-1 unknown)",
    "encoder_ticks": "survey wheel ticks at the trigger (-1 unknown)",
    "x_m": "along-line position in the survey frame, m (NaN unknown)",
    "y_m": "across-line position in the survey frame, m (NaN unknown)",
    "lat": "WGS84 latitude, degrees (NaN unknown)",
    "lon": "WGS84 longitude, degrees (NaN unknown)",
    "alt_m": "altitude above mean sea level, m (NaN unknown)",
    "flags": "bit field: 1 gap before, 2 position interpolated from GNSS, 4 position from wheel, 8 clipped",
    "first_frame": "index of the block's first frame in the samples dataset",
    "quality": "GGA fix quality (0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float; -1 unknown)",
    "n_sats": "satellites used (-1 unknown)",
    "hdop": "horizontal dilution of precision (NaN unknown)",
    "stream": "the stream the event concerns, as group path (e.g. gpr/cart)",
    "kind": "gap | reconnect | reset | overrun | error | note",
    "detail": "JSON text: for gap, first_missing_seq and n_missing",
}


def empty_records(dtype: np.dtype, n: int) -> np.ndarray:
    """`n` records of a compound dtype with every field set to its 'unknown' value."""
    out = np.zeros(n, dtype=dtype)
    for name in dtype.names:
        kind = dtype[name].kind
        if kind == "f":
            out[name] = np.nan
        elif kind == "i":
            out[name] = UNKNOWN_INT
        elif kind == "O":
            out[name] = ""
    return out
