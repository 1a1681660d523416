"""GSSI DZT importer: real files (values from shared/data/README.md and their headers) and synthetic files."""

import json
import math
import struct

import numpy as np
import pytest

from sensorkit.errors import FormatError
from sensorkit.formats.dzt import antenna_frequency_hz, read_dzt
from sensorkit.store.schema import FLAG_GAP_BEFORE, FLAG_POSITION_FROM_WHEEL, FLAG_POSITION_INTERPOLATED


def raw_scans(path, offset, dtype, n_samples):
    """The file's samples decoded here independently: (n_traces, n_samples) as int64, offset binary removed."""
    data = np.frombuffer(path.read_bytes()[offset:], dtype=dtype).astype(np.int64)
    if dtype != "<i4":
        data -= 1 << (8 * np.dtype(dtype).itemsize - 1)
    return data.reshape(-1, n_samples)


def assert_json_able(line):
    json.dumps(line.source_header, allow_nan=False)
    json.dumps(line.attrs)
    json.dumps(line.device.config, allow_nan=False)


# ------------------------------------------------------------------------------------ real files


def test_gprpy_example_file(shared_data):
    path = shared_data / "gpr" / "gprpy-examples" / "GSSI" / "FILE____032.DZT"
    imported = read_dzt(path)
    assert imported.format == "dzt" and imported.gnss == [] and len(imported.gpr) == 1
    line = imported.gpr[0]
    assert line.name == "FILE____032"
    assert line.traces.shape == (1040, 512) and line.traces.dtype == np.int16
    assert line.dt_s == pytest.approx(48e-9 / 512, rel=1e-12)
    assert line.time_window_s == pytest.approx(48e-9, rel=1e-12)
    assert line.time_zero_s == 0.0  # rhf_position 0
    assert line.centre_frequency_hz == 400e6  # rh_antname "400MHz"
    assert line.units == "counts"
    assert line.device.model == "GSSI SIR 3000" and line.device.kind == "gpr"
    a = line.attrs
    assert (a["scans_per_m"], a["scans_per_s"], a["bits_per_sample"], a["n_channels"]) == (50.0, 100.0, 16, 1)
    assert a["rel_permittivity"] == 6.0 and a["metres_per_mark"] == 0.5
    assert a["created_utc"] == "2017-03-21T00:36:46" and a["modified_utc"] == "2017-03-21T00:38:06"
    meta = line.trace_meta
    assert np.array_equal(meta["seq"], np.arange(1040))
    assert np.diff(meta["x_m"]) == pytest.approx(np.full(1039, 0.02))
    assert meta["x_m"][-1] == pytest.approx(20.78)
    assert np.all(meta["flags"] == FLAG_POSITION_FROM_WHEEL)
    assert np.all(np.isnan(meta["lat"]))
    # samples: exact against an independent decode; samples 0/1 (counter, mark word) replaced by sample 2
    raw = raw_scans(path, 1024, "<u2", 512)
    assert np.array_equal(line.traces[:, 2:], raw[:, 2:])
    assert np.array_equal(line.traces[:, 0], line.traces[:, 2]) and np.array_equal(line.traces[:, 1], line.traces[:, 2])
    # the mark word (sample 1) is set every 100 scans (2 m)
    assert line.source_header["marks"] == list(range(0, 1001, 100))
    assert line.source_header["header"]["rh_name"] == "FILE____032"
    assert_json_able(line)


def test_header_samples_can_be_kept(shared_data):
    path = shared_data / "gpr" / "gprpy-examples" / "GSSI" / "FILE____032.DZT"
    line = read_dzt(path, keep_header_samples=True).gpr[0]
    assert np.array_equal(line.traces, raw_scans(path, 1024, "<u2", 512))
    assert line.traces[5, 0] == 5 - 32768  # scan counter 5 in offset binary
    assert line.attrs["header_samples"] == "kept"


def test_impdar_sir4000_file_with_dzx_and_dzg(shared_data):
    folder = shared_data / "gpr" / "impdar-tests"
    imported = read_dzt(folder / "test_gssi.DZT")
    line = imported.gpr[0]
    assert line.traces.shape == (345, 2048) and line.traces.dtype == np.int32
    assert np.array_equal(line.traces[:, 2:], raw_scans(folder / "test_gssi.DZT", 131072, "<i4", 2048)[:, 2:])
    assert line.dt_s == pytest.approx(2300e-9 / 2048, rel=1e-12)
    assert line.time_zero_s == pytest.approx(230e-9, rel=1e-9)  # rhf_position -230 ns
    assert line.centre_frequency_hz == 200e6  # antenna 5106
    assert line.device.model == "GSSI SIR 4000" and line.device.firmware == "1.3.70"  # firmware from the DZX
    a = line.attrs
    assert a["scans_per_s"] == 24.0 and a["scans_per_m"] == 0.0
    assert a["data_offset_bytes"] == 131072 and a["rh_zero"] == 1
    assert a["rel_permittivity"] == pytest.approx(9.641, abs=1e-3) and a["gps_capable"] is True
    assert a["created_utc"] == "2017-12-16T23:24:26"
    meta = line.trace_meta
    assert np.all(np.isnan(meta["x_m"]))  # time-triggered
    # GPS: fixes at scans 23, 47, ..., 335; positions on those traces and between, none outside
    has_fix = np.isfinite(meta["lat"])
    assert np.array_equal(np.flatnonzero(has_fix), np.arange(23, 336))
    assert meta["lat"][has_fix] == pytest.approx(47 + 39.2552 / 60, abs=1e-9)
    assert meta["lon"][has_fix] == pytest.approx(-(122 + 18.5815 / 60), abs=1e-9)
    assert np.all(np.isnan(meta["alt_m"]))  # the GGA altitude fields are empty
    assert np.all(meta["flags"][has_fix] == FLAG_POSITION_INTERPOLATED) and np.all(meta["flags"][~has_fix] == 0)
    # the GNSS track
    (track,) = imported.gnss
    fixes = track.fixes
    assert len(fixes) == 14
    assert track.source_header["scans"] == list(range(23, 336, 24))
    assert np.array_equal(fixes["device_time_ns"], (200 + np.arange(14)) * 1_000_000_000)
    assert np.all(fixes["quality"] == 0) and np.all(fixes["n_sats"] == 0)
    assert np.all(np.isnan(fixes["hdop"])) and np.all(np.isnan(fixes["alt_m"]))
    # the DZX
    dzx = line.source_header["dzx"]
    assert dzx["global_properties"]["dielectric"] == 9.64102
    assert dzx["data_collection"]["system"] == "SIR4K"
    assert [w["scan"] for w in dzx["waypoints"]] == [0, 341] and dzx["user_marks"] == []
    assert "<DZX" in line.source_header["dzx_text"]
    assert line.source_header["dzg"]["n_bad_lines"] == 0
    assert_json_able(line)


def test_grid3d_line(shared_data):
    line = read_dzt(shared_data / "gpr" / "grid3d-dune400" / "FILE____001.DZT").gpr[0]
    assert line.traces.shape == (451, 512) and line.traces.dtype == np.int16
    assert line.time_window_s == pytest.approx(50e-9, rel=1e-12)
    assert line.trace_meta["x_m"][-1] == pytest.approx(9.0)
    assert line.attrs["scans_per_m"] == 50.0 and line.attrs["rel_permittivity"] == 8.0
    assert line.centre_frequency_hz == 400e6


# ------------------------------------------------------------------------------- synthetic files


def write_dzt(path, raw, *, bits, range_ns=(20.0,), position_ns=0.0, spm=0.0, sps=64.0,
              antennas=("400MHz",), rh_data=None, extra=b""):
    """A DZT with raw (n_traces, n_channels, n_samples) samples in the file's own coding; returns the path."""
    n_traces, n_channels, n_samples = raw.shape
    header_size = 1024 * (rh_data if rh_data is not None and rh_data < 1024 else n_channels)
    head = bytearray(header_size)
    for k in range(n_channels):
        base = 1024 * k
        struct.pack_into("<HHHHh", head, base, 0x00FF, rh_data if rh_data is not None else 1024 * n_channels,
                         n_samples, bits, 0)
        struct.pack_into("<5f", head, base + 10, sps, spm, 0.0, position_ns, range_ns[k % len(range_ns)])
        struct.pack_into("<I", head, base + 32, (2024 - 1980) << 25 | 5 << 21 | 17 << 16 | 13 << 11 | 7 << 5 | 10)
        struct.pack_into("<H", head, base + 52, n_channels)
        struct.pack_into("<f", head, base + 54, 6.0)
        name = antennas[k % len(antennas)].encode()
        head[base + 98:base + 98 + len(name)] = name
        head[base + 113] = 8 << 3 | 2  # SIR 4000, GPS capable
    dtype = {8: "<u1", 16: "<u2", 32: "<i4"}[bits]
    path.write_bytes(bytes(head) + raw.astype(dtype).tobytes() + extra)
    return path


def counter_and_marks(raw, bits, marks=()):
    raw[:, :, 0] = np.arange(raw.shape[0])[:, None] % (1 << bits)
    raw[:, :, 1] = 0
    raw[list(marks), :, 1] = 0x40 if bits == 8 else 0x6400
    return raw


def test_two_channel_8_bit_file_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(1)
    raw = counter_and_marks(rng.integers(0, 256, size=(300, 2, 64)), 8, marks=(3, 150))
    path = write_dzt(tmp_path / "two.DZT", raw, bits=8, range_ns=(25.6,), spm=100.0)
    kept = read_dzt(path, keep_header_samples=True).gpr
    assert len(kept) == 1
    assert kept[0].traces.shape == (300, 2, 64) and kept[0].traces.dtype == np.int16
    assert np.array_equal(kept[0].traces, raw - 128)
    line = read_dzt(path).gpr[0]
    assert np.array_equal(line.traces[..., 2:], raw[..., 2:] - 128)
    assert np.array_equal(line.traces[..., 0], raw[..., 2] - 128)
    assert np.array_equal(line.traces[..., 1], raw[..., 2] - 128)
    assert line.dt_s == pytest.approx(0.4e-9, rel=1e-6)  # 25.6 ns / 64 (the header holds float32 25.6)
    assert line.trace_meta["x_m"][299] == pytest.approx(2.99)
    assert line.source_header["marks"] == [3, 150]
    assert line.source_header["scan_counter_gaps"] == []  # the 8-bit counter wraps at 256 without a gap
    assert line.attrs["n_channels"] == 2 and line.device.model == "GSSI SIR 4000"
    assert line.attrs["created_utc"] == "2024-05-17T13:07:20"
    assert_json_able(line)


def test_channels_with_different_antennas_become_separate_lines(tmp_path):
    raw = counter_and_marks(np.full((10, 2, 16), 0x8000, dtype=np.int64), 16)
    raw[:, 1, 2:] += 7
    path = write_dzt(tmp_path / "dual.dzt", raw, bits=16, range_ns=(50.0, 20.0), antennas=("50270S", "51600S"))
    lines = read_dzt(path).gpr
    assert [line.name for line in lines] == ["dual_ch0", "dual_ch1"]
    assert [line.centre_frequency_hz for line in lines] == [270e6, 1600e6]
    assert [line.dt_s for line in lines] == pytest.approx([50e-9 / 16, 20e-9 / 16])
    assert lines[0].traces.shape == (10, 16) and np.all(lines[0].traces == 0)
    assert np.all(lines[1].traces == 7)


def test_32_bit_file_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(2)
    raw = counter_and_marks(rng.integers(-2**31, 2**31, size=(40, 1, 128)), 32)
    raw[7, 0, 5], raw[8, 0, 6] = -2**31, 2**31 - 1
    path = write_dzt(tmp_path / "big.DZT", raw, bits=32, range_ns=(2300.0,), position_ns=-230.0, rh_data=128)
    line = read_dzt(path, keep_header_samples=True).gpr[0]
    assert line.traces.dtype == np.int32 and line.traces.shape == (40, 128)
    assert np.array_equal(line.traces, raw[:, 0, :])
    assert line.attrs["data_offset_bytes"] == 131072
    assert line.time_zero_s == pytest.approx(230e-9)
    assert np.all(np.isnan(line.trace_meta["x_m"])) and np.all(line.trace_meta["flags"] == 0)


def test_scan_counter_gap_sets_the_gap_flag(tmp_path):
    raw = counter_and_marks(np.full((20, 1, 8), 0x8000, dtype=np.int64), 16)
    raw[12:, 0, 0] += 3  # scans 12..14 were lost
    line = read_dzt(write_dzt(tmp_path / "gap.DZT", raw, bits=16)).gpr[0]
    assert np.flatnonzero(line.trace_meta["flags"] & FLAG_GAP_BEFORE).tolist() == [12]
    assert line.source_header["scan_counter_gaps"] == [12]


def test_partial_last_scan_is_dropped(tmp_path):
    raw = counter_and_marks(np.zeros((5, 1, 32), dtype=np.int64), 16)
    path = write_dzt(tmp_path / "cut.DZT", raw, bits=16, extra=b"\x01" * 40)
    line = read_dzt(path).gpr[0]
    assert line.n_traces == 5 and line.attrs["dropped_partial_scan_bytes"] == 40


def test_dzg_fixes_are_interpolated_by_scan_and_side_files_match_any_case(tmp_path):
    raw = counter_and_marks(np.zeros((30, 1, 8), dtype=np.int64), 16)
    path = write_dzt(tmp_path / "line.DZT", raw, bits=16)
    gga = ["GPGGA,120000.00,1000.0000,N,00100.0000,W,4,10,0.8,100.0,M,,M,,",
           "GPGGA,120001.00,1006.0000,N,00106.0000,W,4,10,0.8,110.0,M,,M,,"]
    rmc = "GPRMC,120000.00,A,1000.0000,N,00100.0000,W,1.0,90.0,170524,,,R"

    def nmea(body):
        value = 0
        for ch in body:
            value ^= ord(ch)
        return f"${body}*{value:02X}"

    (tmp_path / "line.dzg").write_text("\n".join([
        "$GSSIS,5,-1", nmea(gga[0]), nmea(rmc), "",
        "$GPGGA,garbage*00",
        "$GSSIS,15,-1", nmea(gga[1]), nmea(rmc), ""]))
    (tmp_path / "line.Dzx").write_text("<DZX><File><Profile><WayPt><scan>7</scan><mark>User</mark></WayPt>"
                                       "</Profile></File>")  # not closed: malformed
    imported = read_dzt(path)
    meta = imported.gpr[0].trace_meta
    assert np.flatnonzero(np.isfinite(meta["lat"])).tolist() == list(range(5, 16))
    assert meta["lat"][10] == pytest.approx(10.05) and meta["lon"][10] == pytest.approx(-1.05)
    assert meta["alt_m"][10] == pytest.approx(105.0) and meta["alt_m"][15] == 110.0
    assert np.all(meta["flags"][5:16] == FLAG_POSITION_INTERPOLATED)
    fixes = imported.gnss[0].fixes
    assert fixes["quality"].tolist() == [4, 4] and fixes["hdop"] == pytest.approx([0.8, 0.8])
    assert fixes["device_time_ns"][0] == 1715947200 * 10**9  # 2024-05-17T12:00:00Z from the RMC date
    header = imported.gpr[0].source_header
    assert header["dzg"]["n_bad_lines"] == 1 and "checksum" in header["dzg"]["bad_lines"][0]
    assert "not well-formed" in header["dzx"]["error"]


@pytest.mark.parametrize("name, expected_hz", [
    ("5106", 200e6), ("51600S", 1600e6), ("3101", 900e6), ("62000-003", 2000e6), ("400MHz", 400e6),
    ("1.5 GHz", 1.5e9), ("3200MLF", math.nan), ("XYZ", math.nan)])
def test_antenna_frequency(name, expected_hz):
    found = antenna_frequency_hz(name)
    assert found == expected_hz or (math.isnan(found) and math.isnan(expected_hz))


# --------------------------------------------------------------------------------- malformed files


def good_file(tmp_path):
    raw = counter_and_marks(np.full((6, 1, 16), 0x8000, dtype=np.int64), 16)
    return write_dzt(tmp_path / "good.DZT", raw, bits=16, spm=10.0)


def patched(path, offset, fmt, value):
    blob = bytearray(path.read_bytes())
    struct.pack_into(fmt, blob, offset, value)
    out = path.with_name("bad.DZT")
    out.write_bytes(bytes(blob))
    return out


@pytest.mark.parametrize("offset, fmt, value, field", [
    (4, "<H", 0, "rh_nsamp"),
    (6, "<H", 12, "rh_bits"),
    (52, "<H", 0, "rh_nchan"),
    (2, "<H", 100, "rh_data"),  # 102400 bytes: past the end of the file
    (2, "<H", 0, "rh_data"),
    (26, "<f", 0.0, "rhf_range"),
    (26, "<f", math.nan, "rhf_range"),
    (14, "<f", -1.0, "rhf_spm"),
    (10, "<f", math.inf, "rhf_sps"),
    (4, "<H", 60000, "data"),  # one scan would be larger than the file
])
def test_nonsense_header_values_raise_format_error(tmp_path, offset, fmt, value, field):
    with pytest.raises(FormatError) as info:
        read_dzt(patched(good_file(tmp_path), offset, fmt, value))
    assert info.value.field == field and "bad.DZT" in str(info.value)


def test_truncated_files_raise_format_error(tmp_path):
    blob = good_file(tmp_path).read_bytes()  # 1024 header bytes + 6 scans of 32 bytes
    for size in (0, 1, 100, 1023, 1024, 1024 + 31):
        cut = tmp_path / f"cut{size}.DZT"
        cut.write_bytes(blob[:size])
        with pytest.raises(FormatError):
            read_dzt(cut)
    cut.write_bytes(blob[:1024 + 32 * 3 + 5])
    assert read_dzt(cut).gpr[0].n_traces == 3


def test_garbled_files_raise_only_format_error(tmp_path):
    good = good_file(tmp_path)
    blob = good.read_bytes()
    for position in range(128):  # every byte of the fixed header set to 0xFF in turn
        garbled = bytearray(blob)
        garbled[position] = 0xFF
        path = tmp_path / "garbled.DZT"
        path.write_bytes(bytes(garbled))
        try:
            read_dzt(path)
        except FormatError:
            pass
    rng = np.random.default_rng(3)
    for seed_size in (1024, 5000):
        (tmp_path / "noise.DZT").write_bytes(rng.integers(0, 256, seed_size, dtype=np.uint8).tobytes())
        with pytest.raises(FormatError):
            read_dzt(tmp_path / "noise.DZT")


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        read_dzt(tmp_path / "absent.DZT")
