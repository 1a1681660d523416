"""The "plain loop" of issue 4, a benchmark-only baseline for sensorkit.kernels.kirchhoff.kirchhoff_migrate_3d.

A parallel Numba loop over output columns (prange), then over the traces within the aperture, then over
depths: the straight-ray two-way time T = 2 sqrt(r^2 + z^2) / v computed per voxel-trace, the angle and
record checks, the weight dx dy cos(theta) / (pi v R) and a linear-interpolation read of the rho-filtered
trace. No tables, no offset classes, no symmetry. Ground-coupled antenna only (height 0). Each trace's depth
range (angle and record) is found by two binary searches with the exact tests, so that the inner loop over
depths has no branches; that loop runs in float32 (the data's precision, float64 for the ray geometry per trace)
with fastmath. These make it a stronger baseline: fastmath gained 1.4x, float32 another 2.2x.

It is the kernel's operator with antialias=False: same updates (voxel-trace pairs in aperture, angle and
record), same weights, same reads, so its image equals kirchhoff_migrate_3d(..., antialias=False) up to
float32 rounding (checked by bench_migration.py).
"""

import math

import numpy as np
from numba import njit, prange

from sensorkit.kernels.kirchhoff import rho_filter


@njit(cache=True, inline="always")
def _depth_range(r, depth_m, v_mps, dt_s, nt, max_sin):
    """[lo, hi): the depths whose voxel-trace pair is within the angle (sin <= max_sin, holds from some depth
    down) and the record (T <= nt - 1, holds down to some depth); two binary searches with the exact tests."""
    nz = depth_m.shape[0]
    lo, hi = 0, nz  # first depth within the angle
    while lo < hi:
        mid = (lo + hi) // 2
        dist = math.sqrt(r * r + depth_m[mid] * depth_m[mid])
        if (r / dist if dist > 0.0 else 0.0) <= max_sin:
            hi = mid
        else:
            lo = mid + 1
    first = lo
    lo, hi = first, nz  # first depth past the record
    while lo < hi:
        mid = (lo + hi) // 2
        dist = math.sqrt(r * r + depth_m[mid] * depth_m[mid])
        if 2.0 * (dist / v_mps) / dt_s > nt - 1:
            hi = mid
        else:
            lo = mid + 1
    return first, lo


@njit(cache=True, parallel=True, fastmath=True)
def _plain_stack(traces, dt_s, dx_m, dy_m, depth_m, v_mps, aperture_m, max_sin, out):
    nx, ny, nt = traces.shape
    nz = depth_m.shape[0]
    na = min(nx - 1, int(math.floor(aperture_m / dx_m + 1e-9)))
    nb = min(ny - 1, int(math.floor(aperture_m / dy_m + 1e-9)))
    r_floor = 0.5 * v_mps * dt_s
    scale = dx_m * dy_m / (math.pi * v_mps)
    samples_per_m = 2.0 / (v_mps * dt_s)  # two-way time in samples per metre of ray
    depth32 = depth_m.astype(np.float32)
    spm32 = np.float32(samples_per_m)
    sc32 = np.float32(scale)
    rf32 = np.float32(r_floor)
    for col in prange(nx * ny):
        ix = col // ny
        iy = col - ix * ny
        acc = np.zeros(nz, np.float32)
        for jx in range(max(0, ix - na), min(nx, ix + na + 1)):
            for jy in range(max(0, iy - nb), min(ny, iy + nb + 1)):
                rx = (jx - ix) * dx_m
                ry = (jy - iy) * dy_m
                r = math.sqrt(rx * rx + ry * ry)
                if r > aperture_m:
                    continue
                lo, hi = _depth_range(r, depth_m, v_mps, dt_s, nt, max_sin)
                trace = traces[jx, jy]
                r2 = np.float32(r * r)
                for iz in range(lo, hi):
                    z = depth32[iz]
                    dist = np.float32(math.sqrt(r2 + z * z))
                    T = dist * spm32
                    # cos(theta) / R = z / (dist R), R = dist floored at half a sample (dist = 0: cos = 1)
                    w = sc32 * (z if dist > 0.0 else rf32) / ((dist if dist > 0.0 else rf32) * max(dist, rf32))
                    i0 = int(T)
                    fr = T - np.float32(i0)
                    i1 = min(i0 + 1, nt - 1)
                    acc[iz] += w * ((np.float32(1.0) - fr) * trace[i0] + fr * trace[i1])
        out[ix, iy, :] = acc


@njit(cache=True, parallel=True)
def _plain_count(nx, ny, nt, dt_s, dx_m, dy_m, depth_m, v_mps, aperture_m, max_sin):
    na = min(nx - 1, int(math.floor(aperture_m / dx_m + 1e-9)))
    nb = min(ny - 1, int(math.floor(aperture_m / dy_m + 1e-9)))
    per_column = np.zeros(nx * ny, np.int64)
    for col in prange(nx * ny):
        ix = col // ny
        iy = col - ix * ny
        n = 0
        for jx in range(max(0, ix - na), min(nx, ix + na + 1)):
            for jy in range(max(0, iy - nb), min(ny, iy + nb + 1)):
                rx = (jx - ix) * dx_m
                ry = (jy - iy) * dy_m
                r = math.sqrt(rx * rx + ry * ry)
                if r <= aperture_m:
                    lo, hi = _depth_range(r, depth_m, v_mps, dt_s, nt, max_sin)
                    n += max(0, hi - lo)
        per_column[col] = n
    return per_column.sum()


def _max_sin(max_angle_deg: float) -> float:
    return math.sin(math.radians(max_angle_deg)) * (1.0 + 1e-12)  # the kernel's tolerance


def plain_kirchhoff_3d(data, *, dt_s, dx_m, dy_m, depth_m, velocity_mps, aperture_m, max_angle_deg):
    """Plain-loop Kirchhoff 3D: data (nx, ny, nt) float32 -> image (nx, ny, nz) float32 (rho filter included)."""
    x = np.ascontiguousarray(rho_filter(data, dt_s, 1.0))
    depth = np.ascontiguousarray(depth_m, dtype=np.float64)
    out = np.zeros(x.shape[:2] + (depth.size,), np.float32)
    _plain_stack(x, float(dt_s), float(dx_m), float(dy_m), depth, float(velocity_mps), float(aperture_m),
                 _max_sin(max_angle_deg), out)
    return out


def plain_update_count(shape, *, dt_s, dx_m, dy_m, depth_m, velocity_mps, aperture_m, max_angle_deg) -> int:
    """The number of reads plain_kirchhoff_3d does: voxel-trace pairs in aperture and angle with T in the record."""
    nx, ny, nt = (int(s) for s in shape)
    return int(_plain_count(nx, ny, nt, float(dt_s), float(dx_m), float(dy_m),
                            np.ascontiguousarray(depth_m, dtype=np.float64), float(velocity_mps), float(aperture_m),
                            _max_sin(max_angle_deg)))
