"""Plain NumPy references of the semblance kernels (sensorkit.kernels.semblance), for tests and benchmarks."""

import numpy as np

from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s


def _interp(row: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return np.interp(pos, np.arange(row.size), row.astype(np.float64))


def hyperbola_semblance_reference(x, x_m, apex_index, apex_sample, velocities, dt_s, time_zero_s, height_m,
                                  half_window, aperture_m, shifts_samples=(0.0,), trace_shifts=(0,), max_traces=0,
                                  min_traces=1):
    """(semblance, best apex trace, best apex shift), each (n_apex, n_v), as the kernel: loops over apexes,
    velocities and shifts, vectorised over traces and the window."""
    x = np.asarray(x, dtype=np.float32)
    n_traces, n = x.shape
    x_m = np.asarray(x_m, dtype=np.float64)
    aperture_m = np.broadcast_to(np.asarray(aperture_m, dtype=np.float64), (len(apex_index),))
    tau = np.arange(-half_window, half_window + 1)
    shape = (len(apex_index), len(velocities))
    out, best_trace, best_shift = np.zeros(shape), np.zeros(shape, dtype=np.int64), np.zeros(shape)
    for a, (i_apex, ts) in enumerate(zip(apex_index, apex_sample)):
        for iv, v in enumerate(velocities):
            best, best_trace[a, iv] = 0.0, i_apex
            for ia in (i_apex + ts for ts in trace_shifts if 0 <= i_apex + ts < n_traces):
                r = np.abs(x_m - x_m[ia])
                inside = r <= aperture_m[a]
                stride = max(1, -(-int(inside.sum()) // max_traces)) if max_traces > 0 else 1
                near = np.nonzero(inside & (np.arange(n_traces) % stride == ia % stride))[0]
                for shift in shifts_samples:
                    depth = (0.5 * ((ts + shift) * dt_s - time_zero_s) - height_m / C0_MPS) * v
                    if depth <= 0.0:
                        continue
                    t = np.array([2.0 * refracted_one_way_time_s(r[k], height_m, depth, v) for k in near])
                    centre = (t + time_zero_s) / dt_s
                    ok = (centre - half_window >= 0.0) & (centre + half_window <= n - 1)
                    if ok.sum() < max(1, min_traces):
                        continue
                    win = np.array([_interp(x[k], c + tau) for k, c in zip(near[ok], centre[ok])])  # (N, n_tau)
                    energy = np.sum(win * win)
                    if energy <= 0.0:
                        continue
                    sem = float(np.sum(win.sum(axis=0) ** 2) / (ok.sum() * energy))
                    if sem > best:
                        best, best_trace[a, iv], best_shift[a, iv] = sem, ia, shift
            out[a, iv] = best
    return out, best_trace, best_shift


def nmo_semblance_reference(x, offsets_m, velocities, dt_s, time_zero_s, half_window):
    """Velocity panel (n_v, n_samples) of a gather, vectorised over traces and rows."""
    x = np.asarray(x, dtype=np.float32)
    n_traces, n = x.shape
    t0 = np.arange(n) * dt_s - time_zero_s
    valid_row = t0 >= 0.0
    out = np.zeros((len(velocities), n))
    kernel = np.ones(2 * half_window + 1)
    for iv, v in enumerate(velocities):
        pos = (np.sqrt(np.maximum(t0, 0.0)[None, :] ** 2 + (np.asarray(offsets_m)[:, None] / v) ** 2)
               + time_zero_s) / dt_s                                           # (n_traces, n)
        ok = valid_row[None, :] & (pos >= 0.0) & (pos <= n - 1)
        s = np.array([_interp(x[k], pos[k]) for k in range(n_traces)]) * ok
        stack = s.sum(axis=0)
        energy = (s * s).sum(axis=0)
        count = ok.sum(axis=0)
        num = np.convolve(stack ** 2, kernel, mode="same")
        den = np.convolve(count * energy, kernel, mode="same")
        out[iv] = np.where(valid_row & (den > 0), num / np.where(den > 0, den, 1.0), 0.0)
    return out
