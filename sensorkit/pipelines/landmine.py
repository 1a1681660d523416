"""Landmine detection in GPR lines (2D) or grids (3D): the pipeline of DESIGN.md, one typed configuration.

    result = detect_mines(load_gpr([Path("lane.h5")]), LandmineConfig())
    for d in result.detections:  # every candidate object, scored; d.score >= config.score_threshold: an alarm
        print(d.x_m, d.y_m, d.depth_m, d.size_m, d.score)

Stages (each reuses the project's parts; nothing here re-implements them):
1. pre-processing    sensorkit.gpr.preprocess.preprocess_line (the channels of a swath at once): dewow, time
                     zero (the file's, else the first break), band-pass; background removal is step 3
2. gridding          one regular line stays a line (nx, nt); several lines or a swath go through
                     sensorkit.gpr.gridding.grid_lines into a cube (nx, ny, nt)
3. ground surface    the median trace of each line (y column) is subtracted (a large object on a short line
                     would bias a mean trace and print a ghost of itself on every trace); then, from time zero
                     to surface_window_ns after the surface echo (the median trace's envelope peak), the
                     surface_components strongest principal components of all traces: antenna bounce and
                     ground roughness shift and scale the strong surface echo from trace to trace, which a
                     median removal leaves as a bright band over the shallowest mines; two components (shift,
                     gain) describe that jitter, while a mine, on few traces, stays
4. velocity          given (velocity_m_per_ns), else the file's rel_permittivity, else estimated from diffraction
                     hyperbolae (sensorkit.gpr.velocity), else fallback_velocity_m_per_ns
5. migration         sensorkit.gpr.migration.migrate (Kirchhoff by default, 2D or 3D, refraction at the
                     ground for a raised antenna) onto depths 0 .. depth_max_m in steps dz_m
6. envelope          along depth (sensorkit.plots.image_envelope: the Hilbert envelope, zero-padded)
7. detection         CA-CFAR (sensorkit.kernels.cfar.ca_cfar) on the envelope power, training cells around
                     each cell in the horizontal plane at its own depth (the near-surface band and the
                     attenuation with depth then set their own thresholds), guard cells the size of the largest
                     mine; design false-alarm probability pfa per cell
8. clustering        26-connected components of the CFAR mask whose strongest cell is an envelope peak in depth
                     (not the tail of the surface echo); components whose peaks lie within merge_distance_m
                     horizontally and merge_depth_m vertically are one object (the top and bottom echoes of a
                     plastic case, an object's late ringing); objects with fewer than min_voxels are dropped
9. features          per object (landmine_features.object_features): position of the top echo's peak (x, y,
                     depth, refined by a parabola), size (4 sigma of the horizontal extent above half the peak),
                     elongation, SNR over the CFAR noise, polarity and central lobe of the top echo, bottom
                     echo, flatness, detected volume, ...
10. score            a logistic model over a few features (landmine_classifier), trained on the train split of
                     the synthetic mines-lanes dataset and extra simulated lanes only (never its test split),
                     stored in landmine_model.json; score in [0, 1], 0.5 at the train split's cross-validated
                     threshold for 0.2 false alarms per m2

Units: SI in code (m, s, m/s); the config speaks GPR users' units where it helps (ns, m/ns).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from sensorkit.formats.base import GprLine
from sensorkit.gpr.load import check_same_sampling
from sensorkit.gpr.georef import survey_to_lat_lon

__all__ = ["C0_M_PER_NS", "Detection", "LandmineConfig", "LandmineResult", "detect_mines", "detect_mines_array"]

C0_M_PER_NS = 0.299792458
_MIGRATIONS = ("kirchhoff", "stolt")


@dataclass(frozen=True)
class LandmineConfig:
    """Parameters of the landmine pipeline (module docstring). The defaults suit 0.4-2 GHz demining GPR and the
    synthetic mines-* datasets (1 GHz, 2 cm traces, 5 cm channels).

    time_zero_ns            time zero from sample 0 (ns); None: the file's time zero when it gives one inside the
                            record, else the median first break
    bandpass_mhz            band-pass corners (MHz); None: 0.25-2.5 x the centre frequency when known
    dewow_window_ns         dewow window (ns); None: two periods of the centre frequency
    surface_window_ns       surface removal window: from time zero to this long after the surface echo (ns);
                            0: plain median-trace removal only
    surface_components      principal components removed in that window
    velocity_m_per_ns       ground velocity (m/ns); None: automatic (module docstring, step 4)
    use_file_permittivity   automatic velocity takes the file's rel_permittivity first when it has one
    fallback_velocity_m_per_ns  velocity when nothing else gives one
    antenna_height_m        antenna height above the ground (m); None: the file's (0 when unknown)
    migration               "kirchhoff" or "stolt"
    aperture_m, max_angle_deg  Kirchhoff aperture (m) and angle limit (degrees)
    dz_m, depth_max_m       depth step and deepest depth of the image (m); the record's reach caps depth_max_m
    cfar_guard_m            guard half-width around a cell (m, horizontal)
    cfar_training_m         training half-width beyond the guard (m, horizontal)
    pfa                     CA-CFAR design false-alarm probability per cell
    min_depth_m             cells shallower than this are not detected (the air-ground interface itself)
    merge_distance_m, merge_depth_m  components closer than both are one object
    min_voxels              smallest object (CFAR cells)
    score_threshold         detections with score >= this are alarms (the summary and plots count those)
    default_trace_spacing_m trace spacing for a line whose file gives no position along it
    """

    time_zero_ns: float | None = None
    bandpass_mhz: tuple[float, float] | None = None
    dewow_window_ns: float | None = None
    surface_window_ns: float = 1.2
    surface_components: int = 2
    velocity_m_per_ns: float | None = None
    use_file_permittivity: bool = True
    fallback_velocity_m_per_ns: float = 0.1
    antenna_height_m: float | None = None
    migration: str = "kirchhoff"
    aperture_m: float = 0.25
    max_angle_deg: float = 50.0
    dz_m: float = 0.01
    depth_max_m: float = 0.45
    cfar_guard_m: float = 0.18
    cfar_training_m: float = 0.22
    pfa: float = 1e-4
    min_depth_m: float = 0.0
    merge_distance_m: float = 0.15
    merge_depth_m: float = 0.45
    min_voxels: int = 2
    score_threshold: float = 0.5
    default_trace_spacing_m: float = 0.02

    def to_json(self) -> dict:
        """The fields as a JSON-serialisable dict (tuples as lists)."""
        return {f.name: (list(v) if isinstance(v, tuple) else v)
                for f in dataclasses.fields(self) for v in [getattr(self, f.name)]}

    @classmethod
    def from_json(cls, values: dict) -> "LandmineConfig":
        """A config from a dict of some fields (unknown fields raise ValueError naming them)."""
        if not isinstance(values, dict):
            raise ValueError(f"config: expected a JSON object of LandmineConfig fields, found {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"config: unknown field(s) {', '.join(unknown)}; expected some of "
                             f"{', '.join(sorted(names))}")
        given = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items()}
        config = cls(**given)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is out of range."""
        def positive(name, allow_none=False, allow_zero=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and \
                (v >= 0 if allow_zero else v > 0)
            if not ok:
                raise ValueError(f"config.{name}: expected a finite number {'>=' if allow_zero else '>'} 0"
                                 f"{' or None' if allow_none else ''}, found {v!r}")
        for name in ("time_zero_ns", "dewow_window_ns", "antenna_height_m"):
            positive(name, allow_none=True, allow_zero=True)
        positive("velocity_m_per_ns", allow_none=True)
        if self.velocity_m_per_ns is not None and self.velocity_m_per_ns >= C0_M_PER_NS:
            raise ValueError(f"config.velocity_m_per_ns: expected a ground velocity below {C0_M_PER_NS} m/ns, found "
                             f"{self.velocity_m_per_ns!r}")
        for name in ("fallback_velocity_m_per_ns", "aperture_m", "max_angle_deg", "dz_m", "depth_max_m",
                     "cfar_guard_m", "cfar_training_m", "merge_distance_m", "merge_depth_m",
                     "default_trace_spacing_m"):
            positive(name)
        for name in ("surface_window_ns", "min_depth_m"):
            positive(name, allow_zero=True)
        if self.fallback_velocity_m_per_ns >= C0_M_PER_NS:
            raise ValueError(f"config.fallback_velocity_m_per_ns: expected below {C0_M_PER_NS} m/ns, found "
                             f"{self.fallback_velocity_m_per_ns!r}")
        if self.migration not in _MIGRATIONS:
            raise ValueError(f"config.migration: expected one of {_MIGRATIONS}, found {self.migration!r}")
        if not (isinstance(self.pfa, float) and 0.0 < self.pfa < 1.0):
            raise ValueError(f"config.pfa: expected a probability strictly between 0 and 1, found {self.pfa!r}")
        if not (isinstance(self.surface_components, int) and self.surface_components >= 0):
            raise ValueError(f"config.surface_components: expected an integer >= 0, found {self.surface_components!r}")
        if not (isinstance(self.min_voxels, int) and self.min_voxels >= 1):
            raise ValueError(f"config.min_voxels: expected an integer >= 1, found {self.min_voxels!r}")
        if not (isinstance(self.score_threshold, (int, float)) and 0.0 <= self.score_threshold <= 1.0):
            raise ValueError(f"config.score_threshold: expected a number in [0, 1], found {self.score_threshold!r}")
        if self.bandpass_mhz is not None and (len(self.bandpass_mhz) != 2 or
                                              not all(math.isfinite(float(v)) and v >= 0 for v in self.bandpass_mhz)):
            raise ValueError(f"config.bandpass_mhz: expected (low, high) in MHz or None, found {self.bandpass_mhz!r}")


@dataclass
class Detection:
    """One object found: survey-frame position of its top (m), size (m), peak envelope amplitude (file units after
    pre-processing), score in [0, 1], lat/lon of the nearest trace with GNSS (NaN without), the line or grid it
    came from, and the classifier's features."""

    x_m: float
    y_m: float
    depth_m: float
    size_m: float
    amplitude: float
    score: float
    lat: float = math.nan
    lon: float = math.nan
    source: str = ""
    features: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"x_m": self.x_m, "y_m": self.y_m, "depth_m": self.depth_m, "size_m": self.size_m,
               "amplitude": self.amplitude, "score": self.score,
               "lat": None if not math.isfinite(self.lat) else self.lat,
               "lon": None if not math.isfinite(self.lon) else self.lon, "source": self.source}
        out.update({k: v for k, v in self.features.items() if k not in out})
        return out


@dataclass
class LandmineResult:
    """Detections (every scored object, strongest score first) and what they came from.

    image, envelope, statistic: (nx, nz) for a line or (nx, ny, nz) for a grid (migrated image, its envelope, the
    CFAR statistic); x_m, y_m (None for a line), depth_m their axes; parameters: the config and what the
    pipeline chose (velocity, time zero, gridding), JSON-able; times_s: seconds per stage.
    """

    detections: list[Detection]
    image: np.ndarray
    envelope: np.ndarray
    statistic: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray | None
    depth_m: np.ndarray
    parameters: dict
    times_s: dict
    mask: np.ndarray | None = None
    area_m2: float = 0.0

    def alarms(self, threshold: float | None = None) -> list[Detection]:
        """The detections with score >= threshold (default: the config's score_threshold)."""
        t = self.parameters["config"]["score_threshold"] if threshold is None else threshold
        return [d for d in self.detections if d.score >= t]


# ------------------------------------------------------------------------------------------------ stage helpers

def _line_time_zero_ns(line: GprLine, config: LandmineConfig) -> float | None:
    """The given time zero, the file's (when inside the record), or None (pick the first break)."""
    if config.time_zero_ns is not None:
        return float(config.time_zero_ns)
    t0 = float(line.time_zero_s) * 1e9
    window = line.n_samples * float(line.dt_s) * 1e9
    if math.isfinite(t0) and 0.0 < t0 < 0.5 * window:
        return t0
    return None


def _preprocess_lines(lines: list[GprLine], config: LandmineConfig) -> tuple[list[GprLine], list[float]]:
    """Pre-process each line (each channel of a swath), background removal left to the surface stage."""
    from sensorkit.gpr.preprocess import PreprocessConfig, pick_time_zero_ns, preprocess_line

    base = PreprocessConfig(dewow_window_ns=config.dewow_window_ns, background="none",
                            bandpass_mhz=config.bandpass_mhz, gain="none")
    out, t0s = [], []
    for line in lines:
        tr = np.asarray(line.traces)
        fc = float(line.centre_frequency_hz) if math.isfinite(line.centre_frequency_hz) else None
        t0 = _line_time_zero_ns(line, config)
        if t0 is None:
            t0 = pick_time_zero_ns(tr.reshape(-1, tr.shape[-1]), line.dt_s)
        cfg = dataclasses.replace(base, time_zero_ns=t0)
        # every step is per trace (no background removal here): the channels of a swath go through at once
        flat = preprocess_line(tr.reshape(-1, tr.shape[-1]), line.dt_s, cfg, centre_frequency_hz=fc)[0]
        traces = flat.reshape(tr.shape[:-1] + flat.shape[-1:])
        out.append(dataclasses.replace(line, traces=traces, time_zero_s=0.0))
        t0s.append(float(t0))
    n_kept = min(line.n_samples for line in out)
    out = [line if line.n_samples == n_kept else dataclasses.replace(line, traces=line.traces[..., :n_kept])
           for line in out]
    return out, t0s


def _with_positions(lines: list[GprLine], config: LandmineConfig) -> tuple[list[GprLine], list[str]]:
    """Lines whose traces all have x (files without a distance along the line: trace index x spacing)."""
    notes, out = [], []
    for line in lines:
        x = np.asarray(line.trace_meta["x_m"], dtype=np.float64)
        if not np.all(np.isfinite(x)):
            meta = np.array(line.trace_meta, copy=True)
            meta["x_m"] = np.arange(len(meta)) * config.default_trace_spacing_m
            notes.append(f"{line.name}: no position along the line in the file; x = trace index x "
                         f"{config.default_trace_spacing_m} m")
            line = dataclasses.replace(line, trace_meta=meta)
        out.append(line)
    return out, notes


def _regular_x(x: np.ndarray) -> bool:
    if x.size < 2:
        return False
    steps = np.diff(x)
    step = float(steps.mean())
    return step > 0 and float(np.max(np.abs(steps - step))) <= 1e-6 * step


def _arrange(lines: list[GprLine]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, dict]:
    """(data (nx, 1, nt) or (nx, ny, nt), x_m, y_m (None: a line), mask (nx, ny) or None, gridding info)."""
    from sensorkit.gpr.gridding import grid_lines

    first = lines[0]
    if len(lines) == 1 and np.asarray(first.traces).ndim == 2:
        x = np.asarray(first.trace_meta["x_m"], dtype=np.float64)
        if _regular_x(x):
            return np.asarray(first.traces, dtype=np.float32)[:, None, :], x, None, None, \
                {"mode": "line", "cell_x_m": float(x[1] - x[0])}
        meta = np.array(first.trace_meta, copy=True)
        meta["y_m"] = 0.0
        lines = [dataclasses.replace(first, trace_meta=meta)]
    for line in lines:
        if not np.all(np.isfinite(line.trace_meta["y_m"])):
            raise ValueError(f"inputs: line {line.name!r} has no y position (the file gives only the distance along "
                             f"the line); give a line spacing for parallel lines")
    cube = grid_lines(lines)
    info = {"mode": "grid", "cell_x_m": cube.cell_x_m, "cell_y_m": cube.cell_y_m,
            "filled_cells": int(cube.mask.sum()), "cells": int(cube.mask.size)}
    if cube.data.shape[1] == 1:
        info["mode"] = "line (gridded along x)"
        return cube.data, cube.x_m, None, cube.mask, info
    return cube.data, cube.x_m, cube.y_m, cube.mask, info


def remove_surface(data: np.ndarray, dt_s: float, window_ns: float, n_components: int = 3,
                   mask: np.ndarray | None = None) -> np.ndarray:
    """Median-trace removal per y column, then removal of the n_components strongest principal components of the
    traces in the window from time zero to window_ns after the surface echo (module docstring, step 3).

    data (nx, ny, nt) float32 -> float32 of the same shape; cells outside mask (nx, ny) stay zero. The surface
    echo is the peak of the median trace's envelope in the first 3 ns; the window ends with a cosine taper of
    8 samples. Skipped (median removal only) when fewer than 4 n_components traces hold data.
    """
    from sensorkit.plots import image_envelope

    x = np.asarray(data, dtype=np.float64)
    nx, ny, nt = x.shape
    m = np.ones((nx, ny), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    masked = np.where(m[:, :, None], x, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no trace at that y
        background = np.nan_to_num(np.nanmedian(masked, axis=0))  # (ny, nt): robust to objects on < half
    resid = x - background[None]
    n_used = int(m.sum())
    if window_ns > 0 and n_components > 0 and nt >= 8 and n_used >= 4 * n_components:
        env = image_envelope(background.mean(axis=0)[None, :].astype(np.float32))[0]
        search = max(2, min(nt, int(round(3e-9 / dt_s))))
        k_surface = int(np.argmax(env[:search]))
        end = min(nt, k_surface + int(round(window_ns * 1e-9 / dt_s)) + 1)
        taper = min(8, nt - end)
        w = np.ones(end + taper)
        if taper > 0:
            w[end:] = np.cos(np.linspace(0.0, 0.5 * np.pi, taper + 2)[1:-1]) ** 2
        stop = end + taper
        rows = resid[m][:, :stop] * w  # (n_used, stop)
        _, vecs = np.linalg.eigh(rows.T @ rows)  # right singular vectors of rows, ascending
        v = vecs[:, ::-1][:, :n_components].T
        part = resid[:, :, :stop]
        part -= ((part * w) @ v.T) @ v
    out = resid.astype(np.float32)
    out[~m] = 0.0
    return out


def _velocity_mps(lines, data, dt_s, x_m, y_m, height_m, config) -> tuple[float, str, dict]:
    """(velocity m/s, source, details) as step 4 of the module docstring."""
    if config.velocity_m_per_ns is not None:
        return config.velocity_m_per_ns * 1e9, "given", {}
    if config.use_file_permittivity:
        eps = lines[0].attrs.get("rel_permittivity") if isinstance(lines[0].attrs, dict) else None
        try:
            eps = float(eps) if eps is not None else math.nan
        except (TypeError, ValueError):
            eps = math.nan
        if math.isfinite(eps) and eps > 1.0:
            return C0_M_PER_NS / math.sqrt(eps) * 1e9, "file rel_permittivity", {"eps_r": eps}
    try:
        from sensorkit.gpr import velocity as vel

        if y_m is None:
            est = vel.estimate_velocity_line(data[:, 0, :], dt_s=dt_s, dx_m=float(x_m[1] - x_m[0]),
                                             antenna_height_m=height_m)
        else:
            from sensorkit.gpr.gridding import GprCube

            cube = GprCube(data=data, x_m=x_m, y_m=y_m, mask=np.ones(data.shape[:2], bool), dt_s=dt_s,
                           cell_x_m=float(x_m[1] - x_m[0]), cell_y_m=float(y_m[1] - y_m[0]))
            est = vel.estimate_velocity_cube(cube, antenna_height_m=height_m)
        if math.isfinite(est.velocity_mps) and est.confidence > 0.2:
            return float(est.velocity_mps), "estimated from diffractions", {"confidence": float(est.confidence),
                                                                           "n_hyperbolae": int(est.n_hyperbolae)}
    except (ImportError, ValueError, TypeError, AttributeError):
        pass
    return config.fallback_velocity_m_per_ns * 1e9, "fallback", {}


def _migrate(data, dt_s, x_m, y_m, depth_m, velocity_mps, height_m, config):
    from sensorkit.gpr.migration import KirchhoffConfig, StoltConfig, migrate

    if config.migration == "kirchhoff":
        mig = KirchhoffConfig(velocity_mps=velocity_mps, height_m=height_m, aperture_m=config.aperture_m,
                              max_angle_deg=config.max_angle_deg)
    else:
        mig = StoltConfig(velocity_mps=velocity_mps, height_m=height_m)
    if y_m is None:
        image = migrate(data[:, 0, :], dt_s=dt_s, x_m=x_m, depth_m=depth_m, config=mig)
        return image.image[:, None, :], image.params
    image = migrate(data, dt_s=dt_s, x_m=x_m, y_m=y_m, depth_m=depth_m, config=mig)
    return image.image, image.params


def _cells(length_m: float, step_m: float, n: int) -> int:
    return int(min(max(n - 1, 0), max(0, round(length_m / step_m))))


def _cfar(env: np.ndarray, x_m, y_m, config: LandmineConfig):
    from sensorkit.kernels.cfar import ca_cfar

    dx = float(x_m[1] - x_m[0]) if x_m.size > 1 else 1.0
    nx, ny, _ = env.shape
    gx, tx = _cells(config.cfar_guard_m, dx, nx), max(1, _cells(config.cfar_training_m, dx, nx))
    if y_m is not None and ny > 1:
        dy = float(y_m[1] - y_m[0])
        gy, ty = _cells(config.cfar_guard_m, dy, ny), max(1, _cells(config.cfar_training_m, dy, ny))
    else:
        gy, ty = 0, 0
    power = np.square(env, dtype=np.float32)
    result = ca_cfar(power, guard_cells=(gx, gy, 0), training_cells=(tx, ty, 0), pfa=config.pfa)
    return result, {"guard_cells": [gx, gy, 0], "training_cells": [tx, ty, 0]}


# ------------------------------------------------------------------------------------------------ entry points

def detect_mines_array(data, *, dt_s: float, x_m, y_m=None, config: LandmineConfig | None = None,
                       velocity_mps: float, height_m: float = 0.0, mask=None, source: str = "",
                       model: dict | None = None) -> LandmineResult:
    """Steps 3 and 5-10 on pre-processed data: (nx, nt) for a line or (nx, ny, nt) for a grid (regular x_m,
    y_m), sample 0 at time zero, at a known velocity (m/s) and antenna height (m). mask (nx, ny): cells with
    traces (None: all). model: a classifier dict (None: the packaged landmine_model.json)."""
    import time

    from sensorkit.pipelines import landmine_classifier, landmine_features
    from sensorkit.plots import image_envelope

    config = LandmineConfig() if config is None else config
    config.validate()
    a = np.asarray(data, dtype=np.float32)
    if a.ndim == 2:
        if y_m is not None:
            raise ValueError(f"y_m: expected None for a line (data shape {a.shape})")
        a = a[:, None, :]
    elif a.ndim != 3:
        raise ValueError(f"data: expected (nx, nt) or (nx, ny, nt), found shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("data: expected finite samples, found NaN or inf")
    x = np.asarray(x_m, dtype=np.float64)
    y = None if y_m is None else np.asarray(y_m, dtype=np.float64)
    if x.shape != (a.shape[0],) or (y is not None and y.shape != (a.shape[1],)):
        raise ValueError(f"x_m, y_m: expected {a.shape[0]} and {a.shape[1]} positions for data shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"data: expected at least 2 trace positions along x, found {a.shape[0]}")
    times = {}
    t = time.perf_counter()
    clean = remove_surface(a, dt_s, config.surface_window_ns, config.surface_components, mask)
    times["surface_s"] = time.perf_counter() - t

    from sensorkit.gpr.migration import KirchhoffConfig, default_depth_axis_m

    reach = default_depth_axis_m(a.shape[-1], dt_s, KirchhoffConfig(velocity_mps=velocity_mps, height_m=height_m))
    z_max = min(config.depth_max_m, float(reach[-1]))
    depth = np.arange(int(math.floor(z_max / config.dz_m + 1e-9)) + 1) * config.dz_m
    if depth.size < 3:
        raise ValueError(f"data: the record reaches {float(reach[-1]):.3g} m deep, too shallow for depth steps of "
                         f"{config.dz_m} m")
    t = time.perf_counter()
    image, mig_params = _migrate(clean, dt_s, x, y, depth, velocity_mps, height_m, config)
    times["migrate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    env = image_envelope(image)
    if mask is not None:
        env[~np.asarray(mask, bool)] = 0.0
    cfar, cfar_cells = _cfar(env, x, y, config)
    detected = cfar.mask.copy()
    detected[:, :, depth < config.min_depth_m] = False
    if mask is not None:
        detected[~np.asarray(mask, bool)] = False
    times["detect_s"] = time.perf_counter() - t

    t = time.perf_counter()
    objects = landmine_features.cluster_objects(detected, env, cfar.statistic, x, y, depth, config)
    feats = [landmine_features.object_features(obj, image, env, cfar.noise, x, y, depth, velocity_mps)
             for obj in objects]
    times["features_s"] = time.perf_counter() - t
    t = time.perf_counter()
    model = landmine_classifier.load_model() if model is None else model
    kind = "grid" if y is not None else "line"
    scores = landmine_classifier.score(model, kind, feats)
    detections = [Detection(x_m=f["x_m"], y_m=f["y_m"], depth_m=f["depth_m"], size_m=f["size_m"],
                            amplitude=f["amplitude"], score=float(s), source=source,
                            features={k: v for k, v in f.items()
                                      if k not in ("x_m", "y_m", "depth_m", "size_m", "amplitude")})
                  for f, s in zip(feats, scores)]
    detections.sort(key=lambda d: -d.score)
    times["score_s"] = time.perf_counter() - t
    if y is None:
        area = float(x[-1] - x[0]) * 2.0 * config.merge_distance_m  # a line sweeps a strip (nominal width)
    else:
        cell = float(x[1] - x[0]) * float(y[1] - y[0])
        area = cell * (int(np.asarray(mask, bool).sum()) if mask is not None else a.shape[0] * a.shape[1])
    parameters = {"config": config.to_json(), "velocity_mps": velocity_mps,
                  "velocity_m_per_ns": velocity_mps * 1e-9, "eps_r": (C0_M_PER_NS / (velocity_mps * 1e-9)) ** 2,
                  "antenna_height_m": height_m, "migration": mig_params, "cfar": cfar_cells,
                  "model": {"name": model.get("name", ""), "kind": kind}, "dims": 2 if y is None else 3}
    squeeze = (lambda v: v[:, 0, :]) if y is None else (lambda v: v)
    return LandmineResult(detections=detections, image=squeeze(image), envelope=squeeze(env),
                          statistic=squeeze(cfar.statistic), x_m=x, y_m=y, depth_m=depth, parameters=parameters,
                          times_s=times, mask=None if mask is None or y is None else np.asarray(mask, bool),
                          area_m2=area)


def detect_mines(lines: list[GprLine], config: LandmineConfig | None = None, *, model: dict | None = None,
                 source: str | None = None, progress=None) -> LandmineResult:
    """Run the whole pipeline on GPR lines (sensorkit.gpr.load.load_gpr): one regular line gives a 2D result,
    several lines with y positions (or a swath) a 3D one. Detections get lat/lon from the nearest trace with
    GNSS. source: the name the detections carry (default: the line's name). progress: None or a callable
    progress(stage) called as each stage ends ("preprocess", "grid", "velocity", "detect": 4 calls).
    Raises ValueError naming the field or line on bad input."""
    tick = progress if progress is not None else (lambda stage: None)
    import time

    config = LandmineConfig() if config is None else config
    config.validate()
    if isinstance(lines, GprLine):
        lines = [lines]
    if not lines:
        raise ValueError("lines: expected at least one GPR line, found none")
    check_same_sampling(lines, "lines")
    first = lines[0]
    t_all = time.perf_counter()
    t = time.perf_counter()
    positioned, notes = _with_positions(lines, config)
    pre, t0s = _preprocess_lines(positioned, config)
    t_pre = time.perf_counter() - t
    tick("preprocess")
    t = time.perf_counter()
    data, x, y, mask, gridding = _arrange(pre)
    t_grid = time.perf_counter() - t
    tick("grid")
    dt_s = float(pre[0].dt_s)
    file_height = float(first.antenna_height_m)
    height = config.antenna_height_m if config.antenna_height_m is not None else \
        (file_height if math.isfinite(file_height) and file_height >= 0 else 0.0)
    t = time.perf_counter()
    velocity, v_source, v_details = _velocity_mps(lines, data, dt_s, x, y, height, config)
    t_vel = time.perf_counter() - t
    tick("velocity")
    name = source if source is not None else (first.name if len(lines) == 1 else f"{first.name}..{lines[-1].name}")
    result = detect_mines_array(data if y is not None else data[:, 0, :], dt_s=dt_s, x_m=x, y_m=y, config=config,
                                velocity_mps=velocity, height_m=height, mask=mask if y is not None else None,
                                source=name, model=model)
    if y is None:  # a line: the detections lie on it
        ys = np.asarray(positioned[0].trace_meta["y_m"], dtype=np.float64)
        y_line = float(np.mean(ys)) if ys.size and np.all(np.isfinite(ys)) else 0.0
        for d in result.detections:
            d.y_m = y_line
    if result.detections:  # lat/lon of each detection's own (x, y), from the traces' GNSS positions
        meta = np.concatenate([np.asarray(line.trace_meta) for line in positioned])
        lats, lons = survey_to_lat_lon([d.x_m for d in result.detections], [d.y_m for d in result.detections],
                                       meta["x_m"], np.nan_to_num(meta["y_m"], nan=0.0), meta["lat"], meta["lon"])
        for d, lat, lon in zip(result.detections, lats, lons):
            d.lat, d.lon = float(lat), float(lon)
    tick("detect")
    result.parameters.update(velocity_source=v_source, velocity_details=v_details,
                             time_zero_ns=t0s[0] if len(set(t0s)) == 1 else t0s, gridding=gridding,
                             lines=[line.name for line in lines], notes=notes)
    result.times_s = {"preprocess_s": t_pre, "grid_s": t_grid, "velocity_s": t_vel, **result.times_s,
                      "total_s": time.perf_counter() - t_all}
    return result
