"""Kalman filter of one direction on the sphere (nearly constant angular velocity) plus an f0 random walk.

State: a frame (u, e1, e2) (see ``sphere``) holding the direction u, and in the tangent plane at u the error
state x = (a1, a2, w1, w2): a position offset in radians of arc (always folded back into u, so zero between
calls) and the angular rate in rad/s along (e1, e2). Covariance P (4, 4). Prediction moves u along the great
circle by w*dt and parallel-transports the frame (so w keeps its coordinates); F, Q are the usual
constant-velocity matrices per tangent axis. A direction measurement is its log map at u, so azimuth wrap and
the zenith cost nothing. f0 is a separate scalar random walk (``F0Filter``).
"""

import math

import numpy as np

from .config import TrackerConfig
from .sphere import azimuth_elevation, initial_frame, log_map, measurement_covariances, move_frame


class F0Filter:
    """Random walk of the fundamental frequency: f0_hz and f0_var_hz2, both None until a first f0 arrives."""

    def __init__(self, f0_hz: float | None, measurement_var_hz2: float, drift_psd_hz2_s: float):
        self.measurement_var_hz2 = measurement_var_hz2
        self.drift_psd_hz2_s = drift_psd_hz2_s
        self.f0_hz = f0_hz
        self.f0_var_hz2 = measurement_var_hz2 if f0_hz is not None else None

    def predict(self, dt_s: float) -> None:
        if self.f0_hz is not None:
            self.f0_var_hz2 += self.drift_psd_hz2_s * dt_s

    def distances(self, f0_hz: np.ndarray) -> np.ndarray:
        """Squared normalised innovations (n,) of measured f0 (n,); 0 where either side has no f0 (NaN)."""
        if self.f0_hz is None:
            return np.zeros(len(f0_hz))
        d2 = (f0_hz - self.f0_hz) ** 2 / (self.f0_var_hz2 + self.measurement_var_hz2)
        return np.where(np.isnan(d2), 0.0, d2)

    def update(self, f0_hz: float | None) -> None:
        if f0_hz is None or not math.isfinite(f0_hz):
            return
        if self.f0_hz is None:
            self.f0_hz, self.f0_var_hz2 = f0_hz, self.measurement_var_hz2
            return
        gain = self.f0_var_hz2 / (self.f0_var_hz2 + self.measurement_var_hz2)
        self.f0_hz += gain * (f0_hz - self.f0_hz)
        self.f0_var_hz2 *= 1.0 - gain


def ncv_predict_covariance(P: np.ndarray, dt: float, accel_psd: float) -> np.ndarray:
    """F P F^T + Q for the state (a1, a2, w1, w2), nearly constant velocity per tangent axis."""
    P = P.copy()
    P[:2, :] += dt * P[2:, :]
    P[:, :2] += dt * P[:, 2:]
    q11, q12, q22 = accel_psd * dt ** 3 / 3.0, accel_psd * dt ** 2 / 2.0, accel_psd * dt
    P[0, 0] += q11
    P[1, 1] += q11
    P[0, 2] += q12
    P[2, 0] += q12
    P[1, 3] += q12
    P[3, 1] += q12
    P[2, 2] += q22
    P[3, 3] += q22
    return P


def mahalanobis_2d(y: np.ndarray, P2: np.ndarray, R: np.ndarray) -> np.ndarray:
    """y_k^T (P2 + R_k)^-1 y_k for innovations y (n, 2), a 2x2 prediction covariance and measurement
    covariances R (n, 2, 2)."""
    s00 = P2[0, 0] + R[:, 0, 0]
    s11 = P2[1, 1] + R[:, 1, 1]
    s01 = P2[0, 1] + R[:, 0, 1]
    det = s00 * s11 - s01 * s01
    return (s11 * y[:, 0] ** 2 - 2.0 * s01 * y[:, 0] * y[:, 1] + s00 * y[:, 1] ** 2) / det


class DirectionFilter:
    """Nearly-constant-angular-velocity filter of one track; angles in radians, times in seconds."""

    def __init__(self, time_s: float, direction: np.ndarray, variances_rad2, f0_hz: float | None,
                 config: TrackerConfig):
        """variances_rad2 (2,): the first measurement's variances along its azimuth and its elevation (the axes
        of its frame)."""
        self.time_s = time_s
        self.frame = initial_frame(direction)
        self.rate_rad_s = np.zeros(2)
        rate_var = config.initial_rate_std_rad_s ** 2
        self.P = np.diag([variances_rad2[0], variances_rad2[1], rate_var, rate_var])
        self.accel_psd = config.angular_accel_psd_rad2_s3
        self.f0 = F0Filter(f0_hz, config.f0_std_hz ** 2, config.f0_drift_psd_hz2_s)

    @property
    def direction(self) -> np.ndarray:
        """Unit vector (3,) of the current direction estimate."""
        return self.frame[0]

    def azimuth_elevation(self) -> tuple[float, float]:
        """(azimuth in [0, 2*pi), elevation) of the estimate, radians."""
        return azimuth_elevation(self.frame[0])

    def predict(self, time_s: float) -> None:
        """Propagate the state to time_s (>= the filter time; no-op when equal)."""
        dt = time_s - self.time_s
        if dt <= 0.0:
            return
        self.frame = move_frame(self.frame, self.rate_rad_s * dt)
        self.P = ncv_predict_covariance(self.P, dt, self.accel_psd)
        self.f0.predict(dt)
        self.time_s = time_s

    def direction_distances(self, directions: np.ndarray, variances_rad2: np.ndarray):
        """Innovations (n, 2) rad, squared Mahalanobis distances (n,) and measurement covariances (n, 2, 2) in
        the filter's tangent plane, of unit vectors (n, 3) measured with variances (n, 2) rad^2 along their
        azimuth and elevation (``sphere.measurement_covariances``), against the current (predicted) direction."""
        y = log_map(self.frame, directions)
        R = measurement_covariances(self.frame, directions, variances_rad2)
        return y, mahalanobis_2d(y, self.P[:2, :2], R), R

    def update(self, innovation_rad: np.ndarray, R: np.ndarray, f0_hz: float | None) -> None:
        """Kalman update with one direction innovation (2,) and its covariance R (2, 2) (both from
        ``direction_distances``) and optionally f0."""
        P = self.P
        S = P[:2, :2] + R
        K = np.linalg.solve(S, P[:2, :]).T          # (4, 2) = P H^T S^-1, S symmetric
        dx = K @ innovation_rad
        P = P - K @ S @ K.T
        self.P = 0.5 * (P + P.T)
        self.rate_rad_s = self.rate_rad_s + dx[2:]
        self.frame = move_frame(self.frame, dx[:2])
        self.f0.update(f0_hz)
