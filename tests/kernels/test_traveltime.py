"""Refracted travel times: Newton solution against a brute-force minimum, and limiting cases."""

import math

import numpy as np
import pytest

from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_reference, refracted_one_way_time_s


@pytest.mark.parametrize("offset_m, height_m, depth_m, eps_r", [
    (0.3, 0.1, 0.15, 4.0), (1.2, 0.1, 0.05, 16.0), (0.05, 0.5, 0.3, 9.0), (2.0, 0.02, 0.4, 25.0),
    (0.0, 0.1, 0.2, 4.0), (0.4, 0.0, 0.2, 6.0), (0.4, 0.3, 0.0, 6.0),
])
def test_newton_matches_brute_force_minimum(offset_m, height_m, depth_m, eps_r):
    v = C0_MPS / math.sqrt(eps_r)
    fast = refracted_one_way_time_s(offset_m, height_m, depth_m, v)
    slow = refracted_one_way_time_reference(offset_m, height_m, depth_m, v)
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-15)
    # Fermat: no other refraction point is faster
    assert fast <= slow + 1e-15


def test_limits():
    v = C0_MPS / 3.0
    assert refracted_one_way_time_s(0.0, 0.1, 0.3, v) == pytest.approx(0.1 / C0_MPS + 0.3 / v)
    assert refracted_one_way_time_s(0.4, 0.0, 0.3, v) == pytest.approx(0.5 / v)
    # a fast ground (v -> c) makes the path straight
    straight = math.hypot(0.5, 0.1 + 0.2) / C0_MPS
    assert refracted_one_way_time_s(0.5, 0.1, 0.2, C0_MPS) == pytest.approx(straight, rel=1e-12)


def test_snell_law_holds_at_the_refraction_point():
    h, z, r, eps_r = 0.1, 0.2, 0.6, 9.0
    v = C0_MPS / math.sqrt(eps_r)
    t = refracted_one_way_time_s(r, h, z, v)
    a = np.linspace(0, r, 400001)
    best = a[np.argmin(np.hypot(h, a) / C0_MPS + np.hypot(z, r - a) / v)]
    sin_air, sin_ground = best / math.hypot(h, best), (r - best) / math.hypot(z, r - best)
    assert sin_air / sin_ground == pytest.approx(math.sqrt(eps_r), rel=1e-3)
    assert t == pytest.approx(math.hypot(h, best) / C0_MPS + math.hypot(z, r - best) / v, rel=1e-9)
