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
from .sphere import azimuth_elevation, initial_frame, log_map, move_frame

HOVER, MANOEUVRE = 0, 1
_HOVER_RATE_VAR = math.radians(0.1) ** 2  # the hover model's rate is zero give or take 0.1 deg/s


class ImmDirectionFilter:
    """Same interface as ``DirectionFilter``; ``mode_probability`` (2,) = P(hover), P(manoeuvre)."""

    def __init__(self, time_s: float, direction: np.ndarray, measurement_var_rad2: float, f0_hz: float | None,
                 config: TrackerConfig):
        self.time_s = time_s
        self.frame = initial_frame(direction)
        rate_var = config.initial_rate_std_rad_s ** 2
        self.x = np.zeros((2, 4))
        self.P = np.stack([np.diag([measurement_var_rad2, measurement_var_rad2, _HOVER_RATE_VAR, _HOVER_RATE_VAR]),
                           np.diag([measurement_var_rad2, measurement_var_rad2, rate_var, rate_var])])
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

    def _combined(self):
        mu, x, P = self.mode_probability, self.x, self.P
        xh = mu @ x
        d = x - xh
        return xh, np.einsum("j,jab->ab", mu, P) + np.einsum("j,ja,jb->ab", mu, d, d)

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
        trans = np.array([[1.0 - p, p], [p, 1.0 - p]])          # trans[i, j] = P(mode j now | mode i before)
        mu = self.mode_probability
        c = trans.T @ mu
        w = trans * mu[:, None] / c[None, :]                    # w[i, j] = P(mode i before | mode j now)
        x0 = w.T @ self.x
        P0 = np.empty_like(self.P)
        for j in range(2):
            d = self.x - x0[j]
            P0[j] = np.einsum("i,iab->ab", w[:, j], self.P) + np.einsum("i,ia,ib->ab", w[:, j], d, d)
        x, P = x0.copy(), np.zeros_like(P0)
        # hover: the direction wanders slowly, the rate is forced to zero
        x[HOVER, 2:] = 0.0
        P[HOVER, :2, :2] = P0[HOVER, :2, :2] + self.hover_psd * dt * np.eye(2)
        P[HOVER, 2, 2] = P[HOVER, 3, 3] = _HOVER_RATE_VAR
        # manoeuvre: nearly constant angular velocity
        x[MANOEUVRE, :2] += x0[MANOEUVRE, 2:] * dt
        P[MANOEUVRE] = ncv_predict_covariance(P0[MANOEUVRE], dt, self.accel_psd)
        self.x, self.P, self.mode_probability = x, P, c
        self._recentre()
        self.f0.predict(dt)
        self.time_s = time_s

    def direction_distances(self, directions: np.ndarray, measurement_var_rad2: np.ndarray):
        """Innovations (n, 2) rad and squared Mahalanobis distances (n,) against the moment-matched prediction."""
        xh, Ph = self._combined()
        y = log_map(self.frame, directions) - xh[:2]
        return y, mahalanobis_2d(y, Ph[:2, :2], measurement_var_rad2)

    def update(self, innovation_rad: np.ndarray, measurement_var_rad2: float, f0_hz: float | None) -> None:
        """Update both models with one direction innovation (2,) from ``direction_distances``, then the modes."""
        z = innovation_rad + self.mode_probability @ self.x[:, :2]
        log_lik = np.empty(2)
        for j in range(2):
            P = self.P[j]
            S = P[:2, :2] + measurement_var_rad2 * np.eye(2)
            y = z - self.x[j, :2]
            K = np.linalg.solve(S, P[:2, :]).T
            self.x[j] = self.x[j] + K @ y
            Pn = P - K @ S @ K.T
            self.P[j] = 0.5 * (Pn + Pn.T)
            log_lik[j] = -0.5 * (y @ np.linalg.solve(S, y)) - 0.5 * math.log(np.linalg.det(S))
        weights = self.mode_probability * np.exp(log_lik - log_lik.max())
        self.mode_probability = np.maximum(weights / weights.sum(), 1e-6)
        self.mode_probability /= self.mode_probability.sum()
        self._recentre()
        self.f0.update(f0_hz)
