"""Interacting multiple model (IMM) filter of one direction: hover (constant direction) and manoeuvre (NCV).

Both models keep the state (a1, a2, w1, w2) of ``direction_filter`` in the tangent plane of one shared frame;
after every prediction and update the frame is moved to the mode-weighted mean direction and each model's
position offset is re-expressed relative to it (a flat-tangent-plane approximation, second order in the small
differences between the models). Hover: direction random walk (hover_psd_rad2_s), rate held at zero.
Manoeuvre: nearly constant angular velocity (angular_accel_psd_rad2_s3). Mode switches are a Markov chain
with rate mode_switch_rate_per_s in each direction.
"""

import math

import numpy as np

from .config import TrackerConfig
from .direction_filter import F0Filter, mahalanobis_2d, ncv_predict_covariance
from .sphere import azimuth_elevation, initial_frame, log_map, measurement_covariances, move_frame

HOVER, MANOEUVRE = 0, 1
_HOVER_RATE_VAR = math.radians(0.1) ** 2  # the hover model's rate is zero give or take 0.1 deg/s


class ImmDirectionFilter:
    """Same interface as ``DirectionFilter``; ``mode_probability`` (2,) = P(hover), P(manoeuvre)."""

    def __init__(self, time_s: float, direction: np.ndarray, variances_rad2, f0_hz: float | None,
                 config: TrackerConfig):
        self.time_s = time_s
        self.frame = initial_frame(direction)
        rate_var = config.initial_rate_std_rad_s ** 2
        self.x = np.zeros((2, 4))
        va, ve = variances_rad2
        self.P = np.stack([np.diag([va, ve, _HOVER_RATE_VAR, _HOVER_RATE_VAR]), np.diag([va, ve, rate_var, rate_var])])
        self.mode_probability = np.array([0.5, 0.5])
        self.accel_psd = config.angular_accel_psd_rad2_s3
        self.hover_psd = config.hover_psd_rad2_s
        self.switch_rate = config.mode_switch_rate_per_s
        self.f0 = F0Filter(f0_hz, config.f0_std_hz ** 2, config.f0_drift_psd_hz2_s)

    @property
    def direction(self) -> np.ndarray:
        """Unit vector (3,) of the combined direction estimate."""
        return self.frame[0]

    @property
    def rate_rad_s(self) -> np.ndarray:
        """Combined angular rate (2,) along (e1, e2), rad/s."""
        return self.mode_probability @ self.x[:, 2:]

    def azimuth_elevation(self) -> tuple[float, float]:
        """(azimuth in [0, 2*pi), elevation) of the combined estimate, radians."""
        return azimuth_elevation(self.frame[0])

    def _combined_position(self):
        """Moment-matched position offset (2,) and its covariance (2, 2) over the two models."""
        mu0, mu1 = float(self.mode_probability[0]), float(self.mode_probability[1])
        x, P = self.x[:, :2], self.P[:, :2, :2]
        xh = mu0 * x[0] + mu1 * x[1]
        d0, d1 = x[0] - xh, x[1] - xh
        return xh, mu0 * (P[0] + d0[:, None] * d0) + mu1 * (P[1] + d1[:, None] * d1)

    def _recentre(self) -> None:
        shift = self.mode_probability @ self.x[:, :2]
        self.frame = move_frame(self.frame, shift)
        self.x[:, :2] -= shift

    def predict(self, time_s: float) -> None:
        """Mix, propagate both models to time_s and re-centre the frame (no-op when time_s equals the filter time)."""
        dt = time_s - self.time_s
        if dt <= 0.0:
            return
        p = -math.expm1(-self.switch_rate * dt)
        mu0, mu1 = float(self.mode_probability[0]), float(self.mode_probability[1])
        c0, c1 = (1.0 - p) * mu0 + p * mu1, p * mu0 + (1.0 - p) * mu1    # P(mode j now)
        # w[i][j] = P(mode i before | mode j now)
        w = (((1.0 - p) * mu0 / c0, p * mu0 / c1), (p * mu1 / c0, (1.0 - p) * mu1 / c1))
        x, P = self.x, self.P
        x_mixed = np.empty_like(x)
        P_mixed = np.empty_like(P)
        for j in range(2):
            xj = w[0][j] * x[0] + w[1][j] * x[1]
            d0, d1 = x[0] - xj, x[1] - xj
            P_mixed[j] = w[0][j] * (P[0] + d0[:, None] * d0) + w[1][j] * (P[1] + d1[:, None] * d1)
            x_mixed[j] = xj
        # hover: the direction wanders slowly, the rate is forced to zero
        x_mixed[HOVER, 2:] = 0.0
        hover = np.zeros((4, 4))
        hover[:2, :2] = P_mixed[HOVER, :2, :2]
        hover[0, 0] += self.hover_psd * dt
        hover[1, 1] += self.hover_psd * dt
        hover[2, 2] = hover[3, 3] = _HOVER_RATE_VAR
        # manoeuvre: nearly constant angular velocity
        x_mixed[MANOEUVRE, :2] += x_mixed[MANOEUVRE, 2:] * dt
        P_mixed[MANOEUVRE] = ncv_predict_covariance(P_mixed[MANOEUVRE], dt, self.accel_psd)
        P_mixed[HOVER] = hover
        self.x, self.P, self.mode_probability = x_mixed, P_mixed, np.array([c0, c1])
        self._recentre()
        self.f0.predict(dt)
        self.time_s = time_s

    def direction_distances(self, directions: np.ndarray, variances_rad2: np.ndarray):
        """Innovations (n, 2) rad, squared Mahalanobis distances (n,) and measurement covariances (n, 2, 2)
        against the moment-matched prediction (as ``DirectionFilter.direction_distances``)."""
        xh, Ph = self._combined_position()
        y = log_map(self.frame, directions) - xh
        R = measurement_covariances(self.frame, directions, variances_rad2)
        return y, mahalanobis_2d(y, Ph, R), R

    def update(self, innovation_rad: np.ndarray, R: np.ndarray, f0_hz: float | None) -> None:
        """Update both models with one direction innovation (2,) and its covariance R (2, 2) from
        ``direction_distances``, then the modes."""
        z = innovation_rad + self.mode_probability @ self.x[:, :2]
        log_lik = np.empty(2)
        for j in range(2):
            P = self.P[j]
            s00 = P[0, 0] + R[0, 0]
            s11 = P[1, 1] + R[1, 1]
            s01 = P[0, 1] + R[0, 1]
            det = s00 * s11 - s01 * s01
            y0, y1 = z[0] - self.x[j, 0], z[1] - self.x[j, 1]
            # K = P[:, :2] S^-1 (4, 2), S^-1 = [[s11, -s01], [-s01, s00]] / det
            k0 = (P[:, 0] * s11 - P[:, 1] * s01) / det
            k1 = (P[:, 1] * s00 - P[:, 0] * s01) / det
            self.x[j] = self.x[j] + k0 * y0 + k1 * y1
            Pn = P - k0[:, None] * P[0] - k1[:, None] * P[1]  # P - K S K^T = P - K P[:2, :]
            self.P[j] = 0.5 * (Pn + Pn.T)
            log_lik[j] = -0.5 * (s11 * y0 * y0 - 2.0 * s01 * y0 * y1 + s00 * y1 * y1) / det - 0.5 * math.log(det)
        weights = self.mode_probability * np.exp(log_lik - log_lik.max())
        self.mode_probability = np.maximum(weights / weights.sum(), 1e-6)
        self.mode_probability /= self.mode_probability.sum()
        self._recentre()
        self.f0.update(f0_hz)
