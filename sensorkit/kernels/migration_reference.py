"""Plain NumPy references of the migration kernels (kirchhoff, stolt, phase_shift), float64, for tests and
benchmarks. They follow the definitions in the kernels' docstrings term by term, without their tricks
(no offset tables, no summing of traces that share a travel time, no Numba), and are slow: small inputs only.
"""

import math

import numpy as np

from sensorkit.kernels.kirchhoff import rho_filter
from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s

# --- Kirchhoff ----------------------------------------------------------------------------------------------


def _one_way(r, h, z, v, refraction):
    if refraction and h > 0.0:
        return float(refracted_one_way_time_s(r, h, z, v))
    return math.hypot(r, z + h) / v


def _operator_column(r, ax, by, depth_m, v, h, refraction, dt, nt, dx, dy, is_3d, aperture_m, max_angle_deg,
                     antialias):
    """T (samples), w (without the 1/L^2), L and the valid mask along depth for one voxel-trace offset."""
    nz = depth_m.size
    T = np.zeros(nz)
    w = np.zeros(nz)
    L = np.ones(nz)
    valid = np.zeros(nz, bool)
    if r > aperture_m:
        return T, w, L, valid
    d = 1e-6 * max(r, 1e-3)
    for iz, z in enumerate(depth_m):
        t1 = _one_way(r, h, z, v, refraction)
        if r == 0.0:
            p = 0.0
        else:  # slowness dt1/dr by a central difference (the kernel uses the analytic value for straight rays)
            p = (_one_way(r + d, h, z, v, refraction) - _one_way(max(r - d, 0.0), h, z, v, refraction)) / (
                r + d - max(r - d, 0.0))
        sin_t = min(v * p, 1.0)
        T[iz] = 2.0 * t1 / dt
        if math.degrees(math.asin(sin_t)) > max_angle_deg + 1e-9 or T[iz] > nt - 1:
            continue
        valid[iz] = True
        cos_t = math.sqrt(1.0 - sin_t ** 2)
        R = max(v * t1, 0.5 * v * dt)
        w[iz] = dx * dy * cos_t / (math.pi * v * R) if is_3d else dx * cos_t / math.sqrt(math.pi * v * R)
        if antialias and r > 0.0:
            moveout = max(2.0 * p * ax * dx / r, 2.0 * p * by * dy / r if is_3d else 0.0)
            L[iz] = max(1.0, moveout / dt)
    return T, w, L, valid


def kirchhoff_reference(data, *, dt_s, dx_m, dy_m=None, depth_m, velocity_mps, height_m=0.0, refraction=True,
                        aperture_m=0.5, max_angle_deg=60.0, antialias=True, rho_filter_on=True):
    """Voxel-by-trace Kirchhoff stack, float64: data (nx, nt) (2D, dy_m None) or (nx, ny, nt) -> image (.., nz).

    Each trace is pre-filtered (derivative in 3D, half derivative in 2D), then read at T with linear
    interpolation, or with antialias as (S2(T - L) - 2 S2(T) + S2(T + L)) / L^2 where S2 is its double running
    sum shifted by one sample (S2[k+1] - 2 S2[k] + S2[k-1] = x[k]), zero before and after the record.
    """
    is_3d = dy_m is not None
    x = np.asarray(data, np.float64)
    if not is_3d:
        x = x[:, None, :]
    nx, ny, nt = x.shape
    dx, dy = float(dx_m), float(dy_m) if is_3d else 1.0
    z = np.asarray(depth_m, np.float64)
    pre = rho_filter(x, dt_s, (1.0 if is_3d else 0.5) if rho_filter_on else 0.0).astype(np.float64)
    columns = {}
    out = np.zeros((nx, ny, z.size))
    for ix in range(nx):
        for iy in range(ny):
            for jx in range(nx):
                for jy in range(ny):
                    a, b = abs(jx - ix), abs(jy - iy)
                    if (a, b) not in columns:
                        r = math.hypot(a * dx, b * dy)
                        columns[a, b] = _operator_column(r, a * dx, b * dy, z, float(velocity_mps), float(height_m),
                                                         refraction, float(dt_s), nt, dx, dy, is_3d,
                                                         float(aperture_m), float(max_angle_deg), antialias)
                    T, w, L, valid = columns[a, b]
                    if not valid.any():
                        continue
                    if antialias:
                        val = triangle_read_reference(pre[jx, jy], T, L)
                    else:
                        val = np.interp(T, np.arange(nt), pre[jx, jy])
                    out[ix, iy] += np.where(valid, w * val, 0.0)
    return out if is_3d else out[:, 0, :]


def kirchhoff_update_count_reference(nx, ny, nt, *, dt_s, dx_m, dy_m, depth_m, velocity_mps, height_m=0.0,
                                     refraction=True, aperture_m=0.5, max_angle_deg=60.0):
    """Number of (voxel, trace) pairs within aperture and angle whose two-way time lies inside the record."""
    z = np.asarray(depth_m, np.float64)
    total = 0
    for a in range(-(nx - 1), nx):
        for b in range(-(ny - 1), ny):
            n_pairs = (nx - abs(a)) * (ny - abs(b))
            r = math.hypot(a * dx_m, b * dy_m)
            *_, valid = _operator_column(r, abs(a) * dx_m, abs(b) * dy_m, z, velocity_mps, height_m, refraction,
                                         dt_s, nt, dx_m, dy_m, True, aperture_m, max_angle_deg, False)
            total += n_pairs * int(valid.sum())
    return total


def triangle_read_reference(trace, t_samples, half_samples):
    """Triangle-smoothed reads of one trace at fractional times (samples), float64 (the anti-aliased read).

    (S2(t - L) - 2 S2(t) + S2(t + L)) / L^2, S2 the double running sum of the trace shifted by one sample
    (S2[k+1] - 2 S2[k] + S2[k-1] = x[k]), zero-padded, read with linear interpolation. For integer t and L
    this is sum_k (L - |k|) x[t + k] / L^2; for L = 1, linear interpolation of x at t.
    """
    x = np.asarray(trace, np.float64)
    t = np.asarray(t_samples, np.float64)
    L = np.asarray(half_samples, np.float64)
    nt = x.size
    pad = int(np.ceil(np.max(L, initial=1.0))) + 2
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    s2 = np.concatenate([[0.0], np.cumsum(np.cumsum(xp))[:-1]])
    grid = np.arange(xp.size) - pad
    return (np.interp(t - L, grid, s2) - 2.0 * np.interp(t, grid, s2) + np.interp(t + L, grid, s2)) / (L * L)


# --- Stolt ----------------------------------------------------------------------------------------------------


def _spatial_k2(nx_pad, ny_pad, dx, dy):
    kx = 2.0 * np.pi * np.fft.fftfreq(nx_pad, dx)
    ky = 2.0 * np.pi * np.fft.fftfreq(ny_pad, dy) if ny_pad > 1 else np.zeros(1)
    return kx[:, None] ** 2 + ky[None, :] ** 2


def stolt_reference(data, *, dt_s, dx_m, dy_m=None, depth_m, velocity_mps, height_m=0.0, refraction=True,
                    nx_pad, ny_pad=1, nt_pad, interpolation="linear"):
    """Stolt migration with numpy.fft in float64 and a Python loop over wavenumbers (see kernels.stolt).

    data (nx, nt) (dy_m None) or (nx, ny, nt); the padded sizes are given explicitly.
    """
    is_3d = dy_m is not None
    x = np.asarray(data, np.float64)
    if not is_3d:
        x = x[:, None, :]
    nx, ny, nt = x.shape
    u = velocity_mps / 2.0
    u_air = C0_MPS / 2.0 if refraction else u
    padded = np.zeros((nx_pad, ny_pad, nt_pad))
    padded[:nx, :ny, :nt] = x
    spec = np.fft.fftn(np.fft.rfft(padded, axis=-1), axes=(0, 1))
    nw = spec.shape[-1]
    omega = 2.0 * np.pi * np.fft.rfftfreq(nt_pad, dt_s)
    kz = omega / u  # the output kz grid equals the omega grid divided by u
    k2 = _spatial_k2(nx_pad, ny_pad, dx_m, dy_m if is_3d else 1.0)
    mapped = np.zeros_like(spec)
    bins = np.arange(nw)
    for ix in range(nx_pad):
        for iy in range(ny_pad):
            om = u * np.sqrt(k2[ix, iy] + kz ** 2)
            f = om / omega[1]
            row = spec[ix, iy]
            if interpolation == "linear":
                val = np.interp(f, bins, row.real) + 1j * np.interp(f, bins, row.imag)
            else:
                i0 = np.floor(f).astype(int)
                val = np.zeros(nw, complex)
                for m in range(-3, 5):
                    i = i0 + m
                    ok = (i >= 0) & (i < nw)
                    xw = f - i
                    val += np.where(ok, row[np.clip(i, 0, nw - 1)] * np.sinc(xw) * np.sinc(xw / 4.0), 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                jac = np.where(om > 0, u * kz / om, 0.0)
            air = 1.0
            if height_m > 0:  # continuation through the air layer first
                kz_air2 = (om / u_air) ** 2 - k2[ix, iy]
                alive = kz_air2 > 1e-9 * (om / u_air) ** 2
                air = np.where(alive, np.exp(1j * height_m * np.sqrt(np.maximum(kz_air2, 0.0))), 0.0)
            mapped[ix, iy] = np.where(f <= nw - 1, val * jac * air, 0.0)
    img = np.fft.irfft(np.fft.ifftn(mapped, axes=(0, 1))[:nx, :ny], n=nt_pad, axis=-1)
    z_int = np.arange(nt_pad) * u * dt_s
    z = np.asarray(depth_m, np.float64)
    out = np.zeros((nx, ny, z.size))
    for ix in range(nx):
        for iy in range(ny):
            out[ix, iy] = np.interp(z, z_int, img[ix, iy], right=0.0)
    return out if is_3d else out[:, 0, :]


# --- phase shift ----------------------------------------------------------------------------------------------


def phase_shift_reference(data, *, dt_s, dx_m, dy_m=None, depth_m, layer_tops_m, velocities_mps, height_m=0.0,
                          refraction=True, nx_pad, ny_pad=1, nt_pad):
    """Gazdag phase-shift migration with numpy.fft in float64, one depth step after the other (see kernels)."""
    is_3d = dy_m is not None
    x = np.asarray(data, np.float64)
    if not is_3d:
        x = x[:, None, :]
    nx, ny, nt = x.shape
    tops = np.asarray(layer_tops_m, np.float64)
    u_layers = np.asarray(velocities_mps, np.float64) / 2.0
    u_air = C0_MPS / 2.0 if refraction else u_layers[0]
    padded = np.zeros((nx_pad, ny_pad, nt_pad))
    padded[:nx, :ny, :nt] = x
    field = np.fft.fftn(np.fft.rfft(padded, axis=-1), axes=(0, 1))
    omega = 2.0 * np.pi * np.fft.rfftfreq(nt_pad, dt_s)
    k2 = _spatial_k2(nx_pad, ny_pad, dx_m, dy_m if is_3d else 1.0)[..., None]
    weights = np.full(omega.size, 2.0)
    weights[0] = 1.0
    if nt_pad % 2 == 0:
        weights[-1] = 1.0

    def kz(u):
        kz2 = (omega / u) ** 2 - k2
        return np.sqrt(np.maximum(kz2, 0.0)), kz2 > 1e-9 * (omega / u) ** 2  # grazing waves dropped too

    def cross(thickness, u):
        nonlocal field
        if thickness > 0:
            k, alive = kz(u)
            field = np.where(alive, field * np.exp(1j * k * thickness), 0.0)

    z_prev = 0.0
    images = []
    cross(height_m, u_air)
    for z in np.asarray(depth_m, np.float64):
        for i, top in enumerate(tops):
            bottom = tops[i + 1] if i + 1 < tops.size else np.inf
            cross(min(max(z, top), bottom) - min(max(z_prev, top), bottom), u_layers[i])
        z_prev = z
        images.append(np.real(np.fft.ifftn((field * weights).sum(axis=-1), axes=(0, 1)))[:nx, :ny] / nt_pad)
    out = np.stack(images, axis=-1)
    return out if is_3d else out[:, 0, :]
