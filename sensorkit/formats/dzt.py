"""GSSI DZT (RADAN) files, with their DZX (XML) and DZG (NMEA per scan) side files.

File layout (little-endian): one 1024-byte header block per channel, possibly followed by more
header space (gain function, processing history, SIR-4000 extended header), then the scans. The
data start at ``1024 * rh_data`` bytes when ``rh_data < 1024`` (SIR-4000 "big" headers; 128 ->
131072 bytes) and at ``1024 * rh_nchan`` otherwise, the rule of GSSI's format note that GPRPy and
readgssi follow. A scan holds ``rh_nchan`` traces one after the other (channel 0's ``rh_nsamp``
samples, then channel 1's, ...). Samples are unsigned offset binary for 8 and 16 bits and signed
int32 for 32 bits (SIR-4000), as in GPRPy, readgssi and ImpDAR. They are returned exactly, as
int16 (8/16 bits, offset removed: value - 2**(bits-1)) or int32, in "counts".

Decisions (see the docstring of :func:`read_dzt` for the details):

- dt_s = rhf_range / rh_nsamp: the range is the window of rh_nsamp samples, so time_window_s equals
  the range (readgssi and ImpDAR do the same; GPRPy's linspace(0, range, nsamp) spreads the window
  over nsamp - 1 steps).
- time_zero_s = -rhf_position: the "position" setting is the start of the window relative to time
  zero. The SIR-4000 file of ImpDAR's tests has position -230 ns and its direct wave at 225-235 ns,
  and rhf_top (11.11 m at eps_r 9.64) is the depth of those 230 ns. rh_zero is kept as an
  attribute but not used: it is 0 (16-bit SIR-3000) or 1 (SIR-4000) in the real files, where the
  direct wave sits at sample ~50 and ~205, and GSSI's note calls it the binary offset (0x80, 0x8000)
  or, for SIR-30 and UtilityScan DF, repeats per sample.
- The first two samples of each trace are not radar data: sample 0 counts scans and sample 1 holds
  the user-mark word (readgssi reads them so, ImpDAR overwrites them with sample 2). They are
  decoded into metadata (marks; gaps in the counter set FLAG_GAP_BEFORE) and then, unless
  ``keep_header_samples=True``, replaced by sample 2 as ImpDAR does, so that no filter sees them.
- A partial last scan (a recording cut while writing) is dropped; its size is kept in
  attrs["dropped_partial_scan_bytes"]. A file without one whole scan is a FormatError.
- Side files are optional and read tolerantly: a malformed DZX or bad DZG lines are reported in
  source_header and never stop the import of the radar data.
"""

from __future__ import annotations

import datetime
import math
import re
import struct
import xml.etree.ElementTree as ElementTree
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
from sensorkit.nmea import Gga, NmeaError, Rmc, parse_sentence
from sensorkit.store.schema import FLAG_GAP_BEFORE, FLAG_POSITION_FROM_WHEEL, FLAG_POSITION_INTERPOLATED

#: Size of one channel's header block.
HEADER_BLOCK_BYTES = 1024
#: Channels accepted (GSSI units record 1 to 4, arrays up to a few tens).
MAX_CHANNELS = 64
#: Largest plausible range (time window), ns: deep ice sounders use tens of microseconds.
MAX_RANGE_NS = 1.0e6

#: GSSI control units by the 5-bit system code of header byte 113 (readgssi's table).
SYSTEMS = {
    2: "SIR 2000", 3: "SIR 3000", 4: "TerraVision", 6: "SIR 20", 7: "StructureScan Mini",
    8: "SIR 4000", 9: "SIR 30", 10: "SIR 30", 12: "UtilityScan DF", 13: "HS", 14: "StructureScan Mini XT",
}

#: Centre frequency (MHz) of GSSI antenna model codes as written in rh_antname (None: adjustable).
ANTENNA_MHZ = {
    "3200": None, "3200MLF": None,
    "3207": 100, "3207AP": 100,
    "5106": 200, "5106A": 200,
    "50270": 270, "50270S": 270,
    "50300": 300, "D50300": 300,
    "350": 350, "350HS": 350,
    "5103": 400, "5103A": 400, "50400": 400, "50400S": 400,
    "800": 800, "D50800": 800,
    "3101": 900, "3101A": 900,
    "51600": 1600, "51600S": 1600,
    "62000": 2000, "62000-003": 2000,
    "62300": 2300, "62300XT": 2300,
    "52600": 2600, "52600S": 2600,
}

# (name, byte offset, struct format) of the fixed part of a header block
_FIELDS = (
    ("rh_tag", 0, "<H"), ("rh_data", 2, "<H"), ("rh_nsamp", 4, "<H"), ("rh_bits", 6, "<H"),
    ("rh_zero", 8, "<h"), ("rhf_sps", 10, "<f"), ("rhf_spm", 14, "<f"), ("rhf_mpm", 18, "<f"),
    ("rhf_position", 22, "<f"), ("rhf_range", 26, "<f"), ("rh_npass", 30, "<H"),
    ("rhb_cdt", 32, "<I"), ("rhb_mdt", 36, "<I"),
    ("rh_rgain", 40, "<H"), ("rh_nrgain", 42, "<H"), ("rh_text", 44, "<H"), ("rh_ntext", 46, "<H"),
    ("rh_proc", 48, "<H"), ("rh_nproc", 50, "<H"), ("rh_nchan", 52, "<H"),
    ("rhf_epsr", 54, "<f"), ("rhf_top", 58, "<f"), ("rhf_depth", 62, "<f"),
    ("rh_xstart", 66, "<f"), ("rh_xend", 70, "<f"), ("rhf_servo_level", 74, "<f"),
    ("rh_accomp", 81, "<B"), ("rh_sconfig", 82, "<h"), ("rh_spp", 84, "<h"), ("rh_linenum", 86, "<h"),
    ("rh_ystart", 88, "<f"), ("rh_yend", 92, "<f"), ("rh_dtype", 97, "<B"),
    ("rh_chanmask", 112, "<H"),  # ImpDAR's name for bytes 112-113; byte 113 also holds rh_version / rh_system
    ("rh_chksum", 126, "<H"),
)


def read_dzt(path, *, keep_header_samples: bool = False) -> Imported:
    """Read a GSSI DZT file and its DZX/DZG side files (same stem, any case of extension).

    Returns one GprLine: traces (n_traces, n_samples) for one channel, or
    (n_traces, n_channels, n_samples) when all channels share range, position and antenna
    frequency (an antenna array); channels that differ in any of these (e.g. a dual-frequency
    antenna) cannot share one dt_s / centre frequency and become one GprLine each, named
    ``<stem>_ch<k>``.

    trace_meta: x_m = trace / rhf_spm with FLAG_POSITION_FROM_WHEEL when rhf_spm > 0 (distance
    triggered); NaN for time-triggered files (rhf_spm == 0; attrs["scans_per_s"] keeps rhf_sps).
    lat, lon, alt_m come from the DZG: fixes are tied to scans by the ``$GSSIS,scan,...`` line before
    them and interpolated linearly in scan number (FLAG_POSITION_INTERPOLATED), never extrapolated
    beyond the first and last fix. Every fix with a position is used whatever its GGA quality (the
    GnssTrack keeps the quality). Gaps in the scan counter of sample 0 set FLAG_GAP_BEFORE.

    The data layout (samples, bits, channels, offset) comes from channel 0's header block; the
    blocks of the other channels give their range, position and antenna name. rh_tag is not
    checked (the real files hold 0x0700 and 0x07FF where GSSI's note says 0x00FF).

    ``keep_header_samples=True`` returns samples 0 and 1 of every trace as stored (scan counter and
    mark word, converted like the radar samples) instead of copies of sample 2.

    Raises FormatError (naming the file and the header field) on an empty, truncated or garbled file.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    with path.open("rb") as handle:
        file_size = handle.seek(0, 2)
        handle.seek(0)
        if file_size < HEADER_BLOCK_BYTES:
            raise FormatError(path, "header", f"at least {HEADER_BLOCK_BYTES} bytes", f"{file_size} bytes")
        first = handle.read(HEADER_BLOCK_BYTES)
        header = _parse_header_block(first)
        layout = _check_layout(path, header, file_size)
        handle.seek(0)
        header_area = handle.read(layout["data_offset"])
        raw = _read_scans(path, handle, layout)

    n_traces, n_channels, n_samples = raw.shape
    channels = [header] + [_parse_header_block(header_area[k * HEADER_BLOCK_BYTES:(k + 1) * HEADER_BLOCK_BYTES])
                           for k in range(1, n_channels)]
    settings = [_channel_settings(channels[k], header) for k in range(n_channels)]

    markers = _decode_header_samples(raw, header["rh_bits"])
    samples = _to_signed(raw, header["rh_bits"])  # may reuse raw's memory (32 bits)
    if not keep_header_samples:
        samples[..., 0] = samples[..., 2]
        samples[..., 1] = samples[..., 2]

    dzx = _read_dzx(side) if (side := find_side_file(path, ".dzx")) else None
    dzg = _read_dzg(side) if (side := find_side_file(path, ".dzg")) else None

    meta = new_trace_meta(n_traces)
    meta["flags"][markers["gap_before"]] |= FLAG_GAP_BEFORE
    spm = header["rhf_spm"]
    if spm > 0:
        meta["x_m"] = np.arange(n_traces) / spm
        meta["flags"] |= FLAG_POSITION_FROM_WHEEL
    if dzg is not None:
        _positions_from_fixes(meta, dzg["fixes"], dzg["scans"])

    source_header = {
        "header": _json_header(header),
        "channels": [_json_header(block) for block in channels[1:]],
        "raw_header_hex": [header_area[k * HEADER_BLOCK_BYTES:(k + 1) * HEADER_BLOCK_BYTES].hex()
                           for k in range(n_channels)],
        **_header_sections(header, header_area),
        "marks": markers["marks"],
        "scan_counter_gaps": markers["gap_traces"],
    }
    if dzx is not None:
        source_header["dzx"] = dzx["info"]
        source_header["dzx_text"] = dzx["text"]
    if dzg is not None:
        source_header["dzg"] = dzg["info"]

    system_code = header["rh_system"]
    system = SYSTEMS.get(system_code, "")
    if not system and dzx is not None:
        system = str(dzx["info"].get("data_collection", {}).get("system", ""))
    firmware = "" if dzx is None else str(dzx["info"].get("data_collection", {}).get("softwareVersion", ""))
    attrs = {
        "rel_permittivity": _finite_or_none(header["rhf_epsr"]),
        "scans_per_m": float(spm),
        "scans_per_s": float(header["rhf_sps"]),
        "metres_per_mark": _finite_or_none(header["rhf_mpm"]),
        "samples_per_trace": n_samples,
        "bits_per_sample": header["rh_bits"],
        "n_channels": n_channels,
        "range_s": header["rhf_range"] * 1e-9,
        "position_s": header["rhf_position"] * 1e-9,
        "rh_zero": header["rh_zero"],
        "top_m": _finite_or_none(header["rhf_top"]),
        "depth_m": _finite_or_none(header["rhf_depth"]),
        "system_code": system_code,
        "gps_capable": header["rh_version"] == 2,
        "created_utc": _decode_date(header["rhb_cdt"]) or "",
        "modified_utc": _decode_date(header["rhb_mdt"]) or "",
        "data_offset_bytes": layout["data_offset"],
        "dropped_partial_scan_bytes": layout["partial_bytes"],
        "header_samples": "kept" if keep_header_samples else "replaced by sample 2",
        "n_marks": len(markers["marks"]),
        "n_scan_counter_gaps": len(markers["gap_traces"]),
    }
    attrs = {key: value for key, value in attrs.items() if value is not None}
    device_config = {
        "antennas": [s["antenna_name"] for s in settings],
        "centre_frequencies_hz": [None if math.isnan(s["frequency_hz"]) else s["frequency_hz"] for s in settings],
        "system_code": system_code,
        "scans_per_s": float(header["rhf_sps"]),
        "scans_per_m": float(spm),
        "n_channels": n_channels,
    }
    device = DeviceInfo(kind="gpr", model=f"GSSI {system}" if system else f"GSSI (system code {system_code})",
                        firmware=firmware, port=str(path), config=device_config)

    keys = {(s["range_ns"], s["position_ns"], s["frequency_hz"] if not math.isnan(s["frequency_hz"]) else None)
            for s in settings}
    if len(keys) == 1:
        groups = [(path.stem, list(range(n_channels)))]
    else:
        groups = [(f"{path.stem}_ch{k}", [k]) for k in range(n_channels)]
    lines = []
    for name, members in groups:
        s = settings[members[0]]
        traces = samples[:, members[0], :] if len(members) == 1 else samples
        line_attrs = dict(attrs, antenna_name=s["antenna_name"], channels=",".join(map(str, members)))
        lines.append(GprLine(
            name=name,
            traces=np.ascontiguousarray(traces),
            dt_s=s["range_ns"] / n_samples * 1e-9,
            trace_meta=meta.copy(),
            device=device,
            centre_frequency_hz=s["frequency_hz"],
            time_zero_s=0.0 - s["position_ns"] * 1e-9,
            units="counts",
            attrs=line_attrs,
            source_header=source_header,
        ))

    imported = Imported(source=path, format="dzt", gpr=lines)
    if dzg is not None and len(dzg["fixes"]):
        imported.gnss.append(GnssTrack(
            name=f"{path.stem}_dzg",
            fixes=dzg["fixes"],
            device=DeviceInfo(kind="gnss", model="NMEA receiver recorded by the GSSI unit", port=str(dzg["path"])),
            source_header={**dzg["info"], "scans": dzg["scans"].tolist()},
        ))
    return imported


# ----------------------------------------------------------------------------------------- header


def _parse_header_block(block: bytes) -> dict:
    """The fixed fields of one 1024-byte header block, as Python numbers and strings."""
    header = {name: struct.unpack_from(fmt, block, offset)[0] for name, offset, fmt in _FIELDS}
    header["rh_lineorder"] = block[96] & 0x0F
    header["rh_slicetype"] = block[96] >> 4
    header["rh_antname"] = _text(block[98:112])
    header["rh_version"] = block[113] & 7  # 1 no GPS, 2 GPS capable (readgssi)
    header["rh_system"] = block[113] >> 3  # control unit, see SYSTEMS
    header["rh_name"] = _text(block[114:126])
    return header


def _check_layout(path: Path, header: dict, file_size: int) -> dict:
    """Validate the fields the data layout depends on; return offsets and sizes."""
    nsamp, bits, nchan, rh_data = header["rh_nsamp"], header["rh_bits"], header["rh_nchan"], header["rh_data"]
    if bits not in (8, 16, 32):
        raise FormatError(path, "rh_bits", "8, 16 or 32 bits per sample", bits)
    if nsamp < 3:
        raise FormatError(path, "rh_nsamp", "at least 3 samples per trace (2 header words and data)", nsamp)
    if not 1 <= nchan <= MAX_CHANNELS:
        raise FormatError(path, "rh_nchan", f"1 to {MAX_CHANNELS} channels", nchan)
    for name in ("rhf_sps", "rhf_spm"):
        value = header[name]
        if not math.isfinite(value) or value < 0:
            raise FormatError(path, name, "a finite value >= 0", value)
    range_ns = header["rhf_range"]
    if not math.isfinite(range_ns) or not 0 < range_ns <= MAX_RANGE_NS:
        raise FormatError(path, "rhf_range", f"a time window in (0, {MAX_RANGE_NS:g}] ns", range_ns)
    position_ns = header["rhf_position"]
    if not math.isfinite(position_ns) or abs(position_ns) > MAX_RANGE_NS:
        raise FormatError(path, "rhf_position", f"a finite position within +-{MAX_RANGE_NS:g} ns", position_ns)
    data_offset = HEADER_BLOCK_BYTES * (rh_data if rh_data < HEADER_BLOCK_BYTES else nchan)
    if data_offset < HEADER_BLOCK_BYTES * nchan:
        raise FormatError(path, "rh_data", f"a data offset of at least {HEADER_BLOCK_BYTES * nchan} bytes "
                                           f"({nchan} header blocks)", data_offset)
    if data_offset > file_size:
        raise FormatError(path, "rh_data", f"a data offset within the file ({file_size} bytes)", data_offset)
    scan_bytes = nchan * nsamp * bits // 8
    n_scans, partial = divmod(file_size - data_offset, scan_bytes)
    if n_scans == 0:
        raise FormatError(path, "data", f"at least one whole scan of {scan_bytes} bytes after the header",
                          f"{file_size - data_offset} bytes")
    return {"data_offset": data_offset, "n_scans": n_scans, "partial_bytes": partial,
            "dtype": {8: "<u1", 16: "<u2", 32: "<i4"}[bits], "shape": (n_scans, nchan, nsamp)}


def _read_scans(path: Path, handle, layout: dict) -> np.ndarray:
    """Raw samples (n_scans, n_channels, n_samples) in the file's own integer type."""
    handle.seek(layout["data_offset"])
    count = int(np.prod(layout["shape"]))
    raw = np.fromfile(handle, dtype=layout["dtype"], count=count)
    if raw.size != count:  # the file shrank while being read
        raise FormatError(path, "data", f"{count} samples", raw.size)
    return raw.reshape(layout["shape"]).astype(layout["dtype"][1:], copy=False)


def _to_signed(raw: np.ndarray, bits: int) -> np.ndarray:
    """Offset binary (8/16 bits) -> two's complement int16, exactly (x ^ 0x80..0 == x - 2**(bits-1)); int32 as is."""
    if bits == 8:
        return (raw ^ np.uint8(0x80)).view(np.int8).astype(np.int16)
    if bits == 16:
        return (raw ^ np.uint16(0x8000)).view(np.int16)
    return raw


def _decode_header_samples(raw: np.ndarray, bits: int) -> dict:
    """Marks (sample 1 != 0) and scan-counter gaps (sample 0) of channel 0's traces.

    Sample 0 is taken as a counter only if at least 90 % of its steps are +1 (modulo 2**bits); a
    trace whose counter does not follow its predecessor's by one then gets FLAG_GAP_BEFORE.
    As readgssi does, marks on every trace mean the word is not a mark word and are dropped.
    """
    n_traces = raw.shape[0]
    counter = raw[:, 0, 0].astype(np.int64)
    mark_word = raw[:, 0, 1]
    marks = np.flatnonzero(mark_word != 0)
    if len(marks) == n_traces and n_traces > 1:
        marks = marks[:0]
    gap_before = np.zeros(n_traces, dtype=bool)
    if n_traces > 2:
        steps = np.diff(counter) % (1 << bits)
        if np.mean(steps == 1) >= 0.9:
            gap_before[1:] = steps != 1
    return {"marks": [int(i) for i in marks], "gap_before": gap_before,
            "gap_traces": [int(i) for i in np.flatnonzero(gap_before)]}


def _channel_settings(block: dict, first: dict) -> dict:
    """Range, position and antenna of one channel; a block whose range looks unset takes channel 0's."""
    range_ns, position_ns = block["rhf_range"], block["rhf_position"]
    if not (math.isfinite(range_ns) and 0 < range_ns <= MAX_RANGE_NS
            and math.isfinite(position_ns) and abs(position_ns) <= MAX_RANGE_NS):
        range_ns, position_ns = first["rhf_range"], first["rhf_position"]
    name = block["rh_antname"] or first["rh_antname"]
    return {"range_ns": float(range_ns), "position_ns": float(position_ns), "antenna_name": name,
            "frequency_hz": antenna_frequency_hz(name)}


def antenna_frequency_hz(name: str) -> float:
    """Centre frequency (Hz) of a GSSI antenna name: a model code ("5106", "51600S") or "400MHz"; NaN if unknown."""
    name = name.strip()
    candidates = [name, name.upper(), name.split("x")[0].strip(), re.split(r"[\s_]", name)[0]]
    for key in candidates:
        if key in ANTENNA_MHZ:
            mhz = ANTENNA_MHZ[key]
            return math.nan if mhz is None else mhz * 1e6
    match = re.search(r"(\d+(?:\.\d+)?)\s*([MG])HZ", name.upper())
    if match:
        return float(match.group(1)) * (1e9 if match.group(2) == "G" else 1e6)
    return math.nan


def _decode_date(word: int) -> str | None:
    """GSSI date word (bits: 0-4 sec/2, 5-10 min, 11-15 hour, 16-20 day, 21-24 month, 25-31 year-1980) -> ISO text."""
    if word == 0:
        return None
    second, minute, hour = (word & 0x1F) * 2, (word >> 5) & 0x3F, (word >> 11) & 0x1F
    day, month, year = (word >> 16) & 0x1F, (word >> 21) & 0x0F, (word >> 25) + 1980
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    try:
        return datetime.datetime(year, month, day, hour, minute, second).isoformat()
    except ValueError:  # e.g. 31 February
        return None


def _header_sections(header: dict, header_area: bytes) -> dict:
    """Range gain, text and processing history blocks pointed to by the header, when inside the header area."""
    out = {}
    for name, offset_field, size_field in (("range_gain_hex", "rh_rgain", "rh_nrgain"),
                                           ("text", "rh_text", "rh_ntext"),
                                           ("processing_hex", "rh_proc", "rh_nproc")):
        offset, size = header[offset_field], header[size_field]
        if size == 0 or offset + size > len(header_area):
            continue
        chunk = header_area[offset:offset + size]
        out[name] = _text(chunk) if name == "text" else chunk.hex()
    return out


def _json_header(header: dict) -> dict:
    """A header dict with JSON-safe values: non-finite floats -> None, dates decoded beside the raw words."""
    out = {key: (value if not isinstance(value, float) or math.isfinite(value) else None)
           for key, value in header.items()}
    out["rhb_cdt_utc"] = _decode_date(header["rhb_cdt"])
    out["rhb_mdt_utc"] = _decode_date(header["rhb_mdt"])
    return out


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ------------------------------------------------------------------------------------- side files



def _read_dzx(path: Path) -> dict:
    """What is useful in a DZX: global properties, data collection settings, waypoints and marks.

    Returns {"text": raw XML text, "info": {...}}; a DZX that is not well-formed XML gives
    info["error"] and nothing else.
    """
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    info: dict = {"file": path.name}
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as error:
        info["error"] = f"not well-formed XML: {error}"
        return {"text": text, "info": info}

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def leaves(element) -> dict:
        return {local(child.tag): _xml_value(child.text) for child in element if len(child) == 0}

    waypoints, targets = [], []
    for element in root.iter():
        tag = local(element.tag)
        if tag in ("GlobalProperties", "DataCollection"):
            info.setdefault("global_properties" if tag == "GlobalProperties" else "data_collection",
                            {}).update(leaves(element))
        elif tag == "WayPt":
            waypoints.append(leaves(element))
        elif tag == "TargetWayPt":
            targets.append(leaves(element))
        elif tag == "scanRange" and "scan_range" not in info:
            info["scan_range"] = _xml_value(element.text)
    info["waypoints"] = waypoints
    if targets:
        info["targets"] = targets
    info["user_marks"] = sorted(w["scan"] for w in waypoints
                                if w.get("mark") == "User" and isinstance(w.get("scan"), int))
    return {"text": text, "info": info}


def _xml_value(text):
    """Leaf text -> int, float or stripped str (None if empty)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if kind is int or math.isfinite(value) else text
    return text


def _read_dzg(path: Path) -> dict:
    """GNSS fixes of a DZG: ``$GSSIS,scan,time`` lines, each followed by the NMEA sentences of that scan.

    The first GGA after a $GSSIS line is the fix of that scan (scan -1 when no $GSSIS precedes it);
    an RMC in the same block gives the date. device_time_ns is UTC ns since 1970 when every fix
    has a date, else UTC ns since midnight of the first fix's day (unwrapped across midnight);
    info["device_time"] says which. Lines that do not parse are counted and skipped.
    """
    text = path.read_bytes().decode("ascii", errors="replace")
    rows = []  # (scan, Gga, date or None)
    bad_lines: list[str] = []
    n_bad = 0
    scan, block_gga, block_date = -1, None, None

    def close_block():
        if block_gga is not None:
            rows.append((scan, block_gga, block_date))

    for line in text.splitlines():
        try:
            sentence = parse_sentence(line)
        except NmeaError as error:
            n_bad += 1
            if len(bad_lines) < 5:
                bad_lines.append(f"{line[:80]} ({error})")
            continue
        if sentence is None:
            continue
        if sentence.address == "GSSIS":
            close_block()
            block_gga, block_date = None, None
            try:
                scan = int(sentence.fields[0])
            except (IndexError, ValueError):
                scan = -1
                n_bad += 1
                if len(bad_lines) < 5:
                    bad_lines.append(f"{line[:80]} (scan number expected)")
        elif isinstance(sentence.data, Gga) and block_gga is None:
            block_gga = sentence.data
        elif isinstance(sentence.data, Rmc) and sentence.data.date is not None:
            block_date = sentence.data.date
    close_block()

    fixes = new_gnss_fixes(len(rows))
    scans = np.array([row[0] for row in rows], dtype=np.int64)
    times = []
    for i, (_, gga, _) in enumerate(rows):
        fixes["lat"][i] = np.nan if gga.lat is None else gga.lat
        fixes["lon"][i] = np.nan if gga.lon is None else gga.lon
        fixes["alt_m"][i] = np.nan if gga.alt_m is None else gga.alt_m
        fixes["hdop"][i] = np.nan if gga.hdop is None else gga.hdop
        fixes["quality"][i] = -1 if gga.quality is None else min(gga.quality, 32767)
        fixes["n_sats"][i] = -1 if gga.n_sats is None else min(gga.n_sats, 32767)
        times.append(gga.time_of_day_s)
    dated = bool(rows) and all(row[2] is not None and row[1].time_of_day_s is not None for row in rows)
    if dated:
        for i, (_, gga, date) in enumerate(rows):
            midnight = datetime.datetime(date.year, date.month, date.day, tzinfo=datetime.timezone.utc)
            fixes["device_time_ns"][i] = int(round((midnight.timestamp() + gga.time_of_day_s) * 1e9))
    else:
        day_s, previous = 0.0, None
        for i, seconds in enumerate(times):
            if seconds is None:
                continue
            if previous is not None and seconds < previous - 43200.0:
                day_s += 86400.0
            previous = seconds
            fixes["device_time_ns"][i] = int(round((day_s + seconds) * 1e9))
    info = {
        "file": path.name,
        "n_fixes": len(rows),
        "n_bad_lines": n_bad,
        "bad_lines": bad_lines,
        "device_time": "UTC ns since 1970-01-01" if dated else "UTC ns since midnight of the first fix (date unknown)",
    }
    return {"path": path, "fixes": fixes, "scans": scans, "info": info}


def _positions_from_fixes(meta: np.ndarray, fixes: np.ndarray, scans: np.ndarray) -> None:
    """Fill lat, lon, alt_m of trace_meta by linear interpolation in scan number between fixes (in place)."""
    usable = (scans >= 0) & np.isfinite(fixes["lat"]) & np.isfinite(fixes["lon"])
    if not usable.any():
        return
    order = np.argsort(scans[usable], kind="stable")
    fix_scans = scans[usable][order].astype(np.float64)
    fix_scans, first = np.unique(fix_scans, return_index=True)  # keep the first fix of a repeated scan
    chosen = fixes[usable][order][first]
    traces = np.arange(len(meta), dtype=np.float64)
    inside = (traces >= fix_scans[0]) & (traces <= fix_scans[-1])
    if not inside.any():
        return
    meta["lat"][inside] = np.interp(traces[inside], fix_scans, chosen["lat"])
    lon = np.interp(traces[inside], fix_scans, np.unwrap(chosen["lon"], period=360.0))  # across +-180 too
    meta["lon"][inside] = np.where(lon > 180.0, lon - 360.0, np.where(lon < -180.0, lon + 360.0, lon))
    has_alt = np.isfinite(chosen["alt_m"])
    if has_alt.any():
        alt_scans = fix_scans[has_alt]
        within = inside & (traces >= alt_scans[0]) & (traces <= alt_scans[-1])
        meta["alt_m"][within] = np.interp(traces[within], alt_scans, chosen["alt_m"][has_alt])
    meta["flags"][inside] |= FLAG_POSITION_INTERPOLATED
