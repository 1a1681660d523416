"""Travel times of GPR waves from an antenna above the ground to a point below it (Fermat/Snell).

The antenna is ``height_m`` above a flat ground surface; the point is ``depth_m`` below it at horizontal
distance ``offset_m``. The wave travels in air at C0_MPS to a refraction point on the surface, then at
``v_mps`` in the ground. The refraction point minimises the time (Fermat's principle, equivalent to
Snell's law); it is found by Newton's method on the derivative, which is monotonic in the refraction
point's distance, so a few iterations from a bracketed start converge to float64 precision.

These are shared by the forward model (sensorkit.synth) and migration, so both use one geometry.
"""

import math

import numpy as np
from numba import njit

C0_MPS = 299_792_458.0


@njit(cache=True, inline="always")
def refracted_one_way_time_s(offset_m, height_m, depth_m, v_mps):
    """One-way time (s) from an antenna at height_m above ground to a point depth_m below, offset_m away."""
    r = abs(offset_m)
    if height_m <= 0.0:
        return math.sqrt(r * r + depth_m * depth_m) / v_mps
    if depth_m <= 0.0:
        return math.sqrt(r * r + height_m * height_m) / C0_MPS
    if r == 0.0:
        return height_m / C0_MPS + depth_m / v_mps
    # f(a) = a / (c sqrt(h^2 + a^2)) - (r - a) / (v sqrt(z^2 + (r - a)^2)) is increasing on [0, r], f(0)<0<f(r)
    inv_c = 1.0 / C0_MPS
    inv_v = 1.0 / v_mps
    h2 = height_m * height_m
    z2 = depth_m * depth_m
    # start from the straight-line crossing, a good guess when the two velocities are close
    a = r * height_m / (height_m + depth_m)
    lo, hi = 0.0, r
    for _ in range(40):
        sa = math.sqrt(h2 + a * a)
        b = r - a
        sb = math.sqrt(z2 + b * b)
        f = a * inv_c / sa - b * inv_v / sb
        if f > 0.0:
            hi = a
        else:
            lo = a
        df = inv_c * h2 / (sa * sa * sa) + inv_v * z2 / (sb * sb * sb)
        step = f / df
        a_new = a - step
        if a_new <= lo or a_new >= hi:  # Newton left the bracket: bisect instead
            a_new = 0.5 * (lo + hi)
        if abs(a_new - a) < 1e-13 * (r + 1e-30):
            a = a_new
            break
        a = a_new
    return math.sqrt(h2 + a * a) * inv_c + math.sqrt(z2 + (r - a) * (r - a)) * inv_v


def refracted_one_way_time_reference(offset_m, height_m, depth_m, v_mps, n_grid=200001):
    """NumPy reference: brute-force minimum over refraction points on a fine grid (slow, for tests)."""
    r = abs(float(offset_m))
    if height_m <= 0.0 or depth_m <= 0.0 or r == 0.0:
        return float(refracted_one_way_time_s(offset_m, height_m, depth_m, v_mps))
    a = np.linspace(0.0, r, n_grid)
    t = np.sqrt(height_m ** 2 + a ** 2) / C0_MPS + np.sqrt(depth_m ** 2 + (r - a) ** 2) / v_mps
    return float(t.min())
