"""Survey frame -> WGS84: a point across the track lands where the cart's own geometry puts it."""

import math

import numpy as np
import pytest

from firmware_sims.scenario import CartTrack
from sensorkit.gpr.georef import survey_to_lat_lon


def _truth(track: CartTrack, along_m: float, across_m: float) -> tuple[float, float]:
    h = math.radians(track.heading_deg)
    east = along_m * math.sin(h) - across_m * math.cos(h)  # +across is to the left of the heading
    north = along_m * math.cos(h) + across_m * math.sin(h)
    return track.offset_lat_lon(east, north)


def _error_m(lat, lon, lat_true, lon_true) -> float:
    north = (lat - lat_true) * 111_250.0
    east = (lon - lon_true) * 111_250.0 * math.cos(math.radians(lat_true))
    return math.hypot(north, east)


@pytest.mark.parametrize("heading_deg", [90.0, 30.0, 200.0])
@pytest.mark.parametrize("line_ys", [(0.0,), (0.0, 0.5, 1.0)])
def test_points_off_the_line_are_placed_across_the_track(heading_deg, line_ys):
    track = CartTrack(origin_lat=52.0, origin_lon=5.0, heading_deg=heading_deg)
    x = np.arange(0.0, 5.0, 0.02)
    tx = np.concatenate([x for _ in line_ys])
    ty = np.concatenate([np.full_like(x, y) for y in line_ys])
    lat, lon = np.array([_truth(track, a, c) for a, c in zip(tx, ty)]).T
    points = [(2.5, 0.4), (1.0, -0.3), (4.9, 0.0), (0.2, 1.2)]
    got_lat, got_lon = survey_to_lat_lon([p[0] for p in points], [p[1] for p in points], tx, ty, lat, lon)
    for (a, c), la, lo in zip(points, got_lat, got_lon):
        assert _error_m(la, lo, *_truth(track, a, c)) < 0.005, (a, c)


def test_the_nearest_trace_would_be_wrong_by_the_across_track_offset():
    """What this replaces: a swath's traces carry the array centre's position; a detection 0.4 m to the side is
    0.4 m from the nearest trace's position, and within millimetres of the fitted one."""
    track = CartTrack(origin_lat=52.0, origin_lon=5.0, heading_deg=90.0)
    x = np.arange(0.0, 5.0, 0.02)
    lat, lon = np.array([_truth(track, a, 0.5) for a in x]).T
    got_lat, got_lon = survey_to_lat_lon([2.5], [0.9], x, np.full_like(x, 0.5), lat, lon)
    true_lat, true_lon = _truth(track, 2.5, 0.9)
    nearest = int(np.argmin(np.abs(x - 2.5)))
    assert _error_m(lat[nearest], lon[nearest], true_lat, true_lon) > 0.39
    assert _error_m(got_lat[0], got_lon[0], true_lat, true_lon) < 0.005


def test_without_enough_gnss_the_position_is_unknown():
    x = np.arange(0.0, 1.0, 0.1)
    nan = np.full_like(x, np.nan)
    lat, lon = survey_to_lat_lon([0.5], [0.0], x, np.zeros_like(x), nan, nan)
    assert np.isnan(lat[0]) and np.isnan(lon[0])
    one = nan.copy()
    one[3] = 52.0
    lat, lon = survey_to_lat_lon([0.5], [0.0], x, np.zeros_like(x), one, one)
    assert np.isnan(lat[0])
    with pytest.raises(ValueError, match="equal lengths"):
        survey_to_lat_lon([0.5], [0.0], x, np.zeros(3), nan, nan)
