"""The simulation's timeline and the simulated device's own clock.

Three times, all integers in nanoseconds:

- true time: the simulation's monotonic time since the clock was made (time.monotonic_ns times time_scale, plus
  the jumps of fast mode, where the device skips its waits instead of sleeping);
- UTC: the simulation's UTC, the host's UTC when the clock was made plus the true time elapsed (the scene:
  the cart's position, the drone's flight, the GNSS fix times, are functions of it);
- device time: what the device reports in `device_time_ns`: offset_ns + (true - boot) * (1 + drift_ppm 1e-6),
  restarted from offset_ns at every boot or reset (docs/protocol.md section 7).
"""

from __future__ import annotations

import threading
import time


class DeviceClock:
    """The device's clock (drift_ppm, offset_ns at boot) over the simulation's timeline (fast: skip waits;
    time_scale: the timeline runs time_scale times faster than the host's clock, e.g. 10: a minute in 6 s)."""

    def __init__(self, drift_ppm: float = 0.0, offset_ns: int = 0, fast: bool = False, time_scale: float = 1.0):
        if not (isinstance(time_scale, (int, float)) and 0 < time_scale <= 1000):
            raise ValueError(f"time_scale: expected a factor in (0, 1000], found {time_scale!r}")
        if not -1e5 < float(drift_ppm) < 1e5:
            raise ValueError(f"drift_ppm: expected a drift in ppm within +-1e5, found {drift_ppm!r}")
        if not isinstance(offset_ns, int) or offset_ns < 0:
            raise ValueError(f"offset_ns: expected an integer >= 0 (device clock at boot, ns), found {offset_ns!r}")
        self.drift_ppm = float(drift_ppm)
        self.offset_ns = offset_ns
        self.fast = fast
        self.time_scale = float(time_scale)
        self._mono0_ns = time.monotonic_ns()
        self._utc0_ns = time.time_ns()
        self._skip_ns = 0
        self._lock = threading.Lock()
        self.boot_true_ns = 0

    # ------------------------------------------------------------------ timeline
    def true_ns(self) -> int:
        """True time since the clock was made (ns)."""
        elapsed = time.monotonic_ns() - self._mono0_ns
        if self.time_scale != 1.0:
            elapsed = round(elapsed * self.time_scale)
        return elapsed + self._skip_ns

    def wall_s(self, true_s: float) -> float:
        """Host seconds that true_s seconds of the timeline take (without fast-mode jumps)."""
        return true_s / self.time_scale

    def utc_ns(self, true_ns: int | None = None) -> int:
        """The simulation's UTC (ns since 1970) at true_ns (now when None)."""
        return self._utc0_ns + (self.true_ns() if true_ns is None else true_ns)

    def true_of_utc(self, utc_ns: int) -> int:
        return utc_ns - self._utc0_ns

    def advance_to(self, true_ns: int) -> None:
        """Fast mode: jump the timeline forward to true_ns (no effect when it is already past)."""
        with self._lock:
            ahead = true_ns - self.true_ns()
            if ahead > 0:
                self._skip_ns += ahead

    # ------------------------------------------------------------------ device clock
    def boot(self) -> None:
        """Power-up or reset: the device clock restarts from offset_ns now."""
        self.boot_true_ns = self.true_ns()

    def device_ns(self, true_ns: int | None = None) -> int:
        """Device clock (ns since boot, plus offset_ns, with drift) at true_ns (now when None)."""
        t = self.true_ns() if true_ns is None else true_ns
        return self.offset_ns + max(0, round((t - self.boot_true_ns) * (1.0 + self.drift_ppm * 1e-6)))

    def true_of_device(self, device_ns: int) -> int:
        """The true time at which the device clock reads device_ns (inverse of device_ns)."""
        return self.boot_true_ns + round((device_ns - self.offset_ns) / (1.0 + self.drift_ppm * 1e-6))
