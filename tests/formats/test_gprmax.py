"""gprMax .out importer on synthetic files laid out like gprMax 3 writes them (A-scan) and merges them (B-scan)."""

import json
import math

import h5py
import numpy as np
import pytest

from sensorkit.errors import FormatError
from sensorkit.formats.gprmax import read_gprmax
from sensorkit.formats.registry import read_any

ITERATIONS = 240
DT_S = 4.716e-12
FIELDS = ("Ex", "Ey", "Ez", "Hx", "Hy", "Hz")


def _write_ascan(path, rng, dtype=np.float32):
    """Like gprMax 3.1 write_hdf5_outputfile: one model run, one receiver."""
    data = {name: rng.normal(size=ITERATIONS).astype(dtype) for name in FIELDS}
    with h5py.File(path, "w") as f:
        f.attrs["gprMax"] = "3.1.7"
        f.attrs["Title"] = "B-scan from a metal cylinder buried in a dielectric half-space"
        f.attrs["Iterations"] = ITERATIONS
        f.attrs["nx_ny_nz"] = (240, 210, 1)
        f.attrs["dx_dy_dz"] = (0.002, 0.002, 0.002)
        f.attrs["dt"] = DT_S
        f.attrs["nsrc"] = 1
        f.attrs["nrx"] = 1
        f.attrs["srcsteps"] = (1, 0, 0)
        f.attrs["rxsteps"] = (1, 0, 0)
        src = f.create_group("/srcs/src1")
        src.attrs["Type"] = "HertzianDipole"
        src.attrs["Position"] = (0.04, 0.17, 0.0)
        rx = f.create_group("/rxs/rx1")
        rx.attrs["Position"] = (0.08, 0.17, 0.0)
        for name, values in data.items():
            rx[name] = values
    return data


def _write_merged(path, rng, n_traces=30, v3=False):
    """Like tools.outputfiles_merge: datasets (Iterations, n_traces); gprMax 3 keeps only a few attributes."""
    data = {name: rng.normal(size=(ITERATIONS, n_traces)).astype(np.float32) for name in FIELDS}
    with h5py.File(path, "w") as f:
        f.attrs["Title"] = "cylinder_Bscan_2D"
        f.attrs["gprMax"] = "3.1.7" if v3 else "4.0.0b0"
        f.attrs["Iterations"] = ITERATIONS
        f.attrs["dt"] = DT_S
        f.attrs["nrx"] = 1
        if not v3:
            f.attrs["nx_ny_nz"] = (240, 210, 1)
            f.attrs["dx_dy_dz"] = (0.002, 0.002, 0.002)
            f.attrs["nsrc"] = 1
            f.attrs["srcsteps"] = (10, 0, 0)
            f.attrs["rxsteps"] = (10, 0, 0)
        grp = f.create_group("/rxs/rx1")
        for name, values in data.items():
            grp.create_dataset(name, (ITERATIONS, n_traces), dtype=values.dtype)
            grp[name][:, :] = values
    return data


def test_ascan_round_trip(tmp_path):
    path = tmp_path / "cylinder_Ascan_2D.out"
    data = _write_ascan(path, np.random.default_rng(1))
    imported = read_gprmax(path)
    assert imported.format == "gprmax"
    (line,) = imported.gpr
    assert line.name == "cylinder_Ascan_2D"
    assert line.traces.shape == (1, ITERATIONS)
    assert line.traces.dtype == np.float32
    np.testing.assert_array_equal(line.traces[0], data["Ez"])
    assert line.dt_s == DT_S
    assert line.units == "V/m"
    assert line.trace_meta["x_m"][0] == 0.08  # the receiver's position
    assert line.attrs["x_origin"] == "receiver"
    assert line.antenna_offset_m == pytest.approx(0.04, abs=1e-12)
    assert line.attrs["rx_x_m"] == 0.08 and line.attrs["src_y_m"] == 0.17
    assert line.device.model == "gprMax" and line.device.firmware == "3.1.7"
    assert math.isnan(line.centre_frequency_hz)
    header = json.loads(json.dumps(line.source_header))  # JSON-able, no numpy types
    assert header["root"]["Iterations"] == ITERATIONS
    assert header["root"]["dx_dy_dz"] == [0.002, 0.002, 0.002]
    assert header["srcs/src1"]["Type"] == "HertzianDipole"


def test_other_components_and_their_units(tmp_path):
    path = tmp_path / "a.out"
    data = _write_ascan(path, np.random.default_rng(2))
    line = read_gprmax(path, component="Hy").gpr[0]
    np.testing.assert_array_equal(line.traces[0], data["Hy"])
    assert line.units == "A/m"
    assert line.attrs["component"] == "Hy"
    with pytest.raises(ValueError, match="component"):
        read_gprmax(path, component="Ew")


def test_double_precision_output_becomes_float32(tmp_path):
    path = tmp_path / "double.out"
    data = _write_ascan(path, np.random.default_rng(3), dtype=np.float64)
    line = read_gprmax(path).gpr[0]
    assert line.traces.dtype == np.float32
    np.testing.assert_array_equal(line.traces[0], data["Ez"].astype(np.float32))


def test_merged_bscan_round_trip(tmp_path):
    path = tmp_path / "cylinder_Bscan_2D_merged.out"
    data = _write_merged(path, np.random.default_rng(4))
    line = read_any(path).gpr[0]
    assert line.traces.shape == (30, ITERATIONS)
    np.testing.assert_array_equal(line.traces, data["Ez"].T)
    # rxsteps 10 cells x dx 0.002 m; merged files hold no receiver position: x from the first trace
    np.testing.assert_allclose(line.trace_meta["x_m"], np.arange(30) * 0.02, atol=1e-15)
    assert line.attrs["trace_step_m"] == pytest.approx(0.02, abs=1e-15)
    assert line.attrs["x_origin"] == "first trace"
    np.testing.assert_array_equal(line.trace_meta["seq"], np.arange(30))


def test_gprmax3_merged_file_has_no_spacing_unless_given(tmp_path):
    path = tmp_path / "old_merged.out"
    data = _write_merged(path, np.random.default_rng(5), n_traces=12, v3=True)
    line = read_gprmax(path).gpr[0]
    np.testing.assert_array_equal(line.traces, data["Ez"].T)
    assert np.all(np.isnan(line.trace_meta["x_m"]))
    assert "x_origin" not in line.attrs and "trace_step_m" not in line.attrs
    line = read_gprmax(path, trace_step_m=0.025).gpr[0]
    np.testing.assert_allclose(line.trace_meta["x_m"], np.arange(12) * 0.025, atol=1e-15)


# --- malformed input: FormatError naming the file and the field ---------------------------------------

def _error(path, **options) -> FormatError:
    with pytest.raises(FormatError) as info:
        read_gprmax(path, **options)
    assert str(path) in str(info.value)
    return info.value


def test_not_hdf5_empty_and_truncated(tmp_path):
    text = tmp_path / "notes.out"
    text.write_text("this is a gprMax input file, not an output file\n")
    assert _error(text).field == "file"
    empty = tmp_path / "empty.out"
    empty.write_bytes(b"")
    assert _error(empty).field == "file"
    cut = tmp_path / "cut.out"
    _write_merged(cut, np.random.default_rng(6))
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _error(cut)
    cut.write_bytes(data[:1000])
    _error(cut)


def test_missing_pieces(tmp_path):
    path = tmp_path / "a.out"
    _write_ascan(path, np.random.default_rng(7))
    assert _error(path, rx=2).field == "/rxs/rx2"
    with h5py.File(path, "a") as f:
        del f["rxs/rx1/Ez"]
    error = _error(path)
    assert error.field == "/rxs/rx1/Ez" and "Ex" in error.found
    with h5py.File(path, "a") as f:
        del f.attrs["dt"]
    assert _error(path, component="Ex").field == "dt"
    with h5py.File(path, "a") as f:
        f.attrs["Iterations"] = 0
    assert _error(path, component="Ex").field == "Iterations"


def test_data_not_matching_iterations(tmp_path):
    path = tmp_path / "a.out"
    _write_ascan(path, np.random.default_rng(8))
    with h5py.File(path, "a") as f:
        f.attrs["Iterations"] = ITERATIONS + 1
    error = _error(path)
    assert error.field == "/rxs/rx1/Ez" and error.found == (ITERATIONS,)


def test_garbled_position(tmp_path):
    path = tmp_path / "a.out"
    _write_ascan(path, np.random.default_rng(9))
    with h5py.File(path, "a") as f:
        f["rxs/rx1"].attrs["Position"] = "here"
    assert _error(path).field == "/rxs/rx1 Position"
    with h5py.File(path, "a") as f:
        f["rxs/rx1"].attrs["Position"] = (0.08, 0.17, 0.0)
        f.attrs["dx_dy_dz"] = (0.002, float("nan"), 0.002)
    assert _error(path).field == "dx_dy_dz"
