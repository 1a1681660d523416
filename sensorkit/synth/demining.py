"""Demining lanes for the synthetic GPR forward model: mines and clutter (sensorkit.synth.mines) placed in a
lane of a catalogue soil, surveyed by a 1 GHz antenna array at a nominal height over a rough ground, and the
"gpr-mines" dataset generator that writes such lanes as sensorkit recordings with their ground truth.

    lane = random_lane("L01", "moist-sand", ["ap-plastic", "at-metal"], ["stone", "root"], seed=1)
    line, truth = simulate_lane(lane)          # GprLine swath: traces (251, 21, 256) float32, truth rows

Lane frame: x along the lane from 0 to size_x_m, y across it from 0 to size_y_m, depth below the mean ground.
The array (channels every channel_spacing_m across the whole lane width) moves along x; it records a swath
(as sensorkit.synth.gpr.simulate_swath), traces (n_x, n_channels, n_samples), one stream per lane.

Rough ground and antenna bounce: each trace's antenna height above the local ground is
    h(x, y) = antenna_height_m + bounce(x) - ground(x, y), clipped at MIN_HEIGHT_M,
bounce a Gaussian random profile along x (rms height_variation_m, correlation BOUNCE_CORRELATION_M, the same
for every channel of the rigid array) and ground a Gaussian random surface (rms roughness_rms_m, correlation
roughness_correlation_m). The forward model takes the ground flat under each trace, so objects keep their
depth below the local ground; the truth gives depths below the mean ground.

Rendering: the background (direct coupling, surface and layer echoes, noise) on every trace, then each object
on the traces within TRACE_REACH_M (plus its half size) of its axis only, without the facets that no ray
refracted into the ground can light; extended objects are cut into facets a sixth of the shortest wavelength
in the soil apart (FACETS_PER_WAVELENGTH; the model's default is a tenth: echoes differ by up to ~2 %).
A test checks the result against rendering the whole scene on every trace.

Ground truth rows (truth CSV): id, kind (mine|clutter), type, x_m, y_m, depth_m (of the top), size_m (largest
horizontal extent: diameter, or length of a root or lying can), soil, lane.

Dataset spec (datasets/<name>/spec.json, kind "gpr-mines"; check_spec documents the fields): settings
{antenna, sampling, noise, lane_defaults} and lanes [{id, split, soil, seed, mines: [types], clutter: [types],
overrides}]. A lane's random draws come from lane_seed(spec seed, lane seed).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensorkit.kernels import gpr_forward as fwd
from sensorkit.kernels.traveltime import C0_MPS
from sensorkit.scoring.mines import read_truth
from sensorkit.synth.gpr import Antenna, GprScene, forward_settings, scene_config, scene_elements, simulate_swath
from sensorkit.synth.mines import (CLUTTER_TYPES, MINE_TYPES, SOIL_TYPES, BuriedObject, draw_object, make_soil,
                                   object_scatterers)
from sensorkit.synth.soil import velocity_mps
from sensorkit.synth.wavelets import Wavelet

__all__ = ["DATASET_KIND", "TRUTH_COLUMNS", "Lane", "SpecError", "check_spec", "distance_to_segment",
           "generate_mine_lanes", "lane_antenna_heights", "lane_from_spec", "lane_seed", "load_spec", "make_lane",
           "make_lane_files", "mine_lanes_truth", "random_lane", "simulate_lane", "write_lane_recording",
           "write_truth_csv"]

DATASET_KIND = "gpr-mines"
TRUTH_COLUMNS = ("id", "kind", "type", "x_m", "y_m", "depth_m", "size_m", "soil", "lane")
MIN_HEIGHT_M = 0.01  # the antenna never touches the ground (that would switch the model to ground coupling)
BOUNCE_CORRELATION_M = 0.5
FACETS_PER_WAVELENGTH = 6  # facet spacing of extended objects: a sixth of the shortest wavelength in the soil
TRACE_REACH_M = 0.5  # an object is rendered on the traces within this distance (plus its half size)
DEFAULT_ANTENNA = {"centre_frequency_hz": 1.0e9, "offset_m": 0.04, "height_m": 0.06, "pattern_cos_power": 2.0,
                   "wavelet_window_periods": 1.2}
DEFAULT_SAMPLING = {"n_samples": 256, "dt_s": 8.0e-11, "time_zero_s": 1.5e-9, "dx_m": 0.02,
                    "channel_spacing_m": 0.05}
DEFAULT_NOISE = {"noise_rms": 0.01, "clutter_rms": 0.01, "direct_wave_amplitude": 0.2}
DEFAULT_LANE = {"size_x_m": 5.0, "size_y_m": 1.0, "min_spacing_m": 0.4, "margin_m": 0.2, "roughness_rms_m": 0.003,
                "roughness_correlation_m": 0.1, "height_variation_m": 0.003}


@dataclass
class Lane:
    """A demining lane: its forward-model scene, the objects in it, ground truth rows and surface parameters."""

    name: str
    soil: str
    scene: GprScene
    objects: list[BuriedObject]
    truth: list[dict]
    seed: int
    size_x_m: float = 5.0
    size_y_m: float = 1.0
    roughness_rms_m: float = 0.003
    roughness_correlation_m: float = 0.1
    height_variation_m: float = 0.003
    extra: dict = field(default_factory=dict)

    def antenna_heights(self, x_m, y_m) -> np.ndarray:
        """Antenna heights (nx, ny) above the local ground at the grid x_m (nx,) x y_m (ny,) (module docstring)."""
        return lane_antenna_heights(x_m, y_m, antenna_height_m=self.scene.antenna.height_m,
                                    roughness_rms_m=self.roughness_rms_m,
                                    roughness_correlation_m=self.roughness_correlation_m,
                                    height_variation_m=self.height_variation_m, seed=self.seed)


def _check_float(name: str, value, lo: float | None = None, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a number, found {value!r}")
    v = float(value)
    if not math.isfinite(v) or (lo is not None and (v < lo or (lo_open and v == lo))):
        raise ValueError(f"{name}: expected a finite number {'>' if lo_open else '>='} {lo}, found {value!r}")
    return v


def _check_int(name: str, value, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name}: expected an integer >= {lo}, found {value!r}")
    return int(value)


def _random_field(shape: tuple[int, ...], sigma_px: tuple[float, ...], rms: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Gaussian random field of standard deviation rms, Gaussian-filtered white noise (sigma in pixels)."""
    from scipy.ndimage import gaussian_filter

    field_ = gaussian_filter(rng.standard_normal(shape), sigma=sigma_px, mode="wrap")
    std = float(field_.std())
    return field_ * (rms / std) if std > 0 else field_ * 0.0


def lane_antenna_heights(x_m, y_m, *, antenna_height_m: float, roughness_rms_m: float,
                         roughness_correlation_m: float, height_variation_m: float, seed) -> np.ndarray:
    """Antenna heights (nx, ny) in m above a rough ground: nominal height + bounce(x) - ground(x, y), clipped
    at MIN_HEIGHT_M. Correlations exp(-(d / l)**2); the fields are drawn on a fixed 1 cm grid from
    default_rng([seed, 2]) and interpolated, so they do not depend on the trace spacing."""
    from scipy.interpolate import RegularGridInterpolator

    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.size < 1 or y.size < 1 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"x_m, y_m: expected 1-D arrays of finite positions in m, found shapes {x.shape}, {y.shape}")
    h0 = _check_float("antenna_height_m", antenna_height_m, lo=0.0)
    rough = _check_float("roughness_rms_m", roughness_rms_m, lo=0.0)
    corr = _check_float("roughness_correlation_m", roughness_correlation_m, lo=0.0, lo_open=True)
    bounce_rms = _check_float("height_variation_m", height_variation_m, lo=0.0)
    rng = np.random.default_rng([int(seed), 2])
    step = 0.01
    pad = 2.0 * max(corr, BOUNCE_CORRELATION_M)
    gx = np.arange(x.min() - pad, x.max() + pad + step, step)
    gy = np.arange(y.min() - pad, y.max() + pad + step, step)
    # exp(-d^2/l^2) correlation of Gaussian-filtered white noise: sigma = l / 2
    ground = _random_field((gx.size, gy.size), (corr / 2 / step,) * 2, rough, rng)
    bounce = _random_field((gx.size,), (BOUNCE_CORRELATION_M / 2 / step,), bounce_rms, rng)
    px, py = np.meshgrid(x, y, indexing="ij")
    g = RegularGridInterpolator((gx, gy), ground)(np.stack([px, py], axis=-1))
    b = np.interp(x, gx, bounce)[:, None]
    return np.maximum(h0 + b - g, MIN_HEIGHT_M)


def _truth_row(lane: str, soil: str, index: int, obj: BuriedObject) -> dict:
    return {"id": f"{lane}-{index:02d}", "kind": obj.category, "type": obj.type, "x_m": round(obj.x_m, 4),
            "y_m": round(obj.y_m, 4), "depth_m": round(obj.depth_m, 4), "size_m": round(obj.size_m, 4),
            "soil": soil, "lane": lane}


def make_lane(soil: str, objects: list[BuriedObject], *, seed: int, name: str = "lane", size_x_m: float = 5.0,
              size_y_m: float = 1.0, roughness_rms_m: float = 0.003, roughness_correlation_m: float = 0.1,
              antenna_height_m: float = 0.06, height_variation_m: float = 0.003,
              centre_frequency_hz: float = 1.0e9, offset_m: float = 0.04, pattern_cos_power: float = 2.0,
              wavelet_window_periods: float = 1.2, noise_rms: float = 0.01, clutter_rms: float = 0.01,
              direct_wave_amplitude: float = 0.2, time_zero_s: float = 1.5e-9) -> Lane:
    """A lane of the catalogue soil ``soil`` holding ``objects`` (placed, in the lane frame): its GprScene
    (Ricker antenna, direct wave, surface and layer reflections, white and band-limited noise), truth rows
    and rough-ground parameters. seed: the lane's seed (surface, noise). Extended objects are cut into facets
    a sixth of the shortest wavelength in the soil apart (scene.facet_spacing_m)."""
    if soil not in SOIL_TYPES:
        raise ValueError(f"soil: expected one of {', '.join(map(repr, SOIL_TYPES))}, found {soil!r}")
    seed = _check_int("seed", seed)
    sx = _check_float("size_x_m", size_x_m, lo=0.0, lo_open=True)
    sy = _check_float("size_y_m", size_y_m, lo=0.0, lo_open=True)
    centre_frequency_hz = _check_float("centre_frequency_hz", centre_frequency_hz, lo=0.0, lo_open=True)
    soil_model = make_soil(soil)
    scatterers = []
    truth = []
    for i, obj in enumerate(objects):
        if not isinstance(obj, BuriedObject):
            raise ValueError(f"objects[{i}]: expected a BuriedObject, found {obj!r}")
        if not (0.0 <= obj.x_m <= sx and 0.0 <= obj.y_m <= sy):
            raise ValueError(f"objects[{i}]: expected a position inside the lane [0, {sx}] x [0, {sy}] m, found "
                             f"({obj.x_m}, {obj.y_m})")
        row = _truth_row(name, soil, i + 1, obj)
        truth.append(row)
        scatterers.extend(object_scatterers(obj, soil_model, name=row["id"]))
    antenna = Antenna(centre_frequency_hz=centre_frequency_hz, offset_m=offset_m, height_m=antenna_height_m,
                      wavelet=Wavelet("ricker", window_periods=wavelet_window_periods),
                      pattern_cos_power=pattern_cos_power)
    max_eps = max(eps for _, eps, _ in soil_model.column())
    facet_spacing_m = velocity_mps(max_eps) / centre_frequency_hz / FACETS_PER_WAVELENGTH
    scene = GprScene(soil=soil_model, scatterers=scatterers, antenna=antenna, noise_rms=noise_rms,
                     clutter_rms=clutter_rms, direct_wave_amplitude=direct_wave_amplitude, time_zero_s=time_zero_s,
                     facet_spacing_m=facet_spacing_m)
    scene.validate()
    lane = Lane(name=name, soil=soil, scene=scene, objects=list(objects), truth=truth, seed=seed, size_x_m=sx,
                size_y_m=sy, roughness_rms_m=roughness_rms_m, roughness_correlation_m=roughness_correlation_m,
                height_variation_m=height_variation_m)
    lane.antenna_heights([0.0], [0.0])  # validates the surface parameters now
    return lane


def _segment_distance_m(a: BuriedObject, b: BuriedObject) -> float:
    """Smallest horizontal distance between the axes of two objects (points for compact ones), sampled at 1 cm."""
    def samples(o):
        (x0, y0), (x1, y1) = o.footprint()
        n = max(2, int(math.ceil(math.hypot(x1 - x0, y1 - y0) / 0.01)) + 1)
        t = np.linspace(0.0, 1.0, n)
        return np.stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)], axis=1)
    pa, pb = samples(a), samples(b)
    return float(np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1)).min())


def _place(objects: list[BuriedObject], rng: np.random.Generator, size_x_m: float, size_y_m: float,
           spacing_m: float, margin_m: float, max_tries: int) -> list[BuriedObject] | None:
    """Give each object a random position and azimuth respecting spacing and margin; None when one finds no room."""
    placed: list[BuriedObject] = []
    for obj in objects:
        for _ in range(max_tries):
            obj.x_m = round(float(rng.uniform(margin_m, size_x_m - margin_m)), 4)
            obj.y_m = round(float(rng.uniform(margin_m, size_y_m - margin_m)), 4)
            obj.azimuth_rad = round(float(rng.uniform(0.0, math.pi)), 4)
            (x0, y0), (x1, y1) = obj.footprint()
            inside = (min(x0, x1) >= margin_m and max(x0, x1) <= size_x_m - margin_m and min(y0, y1) >= margin_m
                      and max(y0, y1) <= size_y_m - margin_m)
            if inside and all(_segment_distance_m(obj, other) >= spacing_m for other in placed):
                break
        else:
            return None
        placed.append(obj)
    return placed


def random_lane(name: str, soil: str, mine_types: list[str], clutter_types: list[str], *, seed: int,
                size_x_m: float = 5.0, size_y_m: float = 1.0, min_spacing_m: float = 0.4, margin_m: float = 0.2,
                max_tries: int = 200, max_restarts: int = 100, **lane_options) -> Lane:
    """A lane with one object of each listed type, sizes, depths and positions drawn from default_rng(seed).

    Every pair of objects is at least min_spacing_m apart (between their axes: a root or a lying can counts
    along its length), and every object's axis lies at least margin_m inside the lane's edges.
    lane_options: the surface, antenna and noise keywords of make_lane.
    """
    for i, t in enumerate(mine_types):
        if t not in MINE_TYPES:
            raise ValueError(f"mine_types[{i}]: expected one of {', '.join(map(repr, MINE_TYPES))}, found {t!r}")
    for i, t in enumerate(clutter_types):
        if t not in CLUTTER_TYPES:
            raise ValueError(f"clutter_types[{i}]: expected one of {', '.join(map(repr, CLUTTER_TYPES))}, "
                             f"found {t!r}")
    seed = _check_int("seed", seed)
    spacing = _check_float("min_spacing_m", min_spacing_m, lo=0.0)
    margin = _check_float("margin_m", margin_m, lo=0.0)
    rng = np.random.default_rng([seed, 1])
    types = list(mine_types) + list(clutter_types)
    objects = []
    for k in rng.permutation(len(types)):
        obj = draw_object(types[k], rng)
        obj.depth_m = round(obj.depth_m, 4)
        obj.size_m = round(obj.size_m, 4)
        objects.append(obj)
    for _ in range(max_restarts):  # greedy placement, started again when an object finds no room
        placed = _place(objects, rng, size_x_m, size_y_m, spacing, margin, max_tries)
        if placed is not None:
            break
    else:
        raise ValueError(f"lane {name!r}: could not place {len(types)} objects {min_spacing_m} m apart in "
                         f"{size_x_m} x {size_y_m} m (margin {margin_m} m) in {max_restarts} attempts")
    placed.sort(key=lambda o: (o.x_m, o.y_m))
    return make_lane(soil, placed, seed=seed, name=name, size_x_m=size_x_m, size_y_m=size_y_m, **lane_options)


def distance_to_segment(px, py, a, b) -> np.ndarray:
    """Horizontal distance (m) of points (px, py) to the segment a-b."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    n2 = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / n2, 0.0, 1.0) if n2 > 0 else 0.0
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _object_groups(lane: Lane) -> list[list]:
    """The scene's scatterers grouped by object (make_lane names them '<truth id>[:part]')."""
    groups = []
    for row in lane.truth:
        groups.append([s for s in lane.scene.scatterers if s.name.split(":")[0] == row["id"]])
    return groups


def _render_object(scene: GprScene, x_m, y_m, height_m, n_samples: int, dt_s: float) -> np.ndarray:
    """Traces (n, n_samples) of a scene's scatterers alone (no noise), as simulate_traces gives them, minus the
    facets that no antenna above the ground can light. A ray refracted into the ground arrives at depth z at
    most at sin(theta) = v(z) / c0 from the vertical (v(z) the model's straight-ray velocity, element column
    v_mps), so a facet whose downward normal component is at least v / c0 faces away from every such ray (the
    kernel would skip it too, after solving its rays). Only with every antenna above the ground (height > 0)."""
    elements = scene_elements(scene)
    heights = np.asarray(height_m, dtype=np.float64)
    if np.all(heights > 0.0):
        dark = (elements[:, 7] == fwd.MODE_FACET) & (elements[:, 5] >= elements[:, 8] / C0_MPS + 1e-9)
        elements = elements[~dark]
    half = 0.5 * float(scene.antenna.offset_m)
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    antennas = np.stack([x - half, y, x + half, y, heights], axis=1)
    return fwd.render_traces(antennas, elements, forward_settings(scene, n_samples, dt_s))


def simulate_lane(lane: Lane, *, dx_m: float = 0.02, channel_spacing_m: float = 0.05, n_samples: int = 256,
                  dt_s: float = 8.0e-11):
    """Survey the lane with the array: returns (line, truth rows). line is a GprLine swath, traces
    (nx, n_channels, n_samples) float32 at x = 0, dx_m, ... size_x_m (trace_meta x_m; y_m the array's centre)
    and channels y = 0, channel_spacing_m, ... size_y_m (attrs["channel_y_m"]); sample k at two-way time
    k * dt_s - time_zero_s.

    The heights over the rough ground come from the lane's seed, the noise from default_rng([seed, 3]).
    Each object is rendered only on the traces within TRACE_REACH_M (plus its half size) of its axis: beyond,
    the antenna pattern (cos**2 per leg) and spreading leave less than 1e-3 of its apex amplitude.
    """
    dx = _check_float("dx_m", dx_m, lo=0.0, lo_open=True)
    dy = _check_float("channel_spacing_m", channel_spacing_m, lo=0.0, lo_open=True)
    x = np.round(np.arange(0.0, lane.size_x_m + 0.5 * dx, dx), 6)
    y = np.round(np.arange(0.0, lane.size_y_m + 0.5 * dy, dy), 6)
    heights = lane.antenna_heights(x, y)
    scene = lane.scene
    background = dataclasses.replace(scene, scatterers=[])
    line, _ = simulate_swath(background, x, y, n_samples, dt_s, seed=np.random.default_rng([lane.seed, 3]),
                             height_m=heights, name=lane.name)
    line.device.config = scene_config(scene)
    gx, gy = np.meshgrid(x, y, indexing="ij")
    quiet = dataclasses.replace(scene, noise_rms=0.0, clutter_rms=0.0, direct_wave=False,
                                surface_reflection=False, layer_reflections=False)
    for obj, scatterers in zip(lane.objects, _object_groups(lane)):
        (x0, y0), (x1, y1) = obj.footprint()
        reach = TRACE_REACH_M + 0.5 * max(obj.size_m, obj.height_m)
        near = distance_to_segment(gx, gy, (x0, y0), (x1, y1)) <= reach
        if not near.any():
            continue
        line.traces[near] += _render_object(dataclasses.replace(quiet, scatterers=scatterers), gx[near], gy[near],
                                            heights[near], n_samples, dt_s)
    line.attrs.update(lane=lane.name, soil=lane.soil, lane_size_x_m=lane.size_x_m, lane_size_y_m=lane.size_y_m,
                      roughness_rms_m=lane.roughness_rms_m, height_variation_m=lane.height_variation_m,
                      **lane.extra)
    return line, lane.truth


# ----------------------------------------------------------------------------------------------- spec

class SpecError(ValueError):
    """A gpr-mines spec field is wrong: ``field`` (e.g. ``lanes[3].soil``), what was expected, what was found."""

    def __init__(self, field_name: str, expected: str, found=None):
        self.field = field_name
        self.expected = expected
        self.found = found
        text = f"spec.{field_name}: expected {expected}"
        if found is not None:
            text += f", found {found!r}"
        super().__init__(text)


SPEC_FIELDS = ("name", "kind", "version", "description", "seed", "splits", "settings", "lanes", "notes")
LANE_FIELDS = ("id", "split", "soil", "seed", "mines", "clutter")
_LANE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _section(settings: dict, key: str, defaults: dict) -> dict:
    given = settings.get(key, {})
    if not isinstance(given, dict):
        raise SpecError(f"settings.{key}", "an object", given)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SpecError(f"settings.{key}.{unknown[0]}", f"a known field ({', '.join(defaults)})", "an unknown field")
    return {**defaults, **given}


def check_spec(spec: dict) -> list[dict]:
    """Check a gpr-mines spec (the JSON object of datasets/<name>/spec.json); returns its lanes.

    Raises SpecError naming the field. Top level: kind "gpr-mines", seed (int >= 0), splits (names),
    settings {antenna, sampling, noise, lane_defaults} (DEFAULT_* give the fields and defaults), lanes
    [{id, split, soil, seed, mines: [types], clutter: [types], optional lane_defaults / antenna / noise
    fields overriding the settings for that lane}].
    """
    if not isinstance(spec, dict):
        raise SpecError("(top level)", "a JSON object", type(spec).__name__)
    unknown = sorted(set(spec) - set(SPEC_FIELDS))
    if unknown:
        raise SpecError(unknown[0], f"a known field ({', '.join(SPEC_FIELDS)})", "an unknown field")
    if spec.get("kind", DATASET_KIND) != DATASET_KIND:
        raise SpecError("kind", repr(DATASET_KIND), spec.get("kind"))
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError("seed", "an integer >= 0", seed)
    splits = spec.get("splits", ["train", "test"])
    if not isinstance(splits, list) or not all(isinstance(x, str) for x in splits):
        raise SpecError("splits", "a list of split names such as ['train', 'test']", splits)
    settings = spec.get("settings", {})
    if not isinstance(settings, dict):
        raise SpecError("settings", "an object", settings)
    sections = {"antenna": DEFAULT_ANTENNA, "sampling": DEFAULT_SAMPLING, "noise": DEFAULT_NOISE,
                "lane_defaults": DEFAULT_LANE}
    unknown = sorted(set(settings) - set(sections))
    if unknown:
        raise SpecError(f"settings.{unknown[0]}", f"a known section ({', '.join(sections)})", "an unknown field")
    for key, defaults in sections.items():
        for name, value in _section(settings, key, defaults).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SpecError(f"settings.{key}.{name}", "a finite number", value)
    lanes = spec.get("lanes")
    if not isinstance(lanes, list) or not lanes:
        raise SpecError("lanes", "a non-empty list of lanes", lanes)
    overridable = set(DEFAULT_LANE) | set(DEFAULT_ANTENNA) | set(DEFAULT_NOISE)
    ids = set()
    for i, lane in enumerate(lanes):
        where = f"lanes[{i}]"
        if not isinstance(lane, dict):
            raise SpecError(where, "an object", lane)
        for key in ("id", "split", "soil", "seed"):
            if key not in lane:
                raise SpecError(f"{where}.{key}", "a value (required field)")
        if not isinstance(lane["id"], str) or not _LANE_ID_RE.match(lane["id"]) or lane["id"] in ids:
            raise SpecError(f"{where}.id", "a unique id of letters, digits, '-', '_' or '.'", lane["id"])
        ids.add(lane["id"])
        if lane["split"] not in splits:
            raise SpecError(f"{where}.split", f"one of the spec's splits {splits}", lane["split"])
        if lane["soil"] not in SOIL_TYPES:
            raise SpecError(f"{where}.soil", f"one of {', '.join(SOIL_TYPES)}", lane["soil"])
        if isinstance(lane["seed"], bool) or not isinstance(lane["seed"], int) or lane["seed"] < 0:
            raise SpecError(f"{where}.seed", "an integer >= 0", lane["seed"])
        for key, known in (("mines", MINE_TYPES), ("clutter", CLUTTER_TYPES)):
            types = lane.get(key, [])
            if not isinstance(types, list):
                raise SpecError(f"{where}.{key}", "a list of object types", types)
            for j, t in enumerate(types):
                if t not in known:
                    raise SpecError(f"{where}.{key}[{j}]", f"one of {', '.join(known)}", t)
        for key in sorted(set(lane) - set(LANE_FIELDS)):
            if key not in overridable:
                raise SpecError(f"{where}.{key}", f"a known field ({', '.join(LANE_FIELDS)} or a setting of "
                                                  f"lane_defaults, antenna or noise)", "an unknown field")
            value = lane[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SpecError(f"{where}.{key}", "a finite number", value)
    return lanes


def spec_sampling(spec: dict) -> dict:
    """The spec's sampling settings (DEFAULT_SAMPLING filled in)."""
    return _section(spec.get("settings", {}), "sampling", DEFAULT_SAMPLING)


def lane_seed(spec: dict, lane: dict) -> int:
    """The seed of a lane's random draws: derived from the spec's seed and the lane's own seed."""
    state = np.random.SeedSequence([int(spec.get("seed", 0)), int(lane["seed"])]).generate_state(1)
    return int(state[0])


def lane_from_spec(spec: dict, index: int) -> Lane:
    """The Lane of spec["lanes"][index]: objects and surface drawn from lane_seed, antenna, noise and lane
    settings from the spec's settings, overridden by the lane's own fields."""
    lanes = check_spec(spec)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(lanes):
        raise ValueError(f"index: expected a lane index in [0, {len(lanes)}), found {index!r}")
    entry = lanes[index]
    settings = spec.get("settings", {})
    options = {**_section(settings, "antenna", DEFAULT_ANTENNA), **_section(settings, "noise", DEFAULT_NOISE),
               **_section(settings, "lane_defaults", DEFAULT_LANE),
               **{k: v for k, v in entry.items() if k not in LANE_FIELDS}}
    options["antenna_height_m"] = options.pop("height_m")
    options["time_zero_s"] = spec_sampling(spec)["time_zero_s"]
    lane = random_lane(entry["id"], entry["soil"], entry.get("mines", []), entry.get("clutter", []),
                       seed=lane_seed(spec, entry), **options)
    lane.extra = {"split": entry["split"], "dataset": str(spec.get("name", "")), "lane_spec_seed": entry["seed"]}
    return lane


def mine_lanes_truth(spec: dict) -> list[dict]:
    """Ground truth rows of every lane of a gpr-mines spec, without simulating any trace."""
    truth = []
    for i in range(len(check_spec(spec))):
        truth.extend(lane_from_spec(spec, i).truth)
    return truth


def write_truth_csv(rows: list[dict], path) -> Path:
    """Write truth rows (TRUTH_COLUMNS) as CSV, numbers to 0.1 mm; returns the path."""
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{row[k]:.4f}" if isinstance(row[k], float) else row[k]) for k in TRUTH_COLUMNS})
    return path


def write_lane_recording(line, path, *, overwrite: bool = True) -> Path:
    """Write one simulated lane (a GprLine swath) as a sensorkit recording with a single GPR stream."""
    from sensorkit.store.writer import RecordingWriter

    path = Path(path)
    # numeric lists as arrays: the writer keeps arrays as arrays (lists would become JSON text)
    attrs = {k: (np.asarray(v, dtype=np.float64) if isinstance(v, (list, tuple)) else v)
             for k, v in line.attrs.items()}
    with RecordingWriter(path, overwrite=overwrite) as writer:
        writer.add_device(line.name, line.device)
        writer.add_gpr_stream(line.name, n_samples=line.n_samples, dt_s=line.dt_s, dtype=line.traces.dtype,
                              n_channels=line.traces.shape[1] if line.traces.ndim == 3 else None,
                              centre_frequency_hz=line.centre_frequency_hz, antenna_offset_m=line.antenna_offset_m,
                              antenna_height_m=line.antenna_height_m, time_zero_s=line.time_zero_s,
                              units=line.units, attrs=attrs)
        writer.append_gpr(line.name, line.traces, line.trace_meta)
    return path


def make_lane_files(spec: dict, index: int, out_dir) -> list[Path]:
    """Simulate spec["lanes"][index] into out_dir/<split>/<id>.h5 (one swath stream named <id>) and
    out_dir/<split>/<id>.truth.csv; returns the two paths."""
    sampling = spec_sampling(spec)
    n_samples = _check_int("settings.sampling.n_samples", sampling["n_samples"], lo=1)
    t0 = time.perf_counter()
    lane = lane_from_spec(spec, index)
    line, rows = simulate_lane(lane, dx_m=sampling["dx_m"], channel_spacing_m=sampling["channel_spacing_m"],
                               n_samples=n_samples, dt_s=sampling["dt_s"])
    line.attrs["simulation_time_s"] = round(time.perf_counter() - t0, 3)
    folder = Path(out_dir) / lane.extra["split"]
    folder.mkdir(parents=True, exist_ok=True)
    return [write_lane_recording(line, folder / f"{lane.name}.h5"),
            write_truth_csv(rows, folder / f"{lane.name}.truth.csv")]


def generate_mine_lanes(spec: dict, out_dir, progress=None) -> list[Path]:
    """Generate a whole gpr-mines dataset into out_dir without the catalogue's cache: make_lane_files for every
    lane, then out_dir/truth.csv with every lane's rows; returns the paths (that truth.csv last).
    progress: None or a callable progress(n_done, n_total, lane_id) called after each lane."""
    lanes = check_spec(spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, truth = [], []
    for i, entry in enumerate(lanes):
        written = make_lane_files(spec, i, out)
        paths.extend(written)
        truth.extend(read_truth(written[1]))
        if progress is not None:
            progress(i + 1, len(lanes), entry["id"])
    paths.append(write_truth_csv(truth, out / "truth.csv"))
    return paths


def load_spec(path) -> dict:
    """A spec.json as a dict (ValueError naming the file when it is not JSON)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: expected a JSON dataset spec, could not read it: {exc}") from None
