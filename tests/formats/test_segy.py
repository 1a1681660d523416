"""SEG-Y in and out: bit-exact round trips, dt in picoseconds, positions, channels, foreign and bad files."""

import json
import math

import numpy as np
import pytest
import segyio

from sensorkit.errors import FormatError
from sensorkit.formats.base import DeviceInfo, GprLine, new_trace_meta
from sensorkit.formats.segy import UNKNOWN_INT32, read_segy, write_segy

TF = segyio.TraceField


def _line(traces, dt_s=50e-9 / 512, **kwargs) -> GprLine:
    meta = new_trace_meta(traces.shape[0])
    meta["x_m"] = np.arange(traces.shape[0]) * 0.02
    meta["y_m"] = 0.4
    return GprLine(name="line_001", traces=traces, dt_s=dt_s, trace_meta=meta,
                   device=DeviceInfo(kind="gpr", model="SIR-4000", serial="1234", firmware="2.1"), **kwargs)


def _samples(dtype, shape, rng):
    if np.dtype(dtype).kind == "i":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        values.flat[0], values.flat[1] = info.min, info.max
        return values
    values = (rng.standard_normal(shape) * 1e4).astype(np.float32)
    values.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 1e-42, np.finfo(np.float32).max]  # 1e-42: denormal
    return values


@pytest.mark.parametrize("dtype, format_code", [(np.int16, 3), (np.int32, 2), (np.float32, 5)])
def test_round_trip_is_bit_exact(tmp_path, dtype, format_code):
    traces = _samples(dtype, (40, 512), np.random.default_rng(1))
    path = tmp_path / "line.sgy"
    write_segy(path, _line(traces))

    with segyio.open(path, ignore_geometry=True) as f:  # what other readers see
        assert f.bin[segyio.BinField.Format] == format_code
        assert f.tracecount == 40
        assert len(f.samples) == 512
        assert f.bin[segyio.BinField.Interval] == 98  # 97.65625 ps, rounded
        assert f.header[0][TF.TRACE_SAMPLE_INTERVAL] == 98

    imported = read_segy(path)
    assert imported.format == "segy"
    (line,) = imported.gpr
    assert line.traces.dtype == dtype
    assert line.traces.shape == (40, 512)
    assert line.traces.tobytes() == traces.tobytes()
    assert line.dt_s == 50e-9 / 512  # exact, from the textual header
    assert line.source_header["dt_source"] == "textual header DT_S"
    assert line.source_header["sample_format_code"] == format_code


def test_line_fields_round_trip(tmp_path):
    traces = np.zeros((3, 8), dtype=np.int16)
    line = _line(traces, dt_s=1.171875e-10, centre_frequency_hz=4e8, antenna_offset_m=0.06,
                 antenna_height_m=0.025, time_zero_s=1.4e-8, units="mV",
                 attrs={"rel_permittivity": 9.0, "site": "dune", "stacks": 16})
    path = tmp_path / "line.sgy"
    write_segy(path, line)
    back = read_segy(path).gpr[0]
    assert back.name == "line_001"
    assert back.dt_s == 1.171875e-10
    assert back.centre_frequency_hz == 4e8
    assert back.antenna_offset_m == 0.06
    assert back.antenna_height_m == 0.025
    assert back.time_zero_s == 1.4e-8
    assert back.units == "mV"
    assert back.attrs == {"rel_permittivity": 9.0, "site": "dune", "stacks": 16}
    assert (back.device.kind, back.device.model, back.device.serial, back.device.firmware) == \
        ("gpr", "SIR-4000", "1234", "2.1")
    assert back.device.port == str(path)
    assert back.trace_meta["seq"].tolist() == [0, 1, 2]
    assert back.source_header["textual_header"].startswith("C 1 SENSORKIT GPR LINE")
    assert back.source_header["textual_header_encoding"] == "ebcdic"
    json.dumps(back.source_header)


def test_nan_centre_frequency_round_trips(tmp_path):
    path = tmp_path / "line.sgy"
    write_segy(path, _line(np.zeros((2, 4), np.float32)))
    back = read_segy(path).gpr[0]
    assert math.isnan(back.centre_frequency_hz) and math.isnan(back.antenna_offset_m)
    assert back.attrs == {}


def test_positions_round_trip_to_a_millimetre(tmp_path):
    traces = np.zeros((6, 16), dtype=np.int16)
    line = _line(traces)
    line.trace_meta["x_m"] = [0.0, 0.0123, 1.5555, np.nan, -3.2004, 1234.5678]
    line.trace_meta["y_m"] = [0.4, 0.4, -0.0004, 0.4, np.nan, 0.4]
    line.trace_meta["lat"] = [45.1234567, np.nan, -33.9, 45.1, 45.1, 89.9999999]
    line.trace_meta["lon"] = [7.6543210, np.nan, 151.2, -179.9999999, 7.7, 7.7]
    line.trace_meta["alt_m"] = [312.456, np.nan, -12.0004, 0.0, 1.0, 1.0]
    path = tmp_path / "line.sgy"
    write_segy(path, line)
    back = read_segy(path).gpr[0].trace_meta

    for name, tolerance in (("x_m", 0.5e-3), ("y_m", 0.5e-3), ("alt_m", 0.5e-3), ("lat", 0.5e-7), ("lon", 0.5e-7)):
        expected = line.trace_meta[name]
        assert np.array_equal(np.isnan(back[name]), np.isnan(expected)), name
        np.testing.assert_allclose(back[name], expected, rtol=0, atol=tolerance + 1e-12, err_msg=name)
    assert back["x_m"][2] == 1.556  # whole millimetres
    assert back["lat"][0] == 45.1234567

    with segyio.open(path, ignore_geometry=True) as f:
        h = f.header[2]
        assert (h[TF.SourceGroupScalar], h[TF.CoordinateUnits]) == (-1000, 1)
        assert (h[TF.SourceX], h[TF.GroupX], h[TF.CDP_X]) == (1556, 1556, 1556)
        assert f.header[3][TF.SourceX] == UNKNOWN_INT32
        assert (h[TF.UnassignedInt1], h[TF.UnassignedInt2]) == (-339000000, 1512000000)


def test_large_coordinates_use_a_coarser_scalar(tmp_path):
    line = _line(np.zeros((2, 4), np.int16))
    line.trace_meta["x_m"] = [500000.1234, 500000.5]
    line.trace_meta["y_m"] = [5123456.789, 5123456.0]  # UTM northing: mm would overflow int32
    path = tmp_path / "utm.sgy"
    write_segy(path, line)
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.header[0][TF.SourceGroupScalar] == -100
        assert f.header[0][TF.SourceY] == 512345679
    back = read_segy(path).gpr[0].trace_meta
    np.testing.assert_allclose(back["y_m"], [5123456.79, 5123456.0], rtol=0, atol=1e-6)


def test_lat_lon_only_are_arc_seconds_for_other_readers(tmp_path):
    line = _line(np.zeros((2, 4), np.int16))
    line.trace_meta["x_m"] = np.nan
    line.trace_meta["y_m"] = np.nan
    line.trace_meta["lat"] = [45.25, 45.5]
    line.trace_meta["lon"] = [7.5, -7.75]
    path = tmp_path / "geo.sgy"
    write_segy(path, line)
    with segyio.open(path, ignore_geometry=True) as f:
        h = f.header[1]
        assert (h[TF.CoordinateUnits], h[TF.SourceGroupScalar]) == (2, -1000)
        assert (h[TF.SourceX], h[TF.SourceY]) == (-27900000, 163800000)  # arc-seconds * 1000
    back = read_segy(path).gpr[0].trace_meta
    assert np.all(np.isnan(back["x_m"])) and np.all(np.isnan(back["y_m"]))
    assert back["lat"].tolist() == [45.25, 45.5] and back["lon"].tolist() == [7.5, -7.75]


def test_multichannel_is_channel_major(tmp_path):
    traces = _samples(np.int16, (5, 3, 64), np.random.default_rng(2))
    path = tmp_path / "swath.sgy"
    write_segy(path, _line(traces))
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.tracecount == 15
        assert f.attributes(TF.TraceNumber)[:].tolist() == [1] * 5 + [2] * 5 + [3] * 5
        assert f.attributes(TF.FieldRecord)[:].tolist() == [1, 2, 3, 4, 5] * 3
        np.testing.assert_array_equal(f.trace[5], traces[0, 1])
        np.testing.assert_array_equal(f.trace[14], traces[4, 2])
    back = read_segy(path).gpr[0]
    assert back.traces.shape == (5, 3, 64)
    assert back.traces.tobytes() == traces.tobytes()
    assert len(back.trace_meta) == 5
    np.testing.assert_allclose(back.trace_meta["x_m"], [0.0, 0.02, 0.04, 0.06, 0.08])


def _foreign(path, endian="big", interval=100, fmt=5):
    """A SEG-Y file as a seismic tool writes it: segyio's own textual header, arc-second coordinates."""
    spec = segyio.spec()
    spec.samples = list(range(8))
    spec.format = fmt
    spec.tracecount = 3
    spec.endian = endian
    with segyio.create(path, spec) as f:
        f.bin.update(hdt=interval)
        for i in range(3):
            f.header[i] = {TF.SourceGroupScalar: -1000, TF.CoordinateUnits: 2,
                           TF.SourceX: 27000000 + 36 * i, TF.SourceY: 162900000,
                           TF.ElevationScalar: -100, TF.SourceSurfaceElevation: 12345,
                           TF.TRACE_SAMPLE_INTERVAL: interval}
            f.trace[i] = (np.arange(8) * (i + 1)).astype(f.dtype)


@pytest.mark.parametrize("endian", ["big", "little"])
def test_foreign_file(tmp_path, endian):
    path = tmp_path / "seismic.sgy"
    _foreign(path, endian)
    line = read_segy(path).gpr[0]
    assert line.name == "seismic"
    assert line.dt_s == 1e-10  # 100 in the sample-interval field, read as picoseconds
    assert line.source_header["dt_source"] == "binary header bytes 3217-3218 read as ps"
    assert line.source_header["endian"] == endian
    assert line.source_header["textual_header"].startswith("C 1 DATE")
    assert line.source_header["binary_header"]["Interval"] == 100
    assert line.traces.dtype == np.float32
    assert line.traces[2].tolist() == [0, 3, 6, 9, 12, 15, 18, 21]
    np.testing.assert_allclose(line.trace_meta["lon"], [7.5, 7.50001, 7.50002], rtol=0, atol=1e-12)
    np.testing.assert_allclose(line.trace_meta["lat"], 45.25, rtol=0, atol=1e-12)
    assert np.all(np.isnan(line.trace_meta["x_m"]))
    np.testing.assert_allclose(line.trace_meta["alt_m"], 123.45)
    assert read_segy(path, sample_interval_unit="us").gpr[0].dt_s == 1e-4
    assert read_segy(path, sample_interval_unit="ns").gpr[0].dt_s == 1e-7


@pytest.mark.parametrize("fmt, dtype, converted_from", [(1, np.float32, None), (8, np.int16, "int8"),
                                                        (11, np.int32, "uint16"), (6, np.float32, "float64")])
def test_foreign_sample_formats(tmp_path, fmt, dtype, converted_from):
    path = tmp_path / "fmt.sgy"
    _foreign(path, fmt=fmt)
    line = read_segy(path).gpr[0]
    assert line.traces.dtype == dtype
    assert line.traces[1].tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert line.source_header.get("converted_from") == converted_from


def test_zero_sample_interval_raises_format_error(tmp_path):
    path = tmp_path / "nodt.sgy"
    _foreign(path, interval=0)
    with pytest.raises(FormatError) as info:
        read_segy(path)
    assert "sample interval" in info.value.field


def test_unknown_interval_unit_is_a_value_error(tmp_path):
    path = tmp_path / "a.sgy"
    _foreign(path)
    with pytest.raises(ValueError):
        read_segy(path, sample_interval_unit="ms")


@pytest.fixture
def written(tmp_path):
    path = tmp_path / "good.sgy"
    write_segy(path, _line(_samples(np.int16, (4, 3, 32), np.random.default_rng(3))))
    return path


@pytest.mark.parametrize("keep", [0, 1, 100, 3199, 3600, 3700, 3839, 3840, 3900, -1, -63])
def test_truncated_file_raises_format_error(written, keep):
    raw = written.read_bytes()
    written.write_bytes(raw[:keep])
    with pytest.raises(FormatError) as info:
        read_segy(written)
    assert str(written) in str(info.value)


def test_extra_bytes_raise_format_error(written):
    written.write_bytes(written.read_bytes() + b"\x00" * 10)
    with pytest.raises(FormatError):
        read_segy(written)


@pytest.mark.parametrize("offset, value", [
    (3224, b"\x00\x07"),  # 24-bit integers: segyio cannot read them
    (3224, b"\x00\x04"),  # fixed point with gain
    (3224, b"\x12\x34"),  # nonsense
    (3220, b"\x00\x00"),  # zero samples a trace
    (3220, b"\x7f\xff"),  # far more samples than the file holds
])
def test_garbled_binary_header_raises_format_error(written, offset, value):
    raw = bytearray(written.read_bytes())
    raw[offset:offset + 2] = value
    written.write_bytes(bytes(raw))
    with pytest.raises(FormatError):
        read_segy(written)


def test_garbled_textual_header_keys_raise_format_error(written):
    raw = bytearray(written.read_bytes())
    text = raw[:3200].decode("cp037")
    for key, bad in (("DT_S", "DT_S abc"), ("CHANNELS", "CHANNELS 5")):
        start = text.index(key)
        garbled = text[:start] + bad.ljust(20) + text[start + 20:]
        written.write_bytes(garbled.encode("cp037") + bytes(raw[3200:]))
        with pytest.raises(FormatError) as info:
            read_segy(written)
        assert key in info.value.field or "trace count" in info.value.field


def test_random_bytes_raise_format_error(tmp_path):
    rng = np.random.default_rng(4)
    path = tmp_path / "noise.sgy"
    for size in (0, 10, 3600, 5000, 20000):
        path.write_bytes(rng.integers(0, 256, size).astype(np.uint8).tobytes())
        with pytest.raises(FormatError):
            read_segy(path)


def test_missing_file_raises_format_error(tmp_path):
    with pytest.raises(FormatError):
        read_segy(tmp_path / "none.sgy")


@pytest.mark.parametrize("change", ["float64", "4d", "meta", "dt0", "dtnan", "lat"])
def test_write_rejects_bad_lines(tmp_path, change):
    line = _line(np.zeros((3, 8), np.int16))
    if change == "float64":
        line.traces = line.traces.astype(np.float64)
    elif change == "4d":
        line.traces = np.zeros((3, 1, 1, 8), np.int16)
    elif change == "meta":
        line.trace_meta = new_trace_meta(2)
    elif change == "dt0":
        line.dt_s = 0.0
    elif change == "dtnan":
        line.dt_s = math.nan
    elif change == "lat":
        line.trace_meta["lat"] = 91.0
    with pytest.raises(ValueError):
        write_segy(tmp_path / "bad.sgy", line)
