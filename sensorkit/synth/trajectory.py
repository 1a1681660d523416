"""Smooth source trajectories in the array frame (x, y horizontal, z up, metres; origin at the array centre).

A trajectory is a piecewise-linear motion (constant velocity between corners) whose corners are rounded by a
triangle kernel, which keeps straight segments exact and makes velocity and acceleration continuous:

    P(t) = p0 + v0 (t - t0) + sum_i dv_i R_i(t - t_i)

with dv_i the velocity change at corner i (time t_i) and R_i the ramp max(s, 0) smoothed by a triangle of
half-width T_i:  R(s) = 0 for s <= -T;  (s + T)**3 / (6 T**2) for -T < s < 0;  s + (T - s)**3 / (6 T**2) for
0 <= s < T;  s for s >= T.  Velocity uses R'(s) (0 .. 1), acceleration R''(s) = (T - |s|) / T**2 (the triangle),
so the peak acceleration at an isolated corner is |dv_i| / T_i. The path passes within |dv_i| T_i / 6 of the
corner waypoint and is exact (on the straight line) more than T_i away from it.

Heights: the ground is at z = -array_height_m of the scene; a drone 50 m above ground with the array 1.5 m
high is at z = 48.5 m.
"""

from __future__ import annotations

import numpy as np

MAX_SPEED_MPS = 100.0


def _as_point(name: str, value) -> np.ndarray:
    p = np.asarray(value, dtype=float)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise ValueError(f"{name}: expected a finite point (x, y, z) in metres, found {value!r}")
    return p


class Trajectory:
    """Position, velocity and acceleration of a point source as functions of time (seconds).

    Build with :meth:`waypoints`, :meth:`hover`, :meth:`constant_velocity` or :meth:`flyby`.
    """

    def __init__(self, p0_m, v0_mps, t0_s: float, corner_times_s=(), corner_dv_mps=(), corner_half_width_s=()):
        self.p0_m = _as_point("p0_m", p0_m)
        self.v0_mps = _as_point("v0_mps", v0_mps)
        self.t0_s = float(t0_s)
        self.corner_times_s = np.asarray(corner_times_s, dtype=float).reshape(-1)
        self.corner_dv_mps = np.asarray(corner_dv_mps, dtype=float).reshape(-1, 3)
        self.corner_half_width_s = np.asarray(corner_half_width_s, dtype=float).reshape(-1)
        n = self.corner_times_s.size
        if self.corner_dv_mps.shape[0] != n or self.corner_half_width_s.size != n:
            raise ValueError(f"corners: expected as many velocity changes and half-widths as times ({n}), found "
                             f"{self.corner_dv_mps.shape[0]} and {self.corner_half_width_s.size}")
        if np.any(~(self.corner_half_width_s > 0)):
            raise ValueError(f"corner_half_width_s: expected half-widths > 0 s, found {self.corner_half_width_s}")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def hover(cls, position_m) -> "Trajectory":
        """A source standing still at ``position_m`` (x, y, z), metres."""
        return cls(position_m, (0.0, 0.0, 0.0), 0.0)

    @classmethod
    def constant_velocity(cls, position_m, velocity_mps, reference_time_s: float = 0.0) -> "Trajectory":
        """Straight line at constant velocity, at ``position_m`` at ``reference_time_s``, for all times."""
        v = _as_point("velocity_mps", velocity_mps)
        if np.linalg.norm(v) > MAX_SPEED_MPS:
            raise ValueError(f"velocity_mps: expected a speed <= {MAX_SPEED_MPS} m/s, found {np.linalg.norm(v)}")
        return cls(position_m, v, reference_time_s)

    @classmethod
    def flyby(cls, closest_point_m, speed_mps: float, heading_rad: float = 0.0,
              time_at_closest_s: float = 0.0) -> "Trajectory":
        """Level straight flight through ``closest_point_m`` at ``time_at_closest_s``.

        ``heading_rad`` is the direction of motion, counter-clockwise from +x seen from above; with the array at
        the origin the point of closest approach is the one whose horizontal offset is perpendicular to it.
        """
        p = _as_point("closest_point_m", closest_point_m)
        speed = float(speed_mps)
        if not 0.0 <= speed <= MAX_SPEED_MPS:
            raise ValueError(f"speed_mps: expected 0..{MAX_SPEED_MPS} m/s, found {speed_mps!r}")
        v = speed * np.array([np.cos(heading_rad), np.sin(heading_rad), 0.0])
        return cls(p, v, time_at_closest_s)

    @classmethod
    def waypoints(cls, points_m, speeds_mps, start_time_s: float = 0.0, dwell_s=0.0,
                  max_acceleration_mps2: float = 3.0, min_smoothing_s: float = 0.5,
                  extend: str = "hold") -> "Trajectory":
        """Fly through ``points_m`` (n, 3) at ``speeds_mps`` (one per leg, or a scalar), leaving the first point at
        ``start_time_s``.

        ``dwell_s`` (scalar or one per point): time spent hovering at each point before the next leg.
        Corners are rounded with T = max(min_smoothing_s, |dv| / max_acceleration_mps2), so the acceleration never
        exceeds ``max_acceleration_mps2`` at an isolated corner. ``extend``: "hold" hovers at the first point
        before and at the last point after; "continue" flies on along the first and last legs at their speeds.
        """
        pts = np.asarray(points_m, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 3 or pts.shape[0] < 2 or not np.all(np.isfinite(pts)):
            raise ValueError(f"points_m: expected finite points (n >= 2, 3) in metres, found shape {pts.shape}")
        n_legs = pts.shape[0] - 1
        speeds = np.broadcast_to(np.asarray(speeds_mps, dtype=float), (n_legs,)).copy() \
            if np.ndim(speeds_mps) == 0 else np.asarray(speeds_mps, dtype=float)
        if speeds.shape != (n_legs,) or not np.all((speeds > 0) & (speeds <= MAX_SPEED_MPS)):
            raise ValueError(f"speeds_mps: expected {n_legs} speeds in (0, {MAX_SPEED_MPS}] m/s (one per leg), "
                             f"found {speeds_mps!r}")
        dwell = np.broadcast_to(np.asarray(dwell_s, dtype=float), (pts.shape[0],))
        if not np.all(np.isfinite(dwell) & (dwell >= 0)):
            raise ValueError(f"dwell_s: expected times >= 0 s (a scalar or one per point), found {dwell_s!r}")
        if extend not in ("hold", "continue"):
            raise ValueError(f"extend: expected 'hold' or 'continue', found {extend!r}")
        if not max_acceleration_mps2 > 0 or not min_smoothing_s > 0:
            raise ValueError(f"max_acceleration_mps2, min_smoothing_s: expected values > 0, found "
                             f"{max_acceleration_mps2!r}, {min_smoothing_s!r}")
        legs = np.diff(pts, axis=0)
        lengths = np.linalg.norm(legs, axis=1)
        if np.any(lengths <= 0):
            raise ValueError(f"points_m: consecutive points must differ, leg {int(np.argmin(lengths))} has length 0")
        velocities = legs / lengths[:, None] * speeds[:, None]
        # motion as segments: (start time, velocity); dwell inserts a zero-velocity segment
        times, vels = [], []
        t = float(start_time_s)
        for i in range(n_legs):
            if dwell[i] > 0 and not (i == 0 and extend == "continue"):
                times.append(t)
                vels.append(np.zeros(3))
                t += float(dwell[i])
            times.append(t)
            vels.append(velocities[i])
            t += float(lengths[i] / speeds[i])
        if extend == "hold":
            times.append(t)
            vels.append(np.zeros(3))
            v_before = np.zeros(3)
        else:
            v_before = vels[0]
        corner_t, corner_dv = [], []
        v_prev = v_before
        for ti, vi in zip(times, vels):
            dv = vi - v_prev
            if np.any(dv != 0):
                corner_t.append(ti)
                corner_dv.append(dv)
            v_prev = vi
        dv_norm = np.linalg.norm(np.reshape(corner_dv, (-1, 3)), axis=1)
        half = np.maximum(float(min_smoothing_s), dv_norm / float(max_acceleration_mps2))
        return cls(pts[0], v_before, float(start_time_s), corner_t, np.reshape(corner_dv, (-1, 3)), half)

    # ------------------------------------------------------------------ evaluation

    def _corner_terms(self, t: np.ndarray, order: int) -> np.ndarray:
        """sum_i dv_i R_i^(order)(t - t_i), shape (n, 3).

        Corners whose smoothing window lies wholly before t contribute dv_i (t - t_i) (order 0) or dv_i (order 1),
        summed with cumulative sums over the corners sorted by the end of their window; only corners whose
        window holds some of the times are evaluated sample by sample.
        """
        out = np.zeros((t.size, 3))
        if not self.corner_times_s.size or not t.size:
            return out
        tc, h, dv = self.corner_times_s, self.corner_half_width_s, self.corner_dv_mps
        if order < 2:
            end = tc + h
            by_end = np.argsort(end, kind="stable")
            passed = np.searchsorted(end[by_end], t, side="right")  # corners with t - t_i >= h_i
            cum_dv = np.vstack([np.zeros(3), np.cumsum(dv[by_end], axis=0)])
            if order == 1:
                out += cum_dv[passed]
            else:
                cum_dv_tc = np.vstack([np.zeros(3), np.cumsum(dv[by_end] * tc[by_end, None], axis=0)])
                out += t[:, None] * cum_dv[passed] - cum_dv_tc[passed]
        t_lo, t_hi = float(t.min()), float(t.max())
        end = tc + h
        for i in np.nonzero((tc - h < t_hi) & (end > t_lo))[0]:
            s = t - tc[i]
            inside = (s > -h[i]) & (t < end[i])  # the complement of "passed" above, computed the same way
            if not inside.any():
                continue
            s, hh = s[inside], h[i]
            if order == 0:
                r = np.where(s < 0, (s + hh) ** 3 / (6.0 * hh * hh), s + (hh - s) ** 3 / (6.0 * hh * hh))
            elif order == 1:
                r = np.where(s < 0, (s + hh) ** 2 / (2.0 * hh * hh), 1.0 - (hh - s) ** 2 / (2.0 * hh * hh))
            else:
                r = (hh - np.abs(s)) / (hh * hh)
            out[inside] += r[:, None] * dv[i][None, :]
        return out

    def _corner_terms_reference(self, t: np.ndarray, order: int) -> np.ndarray:
        """The same sums corner by corner over all times (the plain formula, for tests)."""
        out = np.zeros((t.size, 3))
        for tc, dv, h in zip(self.corner_times_s, self.corner_dv_mps, self.corner_half_width_s):
            s = t - tc
            if order == 0:
                left = (s + h) ** 3 / (6.0 * h * h)
                right = s + (h - s) ** 3 / (6.0 * h * h)
                r = np.where(s <= -h, 0.0, np.where(s < 0, left, np.where(s < h, right, s)))
            elif order == 1:
                left = (s + h) ** 2 / (2.0 * h * h)
                right = 1.0 - (h - s) ** 2 / (2.0 * h * h)
                r = np.where(s <= -h, 0.0, np.where(s < 0, left, np.where(s < h, right, 1.0)))
            else:
                r = np.maximum(h - np.abs(s), 0.0) / (h * h)
            out += r[:, None] * dv[None, :]
        return out

    def position_m(self, t_s) -> np.ndarray:
        """Positions (n, 3), metres, at times ``t_s`` (n,) seconds."""
        t = np.asarray(t_s, dtype=float).reshape(-1)
        p = self.p0_m + (t - self.t0_s)[:, None] * self.v0_mps
        return p + self._corner_terms(t, 0) if self.corner_times_s.size else p

    def velocity_mps(self, t_s) -> np.ndarray:
        """Velocities (n, 3), m/s."""
        t = np.asarray(t_s, dtype=float).reshape(-1)
        v = np.broadcast_to(self.v0_mps, (t.size, 3))
        return v + self._corner_terms(t, 1) if self.corner_times_s.size else v.copy()

    def acceleration_mps2(self, t_s) -> np.ndarray:
        """Accelerations (n, 3), m/s**2."""
        t = np.asarray(t_s, dtype=float).reshape(-1)
        return self._corner_terms(t, 2)

    @property
    def is_stationary(self) -> bool:
        """True when the source never moves (a hover)."""
        return not self.corner_times_s.size and not np.any(self.v0_mps)

    def max_speed_mps(self) -> float:
        """An upper bound of the speed over all times (the largest speed of any straight segment)."""
        v = self.v0_mps.copy()
        best = float(np.linalg.norm(v))
        for dv in self.corner_dv_mps[np.argsort(self.corner_times_s)]:
            v = v + dv
            best = max(best, float(np.linalg.norm(v)))
        return best
