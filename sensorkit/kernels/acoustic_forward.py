"""The hot loop of the drone sound-field forward model: moving point sources heard at each microphone.

Inputs are slowly varying quantities on a coarse grid of "knots" (absolute knot k at frame k * knot_step), built
by sensorkit.synth.acoustic for one block of frames; knot array index i is absolute knot ``first_knot + i``.

Tonal part, per microphone m and tone line l (one harmonic comb of one source along one path, direct or
ground-reflected), harmonics h of integer order n_lh:

    p_m(t) += sum_h g_lhm(t) sin(n_lh Phi_lm(t) + theta_lh)

Phi_lm is the source's fundamental phase at the emission time of the sound arriving at t (the retarded phase,
which carries the Doppler shift); g the amplitude in Pa (source level x spreading x air absorption x
reflection). Phi and g are linear between knots, so within a knot interval the phase step per frame is constant:
each harmonic is a complex phasor started from e^{i n Phi} (integer powers of e^{i Phi}, one cos and sin per
interval and line) and advanced by one complex multiplication per frame. The work per frame, harmonic and
microphone is a few multiply-adds, vectorised over microphones.

Broadband part, per broadband path q (one source along one path) and microphone m:

    p_m(t) += b_qm(t) s_q(u_qm(t))

s_q is the path's source-time signal (air absorption applied) sampled at integer positions, u_qm the emission
time x buffer rate (an absolute, fractional sample position) and b_qm the spreading x reflection factor, both
linear between knots; s_q(u) by 4-point cubic Lagrange interpolation of samples floor(u) - 1 .. floor(u) + 2.

Float64 throughout, output (n_frames, n_mics) float64. :func:`render_point_sources_reference` evaluates the same
sums with NumPy (one sin per frame and harmonic); the two agree to ~1e-12 relative (tests use 1e-9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from sensorkit.kernels.validate import check_finite


@dataclass
class PointSourceBlock:
    """Everything the kernel needs for frames [first_frame, first_frame + n_frames).

    K knots, M microphones, L tone lines of up to H harmonics, Q broadband paths with buffers of B samples.

    tone_phase_rad (L, K, M) float64: fundamental phase at the emission time, radians (unwrapped).
    tone_gain_pa (L, H, K, M) float64: amplitude of each harmonic at each microphone, Pa.
    tone_order (L, H) int64: harmonic order n >= 1, increasing along a line (slots past n_harmonics ignored).
    tone_phase_offset_rad (L, H) float64: theta, the harmonic's phase when Phi = 0.
    tone_n_harmonics (L,) int64: harmonics used per line (0..H).
    bb_position (Q, K, M) float64: absolute sample position in the path's buffer (emission time x buffer rate).
    bb_gain (Q, K, M) float64: spreading x reflection factor, 1/m.
    bb_buffer (Q, B) float64: source-time signal; sample b sits at absolute position bb_first_index[q] + b.
    bb_first_index (Q,) int64.
    """

    first_frame: int
    n_frames: int
    knot_step: int
    first_knot: int
    n_mics: int
    tone_phase_rad: np.ndarray
    tone_gain_pa: np.ndarray
    tone_order: np.ndarray
    tone_phase_offset_rad: np.ndarray
    tone_n_harmonics: np.ndarray
    bb_position: np.ndarray
    bb_gain: np.ndarray
    bb_buffer: np.ndarray
    bb_first_index: np.ndarray

    @property
    def n_knots(self) -> int:
        """Knots needed to cover the frames (both ends of every interval touched)."""
        return (self.first_frame + self.n_frames - 1) // self.knot_step + 2 - self.first_knot


def empty_block(first_frame: int, n_frames: int, knot_step: int, n_mics: int) -> PointSourceBlock:
    """A block without tone lines or broadband paths, with the knots that cover the frames."""
    first_knot = first_frame // knot_step
    n_knots = (first_frame + n_frames - 1) // knot_step + 2 - first_knot
    return PointSourceBlock(first_frame, n_frames, knot_step, first_knot, n_mics,
                            np.zeros((0, n_knots, n_mics)), np.zeros((0, 0, n_knots, n_mics)),
                            np.zeros((0, 0), np.int64), np.zeros((0, 0)), np.zeros(0, np.int64),
                            np.zeros((0, n_knots, n_mics)), np.zeros((0, n_knots, n_mics)), np.zeros((0, 4)),
                            np.zeros(0, np.int64))


# --------------------------------------------------------------------------------------------- validation

_FIELDS = {"tone_phase_rad": np.float64, "tone_gain_pa": np.float64, "tone_order": np.int64,
           "tone_phase_offset_rad": np.float64, "tone_n_harmonics": np.int64, "bb_position": np.float64,
           "bb_gain": np.float64, "bb_buffer": np.float64, "bb_first_index": np.int64}


def validate_block(b: PointSourceBlock) -> None:
    """Raise ValueError naming the field when a type, shape, range or value is wrong."""
    for name in ("first_frame", "n_frames", "knot_step", "first_knot", "n_mics"):
        value = getattr(b, name)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name}: expected an integer, found {value!r}")
    if b.n_frames < 1 or b.knot_step < 1 or b.n_mics < 1:
        raise ValueError(f"n_frames, knot_step, n_mics: expected integers >= 1, found {b.n_frames}, "
                         f"{b.knot_step}, {b.n_mics}")
    if b.first_knot * b.knot_step > b.first_frame:
        raise ValueError(f"first_knot: knot {b.first_knot} (frame {b.first_knot * b.knot_step}) comes after "
                         f"first_frame {b.first_frame}")
    for name, dtype in _FIELDS.items():
        a = getattr(b, name)
        if not isinstance(a, np.ndarray) or a.dtype != dtype or not a.flags.c_contiguous:
            raise ValueError(f"{name}: expected a C-contiguous {np.dtype(dtype)} array, found "
                             f"{type(a).__name__} {getattr(a, 'dtype', '')}")
    k, m = b.n_knots, b.n_mics
    n_lines = b.tone_phase_rad.shape[0] if b.tone_phase_rad.ndim == 3 else -1
    h = b.tone_order.shape[1] if b.tone_order.ndim == 2 else -1
    n_paths = b.bb_position.shape[0] if b.bb_position.ndim == 3 else -1
    n_buffer = b.bb_buffer.shape[1] if b.bb_buffer.ndim == 2 else -1
    expected = {"tone_phase_rad": (n_lines, k, m), "tone_gain_pa": (n_lines, h, k, m), "tone_order": (n_lines, h),
                "tone_phase_offset_rad": (n_lines, h), "tone_n_harmonics": (n_lines,),
                "bb_position": (n_paths, k, m), "bb_gain": (n_paths, k, m), "bb_buffer": (n_paths, n_buffer),
                "bb_first_index": (n_paths,)}
    for name, shape in expected.items():
        found = getattr(b, name).shape
        if found != shape or -1 in shape:
            raise ValueError(f"{name}: expected shape {shape} (n_lines={n_lines}, n_harmonics={h}, n_knots={k}, "
                             f"n_mics={m}, n_paths={n_paths}, n_buffer={n_buffer}), found {found}")
    for name in ("tone_phase_rad", "tone_gain_pa", "tone_phase_offset_rad", "bb_position", "bb_gain", "bb_buffer"):
        check_finite(getattr(b, name), name)
    if n_lines:
        n_h = b.tone_n_harmonics
        if n_h.min() < 0 or n_h.max() > h:
            raise ValueError(f"tone_n_harmonics: expected 0..{h} harmonics per line, found {n_h.tolist()}")
        used = np.arange(h)[None, :] < n_h[:, None]
        orders = np.where(used, b.tone_order, 1)
        if orders.min() < 1 or np.any(np.diff(orders, axis=1)[used[:, 1:]] <= 0):
            raise ValueError(f"tone_order: expected increasing integer orders >= 1 along each line, found "
                             f"{b.tone_order.tolist()}")
    if n_paths:
        lo = np.floor(b.bb_position.min(axis=(1, 2))) - 1
        hi = np.floor(b.bb_position.max(axis=(1, 2))) + 2
        first = b.bb_first_index.astype(float)
        bad = (lo < first) | (hi > first + n_buffer - 1)
        if bad.any():
            q = int(np.argmax(bad))
            raise ValueError(f"bb_buffer: path {q} needs samples {lo[q]:.0f}..{hi[q]:.0f}, its buffer holds "
                             f"{first[q]:.0f}..{first[q] + n_buffer - 1:.0f}")


# --------------------------------------------------------------------------------------------- Numba kernel

@njit(cache=True, parallel=True)
def _render_core(first_frame, n_frames, knot_step, first_knot, tone_phase, tone_gain, tone_order, tone_theta,
                 tone_n_harm, bb_position, bb_gain, bb_buffer, bb_first, out):
    n_lines = tone_phase.shape[0]
    n_mics = out.shape[1]
    n_harm_max = tone_order.shape[1]
    n_paths = bb_position.shape[0]
    last = first_frame + n_frames
    i_lo = first_frame // knot_step - first_knot
    n_intervals = (last - 1) // knot_step - first_knot - i_lo + 1
    n_groups = min(n_intervals, 64)
    for group in prange(n_groups):
        zr = np.empty((n_harm_max, n_mics))
        zi = np.empty((n_harm_max, n_mics))
        rr = np.empty((n_harm_max, n_mics))
        ri = np.empty((n_harm_max, n_mics))
        g = np.empty((n_harm_max, n_mics))
        dg = np.empty((n_harm_max, n_mics))
        fr = np.empty(n_mics)  # e^{i Phi}: fundamental phasor
        fi = np.empty(n_mics)
        sr = np.empty(n_mics)  # e^{i dPhi}: fundamental step per frame
        si = np.empty(n_mics)
        pr = np.empty(n_mics)  # running powers of the two
        pi = np.empty(n_mics)
        qr = np.empty(n_mics)
        qi = np.empty(n_mics)
        for i in range(i_lo + group * n_intervals // n_groups, i_lo + (group + 1) * n_intervals // n_groups):
            start = (first_knot + i) * knot_step
            j_lo = max(start, first_frame)
            j_hi = min(start + knot_step, last)
            skip = j_lo - start
            for line in range(n_lines):
                n_h = tone_n_harm[line]
                if n_h == 0:
                    continue
                for m in range(n_mics):
                    p0 = tone_phase[line, i, m]
                    step = (tone_phase[line, i + 1, m] - p0) / knot_step
                    ph = p0 + step * skip
                    fr[m] = math.cos(ph)
                    fi[m] = math.sin(ph)
                    sr[m] = math.cos(step)
                    si[m] = math.sin(step)
                    pr[m] = 1.0
                    pi[m] = 0.0
                    qr[m] = 1.0
                    qi[m] = 0.0
                done = 0
                for h in range(n_h):
                    while done < tone_order[line, h]:
                        for m in range(n_mics):
                            a = pr[m] * fr[m] - pi[m] * fi[m]
                            pi[m] = pr[m] * fi[m] + pi[m] * fr[m]
                            pr[m] = a
                            b = qr[m] * sr[m] - qi[m] * si[m]
                            qi[m] = qr[m] * si[m] + qi[m] * sr[m]
                            qr[m] = b
                        done += 1
                    ct = math.cos(tone_theta[line, h])
                    st = math.sin(tone_theta[line, h])
                    for m in range(n_mics):
                        zr[h, m] = pr[m] * ct - pi[m] * st
                        zi[h, m] = pr[m] * st + pi[m] * ct
                        rr[h, m] = qr[m]
                        ri[h, m] = qi[m]
                        g0 = tone_gain[line, h, i, m]
                        dg[h, m] = (tone_gain[line, h, i + 1, m] - g0) / knot_step
                        g[h, m] = g0 + dg[h, m] * skip
                for h in range(n_h):
                    for j in range(j_lo, j_hi):
                        row = out[j - first_frame]
                        for m in range(n_mics):
                            row[m] += g[h, m] * zi[h, m]
                            a = zr[h, m] * rr[h, m] - zi[h, m] * ri[h, m]
                            zi[h, m] = zr[h, m] * ri[h, m] + zi[h, m] * rr[h, m]
                            zr[h, m] = a
                            g[h, m] += dg[h, m]
            for q in range(n_paths):
                first = bb_first[q]
                for m in range(n_mics):
                    u0 = bb_position[q, i, m]
                    du = (bb_position[q, i + 1, m] - u0) / knot_step
                    b0 = bb_gain[q, i, m]
                    db = (bb_gain[q, i + 1, m] - b0) / knot_step
                    for j in range(j_lo, j_hi):
                        s = j - start
                        u = u0 + du * s
                        fu = math.floor(u)
                        x = u - fu
                        k = int(fu) - first
                        xm1 = x - 1.0
                        xm2 = x - 2.0
                        xp1 = x + 1.0
                        val = (xp1 * x * (xm1 * bb_buffer[q, k + 2] - xm2 * 3.0 * bb_buffer[q, k + 1])
                               + xm1 * xm2 * (3.0 * xp1 * bb_buffer[q, k] - x * bb_buffer[q, k - 1])) / 6.0
                        out[j - first_frame, m] += (b0 + db * s) * val


def render_point_sources(block: PointSourceBlock) -> np.ndarray:
    """Sound pressure (n_frames, n_mics) float64, Pa, of the tonal and broadband terms of ``block``."""
    validate_block(block)
    out = np.zeros((block.n_frames, block.n_mics))
    _render_core(block.first_frame, block.n_frames, block.knot_step, block.first_knot, block.tone_phase_rad,
                 block.tone_gain_pa, block.tone_order, block.tone_phase_offset_rad, block.tone_n_harmonics,
                 block.bb_position, block.bb_gain, block.bb_buffer, block.bb_first_index, out)
    return out


# --------------------------------------------------------------------------------------------- NumPy reference

def render_point_sources_reference(block: PointSourceBlock) -> np.ndarray:
    """The same sums with plain NumPy (one sin per frame, harmonic and microphone), for tests and benchmarks."""
    validate_block(block)
    b = block
    frames = b.first_frame + np.arange(b.n_frames)
    i = frames // b.knot_step - b.first_knot
    w = ((frames - (b.first_knot + i) * b.knot_step) / b.knot_step)[:, None]
    out = np.zeros((b.n_frames, b.n_mics))

    def lerp(a):  # (K, M) -> (n_frames, M)
        return a[i] + (a[i + 1] - a[i]) * w

    for line in range(b.tone_phase_rad.shape[0]):
        phase = lerp(b.tone_phase_rad[line])
        for h in range(b.tone_n_harmonics[line]):
            out += lerp(b.tone_gain_pa[line, h]) * np.sin(b.tone_order[line, h] * phase
                                                          + b.tone_phase_offset_rad[line, h])
    for q in range(b.bb_position.shape[0]):
        u = lerp(b.bb_position[q])
        fu = np.floor(u)
        x = u - fu
        k = fu.astype(np.int64) - b.bb_first_index[q]
        s = b.bb_buffer[q]
        val = (-x * (x - 1) * (x - 2) / 6 * s[k - 1] + (x + 1) * (x - 1) * (x - 2) / 2 * s[k]
               - (x + 1) * x * (x - 2) / 2 * s[k + 1] + (x + 1) * x * (x - 1) / 6 * s[k + 2])
        out += lerp(b.bb_gain[q]) * val
    return out
