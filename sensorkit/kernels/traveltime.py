"""Travel times of GPR waves from an antenna above the ground to a point below it (Fermat/Snell).

The antenna is ``height_m`` above a flat ground surface; the point is ``depth_m`` below it at horizontal
distance ``offset_m``. The wave travels in air at C0_MPS to a refraction point on the surface, then at
``v_mps`` in the ground. The refraction point minimises the time (Fermat's principle, equivalent to
Snell's law); it is found by Newton's method on the ray's horizontal reach as a function of the sine of
its angle in air, which converges monotonically in a few steps (see the function).

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
    # The ray is parametrised by q = sin(angle in air); Snell gives sin(angle in ground) = k q with k = v / c.
    # Its horizontal reach R(q) = h q / sqrt(1 - q^2) + z k q / sqrt(1 - k^2 q^2) is increasing and convex, and
    # q0 = r / sqrt(h^2 + r^2) (the air leg alone reaching r) lies right of the root, so Newton's method
    # from q0 decreases monotonically to it: about 5 steps on average, never a bracket to fall back to.
    k = v_mps / C0_MPS
    q = r / math.sqrt(height_m * height_m + r * r)
    for _ in range(50):
        c_air = math.sqrt(1.0 - q * q)
        c_ground = math.sqrt(1.0 - k * k * q * q)
        reach = height_m * q / c_air + depth_m * k * q / c_ground
        slope = height_m / (c_air * c_air * c_air) + depth_m * k / (c_ground * c_ground * c_ground)
        q_new = q - (reach - r) / slope
        if q_new < 0.0:
            q_new = 0.0
        if abs(q_new - q) <= 1e-14 * q:
            q = q_new
            break
        q = q_new
    return height_m / (C0_MPS * math.sqrt(1.0 - q * q)) + depth_m / (v_mps * math.sqrt(1.0 - k * k * q * q))


def refracted_one_way_time_reference(offset_m, height_m, depth_m, v_mps, n_grid=200001):
    """NumPy reference: brute-force minimum over refraction points on a fine grid (slow, for tests)."""
    r = abs(float(offset_m))
    if height_m <= 0.0 or depth_m <= 0.0 or r == 0.0:
        return float(refracted_one_way_time_s(offset_m, height_m, depth_m, v_mps))
    a = np.linspace(0.0, r, n_grid)
    t = np.sqrt(height_m ** 2 + a ** 2) / C0_MPS + np.sqrt(depth_m ** 2 + (r - a) ** 2) / v_mps
    return float(t.min())
