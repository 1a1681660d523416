"""Kirchhoff (diffraction-stack, back-projection) migration of zero-offset GPR data, 2D lines and 3D grids.

Input: traces on a regular grid, (nx, nt) for a line or (nx, ny, nt) for a grid at spacing dx_m (dy_m),
sample k at two-way time k * dt_s (time zero at the antenna). Output: the image on the same x (y) positions
at the requested depths, (nx, nz) or (nx, ny, nz) float32, depth positive down from the ground surface.

For each output voxel (x, y, z) and each trace within the aperture the migration adds

    w(r, z) * d_aa(x_tr, y_tr, T(r, z))

where r is the horizontal distance voxel-trace and T = 2 t1 the two-way time of the ray antenna -> voxel:
- antenna height_m > 0 with ``refraction``: t1 from ``refracted_one_way_time_s`` (air at C0, Snell at the
  surface); without: straight rays at the ground velocity from the antenna (wrong when height_m > 0, kept
  to show it); height_m = 0: straight rays.
- aperture: r <= aperture_m, and the ray angle from vertical at the voxel (in the ground) theta <= max_angle_deg.
- weights (Schneider 1978; Yilmaz, Seismic Data Analysis, ch. 4, exploding reflector of velocity v/2):
      3D: w = dx dy cos(theta) / (pi v R),        traces pre-filtered by (-i omega), i.e. -d/dt
      2D: w = dx cos(theta) / sqrt(pi v R),       traces pre-filtered by the half derivative (-i omega)^1/2
  cos(theta) is the obliquity; R = v t1 is the spreading distance (the ray length for straight rays, the
  ground-equivalent length for refracted ones), floored at half a sample (v dt / 2) so that R = 0 stays
  finite. The rho (derivative) pre-filter is optional (rho_filter=False: raw traces).
- anti-aliasing (Lumley, Claerbout & Bevc 1994): d_aa is the trace smoothed by a triangle of half-length
  L = max(1, dT/dx * dx, dT/dy * dy) samples (the operator's time moveout from one trace to the next), read
  as a second difference of the twice-integrated trace S2 at T - L, T, T + L, divided by L^2, each read with
  linear interpolation. L = 1 is exactly linear interpolation of the trace. antialias=False reads the
  (pre-filtered) trace directly with linear interpolation.
- only voxel-trace pairs whose T lies inside the record, 0 <= T <= (nt - 1) dt, are added.

Speed. The grid is regular, so T, w and L depend only on the trace's offset in cells (a, b) and the depth
index: they are tabulated once per offset class (|a|, |b|) (and (|b|, |a|) merged when dx == dy) and the inner
loops do no sqrt or Newton. Within a class every member trace ((+-a, +-b), (+-b, +-a)) is read at the same
times with the same weights, and interpolation is linear, so the members (up to 8) are first summed into one
buffer (contiguous, vectorised adds) and the interpolated reads are done once per class: the result is the
same sum as the voxel-by-trace loop, up to float32 rounding. The work is split over output columns (x, y)
with prange; each column accumulates in float32 (about 100 to 300 class terms a voxel; the difference to the
float64 reference is of order 1e-6 of the image's peak, see tests/kernels/test_migration.py).
"""

import math

import numpy as np
import scipy.fft
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s

# --- argument checks shared by the migration kernels --------------------------------------------------------


def check_depth_axis(depth_m) -> np.ndarray:
    """``depth_m`` as a float64 1-D array of depths >= 0, finite and strictly increasing (ValueError if not)."""
    try:
        z = np.asarray(depth_m, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"depth_m: expected a 1-D array of depths in metres, could not convert: {exc}") from None
    if z.ndim != 1 or z.size < 1:
        raise ValueError(f"depth_m: expected a 1-D array of at least one depth, found shape {z.shape}")
    validate.check_finite(z, "depth_m")
    if z[0] < 0.0:
        raise ValueError(f"depth_m: expected depths >= 0 m (positive down from the ground surface), "
                         f"found depth_m[0] = {float(z[0])!r}")
    steps = np.diff(z)
    if steps.size and not np.all(steps > 0.0):
        i = int(np.argmax(~(steps > 0.0)))
        raise ValueError(f"depth_m: expected strictly increasing depths, found depth_m[{i}] = {float(z[i])!r} "
                         f">= depth_m[{i + 1}] = {float(z[i + 1])!r}")
    return np.ascontiguousarray(z)


def check_velocity(name: str, value) -> float:
    """A ground velocity in m/s: finite, > 0 and < C0 (ValueError naming ``name`` if not)."""
    return validate.float_in_range(name, value, 0.0, C0_MPS, lo_open=True, hi_open=True)


def check_height(value) -> float:
    """The antenna height above the ground in metres: finite and >= 0."""
    return validate.float_in_range("height_m", value, 0.0, math.inf)


def check_flag(name: str, value) -> bool:
    """``value`` as a bool; only True/False (or numpy booleans) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, found {value!r}")
    return bool(value)


def check_traces(data, ndim: int) -> np.ndarray:
    """``data`` as C-contiguous float32 (nx, nt) (ndim 2) or (nx, ny, nt) (ndim 3), finite, >= 2 samples."""
    a = validate.as_float32_traces(data, "data", min_samples=2)
    if a.ndim != ndim:
        shape = "(nx, n_samples)" if ndim == 2 else "(nx, ny, n_samples)"
        raise ValueError(f"data: expected a {ndim}-D array {shape}, found shape {a.shape}")
    return a


def check_migration_grid(data, ndim: int, dt_s, dx_m, dy_m, depth_m):
    """The arguments every migration shares, checked: (data (check_traces), dt_s, dx_m, dy_m (1.0 for a line,
    ndim 2), depth_m (check_depth_axis)); ValueError naming the argument."""
    a = check_traces(data, ndim)
    dt = validate.positive_float("dt_s", dt_s)
    dx = validate.positive_float("dx_m", dx_m)
    dy = validate.positive_float("dy_m", dy_m) if ndim == 3 else 1.0
    return a, dt, dx, dy, check_depth_axis(depth_m)


# --- trace pre-processing -----------------------------------------------------------------------------------


def rho_filter(traces: np.ndarray, dt_s: float, order: float) -> np.ndarray:
    """Traces (..., nt) filtered by (-i omega)^order along time (order 1: -d/dt, 0.5: the half derivative).

    The sign (-i omega with numpy's e^(-i omega t) forward transform) makes the images' polarity agree
    with the f-k migrations (sensorkit.kernels.stolt, phase_shift).

    Single-precision FFTs (scipy.fft) on a zero-padded length of at least 2 nt, so that the filter's tail
    does not wrap around into the record; float32 out. order 0 returns the traces as float32.
    """
    x = np.asarray(traces, dtype=np.float32)
    if order == 0:
        return x
    nt = x.shape[-1]
    n = scipy.fft.next_fast_len(2 * nt, real=True)
    omega = (2.0 * np.pi * np.fft.rfftfreq(n, dt_s)).astype(np.float32)
    spec = scipy.fft.rfft(x, n=n, axis=-1, workers=-1)
    spec *= ((-1j * omega) ** order).astype(np.complex64)
    return scipy.fft.irfft(spec, n=n, axis=-1, workers=-1)[..., :nt].astype(np.float32)


@njit(cache=True, parallel=True)
def _time_major_rows(x, pad_before, pad_after, integrate):
    """x (nx, ny, nt) -> (nx, pad_before + nt + pad_after, ny) float32, time-major rows for _stack.

    integrate: the twice-integrated trace S2 with S2[k+1] - 2 S2[k] + S2[k-1] = x[k - pad_before] (x zero
    in the padding; the running sum S1 has its mean removed before the second sum, which adds a linear
    function of k to S2 that every second difference ignores and keeps S2 small enough for float32).
    Otherwise the zero-padded trace itself.
    """
    nx, ny, nt = x.shape
    ns = pad_before + nt + pad_after
    out = np.zeros((nx, ns, ny), np.float32)
    for ix in prange(nx):
        s1 = np.zeros(ns)
        for iy in range(ny):
            if not integrate:
                for k in range(nt):
                    out[ix, pad_before + k, iy] = x[ix, iy, k]
                continue
            acc = 0.0
            total = 0.0
            for k in range(ns):
                kk = k - pad_before
                if 0 <= kk < nt:
                    acc += x[ix, iy, kk]
                s1[k] = acc
                total += acc
            mean = total / ns
            s2 = 0.0
            for k in range(ns):  # out[k] = S2[k - 1]
                out[ix, k, iy] = s2
                s2 += s1[k] - mean
    return out


# --- operator tables ----------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _one_way_time_s(r_m, height_m, depth_m, v_mps, refraction):
    if refraction:
        return refracted_one_way_time_s(r_m, height_m, depth_m, v_mps)
    zz = depth_m + height_m
    return math.sqrt(r_m * r_m + zz * zz) / v_mps


@njit(cache=True, parallel=True)
def _operator_tables(off_x_m, off_y_m, depth_m, v_mps, height_m, refraction, max_sin, aperture_m, dt_s, nt,
                     dx_m, dy_m, is_3d, antialias, t_tab, w_tab, half_tab, iz_lo, iz_hi):
    """Per offset class c and depth iz: two-way time T (samples), weight w (/ L^2 with antialias), half-length L.

    Valid depths (angle <= max, T <= nt - 1) are [iz_lo[c], iz_hi[c]) (empty when lo >= hi).
    """
    n_cls = off_x_m.shape[0]
    nz = depth_m.shape[0]
    for c in prange(n_cls):
        ax = abs(off_x_m[c])
        by = abs(off_y_m[c])
        r = math.sqrt(ax * ax + by * by)
        lo = nz
        hi = 0
        for iz in range(nz):
            t_tab[c, iz] = 0.0
            w_tab[c, iz] = 0.0
            half_tab[c, iz] = 1.0
            if r > aperture_m:
                continue
            z = depth_m[iz]
            t1 = _one_way_time_s(r, height_m, z, v_mps, refraction)
            T = 2.0 * t1 / dt_s
            # horizontal slowness p = dt1/dr (sin(theta_ground) = v p)
            if r == 0.0:
                p = 0.0
            elif not refraction or height_m == 0.0:
                zz = z + height_m
                p = r / (v_mps * math.sqrt(r * r + zz * zz))
            else:  # forward difference, relative error ~ d / R < 1e-7
                d = 1e-7 * max(r, 1e-3)
                p = (_one_way_time_s(r + d, height_m, z, v_mps, refraction) - t1) / d
            sin_t = min(v_mps * p, 1.0)
            if sin_t > max_sin or T > nt - 1:
                continue
            cos_t = math.sqrt(1.0 - sin_t * sin_t)
            R = max(v_mps * t1, 0.5 * v_mps * dt_s)
            if is_3d:
                w = dx_m * dy_m * cos_t / (math.pi * v_mps * R)
            else:
                w = dx_m * cos_t / math.sqrt(math.pi * v_mps * R)
            L = 1.0
            if antialias and r > 0.0:
                # two-way time moveout (s) per trace step along x and y: dT/dx dx = 2 p (x / r) dx
                mx = 2.0 * p * ax * dx_m / r
                my = 2.0 * p * by * dy_m / r if is_3d else 0.0
                L = max(1.0, max(mx, my) / dt_s)
                w /= L * L
            t_tab[c, iz] = T
            w_tab[c, iz] = w
            half_tab[c, iz] = L
            if iz < lo:
                lo = iz
            hi = iz + 1
        iz_lo[c] = lo
        iz_hi[c] = hi


def _offset_classes(nx, ny, dx_m, dy_m, aperture_m, is_3d):
    """Offset classes (a, b) >= 0 in cells (x, y) within the aperture, (b, a) merged into (a, b) when dx == dy.

    Returns off_x_m, off_y_m (n_cls,) float64; cls_a, cls_b (n_cls,) int64; cls_swap (n_cls,) bool (the class
    also holds the (+-b, +-a) members); members (n_members, 2) int32 (signed cell offsets) with ptr
    (n_cls + 1,) int64 for counting; na, nb the largest offsets. 2D lines (ny == 1) use the x offsets only.
    """
    na = min(nx - 1, int(math.floor(aperture_m / dx_m + 1e-9)))
    nb = min(ny - 1, int(math.floor(aperture_m / dy_m + 1e-9))) if is_3d else 0
    square = is_3d and dx_m == dy_m
    if square:  # a class (a, b), b <= a, also stands for (b, a): let a run over both axes' offsets
        na = nb = max(na, nb)
    off_x, off_y, cls_a, cls_b, cls_swap, members, ptr = [], [], [], [], [], [], [0]
    for a in range(na + 1):
        for b in range(nb + 1):
            if square and b > a:
                continue
            if math.hypot(a * dx_m, b * dy_m) > aperture_m * (1.0 + 1e-12):
                continue
            swap = square and a != b
            pairs = {(sa * a, sb * b) for sa in (-1, 1) for sb in (-1, 1)}
            if swap:
                pairs |= {(sb * b, sa * a) for sa in (-1, 1) for sb in (-1, 1)}
            off_x.append(a * dx_m)
            off_y.append(b * dy_m)
            cls_a.append(a)
            cls_b.append(b)
            cls_swap.append(swap)
            members.extend(sorted(pairs))
            ptr.append(len(members))
    return (np.array(off_x, np.float64), np.array(off_y, np.float64), np.array(cls_a, np.int64),
            np.array(cls_b, np.int64), np.array(cls_swap, np.bool_), np.array(members, np.int32).reshape(-1, 2),
            np.array(ptr, np.int64), na, nb)


# --- the stack ----------------------------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def _stack(traces, cls_a, cls_b, cls_swap, na, nb, iz_lo, iz_hi, s_lo, s_hi, t_tab, w_tab, half_tab, antialias,
           chunk, out):
    """Sum over offset classes of the weighted reads: traces (nx, ns, ny) time-major rows -> out (nx, ny, nz).

    One task per (x row, chunk of y). For the row x it forms P[a] = D[x + a] + D[x - a] (P[0] = D[x]) on the
    chunk's columns widened by nb on each side (zero outside the grid); the class (a, b) is then the sum of
    P[a] shifted by +-b along y (and of P[b] shifted by +-a when it holds the swapped members), formed in one
    long contiguous loop over (time, column) and read at the class's times for every column of the chunk at
    once. Unsigned flat indices keep Numba's negative-index checks out of the inner loops so that they vectorise.
    """
    nx, ns, ny = traces.shape
    nz = out.shape[2]
    n_cls = cls_a.shape[0]
    n_chunks = (ny + chunk - 1) // chunk
    two = np.float32(2.0)
    one = np.float32(1.0)
    for task in prange(nx * n_chunks):
        ix = task // n_chunks
        y0 = (task - ix * n_chunks) * chunk
        y1 = min(ny, y0 + chunk)
        nyc = y1 - y0
        wy = nyc + 2 * nb
        P = np.zeros((na + 1, ns, wy), np.float32)
        ya = max(0, y0 - nb)
        yb = min(ny, y1 + nb)
        c0 = ya - (y0 - nb)
        for a in range(na + 1):
            for sgn in (1, -1):
                jx = ix + sgn * a
                if (a == 0 and sgn == -1) or jx < 0 or jx >= nx:
                    continue
                src = traces[jx]
                dst = P[a]
                for k in range(ns):
                    s = src[k, ya:yb]
                    d = dst[k, c0:c0 + (yb - ya)]
                    for y in range(s.shape[0]):
                        d[y] += s[y]
        buf = np.empty((ns, wy), np.float32)
        bflat = buf.ravel()
        img = np.zeros((nz, nyc), np.float32)
        imf = img.ravel()
        for c in range(n_cls):
            lo = iz_lo[c]
            hi = iz_hi[c]
            if lo >= hi:
                continue
            a = cls_a[c]
            b = cls_b[c]
            if b == 0 and not cls_swap[c]:
                sf = P[a].ravel()
            else:
                # rows s_lo..s_hi-1, the chunk's columns nb..nb+nyc-1 of each row
                pa = P[a].ravel()
                pb = P[b if b > 0 else 0].ravel()
                ub = np.uint64(b)
                ua = np.uint64(a)
                swap = cls_swap[c]
                for k in range(s_lo[c], s_hi[c]):
                    base = np.uint64(k * wy + nb)
                    if b > 0 and swap:
                        for y in range(np.uint64(nyc)):
                            f = base + y
                            bflat[f] = pa[f + ub] + pa[f - ub] + pb[f + ua] + pb[f - ua]
                    elif b > 0:
                        for y in range(np.uint64(nyc)):
                            f = base + y
                            bflat[f] = pa[f + ub] + pa[f - ub]
                    else:  # (a, 0) with its swapped members (0, +-a)
                        for y in range(np.uint64(nyc)):
                            f = base + y
                            bflat[f] = pa[f] + pb[f + ua] + pb[f - ua]
                sf = bflat
            unyc = np.uint64(nyc)
            uwy = np.uint64(wy)
            tt = t_tab[c]
            ww = w_tab[c]
            hh = half_tab[c]
            for iz in range(lo, hi):
                t = tt[iz]
                w = ww[iz]
                ro = np.uint64(iz * nyc)
                ib = np.int64(t)
                fb = t - np.float32(ib)
                pb0 = np.uint64(ib * wy + nb)
                pb1 = pb0 + uwy
                if antialias:
                    L = hh[iz]
                    ta = t - L
                    ia = np.int64(ta)
                    fa = ta - np.float32(ia)
                    tc = t + L
                    ic = np.int64(tc)
                    fc = tc - np.float32(ic)
                    wa0 = w * (one - fa)
                    wa1 = w * fa
                    wb0 = -two * w * (one - fb)
                    wb1 = -two * w * fb
                    wc0 = w * (one - fc)
                    wc1 = w * fc
                    pa0 = np.uint64(ia * wy + nb)
                    pa1 = pa0 + uwy
                    pc0 = np.uint64(ic * wy + nb)
                    pc1 = pc0 + uwy
                    for y in range(unyc):
                        imf[ro + y] += (wa0 * sf[pa0 + y] + wa1 * sf[pa1 + y] + wb0 * sf[pb0 + y]
                                        + wb1 * sf[pb1 + y] + wc0 * sf[pc0 + y] + wc1 * sf[pc1 + y])
                else:
                    wb0 = w * (one - fb)
                    wb1 = w * fb
                    for y in range(unyc):
                        imf[ro + y] += wb0 * sf[pb0 + y] + wb1 * sf[pb1 + y]
        for y in range(nyc):
            for iz in range(nz):
                out[ix, y0 + y, iz] = img[iz, y]


@njit(cache=True, parallel=True)
def _count_updates(nx, ny, members, ptr, iz_lo, iz_hi):
    per_column = np.zeros(nx * ny, np.int64)
    n_cls = ptr.shape[0] - 1
    for col in prange(nx * ny):
        ix = col // ny
        iy = col - ix * ny
        s = 0
        for c in range(n_cls):
            n_valid = iz_hi[c] - iz_lo[c]
            if n_valid <= 0:
                continue
            for m in range(ptr[c], ptr[c + 1]):
                jx = ix + members[m, 0]
                jy = iy + members[m, 1]
                if 0 <= jx < nx and 0 <= jy < ny:
                    s += n_valid
        per_column[col] = s
    return per_column.sum()


class _Plan:
    """Offset classes and operator tables of one migration geometry (see _plan)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _plan(nx, ny, nt, dt_s, dx_m, dy_m, depth_m, v, height_m, refraction, aperture_m, max_angle_deg,
          antialias, is_3d) -> _Plan:
    """Tables for data (nx, ny, nt) (2D: ny == 1), with the classes laid out for _stack's (row, column) grid.

    _stack runs over x rows and vectorises along y; a 2D line is given to it as one row along y.
    """
    off_x, off_y, cls_a, cls_b, cls_swap, members, ptr, na, nb = _offset_classes(nx, ny, dx_m, dy_m, aperture_m,
                                                                                 is_3d)
    n_cls, nz = off_x.size, depth_m.size
    t_tab = np.empty((n_cls, nz), np.float64)
    w_tab = np.empty((n_cls, nz), np.float64)
    half_tab = np.empty((n_cls, nz), np.float64)
    iz_lo = np.empty(n_cls, np.int64)
    iz_hi = np.empty(n_cls, np.int64)
    max_sin = math.sin(math.radians(max_angle_deg)) * (1.0 + 1e-12)
    _operator_tables(off_x, off_y, depth_m, v, height_m, bool(refraction and height_m > 0.0), max_sin,
                     aperture_m, dt_s, nt, dx_m, dy_m if is_3d else 1.0, is_3d, antialias,
                     t_tab, w_tab, half_tab, iz_lo, iz_hi)
    l_max = float(half_tab.max()) if antialias and half_tab.size else 0.0
    pad_before = int(math.ceil(l_max)) + 2
    pad_after = int(math.ceil(l_max)) + 3
    t32 = (t_tab + pad_before).astype(np.float32)
    w32 = w_tab.astype(np.float32)
    h32 = half_tab.astype(np.float32)
    # sample window each class reads, from the float32 tables with the kernel's float32 arithmetic, one
    # sample of margin on each side: [floor(min(T - L)) - 1, floor(max(T + L)) + 3)
    s_lo = np.zeros(n_cls, np.int64)
    s_hi = np.zeros(n_cls, np.int64)
    for c in range(n_cls):
        lo, hi = iz_lo[c], iz_hi[c]
        if lo < hi:
            hw = h32[c, lo:hi] if antialias else np.float32(0.0)
            s_lo[c] = max(1, int(np.floor(np.min(t32[c, lo:hi] - hw))) - 1)
            s_hi[c] = min(pad_before + nt + pad_after, int(np.floor(np.max(t32[c, lo:hi] + hw))) + 3)
    if not is_3d:  # the line runs along _stack's y
        cls_a, cls_b, na, nb = np.zeros_like(cls_a), cls_a, 0, na
    return _Plan(members=members, ptr=ptr, cls_a=cls_a, cls_b=cls_b, cls_swap=cls_swap, na=na, nb=nb,
                 iz_lo=iz_lo, iz_hi=iz_hi, s_lo=s_lo, s_hi=s_hi, t_tab=t32, w_tab=w32, half_tab=h32,
                 pad_before=pad_before, pad_after=pad_after)


def _check_common(data, ndim, dt_s, dx_m, dy_m, depth_m, velocity_mps, height_m, aperture_m, max_angle_deg,
                  **flags):
    a, dt, dx, dy, z = check_migration_grid(data, ndim, dt_s, dx_m, dy_m, depth_m)
    v = check_velocity("velocity_mps", velocity_mps)
    h = check_height(height_m)
    ap = validate.positive_float("aperture_m", aperture_m)
    ang = validate.float_in_range("max_angle_deg", max_angle_deg, 0.0, 90.0, lo_open=True)
    for name, flag in flags.items():
        check_flag(name, flag)
    return a, dt, dx, dy, z, v, h, ap, ang


def _migrate(a3, dt, dx, dy, z, v, h, refraction, ap, ang, antialias, rho, is_3d):
    """a3 (nx, ny, nt) float32 (2D: ny == 1) -> image (nx, ny, nz) float32."""
    nx, ny, nt = a3.shape
    plan = _plan(nx, ny, nt, dt, dx, dy, z, v, h, refraction, ap, ang, antialias, is_3d)
    x = rho_filter(a3, dt, (1.0 if is_3d else 0.5) if rho else 0.0)
    if not is_3d:
        x = x.reshape(1, nx, nt)  # the line as one row along _stack's y
    rows = _time_major_rows(np.ascontiguousarray(x), plan.pad_before, plan.pad_after, bool(antialias))
    chunk = (ny if ny <= 256 else 128) if is_3d else 128
    out = np.empty((rows.shape[0], rows.shape[2], z.size), np.float32)
    _stack(rows, plan.cls_a, plan.cls_b, plan.cls_swap, plan.na, plan.nb, plan.iz_lo, plan.iz_hi, plan.s_lo,
           plan.s_hi, plan.t_tab, plan.w_tab, plan.half_tab, bool(antialias), chunk, out)
    return out if is_3d else out[0][:, None, :]


def kirchhoff_migrate_3d(data, *, dt_s: float, dx_m: float, dy_m: float, depth_m, velocity_mps: float,
                         height_m: float = 0.0, refraction: bool = True, aperture_m: float = 0.5,
                         max_angle_deg: float = 60.0, antialias: bool = True, rho_filter: bool = True) -> np.ndarray:
    """Kirchhoff migration of a grid (nx, ny, nt) -> image (nx, ny, nz) float32 at depths depth_m (m).

    velocity_mps: ground velocity (m/s); height_m: antenna height above the ground (m); aperture_m: largest
    horizontal distance voxel-trace (m); max_angle_deg: largest ray angle from vertical at the voxel.
    See the module docstring for the weights, the anti-aliasing and the refraction.
    """
    a, dt, dx, dy, z, v, h, ap, ang = _check_common(data, 3, dt_s, dx_m, dy_m, depth_m, velocity_mps,
                                                    height_m, aperture_m, max_angle_deg, refraction=refraction,
                                                    antialias=antialias, rho_filter=rho_filter)
    return _migrate(a, dt, dx, dy, z, v, h, refraction, ap, ang, antialias, rho_filter, True)


def kirchhoff_migrate_2d(data, *, dt_s: float, dx_m: float, depth_m, velocity_mps: float, height_m: float = 0.0,
                         refraction: bool = True, aperture_m: float = 0.5, max_angle_deg: float = 60.0,
                         antialias: bool = True, rho_filter: bool = True) -> np.ndarray:
    """Kirchhoff migration of a line (nx, nt) -> image (nx, nz) float32 at depths depth_m (m), 2D weights."""
    a, dt, dx, _, z, v, h, ap, ang = _check_common(data, 2, dt_s, dx_m, 1.0, depth_m, velocity_mps,
                                                   height_m, aperture_m, max_angle_deg, refraction=refraction,
                                                   antialias=antialias, rho_filter=rho_filter)
    out = _migrate(a[:, None, :], dt, dx, 1.0, z, v, h, refraction, ap, ang, antialias, rho_filter, False)
    return out[:, 0, :]


def kirchhoff_update_count(shape, *, dt_s: float, dx_m: float, dy_m: float, depth_m, velocity_mps: float,
                           height_m: float = 0.0, refraction: bool = True, aperture_m: float = 0.5,
                           max_angle_deg: float = 60.0) -> int:
    """Number of voxel-trace updates of a 3D migration of data shaped ``shape`` = (nx, ny, nt).

    An update is a (voxel, trace) pair inside the aperture and angle whose two-way time lies in the record.
    """
    nx, ny, nt = (int(s) for s in shape)
    z = check_depth_axis(depth_m)
    plan = _plan(nx, ny, nt, float(dt_s), float(dx_m), float(dy_m), z, check_velocity("velocity_mps", velocity_mps),
                 check_height(height_m), refraction, float(aperture_m), float(max_angle_deg), False, True)
    return int(_count_updates(nx, ny, plan.members, plan.ptr, plan.iz_lo, plan.iz_hi))
