"""Gridding of GPR traces into cubes: kernels against their NumPy references, GprCube building from traces and
lines (cell choice, averaging, masks, filling, unequal lines, swaths), line offsets, validation, and the real
24-line dune survey."""

import math

import numpy as np
import pytest

from sensorkit.formats.base import DeviceInfo, GprLine, new_trace_meta
from sensorkit.gpr.gridding import GprCube, assign_line_offsets, choose_cell_size_m, grid_lines, grid_traces
from sensorkit.kernels import _reference_gridding as ref
from sensorkit.kernels.gridding import bin_traces, fill_empty_cells

DT_S = 1e-10


def make_line(traces, x_m, y_m, name="line", dt_s=DT_S, attrs=None):
    traces = np.asarray(traces)
    meta = new_trace_meta(traces.shape[0])
    meta["x_m"] = x_m
    meta["y_m"] = y_m
    return GprLine(name=name, traces=traces, dt_s=dt_s, trace_meta=meta, device=DeviceInfo(kind="gpr"),
                   attrs=dict(attrs or {}))


def survey(n_lines, n_traces, dx, dy, n_samples=16, seed=0):
    """Parallel lines along x (traces numbered line by line), values = 1000 * line + trace + sample / 100."""
    rng = np.random.default_rng(seed)
    traces, xs, ys = [], [], []
    for n in range(n_lines):
        for k in range(n_traces):
            traces.append(1000.0 * n + k + np.arange(n_samples) / 100.0)
            xs.append(k * dx + rng.uniform(-0.1, 0.1) * dx)  # odometer jitter
            ys.append(n * dy)
    return np.array(traces, dtype=np.float32), np.array(xs), np.array(ys)


# --- kernels against the references -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_bin_traces_matches_reference(seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((300, 37)) * 100).astype(np.float32)
    ix = rng.integers(0, 9, 300)
    iy = rng.integers(0, 7, 300)
    data, counts = bin_traces(x, ix, iy, 9, 8)  # last column empty
    data_ref, counts_ref = ref.bin_traces_reference(x, ix, iy, 9, 8)
    assert data.dtype == np.float32 and data.shape == (9, 8, 37)
    np.testing.assert_array_equal(counts, counts_ref)
    assert counts.sum() == 300 and (counts[:, 7] == 0).all()
    np.testing.assert_allclose(data, data_ref, rtol=1e-6, atol=1e-5)
    assert (data[:, 7] == 0).all()


@pytest.mark.parametrize("radius,power", [(0.05, 2.0), (0.11, 1.0), (0.3, 2.0)])
def test_fill_empty_cells_matches_reference(radius, power):
    rng = np.random.default_rng(3)
    data = rng.standard_normal((12, 6, 20)).astype(np.float32)
    has = rng.random((12, 6)) < 0.4
    data[~has] = 0.0
    out, filled = fill_empty_cells(data, has, cell_x_m=0.02, cell_y_m=0.05, radius_m=radius, power=power)
    out_ref, filled_ref = ref.fill_empty_cells_reference(data, has, 0.02, 0.05, radius, power)
    np.testing.assert_array_equal(filled, filled_ref)
    np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[has], data[has])  # cells with data untouched
    assert not (filled & has).any()


def test_fill_empty_cells_inverse_distance_values():
    data = np.zeros((5, 1, 2), dtype=np.float32)
    has = np.zeros((5, 1), dtype=bool)
    data[0, 0] = [1.0, 10.0]
    data[3, 0] = [4.0, 40.0]
    has[[0, 3], 0] = True
    out, filled = fill_empty_cells(data, has, cell_x_m=1.0, cell_y_m=1.0, radius_m=2.0)
    # cell 1: distances 1 and 2 -> weights 1 and 1/4; cell 2: 2 and 1; cell 4: only cell 3 within 2
    np.testing.assert_allclose(out[1, 0], [(1 + 4 / 4) / 1.25, (10 + 40 / 4) / 1.25], rtol=1e-6)
    np.testing.assert_allclose(out[2, 0], [(1 / 4 + 4) / 1.25, (10 / 4 + 40) / 1.25], rtol=1e-6)
    np.testing.assert_allclose(out[4, 0], [4.0, 40.0])
    assert filled.ravel().tolist() == [False, True, True, False, True]


def test_kernel_validation():
    x = np.zeros((4, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="ix: expected cell indices in"):
        bin_traces(x, [0, 1, 2, 5], [0, 0, 0, 0], 5, 1)
    with pytest.raises(ValueError, match="iy: expected 4 integer cell indices"):
        bin_traces(x, [0, 1, 2, 3], [0.0, 0, 0, 0], 4, 1)
    with pytest.raises(ValueError, match="beyond the limit"):
        bin_traces(x, [0, 0, 0, 0], [0, 0, 0, 0], 100_000, 100_000)
    with pytest.raises(ValueError, match="has_data: expected a bool array of shape"):
        fill_empty_cells(np.zeros((2, 2, 3)), np.ones((2, 3), bool), cell_x_m=1, cell_y_m=1, radius_m=1)
    with pytest.raises(ValueError, match="radius_m"):
        fill_empty_cells(np.zeros((2, 2, 3)), np.ones((2, 2), bool), cell_x_m=1, cell_y_m=1, radius_m=0)


# --- cell sizes -------------------------------------------------------------------------------------------

def test_choose_cell_size_dune_geometry():
    """24 lines of 451 traces 0.02 m apart, line n at y = (n - 1) * 0.2 m: cells 0.02 m x 0.2 m."""
    x = np.tile(np.arange(451) * 0.02, 24)
    y = np.repeat(np.arange(24) * 0.2, 451)
    cx, cy = choose_cell_size_m(x, y)
    assert cx == pytest.approx(0.02, rel=1e-9) and cy == pytest.approx(0.2, rel=1e-9)


def test_choose_cell_size_zigzag_lines_along_y_and_single_line():
    # lines along y walked back and forth (zigzag), 0.05 m trace step, 0.5 m apart in x
    ys = np.concatenate([np.arange(40) * 0.05 if n % 2 == 0 else np.arange(40)[::-1] * 0.05 for n in range(5)])
    xs = np.repeat(np.arange(5) * 0.5, 40)
    assert choose_cell_size_m(xs, ys) == pytest.approx((0.5, 0.05))
    assert choose_cell_size_m(np.arange(10) * 0.03, np.zeros(10)) == pytest.approx((0.03, 0.03))
    with pytest.raises(ValueError, match="give cell_x_m and cell_y_m"):
        choose_cell_size_m(np.ones(5), np.ones(5))


# --- grid_traces ------------------------------------------------------------------------------------------

def test_grid_traces_places_each_trace_in_its_cell():
    traces, xs, ys = survey(n_lines=3, n_traces=20, dx=0.05, dy=0.25)
    cube = grid_traces(traces, xs, ys, dt_s=DT_S)
    assert isinstance(cube, GprCube)
    assert cube.data.shape == (20, 3, 16) and cube.data.dtype == np.float32
    assert cube.cell_x_m == pytest.approx(0.05, rel=0.05) and cube.cell_y_m == pytest.approx(0.25)
    assert cube.mask.all() and cube.dt_s == DT_S
    np.testing.assert_allclose(np.diff(cube.x_m), cube.cell_x_m)
    np.testing.assert_allclose(cube.y_m, [0.0, 0.25, 0.5])
    np.testing.assert_array_equal(cube.data[7, 2], traces[2 * 20 + 7])


def test_grid_traces_averages_shared_cells_and_masks_empty_ones():
    traces = np.array([[1.0, 2.0], [3.0, 6.0], [10.0, 10.0], [-4.0, 4.0]], dtype=np.float32)
    xs = np.array([0.0, 0.04, 0.5, 0.0])     # traces 0, 1 share cell (0, 0); 2 in (5, 0); 3 in (0, 1)
    ys = np.array([0.0, 0.0, 0.0, 0.2])
    cube = grid_traces(traces, xs, ys, dt_s=DT_S, cell_x_m=0.1, cell_y_m=0.2)
    assert cube.data.shape == (6, 2, 2)
    np.testing.assert_array_equal(cube.data[0, 0], [2.0, 4.0])
    np.testing.assert_array_equal(cube.data[5, 0], [10.0, 10.0])
    np.testing.assert_array_equal(cube.data[0, 1], [-4.0, 4.0])
    assert cube.mask.sum() == 3 and not cube.mask[2, 0]
    assert (cube.data[~cube.mask] == 0).all()
    filled = grid_traces(traces, xs, ys, dt_s=DT_S, cell_x_m=0.1, cell_y_m=0.2, fill_distance_m=0.15)
    np.testing.assert_array_equal(filled.mask, cube.mask)               # the mask stays "traces only"
    np.testing.assert_allclose(filled.data[1, 0], [2.0, 4.0])            # one cell in reach: (0, 0)
    np.testing.assert_allclose(filled.data[4, 0], [10.0, 10.0])
    assert (filled.data[2, 0] == 0).all()                                # nothing within 0.15 m


def test_grid_traces_validation():
    tr = np.zeros((3, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="x_m: expected 3 positions"):
        grid_traces(tr, [0, 1], [0, 0, 0], dt_s=DT_S)
    with pytest.raises(ValueError, match="y_m: expected finite positions .* at trace 1"):
        grid_traces(tr, [0, 1, 2], [0, math.nan, 0], dt_s=DT_S)
    with pytest.raises(ValueError, match="traces: expected an array \\(n_traces, n_samples\\)"):
        grid_traces(np.zeros((3, 2, 8)), [0, 1, 2], [0, 0, 0], dt_s=DT_S)
    with pytest.raises(ValueError, match="dt_s"):
        grid_traces(tr, [0, 1, 2], [0, 0, 0], dt_s=0.0)
    with pytest.raises(ValueError, match="cell_x_m"):
        grid_traces(tr, [0, 1, 2], [0, 0, 0], dt_s=DT_S, cell_x_m=-1.0, cell_y_m=1.0)
    with pytest.raises(ValueError, match="more than 1e8 cells"):
        grid_traces(tr, [0, 1, 2e7], [0, 0, 0], dt_s=DT_S, cell_x_m=0.01, cell_y_m=1.0)
    with pytest.raises(ValueError, match="traces: expected finite values"):
        grid_traces(np.full((3, 8), np.nan), [0, 1, 2], [0, 0, 0], dt_s=DT_S)


# --- grid_lines, assign_line_offsets ------------------------------------------------------------------------

def test_grid_lines_unequal_lengths():
    a = make_line(np.ones((100, 8), np.int16), np.arange(100) * 0.02, 0.0, "a")
    b = make_line(np.full((60, 8), 3, np.int16), np.arange(60) * 0.02, 0.2, "b")
    c = make_line(np.full((80, 8), 5, np.int16), 0.4 + np.arange(80) * 0.02, 0.4, "c")  # starts 0.4 m on
    cube = grid_lines([a, b, c])
    assert cube.data.shape == (100, 3, 8)
    assert cube.cell_x_m == pytest.approx(0.02) and cube.cell_y_m == pytest.approx(0.2)
    assert cube.mask[:, 0].all()
    assert cube.mask[:60, 1].all() and not cube.mask[60:, 1].any()
    assert not cube.mask[:20, 2].any() and cube.mask[20:, 2].all()
    assert (cube.data[:60, 1] == 3).all() and (cube.data[20:, 2] == 5).all()


def test_grid_lines_swath_channels():
    x = np.arange(30) * 0.05
    tr = np.zeros((30, 4, 8), np.float32)
    for c in range(4):
        tr[:, c] = c + 1
    swath = make_line(tr, x, 0.15, "swath", attrs={"channel_y_m": [0.0, 0.1, 0.2, 0.3]})  # y_m: array mean
    cube = grid_lines([swath])
    assert cube.data.shape == (30, 4, 8) and cube.mask.all()
    assert cube.cell_x_m == pytest.approx(0.05) and cube.cell_y_m == pytest.approx(0.1)
    np.testing.assert_allclose(cube.y_m, [0.0, 0.1, 0.2, 0.3], atol=1e-12)
    assert [float(cube.data[5, j, 0]) for j in range(4)] == [1.0, 2.0, 3.0, 4.0]
    bad = make_line(tr, x, 0.15, "swath")
    with pytest.raises(ValueError, match="channel_y_m"):
        grid_lines([bad])


def test_grid_lines_validation():
    a = make_line(np.ones((10, 8)), np.arange(10) * 0.1, 0.0, "a")
    with pytest.raises(ValueError, match="lines\\[1\\] \\('b'\\).dt_s"):
        grid_lines([a, make_line(np.ones((10, 8)), np.arange(10) * 0.1, 0.5, "b", dt_s=2e-10)])
    with pytest.raises(ValueError, match="expected 8 samples per trace"):
        grid_lines([a, make_line(np.ones((10, 9)), np.arange(10) * 0.1, 0.5, "b")])
    with pytest.raises(ValueError, match="use assign_line_offsets"):
        grid_lines([a, make_line(np.ones((10, 8)), np.arange(10) * 0.1, math.nan, "b")])
    with pytest.raises(ValueError, match="non-empty list of GprLine"):
        grid_lines(a)
    with pytest.raises(ValueError, match="non-empty list of GprLine"):
        grid_lines([])


def test_assign_line_offsets():
    lines = [make_line(np.ones((5 + n, 4)), np.arange(5 + n) * 0.02, math.nan, f"l{n}") for n in range(3)]
    out = assign_line_offsets(lines, 0.2, start_m=1.0)
    assert [float(line.trace_meta["y_m"][0]) for line in out] == pytest.approx([1.0, 1.2, 1.4])
    assert all((line.trace_meta["y_m"] == line.trace_meta["y_m"][0]).all() for line in out)
    np.testing.assert_array_equal(out[2].trace_meta["x_m"], np.arange(7) * 0.02)
    assert np.isnan(lines[0].trace_meta["y_m"]).all()          # inputs untouched
    assert out[1].traces is lines[1].traces and out[1].name == "l1"
    spaced = assign_line_offsets(lines, 0.5, trace_spacing_m=0.1)
    np.testing.assert_allclose(spaced[1].trace_meta["x_m"], np.arange(6) * 0.1)
    no_x = [make_line(np.ones((5, 4)), math.nan, math.nan)]
    with pytest.raises(ValueError, match="give trace_spacing_m"):
        assign_line_offsets(no_x, 0.2)
    with pytest.raises(ValueError, match="spacing_m"):
        assign_line_offsets(lines, 0.0)


# --- the real dune survey ------------------------------------------------------------------------------------

def test_dune_survey_grid(shared_data):
    from sensorkit.formats.registry import read_any

    files = sorted((shared_data / "gpr" / "grid3d-dune400").glob("FILE____0*.DZT"))
    assert len(files) == 24
    lines = [read_any(f).gpr[0] for f in files]
    assert np.isnan(lines[0].trace_meta["y_m"]).all()  # DZT files carry the distance along the line only
    cube = grid_lines(assign_line_offsets(lines, 0.2))
    assert cube.data.shape == (451, 24, 512)
    assert cube.cell_x_m == pytest.approx(0.02, rel=1e-6) and cube.cell_y_m == pytest.approx(0.2, rel=1e-9)
    assert cube.mask.all()
    assert cube.x_m[-1] == pytest.approx(9.0) and cube.y_m[-1] == pytest.approx(4.6)
    assert cube.dt_s == pytest.approx(50e-9 / 512, rel=1e-9)
    np.testing.assert_array_equal(cube.data[:, 5], lines[5].traces.astype(np.float32))
