"""Plain NumPy references of the gridding kernels (sensorkit.kernels.gridding), for tests and benchmarks."""

import numpy as np


def bin_traces_reference(x: np.ndarray, ix: np.ndarray, iy: np.ndarray, nx: int, ny: int):
    """Per-cell mean of traces (float64 sums, float32 result) and counts, with np.add.at."""
    x = np.asarray(x, dtype=np.float64)
    sums = np.zeros((nx, ny, x.shape[-1]))
    counts = np.zeros((nx, ny), dtype=np.int64)
    np.add.at(sums, (ix, iy), x)
    np.add.at(counts, (ix, iy), 1)
    out = np.zeros_like(sums)
    full = counts > 0
    out[full] = sums[full] / counts[full][:, None]
    return out.astype(np.float32), counts


def fill_empty_cells_reference(data: np.ndarray, has_data: np.ndarray, cell_x_m: float, cell_y_m: float,
                               radius_m: float, power: float = 2.0):
    """Inverse-distance filling of empty cells from all cells with data within radius_m (brute force)."""
    nx, ny, _ = data.shape
    out = np.array(data, dtype=np.float32, copy=True)
    filled = np.zeros((nx, ny), dtype=bool)
    src_i, src_j = np.nonzero(has_data)
    src = data[src_i, src_j].astype(np.float64)
    for i, j in zip(*np.nonzero(~has_data)):
        d2 = ((src_i - i) * cell_x_m) ** 2 + ((src_j - j) * cell_y_m) ** 2
        near = d2 <= radius_m ** 2 * (1.0 + 1e-12)
        if not near.any():
            continue
        w = d2[near] ** (-0.5 * power)
        out[i, j] = (w @ src[near] / w.sum()).astype(np.float32)
        filled[i, j] = True
    return out, filled
