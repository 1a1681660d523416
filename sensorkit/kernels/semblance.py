"""Semblance of GPR events along travel-time curves: diffraction hyperbolae in a line, NMO in a CMP/WARR gather.

Semblance of a window of samples a[x, tau] picked along a travel-time curve (x over traces, tau over a window
of 2 * half_window + 1 samples centred on the curve):
    S = sum_tau (sum_x a[x, tau])**2 / (N * sum_tau sum_x a[x, tau]**2),
N the number of traces whose whole window lies in the record. S is 1 when every trace holds the same
waveform along the curve and about 1 / N for noise. Samples at fractional times are linearly interpolated.
Time convention: sample k is at two-way time k * dt_s - time_zero_s. Sums run in float64.

hyperbola_semblance  (n_apex, n_v): semblance of the diffraction hyperbola of each candidate apex and velocity,
                     with the refracted travel times of an antenna height_m above the ground (traveltime.py),
                     the best over small shifts of the apex time
nmo_semblance        (n_v, n_t): the classic velocity panel of a common-midpoint or WARR gather,
                     t(x) = sqrt(t0**2 + (x / v)**2), t0 the zero-offset time of row k

The plain NumPy references are in _reference_velocity.
"""

import math

import numpy as np
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s

__all__ = ["hyperbola_semblance", "nmo_semblance"]


@njit(cache=True, inline="always")
def _sample(row, pos):
    """row at fractional index pos by linear interpolation (pos within [0, n - 1])."""
    i = int(math.floor(pos))
    if i >= row.shape[0] - 1:
        return np.float64(row[row.shape[0] - 1])
    f = pos - i
    return (1.0 - f) * row[i] + f * row[i + 1]


@njit(cache=True)
def _one_hyperbola(x, x_m, ia, t_apex, v, dt_s, time_zero_s, height_m, half_window, aperture_m, max_traces,
                   min_traces, stack):
    """Semblance of the hyperbola with apex at trace ia and time t_apex, velocity v; the traces within aperture_m
    of the apex, every stride-th counted from the apex so that at most about max_traces are read (0: all);
    0 when fewer than min_traces hold the whole window. stack: scratch (2 * half_window + 1,)."""
    n_traces, n = x.shape
    depth = (0.5 * t_apex - height_m / C0_MPS) * v
    if depth <= 0.0:
        return 0.0
    x0 = x_m[ia]
    stride = 1
    if max_traces > 0:
        n_in = 0
        for k in range(n_traces):
            if abs(x_m[k] - x0) <= aperture_m:
                n_in += 1
        stride = max(1, (n_in + max_traces - 1) // max_traces)
    stack[:] = 0.0
    energy = 0.0
    count = 0
    for k in range(ia % stride, n_traces, stride):
        r = abs(x_m[k] - x0)
        if r > aperture_m:
            continue
        centre = (2.0 * refracted_one_way_time_s(r, height_m, depth, v) + time_zero_s) / dt_s
        if centre - half_window < 0.0 or centre + half_window > n - 1:
            continue
        count += 1
        for j in range(stack.shape[0]):
            s = _sample(x[k], centre + (j - half_window))
            stack[j] += s
            energy += s * s
    if count == 0 or count < min_traces or energy <= 0.0:
        return 0.0
    num = 0.0
    for j in range(stack.shape[0]):
        num += stack[j] * stack[j]
    return num / (count * energy)


@njit(cache=True, parallel=True)
def _hyperbola_semblance(x, x_m, apex_ix, apex_sample, velocities, dt_s, time_zero_s, height_m, half_window,
                         aperture_m, shifts, trace_shifts, max_traces, min_traces):
    n_traces = x.shape[0]
    n_apex = apex_ix.shape[0]
    n_v = velocities.shape[0]
    out = np.zeros((n_apex, n_v))
    best_trace = np.empty((n_apex, n_v), dtype=np.int64)
    best_shift = np.zeros((n_apex, n_v))
    for job in prange(n_apex * n_v):
        a = job // n_v
        iv = job % n_v
        stack = np.zeros(2 * half_window + 1)
        best = 0.0
        best_trace[a, iv] = apex_ix[a]
        for ts in trace_shifts:
            ia = apex_ix[a] + ts
            if ia < 0 or ia >= n_traces:
                continue
            for shift in shifts:
                t_apex = (apex_sample[a] + shift) * dt_s - time_zero_s
                sem = _one_hyperbola(x, x_m, ia, t_apex, velocities[iv], dt_s, time_zero_s, height_m,
                                     half_window, aperture_m[a], max_traces, min_traces, stack)
                if sem > best:
                    best = sem
                    best_trace[a, iv] = ia
                    best_shift[a, iv] = shift
        out[a, iv] = best
    return out, best_trace, best_shift


def _velocities(velocities_mps) -> np.ndarray:
    try:
        v = np.asarray(velocities_mps, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"velocities_mps: expected a 1-D array of velocities in m/s, found {velocities_mps!r}") \
            from None
    if v.ndim != 1 or v.size < 1 or not np.all(np.isfinite(v)) or (v <= 0).any() or (v > C0_MPS).any():
        raise ValueError(f"velocities_mps: expected a 1-D array of velocities in (0, {C0_MPS:.0f}] m/s, found "
                         f"shape {v.shape}, range {np.min(v) if v.size else None!r} to "
                         f"{np.max(v) if v.size else None!r}")
    return np.ascontiguousarray(v)


def _float_array(name: str, values, n: int) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected {n} numbers, found {values!r}") from None
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected {n} finite numbers, found shape {a.shape}")
    return np.ascontiguousarray(a)


def hyperbola_semblance(traces, x_m, apex_index, apex_sample, velocities_mps, *, dt_s: float,
                        time_zero_s: float = 0.0, height_m: float = 0.0, half_window: int, aperture_m,
                        shifts_samples=(0.0,), trace_shifts=(0,),
                        max_traces: int = 0, min_traces: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Semblance of the diffraction hyperbola through each candidate apex, for each velocity.

    traces (n_traces, n_samples) at positions x_m (n_traces,) along the line; apex a is at trace
    apex_index[a] and fractional sample apex_sample[a] (n_apex,). For velocity v the apex two-way time
    t_a = apex_sample * dt_s - time_zero_s gives the depth z = (t_a / 2 - height_m / c) v, and trace x holds
    the echo at 2 * refracted_one_way_time_s(|x - x_apex|, height_m, z, v). Traces within aperture_m (scalar or
    (n_apex,)) of the apex count. The result is the best over shifts of the apex by shifts_samples (n_s,)
    (fractional samples) in time and by trace_shifts (n_ts,) traces along the line (apexes moved off the line are
    skipped). max_traces > 0
    reads every stride-th trace (counted from the apex) so that at most about max_traces are summed.
    Returns (semblance (n_apex, n_v) float64 in [0, 1], 0 where fewer than min_traces traces (of those read)
    hold the whole window; the apex trace
    index (n_apex, n_v) int64 and the apex shift in samples (n_apex, n_v) float64 of the best shifts).
    """
    x = validate.as_float32_traces(traces)
    if x.ndim != 2:
        raise ValueError(f"traces: expected an array (n_traces, n_samples), found shape {x.shape}")
    pos = _float_array("x_m", x_m, x.shape[0])
    ia = np.asarray(apex_index)
    if ia.ndim != 1 or not np.issubdtype(ia.dtype, np.integer) or (ia.size and (ia.min() < 0 or
                                                                               ia.max() >= x.shape[0])):
        raise ValueError(f"apex_index: expected a 1-D array of trace indices in [0, {x.shape[0] - 1}], found "
                         f"{apex_index!r}")
    ts = _float_array("apex_sample", apex_sample, ia.size)
    ap = _float_array("aperture_m", aperture_m, ia.size)
    if (ap < 0).any():
        raise ValueError(f"aperture_m: expected distances >= 0 m, found min {ap.min()!r}")
    v = _velocities(velocities_mps)
    dt = validate.positive_float("dt_s", dt_s)
    tz = validate.finite_float("time_zero_s", time_zero_s)
    h = validate.float_in_range("height_m", height_m, 0.0, math.inf)
    hw = validate.int_in_range("half_window", half_window, 0, x.shape[1])
    shifts = np.atleast_1d(np.asarray(shifts_samples, dtype=np.float64))
    if shifts.ndim != 1 or shifts.size < 1 or not np.all(np.isfinite(shifts)):
        raise ValueError(f"shifts_samples: expected a 1-D array of finite sample shifts, found {shifts_samples!r}")
    mts = np.atleast_1d(np.asarray(trace_shifts))
    if mts.ndim != 1 or mts.size < 1 or not np.issubdtype(mts.dtype, np.integer):
        raise ValueError(f"trace_shifts: expected a 1-D array of integer trace shifts, found {trace_shifts!r}")
    mts = np.ascontiguousarray(mts, dtype=np.int64)
    mt = validate.int_in_range("max_traces", max_traces, 0, 2 ** 31)
    mn = validate.int_in_range("min_traces", min_traces, 1, 2 ** 31)
    return _hyperbola_semblance(x, pos, np.ascontiguousarray(ia, dtype=np.int64), ts, v, dt, tz, h, hw, ap,
                                np.ascontiguousarray(shifts), mts, mt, mn)


@njit(cache=True, parallel=True)
def _nmo_semblance(x, offsets, velocities, dt_s, time_zero_s, half_window):
    n_traces, n = x.shape
    n_v = velocities.shape[0]
    out = np.zeros((n_v, n))
    for iv in prange(n_v):
        v = velocities[iv]
        stack = np.zeros(n)
        energy = np.zeros(n)
        count = np.zeros(n)
        first = max(0, int(math.ceil(time_zero_s / dt_s - 1e-9)))
        for k in range(n_traces):  # trace by trace: each row read in order
            q = offsets[k] / v
            row = x[k]
            for i in range(first, n):
                t0 = i * dt_s - time_zero_s
                if t0 < 0.0:
                    continue
                pos = (math.sqrt(t0 * t0 + q * q) + time_zero_s) / dt_s
                if pos < 0.0:
                    continue
                if pos > n - 1:
                    break  # pos grows with i
                s = _sample(row, pos)
                stack[i] += s
                energy[i] += s * s
                count[i] += 1.0
        for i in range(n):
            if i * dt_s - time_zero_s < 0.0:
                continue
            num = 0.0
            den = 0.0
            for j in range(max(0, i - half_window), min(n, i + half_window + 1)):
                num += stack[j] * stack[j]
                den += count[j] * energy[j]
            if den > 0.0:
                out[iv, i] = num / den
    return out


def nmo_semblance(gather, offsets_m, velocities_mps, *, dt_s: float, time_zero_s: float = 0.0,
                  half_window: int) -> np.ndarray:
    """Velocity panel (n_velocities, n_samples) of a CMP/WARR gather.

    gather (n_traces, n_samples), trace k recorded at antenna offset offsets_m[k] (m, >= 0). Row k of the
    panel is the zero-offset two-way time t0 = k * dt_s - time_zero_s (rows t0 < 0 are 0); each trace is read at
    sqrt(t0**2 + (offset / v)**2) (traces whose time falls past the record are left out), and the semblance
    is summed over rows k - half_window .. k + half_window:
        S = sum_j stack_j**2 / sum_j (n_j * energy_j).
    The direct ground wave (t = offset / v) is the row t0 = 0.
    """
    x = validate.as_float32_traces(gather, "gather")
    if x.ndim != 2:
        raise ValueError(f"gather: expected an array (n_traces, n_samples), found shape {x.shape}")
    off = _float_array("offsets_m", offsets_m, x.shape[0])
    if (off < 0).any():
        raise ValueError(f"offsets_m: expected offsets >= 0 m, found min {off.min()!r}")
    v = _velocities(velocities_mps)
    dt = validate.positive_float("dt_s", dt_s)
    tz = validate.finite_float("time_zero_s", time_zero_s)
    hw = validate.int_in_range("half_window", half_window, 0, x.shape[1])
    return _nmo_semblance(x, off, v, dt, tz, hw)
