"""CFAR detection (cell-averaging and ordered-statistic) on 1-D, 2-D and 3-D power arrays.

Shared by the drone side (spectra, SRP maps) and the GPR side (migrated envelopes, (nx, ny, nz)). The input is
POWER (square-law): for an amplitude envelope pass envelope ** 2. Around each cell under test (CUT), per axis
a: guard_cells[a] cells on each side are skipped and the next training_cells[a] on each side are training
cells, i.e. the training set is the box of half-size guard + training minus the box of half-size guard (which
holds the CUT). At the array edges both boxes are truncated, so a cell near an edge has fewer training cells
N and its threshold factor is computed for that N (the false-alarm rate is kept, the detection loss grows).

CA-CFAR: noise Z = mean of the N training cells; detection when x > alpha Z. For exponential noise
(square-law detector, one look), alpha = N (Pfa^(-1/N) - 1). For chi-square noise with 2 n_looks degrees of
freedom (n_looks averaged exponential looks), alpha = N q / (1 - q) with q = betaincinv(n_looks, N n_looks,
1 - Pfa) (x / (x + N Z) is Beta(n_looks, N n_looks) distributed); n_looks = 1 gives the formula above.

OS-CFAR: Z = the k-th smallest training cell, k = ceil(rank_fraction N); exponential noise, alpha solves
Pfa = prod_{i=0}^{k-1} (N - i) / (N - i + alpha) (Rohling 1983), by bisection. A strong target among the
training cells raises the CA mean but leaves the k-th order statistic nearly unchanged, so OS keeps detecting
a weak target next to a strong one where CA masks it.

Result: mask (bool), statistic = x / (alpha Z) (detection where > 1; +inf where Z = 0 and x > 0), and the
noise estimate Z, all of the input's shape. Sums run in float64 (summed-area table for CA).
"""

import math
from typing import NamedTuple

import numpy as np
import scipy.special
from numba import njit, prange

from sensorkit.kernels import validate

__all__ = ["CfarResult", "ca_cfar", "ca_threshold_factor", "os_cfar", "os_rank", "os_threshold_factor"]

CHUNK = 4096  #: cells per parallel work item


class CfarResult(NamedTuple):
    mask: np.ndarray        #: bool, input shape: detections
    statistic: np.ndarray   #: float32: x / (alpha Z); detection where > 1
    noise: np.ndarray       #: float32: the noise estimate Z of each cell


# --- threshold factors -------------------------------------------------------------------------------------

def ca_threshold_factor(n_training, pfa: float, n_looks: int = 1) -> np.ndarray:
    """CA-CFAR alpha for N training cells (array or int): N (Pfa^(-1/N) - 1) for n_looks = 1, else the
    chi-square form of the module docstring. N = 0 gives inf."""
    n = np.asarray(n_training, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if n_looks == 1:
            alpha = n * (np.power(pfa, -1.0 / n) - 1.0)
        else:
            q = scipy.special.betaincinv(n_looks, n * n_looks, 1.0 - pfa)
            alpha = n * q / (1.0 - q)
    return np.where(n >= 1, alpha, np.inf)


def os_rank(n_training, rank_fraction: float) -> np.ndarray:
    """k = ceil(rank_fraction N), at least 1 (int64, same shape as n_training)."""
    n = np.asarray(n_training, dtype=np.int64)
    return np.maximum(1, np.ceil(rank_fraction * n - 1e-9).astype(np.int64))


@njit(cache=True)
def _os_alpha(n, k, log_pfa):
    """alpha with sum_{i<k} log((N - i) / (N - i + alpha)) = log_pfa, by bisection."""
    lo, hi = 0.0, 1.0
    while True:
        f = 0.0
        for i in range(k):
            f += math.log((n - i) / (n - i + hi))
        if f <= log_pfa:
            break
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f = 0.0
        for i in range(k):
            f += math.log((n - i) / (n - i + mid))
        if f > log_pfa:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def os_threshold_factor(n_training, rank, pfa: float) -> np.ndarray:
    """OS-CFAR alpha solving Pfa = prod_{i<k} (N - i) / (N - i + alpha) for N training cells and rank k
    (ints or arrays of one shape), by bisection (relative precision 1e-13); inf where N < 1 or k not in 1..N."""
    n = np.asarray(n_training, dtype=np.int64)
    k = np.broadcast_to(np.asarray(rank, dtype=np.int64), n.shape)
    out = np.full(n.shape, np.inf)
    log_pfa = math.log(pfa)
    for idx in np.ndindex(n.shape):
        nn, kk = int(n[idx]), int(k[idx])
        if nn >= 1 and 1 <= kk <= nn:
            out[idx] = _os_alpha(nn, kk, log_pfa)
    return out


# --- kernels -----------------------------------------------------------------------------------------------

@njit(cache=True)
def _summed_area(x):
    """S[i, j, k] = sum of x[:i, :j, :k] in float64, shape + 1 on each axis."""
    n0, n1, n2 = x.shape
    s = np.zeros((n0 + 1, n1 + 1, n2 + 1), dtype=np.float64)
    for i in range(n0):
        for j in range(n1):
            row = 0.0
            for k in range(n2):
                row += x[i, j, k]
                s[i + 1, j + 1, k + 1] = s[i + 1, j, k + 1] + s[i, j + 1, k + 1] - s[i, j, k + 1] + row
    return s


@njit(cache=True)
def _box_sum(s, a0, b0, a1, b1, a2, b2):
    """Sum over [a0, b0) x [a1, b1) x [a2, b2) from the summed-area table."""
    return (s[b0, b1, b2] - s[a0, b1, b2] - s[b0, a1, b2] - s[b0, b1, a2]
            + s[a0, a1, b2] + s[a0, b1, a2] + s[b0, a1, a2] - s[a0, a1, a2])


@njit(cache=True)
def _extent(i, g, t, n):
    """Outer [lo, hi) and inner [ilo, ihi) ranges on one axis, truncated at 0 and n."""
    return max(0, i - g - t), min(n, i + g + t + 1), max(0, i - g), min(n, i + g + 1)


@njit(cache=True, parallel=True)
def _ca_core(x, guard, train, alpha_by_count):
    n0, n1, n2 = x.shape
    s = _summed_area(x)
    n_cells = n0 * n1 * n2
    noise = np.empty(n_cells, dtype=np.float32)
    stat = np.empty(n_cells, dtype=np.float32)
    n_chunks = (n_cells + CHUNK - 1) // CHUNK
    for q in prange(n_chunks):
        for flat in range(q * CHUNK, min(n_cells, (q + 1) * CHUNK)):
            i = flat // (n1 * n2)
            j = (flat // n2) % n1
            k = flat % n2
            lo0, hi0, ilo0, ihi0 = _extent(i, guard[0], train[0], n0)
            lo1, hi1, ilo1, ihi1 = _extent(j, guard[1], train[1], n1)
            lo2, hi2, ilo2, ihi2 = _extent(k, guard[2], train[2], n2)
            count = (hi0 - lo0) * (hi1 - lo1) * (hi2 - lo2) - (ihi0 - ilo0) * (ihi1 - ilo1) * (ihi2 - ilo2)
            total = _box_sum(s, lo0, hi0, lo1, hi1, lo2, hi2) - _box_sum(s, ilo0, ihi0, ilo1, ihi1, ilo2, ihi2)
            z = max(total, 0.0) / count if count > 0 else 0.0
            noise[flat] = z
            stat[flat] = _statistic(x[i, j, k], alpha_by_count[count] * z)
    return noise, stat


@njit(cache=True)
def _statistic(v, threshold):
    if threshold > 0.0:
        return v / threshold
    return np.inf if v > 0.0 else 0.0


@njit(cache=True)
def _select(buf, n, k):
    """The k-th smallest (0-based) of buf[:n], partially reordering buf (Hoare quickselect)."""
    lo, hi = 0, n - 1
    while lo < hi:
        pivot = buf[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                buf[i], buf[j] = buf[j], buf[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return buf[k]


@njit(cache=True, parallel=True)
def _os_core(x, guard, train, alpha_by_count, rank_by_count):
    n0, n1, n2 = x.shape
    n_cells = n0 * n1 * n2
    noise = np.empty(n_cells, dtype=np.float32)
    stat = np.empty(n_cells, dtype=np.float32)
    n_max = (2 * (guard[0] + train[0]) + 1) * (2 * (guard[1] + train[1]) + 1) * (2 * (guard[2] + train[2]) + 1)
    n_chunks = (n_cells + CHUNK - 1) // CHUNK
    for q in prange(n_chunks):
        buf = np.empty(n_max, dtype=np.float32)
        for flat in range(q * CHUNK, min(n_cells, (q + 1) * CHUNK)):
            i = flat // (n1 * n2)
            j = (flat // n2) % n1
            k = flat % n2
            lo0, hi0, ilo0, ihi0 = _extent(i, guard[0], train[0], n0)
            lo1, hi1, ilo1, ihi1 = _extent(j, guard[1], train[1], n1)
            lo2, hi2, ilo2, ihi2 = _extent(k, guard[2], train[2], n2)
            count = 0
            for a in range(lo0, hi0):
                in0 = ilo0 <= a < ihi0
                for b in range(lo1, hi1):
                    in01 = in0 and ilo1 <= b < ihi1
                    if in01:  # this row crosses the guard box: skip its middle
                        for c in range(lo2, ilo2):
                            buf[count] = x[a, b, c]
                            count += 1
                        for c in range(ihi2, hi2):
                            buf[count] = x[a, b, c]
                            count += 1
                    else:
                        for c in range(lo2, hi2):
                            buf[count] = x[a, b, c]
                            count += 1
            if count == 0:
                noise[flat] = 0.0
                stat[flat] = _statistic(x[i, j, k], 0.0)
                continue
            z = _select(buf, count, rank_by_count[count] - 1)
            noise[flat] = z
            stat[flat] = _statistic(x[i, j, k], alpha_by_count[count] * z)
    return noise, stat


# --- wrappers ----------------------------------------------------------------------------------------------

def _prepare(power, guard_cells, training_cells, pfa):
    try:
        a = np.asarray(power)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"power: expected a numeric array with 1 to 3 dimensions: {exc}") from None
    if a.ndim not in (1, 2, 3) or a.size == 0:
        raise ValueError(f"power: expected a non-empty array with 1 to 3 dimensions, found shape {a.shape}")
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"power: expected real integer or floating values, found dtype {a.dtype}")
    x = np.ascontiguousarray(a, dtype=np.float32)
    validate.check_finite(x, "power")
    if (x < 0).any():
        raise ValueError(f"power: expected power >= 0 (square the envelope), found minimum {float(x.min())!r}")
    guard = _per_axis("guard_cells", guard_cells, a.ndim, 0)
    train = _per_axis("training_cells", training_cells, a.ndim, 0)
    if sum(train) == 0:
        raise ValueError(f"training_cells: expected at least one training cell on some axis, found {train}")
    p = validate.float_in_range("pfa", pfa, 0.0, 1.0, lo_open=True, hi_open=True)
    pad = 3 - a.ndim
    x3 = x.reshape((1,) * pad + x.shape)
    guard3 = np.array((0,) * pad + guard, dtype=np.int64)
    train3 = np.array((0,) * pad + train, dtype=np.int64)
    n_max = int(np.prod(2 * (guard3 + train3) + 1) - np.prod(2 * guard3 + 1))
    return x, x3, guard3, train3, p, n_max


def _per_axis(name, value, ndim, lo):
    values = (value,) * ndim if np.ndim(value) == 0 else tuple(value)
    if len(values) != ndim:
        raise ValueError(f"{name}: expected an int or {ndim} ints (one per axis), found {value!r}")
    return tuple(validate.int_in_range(name, v, lo, 1 << 20) for v in values)


def _result(x, noise, stat, shape):
    stat = stat.reshape(shape)
    return CfarResult(mask=stat > 1.0, statistic=stat, noise=noise.reshape(shape))


def ca_cfar(power, *, guard_cells, training_cells, pfa: float = 1e-3, n_looks: int = 1) -> CfarResult:
    """Cell-averaging CFAR on power (1-D, 2-D or 3-D, >= 0).

    guard_cells, training_cells: an int for every axis or one int per axis (cells on each side).
    pfa: design false-alarm probability per cell; n_looks: exponential looks averaged in each cell (1 for a
    plain |.|^2, see the module docstring).
    """
    x, x3, guard, train, p, n_max = _prepare(power, guard_cells, training_cells, pfa)
    looks = validate.int_in_range("n_looks", n_looks, 1, 1 << 16)
    alpha = ca_threshold_factor(np.arange(n_max + 1), p, looks)
    noise, stat = _ca_core(x3, guard, train, alpha)
    return _result(x, noise, stat, x.shape)


def os_cfar(power, *, guard_cells, training_cells, pfa: float = 1e-3, rank_fraction: float = 0.75) -> CfarResult:
    """Ordered-statistic CFAR on power (1-D, 2-D or 3-D, >= 0), exponential noise.

    Z is the k-th smallest training cell, k = ceil(rank_fraction N) (0.75 is the usual choice: up to a quarter
    of the training cells may hold other targets without masking). Other arguments as ``ca_cfar``.
    """
    x, x3, guard, train, p, n_max = _prepare(power, guard_cells, training_cells, pfa)
    frac = validate.float_in_range("rank_fraction", rank_fraction, 0.0, 1.0, lo_open=True)
    counts = _possible_counts(guard, train, x3.shape)
    rank = os_rank(np.arange(n_max + 1), frac)
    alpha = np.full(n_max + 1, np.inf)
    alpha[counts] = os_threshold_factor(counts, rank[counts], p)
    noise, stat = _os_core(x3, guard, train, alpha, rank)
    return _result(x, noise, stat, x.shape)


def _possible_counts(guard, train, shape) -> np.ndarray:
    """The distinct training-cell counts that occur (edge truncation), int64."""
    per_axis = []
    for g, t, n in zip(guard, train, shape):
        w = g + t
        i = np.unique(np.clip(np.concatenate([np.arange(w + 1), n - 1 - np.arange(w + 1), [n // 2]]), 0, n - 1))
        outer = np.minimum(n, i + g + t + 1) - np.maximum(0, i - g - t)
        inner = np.minimum(n, i + g + 1) - np.maximum(0, i - g)
        per_axis.append(np.unique(np.column_stack([outer, inner]), axis=0))
    counts = set()
    for o0, i0 in per_axis[0]:
        for o1, i1 in per_axis[1]:
            for o2, i2 in per_axis[2]:
                c = int(o0 * o1 * o2 - i0 * i1 * i2)
                if c > 0:
                    counts.add(c)
    return np.array(sorted(counts), dtype=np.int64)
