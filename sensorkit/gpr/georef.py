"""From the GPR survey frame to WGS84: where on Earth a detection at (x_m, y_m) is.

The survey frame (DESIGN.md): x along the survey line, y across it, +y to the left of the direction of travel
(firmware_sims.scenario uses the same). Traces that carry GNSS positions (lat, lon in trace_meta) tie the two
together: around the point asked for, a rigid 2D map (rotation + shift, no scale) from (x, y) to local east /
north metres is fitted by least squares to the positioned traces within ``window_m`` along x, then turned back
into lat/lon. A single straight line is enough (the heading comes from x, the across-track direction is its
left normal); a curved track is followed piecewise through the window.
"""

from __future__ import annotations

import math

import numpy as np

#: WGS84 semi-major axis (m) and first eccentricity squared
WGS84_A_M = 6378137.0
WGS84_E2 = 6.69437999014e-3


def _metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """(north, east) metres per degree of latitude and longitude at lat_deg on the WGS84 ellipsoid."""
    phi = math.radians(lat_deg)
    w = 1.0 - WGS84_E2 * math.sin(phi) ** 2
    m_per_rad_north = WGS84_A_M * (1.0 - WGS84_E2) / w ** 1.5
    m_per_rad_east = WGS84_A_M * math.cos(phi) / math.sqrt(w)
    return math.radians(1.0) * m_per_rad_north, math.radians(1.0) * m_per_rad_east


def survey_to_lat_lon(x_m, y_m, trace_x_m, trace_y_m, trace_lat, trace_lon, *,
                      window_m: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """lat, lon (degrees) of the survey points (x_m, y_m), from traces at (trace_x_m, trace_y_m) with GNSS
    positions (trace_lat, trace_lon; NaN where a trace has none).

    Points with fewer than 2 positioned traces spread along x inside the window (the whole survey when the
    window holds too few) get NaN. All arrays in metres / degrees; x_m, y_m of any matching shapes.
    """
    x = np.atleast_1d(np.asarray(x_m, dtype=np.float64))
    y = np.broadcast_to(np.asarray(y_m, dtype=np.float64), x.shape)
    tx, ty = np.asarray(trace_x_m, np.float64).ravel(), np.asarray(trace_y_m, np.float64).ravel()
    lat, lon = np.asarray(trace_lat, np.float64).ravel(), np.asarray(trace_lon, np.float64).ravel()
    if not (tx.shape == ty.shape == lat.shape == lon.shape):
        raise ValueError(f"trace positions: expected equal lengths, found x {tx.shape}, y {ty.shape}, "
                         f"lat {lat.shape}, lon {lon.shape}")
    ok = np.isfinite(tx) & np.isfinite(ty) & np.isfinite(lat) & np.isfinite(lon)
    out_lat = np.full(x.shape, np.nan)
    out_lon = np.full(x.shape, np.nan)
    if ok.sum() < 2:
        return out_lat, out_lon
    tx, ty, lat, lon = tx[ok], ty[ok], lat[ok], lon[ok]
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    m_north, m_east = _metres_per_degree(lat0)
    east, north = (lon - lon0) * m_east, (lat - lat0) * m_north
    for k in np.ndindex(x.shape):
        if not (math.isfinite(x[k]) and math.isfinite(y[k])):
            continue
        near = np.abs(tx - x[k]) <= window_m
        if near.sum() < 2 or np.ptp(tx[near]) <= 0:
            near = np.ones_like(tx, dtype=bool)
        fit = _rigid_fit(tx[near], ty[near], east[near], north[near])
        if fit is None:
            continue
        e0, n0, ux, uy = fit
        e = e0 + ux * x[k] - uy * y[k]
        n = n0 + uy * x[k] + ux * y[k]
        out_lat[k], out_lon[k] = lat0 + n / m_north, lon0 + e / m_east
    return out_lat, out_lon


def _rigid_fit(x, y, east, north):
    """(e0, n0, ux, uy) with east = e0 + ux x - uy y and north = n0 + uy x + ux y, (ux, uy) a unit heading;
    None when x does not vary (no heading to see)."""
    if np.ptp(x) <= 0:
        return None
    n = x.size
    a = np.zeros((2 * n, 4))
    a[:n, 0], a[:n, 2], a[:n, 3] = 1.0, x, -y
    a[n:, 1], a[n:, 2], a[n:, 3] = 1.0, y, x
    b = np.concatenate([east, north])
    (e0, n0, ux, uy), *_ = np.linalg.lstsq(a, b, rcond=None)
    norm = math.hypot(ux, uy)
    if norm == 0:
        return None
    ux, uy = ux / norm, uy / norm
    # refit the shift with the unit heading (the wheel and the GNSS may disagree on scale by a little)
    e0 = float(np.mean(east - ux * x + uy * y))
    n0 = float(np.mean(north - uy * x - ux * y))
    return e0, n0, ux, uy
