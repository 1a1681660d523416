"""Device clock to host UTC: offset and drift estimated from when frames arrive, never assumed zero.

Each frame gives one sample ``host_time_ns - device_time_ns`` = offset + latency, with latency >= 0.
The estimate follows the lower envelope of those samples: over consecutive windows the minimum is
kept (the least-delayed frame of each window), and a straight line through the recent minima gives
offset and drift. A device reset restarts the device clock, and so the estimate.
"""

from __future__ import annotations

from collections import deque

import numpy as np

WINDOW_NS = 500_000_000  # one minimum per half second
MAX_WINDOWS = 120  # a fit over the last minute


class ClockSync:
    """Maps device_time_ns to host UTC ns."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._minima: deque = deque(maxlen=MAX_WINDOWS)  # (device_time_ns, offset_ns) of each window's minimum
        self._window_start = None
        self._window_best = None
        self._fit = None

    def add(self, device_time_ns: int, host_time_ns: int) -> None:
        if device_time_ns <= 0:
            return
        offset = host_time_ns - device_time_ns
        if self._window_start is None or device_time_ns - self._window_start >= WINDOW_NS:
            if self._window_best is not None:
                self._minima.append(self._window_best)
                self._fit = None
            self._window_start = device_time_ns
            self._window_best = (device_time_ns, offset)
        elif offset < self._window_best[1]:
            self._window_best = (device_time_ns, offset)

    @property
    def ready(self) -> bool:
        return self._window_best is not None

    def _points(self) -> list:
        points = list(self._minima)
        if self._window_best is not None:
            points.append(self._window_best)
        return points

    def to_host_ns(self, device_time_ns):
        """Host UTC ns of a device time (array or scalar); the raw offset sample when nothing better is known."""
        points = self._points()
        if not points:
            raise ValueError("no clock samples yet")
        if self._fit is None:
            if len(points) < 3:
                self._fit = (0.0, float(min(p[1] for p in points)), float(points[-1][0]))
            else:
                t = np.array([p[0] for p in points], dtype=np.float64)
                o = np.array([p[1] for p in points], dtype=np.float64)
                t0 = t[-1]
                slope, intercept = np.polyfit(t - t0, o, 1)
                # the line must stay under every minimum (they bound the offset from above)
                intercept -= max(0.0, float(np.max(intercept + slope * (t - t0) - o)))
                self._fit = (float(slope), float(intercept), float(t0))
        slope, intercept, t0 = self._fit
        device = np.asarray(device_time_ns, dtype=np.float64)
        return np.round(device + intercept + slope * (device - t0)).astype(np.int64)

    @property
    def drift_ppm(self) -> float:
        """Estimated drift of the device clock against the host's, parts per million (0 before a fit)."""
        if not self.ready:
            return 0.0
        self.to_host_ns(0)  # makes the fit
        return self._fit[0] * 1e6
