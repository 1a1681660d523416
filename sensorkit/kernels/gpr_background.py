"""Background removal for GPR: subtract the mean or median trace, over all traces or a moving window of traces.

Removes what is common to neighbouring traces (antenna ringing, direct wave, flat layers) and keeps what
changes along the line (hyperbolae from buried objects). Traces are float32 (..., n_traces, n_samples).
"""

import numpy as np
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.sorted_window import sorted_insert, sorted_remove

_CHUNK_SAMPLES = 64  # samples per parallel task: (group, sample chunk) pairs are spread over the threads


@njit(cache=True)
def _task_block(task, n_chunks, n):
    """(group g, first sample c0, end sample c1) of task number `task` over (group, sample chunk) pairs."""
    g = task // n_chunks
    c0 = (task % n_chunks) * _CHUNK_SAMPLES
    return g, c0, min(n, c0 + _CHUNK_SAMPLES)


@njit(cache=True, inline="always")  # inlined in Numba IR: as a call it slowed the moving mean by half
def _add_traces(acc, x, g, t0, t1, c0, sign):
    """acc (w,) float64 += sign * the samples c0..c0+w-1 of traces t0..t1-1 of group g (sign +1.0 or -1.0)."""
    for t in range(t0, t1):
        row = x[g, t, c0:c0 + acc.size]
        for s in range(acc.size):
            acc[s] += sign * row[s]


@njit(cache=True)
def _sample_columns(x, g, c0, c1):
    """float64 (c1 - c0, n_traces): the samples c0..c1-1 of every trace of group g, one row per sample."""
    n_tr = x.shape[1]
    cols = np.empty((c1 - c0, n_tr))
    for t in range(n_tr):
        for s in range(c0, c1):
            cols[s - c0, t] = x[g, t, s]
    return cols


@njit(cache=True)
def _mean_all_3d(x):
    """x (n_groups, n_traces, n_samples) minus the mean trace of each group (float64 sums)."""
    n_groups, n_tr, n = x.shape
    out = np.empty_like(x)
    n_chunks = (n + _CHUNK_SAMPLES - 1) // _CHUNK_SAMPLES
    for task in range(n_groups * n_chunks):
        g, c0, c1 = _task_block(task, n_chunks, n)
        w = c1 - c0
        acc = np.zeros(w)
        _add_traces(acc, x, g, 0, n_tr, c0, 1.0)
        for s in range(w):
            acc[s] /= n_tr
        for t in range(n_tr):
            row = x[g, t, c0:c1]
            orow = out[g, t, c0:c1]
            for s in range(w):
                orow[s] = np.float32(row[s] - acc[s])
    return out


@njit(cache=True, parallel=True)
def _mean_moving_3d(x, half):
    """x minus the mean over the centred window of traces [t - half, t + half], truncated at the ends."""
    n_groups, n_tr, n = x.shape
    out = np.empty_like(x)
    n_chunks = (n + _CHUNK_SAMPLES - 1) // _CHUNK_SAMPLES
    for task in prange(n_groups * n_chunks):
        g, c0, c1 = _task_block(task, n_chunks, n)
        w = c1 - c0
        acc = np.zeros(w)
        _add_traces(acc, x, g, 0, min(half, n_tr - 1) + 1, c0, 1.0)
        for t in range(n_tr):
            count = min(n_tr - 1, t + half) - max(0, t - half) + 1
            row = x[g, t, c0:c1]
            orow = out[g, t, c0:c1]
            for s in range(w):
                orow[s] = np.float32(row[s] - acc[s] / count)
            if t + half + 1 < n_tr:
                _add_traces(acc, x, g, t + half + 1, t + half + 2, c0, 1.0)
            if t - half >= 0:
                _add_traces(acc, x, g, t - half, t - half + 1, c0, -1.0)
    return out


@njit(cache=True, parallel=True)
def _median_all_3d(x):
    """x minus the median trace of each group (median of an even count: mean of the two middle values)."""
    n_groups, n_tr, n = x.shape
    out = np.empty_like(x)
    n_chunks = (n + _CHUNK_SAMPLES - 1) // _CHUNK_SAMPLES
    for task in prange(n_groups * n_chunks):
        g, c0, c1 = _task_block(task, n_chunks, n)
        cols = _sample_columns(x, g, c0, c1)
        med = np.empty(c1 - c0)
        for s in range(c1 - c0):
            med[s] = np.median(cols[s])
        for t in range(n_tr):
            for s in range(c0, c1):
                out[g, t, s] = np.float32(x[g, t, s] - med[s - c0])
    return out


@njit(cache=True, parallel=True)
def _median_moving_3d(x, half):
    """x minus the median over the centred window of traces [t - half, t + half], truncated at the ends.

    Each sample's column keeps its window sorted; sliding by one trace is one insertion and one removal.
    """
    n_groups, n_tr, n = x.shape
    out = np.empty_like(x)
    n_chunks = (n + _CHUNK_SAMPLES - 1) // _CHUNK_SAMPLES
    for task in prange(n_groups * n_chunks):
        g, c0, c1 = _task_block(task, n_chunks, n)
        cols = _sample_columns(x, g, c0, c1)
        med = np.empty((c1 - c0, n_tr))
        win = np.empty(2 * half + 2)
        for s in range(c1 - c0):
            col = cols[s]
            count = 0
            for t in range(min(half, n_tr - 1) + 1):
                count = sorted_insert(win, count, col[t])
            for t in range(n_tr):
                m = count // 2
                if count % 2 == 1:
                    med[s, t] = win[m]
                else:
                    med[s, t] = 0.5 * (win[m - 1] + win[m])
                if t + half + 1 < n_tr:
                    count = sorted_insert(win, count, col[t + half + 1])
                if t - half >= 0:
                    count = sorted_remove(win, count, col[t - half])
        for t in range(n_tr):
            for s in range(c0, c1):
                out[g, t, s] = np.float32(x[g, t, s] - med[s - c0, t])
    return out


def remove_background(traces, *, statistic: str = "mean", window_traces=None, trace_axis=-2) -> np.ndarray:
    """Subtract the mean or median trace from every trace.

    traces: (..., n_traces, n_samples), time on the last axis; returns float32 of the same shape.
    statistic: "mean" or "median" (median of an even count: mean of the two middle values).
    window_traces: None for the statistic over all traces, or a moving window of traces centred on each
        trace, 2 <= window_traces <= n_traces; it spans 2 * (window_traces // 2) + 1 traces (an even
        length is widened by one) and is truncated at the ends of the line.
    trace_axis: the axis holding the traces to combine (default -2: each line of a (line, trace, sample)
        grid or each channel of a (channel, trace, sample) array on its own; use 0 for (trace, channel,
        sample) recordings); None combines all traces of the whole array.
    """
    x = validate.as_float32_traces(traces)
    validate.choice("statistic", statistic, ("mean", "median"))
    n = x.shape[-1]
    if trace_axis is None:
        moved = x.reshape(-1, n)
        axis = None
    else:
        if x.ndim < 2:
            raise ValueError(f"traces: expected (..., n_traces, n_samples) with trace_axis={trace_axis!r}, "
                             f"found shape {x.shape}; pass a 2-D array or trace_axis=None")
        axis = validate.int_in_range("trace_axis", trace_axis, -x.ndim, x.ndim - 2)
        axis = axis % x.ndim
        if axis == x.ndim - 1:
            raise ValueError(f"trace_axis: expected an axis other than the last (time) axis, found {trace_axis!r}")
        moved = np.moveaxis(x, axis, -2)
    n_tr = moved.shape[-2]
    x3 = np.ascontiguousarray(moved).reshape(-1, n_tr, n)
    if window_traces is None:
        out3 = _mean_all_3d(x3) if statistic == "mean" else _median_all_3d(x3)
    else:
        if n_tr < 2:
            raise ValueError(f"window_traces: a moving window needs at least 2 traces along trace_axis, "
                             f"found {n_tr} (shape {x.shape})")
        w = validate.int_in_range("window_traces", window_traces, 2, n_tr)
        out3 = _mean_moving_3d(x3, w // 2) if statistic == "mean" else _median_moving_3d(x3, w // 2)
    out = out3.reshape(moved.shape)
    if axis is None:
        return out.reshape(x.shape)
    return np.ascontiguousarray(np.moveaxis(out, -2, axis))
