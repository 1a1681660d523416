"""Stolt f-k migration of zero-offset GPR data in a constant-velocity ground, 2D lines and 3D grids.

Exploding-reflector model: the recorded two-way times are one-way times at u = v / 2. With the data's
spectrum D(k, omega) (k = kx or (kx, ky), omega >= 0), the image's spectrum is (Stolt 1978)

    M(k, kz) = D(k, omega(k, kz)) * u kz / omega,    omega = u sqrt(|k|^2 + kz^2),  kz >= 0

the factor being the Jacobian d omega / d kz (in the discrete transform the internal depth step is u dt,
so that kz and omega / u share one grid and the factor is kz / sqrt(|k|^2 + kz^2)). D is read between
frequency bins with linear interpolation, or with an 8-point Lanczos-windowed sinc (``interpolation``).

Antenna height (``height_m`` > 0): the data are first continued down through the air layer by phase shift,
D *= exp(i kz_air h), kz_air = sqrt((omega / u_air)^2 - |k|^2), u_air = C0 / 2, waves evanescent (or grazing,
kz_air^2 <= 1e-9 (omega / u_air)^2) in air set to zero; the Stolt mapping then migrates from the ground
surface. With refraction=False the air layer is given the ground velocity instead (straight rays from the
antenna: wrong when height_m > 0, kept to show it). The phase shift is applied at the exact frequency
omega(k, kz) of each output sample, in the same pass.

Padding against wrap-around: time is zero-padded to about ``time_pad_factor`` (default 2) times nt, which
keeps the interpolation's time-domain replicas and the air shift's advance out of the record; x (and y)
are zero-padded by ``pad_m`` (default u (nt - 1) dt, the largest lateral reach of a migration semicircle),
so that energy moved past one edge does not come back at the other. The image is computed on depths
i * u dt and resampled to the requested ``depth_m`` by linear interpolation (zero below the padded range).
FFTs are scipy.fft in single precision (complex64) with all cores; the mapping and the resampling are
Numba kernels, parallel over wavenumbers (the rows of k and -k together: they share |k|, so the mapped
frequencies, weights and air phase are computed once for both) and traces, or on one thread up to
SERIAL_MAX_BINS (k, omega) bins (a 2D line: a few ms, less than a parallel region costs on a shared machine).
"""

import math

import numpy as np
import scipy.fft
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.kirchhoff import check_flag, check_height, check_migration_grid, check_velocity
from sensorkit.kernels.traveltime import C0_MPS

INTERPOLATIONS = ("linear", "sinc")
SINC_HALF_WIDTH = 4  # Lanczos window a = 4: 8 points
SERIAL_MAX_BINS = 1 << 21  # up to this many (k, omega) bins the mapping runs on one thread (a few ms)


_SINC_M = np.arange(-SINC_HALF_WIDTH + 1, SINC_HALF_WIDTH + 1)
_SINC_COS = np.cos(_SINC_M * np.pi / SINC_HALF_WIDTH)
_SINC_SIN = np.sin(_SINC_M * np.pi / SINC_HALF_WIDTH)
_SINC_SIGN = np.where(_SINC_M % 2 == 0, 1.0, -1.0)


@njit(cache=True, inline="always")
def _lanczos_weights(fr, w_out, m_cos, m_sin, m_sign):
    """w_out[j] = Lanczos kernel (a = 4) at x = fr - m_j, m_j = -3..4 (fr in [0, 1)), 3 trig calls in all."""
    a = 4.0
    s_pi = math.sin(math.pi * fr)            # sin(pi (fr - m)) = (-1)^m sin(pi fr)
    s_al = math.sin(math.pi * fr / a)        # sin(pi (fr - m) / a) by angle subtraction
    c_al = math.cos(math.pi * fr / a)
    for j in range(8):
        x = fr - (j - 3)
        if abs(x) < 1e-9:
            w_out[j] = 1.0
        else:
            w_out[j] = a * (m_sign[j] * s_pi) * (s_al * m_cos[j] - c_al * m_sin[j]) / (math.pi * math.pi * x * x)


@njit(cache=True)
def _map_row_pair(spec, kk2, ik, ik2, air_kz2_scale, air_phase_per_idx, sinc, m_cos, m_sin, m_sign, w8, out):
    """Rows ik and ik2 of out (ik2: the row of -k, the same |k|; ik2 == ik for a row that is its own mirror).

    out[ik, j] = Jacobian * air phase * spec[ik, f] at f = sqrt(kk2[ik] + j^2) (frequency bin, fractional); the
    two rows share f, the weights and the phase, computed once. f grows with j: past nw - 1 the rest is zero.
    """
    nw = spec.shape[1]
    q = kk2[ik]
    row = spec[ik]
    row2 = spec[ik2]
    two = ik2 != ik
    for j in range(nw):
        f = math.sqrt(q + j * j)
        if f > nw - 1:
            for jj in range(j, nw):
                out[ik, jj] = 0.0
                out[ik2, jj] = 0.0
            return
        if f == 0.0:
            out[ik, j] = 0.0
            out[ik2, j] = 0.0
            continue
        scale = j / f
        if air_phase_per_idx != 0.0:
            kz2 = air_kz2_scale * f * f - q
            if kz2 <= 1e-9 * air_kz2_scale * f * f:  # evanescent or grazing in air
                out[ik, j] = 0.0
                out[ik2, j] = 0.0
                continue
            ph = air_phase_per_idx * math.sqrt(kz2)
            c = scale * complex(math.cos(ph), math.sin(ph))
        else:
            c = complex(scale, 0.0)
        i0 = int(f)
        fr = f - i0
        if sinc:
            _lanczos_weights(fr, w8, m_cos, m_sin, m_sign)
            acc = 0.0j
            acc2 = 0.0j
            for m in range(8):
                i = i0 + m - 3
                if 0 <= i < nw:
                    acc += row[i] * w8[m]
                    acc2 += row2[i] * w8[m]
            out[ik, j] = acc * c
            out[ik2, j] = acc2 * c
        else:  # f <= nw - 1: i0 + 1 < nw unless f == nw - 1 exactly (then fr == 0)
            i1 = min(i0 + 1, nw - 1)
            out[ik, j] = (row[i0] + fr * (row[i1] - row[i0])) * c
            if two:
                out[ik2, j] = (row2[i0] + fr * (row2[i1] - row2[i0])) * c


@njit(cache=True)
def _mirror_row(ik, nx_pad, ny_pad):
    """Row index of -k in the flattened (nx_pad, ny_pad) wavenumber grid."""
    ix = ik // ny_pad
    iy = ik - ix * ny_pad
    return ((nx_pad - ix) % nx_pad) * ny_pad + (ny_pad - iy) % ny_pad


@njit(cache=True, parallel=True)
def _stolt_map(spec, kk2, nx_pad, ny_pad, air_kz2_scale, air_phase_per_idx, sinc, m_cos, m_sin, m_sign, out):
    """The Stolt mapping of spec (nk, nw) complex64 into out (nk, nw), parallel over the pairs (k, -k).

    kk2 (nk,) = (|k| / dkz)^2 in bins^2 over the flattened (nx_pad, ny_pad) grid. The air phase is
    exp(i air_phase_per_idx * sqrt(air_kz2_scale * f^2 - kk2)) (zero when the root is imaginary).
    sinc: 8-point Lanczos interpolation (bins outside [0, nw) skipped), else linear.
    """
    nk = spec.shape[0]
    for ik in prange(nk):
        ik2 = _mirror_row(ik, nx_pad, ny_pad)
        if ik2 >= ik:
            _map_row_pair(spec, kk2, ik, ik2, air_kz2_scale, air_phase_per_idx, sinc, m_cos, m_sin, m_sign,
                          np.empty(8), out)


@njit(cache=True)
def _stolt_map_serial(spec, kk2, nx_pad, ny_pad, air_kz2_scale, air_phase_per_idx, sinc, m_cos, m_sin, m_sign,
                      out):
    """_stolt_map on one thread (small problems: a 2D line's few ms are not worth a parallel region)."""
    w8 = np.empty(8)
    for ik in range(spec.shape[0]):
        ik2 = _mirror_row(ik, nx_pad, ny_pad)
        if ik2 >= ik:
            _map_row_pair(spec, kk2, ik, ik2, air_kz2_scale, air_phase_per_idx, sinc, m_cos, m_sin, m_sign, w8,
                          out)


@njit(cache=True)
def _resample_row(img, i, dz_int_m, depth_m, out):
    nzi = img.shape[1]
    for iz in range(depth_m.shape[0]):
        f = depth_m[iz] / dz_int_m
        k = int(f)
        if k + 1 < nzi:
            w = f - k
            out[i, iz] = (1.0 - w) * img[i, k] + w * img[i, k + 1]
        elif k == nzi - 1 and f == k:
            out[i, iz] = img[i, k]
        else:
            out[i, iz] = 0.0


@njit(cache=True, parallel=True)
def resample_depth(img, dz_int_m, depth_m, out):
    """out[i, :] = img[i, :] (internal depths k * dz_int_m) at depth_m, linear interpolation, 0 beyond the end."""
    for i in prange(img.shape[0]):
        _resample_row(img, i, dz_int_m, depth_m, out)


@njit(cache=True)
def _resample_depth_serial(img, dz_int_m, depth_m, out):
    for i in range(img.shape[0]):
        _resample_row(img, i, dz_int_m, depth_m, out)


def padded_sizes(nx: int, ny: int, nt: int, dt_s: float, dx_m: float, dy_m: float, velocity_mps: float,
                 pad_m, time_pad_factor: float) -> tuple[int, int, int]:
    """(nx_pad, ny_pad, nt_pad) of the f-k migrations: FFT-friendly lengths with the zero padding (see module)."""
    u = velocity_mps / 2.0
    reach = u * (nt - 1) * dt_s if pad_m is None else float(pad_m)
    nt_pad = scipy.fft.next_fast_len(max(nt, int(math.ceil(time_pad_factor * nt))), real=True)
    nx_pad = scipy.fft.next_fast_len(nx + int(math.ceil(reach / dx_m)))
    ny_pad = scipy.fft.next_fast_len(ny + int(math.ceil(reach / dy_m))) if ny > 1 else 1
    return nx_pad, ny_pad, nt_pad


def wavenumbers_sq(nx_pad: int, ny_pad: int, dx_m: float, dy_m: float) -> np.ndarray:
    """|k|^2 (rad^2/m^2) of the (nx_pad, ny_pad) spatial FFT grid, flattened (nx_pad * ny_pad,)."""
    kx = 2.0 * np.pi * np.fft.fftfreq(nx_pad, dx_m)
    ky = 2.0 * np.pi * np.fft.fftfreq(ny_pad, dy_m) if ny_pad > 1 else np.zeros(1)
    return (kx[:, None] ** 2 + ky[None, :] ** 2).ravel()


def _stolt(a3, dt, dx, dy, z, v, h, refraction, pad_m, time_pad_factor, interpolation):
    """a3 (nx, ny, nt) float32 -> image (nx, ny, nz) float32."""
    nx, ny, nt = a3.shape
    nx_pad, ny_pad, nt_pad = padded_sizes(nx, ny, nt, dt, dx, dy, v, pad_m, time_pad_factor)
    u = v / 2.0
    u_air = C0_MPS / 2.0 if refraction else u
    spec = scipy.fft.rfft(a3, n=nt_pad, axis=-1, workers=-1)  # (nx, ny, nw) complex64
    axes = (0, 1) if ny > 1 else (0,)
    spec = scipy.fft.fftn(spec, s=(nx_pad, ny_pad)[:len(axes)], axes=axes, workers=-1, overwrite_x=True)
    nw = spec.shape[-1]
    d_omega = 2.0 * np.pi / (nt_pad * dt)
    dkz = d_omega / u
    kk2 = wavenumbers_sq(nx_pad, ny_pad, dx, dy) / dkz ** 2  # bins^2
    # air: kz_air^2 = (omega / u_air)^2 - k^2 = dkz^2 ((u / u_air)^2 f^2 - kk2); phase = h kz_air
    air_scale = (u / u_air) ** 2
    air_phase = h * dkz
    mapped = np.empty((nx_pad * ny_pad, nw), np.complex64)
    small = nx_pad * ny_pad * nw <= SERIAL_MAX_BINS
    (_stolt_map_serial if small else _stolt_map)(np.ascontiguousarray(spec.reshape(-1, nw)), kk2, nx_pad, ny_pad,
                                                 air_scale, air_phase, interpolation == "sinc", _SINC_COS, _SINC_SIN,
                                                 _SINC_SIGN, mapped)
    mapped = mapped.reshape(nx_pad, ny_pad, nw) if ny > 1 else mapped.reshape(nx_pad, nw)
    img_k = scipy.fft.ifftn(mapped, axes=axes, workers=-1, overwrite_x=True)
    img_k = img_k[:nx, :ny] if ny > 1 else img_k[:nx, None]
    img = scipy.fft.irfft(img_k, n=nt_pad, axis=-1, workers=-1).astype(np.float32, copy=False)
    out = np.empty((nx * ny, z.size), np.float32)
    (_resample_depth_serial if small else resample_depth)(np.ascontiguousarray(img.reshape(nx * ny, nt_pad)),
                                                          u * dt, z, out)
    return out.reshape(nx, ny, z.size)


def _check(data, ndim, dt_s, dx_m, dy_m, depth_m, velocity_mps, height_m, refraction, pad_m, time_pad_factor,
           interpolation):
    a, dt, dx, dy, z = check_migration_grid(data, ndim, dt_s, dx_m, dy_m, depth_m)
    v = check_velocity("velocity_mps", velocity_mps)
    h = check_height(height_m)
    check_flag("refraction", refraction)
    if pad_m is not None:
        validate.float_in_range("pad_m", pad_m, 0.0, math.inf)
    validate.float_in_range("time_pad_factor", time_pad_factor, 1.0, 16.0)
    validate.choice("interpolation", interpolation, INTERPOLATIONS)
    return a, dt, dx, dy, z, v, h


def stolt_migrate_3d(data, *, dt_s: float, dx_m: float, dy_m: float, depth_m, velocity_mps: float,
                     height_m: float = 0.0, refraction: bool = True, pad_m=None, time_pad_factor: float = 2.0,
                     interpolation: str = "linear") -> np.ndarray:
    """Stolt migration of a grid (nx, ny, nt) -> image (nx, ny, nz) float32 at depths depth_m (m).

    velocity_mps: ground velocity (m/s); height_m: antenna height (m); pad_m: lateral zero padding (m,
    default u (nt - 1) dt); time_pad_factor: padded time length / nt; interpolation: "linear" | "sinc".
    """
    a, dt, dx, dy, z, v, h = _check(data, 3, dt_s, dx_m, dy_m, depth_m, velocity_mps, height_m, refraction, pad_m,
                                    time_pad_factor, interpolation)
    return _stolt(a, dt, dx, dy, z, v, h, refraction, pad_m, time_pad_factor, interpolation)


def stolt_migrate_2d(data, *, dt_s: float, dx_m: float, depth_m, velocity_mps: float, height_m: float = 0.0,
                     refraction: bool = True, pad_m=None, time_pad_factor: float = 2.0,
                     interpolation: str = "linear") -> np.ndarray:
    """Stolt migration of a line (nx, nt) -> image (nx, nz) float32 at depths depth_m (m)."""
    a, dt, dx, _, z, v, h = _check(data, 2, dt_s, dx_m, 1.0, depth_m, velocity_mps, height_m, refraction, pad_m,
                                   time_pad_factor, interpolation)
    return _stolt(a[:, None, :], dt, dx, 1.0, z, v, h, refraction, pad_m, time_pad_factor, interpolation)[:, 0, :]
