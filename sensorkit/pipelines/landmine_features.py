"""Objects from a CFAR mask and their features (steps 8-9 of sensorkit.pipelines.landmine).

Arrays are (nx, ny, nz) (ny = 1 for a line); x_m (nx,), y_m (ny,) or None, depth_m (nz,).

Features of an object (all JSON-able floats):
    x_m, y_m, depth_m  the peak of its top echo (the shallowest component of the object holding at least
                       half of its strongest envelope), refined by a parabola through the neighbouring cells
    amplitude          the envelope at that peak
    snr_db             10 log10(envelope**2 / CFAR noise) at that peak
    size_m             4 x the standard deviation along the major horizontal axis of the cells above half the
                       peak in the peak's depth slice, around the peak (a disc of diameter D gives D; the image's
                       blur adds to it)
    width_m            the same along the minor axis (= size_m for a line)
    elongation         size_m / width_m (1 for a line)
    extent_z_m         vertical extent of the cells >= half the peak connected to it (26-connected, within
                       0.25 m horizontally and 0.15 m in depth)
    polarity           sign (+1, -1) of the first strong lobe of the migrated image around the peak (the shallowest
                       extremum of at least half the largest |value| where the envelope is above half its peak):
                       the sign of the top's reflection coefficient (plastic and air in soil +1, metal -1)
    lower_echo_ratio   strongest envelope 1.5-12 cm below the top echo's peak (a separate lobe) / peak: the
                       case bottom of a plastic mine
    n_voxels           detected cells of the object
    volume_cm3         the volume of those cells, cm3 (a line: their area in the x-z plane x 1 m)
    detected_volume_cm3  the volume of the object's detected (CFAR) cells, cm3 (a line: as above); it grows
                       with the object's size and strength, and depends on the config's pfa
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["FEATURE_NAMES", "cluster_objects", "object_features"]

FEATURE_NAMES = ("snr_db", "depth_m", "size_m", "width_m", "elongation", "extent_z_m", "polarity",
                 "lower_echo_ratio", "n_voxels", "volume_cm3",
                 "detected_volume_cm3")
TOP_FRACTION = 0.5
SIZE_WINDOW_M = 0.25
REGION_DEPTH_M = 0.15
HALF = 0.5


def cluster_objects(detected: np.ndarray, env: np.ndarray, statistic: np.ndarray, x_m, y_m, depth_m,
                    config) -> list[list[tuple]]:
    """Objects as lists of components; a component is (voxel indices (n, 3), peak index (3,), peak envelope).

    Components: 26-connected cells of ``detected``, kept when their strongest cell is a peak of the envelope in
    depth (not the first depth, not below a stronger cell: the tail of the surface echo); merged into one object when their peaks are within
    config.merge_distance_m horizontally and config.merge_depth_m in depth (transitively). Objects with fewer
    than config.min_voxels cells are dropped. Strongest object first.
    """
    labels, n = ndimage.label(detected, structure=np.ones((3, 3, 3), dtype=bool))
    if n == 0:
        return []
    x = np.asarray(x_m, float)
    y = np.zeros(1) if y_m is None else np.asarray(y_m, float)
    z = np.asarray(depth_m, float)
    comps = []
    for sl, lab in zip(ndimage.find_objects(labels), range(1, n + 1)):
        local = labels[sl] == lab
        idx = np.argwhere(local) + np.array([s.start for s in sl])
        values = env[idx[:, 0], idx[:, 1], idx[:, 2]]
        k = int(np.argmax(values))
        pi, pj, pk = idx[k]
        if pk == 0 or env[pi, pj, pk - 1] > env[pi, pj, pk]:
            continue  # no envelope peak in depth: the tail of the surface echo above
        comps.append((idx, idx[k], float(values[k])))
    if not comps:
        return []
    # union-find over the peaks
    parent = list(range(len(comps)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    px = np.array([x[c[1][0]] for c in comps])
    py = np.array([y[c[1][1]] for c in comps])
    pz = np.array([z[c[1][2]] for c in comps])
    for i in range(len(comps)):
        near = np.nonzero((np.hypot(px - px[i], py - py[i]) <= config.merge_distance_m)
                          & (np.abs(pz - pz[i]) <= config.merge_depth_m))[0]
        for j in near:
            ri, rj = find(i), find(int(j))
            if ri != rj:
                parent[rj] = ri
    groups: dict[int, list] = {}
    for i, c in enumerate(comps):
        groups.setdefault(find(i), []).append(c)
    objects = [g for g in groups.values() if sum(len(c[0]) for c in g) >= config.min_voxels]
    objects.sort(key=lambda g: -max(c[2] for c in g))
    return objects


def _parabola(values: np.ndarray, k: int) -> float:
    """Sub-cell offset of a peak at k from a parabola through k-1, k, k+1 (0 at the ends)."""
    if k <= 0 or k >= values.size - 1:
        return 0.0
    a, b, c = float(values[k - 1]), float(values[k]), float(values[k + 1])
    den = a - 2.0 * b + c
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0


def _top_component(obj: list[tuple]) -> tuple:
    strongest = max(c[2] for c in obj)
    strong = [c for c in obj if c[2] >= TOP_FRACTION * strongest]
    return min(strong, key=lambda c: (c[1][2], -c[2]))


def _extent(env_slice: np.ndarray, i: int, j: int, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(major, minor) 4-sigma extents (m) of the cells >= half the peak connected to (i, j) in a window."""
    dx = float(x[1] - x[0]) if x.size > 1 else 1.0
    dy = float(y[1] - y[0]) if y.size > 1 else 1.0
    wi = max(1, int(round(SIZE_WINDOW_M / dx)))
    wj = max(0, int(round(SIZE_WINDOW_M / dy))) if y.size > 1 else 0
    i0, i1 = max(0, i - wi), min(env_slice.shape[0], i + wi + 1)
    j0, j1 = max(0, j - wj), min(env_slice.shape[1], j + wj + 1)
    win = env_slice[i0:i1, j0:j1]
    peak = float(env_slice[i, j])
    above = win >= HALF * peak
    lab, _ = ndimage.label(above)
    keep = lab == lab[i - i0, j - j0]
    ii, jj = np.nonzero(keep)
    w = win[ii, jj].astype(np.float64)
    px = x[ii + i0]
    py = y[jj + j0] if y.size > 1 else np.zeros(ii.size)
    wsum = w.sum()
    mx, my = (w * px).sum() / wsum, (w * py).sum() / wsum
    cxx = (w * (px - mx) ** 2).sum() / wsum + dx * dx / 12.0
    if y.size <= 1:
        s = 4.0 * math.sqrt(cxx)
        return s, s
    cyy = (w * (py - my) ** 2).sum() / wsum + dy * dy / 12.0
    cxy = (w * (px - mx) * (py - my)).sum() / wsum
    tr, det = cxx + cyy, cxx * cyy - cxy * cxy
    disc = math.sqrt(max(tr * tr / 4.0 - det, 0.0))
    major, minor = tr / 2.0 + disc, max(tr / 2.0 - disc, 0.0)
    return 4.0 * math.sqrt(major), 4.0 * math.sqrt(minor)


def _half_max_region(env: np.ndarray, i: int, j: int, k: int, x: np.ndarray, y: np.ndarray,
                     z: np.ndarray) -> tuple[float, float]:
    """(volume cm3, vertical extent m) of the cells >= half the peak env[i, j, k], 26-connected to it, within
    SIZE_WINDOW_M horizontally and REGION_DEPTH_M in depth (a line: area in the x-z plane x 1 m)."""
    dx = float(x[1] - x[0]) if x.size > 1 else 1.0
    dy = float(y[1] - y[0]) if y.size > 1 else 1.0
    dz = float(z[1] - z[0]) if z.size > 1 else 1.0
    wi = max(1, int(round(SIZE_WINDOW_M / dx)))
    wj = max(1, int(round(SIZE_WINDOW_M / dy))) if y.size > 1 else 0
    wk = max(1, int(round(REGION_DEPTH_M / dz)))
    lo = (max(0, i - wi), max(0, j - wj), max(0, k - wk))
    hi = (min(env.shape[0], i + wi + 1), min(env.shape[1], j + wj + 1), min(env.shape[2], k + wk + 1))
    win = env[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    lab, _ = ndimage.label(win >= HALF * float(env[i, j, k]), structure=np.ones((3, 3, 3), dtype=bool))
    keep = lab == lab[i - lo[0], j - lo[1], k - lo[2]]
    ks = np.nonzero(keep.any(axis=(0, 1)))[0]
    cell = dx * (dy if y.size > 1 else 1.0) * dz
    return float(keep.sum() * cell * 1e6), float((ks.max() - ks.min() + 1) * dz)


def _polarity(trace: np.ndarray, env_column: np.ndarray, k: int) -> float:
    """Sign of the first strong lobe of the image around the envelope peak k: among the extrema of ``trace``
    where the envelope stays above half its peak, the shallowest one of at least half the largest |value|."""
    half = HALF * float(env_column[k])
    k0 = k
    while k0 > 0 and env_column[k0 - 1] >= half:
        k0 -= 1
    k1 = k
    while k1 < env_column.size - 1 and env_column[k1 + 1] >= half:
        k1 += 1
    seg = np.asarray(trace[k0:k1 + 1], dtype=np.float64)
    mag = np.abs(seg)
    top = float(mag.max()) if seg.size else 0.0
    if top == 0.0:
        return 1.0
    for n in range(seg.size):
        left = mag[n - 1] if n > 0 else -1.0
        right = mag[n + 1] if n < seg.size - 1 else -1.0
        if mag[n] >= HALF * top and mag[n] >= left and mag[n] >= right:
            return 1.0 if seg[n] >= 0 else -1.0
    return 1.0 if seg[int(np.argmax(mag))] >= 0 else -1.0


def object_features(obj: list[tuple], image: np.ndarray, env: np.ndarray, noise: np.ndarray, x_m, y_m, depth_m,
                    velocity_mps: float) -> dict:
    """The features of one object (module docstring)."""
    x = np.asarray(x_m, float)
    y = np.zeros(1) if y_m is None else np.asarray(y_m, float)
    z = np.asarray(depth_m, float)
    _, (i, j, k), peak = _top_component(obj)
    column = env[i, j, :]
    fx = _parabola(env[:, j, k], i)
    fy = _parabola(env[i, :, k], j) if y.size > 1 else 0.0
    fz = _parabola(column, k)
    dx = float(x[1] - x[0]) if x.size > 1 else 0.0
    dy = float(y[1] - y[0]) if y.size > 1 else 0.0
    dz = float(z[1] - z[0]) if z.size > 1 else 0.0
    size, width = _extent(env[:, :, k], i, j, x, y)
    all_idx = np.concatenate([c[0] for c in obj])
    volume, extent_z = _half_max_region(env, i, j, k, x, y, z)
    # lower echo: the strongest separate lobe 1.5-12 cm below the peak in the same column
    lo = min(z.size, k + max(1, int(round(0.015 / dz)))) if dz > 0 else k + 1
    hi = min(z.size, k + max(2, int(round(0.12 / dz))) + 1) if dz > 0 else k + 1
    lower = 0.0
    if hi > lo:
        seg = column[lo:hi]
        trough = np.minimum.accumulate(seg)  # a separate lobe rises again after a dip
        rises = seg - trough
        lower = float(rises.max() / peak) if peak > 0 else 0.0
    n = float(noise[i, j, k])
    snr = 10.0 * math.log10(peak * peak / n) if n > 0 and peak > 0 else 60.0
    return {"x_m": float(x[i] + fx * dx), "y_m": float(y[j] + fy * dy), "depth_m": float(max(0.0, z[k] + fz * dz)),
            "size_m": float(size), "width_m": float(width), "elongation": float(size / width) if width > 0 else 1.0,
            "amplitude": float(peak), "snr_db": float(min(snr, 60.0)), "extent_z_m": extent_z,
            "polarity": _polarity(image[i, j, :], column, k), "lower_echo_ratio": lower,
            "n_voxels": float(all_idx.shape[0]), "volume_cm3": volume,
            "detected_volume_cm3": float(all_idx.shape[0] * (dx if dx > 0 else 1.0) * (dy if dy > 0 else 1.0)
                                         * (dz if dz > 0 else 1.0) * 1e6)}
