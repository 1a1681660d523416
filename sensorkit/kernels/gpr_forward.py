"""The hot loop of the synthetic GPR forward model: sum scaled, delayed wavelets into traces.

Inputs are plain arrays (built by sensorkit.synth.gpr from a scene):

antennas (n_traces, 5) float64, one row per trace: tx_x_m, tx_y_m, rx_x_m, rx_y_m, height_m (transmitter and
    receiver at the same height above a flat ground surface, z = 0).
elements (n_elements, 10) float64, one row per contribution (columns named in ELEMENT_COLUMNS):
    x_m, y_m, depth_m, normal_x, normal_y, normal_z, amplitude, mode, v_mps, alpha_np_per_m.

Each element adds g * w(t - t_arrival) (or g * dw/dt for facets) to every trace, over the samples where the
wavelet window covers it only. Sample k lies at two-way time k * dt_s - time_zero_s. Per antenna leg
(transmitter -> point, point -> receiver) the ray is refracted at the surface when height_m > 0
(sensorkit.kernels.traveltime.refracted_one_way_time_s, the geometry migration uses too):

- t_leg = refracted_one_way_time_s(r, h, z, v); when h > 0 the kernel evaluates it at r -+ d (d = 1e-6 (h + z))
  and takes their mean (equal to t_leg within d**2 t''/2, ~1e-21 s) and their slope, the ray parameter
  p = dt_leg/dr, which gives
  sin(theta_ground) = p v, the ground path L_g = z / cos(theta_ground), the refraction point
  a = r - z tan(theta_ground) and the air path L_a = sqrt(h**2 + a**2).
- modes (element point P, ray lengths L = L_a + L_g per leg, legs 1 = transmitter and 2 = receiver):
    0 point:   g = A / (L1 L2),                         w(t - t1 - t2)
    1 facet:   g = A (cos_i + cos_s) / 2 / (L1 L2),     dw/dt(t - t1 - t2); A = r dArea / (2 pi v_local);
               skipped when the facet faces away from either antenna (physical optics, Kirchhoff)
    2 flat:    a horizontal mirror at depth z: P is the transmitter-receiver midpoint, g = A / (L1 + L2)
               (image source), w(t - t1 - t2); at z = 0 (the ground surface) only on traces with height_m > 0
    3 direct:  transmitter -> receiver straight, d = |tx - rx|: t = d / v, g = A exp(-alpha d) / d
    4 ground:  like 3, only on traces with height_m == 0 (the ground wave of a ground-coupled antenna)
- modes 0-2 also carry exp(-alpha (L_g1 + L_g2)) (attenuation in the ground), (cos_1 cos_2) ** p (antenna
  pattern: cos of the departure angle from vertical of each leg, p = pattern_cos_power) and, when
  height_m > 0 and z > 0, the air-ground two-way transmission factor.
- spreading distances are floored at min_range_m (near field); with spreading=False no 1/L factor is applied.

Float64 time and amplitude math, float64 accumulation per trace, float32 output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s

ELEMENT_COLUMNS = ("x_m", "y_m", "depth_m", "normal_x", "normal_y", "normal_z", "amplitude", "mode", "v_mps",
                   "alpha_np_per_m")
ANTENNA_COLUMNS = ("tx_x_m", "tx_y_m", "rx_x_m", "rx_y_m", "height_m")

MODE_POINT = 0
MODE_FACET = 1
MODE_FLAT = 2
MODE_DIRECT = 3
MODE_GROUND_WAVE = 4
N_MODES = 5

WAVELET_RICKER = 0
WAVELET_GAUSSIAN_DERIVATIVE = 1
WAVELET_TABLE = 2


@dataclass
class ForwardSettings:
    """Sampling, wavelet and physics switches of one forward run.

    wavelet_code: 0 Ricker, 1 Gaussian derivative (analytic, centre_frequency_hz), 2 table (wavelet_table,
    its derivative wavelet_dtable in 1/s, sampled at table_dt_s, arrival at table_t0_s into the table).
    tau_lo_s, tau_hi_s: the window of the wavelet around its arrival (it is taken as zero outside).
    """

    n_samples: int
    dt_s: float
    centre_frequency_hz: float
    tau_lo_s: float
    tau_hi_s: float
    wavelet_code: int = WAVELET_RICKER
    wavelet_table: np.ndarray = field(default_factory=lambda: np.zeros(2))
    wavelet_dtable: np.ndarray = field(default_factory=lambda: np.zeros(2))
    table_dt_s: float = 1.0
    table_t0_s: float = 0.0
    time_zero_s: float = 0.0
    air_ground_two_way: float = 1.0
    pattern_cos_power: float = 0.0
    spreading: bool = True
    min_range_m: float = 0.02


# --------------------------------------------------------------------------------------------- Numba kernel

@njit(cache=True, inline="always")
def _wavelet_value(tau, derivative, code, f_hz, table, dtable, table_dt, table_t0):
    if code == WAVELET_RICKER:
        a = (math.pi * f_hz) ** 2
        x = a * tau * tau
        e = math.exp(-x)
        if derivative:
            return 2.0 * a * tau * (2.0 * x - 3.0) * e
        return (1.0 - 2.0 * x) * e
    if code == WAVELET_GAUSSIAN_DERIVATIVE:
        b = 2.0 * (math.pi * f_hz) ** 2
        s = math.sqrt(2.0 * math.e * b)
        e = math.exp(-b * tau * tau)
        if derivative:
            return -s * (1.0 - 2.0 * b * tau * tau) * e
        return -s * tau * e
    x = (tau + table_t0) / table_dt
    n = table.shape[0]
    if x < 0.0 or x > n - 1:
        return 0.0
    i = int(x)
    if i >= n - 1:
        i = n - 2
    fr = x - i
    if derivative:
        return dtable[i] * (1.0 - fr) + dtable[i + 1] * fr
    return table[i] * (1.0 - fr) + table[i + 1] * fr


@njit(cache=True, inline="always")
def _leg(ax, ay, h, px, py, z, v):
    """(t_s, L_air, L_ground, cos_departure, ux, uy, uz) of the ray antenna (ax, ay, -h) -> point (px, py, z).

    (ux, uy, uz) is the unit vector at the point pointing back along the arriving ray (z down).
    """
    dx = ax - px
    dy = ay - py
    r = math.sqrt(dx * dx + dy * dy)
    if h > 0.0 and z > 0.0:
        # t(r -+ d): their mean is t(r) to d**2 t''/2 (~1e-21 s), their slope the ray parameter p = dt/dr
        d = 1e-6 * (h + z)
        t_minus = refracted_one_way_time_s(r - d, h, z, v)
        t_plus = refracted_one_way_time_s(r + d, h, z, v)
        t = 0.5 * (t_minus + t_plus)
        sin_g = min(max((t_plus - t_minus) / (2.0 * d) * v, 0.0), 1.0)
        cos_g = max(math.sqrt(1.0 - sin_g * sin_g), 1e-12)
        l_g = z / cos_g
        a = max(r - z * sin_g / cos_g, 0.0)
        l_a = math.sqrt(h * h + a * a)
        cos_dep = h / l_a
    elif h > 0.0:  # a point on the surface: a straight path in air
        t = refracted_one_way_time_s(r, h, z, v)
        l_g = 0.0
        l_a = math.sqrt(r * r + h * h)
        sin_g = r / l_a
        cos_g = h / l_a
        cos_dep = cos_g
    else:
        t = refracted_one_way_time_s(r, h, z, v)
        l_a = 0.0
        l_g = math.sqrt(r * r + z * z)
        if l_g > 0.0:
            sin_g = r / l_g
            cos_g = z / l_g
        else:
            sin_g = 0.0
            cos_g = 1.0
        cos_dep = cos_g
    ux = 0.0
    uy = 0.0
    if r > 0.0:
        ux = dx / r * sin_g
        uy = dy / r * sin_g
    return t, l_a, l_g, cos_dep, ux, uy, -cos_g


@njit(cache=True, parallel=True)
def _render_core(out, antennas, elements, dt_s, time_zero_s, code, f_hz, table, dtable, table_dt, table_t0,
                 tau_lo, tau_hi, air_ground_two_way, cos_power, spreading, min_range):
    n_traces, n_samples = out.shape
    n_elements = elements.shape[0]
    t_last = (n_samples - 1) * dt_s
    for i in prange(n_traces):
        acc = np.zeros(n_samples)
        tx_x = antennas[i, 0]
        tx_y = antennas[i, 1]
        rx_x = antennas[i, 2]
        rx_y = antennas[i, 3]
        h = antennas[i, 4]
        monostatic = tx_x == rx_x and tx_y == rx_y
        for j in range(n_elements):
            mode = int(elements[j, 7])
            amp = elements[j, 6]
            v = elements[j, 8]
            alpha = elements[j, 9]
            derivative = False
            if mode == MODE_DIRECT or mode == MODE_GROUND_WAVE:
                if mode == MODE_GROUND_WAVE and h > 0.0:
                    continue
                d = math.sqrt((tx_x - rx_x) ** 2 + (tx_y - rx_y) ** 2)
                t = d / v
                g = amp * math.exp(-alpha * d)
                if spreading:
                    g /= max(d, min_range)
            else:
                z = elements[j, 2]
                if mode == MODE_FLAT and z <= 0.0 and h <= 0.0:
                    continue  # no surface reflection without an air gap
                if mode == MODE_FLAT:
                    px = 0.5 * (tx_x + rx_x)
                    py = 0.5 * (tx_y + rx_y)
                else:
                    px = elements[j, 0]
                    py = elements[j, 1]
                # skip elements whose echo starts after the record: each leg takes at least its straight
                # length / c0 and at least h / c0 + z / v (a cheap bound, before the refraction solves)
                s1 = math.sqrt((tx_x - px) ** 2 + (tx_y - py) ** 2 + (h + z) ** 2)
                s2 = math.sqrt((rx_x - px) ** 2 + (rx_y - py) ** 2 + (h + z) ** 2)
                t_min = max((s1 + s2) / C0_MPS, 2.0 * (h / C0_MPS + z / v))
                if t_min + time_zero_s + tau_lo > t_last:
                    continue
                t1, la1, lg1, c1, ux1, uy1, uz1 = _leg(tx_x, tx_y, h, px, py, z, v)
                if monostatic:
                    t2, la2, lg2, c2, ux2, uy2, uz2 = t1, la1, lg1, c1, ux1, uy1, uz1
                else:
                    t2, la2, lg2, c2, ux2, uy2, uz2 = _leg(rx_x, rx_y, h, px, py, z, v)
                t = t1 + t2
                g = amp * math.exp(-alpha * (lg1 + lg2))
                if h > 0.0 and z > 0.0:
                    g *= air_ground_two_way
                if cos_power != 0.0:
                    g *= (c1 * c2) ** cos_power
                if spreading:
                    if mode == MODE_FLAT:
                        g /= max(la1 + lg1 + la2 + lg2, min_range)
                    else:
                        g /= max(la1 + lg1, min_range) * max(la2 + lg2, min_range)
                if mode == MODE_FACET:
                    cos_i = elements[j, 3] * ux1 + elements[j, 4] * uy1 + elements[j, 5] * uz1
                    cos_s = elements[j, 3] * ux2 + elements[j, 4] * uy2 + elements[j, 5] * uz2
                    if cos_i <= 0.0 or cos_s <= 0.0:
                        continue
                    g *= 0.5 * (cos_i + cos_s)
                    derivative = True
            if g == 0.0:
                continue
            t_arrival = t + time_zero_s  # time after sample 0
            k_lo = math.ceil((t_arrival + tau_lo) / dt_s)
            k_hi = math.floor((t_arrival + tau_hi) / dt_s)
            if k_hi < 0 or k_lo > n_samples - 1:
                continue
            k0 = max(int(k_lo), 0)
            k1 = min(int(k_hi), n_samples - 1)
            for k in range(k0, k1 + 1):
                acc[k] += g * _wavelet_value(k * dt_s - t_arrival, derivative, code, f_hz, table, dtable,
                                             table_dt, table_t0)
        for k in range(n_samples):
            out[i, k] = acc[k]


# --------------------------------------------------------------------------------------------- wrapper

def _check_array(name: str, a, columns: tuple) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a float array (n, {len(columns)}), could not convert: {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != len(columns):
        raise ValueError(f"{name}: expected shape (n, {len(columns)}) with columns {', '.join(columns)}, "
                         f"found shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: expected finite values, found {arr[row, col]} in row {row}, column "
                         f"{columns[col]} ({int(bad.sum())} non-finite)")
    return np.ascontiguousarray(arr)


def _check_settings(s: ForwardSettings) -> None:
    if isinstance(s.n_samples, bool) or not isinstance(s.n_samples, (int, np.integer)) or s.n_samples < 1:
        raise ValueError(f"n_samples: expected an integer >= 1, found {s.n_samples!r}")
    for name in ("dt_s", "centre_frequency_hz", "table_dt_s"):
        value = getattr(s, name)
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name}: expected a finite number > 0, found {value!r}")
    for name in ("tau_lo_s", "tau_hi_s", "table_t0_s", "time_zero_s", "pattern_cos_power"):
        if not np.isfinite(getattr(s, name)):
            raise ValueError(f"{name}: expected a finite number, found {getattr(s, name)!r}")
    if not s.tau_lo_s <= s.tau_hi_s:
        raise ValueError(f"tau_lo_s, tau_hi_s: expected a window tau_lo_s <= tau_hi_s, found "
                         f"{s.tau_lo_s!r}, {s.tau_hi_s!r}")
    if s.wavelet_code not in (WAVELET_RICKER, WAVELET_GAUSSIAN_DERIVATIVE, WAVELET_TABLE):
        raise ValueError(f"wavelet_code: expected 0 (Ricker), 1 (Gaussian derivative) or 2 (table), "
                         f"found {s.wavelet_code!r}")
    if not (np.isfinite(s.air_ground_two_way) and 0.0 <= s.air_ground_two_way <= 1.0):
        raise ValueError(f"air_ground_two_way: expected a transmission factor in [0, 1], found "
                         f"{s.air_ground_two_way!r}")
    if not (np.isfinite(s.min_range_m) and s.min_range_m > 0):
        raise ValueError(f"min_range_m: expected a finite number > 0, found {s.min_range_m!r}")
    table = np.asarray(s.wavelet_table)
    dtable = np.asarray(s.wavelet_dtable)
    if table.ndim != 1 or table.size < 2 or dtable.shape != table.shape:
        raise ValueError(f"wavelet_table, wavelet_dtable: expected two 1-D arrays of the same length >= 2, "
                         f"found shapes {table.shape}, {dtable.shape}")
    if not (np.all(np.isfinite(table)) and np.all(np.isfinite(dtable))):
        raise ValueError("wavelet_table, wavelet_dtable: expected finite values")


def _check_inputs(antennas, elements, settings: ForwardSettings) -> tuple[np.ndarray, np.ndarray]:
    _check_settings(settings)
    ant = _check_array("antennas", antennas, ANTENNA_COLUMNS)
    el = _check_array("elements", elements, ELEMENT_COLUMNS)
    if ant.shape[0] < 1:
        raise ValueError(f"antennas: expected at least one trace, found shape {ant.shape}")
    if (ant[:, 4] < 0).any():
        i = int(np.argmax(ant[:, 4] < 0))
        raise ValueError(f"antennas: expected height_m >= 0 (above the ground), found {ant[i, 4]} for trace {i}")
    if el.shape[0]:
        modes = el[:, 7]
        bad = (modes != np.round(modes)) | (modes < 0) | (modes >= N_MODES)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"elements: expected mode 0-{N_MODES - 1}, found {modes[i]} in row {i}")
        v = el[:, 8]
        bad = (v <= 0) | (v > C0_MPS * (1 + 1e-12))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"elements: expected v_mps in (0, c0] (eps_r >= 1), found {v[i]} m/s in row {i}")
        for col, what in ((2, "depth_m >= 0"), (9, "alpha_np_per_m >= 0")):
            bad = el[:, col] < 0
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"elements: expected {what}, found {el[i, col]} in row {i}")
    return ant, el


def render_traces(antennas, elements, settings: ForwardSettings) -> np.ndarray:
    """Synthetic traces (n_traces, n_samples) float32: the sum of every element's wavelet (module docstring)."""
    ant, el = _check_inputs(antennas, elements, settings)
    out = np.zeros((ant.shape[0], int(settings.n_samples)), dtype=np.float32)
    _render_core(out, ant, el, float(settings.dt_s), float(settings.time_zero_s), int(settings.wavelet_code),
                 float(settings.centre_frequency_hz), np.ascontiguousarray(settings.wavelet_table, np.float64),
                 np.ascontiguousarray(settings.wavelet_dtable, np.float64), float(settings.table_dt_s),
                 float(settings.table_t0_s), float(settings.tau_lo_s), float(settings.tau_hi_s),
                 float(settings.air_ground_two_way), float(settings.pattern_cos_power), bool(settings.spreading),
                 float(settings.min_range_m))
    return out


# --------------------------------------------------------------------------------------------- NumPy reference

def _refraction_point_reference(r, h, z, v):
    """Refraction points a (m from the antenna's foot) by bisection on Snell's law, vectorised (r, h arrays)."""
    lo = np.zeros_like(r)
    hi = r.copy()
    for _ in range(64):  # the bracket [0, r] shrinks to r * 2**-64
        a = 0.5 * (lo + hi)
        f = a / (C0_MPS * np.sqrt(h * h + a * a)) - (r - a) / (v * np.sqrt(z * z + (r - a) ** 2))
        hi = np.where(f > 0, a, hi)
        lo = np.where(f > 0, lo, a)
    return 0.5 * (lo + hi)


def _leg_reference(ax, ay, h, px, py, z, v):
    """Vectorised over traces: (t_s, L_air, L_ground, cos_departure, u (n, 3)) from the refraction point."""
    dx, dy = ax - px, ay - py
    r = np.hypot(dx, dy)
    if z > 0:
        a = np.where(h > 0, _refraction_point_reference(r, h, z, v), 0.0)
    else:
        a = np.where(h > 0, r, 0.0)  # a point on the surface: all in air, or all 'ground' when h == 0
    l_a = np.hypot(h, a)
    b = r - a
    l_g = np.hypot(z, b)
    t = l_a / C0_MPS + l_g / v
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_dep = np.where(h > 0, h / l_a, np.where(l_g > 0, z / l_g, 1.0))
        # direction of the arriving ray at the point: the ground leg, or the air leg for a point on the surface
        seg_h = np.where(l_g > 0, b, a)
        seg_len = np.where(l_g > 0, l_g, l_a)
        sin_g = np.where(seg_len > 0, seg_h / seg_len, 0.0)
        cos_g = np.where(seg_len > 0, np.where(l_g > 0, z, h) / seg_len, 1.0)
        ux = np.where(r > 0, dx / r, 0.0) * sin_g
        uy = np.where(r > 0, dy / r, 0.0) * sin_g
    return t, l_a, l_g, cos_dep, np.stack([ux, uy, -cos_g], axis=1)


def render_traces_reference(antennas, elements, settings: ForwardSettings) -> np.ndarray:
    """Plain NumPy version of render_traces (float64 result), vectorised over traces; slow, for tests."""
    from sensorkit.synth.wavelets import gaussian_derivative, ricker  # the documented NumPy formulas

    ant, el = _check_inputs(antennas, elements, settings)
    s = settings
    n = ant.shape[0]
    k = np.arange(int(s.n_samples), dtype=np.float64)
    table = np.asarray(s.wavelet_table, dtype=np.float64)
    dtable = np.asarray(s.wavelet_dtable, dtype=np.float64)
    table_grid = np.arange(table.size) * s.table_dt_s - s.table_t0_s

    def wavelet(tau, derivative):
        if s.wavelet_code == WAVELET_RICKER:
            return ricker(tau, s.centre_frequency_hz, derivative)
        if s.wavelet_code == WAVELET_GAUSSIAN_DERIVATIVE:
            return gaussian_derivative(tau, s.centre_frequency_hz, derivative)
        return np.interp(tau, table_grid, dtable if derivative else table, left=0.0, right=0.0)

    tx_x, tx_y, rx_x, rx_y, h = (ant[:, c] for c in range(5))
    out = np.zeros((n, int(s.n_samples)))
    for x, y, z, nx, ny, nz, amp, mode, v, alpha in el:
        mode = int(mode)
        derivative = mode == MODE_FACET
        if mode in (MODE_DIRECT, MODE_GROUND_WAVE):
            d = np.hypot(tx_x - rx_x, tx_y - rx_y)
            t = d / v
            g = amp * np.exp(-alpha * d)
            if s.spreading:
                g = g / np.maximum(d, s.min_range_m)
            if mode == MODE_GROUND_WAVE:
                g = np.where(h > 0, 0.0, g)
        else:
            px = 0.5 * (tx_x + rx_x) if mode == MODE_FLAT else np.full(n, x)
            py = 0.5 * (tx_y + rx_y) if mode == MODE_FLAT else np.full(n, y)
            t1, la1, lg1, c1, u1 = _leg_reference(tx_x, tx_y, h, px, py, z, v)
            t2, la2, lg2, c2, u2 = _leg_reference(rx_x, rx_y, h, px, py, z, v)
            t = t1 + t2
            g = amp * np.exp(-alpha * (lg1 + lg2))
            g = np.where((h > 0) & (z > 0), g * s.air_ground_two_way, g)
            g = g * (c1 * c2) ** s.pattern_cos_power
            if s.spreading:
                if mode == MODE_FLAT:
                    g = g / np.maximum(la1 + lg1 + la2 + lg2, s.min_range_m)
                else:
                    g = g / (np.maximum(la1 + lg1, s.min_range_m) * np.maximum(la2 + lg2, s.min_range_m))
            if mode == MODE_FLAT and z <= 0:
                g = np.where(h > 0, g, 0.0)
            if mode == MODE_FACET:
                normal = np.array([nx, ny, nz])
                cos_i, cos_s = u1 @ normal, u2 @ normal
                g = np.where((cos_i > 0) & (cos_s > 0), g * 0.5 * (cos_i + cos_s), 0.0)
        tau = k[None, :] * s.dt_s - (t + s.time_zero_s)[:, None]
        inside = (tau >= s.tau_lo_s) & (tau <= s.tau_hi_s)
        out += np.where(inside, g[:, None] * wavelet(tau, derivative), 0.0)
    return out
