"""Synthetic GPR scenes and the traces an antenna records over them: the forward model shared by the firmware
simulators, the benchmark datasets and the tests (and the geometry migration inverts).

Frame: x along the line, y across, depth z positive down from a flat ground surface at z = 0; the antenna
midpoint is at (x, y) and height_m above the ground, the transmitter at x - offset_m / 2, the receiver at
x + offset_m / 2. Sample k of a trace is at two-way time k * dt_s - time_zero_s (time_zero_s = 0: sample 0 is
the transmission). Each trace is the sum of (sensorkit.kernels.gpr_forward documents the per-ray factors):

- scatterers (the `Scatterer` kinds), each with reflection coefficient r of its eps_r against the host layer
  (sensorkit.synth.soil.reflection_coefficient, "metal" -> -1; eps_r=None -> r = 1, amplitude taken as given):
    point     amplitude * r * T / (L_tx L_rx) * w(t - t_tx - t_rx), L the ray lengths in m (so 1 m x 1 m: gain 1)
    sphere    radius_m around (x_m, y_m, depth_m); physical optics over its surface (below)
    disc      horizontal disc of radius_m at depth_m (e.g. a mine's top face); physical optics over its face
    cylinder  horizontal cylinder of radius_m, length_m, axis at depth_m along azimuth_rad (from +x towards +y),
              centred on (x_m, y_m) (a pipe or root); physical optics over its side (no end caps)
  physical optics (Kirchhoff): the surface is cut into facets of area dA about facet_spacing_m apart (default
  a tenth of the centre wavelength in the host layer); each lit facet adds
      amplitude * r * T * dA / (2 pi v_local) * (cos_i + cos_s) / 2 / (L_tx L_rx) * dw/dt(t - t_tx - t_rx),
  which sums to the geometric-optics echo: r / (2 d) * w for a wide flat face at distance d (mirror) and
  r a / (2 R**2) * w for a sphere of radius a far away, plus the edge diffractions of finite faces.
- layer interfaces (layer_reflections=True): a flat mirror per boundary, r(eps above, eps below) * T / L_total.
- the ground-surface reflection (surface_reflection=True, height > 0): r_air->ground = (1 - n) / (1 + n) at
  2 sqrt(h**2 + (offset / 2)**2) / c0, spreading 1 / L_total.
- the direct air wave (direct_wave=True): direct_wave_amplitude / max(offset, min_range_m) at offset / c0, and on
  ground-coupled traces (height 0) the ground wave direct_wave_amplitude * exp(-alpha offset) / offset at
  offset / v.
T collects the losses along the ray: exp(-alpha_avg L_ground) (low-loss attenuation, soil.py), prod(1 - r_i**2)
over the layer boundaries crossed, and, when height > 0, the air-ground two-way transmission 4 n / (1 + n)**2.
Below layer boundaries rays are straight with the time-averaged velocity (soil.py). An antenna pattern
cos(theta)**pattern_cos_power per leg (theta from vertical at the antenna) is optional.
Then noise: white Gaussian (noise_rms) plus band-limited clutter (clutter_rms: white noise filtered by the
source wavelet, per trace), from numpy.random.default_rng(seed).
Rough ground / antenna bounce: pass a per-trace height_m array (see rough_height_profile); the ground is taken
flat under each trace and depths are measured from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensorkit.formats.base import DeviceInfo, GprLine, new_trace_meta
from sensorkit.kernels import gpr_forward as fwd
from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s
from sensorkit.synth.soil import Layer, Soil, attenuation_np_per_m, reflection_coefficient, velocity_mps
from sensorkit.synth.wavelets import WAVELET_CODES, Wavelet, as_wavelet

__all__ = ["Antenna", "GprScene", "Layer", "Scatterer", "Soil", "Wavelet", "forward_settings",
           "rough_height_profile", "scene_elements", "simulate_grid", "simulate_line", "simulate_swath",
           "simulate_traces", "truth_table"]

SCATTERER_KINDS = ("point", "sphere", "disc", "cylinder")
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


@dataclass
class Scatterer:
    """A buried object. depth_m: the point, the sphere's centre, the disc's plane, the cylinder's axis (m)."""

    x_m: float
    y_m: float
    depth_m: float
    kind: str = "point"
    amplitude: float = 1.0
    radius_m: float = 0.0
    length_m: float = 0.0
    azimuth_rad: float = 0.0
    eps_r: float | str | None = None  # None: reflection coefficient 1; "metal": -1; else against the host layer
    name: str = ""

    @property
    def top_depth_m(self) -> float:
        """Depth of the object's highest point (m)."""
        if self.kind in ("sphere", "cylinder"):
            return self.depth_m - self.radius_m
        return self.depth_m

    @property
    def size_m(self) -> float:
        """Largest horizontal extent (m): 0 for a point, the diameter, or the cylinder's length."""
        if self.kind == "point":
            return 0.0
        if self.kind == "cylinder":
            return max(self.length_m, 2.0 * self.radius_m)
        return 2.0 * self.radius_m


@dataclass
class Antenna:
    """The antenna: centre frequency, transmitter-receiver offset along x, nominal height above the ground.

    wavelet: "ricker" | "gaussian_derivative" | a Wavelet (e.g. Wavelet("measured", samples, dt_s)).
    pattern_cos_power: p of the radiation taper cos(theta)**p per leg (0: isotropic, 2: cos**2).
    """

    centre_frequency_hz: float
    offset_m: float = 0.0
    height_m: float = 0.0
    wavelet: str | Wavelet = "ricker"
    pattern_cos_power: float = 0.0


@dataclass
class GprScene:
    """Soil, buried objects, antenna, and which wave types and noise to include (module docstring).

    noise_rms, clutter_rms: white and band-limited noise, in trace units. direct_wave, surface_reflection,
    layer_reflections: include those events. direct_wave_amplitude: scale of the air and ground waves.
    geometric_spreading: False drops the 1/L factors (amplitudes then show attenuation and coefficients
    alone). min_range_m: floor of the spreading distances (near field). facet_spacing_m: facet size of
    extended objects (None: a tenth of the centre wavelength in the host layer). time_zero_s: two-way time
    of sample 0 is -time_zero_s (a pre-trigger delay; 0: sample 0 is the transmission).
    """

    soil: Soil
    scatterers: list[Scatterer] = field(default_factory=list)
    antenna: Antenna = field(default_factory=lambda: Antenna(centre_frequency_hz=1.0e9))
    noise_rms: float = 0.0
    clutter_rms: float = 0.0
    direct_wave: bool = True
    surface_reflection: bool = True
    layer_reflections: bool = True
    direct_wave_amplitude: float = 1.0
    geometric_spreading: bool = True
    min_range_m: float = 0.02
    facet_spacing_m: float | None = None
    time_zero_s: float = 0.0

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is out of range."""
        if not isinstance(self.soil, Soil):
            raise ValueError(f"scene.soil: expected a Soil, found {self.soil!r}")
        self.soil.validate()
        a = self.antenna
        if not isinstance(a, Antenna):
            raise ValueError(f"scene.antenna: expected an Antenna, found {a!r}")
        _check_number("antenna.centre_frequency_hz", a.centre_frequency_hz, lo=0.0, lo_open=True)
        _check_number("antenna.offset_m", a.offset_m, lo=0.0)
        _check_number("antenna.height_m", a.height_m, lo=0.0)
        _check_number("antenna.pattern_cos_power", a.pattern_cos_power, lo=0.0)
        as_wavelet(a.wavelet).validate()
        for name in ("noise_rms", "clutter_rms", "direct_wave_amplitude"):
            _check_number(f"scene.{name}", getattr(self, name), lo=0.0)
        _check_number("scene.min_range_m", self.min_range_m, lo=0.0, lo_open=True)
        _check_number("scene.time_zero_s", self.time_zero_s)
        if self.facet_spacing_m is not None:
            _check_number("scene.facet_spacing_m", self.facet_spacing_m, lo=0.0, lo_open=True)
        for i, s in enumerate(self.scatterers):
            _validate_scatterer(f"scene.scatterers[{i}]", s)


def _check_number(name: str, value, lo: float | None = None, lo_open: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a number, found {value!r}")
    v = float(value)
    if not math.isfinite(v) or (lo is not None and (v < lo or (lo_open and v == lo))):
        bound = "" if lo is None else f" {'>' if lo_open else '>='} {lo}"
        raise ValueError(f"{name}: expected a finite number{bound}, found {value!r}")
    return v


def _validate_scatterer(name: str, s) -> None:
    if not isinstance(s, Scatterer):
        raise ValueError(f"{name}: expected a Scatterer, found {s!r}")
    if s.kind not in SCATTERER_KINDS:
        raise ValueError(f"{name}.kind: expected one of {', '.join(map(repr, SCATTERER_KINDS))}, found {s.kind!r}")
    for field_name in ("x_m", "y_m", "amplitude", "azimuth_rad"):
        _check_number(f"{name}.{field_name}", getattr(s, field_name))
    _check_number(f"{name}.depth_m", s.depth_m, lo=0.0, lo_open=True)
    if s.kind != "point":
        _check_number(f"{name}.radius_m", s.radius_m, lo=0.0, lo_open=True)
    if s.kind == "cylinder":
        _check_number(f"{name}.length_m", s.length_m, lo=0.0, lo_open=True)
    if not s.top_depth_m > 0.0:
        raise ValueError(f"{name}: expected the object below the surface (depth_m - radius_m > 0), found "
                         f"depth_m={s.depth_m!r}, radius_m={s.radius_m!r}")
    if s.eps_r is not None and s.eps_r != "metal":
        if isinstance(s.eps_r, str):
            raise ValueError(f"{name}.eps_r: expected a number >= 1, 'metal' or None, found {s.eps_r!r}")
        _check_number(f"{name}.eps_r", s.eps_r, lo=1.0)


# ----------------------------------------------------------------------------------------------- facets

def _sphere_facets(s: Scatterer, spacing_m: float):
    """(points (n, 3), outward normals (n, 3), area per facet): equal-area Fibonacci lattice."""
    n = max(64, int(math.ceil(4.0 * math.pi * s.radius_m ** 2 / spacing_m ** 2)))
    i = np.arange(n) + 0.5
    nz = 1.0 - 2.0 * i / n
    rho = np.sqrt(1.0 - nz * nz)
    phi = np.arange(n) * _GOLDEN_ANGLE
    normals = np.stack([rho * np.cos(phi), rho * np.sin(phi), nz], axis=1)
    points = np.array([s.x_m, s.y_m, s.depth_m]) + s.radius_m * normals
    return points, normals, 4.0 * math.pi * s.radius_m ** 2 / n


def _disc_facets(s: Scatterer, spacing_m: float):
    """Top face of a horizontal disc: equal-area Vogel spiral, normals up (-z)."""
    n = max(32, int(math.ceil(math.pi * s.radius_m ** 2 / spacing_m ** 2)))
    rho = s.radius_m * np.sqrt((np.arange(n) + 0.5) / n)
    phi = np.arange(n) * _GOLDEN_ANGLE
    points = np.stack([s.x_m + rho * np.cos(phi), s.y_m + rho * np.sin(phi), np.full(n, float(s.depth_m))], axis=1)
    normals = np.tile([0.0, 0.0, -1.0], (n, 1))
    return points, normals, math.pi * s.radius_m ** 2 / n


def _cylinder_facets(s: Scatterer, spacing_m: float):
    """Side of a horizontal cylinder: a grid along the axis and around it (no end caps)."""
    n_axial = max(2, int(math.ceil(s.length_m / spacing_m)))
    n_around = max(16, int(math.ceil(2.0 * math.pi * s.radius_m / spacing_m)))
    along = (np.arange(n_axial) + 0.5) / n_axial * s.length_m - 0.5 * s.length_m
    psi = (np.arange(n_around) + 0.5) / n_around * 2.0 * math.pi
    axis = np.array([math.cos(s.azimuth_rad), math.sin(s.azimuth_rad), 0.0])
    across = np.array([-math.sin(s.azimuth_rad), math.cos(s.azimuth_rad), 0.0])
    down = np.array([0.0, 0.0, 1.0])
    normals_ring = np.cos(psi)[:, None] * across + np.sin(psi)[:, None] * down  # (n_around, 3)
    centre = np.array([s.x_m, s.y_m, s.depth_m])
    points = (centre + along[:, None, None] * axis + s.radius_m * normals_ring[None, :, :]).reshape(-1, 3)
    normals = np.tile(normals_ring, (n_axial, 1))
    return points, normals, (s.length_m / n_axial) * (2.0 * math.pi * s.radius_m / n_around)


_FACETS = {"sphere": _sphere_facets, "disc": _disc_facets, "cylinder": _cylinder_facets}


# ----------------------------------------------------------------------------------------------- elements

def _scatterer_reflection(soil: Soil, s: Scatterer) -> float:
    if s.eps_r is None:
        return 1.0
    return reflection_coefficient(soil.eps_r_at(s.depth_m), s.eps_r)


def _element_rows(soil: Soil, xs, ys, zs, normals, amps, mode: int) -> np.ndarray:
    """Rows of the element table (gpr_forward.ELEMENT_COLUMNS) with depth-dependent v, alpha and T."""
    rows = np.zeros((len(zs), len(fwd.ELEMENT_COLUMNS)))
    for i, z in enumerate(zs):
        z = float(z)
        rows[i] = (xs[i], ys[i], z, *normals[i], amps[i] * soil.two_way_transmission(z), mode,
                   soil.average_velocity_mps(z), soil.average_attenuation_np_per_m(z))
    return rows


def scene_elements(scene: GprScene) -> np.ndarray:
    """The element table (n_elements, 10) of a scene for sensorkit.kernels.gpr_forward (antenna independent)."""
    scene.validate()
    soil = scene.soil
    f_hz = float(scene.antenna.centre_frequency_hz)
    n_top = math.sqrt(soil.eps_r)
    up = np.array([[0.0, 0.0, -1.0]])
    blocks = []
    if scene.direct_wave:
        amp = scene.direct_wave_amplitude
        alpha_top = attenuation_np_per_m(soil.conductivity_s_per_m, soil.eps_r)
        blocks.append(np.array([[0, 0, 0, 0, 0, 0, amp, fwd.MODE_DIRECT, C0_MPS, 0.0],
                                [0, 0, 0, 0, 0, 0, amp, fwd.MODE_GROUND_WAVE, velocity_mps(soil.eps_r), alpha_top]],
                               dtype=np.float64))
    if scene.surface_reflection:
        blocks.append(np.array([[0, 0, 0, 0, 0, -1.0, (1.0 - n_top) / (1.0 + n_top), fwd.MODE_FLAT,
                                 velocity_mps(soil.eps_r), 0.0]]))
    if scene.layer_reflections:
        for depth, eps_above, eps_below in soil.interfaces():
            blocks.append(_element_rows(soil, [0.0], [0.0], [depth], up,
                                        [reflection_coefficient(eps_above, eps_below)], fwd.MODE_FLAT))
    for s in scene.scatterers:
        r = _scatterer_reflection(soil, s) * float(s.amplitude)
        if s.kind == "point":
            blocks.append(_element_rows(soil, [s.x_m], [s.y_m], [s.depth_m], up, [r], fwd.MODE_POINT))
            continue
        v_local = velocity_mps(soil.eps_r_at(s.depth_m))
        spacing = scene.facet_spacing_m or v_local / f_hz / 10.0
        points, normals, area = _FACETS[s.kind](s, spacing)
        amps = np.full(len(points), r * area / (2.0 * math.pi * v_local))
        blocks.append(_element_rows(soil, points[:, 0], points[:, 1], points[:, 2], normals, amps, fwd.MODE_FACET))
    if not blocks:
        return np.zeros((0, len(fwd.ELEMENT_COLUMNS)))
    return np.concatenate(blocks, axis=0)


def forward_settings(scene: GprScene, n_samples: int, dt_s: float) -> fwd.ForwardSettings:
    """The kernel settings (sampling, wavelet, physics switches) of a scene."""
    a = scene.antenna
    wavelet = as_wavelet(a.wavelet)
    f_hz = float(a.centre_frequency_hz)
    tau_lo, tau_hi = wavelet.window_s(f_hz)
    settings = fwd.ForwardSettings(
        n_samples=n_samples, dt_s=dt_s, centre_frequency_hz=f_hz, tau_lo_s=float(tau_lo), tau_hi_s=float(tau_hi),
        wavelet_code=WAVELET_CODES[wavelet.kind], time_zero_s=float(scene.time_zero_s),
        air_ground_two_way=scene.soil.air_ground_two_way_transmission(),
        pattern_cos_power=float(a.pattern_cos_power), spreading=bool(scene.geometric_spreading),
        min_range_m=float(scene.min_range_m))
    if wavelet.kind == "measured":
        settings.wavelet_table, settings.wavelet_dtable, settings.table_dt_s, settings.table_t0_s = wavelet.table()
    return settings


def _antenna_rows(scene: GprScene, xy: np.ndarray, height_m: np.ndarray) -> np.ndarray:
    half = 0.5 * float(scene.antenna.offset_m)
    return np.stack([xy[:, 0] - half, xy[:, 1], xy[:, 0] + half, xy[:, 1], height_m], axis=1)


def _heights(scene: GprScene, height_m, shape: tuple) -> np.ndarray:
    """Per-trace heights shaped `shape` (the antenna's height when None)."""
    if height_m is None:
        return np.full(shape, float(scene.antenna.height_m))
    try:
        h = np.asarray(height_m, dtype=np.float64)
        h = np.broadcast_to(h, shape)
    except (TypeError, ValueError):
        raise ValueError(f"height_m: expected a number or an array of shape {shape} (m above the ground), "
                         f"found {np.shape(height_m)}") from None
    if not np.all(np.isfinite(h)) or (h < 0).any():
        raise ValueError(f"height_m: expected finite heights >= 0 m, found min {np.nanmin(h)!r}, "
                         f"{int((~np.isfinite(h)).sum())} non-finite")
    return np.ascontiguousarray(h)


def _add_noise(traces: np.ndarray, scene: GprScene, dt_s: float, seed) -> None:
    """Add white noise (noise_rms) then band-limited clutter (clutter_rms) in place, from default_rng(seed)."""
    if scene.noise_rms == 0.0 and scene.clutter_rms == 0.0:
        return
    rng = np.random.default_rng(seed)
    flat = traces.reshape(-1, traces.shape[-1])
    if scene.noise_rms > 0.0:
        flat += (scene.noise_rms * rng.standard_normal(flat.shape)).astype(np.float32)
    if scene.clutter_rms > 0.0:
        from scipy.signal import fftconvolve

        w = as_wavelet(scene.antenna.wavelet).sampled(dt_s, float(scene.antenna.centre_frequency_hz))
        white = rng.standard_normal(flat.shape)
        clutter = fftconvolve(white, w[None, :], mode="same", axes=-1) / math.sqrt(float(np.sum(w * w)))
        flat += (scene.clutter_rms * clutter).astype(np.float32)


def _check_sampling(n_samples, dt_s) -> None:
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples: expected an integer >= 1, found {n_samples!r}")
    _check_number("dt_s", dt_s, lo=0.0, lo_open=True)


def simulate_traces(scene: GprScene, antenna_xy_m, n_samples: int, dt_s: float, seed=None,
                    height_m=None) -> np.ndarray:
    """Traces (n, n_samples) float32 recorded with the antenna midpoint at antenna_xy_m (n, 2), in metres.

    height_m: None (the antenna's height), a number, or one height per trace (n,) above the local ground.
    seed: int, numpy Generator or None for the noise (only drawn when noise_rms or clutter_rms > 0).
    """
    _check_sampling(n_samples, dt_s)
    try:
        xy = np.asarray(antenna_xy_m, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"antenna_xy_m: expected an array (n, 2) of x, y in metres, found {antenna_xy_m!r}") from None
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 1:
        raise ValueError(f"antenna_xy_m: expected an array (n, 2) of x, y in metres with n >= 1, found shape "
                         f"{xy.shape}")
    if not np.all(np.isfinite(xy)):
        raise ValueError(f"antenna_xy_m: expected finite positions, found {int((~np.isfinite(xy)).sum())} non-finite")
    elements = scene_elements(scene)
    heights = _heights(scene, height_m, (xy.shape[0],))
    traces = fwd.render_traces(_antenna_rows(scene, xy, heights), elements, forward_settings(scene, n_samples, dt_s))
    _add_noise(traces, scene, dt_s, seed)
    return traces


def _positions(name: str, values) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a 1-D array of positions in metres, found {values!r}") from None
    if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected a 1-D array of at least one finite position in metres, found shape "
                         f"{a.shape}")
    return a


def simulate_grid(scene: GprScene, x_m, y_m, n_samples: int, dt_s: float, seed=None, height_m=None) -> np.ndarray:
    """Traces (nx, ny, n_samples) float32; traces[ix, iy, :] recorded at (x_m[ix], y_m[iy]).

    height_m: None, a number, or an array (nx, ny) of heights.
    """
    x = _positions("x_m", x_m)
    y = _positions("y_m", y_m)
    gx, gy = np.meshgrid(x, y, indexing="ij")
    heights = _heights(scene, height_m, gx.shape).reshape(-1)
    traces = simulate_traces(scene, np.stack([gx.ravel(), gy.ravel()], axis=1), n_samples, dt_s, seed, heights)
    return traces.reshape(x.size, y.size, n_samples)


def truth_table(scene: GprScene, dt_s: float | None = None) -> list[dict]:
    """Ground truth, one dict per scatterer: position, kind, size, eps_r, reflection coefficient and the
    expected two-way time at the apex (antenna at its nominal height straight above (x_m, y_m), echo from the
    top point: 2 * refracted_one_way_time_s(offset / 2, h, top_depth, v_avg(top_depth))); apex_sample when dt_s
    is given (fractional sample index, time_zero_s included)."""
    scene.validate()
    soil = scene.soil
    a = scene.antenna
    rows = []
    for i, s in enumerate(scene.scatterers):
        top = s.top_depth_m
        t = 2.0 * refracted_one_way_time_s(0.5 * a.offset_m, a.height_m, top, soil.average_velocity_mps(top))
        row = {"index": i, "name": s.name, "kind": s.kind, "x_m": float(s.x_m), "y_m": float(s.y_m),
               "depth_m": float(s.depth_m), "top_depth_m": float(top), "radius_m": float(s.radius_m),
               "length_m": float(s.length_m), "azimuth_rad": float(s.azimuth_rad), "size_m": float(s.size_m),
               "eps_r": s.eps_r, "reflection_coefficient": _scatterer_reflection(soil, s),
               "amplitude": float(s.amplitude), "two_way_time_s": float(t)}
        if dt_s is not None:
            row["apex_sample"] = float((t + scene.time_zero_s) / dt_s)
        rows.append(row)
    return rows


def scene_config(scene: GprScene) -> dict:
    """A JSON-able summary of the scene (stored as the device config of synthetic lines)."""
    a = scene.antenna
    wavelet = as_wavelet(a.wavelet)
    return {
        "soil": {"eps_r": scene.soil.eps_r, "conductivity_s_per_m": scene.soil.conductivity_s_per_m,
                 "layers": [[la.top_depth_m, la.eps_r, la.conductivity_s_per_m] for la in scene.soil.layers]},
        "antenna": {"centre_frequency_hz": a.centre_frequency_hz, "offset_m": a.offset_m, "height_m": a.height_m,
                    "wavelet": wavelet.kind, "pattern_cos_power": a.pattern_cos_power},
        "n_scatterers": len(scene.scatterers), "noise_rms": scene.noise_rms, "clutter_rms": scene.clutter_rms,
        "direct_wave": scene.direct_wave, "surface_reflection": scene.surface_reflection,
        "layer_reflections": scene.layer_reflections,
    }


def _line(scene: GprScene, name: str, traces: np.ndarray, dt_s: float, x: np.ndarray, y_m: float,
          attrs: dict) -> GprLine:
    meta = new_trace_meta(x.size)
    meta["x_m"] = x
    meta["y_m"] = y_m
    a = scene.antenna
    return GprLine(name=name, traces=traces, dt_s=float(dt_s), trace_meta=meta,
                   device=DeviceInfo(kind="gpr", model="sensorkit.synth", config=scene_config(scene)),
                   centre_frequency_hz=float(a.centre_frequency_hz), antenna_offset_m=float(a.offset_m),
                   antenna_height_m=float(a.height_m), time_zero_s=float(scene.time_zero_s),
                   units="relative amplitude",
                   attrs={"synthetic": True, "rel_permittivity": float(scene.soil.eps_r), **attrs})


def simulate_line(scene: GprScene, x_m, n_samples: int, dt_s: float, y_m: float = 0.0, seed=None,
                  height_m=None, name: str = "synthetic") -> tuple[GprLine, list[dict]]:
    """A line along x at y_m: (GprLine with float32 traces (n, n_samples) and x_m, y_m in trace_meta, truth).

    height_m: None, a number, or one height per trace (n,). truth: truth_table(scene, dt_s).
    """
    x = _positions("x_m", x_m)
    y = _check_number("y_m", y_m)
    xy = np.stack([x, np.full(x.size, y)], axis=1)
    traces = simulate_traces(scene, xy, n_samples, dt_s, seed, height_m)
    return _line(scene, name, traces, dt_s, x, y, {}), truth_table(scene, dt_s)


def simulate_swath(scene: GprScene, x_m, channel_y_m, n_samples: int, dt_s: float, seed=None, height_m=None,
                   name: str = "synthetic_swath") -> tuple[GprLine, list[dict]]:
    """A multi-channel antenna array moving along x, channel c at y = channel_y_m[c].

    Returns (GprLine with traces (n_traces, n_channels, n_samples) float32, truth). trace_meta holds x_m and
    the array's mean y; attrs["channel_y_m"] lists the channel positions. height_m: None, a number, (n,) or
    (n, n_channels).
    """
    x = _positions("x_m", x_m)
    ch = _positions("channel_y_m", channel_y_m)
    gx, gy = np.meshgrid(x, ch, indexing="ij")
    h = np.asarray(height_m, dtype=np.float64) if height_m is not None else None
    if h is not None and h.ndim == 1 and h.shape == x.shape:
        h = h[:, None]
    heights = _heights(scene, h, gx.shape).reshape(-1)
    traces = simulate_traces(scene, np.stack([gx.ravel(), gy.ravel()], axis=1), n_samples, dt_s, seed, heights)
    traces = traces.reshape(x.size, ch.size, n_samples)
    line = _line(scene, name, traces, dt_s, x, float(ch.mean()), {"channel_y_m": [float(c) for c in ch]})
    return line, truth_table(scene, dt_s)


def rough_height_profile(x_m, mean_height_m: float, rms_m: float, correlation_length_m: float,
                         seed=None) -> np.ndarray:
    """Antenna heights (n,) over a rough ground along positions x_m: mean_height_m plus a Gaussian random
    profile of standard deviation rms_m and Gaussian correlation exp(-(dx / correlation_length_m)**2),
    clipped at 0 (the antenna touching the ground)."""
    from scipy.ndimage import gaussian_filter1d

    x = _positions("x_m", x_m)
    mean = _check_number("mean_height_m", mean_height_m, lo=0.0)
    rms = _check_number("rms_m", rms_m, lo=0.0)
    corr = _check_number("correlation_length_m", correlation_length_m, lo=0.0, lo_open=True)
    rng = np.random.default_rng(seed)
    step = corr / 8.0
    pad = 4.0 * corr
    n = int(math.ceil((x.max() - x.min() + 2 * pad) / step)) + 1
    if n > 10_000_000:
        raise ValueError(f"correlation_length_m: {corr!r} m is too short for a line of "
                         f"{x.max() - x.min():.3g} m (more than 1e7 grid points)")
    grid = x.min() - pad + np.arange(n) * step
    dev = gaussian_filter1d(rng.standard_normal(n), sigma=corr / (2.0 * step))  # exp(-d^2/l^2) correlation
    std = dev.std()
    dev = dev / std * rms if std > 0 else dev * 0.0
    return np.maximum(mean + np.interp(x, grid, dev), 0.0)
