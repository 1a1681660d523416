"""Geometry of sound from a moving source: retarded time, ground image, direction as seen from the array.

Retarded (emission) time: the sound reaching a receiver at x_r at time t left the source at t_e with

    t = t_e + |x_s(t_e) - x_r| / c

solved by Newton's method from t_e = t - |x_s(t) - x_r| / c, with d/dt_e = 1 + u . v / c (u the unit vector
receiver -> source, v the source velocity), until a step is below 1e-13 s (or 16 ulp of t; 3-4 steps for |v| << c). The received
frequency of an emitted f is f dt_e/dt = f / (1 + u . v / c) (Doppler, exact for any geometry).

Ground reflection: a flat ground at z = -array_height_m reflects like an image source mirrored below it; the
distance from the image of the source to a microphone equals the distance from the source to the microphone's
mirror image z' = -2 h - z, so the reflected path is computed with mirrored receivers.
"""

from __future__ import annotations

import numpy as np

from sensorkit.synth.trajectory import Trajectory

MAX_NEWTON_STEPS = 12
NEWTON_TOLERANCE_S = 1e-13


def retarded_time_s(trajectory: Trajectory, receivers_m, t_s, speed_of_sound_mps: float) -> np.ndarray:
    """Emission times (n_receivers, n_times) of the sound reaching ``receivers_m`` (n, 3) at times ``t_s``."""
    rec = np.asarray(receivers_m, dtype=float).reshape(-1, 3)
    t = np.asarray(t_s, dtype=float).ravel()
    c = float(speed_of_sound_mps)
    if trajectory.is_stationary:
        r = np.sqrt(np.sum(np.square(trajectory.p0_m - rec), axis=1))
        return t[None, :] - r[:, None] / c
    tt = np.broadcast_to(t, (rec.shape[0], t.size)).ravel()
    rr = np.repeat(rec, t.size, axis=0)
    te = tt - _norm(trajectory.position_m(tt) - rr) / c
    tolerance = max(NEWTON_TOLERANCE_S, 16.0 * np.finfo(float).eps * float(np.max(np.abs(tt), initial=0.0)))
    for _ in range(MAX_NEWTON_STEPS):
        d = trajectory.position_m(te) - rr
        r = _norm(d)
        slope = 1.0 + np.einsum("ij,ij->i", d, trajectory.velocity_mps(te)) / (np.maximum(r, 1e-9) * c)
        step = (te + r / c - tt) / slope
        te = te - step
        if np.max(np.abs(step), initial=0.0) <= tolerance:
            break
    else:
        raise ValueError(f"retarded time: Newton's method did not converge (last step {np.max(np.abs(step))} s); "
                         f"is the source faster than sound?")
    return te.reshape(rec.shape[0], t.size)


def _norm(d: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", d, d))


def doppler_factor(trajectory: Trajectory, receiver_m, emission_time_s, speed_of_sound_mps: float) -> np.ndarray:
    """dt_e/dt = 1 / (1 + u . v / c) at the emission times (n,): received frequency / emitted frequency."""
    te = np.asarray(emission_time_s, dtype=float).ravel()
    d = trajectory.position_m(te) - np.asarray(receiver_m, dtype=float)
    u = d / np.maximum(np.linalg.norm(d, axis=1), 1e-9)[:, None]
    return 1.0 / (1.0 + np.einsum("ij,ij->i", u, trajectory.velocity_mps(te)) / speed_of_sound_mps)


def mirror_in_ground(points_m, array_height_m: float) -> np.ndarray:
    """Points (n, 3) mirrored in the ground plane z = -array_height_m: z' = -2 h - z."""
    p = np.array(points_m, dtype=float).reshape(-1, 3)
    p[:, 2] = -2.0 * float(array_height_m) - p[:, 2]
    return p


def direction(points_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(azimuth_rad, elevation_rad, range_m) of points (n, 3) seen from the origin (array frame conventions)."""
    p = np.asarray(points_m, dtype=float).reshape(-1, 3)
    horizontal = np.hypot(p[:, 0], p[:, 1])
    return np.arctan2(p[:, 1], p[:, 0]), np.arctan2(p[:, 2], horizontal), np.linalg.norm(p, axis=1)
