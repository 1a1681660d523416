"""Binning of GPR traces into a regular (x, y) grid of cells, and inverse-distance filling of empty cells.

These are the Numba cores of sensorkit.gpr.gridding (which chooses the cells and builds the cube); the plain
NumPy references are in _reference_gridding. Traces are float32 (n_traces, n_samples); sums run in float64.

bin_traces       each cell's traces averaged: (nx, ny, n_samples) float32 and the count per cell (nx, ny)
fill_empty_cells empty cells within a radius of cells with data get the inverse-distance weighted mean of them
"""

import math

import numpy as np
from numba import njit, prange

from sensorkit.kernels import validate

__all__ = ["bin_traces", "fill_empty_cells"]

MAX_CUBE_VALUES = 2_000_000_000  # nx * ny * n_samples refused beyond this (about 8 GB of float32)


@njit(cache=True)
def _bin_2d(x, ix, iy, nx, ny):
    """Mean of the traces of each cell (float64 sums), zero where a cell has none; counts (nx, ny)."""
    n_traces, n = x.shape
    sums = np.zeros((nx, ny, n))
    counts = np.zeros((nx, ny), dtype=np.int64)
    for k in range(n_traces):
        i = ix[k]
        j = iy[k]
        counts[i, j] += 1
        row = sums[i, j]
        for s in range(n):
            row[s] += x[k, s]
    out = np.zeros((nx, ny, n), dtype=np.float32)
    for i in range(nx):
        for j in range(ny):
            c = counts[i, j]
            if c > 0:
                inv = 1.0 / c
                for s in range(n):
                    out[i, j, s] = np.float32(sums[i, j, s] * inv)
    return out, counts


def _check_indices(name: str, idx, n_traces: int, n_cells: int) -> np.ndarray:
    a = np.asarray(idx)
    if a.shape != (n_traces,) or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name}: expected {n_traces} integer cell indices (one per trace), found dtype {a.dtype} "
                         f"shape {a.shape}")
    if n_traces and (a.min() < 0 or a.max() >= n_cells):
        raise ValueError(f"{name}: expected cell indices in [0, {n_cells - 1}], found {a.min()} to {a.max()}")
    return np.ascontiguousarray(a, dtype=np.int64)


def bin_traces(traces, ix, iy, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Average the traces falling in each cell.

    traces (n_traces, n_samples); ix, iy (n_traces,) integer cell indices in [0, nx) and [0, ny).
    Returns (data (nx, ny, n_samples) float32, zero in empty cells; counts (nx, ny) int64).
    """
    x = validate.as_float32_traces(traces)
    if x.ndim != 2:
        raise ValueError(f"traces: expected an array (n_traces, n_samples), found shape {x.shape}")
    nx = validate.int_in_range("nx", nx, 1, 2 ** 31)
    ny = validate.int_in_range("ny", ny, 1, 2 ** 31)
    if nx * ny * x.shape[1] > MAX_CUBE_VALUES:
        raise ValueError(f"nx, ny: a cube of {nx} x {ny} x {x.shape[1]} values is beyond the limit of "
                         f"{MAX_CUBE_VALUES} (cells too small for the area?)")
    ix = _check_indices("ix", ix, x.shape[0], nx)
    iy = _check_indices("iy", iy, x.shape[0], ny)
    return _bin_2d(x, ix, iy, nx, ny)


@njit(cache=True, parallel=True)
def _fill_idw(data, has_data, cell_x, cell_y, radius, power):
    """Copy of data whose empty cells within ``radius`` of cells with data hold their inverse-distance mean."""
    nx, ny, n = data.shape
    out = data.copy()
    filled = np.zeros((nx, ny), dtype=np.bool_)
    rx = int(math.floor(radius / cell_x + 1e-9))
    ry = int(math.floor(radius / cell_y + 1e-9))
    r2 = radius * radius * (1.0 + 1e-12)
    for cell in prange(nx * ny):
        i = cell // ny
        j = cell % ny
        if has_data[i, j]:
            continue
        acc = np.zeros(n)
        wsum = 0.0
        for a in range(max(0, i - rx), min(nx, i + rx + 1)):
            dx = (a - i) * cell_x
            for b in range(max(0, j - ry), min(ny, j + ry + 1)):
                if not has_data[a, b]:
                    continue
                dy = (b - j) * cell_y
                d2 = dx * dx + dy * dy
                if d2 > r2:
                    continue
                w = d2 ** (-0.5 * power)
                wsum += w
                for s in range(n):
                    acc[s] += w * data[a, b, s]
        if wsum > 0.0:
            filled[i, j] = True
            inv = 1.0 / wsum
            for s in range(n):
                out[i, j, s] = np.float32(acc[s] * inv)
    return out, filled


def fill_empty_cells(data, has_data, *, cell_x_m: float, cell_y_m: float, radius_m: float,
                     power: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Fill each empty cell with the mean of the cells holding data within radius_m of it (centre to centre),
    weighted by distance**-power.

    data (nx, ny, n_samples); has_data (nx, ny) bool. Returns (a new float32 cube, filled (nx, ny) bool: the
    cells that were empty and got a value). Cells with data and cells with no data in reach are unchanged.
    """
    d = validate.as_float32_traces(data)
    if d.ndim != 3:
        raise ValueError(f"data: expected a cube (nx, ny, n_samples), found shape {d.shape}")
    m = np.asarray(has_data)
    if m.shape != d.shape[:2] or m.dtype != np.bool_:
        raise ValueError(f"has_data: expected a bool array of shape {d.shape[:2]}, found dtype {m.dtype} "
                         f"shape {m.shape}")
    cx = validate.positive_float("cell_x_m", cell_x_m)
    cy = validate.positive_float("cell_y_m", cell_y_m)
    r = validate.positive_float("radius_m", radius_m)
    p = validate.float_in_range("power", power, 0.0, 16.0)
    return _fill_idw(d, np.ascontiguousarray(m), cx, cy, r, p)
