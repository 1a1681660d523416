"""GPR migration: one typed configuration per method and one entry point, ``migrate``.

    image = migrate(traces, dt_s=1e-10, x_m=x, y_m=y, depth_m=np.arange(0, 0.5, 0.01),
                    config=KirchhoffConfig(velocity_mps=1.0e8, height_m=0.1))

Data: zero-offset traces on a regular grid, (nx, nt) for a line or (nx, ny, nt) for a grid, sample k at
two-way time k * dt_s with time zero at the antenna (remove the trigger delay first). x_m (and y_m) are the
trace positions (m, regular steps, increasing); the image is on the same positions at the depths depth_m
(m below the ground surface, increasing, >= 0). Velocities are in m/s here (the command line converts m/ns).

Methods (kernels in sensorkit.kernels; their docstrings give the formulas):
- KirchhoffConfig   Kirchhoff / back-projection with aperture, angle limit, obliquity and spreading weights,
                    anti-aliasing, and refraction at the ground surface for an antenna above it.
- StoltConfig       Stolt f-k migration, constant ground velocity; antenna height by a phase shift through air.
- PhaseShiftConfig  Gazdag phase-shift migration through flat layers, with the air layer of the antenna height.
refraction=False in any config replaces the air by the ground velocity (straight rays from the antenna):
it mislocates and defocuses targets when height_m > 0, and is there to compare.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from sensorkit.kernels.kirchhoff import check_depth_axis, kirchhoff_migrate_2d, kirchhoff_migrate_3d
from sensorkit.kernels.phase_shift import check_layers, phase_shift_migrate_2d, phase_shift_migrate_3d
from sensorkit.kernels.stolt import stolt_migrate_2d, stolt_migrate_3d
from sensorkit.kernels.traveltime import C0_MPS
from sensorkit.kernels.validate import positive_float

__all__ = ["KirchhoffConfig", "MigratedImage", "PhaseShiftConfig", "StoltConfig", "default_depth_axis_m", "migrate"]


@dataclass(frozen=True)
class KirchhoffConfig:
    """Kirchhoff / back-projection migration (sensorkit.kernels.kirchhoff).

    velocity_mps   ground velocity, m/s (1.0e8 = 0.1 m/ns, eps_r about 9)
    height_m       antenna height above the ground, m (0: ground-coupled)
    refraction     Snell refraction at the ground surface when height_m > 0 (False: straight rays at the
                   ground velocity from the antenna)
    aperture_m     largest horizontal distance voxel-trace, m
    max_angle_deg  largest ray angle from vertical at the voxel, degrees
    antialias      triangle anti-aliasing filter (Lumley-Claerbout-Bevc) sized by the operator dip
    rho_filter     derivative pre-filter of the Kirchhoff integral (3D: d/dt, 2D: half derivative)
    """

    velocity_mps: float = 1.0e8
    height_m: float = 0.0
    refraction: bool = True
    aperture_m: float = 0.5
    max_angle_deg: float = 60.0
    antialias: bool = True
    rho_filter: bool = True

    method = "kirchhoff"


@dataclass(frozen=True)
class StoltConfig:
    """Stolt f-k migration in a constant-velocity ground (sensorkit.kernels.stolt).

    velocity_mps     ground velocity, m/s
    height_m         antenna height above the ground, m (continued down through air by phase shift first)
    refraction       air at C0 between antenna and ground (False: air at the ground velocity)
    pad_m            lateral zero padding, m (None: u (nt - 1) dt, u = velocity / 2, the reach of a migration
                     semicircle at the end of the record)
    time_pad_factor  padded time length / nt (2: no wrap-around of the interpolation's replicas)
    interpolation    "linear" (fast) or "sinc" (8-point Lanczos, more accurate amplitudes, ~2x slower)
    """

    velocity_mps: float = 1.0e8
    height_m: float = 0.0
    refraction: bool = True
    pad_m: float | None = None
    time_pad_factor: float = 2.0
    interpolation: str = "linear"

    method = "stolt"


@dataclass(frozen=True)
class PhaseShiftConfig:
    """Phase-shift (Gazdag) migration through flat layers (sensorkit.kernels.phase_shift).

    layer_tops_m     depths of the layer tops, m, first 0 (the ground surface), increasing
    velocities_mps   one velocity per layer, m/s (the last layer extends down)
    height_m         antenna height above the ground, m (an air layer at C0 above the first layer)
    refraction       air at C0 (False: air at the first layer's velocity)
    pad_m            lateral zero padding, m (None: u_max (nt - 1) dt)
    time_pad_factor  padded time length / nt
    """

    layer_tops_m: tuple[float, ...] = (0.0,)
    velocities_mps: tuple[float, ...] = (1.0e8,)
    height_m: float = 0.0
    refraction: bool = True
    pad_m: float | None = None
    time_pad_factor: float = 2.0

    method = "phase_shift"


MigrationConfig = KirchhoffConfig | StoltConfig | PhaseShiftConfig


@dataclass(frozen=True)
class MigratedImage:
    """A migrated image in the survey frame (the layout of DESIGN.md, "migrated image").

    image    (nx, nz) for a line or (nx, ny, nz) for a grid, float32
    x_m      (nx,) trace positions along x, m;  y_m (ny,) across (grids only, None for a line)
    depth_m  (nz,) depths below the ground surface, m
    method   "kirchhoff" | "stolt" | "phase_shift"
    params   the configuration's fields plus dt_s, dx_m, dy_m (JSON-serialisable), to store beside the image
    """

    image: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray | None
    depth_m: np.ndarray
    method: str
    params: dict


def _regular_axis(name: str, values, n: int) -> tuple[np.ndarray, float]:
    """(positions float64 (n,), step) of a regular increasing axis; ValueError naming ``name`` if not."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a 1-D array of trace positions in metres, could not convert: "
                         f"{exc}") from None
    if a.ndim != 1 or a.size != n:
        raise ValueError(f"{name}: expected {n} positions (one per trace along that axis of data), found shape "
                         f"{a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected finite positions, found {int((~np.isfinite(a)).sum())} non-finite")
    if n == 1:
        return a, 1.0
    steps = np.diff(a)
    step = float(steps.mean())
    if not step > 0.0 or np.max(np.abs(steps - step)) > 1e-6 * step:
        raise ValueError(f"{name}: expected regularly spaced increasing positions (migration needs a regular "
                         f"grid; interpolate irregular traces first), found steps from {steps.min()!r} to "
                         f"{steps.max()!r} m")
    return a, step


def _vertical_time_s(depth_m: np.ndarray, tops: np.ndarray, vels: np.ndarray, height_m: float,
                     air_mps: float) -> np.ndarray:
    """Vertical two-way time (s) from the antenna to each depth through air and the layers."""
    bottoms = np.append(tops[1:], np.inf)
    z = np.asarray(depth_m, dtype=np.float64)[:, None]
    inside = np.clip(z, tops[None, :], bottoms[None, :]) - tops[None, :]
    return 2.0 * (height_m / air_mps + (inside / vels[None, :]).sum(axis=1))


def _layers_of(config) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(config, PhaseShiftConfig):
        return check_layers(config.layer_tops_m, config.velocities_mps)
    return np.zeros(1), np.array([float(config.velocity_mps)])


def default_depth_axis_m(n_samples: int, dt_s: float, config: MigrationConfig) -> np.ndarray:
    """Depths (m) from 0 to the vertical reach of the record, in steps of v_top * dt_s / 2 (v_top: top layer).

    The reach is the depth whose vertical two-way time (through the air layer of height_m, then the ground)
    equals (n_samples - 1) * dt_s.
    """
    _check_config(config)
    dt = positive_float("dt_s", dt_s)
    tops, vels = _layers_of(config)
    air = C0_MPS if config.refraction else float(vels[0])
    t_end = (int(n_samples) - 1) * dt
    t_air = 2.0 * float(config.height_m) / air
    if t_end <= t_air:
        raise ValueError(f"n_samples, dt_s: the record ({t_end!r} s) ends before the echo of the ground surface "
                         f"({t_air!r} s for height_m={config.height_m!r}): no depth to image")
    dz = float(vels[0]) * dt / 2.0
    # vertical time grows piecewise linearly with depth: invert it on the layer boundaries
    knots_z = np.append(tops, tops[-1] + float(vels[-1]) * t_end)
    knots_t = _vertical_time_s(knots_z, tops, vels, float(config.height_m), air)
    z_max = float(np.interp(t_end, knots_t, knots_z))
    return np.arange(int(math.floor(z_max / dz + 1e-9)) + 1) * dz


def _check_config(config) -> None:
    if not isinstance(config, (KirchhoffConfig, StoltConfig, PhaseShiftConfig)):
        raise ValueError(f"config: expected a KirchhoffConfig, StoltConfig or PhaseShiftConfig, found "
                         f"{type(config).__name__}")


def _json_params(config, dt_s: float, dx_m: float, dy_m: float | None) -> dict:
    params = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        params[f.name] = [float(v) for v in value] if isinstance(value, (tuple, list)) else value
    params.update(dt_s=float(dt_s), dx_m=float(dx_m), dy_m=None if dy_m is None else float(dy_m))
    return params


def migrate(data, *, dt_s: float, x_m, depth_m=None, config: MigrationConfig, y_m=None) -> MigratedImage:
    """Migrate a line (nx, nt) or a grid (nx, ny, nt, with y_m) with ``config``; returns a MigratedImage.

    depth_m: output depths (m), None for default_depth_axis_m(nt, dt_s, config). Bad input raises
    ValueError naming the argument or the config field.
    """
    _check_config(config)
    shape = np.shape(data)
    if len(shape) not in (2, 3):
        raise ValueError(f"data: expected traces (nx, n_samples) for a line or (nx, ny, n_samples) for a grid, "
                         f"found shape {shape}")
    is_3d = len(shape) == 3
    if is_3d and y_m is None:
        raise ValueError(f"y_m: expected the y positions of a grid's traces (data shape {shape}), found None")
    if not is_3d and y_m is not None:
        raise ValueError(f"y_m: expected None for a line (data shape {shape}); give grids as (nx, ny, n_samples)")
    x, dx = _regular_axis("x_m", x_m, shape[0])
    y, dy = _regular_axis("y_m", y_m, shape[1]) if is_3d else (None, None)
    z = default_depth_axis_m(shape[-1], dt_s, config) if depth_m is None else check_depth_axis(depth_m)
    geometry = dict(dt_s=dt_s, dx_m=dx, depth_m=z, height_m=config.height_m, refraction=config.refraction)
    if is_3d:
        geometry["dy_m"] = dy
    if isinstance(config, KirchhoffConfig):
        fn = kirchhoff_migrate_3d if is_3d else kirchhoff_migrate_2d
        image = fn(data, velocity_mps=config.velocity_mps, aperture_m=config.aperture_m,
                   max_angle_deg=config.max_angle_deg, antialias=config.antialias, rho_filter=config.rho_filter,
                   **geometry)
    elif isinstance(config, StoltConfig):
        fn = stolt_migrate_3d if is_3d else stolt_migrate_2d
        image = fn(data, velocity_mps=config.velocity_mps, pad_m=config.pad_m,
                   time_pad_factor=config.time_pad_factor, interpolation=config.interpolation, **geometry)
    else:
        fn = phase_shift_migrate_3d if is_3d else phase_shift_migrate_2d
        image = fn(data, layer_tops_m=config.layer_tops_m, velocities_mps=config.velocities_mps,
                   pad_m=config.pad_m, time_pad_factor=config.time_pad_factor, **geometry)
    return MigratedImage(image=image, x_m=x, y_m=y, depth_m=z, method=config.method,
                         params=_json_params(config, dt_s, dx, dy))
