"""Sensors & Software DT1/HD importer, on the real GPRPy example files and on edited copies."""

import json
import math
import shutil

import numpy as np
import pytest

from sensorkit.errors import FormatError
from sensorkit.formats.dt1 import TRACE_HEADER_DTYPE, read_dt1
from sensorkit.formats.registry import read_any
from sensorkit.store.schema import FLAG_POSITION_FROM_WHEEL


@pytest.fixture
def comoffs(shared_data):
    return shared_data / "gpr" / "gprpy-examples" / "SnS" / "ComOffs"


@pytest.fixture
def warr(shared_data):
    return shared_data / "gpr" / "gprpy-examples" / "SnS" / "WARR"


def _copy_pair(folder, tmp_path, stem="XLINE00", dt1_name="XLINE00.DT1", hd_name="XLINE00.HD"):
    shutil.copy(folder / f"{stem}.DT1", tmp_path / dt1_name)
    shutil.copy(folder / f"{stem}.HD", tmp_path / hd_name)
    return tmp_path / dt1_name, tmp_path / hd_name


def _edit_hd(hd_path, old, new):
    text = hd_path.read_bytes().decode("latin-1")
    assert old in text
    hd_path.write_bytes(text.replace(old, new).encode("latin-1"))


def test_common_offset_line_numbers_from_the_header(comoffs):
    imported = read_dt1(comoffs / "XLINE00.DT1")
    assert imported.format == "dt1"
    assert imported.source == comoffs / "XLINE00.DT1"
    (line,) = imported.gpr
    assert line.name == "XLINE00"
    assert line.traces.shape == (531, 1500)
    assert line.traces.dtype == np.int16
    assert line.dt_s == pytest.approx(0.8e-9, rel=1e-12)
    assert line.time_window_s == pytest.approx(1200e-9, rel=1e-12)
    assert line.centre_frequency_hz == 50e6
    assert line.antenna_offset_m == pytest.approx(0.9144, abs=1e-12)  # 3 ft
    assert line.time_zero_s == pytest.approx(3.18 * 0.8e-9, rel=1e-12)
    assert line.attrs["survey_mode"] == "reflection"
    assert line.attrs["trace_step_m"] == pytest.approx(0.6096, abs=1e-12)  # 2 ft
    assert line.attrs["final_position_m"] == pytest.approx(323.088, abs=1e-9)  # 1060 ft
    assert line.attrs["pulser_voltage_v"] == 12.0
    assert "trace_offsets_m" not in line.attrs


def test_common_offset_positions_in_metres_and_times(comoffs):
    meta = read_dt1(comoffs / "XLINE00.DT1").gpr[0].trace_meta
    np.testing.assert_allclose(meta["x_m"], np.arange(531) * 0.6096, atol=1e-9)
    assert meta["x_m"][-1] == pytest.approx(323.088, abs=1e-9)
    np.testing.assert_array_equal(meta["seq"], np.arange(531))
    # time of day of the first trace, s past midnight, as float32 in the trace header
    assert meta["device_time_ns"][0] == 38177226562500
    assert np.all(np.diff(meta["device_time_ns"]) > 0)
    assert np.all(np.isnan(meta["lat"])) and np.all(np.isnan(meta["y_m"]))
    assert np.all(meta["encoder_ticks"] == -1)  # no odometer calibration in this header
    assert np.all(meta["flags"] == 0)


def test_samples_are_bit_exact(comoffs):
    line = read_dt1(comoffs / "XLINE00.DT1").gpr[0]
    raw = np.fromfile(comoffs / "XLINE00.DT1", dtype=np.uint8).reshape(531, 128 + 2 * 1500)
    expected = raw[:, 128:].copy().view("<i2")
    np.testing.assert_array_equal(line.traces, expected)
    np.testing.assert_array_equal(line.traces[0, :10], [-279, -286, -143, 557, 2158, 4301, 6234, 7655, 8507, 8894])


def test_gps_side_file_is_kept_as_utm_triplets(comoffs):
    line = read_dt1(comoffs / "XLINE00.DT1").gpr[0]
    assert line.attrs["gps_utm_file"] == "GPS.xyz"
    rows = json.loads(line.attrs["gps_utm_enz"])
    assert len(rows) == 103
    assert rows[0] == [267918.654, 4178496.403, 1206.464061625146]
    assert rows[-1] == [267826.945, 4178786.927, 1224.331250846693]


def test_header_device_and_source_header(comoffs):
    line = read_dt1(comoffs / "XLINE00.HD").gpr[0]  # naming the .HD works too
    assert line.device.kind == "gpr"
    assert line.device.model == "pE PRO (2011-00114-00)"
    assert line.device.serial == "0051-7179-0014"
    assert line.device.config["nominal_frequency_mhz"] == 50.0
    header = json.loads(json.dumps(line.source_header))  # JSON-able, no numpy types
    assert header["hd"]["NUMBER OF TRACES"] == "531"
    assert header["hd"]["POSITION UNITS"] == "ft"
    assert header["hd_other_lines"][:3] == ["1234", "Data Collected with pE PRO (2011-00114-00)", "2017-04-10"]
    assert header["first_trace_header"]["n_points"] == 1500.0
    assert header["first_trace_header"]["bytes_per_point"] == 2.0


def test_warr_gather(warr):
    line = read_any(warr / "XLINE00.DT1").gpr[0]
    assert line.traces.shape == (164, 1900)
    assert line.time_window_s == pytest.approx(760e-9, rel=1e-12)
    assert line.dt_s == pytest.approx(0.4e-9, rel=1e-12)
    assert line.centre_frequency_hz == 100e6
    assert line.time_zero_s == pytest.approx(34.07 * 0.4e-9, rel=1e-12)
    meta = line.trace_meta
    # the per-trace positions run 0.0 .. 16.3 m in 0.1 m steps (the .HD says START 0.6, FINAL 16.3)
    np.testing.assert_allclose(meta["x_m"], np.arange(164) * 0.1, atol=1e-5)
    assert meta["x_m"][-1] == pytest.approx(16.3, abs=1e-5)
    assert line.attrs["start_position_m"] == 0.6
    assert line.attrs["final_position_m"] == 16.3
    # ODOMETER CAL (t/m) = 1000: the odometer field counts mm
    np.testing.assert_array_equal(meta["encoder_ticks"], np.arange(164) * 100)
    assert np.all(meta["flags"] & FLAG_POSITION_FROM_WHEEL)
    assert line.attrs["survey_mode"] == "reflection"  # what this header says
    assert "gps_utm_enz" not in line.attrs


def test_cmp_survey_mode_records_offsets_per_trace(warr, tmp_path):
    dt1, hd = _copy_pair(warr, tmp_path)
    _edit_hd(hd, "SURVEY MODE        = Reflection", "SURVEY MODE        = CMP")
    line = read_dt1(dt1).gpr[0]
    assert line.attrs["survey_mode"] == "cmp"
    offsets = json.loads(line.attrs["trace_offsets_m"])
    assert len(offsets) == 164
    np.testing.assert_allclose(offsets, np.arange(164) * 0.1, atol=1e-5)
    assert math.isnan(line.antenna_offset_m)


def test_lower_case_extensions_find_their_partner(warr, tmp_path):
    dt1, _ = _copy_pair(warr, tmp_path, dt1_name="line7.dt1", hd_name="line7.hd")
    line = read_any(tmp_path / "line7.hd").gpr[0]
    assert line.name == "line7"
    assert line.traces.shape == (164, 1900)
    assert read_dt1(dt1).source == dt1


def _write_float_pair(tmp_path, samples, positions_ft):
    n_traces, n_samples = samples.shape
    (tmp_path / "F.HD").write_text(
        "1234\r\nsynthetic\r\n2024-01-02\r\n"
        f"NUMBER OF TRACES   = {n_traces}\r\nNUMBER OF PTS/TRC  = {n_samples}\r\n"
        "TIMEZERO AT POINT  = 10\r\nTOTAL TIME WINDOW  = 50.000\r\nPOSITION UNITS     = ft\r\n"
        "NOMINAL FREQUENCY  = 500.00\r\nANTENNA SEPARATION = 0.5\r\nSURVEY MODE        = Reflection\r\n")
    record = np.dtype([("head", TRACE_HEADER_DTYPE), ("samples", "<f4", (n_samples,))])
    records = np.zeros(n_traces, dtype=record)
    records["head"]["trace_number"] = np.arange(1, n_traces + 1)
    records["head"]["position"] = positions_ft
    records["head"]["n_points"] = n_samples
    records["head"]["bytes_per_point"] = 4
    records["samples"] = samples
    records.tofile(tmp_path / "F.DT1")
    return tmp_path / "F.DT1"


def test_float32_samples_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    samples = rng.normal(size=(6, 100)).astype(np.float32) * 1e3
    path = _write_float_pair(tmp_path, samples, positions_ft=np.arange(6) * 0.5)
    line = read_dt1(path).gpr[0]
    assert line.traces.dtype == np.float32
    np.testing.assert_array_equal(line.traces, samples)
    assert line.attrs["bytes_per_point"] == 4
    assert line.dt_s == pytest.approx(0.5e-9, rel=1e-12)
    assert line.time_zero_s == pytest.approx(5e-9, rel=1e-12)
    assert line.antenna_offset_m == pytest.approx(0.5 * 0.3048, abs=1e-12)
    np.testing.assert_allclose(line.trace_meta["x_m"], np.arange(6) * 0.5 * 0.3048, atol=1e-12)
    assert np.all(line.trace_meta["device_time_ns"] == 0)


# --- malformed input: FormatError naming the file and the field ---------------------------------------

def _error(path) -> FormatError:
    with pytest.raises(FormatError) as info:
        read_dt1(path)
    return info.value


def test_missing_partner(warr, tmp_path):
    shutil.copy(warr / "XLINE00.DT1", tmp_path / "XLINE00.DT1")
    error = _error(tmp_path / "XLINE00.DT1")
    assert error.field == "partner file" and "XLINE00.HD" in str(error)


def test_truncated_and_empty_data(warr, tmp_path):
    dt1, _ = _copy_pair(warr, tmp_path)
    data = dt1.read_bytes()
    dt1.write_bytes(data[:-100])
    error = _error(dt1)
    assert error.field == "file size" and str(dt1) in str(error)
    assert "644192" in error.expected and error.found == "644092 bytes"
    dt1.write_bytes(b"")
    assert _error(dt1).field == "file size"


def test_empty_header(warr, tmp_path):
    _, hd = _copy_pair(warr, tmp_path)
    hd.write_bytes(b"")
    error = _error(hd)
    assert error.field == "header" and error.path == str(hd)


@pytest.mark.parametrize("old, new, field", [
    ("NUMBER OF TRACES   = 164", "NUMBER OF TRACEZ   = 164", "NUMBER OF TRACES"),
    ("NUMBER OF PTS/TRC  = 1900", "NUMBER OF PTS/TRC  = many", "NUMBER OF PTS/TRC"),
    ("NUMBER OF PTS/TRC  = 1900", "NUMBER OF PTS/TRC  = 1900.5", "NUMBER OF PTS/TRC"),
    ("TOTAL TIME WINDOW  = 760.000", "TOTAL TIME WINDOW  = -760", "TOTAL TIME WINDOW"),
    ("TOTAL TIME WINDOW  = 760.000", "TOTAL TIME WINDOW  = nan", "TOTAL TIME WINDOW"),
    ("POSITION UNITS     = m", "POSITION UNITS     = furlong", "POSITION UNITS"),
    ("POSITION UNITS     = m", "POSITION UNIT      = m", "POSITION UNITS"),
    ("NOMINAL FREQUENCY  = 100.00", "NOMINAL FREQUENCY  = 1OO", "NOMINAL FREQUENCY"),
    ("NUMBER OF TRACES   = 164", "NUMBER OF TRACES   = 165", "file size"),
])
def test_bad_header_lines(warr, tmp_path, old, new, field):
    dt1, hd = _copy_pair(warr, tmp_path)
    _edit_hd(hd, old, new)
    error = _error(dt1)
    assert error.field == field
    assert "XLINE00" in str(error)


def test_trace_header_contradicting_the_file_size(warr, tmp_path):
    dt1, _ = _copy_pair(warr, tmp_path)
    data = bytearray(dt1.read_bytes())
    data[20:24] = np.float32(4.0).tobytes()  # bytes per point of trace 1
    dt1.write_bytes(bytes(data))
    error = _error(dt1)
    assert error.field == "trace 1 header: bytes per point" and error.found == 4.0


def test_malformed_gps_side_file(comoffs, tmp_path):
    dt1, _ = _copy_pair(comoffs, tmp_path)
    (tmp_path / "GPS.xyz").write_text("267918.654,4178496.403,1206.46\n267920.033,4178499.479\n")
    error = _error(dt1)
    assert error.path == str(tmp_path / "GPS.xyz") and error.field == "line 2"


def test_wrong_extension_and_missing_file(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    assert _error(tmp_path / "a.txt").field == "file extension"
    assert _error(tmp_path / "nothing.DT1").field == "file"
