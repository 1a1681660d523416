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
    polarity           sign (+1, -1) of main_lobe: the sign of the top's reflection coefficient (an object faster
                       than the soil, plastic or air, +1; metal, or a stone or root wetter than the soil, -1)
    main_lobe          the migrated image's value of largest magnitude from 2 cells above the envelope peak to 4
                       below, over the peak envelope, clipped to [-1, 1]: the focused top echo's central lobe and
                       its sign (the wavelet is zero-phase after migration, so the central lobe is the reflection);
                       when an extremum of the opposite sign at least 0.75 as strong lies 2-8 cm above it (the top
                       and bottom of a thin plastic case, whose reflections are of opposite signs and nearly
                       equal), that shallower one (the top)
    lower_echo_ratio   strongest envelope 1.5-12 cm below the top echo's peak (a separate lobe) / peak: the
                       case bottom of a plastic mine
    bottom_echo        largest image value of the sign opposite to the main lobe 3-12 cm below the envelope peak,
                       minus the same above it (the wavelet's own side lobes are symmetric and cancel), over the
                       peak envelope: a flat bottom of opposite reflection (a plastic case's bottom) leaves it
                       positive
    late_energy        rms of the envelope 12-30 cm below the peak in its column / peak: ringing or late
                       echoes under the object
    flatness           mean envelope of the peak's depth slice over a 6 cm disc around the peak / peak (1 for a
                       flat top wider than the beam's focus, lower for a point-like sphere or a thin root)
    n_voxels           detected cells of the object
    volume_cm3         the volume of those cells, cm3 (a line: their area in the x-z plane x 1 m)
    detected_volume_cm3  the volume of the object's detected (CFAR) cells, cm3 (a line: as above); it grows
                       with the object's size and strength, and depends on the config's pfa
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from sensorkit.kernels.peak_interpolation import parabola_offset

__all__ = ["FEATURE_NAMES", "cluster_objects", "object_features"]

FEATURE_NAMES = ("snr_db", "depth_m", "size_m", "width_m", "elongation", "extent_z_m", "polarity", "main_lobe",
                 "lower_echo_ratio", "bottom_echo", "late_energy", "flatness", "n_voxels", "volume_cm3",
                 "detected_volume_cm3")
TOP_FRACTION = 0.5
SIZE_WINDOW_M = 0.25
REGION_DEPTH_M = 0.15
HALF = 0.5
DOUBLET_M = (0.02, 0.08)  # top and bottom echoes of a plastic case: this far apart in the image (m) ...
DOUBLET_RATIO = 0.75  # ... and the deeper at least this strong (a zero-phase wavelet's side lobes reach 0.45)


def cluster_objects(detected: np.ndarray, env: np.ndarray, statistic: np.ndarray, x_m, y_m, depth_m,
                    config) -> list[list[tuple]]:
    """Objects as lists of components; a component is (voxel indices (n, 3), peak index (3,), peak envelope).

    Components: 26-connected cells of ``detected``, kept when their strongest cell is a peak of the envelope in
    depth (not the first depth, not below a stronger cell: the tail of the surface echo); merged into one object
    when their peaks are within config.merge_distance_m horizontally and config.merge_depth_m in depth
    (transitively). Objects with fewer than config.min_voxels cells are dropped. Strongest object first.
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


def _main_lobe(trace: np.ndarray, env_column: np.ndarray, k: int, dz: float) -> float:
    """The top echo's central lobe over env_column[k], signed (module docstring): the extremum A of ``trace`` of
    largest magnitude from 2 cells above k to 4 below, unless an extremum of the opposite sign at least
    DOUBLET_RATIO as strong lies DOUBLET_M above A (a plastic case's top over its bottom: opposite reflections
    of nearly equal strength): then that shallower one."""
    peak = float(env_column[k])
    t = np.asarray(trace, dtype=np.float64)
    if peak <= 0 or t.size == 0:
        return 0.0
    lo, hi = max(0, k - 2), min(t.size, k + 5)
    a = lo + int(np.argmax(np.abs(t[lo:hi])))
    if dz > 0:
        n0, n1 = max(1, int(round(DOUBLET_M[0] / dz))), max(1, int(round(DOUBLET_M[1] / dz)))
        partners = [b for b in range(max(1, a - n1), a - n0 + 1)
                    if t[b] * t[a] < 0 and abs(t[b]) >= DOUBLET_RATIO * abs(t[a])
                    and abs(t[b]) >= abs(t[b - 1]) and abs(t[b]) >= abs(t[b + 1])]
        if partners:
            a = max(partners, key=lambda b: abs(t[b]))
    return float(np.clip(t[a] / peak, -1.0, 1.0))


def _bottom_echo(trace: np.ndarray, env_column: np.ndarray, k: int, dz: float, sign: float) -> float:
    """(largest -sign * trace 3-12 cm below k) - (the same 3-12 cm above k), over env_column[k]."""
    peak = float(env_column[k])
    if dz <= 0 or peak <= 0:
        return 0.0
    a, b = max(1, int(round(0.03 / dz))), max(2, int(round(0.12 / dz)))
    t = -sign * np.asarray(trace, dtype=np.float64)
    below = t[k + a:k + b + 1]
    above = t[max(0, k - b):max(0, k - a + 1)]
    low = float(below.max()) if below.size else 0.0
    high = float(above.max()) if above.size else 0.0
    return (max(low, 0.0) - max(high, 0.0)) / peak


def _late_energy(env_column: np.ndarray, k: int, dz: float) -> float:
    """rms of env_column 12-30 cm below k over env_column[k] (0 when the image ends before)."""
    peak = float(env_column[k])
    if dz <= 0 or peak <= 0:
        return 0.0
    seg = np.asarray(env_column[k + int(round(0.12 / dz)):k + int(round(0.30 / dz)) + 1], dtype=np.float64)
    return float(np.sqrt(np.mean(seg ** 2)) / peak) if seg.size else 0.0


def _flatness(env_slice: np.ndarray, i: int, j: int, x: np.ndarray, y: np.ndarray) -> float:
    """Mean of env_slice over the cells within 6 cm of (i, j) / env_slice[i, j]."""
    peak = float(env_slice[i, j])
    if peak <= 0:
        return 0.0
    dx = float(x[1] - x[0]) if x.size > 1 else 1.0
    dy = float(y[1] - y[0]) if y.size > 1 else 1.0
    wi = max(1, int(0.06 / dx + 1e-9))
    wj = int(0.06 / dy + 1e-9) if y.size > 1 else 0
    i0, i1 = max(0, i - wi), min(env_slice.shape[0], i + wi + 1)
    j0, j1 = max(0, j - wj), min(env_slice.shape[1], j + wj + 1)
    gi, gj = np.meshgrid((np.arange(i0, i1) - i) * dx, (np.arange(j0, j1) - j) * (dy if y.size > 1 else 0.0),
                         indexing="ij")
    inside = np.hypot(gi, gj) <= 0.06 + 1e-9
    return float(env_slice[i0:i1, j0:j1][inside].mean() / peak)


def object_features(obj: list[tuple], image: np.ndarray, env: np.ndarray, noise: np.ndarray, x_m, y_m, depth_m,
                    velocity_mps: float) -> dict:
    """The features of one object (module docstring)."""
    x = np.asarray(x_m, float)
    y = np.zeros(1) if y_m is None else np.asarray(y_m, float)
    z = np.asarray(depth_m, float)
    _, (i, j, k), peak = _top_component(obj)
    column = env[i, j, :]
    fx = parabola_offset(env[:, j, k], i)
    fy = parabola_offset(env[i, :, k], j) if y.size > 1 else 0.0
    fz = parabola_offset(column, k)
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
    lobe = _main_lobe(image[i, j, :], column, k, dz)
    n = float(noise[i, j, k])
    snr = 10.0 * math.log10(peak * peak / n) if n > 0 and peak > 0 else 60.0
    return {"x_m": float(x[i] + fx * dx), "y_m": float(y[j] + fy * dy), "depth_m": float(max(0.0, z[k] + fz * dz)),
            "size_m": float(size), "width_m": float(width), "elongation": float(size / width) if width > 0 else 1.0,
            "amplitude": float(peak), "snr_db": float(min(snr, 60.0)), "extent_z_m": extent_z,
            "polarity": 1.0 if lobe >= 0 else -1.0, "main_lobe": lobe, "lower_echo_ratio": lower,
            "bottom_echo": _bottom_echo(image[i, j, :], column, k, dz, 1.0 if lobe >= 0 else -1.0),
            "late_energy": _late_energy(column, k, dz), "flatness": _flatness(env[:, :, k], i, j, x, y),
            "n_voxels": float(all_idx.shape[0]), "volume_cm3": volume,
            "detected_volume_cm3": float(all_idx.shape[0] * (dx if dx > 0 else 1.0) * (dy if dy > 0 else 1.0)
                                         * (dz if dz > 0 else 1.0) * 1e6)}
