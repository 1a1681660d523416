"""The cart track shared by the GPR unit and the GNSS receiver simulators.

A cart runs back and forth (a shuttle) along a straight lane of length_m metres that starts at (origin_lat,
origin_lon) and points along heading_deg (clockwise from true north), at speed_mps. Its position is a function
of UTC time only, so two simulator processes given the same track (same t0_utc_ns) agree:

- before t0_utc_ns the cart waits at the origin (distance 0);
- then u = speed_mps * (t - t0) metres have been travelled; leg j = floor(u / length_m) runs out (j even,
  distance u - j L) or back (j odd, distance (j + 1) L - u).

The GPR survey frame is x = distance along the lane (m), y across it (m, to the left of the heading is +y);
the wheel encoder reads floor(x * ticks_per_m), i.e. 0 at the origin, counting down on the way back.
Latitude/longitude come from a local tangent plane at the origin (WGS84 meridional and prime-vertical radii),
exact to well below a millimetre over a lane of a few hundred metres.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

#: WGS84 semi-major axis (m) and first eccentricity squared.
WGS84_A_M = 6378137.0
WGS84_E2 = 6.69437999014e-3


@dataclass(frozen=True)
class Crossing:
    """The cart passing a wheel-trigger grid point: distance = index * step_m at utc_ns."""

    utc_ns: int
    distance_m: float
    index: int  # grid point number k (distance = k * step_m)


@dataclass(frozen=True)
class CartTrack:
    """A cart shuttling along a straight lane. Angles in degrees (user interface), everything else SI."""

    origin_lat: float = 52.0
    origin_lon: float = 5.0
    heading_deg: float = 90.0
    speed_mps: float = 0.5
    t0_utc_ns: int = 0
    length_m: float = 10.0
    alt_m: float = 10.0

    def __post_init__(self):
        for name in ("origin_lat", "origin_lon", "heading_deg", "speed_mps", "length_m", "alt_m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"CartTrack.{name}: expected a finite number, found {value!r}")
        if not -90.0 < self.origin_lat < 90.0:
            raise ValueError(f"CartTrack.origin_lat: expected degrees in (-90, 90), found {self.origin_lat!r}")
        if not -180.0 <= self.origin_lon <= 180.0:
            raise ValueError(f"CartTrack.origin_lon: expected degrees in [-180, 180], found {self.origin_lon!r}")
        if self.speed_mps < 0:
            raise ValueError(f"CartTrack.speed_mps: expected a speed >= 0 m/s, found {self.speed_mps!r}")
        if self.length_m <= 0:
            raise ValueError(f"CartTrack.length_m: expected a length > 0 m, found {self.length_m!r}")
        if not isinstance(self.t0_utc_ns, int):
            raise ValueError(f"CartTrack.t0_utc_ns: expected an integer (UTC ns since 1970), found {self.t0_utc_ns!r}")

    @classmethod
    def starting_now(cls, **kwargs) -> "CartTrack":
        """A track whose cart leaves the origin now (t0 = the current UTC time)."""
        kwargs.setdefault("t0_utc_ns", time.time_ns())
        return cls(**kwargs)

    # ------------------------------------------------------------------ along the lane
    def travelled_m(self, utc_ns: int) -> float:
        """Odometer: metres travelled since t0 (0 before t0)."""
        return max(0.0, self.speed_mps * (utc_ns - self.t0_utc_ns) * 1e-9)

    def distance_m(self, utc_ns: int) -> float:
        """Position along the lane (m, 0..length_m): the survey x of the GPR."""
        u = self.travelled_m(utc_ns)
        leg, rest = divmod(u, self.length_m)
        return rest if int(leg) % 2 == 0 else self.length_m - rest

    def direction(self, utc_ns: int) -> int:
        """+1 going out along the heading, -1 coming back, 0 standing (before t0 or speed 0)."""
        if self.speed_mps == 0 or utc_ns <= self.t0_utc_ns:
            return 0
        return 1 if int(self.travelled_m(utc_ns) // self.length_m) % 2 == 0 else -1

    def course_deg(self, utc_ns: int) -> float | None:
        """Course over ground, degrees clockwise from true north; None when standing."""
        d = self.direction(utc_ns)
        if d == 0:
            return None
        return self.heading_deg % 360.0 if d > 0 else (self.heading_deg + 180.0) % 360.0

    def ground_speed_mps(self, utc_ns: int) -> float:
        return self.speed_mps if self.direction(utc_ns) != 0 else 0.0

    # ------------------------------------------------------------------ geographic
    def east_north_m(self, utc_ns: int, across_m: float = 0.0) -> tuple[float, float]:
        """Local east and north (m) from the origin of the point at along = distance_m(t), across_m to the left."""
        along = self.distance_m(utc_ns)
        h = math.radians(self.heading_deg)
        east = along * math.sin(h) - across_m * math.cos(h)
        north = along * math.cos(h) + across_m * math.sin(h)
        return east, north

    def lat_lon(self, utc_ns: int, east_offset_m: float = 0.0, north_offset_m: float = 0.0) -> tuple[float, float]:
        """WGS84 latitude and longitude (degrees) of the cart, plus optional east/north offsets (e.g. noise)."""
        east, north = self.east_north_m(utc_ns)
        return self.offset_lat_lon(east + east_offset_m, north + north_offset_m)

    def offset_lat_lon(self, east_m: float, north_m: float) -> tuple[float, float]:
        """Latitude and longitude (degrees) of a point east_m, north_m from the origin (local tangent plane)."""
        lat0 = math.radians(self.origin_lat)
        s2 = math.sin(lat0) ** 2
        meridional = WGS84_A_M * (1 - WGS84_E2) / (1 - WGS84_E2 * s2) ** 1.5
        prime_vertical = WGS84_A_M / math.sqrt(1 - WGS84_E2 * s2)
        lat = self.origin_lat + math.degrees(north_m / meridional)
        lon = self.origin_lon + math.degrees(east_m / (prime_vertical * math.cos(lat0)))
        return lat, (lon + 180.0) % 360.0 - 180.0

    # ------------------------------------------------------------------ wheel trigger
    def crossings(self, after_utc_ns: int, step_m: float) -> Iterator[Crossing]:
        """The cart passing the grid points k * step_m (0 <= k step <= length), in time order, from the first
        at or after after_utc_ns. Each pass over a point counts once, a turning point once. Endless while
        the cart moves; nothing when speed is 0."""
        if not (isinstance(step_m, (int, float)) and math.isfinite(step_m) and step_m > 0):
            raise ValueError(f"step_m: expected a positive distance in metres, found {step_m!r}")
        if self.speed_mps == 0:
            return
        length = self.length_m
        n_below = math.ceil(length / step_m - 1e-9)  # points k with k * step < length: k = 0 .. n_below - 1
        k_max = math.floor(length / step_m + 1e-9)  # largest k with k * step <= length
        u_after = self.travelled_m(after_utc_ns)
        leg = int(u_after // length)
        while True:
            base = leg * length
            if leg % 2 == 0:  # out: distance = u - base, points k = 0 .. n_below - 1 at u = base + k step
                ks = range(0, n_below)
                us = ((k, base + k * step_m) for k in ks)
            else:  # back: distance = base + L - u, points k = k_max .. 1 at u = base + L - k step
                ks = range(k_max, 0, -1)
                us = ((k, base + length - k * step_m) for k in ks)
            for k, u in us:
                utc = self.t0_utc_ns + round(u / self.speed_mps * 1e9)
                if utc >= after_utc_ns:
                    yield Crossing(utc, min(max(k * step_m, 0.0), length), k)
            leg += 1
