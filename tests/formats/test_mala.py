"""MALA RD3/RD7 + RAD + COR importer, on ImpDAR's ten_col test file and on synthetic RD7 files."""

import json
import math
import shutil
from datetime import datetime, timezone

import numpy as np
import pytest

from sensorkit.errors import FormatError
from sensorkit.formats.mala import antenna_frequency_hz, read_mala
from sensorkit.formats.registry import read_any
from sensorkit.store.schema import FLAG_POSITION_FROM_WHEEL, FLAG_POSITION_INTERPOLATED


@pytest.fixture
def impdar(shared_data):
    return shared_data / "gpr" / "impdar-tests"


def _copy_set(impdar, tmp_path, suffixes=(".rd3", ".rad", ".cor")):
    for suffix in suffixes:
        shutil.copy(impdar / f"ten_col{suffix}", tmp_path / f"ten_col{suffix}")
    return tmp_path / "ten_col.rd3"


def test_ten_col_numbers_from_the_header(impdar):
    imported = read_mala(impdar / "ten_col.rd3")
    assert imported.format == "rd3"
    (line,) = imported.gpr
    assert line.name == "ten_col"
    assert line.traces.shape == (10, 512)
    assert line.traces.dtype == np.int16
    assert line.time_window_s == pytest.approx(422.061312e-9, rel=1e-12)
    assert line.dt_s == pytest.approx(422.061312e-9 / 512, rel=1e-12)
    assert line.centre_frequency_hz == 500e6  # "500_shielded_egrip"
    assert line.antenna_offset_m == 0.18
    assert line.attrs["sampling_frequency_hz"] == pytest.approx(2426.187744e6, rel=1e-12)
    assert line.attrs["trace_interval_s"] == 0.1
    assert line.attrs["stacks"] == 4.0
    assert line.device.model == "MALA 500_shielded_egrip"
    header = json.loads(json.dumps(line.source_header))
    assert header["rad"]["SAMPLES"] == "512" and header["rad"]["LAST TRACE"] == "10"
    assert header["cor_file"] == "ten_col.cor"
    # time-triggered: no along-line positions
    assert np.all(np.isnan(line.trace_meta["x_m"]))


def test_ten_col_samples_bit_exact(impdar):
    line = read_mala(impdar / "ten_col.rd3").gpr[0]
    expected = np.fromfile(impdar / "ten_col.rd3", dtype="<i2").reshape(10, 512)
    np.testing.assert_array_equal(line.traces, expected)
    np.testing.assert_array_equal(line.traces[0, :4], [2062, 2052, 2051, 2048])


def test_ten_col_coordinates_from_the_cor(impdar):
    meta = read_mala(impdar / "ten_col.rd3").gpr[0].trace_meta
    assert np.all(np.isfinite(meta["lat"])) and np.all(np.isfinite(meta["lon"])) and np.all(np.isfinite(meta["alt_m"]))
    # trace 7 (index 6) is listed in the .cor: exact, west longitude negative
    assert meta["lat"][6] == 75.63203
    assert meta["lon"][6] == -35.98767333333
    assert meta["alt_m"][6] == 2663.65
    assert meta["flags"][6] == 0
    # traces 1..6 are held at the first fix, flagged
    np.testing.assert_array_equal(meta["lat"][:6], 75.63203)
    assert np.all(meta["flags"][:6] & FLAG_POSITION_INTERPOLATED)
    # trace 10 lies 3/11 of the way from trace 7 to trace 18
    assert meta["lat"][9] == pytest.approx(75.63203 + 3 / 11 * (75.63203166667 - 75.63203), abs=1e-12)
    assert meta["alt_m"][9] == pytest.approx(2663.65 + 3 / 11 * (2663.61 - 2663.65), abs=1e-9)
    assert meta["flags"][9] & FLAG_POSITION_INTERPOLATED


def test_ten_col_cor_fixes_as_gnss_track(impdar):
    (track,) = read_mala(impdar / "ten_col.rad").gnss  # naming the .rad works too
    assert track.name == "ten_col_cor"
    assert track.fixes.size == 3
    first = datetime(2019, 7, 26, 16, 58, 43, tzinfo=timezone.utc)
    assert track.fixes["host_time_ns"][0] == int(first.timestamp()) * 10**9
    np.testing.assert_array_equal(np.diff(track.fixes["host_time_ns"]), [10**9, 10**9])
    np.testing.assert_array_equal(track.fixes["lon"], [-35.98767333333, -35.98767333333, -35.987655])
    np.testing.assert_array_equal(track.fixes["alt_m"], [2663.65, 2663.61, 2662.74])
    assert track.source_header["trace_numbers"] == [7, 18, 27]


def test_without_cor_positions_stay_unknown(impdar, tmp_path):
    path = _copy_set(impdar, tmp_path, (".rd3", ".rad"))
    imported = read_mala(path)
    assert imported.gnss == []
    assert np.all(np.isnan(imported.gpr[0].trace_meta["lat"]))
    assert np.all(imported.gpr[0].trace_meta["flags"] == 0)


def _write_rd7(tmp_path, traces, antennas="250MHz shielded", stem="syn", extra=""):
    n_traces, n_samples = traces.shape
    (tmp_path / f"{stem}.rad").write_text(
        f"SAMPLES:{n_samples}\r\nFREQUENCY:4000.000000\r\nDISTANCE FLAG:1\r\nTIME FLAG:0\r\n"
        f"DISTANCE INTERVAL: 0.050000\r\nANTENNAS:{antennas}\r\nANTENNA SEPARATION: 0.310000\r\n"
        f"TIMEWINDOW:{n_samples / 4.0:.6f}\r\nSTACKS:16\r\nLAST TRACE:{n_traces}\r\nSTART POSITION:1.000000\r\n"
        + extra)
    traces.astype("<i4").tofile(tmp_path / f"{stem}.rd7")
    return tmp_path / f"{stem}.rd7"


def test_synthetic_rd7_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    traces = rng.integers(-2**31, 2**31 - 1, size=(7, 64), dtype=np.int64).astype(np.int32)
    traces[0, 0] = 2**31 - 1  # beyond int16: must come back unchanged
    path = _write_rd7(tmp_path, traces)
    imported = read_any(path)
    assert imported.format == "rd7"
    line = imported.gpr[0]
    assert line.traces.dtype == np.int32
    np.testing.assert_array_equal(line.traces, traces)
    assert line.dt_s == pytest.approx(0.25e-9, rel=1e-12)
    assert line.centre_frequency_hz == 250e6
    assert line.antenna_offset_m == 0.31
    np.testing.assert_allclose(line.trace_meta["x_m"], 1.0 + 0.05 * np.arange(7), atol=1e-12)
    assert np.all(line.trace_meta["flags"] == FLAG_POSITION_FROM_WHEEL)
    assert line.attrs["distance_interval_m"] == 0.05
    assert imported.gnss == []


@pytest.mark.parametrize("name, hz", [
    ("500MHz shielded", 500e6), ("500_shielded_egrip", 500e6), ("1.6 GHz", 1.6e9), ("MALA 250 MHz", 250e6),
    ("RTA", math.nan), ("", math.nan)])
def test_antenna_frequency_from_name(name, hz):
    found = antenna_frequency_hz(name)
    assert (math.isnan(found) and math.isnan(hz)) or found == pytest.approx(hz, rel=1e-12)


# --- malformed input: FormatError naming the file and the field ---------------------------------------

def _error(path) -> FormatError:
    with pytest.raises(FormatError) as info:
        read_mala(path)
    return info.value


def test_missing_rad(impdar, tmp_path):
    path = _copy_set(impdar, tmp_path, (".rd3",))
    error = _error(path)
    assert error.field == "partner file" and "ten_col.rad" in str(error)


def test_truncated_and_empty_data(impdar, tmp_path):
    path = _copy_set(impdar, tmp_path)
    path.write_bytes((impdar / "ten_col.rd3").read_bytes()[:-2])
    error = _error(path)
    assert error.field == "file size" and error.found == "10238 bytes" and str(path) in str(error)
    path.write_bytes(b"")
    assert _error(path).field == "file size"


@pytest.mark.parametrize("old, new, field", [
    ("LAST TRACE:10", "LAST TRAC:10", "LAST TRACE"),
    ("SAMPLES:512", "SAMPLES:five hundred", "SAMPLES"),
    ("SAMPLES:512", "SAMPLES:0", "SAMPLES"),
    ("TIMEWINDOW:422.061312", "TIMEWINDOW:", "TIMEWINDOW"),
    ("LAST TRACE:10", "LAST TRACE:11", "file size"),
    ("STACKS:4", "STACKS 4", "header line"),
])
def test_bad_rad_lines(impdar, tmp_path, old, new, field):
    path = _copy_set(impdar, tmp_path)
    rad = tmp_path / "ten_col.rad"
    text = rad.read_text()
    assert old in text
    rad.write_text(text.replace(old, new))
    error = _error(path)
    assert error.field == field and "ten_col" in str(error)


@pytest.mark.parametrize("edit, field", [
    (lambda text: text[:120], "line 2"),  # cut inside the second line
    (lambda text: text.replace("\tN\t", "\tX\t", 1), "line 1"),
    (lambda text: text.replace("75.63203000000", "75.6x", 1), "line 1"),
    (lambda text: text.replace("18\t", "5\t", 1), "trace numbers"),
    (lambda text: "", "fixes"),
])
def test_bad_cor(impdar, tmp_path, edit, field):
    path = _copy_set(impdar, tmp_path)
    cor = tmp_path / "ten_col.cor"
    cor.write_bytes(edit(cor.read_bytes().decode()).encode())
    error = _error(path)
    assert error.field == field and error.path == str(cor)


def test_rad_with_two_data_files_is_ambiguous(tmp_path):
    _write_rd7(tmp_path, np.zeros((2, 8), np.int32))
    np.zeros((2, 8), np.int16).tofile(tmp_path / "syn.rd3")
    error = _error(tmp_path / "syn.rad")
    assert error.field == "partner file" and error.found == "both"
    assert read_mala(tmp_path / "syn.rd7").gpr[0].traces.dtype == np.int32  # naming the data file decides
