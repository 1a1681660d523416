"""Ground velocity from GPR data: diffraction hyperbolae in lines or cubes, and CMP/WARR velocity panels.

estimate_velocity_line  traces (n_traces, n_samples) of one line -> VelocityEstimate
estimate_velocity_cube  a GprCube (lines along x: each y column a line) -> VelocityEstimate
semblance_velocity      a CMP/WARR gather at known offsets -> (semblance panel (n_v, n_t), best velocity)

The automatic estimate (hyperbola semblance):
1. candidate apexes: local maxima of the envelope, 1.5 dominant periods after time zero or later and two
   periods before the end or earlier, at least a dominant period and a wavelength (at the middle velocity) apart, above
   max(3 % of the strongest, 2 times the median envelope); the strongest max_apexes (per line) are kept;
2. for each apex and each candidate velocity, the semblance of the diffraction hyperbola through it
   (sensorkit.kernels.semblance.hyperbola_semblance: window of one dominant period, aperture of the depth at
   the middle velocity times tan 60 degrees and at least 8 traces, at most MAX_TRACES traces read and at least
   8 holding the whole window), in two
   passes: N_COARSE velocities with the apex moved by up to half a period in time and half a wavelength
   along the line (at least one trace), 7 steps each, to place it precisely, then all N_VELOCITIES velocities
   around that apex (+-1/12 period, +- half a step along the line);
3. an apex counts if its semblance curve peaks inside the scanned range, at least min_semblance, and falls
   to 0.9 of its peak or less at both ends of the range (flat layers and flanks peak at the fastest velocity,
   narrow vertical ringing at the slowest, and neither shows a clear maximum between), and reaches at least
   twice the semblance along the nearly flat curve of velocity c through the same apex (flat layers); the
   curves of the counted apexes, each weighted by its peak times its envelope amplitude, are summed and the
   velocity is the sum's maximum (refined by a parabola through the three best grid points).
confidence (0..1) = the weighted fraction of counted apexes whose own best velocity lies within 5 % of the
estimate, times their weighted mean peak semblance, times n / (n + 1) for n such agreeing apexes (one
hyperbola alone gives at most 0.5). Velocity and eps_r are related by v = c / sqrt(eps_r).

The hyperbolae are those of point diffractors: the echo of a round object of radius R (pipe, sphere) comes
from its top and is flatter than a point's at the same apex depth z, which biases the estimate up by about
R / (2 z) (measured on synthetic lines: +4 to +5.5 % for a 4 cm pipe 0.4 m deep). An antenna above the ground
sees flanks shaped mostly by the air path where the soil is slow (Snell), so the estimate loses precision
with height and eps_r (measured on the synthetic lines of the tests at 5 cm height: 0.5 and 2.4 % off for
eps_r 9 and 6.25, 6 % for 4 and 38 % (low confidence) for 16, against 2 % at most when ground-coupled).

Data conventions: sample k is at two-way time k * dt_s - time_zero_s; pre-process first as for migration
(dewow, time zero, background removal to take out the direct wave and flat bands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from sensorkit.gpr.gridding import GprCube
from sensorkit.kernels import semblance as kernels
from sensorkit.kernels import validate
from sensorkit.kernels.gpr_filters import envelope
from sensorkit.kernels.peak_interpolation import parabola_offset
from sensorkit.kernels.traveltime import C0_MPS

__all__ = ["VelocityEstimate", "dominant_frequency_hz", "estimate_velocity_cube", "estimate_velocity_line",
           "semblance_velocity"]

N_VELOCITIES = 81
N_COARSE = 9
SPREADING_GAIN_POWER = 2  # the semblance reads the traces times t**2 (spreading of a point echo undone)
SAMPLES_PER_PERIOD = 12  # the semblance scan reads the traces decimated to about this many samples a period
MAX_TRACES = 48  # traces summed per hyperbola at most (every k-th trace across wider apertures)
APERTURE_TAN = math.tan(math.radians(60.0))
MIN_APERTURE_TRACES = 8
AGREEMENT = 0.05  # apexes whose own best velocity is within 5 % of the estimate agree with it
MAX_END_RATIO = 0.9  # an apex counts when its semblance at both ends of the scan is at most 0.9 of its peak
MAX_FLAT_RATIO = 0.5  # ... and its semblance along the flat curve (velocity c) at most half of it


@dataclass
class VelocityEstimate:
    """Result of an automatic velocity analysis.

    velocity_mps: the estimate (NaN when no hyperbola was found), eps_r = (c / v)**2, confidence in [0, 1]
    (0 when nothing was found), n_hyperbolae: the apexes that counted, apexes: their (x_m, t_s) (two-way time
    from time zero; for a cube (x_m, y_m, t_s)), curve: (velocities (n_v,) m/s, score (n_v,)) the summed
    weighted semblance normalised to a maximum of 1.
    """

    velocity_mps: float
    eps_r: float
    confidence: float
    n_hyperbolae: int
    apexes: list = field(default_factory=list)
    curve: tuple = (np.zeros(0), np.zeros(0))


def dominant_frequency_hz(traces, dt_s: float) -> float:
    """Frequency (Hz) of the maximum of the mean amplitude spectrum of traces (..., n_samples), DC excluded."""
    x = validate.as_float32_traces(traces, min_samples=4)
    dt = validate.positive_float("dt_s", dt_s)
    spec = np.abs(np.fft.rfft(validate.as_2d(x), axis=-1)).mean(axis=0)
    freqs = np.fft.rfftfreq(x.shape[-1], dt)
    spec[0] = 0.0
    k = int(np.argmax(spec))
    if spec[k] <= 0.0:
        raise ValueError("traces: expected some signal to find the dominant frequency, found all zero")
    return float(freqs[k])


def _velocity_grid(v_min_mps, v_max_mps) -> np.ndarray:
    lo = validate.float_in_range("v_min_mps", v_min_mps, 0.0, C0_MPS, lo_open=True)
    hi = validate.float_in_range("v_max_mps", v_max_mps, 0.0, C0_MPS, lo_open=True)
    if not hi > lo:
        raise ValueError(f"v_max_mps: expected a velocity above v_min_mps={lo!r}, found {hi!r}")
    return np.linspace(lo, hi, N_VELOCITIES)


def _find_apexes(x: np.ndarray, dt_s: float, dx_m: float, time_zero_s: float, period_s: float,
                 v_mid: float, max_apexes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trace index, sample index, envelope) of candidate apexes: separated envelope maxima, strongest first."""
    env = envelope(x).astype(np.float64)
    n_traces, n = env.shape
    first = int(math.ceil((time_zero_s + 1.5 * period_s) / dt_s))
    last = n - 1 - int(math.ceil(2.0 * period_s / dt_s))  # the circular envelope leaks at the ends
    if first >= last:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    env[:, :first] = 0.0
    env[:, last + 1:] = 0.0
    half_t = max(1, int(round(period_s / dt_s)))
    half_x = max(1, int(round(v_mid * period_s / dx_m)))
    peaks = env == ndimage.maximum_filter(env, size=(2 * half_x + 1, 2 * half_t + 1), mode="constant")
    body = env[:, first:last + 1]
    level = max(0.03 * float(body.max()), 2.0 * float(np.median(body)))
    if level <= 0.0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    peaks &= env >= level
    ix, it = np.nonzero(peaks)
    order = np.argsort(env[ix, it])[::-1][:max_apexes]
    return ix[order], it[order], env[ix[order], it[order]]


def _line_curves(x: np.ndarray, x_m: np.ndarray, velocities: np.ndarray, *, dt_s: float, dx_m: float,
                 time_zero_s: float, height_m: float, period_s: float, max_apexes: int):
    """(apex trace indices (n_apex,), apex samples (n_apex,) fractional, envelope at the apexes (n_apex,),
    semblance (n_apex, n_v + 1)) of one line, in the two passes of the module docstring (step 2); the last
    column is the semblance at the speed of light (a nearly flat curve, for the test of step 3)."""
    v_mid = float(np.sqrt(velocities[0] * velocities[-1]))
    ix, it, amp = _find_apexes(x, dt_s, dx_m, time_zero_s, period_s, v_mid, max_apexes)
    if ix.size == 0:
        return ix, it.astype(np.float64), amp, np.zeros((0, velocities.size + 1))
    t_apex = it * dt_s - time_zero_s
    depth_mid = np.maximum(0.5 * t_apex - height_m / C0_MPS, 0.0) * v_mid
    step = max(1, int(period_s / (SAMPLES_PER_PERIOD * dt_s)))  # the scan reads every step-th sample
    x = x[:, ::step]
    dt = dt_s * step
    t_s = np.arange(x.shape[1]) * dt - time_zero_s
    x = np.ascontiguousarray(x * (np.maximum(t_s, 0.0) / t_s[-1]).astype(np.float32) ** SPREADING_GAIN_POWER)
    options = dict(dt_s=dt, time_zero_s=time_zero_s, height_m=height_m,
                   half_window=max(1, int(round(0.5 * period_s / dt))),
                   aperture_m=np.maximum(depth_mid * APERTURE_TAN, MIN_APERTURE_TRACES * dx_m), max_traces=MAX_TRACES,
                   min_traces=MIN_APERTURE_TRACES)
    q = 0.5 * period_s / dt  # half a period in (scan) samples
    coarse = np.geomspace(velocities[0], velocities[-1], N_COARSE)
    reach = max(1, int(round(0.5 * v_mid * period_s / dx_m)))  # traces in half a wavelength
    steps = np.unique(np.rint(np.linspace(-reach, reach, 7)).astype(np.int64))
    sem1, trace1, shift1 = kernels.hyperbola_semblance(
        x, x_m, ix, it / step, coarse, shifts_samples=np.linspace(-q, q, 7), trace_shifts=steps, **options)
    fine = int(math.ceil(0.5 * np.max(np.diff(steps))))
    rows = np.arange(ix.size)
    b = np.argmax(sem1, axis=1)
    ix1, it1 = trace1[rows, b], it / step + shift1[rows, b]
    sem, trace2, shift2 = kernels.hyperbola_semblance(
        x, x_m, ix1, it1, np.append(velocities, C0_MPS), shifts_samples=np.linspace(-q / 6, q / 6, 3),
        trace_shifts=np.arange(-fine, fine + 1), **options)
    b = np.argmax(sem[:, :-1], axis=1)
    return trace2[rows, b], (it1 + shift2[rows, b]) * step, amp, sem


def _parabolic_peak(values: np.ndarray, grid: np.ndarray) -> float:
    """The maximum of values on the uniform grid, placed between grid points by a parabola."""
    k = int(np.argmax(values))
    return float(grid[k] + parabola_offset(values, k) * (grid[1] - grid[0]))


def _combine(sem: np.ndarray, amp: np.ndarray, velocities: np.ndarray, apexes: list,
             min_semblance: float) -> VelocityEstimate:
    """The estimate from the semblance curves (n_apex, n_v) of candidate apexes (module docstring, step 3)."""
    flat = sem[:, -1]
    sem = sem[:, :-1]
    if sem.shape[0]:
        best = np.argmax(sem, axis=1)
        peak = sem[np.arange(sem.shape[0]), best]
        ends = np.maximum(sem[:, 0], sem[:, -1])
        keep = ((best > 0) & (best < velocities.size - 1) & (peak >= min_semblance) & (ends <= MAX_END_RATIO * peak)
                & (flat <= MAX_FLAT_RATIO * peak))
    else:
        keep = np.zeros(0, dtype=bool)
    if not keep.any():
        return VelocityEstimate(math.nan, math.nan, 0.0, 0, [], (velocities, np.zeros(velocities.size)))
    w = peak[keep] * amp[keep]
    total = (w[:, None] * sem[keep]).sum(axis=0)
    v = _parabolic_peak(total, velocities)
    own = np.array([_parabolic_peak(row, velocities) for row in sem[keep]])
    agree = np.abs(own / v - 1.0) <= AGREEMENT
    peak_kept = peak[keep]
    n_agree = int(agree.sum())
    confidence = 0.0
    if n_agree:
        confidence = float(w[agree].sum() / w.sum() * np.average(peak_kept[agree], weights=w[agree])
                           * n_agree / (n_agree + 1.0))
    kept = [apexes[i] for i in np.nonzero(keep)[0]]
    return VelocityEstimate(velocity_mps=v, eps_r=(C0_MPS / v) ** 2, confidence=min(max(confidence, 0.0), 1.0),
                            n_hyperbolae=int(keep.sum()), apexes=kept, curve=(velocities, total / total.max()))


def _common(dt_s, dx_m, antenna_height_m, time_zero_s, v_min_mps, v_max_mps, frequency_hz, min_semblance,
            max_apexes):
    dt = validate.positive_float("dt_s", dt_s)
    dx = validate.positive_float("dx_m", dx_m)
    h = validate.float_in_range("antenna_height_m", antenna_height_m, 0.0, math.inf)
    tz = validate.finite_float("time_zero_s", time_zero_s)
    velocities = _velocity_grid(v_min_mps, v_max_mps)
    if frequency_hz is not None:
        validate.float_in_range("frequency_hz", frequency_hz, 0.0, 0.5 / dt, lo_open=True)
    ms = validate.float_in_range("min_semblance", min_semblance, 0.0, 1.0)
    na = validate.int_in_range("max_apexes", max_apexes, 1, 100_000)
    return dt, dx, h, tz, velocities, ms, na


def estimate_velocity_line(traces, *, dt_s: float, dx_m: float, antenna_height_m: float = 0.0,
                           v_min_mps: float = 0.05e9, v_max_mps: float = 0.2e9, time_zero_s: float = 0.0,
                           frequency_hz: float | None = None, min_semblance: float = 0.3,
                           max_apexes: int = 30) -> VelocityEstimate:
    """Ground velocity from the diffraction hyperbolae of one line (module docstring).

    traces (n_traces, n_samples), dx_m apart, pre-processed (direct wave removed); sample k at two-way time
    k * dt_s - time_zero_s. antenna_height_m: height above the ground (refracted travel times). frequency_hz:
    the dominant frequency (default: from the data's spectrum), sets the windows. Velocities are scanned
    over N_VELOCITIES values from v_min_mps to v_max_mps. Apex x_m are k * dx_m for trace k.
    """
    x = validate.as_float32_traces(traces, min_samples=4)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"traces: expected a line (n_traces >= 3, n_samples), found shape {x.shape}")
    dt, dx, h, tz, velocities, ms, na = _common(dt_s, dx_m, antenna_height_m, time_zero_s, v_min_mps, v_max_mps,
                                                frequency_hz, min_semblance, max_apexes)
    f = dominant_frequency_hz(x, dt) if frequency_hz is None else float(frequency_hz)
    x_m = np.arange(x.shape[0]) * dx
    ix, it, amp, sem = _line_curves(x, x_m, velocities, dt_s=dt, dx_m=dx, time_zero_s=tz, height_m=h,
                               period_s=1.0 / f, max_apexes=na)
    apexes = [(float(x_m[i]), float(t * dt - tz)) for i, t in zip(ix, it)]
    return _combine(sem, amp, velocities, apexes, ms)


def estimate_velocity_cube(cube: GprCube, *, antenna_height_m: float = 0.0, v_min_mps: float = 0.05e9,
                           v_max_mps: float = 0.2e9, time_zero_s: float = 0.0, frequency_hz: float | None = None,
                           min_semblance: float = 0.3, max_apexes_per_line: int = 10) -> VelocityEstimate:
    """Ground velocity from the diffraction hyperbolae of a cube: each y column (a line along x, the cells
    with data only) is scanned as in estimate_velocity_line and the curves of all lines are combined.
    Apexes are (x_m, y_m, t_s). Options as estimate_velocity_line, max_apexes_per_line per line."""
    if not isinstance(cube, GprCube):
        raise ValueError(f"cube: expected a GprCube, found {type(cube).__name__}")
    data = validate.as_float32_traces(cube.data, "cube.data", min_samples=4)
    if data.ndim != 3 or np.shape(cube.mask) != data.shape[:2]:
        raise ValueError(f"cube.data, cube.mask: expected (nx, ny, n_samples) and (nx, ny), found "
                         f"{data.shape} and {np.shape(cube.mask)}")
    dt, dx, h, tz, velocities, ms, na = _common(cube.dt_s, cube.cell_x_m, antenna_height_m, time_zero_s,
                                                v_min_mps, v_max_mps, frequency_hz, min_semblance,
                                                max_apexes_per_line)
    mask = np.asarray(cube.mask, dtype=bool)
    if not mask.any():
        raise ValueError("cube.mask: expected some cells with data, found none")
    f = dominant_frequency_hz(data[mask], dt) if frequency_hz is None else float(frequency_hz)
    sems, amps, apexes = [], [], []
    for j in range(data.shape[1]):
        cells = np.nonzero(mask[:, j])[0]
        if cells.size < 3:
            continue
        x_m = np.asarray(cube.x_m, dtype=np.float64)[cells]
        ix, it, amp, sem = _line_curves(np.ascontiguousarray(data[cells, j]), x_m, velocities, dt_s=dt, dx_m=dx,
                                        time_zero_s=tz, height_m=h, period_s=1.0 / f, max_apexes=na)
        sems.append(sem)
        amps.append(amp)
        apexes += [(float(x_m[i]), float(cube.y_m[j]), float(t * dt - tz)) for i, t in zip(ix, it)]
    sem = np.concatenate(sems) if sems else np.zeros((0, velocities.size + 1))
    amp = np.concatenate(amps) if amps else np.zeros(0)
    return _combine(sem, amp, velocities, apexes, ms)


def semblance_velocity(gather, offsets_m, *, dt_s: float, velocities_mps, window_s: float,
                       time_zero_s: float = 0.0, min_time_s: float = 0.0) -> tuple[np.ndarray, float]:
    """Semblance velocity panel of a CMP or WARR gather and its best velocity.

    gather (n_traces, n_samples) at antenna offsets offsets_m (n_traces,), sample k at two-way time
    k * dt_s - time_zero_s; velocities_mps (n_v,); window_s: the semblance window (about one period).
    Returns (panel (n_v, n_samples) float64, row k at zero-offset time t0 = k * dt_s - time_zero_s
    (sensorkit.kernels.semblance.nmo_semblance), the velocity of the panel's maximum over rows with
    t0 >= min_time_s). The row t0 = 0 holds the direct ground wave (t = offset / v); to pick a reflection,
    set min_time_s past it.
    """
    dt = validate.positive_float("dt_s", dt_s)
    w = validate.positive_float("window_s", window_s)
    tz = validate.finite_float("time_zero_s", time_zero_s)
    t_min = validate.float_in_range("min_time_s", min_time_s, 0.0, math.inf)
    panel = kernels.nmo_semblance(gather, offsets_m, velocities_mps, dt_s=dt, time_zero_s=tz,
                                  half_window=max(0, int(round(0.5 * w / dt))))
    velocities = np.asarray(velocities_mps, dtype=np.float64)
    first = max(0, int(math.ceil((tz + t_min) / dt - 1e-9)))
    if first >= panel.shape[1]:
        raise ValueError(f"min_time_s: expected a time inside the record (up to "
                         f"{(panel.shape[1] - 1) * dt - tz!r} s), found {t_min!r}")
    sub = panel[:, first:]
    iv, _ = np.unravel_index(int(np.argmax(sub)), sub.shape)
    return panel, float(velocities[iv])
