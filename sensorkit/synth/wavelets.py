"""Source wavelets of synthetic GPR traces, as analytic functions of the time tau (s) relative to the arrival.

- Ricker (zero phase, peak 1 at tau = 0, spectrum peaking at the centre frequency f):
      w(tau) = (1 - 2 a tau**2) exp(-a tau**2),  a = (pi f)**2
      w'(tau) = 2 a tau (2 a tau**2 - 3) exp(-a tau**2)
- Gaussian derivative (the "monocycle", odd, zero crossing at tau = 0, peak |w| = 1, spectrum peaking at f):
      w(tau) = -sqrt(2 e b) tau exp(-b tau**2),  b = 2 (pi f)**2
      w'(tau) = -sqrt(2 e b) (1 - 2 b tau**2) exp(-b tau**2)
- Measured: samples at dt_s, scaled to peak |w| = 1 with its sign kept, the arrival at t0_s into the array
  (by default the sample of largest |w|), linearly interpolated; its derivative is the central difference
  of the samples (np.gradient), linearly interpolated too.

Arrivals are placed at fractional-sample precision: a trace sample at time t receives w(t - t_arrival)
evaluated analytically, never rounded to a sample. The forward model only evaluates the wavelet inside a
window tau in [tau_lo, tau_hi]: +-window_periods / f for the analytic ones, the array's span for a measured one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WAVELET_KINDS = ("ricker", "gaussian_derivative", "measured")
#: Integer codes of the kinds in the kernel (sensorkit.kernels.gpr_forward).
WAVELET_CODES = {"ricker": 0, "gaussian_derivative": 1, "measured": 2}


def ricker(tau_s, f_hz: float, derivative: bool = False) -> np.ndarray:
    """Ricker wavelet (or its time derivative, 1/s) at times tau_s (s) of centre frequency f_hz."""
    tau = np.asarray(tau_s, dtype=np.float64)
    a = (math.pi * f_hz) ** 2
    x = a * tau * tau
    e = np.exp(-x)
    if derivative:
        return 2.0 * a * tau * (2.0 * x - 3.0) * e
    return (1.0 - 2.0 * x) * e


def gaussian_derivative(tau_s, f_hz: float, derivative: bool = False) -> np.ndarray:
    """First derivative of a Gaussian, peak |w| = 1 (or its time derivative, 1/s), centre frequency f_hz."""
    tau = np.asarray(tau_s, dtype=np.float64)
    b = 2.0 * (math.pi * f_hz) ** 2
    s = math.sqrt(2.0 * math.e * b)
    e = np.exp(-b * tau * tau)
    if derivative:
        return -s * (1.0 - 2.0 * b * tau * tau) * e
    return -s * tau * e


@dataclass
class Wavelet:
    """A source wavelet: kind "ricker" | "gaussian_derivative" | "measured" (then samples, dt_s, optional t0_s).

    window_periods: half-width of the evaluation window of the analytic kinds, in periods 1/f.
    """

    kind: str = "ricker"
    samples: np.ndarray | None = None
    dt_s: float | None = None
    t0_s: float | None = None
    window_periods: float = 3.0

    def validate(self) -> None:
        """Raise ValueError naming the field when the wavelet is not usable."""
        if self.kind not in WAVELET_KINDS:
            raise ValueError(f"wavelet.kind: expected one of {', '.join(map(repr, WAVELET_KINDS))}, "
                             f"found {self.kind!r}")
        if not (isinstance(self.window_periods, (int, float)) and math.isfinite(self.window_periods)
                and self.window_periods > 0):
            raise ValueError(f"wavelet.window_periods: expected a number > 0, found {self.window_periods!r}")
        if self.kind != "measured":
            return
        samples = np.asarray(self.samples if self.samples is not None else [], dtype=np.float64)
        if samples.ndim != 1 or samples.size < 2:
            raise ValueError(f"wavelet.samples: expected a 1-D array of at least 2 samples for a measured "
                             f"wavelet, found shape {samples.shape}")
        if not np.all(np.isfinite(samples)) or not np.any(samples != 0):
            raise ValueError("wavelet.samples: expected finite values, not all zero")
        if not (isinstance(self.dt_s, (int, float)) and math.isfinite(self.dt_s) and self.dt_s > 0):
            raise ValueError(f"wavelet.dt_s: expected the sample interval of the measured wavelet > 0 s, "
                             f"found {self.dt_s!r}")
        if self.t0_s is not None:
            span = (samples.size - 1) * self.dt_s
            if not (isinstance(self.t0_s, (int, float)) and 0.0 <= self.t0_s <= span):
                raise ValueError(f"wavelet.t0_s: expected the arrival time inside the wavelet, in [0, {span!r}] s, "
                                 f"found {self.t0_s!r}")

    def table(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(samples scaled to peak |w| = 1, their derivative in 1/s, dt_s, t0_s) of a measured wavelet."""
        samples = np.asarray(self.samples, dtype=np.float64)
        peak = int(np.argmax(np.abs(samples)))
        table = samples / abs(samples[peak])
        dtable = np.gradient(table, float(self.dt_s))
        t0 = float(self.t0_s) if self.t0_s is not None else peak * float(self.dt_s)
        return table, dtable, float(self.dt_s), t0

    def window_s(self, f_hz: float) -> tuple[float, float]:
        """(tau_lo, tau_hi), the times relative to the arrival outside which the wavelet is taken as zero."""
        if self.kind == "measured":
            _, _, dt, t0 = self.table()
            return -t0, (np.asarray(self.samples).size - 1) * dt - t0
        half = self.window_periods / f_hz
        return -half, half

    def evaluate(self, tau_s, f_hz: float, derivative: bool = False) -> np.ndarray:
        """w(tau) (or dw/dtau) at times tau_s relative to the arrival, zero outside the window."""
        tau = np.asarray(tau_s, dtype=np.float64)
        if self.kind == "ricker":
            out = ricker(tau, f_hz, derivative)
        elif self.kind == "gaussian_derivative":
            out = gaussian_derivative(tau, f_hz, derivative)
        else:
            table, dtable, dt, t0 = self.table()
            grid = np.arange(table.size) * dt - t0
            out = np.interp(tau, grid, dtable if derivative else table, left=0.0, right=0.0)
        lo, hi = self.window_s(f_hz)
        return np.where((tau >= lo) & (tau <= hi), out, 0.0)

    def sampled(self, dt_s: float, f_hz: float) -> np.ndarray:
        """The wavelet sampled at dt_s over its window, arrival at the centre sample (for band-limited noise)."""
        lo, hi = self.window_s(f_hz)
        k = int(math.ceil(max(-lo, hi) / dt_s))
        return self.evaluate(np.arange(-k, k + 1) * dt_s, f_hz)


def as_wavelet(value) -> Wavelet:
    """A Wavelet from a Wavelet, a kind name, or a 1-D array (then a measured wavelet needing dt_s: refused)."""
    if isinstance(value, Wavelet):
        return value
    if isinstance(value, str):
        return Wavelet(kind=value)
    raise ValueError(f"antenna.wavelet: expected 'ricker', 'gaussian_derivative' or a Wavelet "
                     f"(Wavelet(kind='measured', samples=..., dt_s=...) for a measured one), found {value!r}")
