"""Gridding of GPR traces into a 3-D cube (x, y, time) of regular cells, from lines or scattered traces.

GprCube            the cube: data (nx, ny, n_samples) float32, cell centres x_m (nx,), y_m (ny,), mask (nx, ny)
choose_cell_size_m the default cells: along-line trace spacing and line spacing of the survey
grid_traces        traces (n_traces, n_samples) at per-trace (x_m, y_m) -> GprCube
grid_lines         GprLine list (x_m, y_m per trace; swaths with attrs["channel_y_m"]) -> GprCube
assign_line_offsets give parallel lines their y (line n at start_m + n * spacing_m) when the files carry none

Cells are centred on x_m[0] + i * cell_x_m, with x_m[0] the smallest trace x (likewise y); a trace goes to
the nearest cell centre. Cells holding several traces average them; empty cells are zero and masked False,
or, with fill_distance_m, take the inverse-distance mean of the cells with data within that distance (and
stay masked False: the mask says where traces were).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from sensorkit.formats.base import GprLine
from sensorkit.kernels import gridding as kernels
from sensorkit.kernels import validate

__all__ = ["GprCube", "assign_line_offsets", "choose_cell_size_m", "grid_lines", "grid_traces"]

SAME_LINE_RATIO = 0.1  # a step between consecutive traces is along x when |dy| <= 0.1 |dx| (and vice versa)
LINE_GAP_RATIO = 0.25  # distinct line positions differ by more than 0.25 trace steps


@dataclass
class GprCube:
    """Gridded GPR data: data[i, j, k] is the mean of the traces in the cell centred on (x_m[i], y_m[j]) at
    sample k (two-way time k * dt_s). mask (nx, ny) is True where the cell holds traces (not filled)."""

    data: np.ndarray   # (nx, ny, n_samples) float32
    x_m: np.ndarray    # (nx,) cell centres, regular
    y_m: np.ndarray    # (ny,) cell centres, regular
    mask: np.ndarray   # (nx, ny) bool
    dt_s: float
    cell_x_m: float
    cell_y_m: float

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[-1])


def _positions(name: str, values, n: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a 1-D array of positions in metres, found {values!r}") from None
    if a.ndim != 1 or a.size < 1:
        raise ValueError(f"{name}: expected a 1-D array of at least one position in metres, found shape {a.shape}")
    if n is not None and a.size != n:
        raise ValueError(f"{name}: expected {n} positions (one per trace), found {a.size}")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name}: expected finite positions in metres, found {int(bad.sum())} non-finite, the "
                         f"first at trace {int(np.argmax(bad))}")
    return a


def _line_gap_m(values: np.ndarray, min_gap_m: float) -> float | None:
    """Median gap between the distinct positions (gaps <= min_gap_m merge), None for a single position."""
    gaps = np.diff(np.sort(values))
    gaps = gaps[gaps > min_gap_m]
    return float(np.median(gaps)) if gaps.size else None


def choose_cell_size_m(x_m, y_m) -> tuple[float, float]:
    """Default cells (cell_x_m, cell_y_m) for traces at (x_m, y_m) in acquisition order (n_traces,).

    Lines along x: cell_x_m is the median step between consecutive traces of a line (steps with
    |dy| <= 0.1 |dx|), cell_y_m the median gap between distinct line positions y (gaps larger than a quarter
    of the trace step; the trace step when all traces share one y). Lines along y: the same with x and y
    swapped. The axis with more such steps is the along-line axis.
    """
    x = _positions("x_m", x_m)
    y = _positions("y_m", y_m, x.size)
    dx = np.abs(np.diff(x))
    dy = np.abs(np.diff(y))
    along_x = (dx > 0) & (dy <= SAME_LINE_RATIO * dx)
    along_y = (dy > 0) & (dx <= SAME_LINE_RATIO * dy)
    if not along_x.any() and not along_y.any():
        raise ValueError("x_m, y_m: expected traces along lines (consecutive traces a step apart along x or y) "
                         "to choose the cells from, found none; give cell_x_m and cell_y_m")
    if along_x.sum() >= along_y.sum():
        step = float(np.median(dx[along_x]))
        across = _line_gap_m(y, LINE_GAP_RATIO * step)
        return step, (across if across is not None else step)
    step = float(np.median(dy[along_y]))
    across = _line_gap_m(x, LINE_GAP_RATIO * step)
    return (across if across is not None else step), step


def _cell_axis(values: np.ndarray, cell: float, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(cell index per trace, cell centres) of a regular axis starting at the smallest value."""
    origin = float(values.min())
    n_float = (float(values.max()) - origin) / cell
    if n_float > 1e8:
        raise ValueError(f"{name}: a cell of {cell!r} m over {float(values.max()) - origin:.6g} m gives more than "
                         f"1e8 cells")
    idx = np.rint((values - origin) / cell).astype(np.int64)
    n = int(idx.max()) + 1
    return idx, origin + cell * np.arange(n)


def grid_traces(traces, x_m, y_m, *, dt_s, cell_x_m=None, cell_y_m=None, fill_distance_m=None) -> GprCube:
    """Bin traces (n_traces, n_samples) recorded at (x_m, y_m) (n_traces,) into a GprCube.

    cell_x_m, cell_y_m: cell sizes in metres (default: choose_cell_size_m, both or either). fill_distance_m:
    fill empty cells from the cells with data within this distance (inverse distance squared); None: leave
    them zero. The mask stays True only where traces fell.
    """
    x = validate.as_float32_traces(traces)
    if x.ndim != 2:
        raise ValueError(f"traces: expected an array (n_traces, n_samples), found shape {x.shape}")
    xs = _positions("x_m", x_m, x.shape[0])
    ys = _positions("y_m", y_m, x.shape[0])
    dt = validate.positive_float("dt_s", dt_s)
    if cell_x_m is None or cell_y_m is None:
        auto_x, auto_y = choose_cell_size_m(xs, ys)
        cell_x_m = auto_x if cell_x_m is None else cell_x_m
        cell_y_m = auto_y if cell_y_m is None else cell_y_m
    cx = validate.positive_float("cell_x_m", cell_x_m)
    cy = validate.positive_float("cell_y_m", cell_y_m)
    ix, x_axis = _cell_axis(xs, cx, "cell_x_m")
    iy, y_axis = _cell_axis(ys, cy, "cell_y_m")
    data, counts = kernels.bin_traces(x, ix, iy, x_axis.size, y_axis.size)
    mask = counts > 0
    if fill_distance_m is not None:
        radius = validate.positive_float("fill_distance_m", fill_distance_m)
        data, _ = kernels.fill_empty_cells(data, mask, cell_x_m=cx, cell_y_m=cy, radius_m=radius)
    return GprCube(data=data, x_m=x_axis, y_m=y_axis, mask=mask, dt_s=dt, cell_x_m=cx, cell_y_m=cy)


def _line_positions(i: int, line: GprLine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(traces (n, n_samples), x (n,), y (n,)) of one line; a swath unfolded channel by channel."""
    name = f"lines[{i}] ({line.name!r})"
    if not isinstance(line, GprLine):
        raise ValueError(f"lines[{i}]: expected a GprLine, found {type(line).__name__}")
    tr = np.asarray(line.traces)
    meta = line.trace_meta
    if meta is None or len(meta) != tr.shape[0]:
        raise ValueError(f"{name}.trace_meta: expected {tr.shape[0]} records (one per trace), found "
                         f"{None if meta is None else len(meta)}")
    x = np.asarray(meta["x_m"], dtype=np.float64)
    y = np.asarray(meta["y_m"], dtype=np.float64)
    for axis, v in (("x_m", x), ("y_m", y)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name}.trace_meta['{axis}']: expected finite positions for every trace, found "
                             f"{int((~np.isfinite(v)).sum())} unknown (NaN); use assign_line_offsets for "
                             f"parallel lines whose files carry only the distance along the line")
    if tr.ndim == 2:
        return tr, x, y
    if tr.ndim != 3:
        raise ValueError(f"{name}.traces: expected (n_traces, n_samples) or (n_traces, n_channels, n_samples), "
                         f"found shape {tr.shape}")
    n_ch = tr.shape[1]
    ch = line.attrs.get("channel_y_m")
    if ch is None or len(ch) != n_ch:
        raise ValueError(f"{name}.attrs['channel_y_m']: expected the y of each of the {n_ch} channels of the "
                         f"swath, found {ch!r}")
    ch = np.asarray(ch, dtype=np.float64)
    # trace_meta y_m is the array's mean y (simulate_swath): channel c lies at y + (ch[c] - mean(ch)).
    # Channel by channel, so that consecutive traces step along the line (choose_cell_size_m).
    ys = ((ch - ch.mean())[:, None] + y[None, :]).reshape(-1)
    xs = np.tile(x, n_ch)
    return np.ascontiguousarray(tr.transpose(1, 0, 2)).reshape(-1, tr.shape[-1]), xs, ys


def grid_lines(lines: list[GprLine], *, cell_x_m=None, cell_y_m=None, fill_distance_m=None) -> GprCube:
    """Grid GPR lines (x_m and y_m in each trace_meta) or swaths into one GprCube.

    The lines may differ in length but must share dt_s and n_samples. Swaths (n_traces, n_channels,
    n_samples) need attrs["channel_y_m"] (channel c at the trace's y_m + channel_y_m[c] - mean(channel_y_m)).
    Options as grid_traces.
    """
    if isinstance(lines, GprLine) or not isinstance(lines, (list, tuple)) or not lines:
        raise ValueError(f"lines: expected a non-empty list of GprLine, found {type(lines).__name__}")
    parts = [_line_positions(i, line) for i, line in enumerate(lines)]
    dt0, ns0 = float(lines[0].dt_s), parts[0][0].shape[-1]
    for i, (line, (tr, _, _)) in enumerate(zip(lines, parts)):
        if not math.isclose(float(line.dt_s), dt0, rel_tol=1e-9):
            raise ValueError(f"lines[{i}] ({line.name!r}).dt_s: expected the first line's {dt0!r} s, "
                             f"found {line.dt_s!r}")
        if tr.shape[-1] != ns0:
            raise ValueError(f"lines[{i}] ({line.name!r}).traces: expected {ns0} samples per trace as the first "
                             f"line, found {tr.shape[-1]}")
    traces = np.concatenate([validate.as_float32_traces(p[0], f"lines[{i}].traces") for i, p in enumerate(parts)])
    xs = np.concatenate([p[1] for p in parts])
    ys = np.concatenate([p[2] for p in parts])
    return grid_traces(traces, xs, ys, dt_s=dt0, cell_x_m=cell_x_m, cell_y_m=cell_y_m,
                       fill_distance_m=fill_distance_m)


def assign_line_offsets(lines: list[GprLine], spacing_m: float, start_m: float = 0.0, *,
                        trace_spacing_m: float | None = None) -> list[GprLine]:
    """Copies of parallel lines along x with line n at y = start_m + n * spacing_m.

    x_m is kept from each line's trace_meta (the distance along the line, as DZT and DT1 files give it), or,
    with trace_spacing_m (or where the line has no x_m), set to k * trace_spacing_m for trace k. The input lines
    are not modified (traces are shared, trace_meta copied).
    """
    if isinstance(lines, GprLine) or not isinstance(lines, (list, tuple)) or not lines:
        raise ValueError(f"lines: expected a non-empty list of GprLine, found {type(lines).__name__}")
    spacing = validate.positive_float("spacing_m", spacing_m)
    start = validate.finite_float("start_m", start_m)
    step = None if trace_spacing_m is None else validate.positive_float("trace_spacing_m", trace_spacing_m)
    out = []
    for n, line in enumerate(lines):
        if not isinstance(line, GprLine):
            raise ValueError(f"lines[{n}]: expected a GprLine, found {type(line).__name__}")
        meta = np.array(line.trace_meta, copy=True)
        if len(meta) != line.traces.shape[0]:
            raise ValueError(f"lines[{n}] ({line.name!r}).trace_meta: expected {line.traces.shape[0]} records, "
                             f"found {len(meta)}")
        if step is not None:
            meta["x_m"] = np.arange(len(meta)) * step
        elif not np.all(np.isfinite(meta["x_m"])):
            raise ValueError(f"lines[{n}] ({line.name!r}).trace_meta['x_m']: expected the distance along the line "
                             f"for every trace, found {int((~np.isfinite(meta['x_m'])).sum())} unknown; give "
                             f"trace_spacing_m")
        meta["y_m"] = start + n * spacing
        out.append(dataclasses.replace(line, trace_meta=meta))
    return out
