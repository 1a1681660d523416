"""Catalogue of buried objects and soils of demining scenes, and how an object becomes forward-model Scatterers.

Object types (generic, with dimensions and permittivities like the published ones; sizes in m, depth_m is the
depth of the object's top below the mean ground surface):

  mines                                                      diameter    case height  top depth   eps_r
  ap-plastic    plastic-cased blast AP (PMA-2, VS-50, Type 72) 0.06-0.12   0.035-0.06   0.01-0.20   2.9
  ap-low-metal  as ap-plastic plus a metal striker/firing pin  0.06-0.12   0.035-0.06   0.01-0.20   2.9
  ap-metal      metal-cased AP (M16-, PROM-1-, OZM-style)     0.06-0.11   0.10-0.15    0.01-0.20   metal
  at-plastic    plastic AT (TM-62P, VS-2.2 style)                0.24-0.34   0.10-0.13    0.02-0.30   2.9
  at-metal      metal AT (TM-46, TM-57 style)                   0.28-0.32   0.10-0.11    0.02-0.30   metal
  clutter
  stone         1-3 overlapping spheres, extent 0.03-0.20      0.03-0.20                0.01-0.25   5-9
  root          long thin cylinder, diameter 0.01-0.06 m        length 0.3-0.8           0.02-0.25   12-25
  metal-scrap   shrapnel/bullet sphere or flat fragment         0.01-0.06                0.01-0.20   metal
  can           drink/food can, lying (cylinder) or upright     0.066-0.10 x 0.10-0.15   0.02-0.20   metal
  void          air cavity (burrow, rotted root)                0.04-0.16                0.03-0.25   1

How each becomes Scatterers (sensorkit.synth.gpr, whose disc is a single top face): a plastic case is a top
disc (eps_r 2.9 against the soil: reflection r_top = (n_soil - n_case) / (n_soil + n_case) > 0, the opposite
sign of a metal's -1) plus a bottom disc of amplitude r_bottom (1 - r_top**2), r_bottom = -r_top, placed at
the depth whose soil two-way time equals the time through the case (top + height sqrt(eps_case / eps_soil));
an air gap under the pressure plate (half of the plastic AP mines) is a small disc 5 mm below the top with the
case-to-air reflection; a low-metal mine's striker is a 3 mm metal sphere 15 mm below the top. Metal cases
are a metal top disc (nothing passes through). Stones and voids are spheres, roots and lying cans cylinders.

Soils (eps_r and one-way amplitude attenuation in dB/m around 1 GHz; the model's frequency-flat low-loss
conductivity is derived from it: sigma = 2 alpha sqrt(eps_r) / eta0, alpha = dB / 8.686):

  dry-sand    eps_r 4,  2 dB/m, compact damp sand (eps_r 6, 4 dB/m) from 0.6 m
  moist-sand  eps_r 9,  6 dB/m, wetter sand (eps_r 14, 10 dB/m) from 0.45 m
  loam        a dry crust eps_r 7, 8 dB/m, 4 cm thick over moist loam eps_r 12, 15 dB/m
  wet-clay    eps_r 20, 40 dB/m, homogeneous
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sensorkit.synth.gpr import Scatterer
from sensorkit.synth.soil import ETA0_OHM, Layer, Soil, reflection_coefficient

__all__ = ["CLUTTER_TYPES", "MINE_TYPES", "OBJECT_TYPES", "SOIL_TYPES", "BuriedObject", "ObjectType",
           "SoilType", "conductivity_from_attenuation", "draw_object", "make_soil", "object_scatterers"]

DB_PER_NP = 20.0 / math.log(10.0)  # 8.686 dB per neper
EPS_EXPLOSIVE_CASE = 2.9  # TNT / RDX fill in a plastic case
EPS_AIR = 1.0


@dataclass(frozen=True)
class ObjectType:
    """A kind of buried object. Ranges are (low, high) in m; eps_r a range, "metal", or a fixed number."""

    name: str
    category: str  # "mine" | "clutter"
    description: str
    size_m: tuple[float, float]  # largest horizontal extent: diameter, or length of a root
    height_m: tuple[float, float]  # vertical extent of a mine case (0 where drawn from the shape)
    depth_m: tuple[float, float]  # depth of the top
    eps_r: tuple[float, float] | str


MINE_TYPES = {
    "ap-plastic": ObjectType("ap-plastic", "mine", "plastic-cased blast anti-personnel mine, minimum metal",
                             (0.06, 0.12), (0.035, 0.06), (0.01, 0.20), (EPS_EXPLOSIVE_CASE, EPS_EXPLOSIVE_CASE)),
    "ap-low-metal": ObjectType("ap-low-metal", "mine", "plastic-cased anti-personnel mine with a metal striker",
                               (0.06, 0.12), (0.035, 0.06), (0.01, 0.20), (EPS_EXPLOSIVE_CASE, EPS_EXPLOSIVE_CASE)),
    "ap-metal": ObjectType("ap-metal", "mine", "metal-cased anti-personnel mine", (0.06, 0.11), (0.10, 0.15),
                           (0.01, 0.20), "metal"),
    "at-plastic": ObjectType("at-plastic", "mine", "plastic-cased anti-tank mine", (0.24, 0.34), (0.10, 0.13),
                             (0.02, 0.30), (EPS_EXPLOSIVE_CASE, EPS_EXPLOSIVE_CASE)),
    "at-metal": ObjectType("at-metal", "mine", "metal-cased anti-tank mine", (0.28, 0.32), (0.10, 0.11),
                           (0.02, 0.30), "metal"),
}
CLUTTER_TYPES = {
    "stone": ObjectType("stone", "clutter", "stone: 1-3 overlapping spheres", (0.03, 0.20), (0.0, 0.0),
                        (0.01, 0.25), (5.0, 9.0)),
    "root": ObjectType("root", "clutter", "root: long thin horizontal cylinder", (0.3, 0.8), (0.01, 0.06),
                       (0.02, 0.25), (12.0, 25.0)),
    "metal-scrap": ObjectType("metal-scrap", "clutter", "metal scrap: shrapnel, bullet or flat fragment",
                              (0.01, 0.06), (0.0, 0.0), (0.01, 0.20), "metal"),
    "can": ObjectType("can", "clutter", "metal can, lying or upright", (0.066, 0.15), (0.0, 0.0), (0.02, 0.20),
                      "metal"),
    "void": ObjectType("void", "clutter", "air-filled cavity", (0.04, 0.16), (0.0, 0.0), (0.03, 0.25),
                       (EPS_AIR, EPS_AIR)),
}
OBJECT_TYPES = {**MINE_TYPES, **CLUTTER_TYPES}


@dataclass(frozen=True)
class SoilType:
    """A soil: surface eps_r and attenuation (dB/m, one way, ~1 GHz), then layers (top_depth_m, eps_r, dB/m)."""

    name: str
    description: str
    eps_r: float
    attenuation_db_per_m: float
    layers: tuple[tuple[float, float, float], ...] = ()


SOIL_TYPES = {
    "dry-sand": SoilType("dry-sand", "dry sand over compact damp sand from 0.6 m", 4.0, 2.0, ((0.6, 6.0, 4.0),)),
    "moist-sand": SoilType("moist-sand", "moist sand over wetter sand from 0.45 m", 9.0, 6.0, ((0.45, 14.0, 10.0),)),
    "loam": SoilType("loam", "moist loam under a 4 cm dry crust", 7.0, 8.0, ((0.04, 12.0, 15.0),)),
    "wet-clay": SoilType("wet-clay", "wet clay, homogeneous", 20.0, 40.0),
}


def conductivity_from_attenuation(attenuation_db_per_m: float, eps_r: float) -> float:
    """Low-loss conductivity (S/m) giving the amplitude attenuation attenuation_db_per_m in a medium of eps_r."""
    alpha_np = attenuation_db_per_m / DB_PER_NP
    return 2.0 * alpha_np * math.sqrt(eps_r) / ETA0_OHM


def make_soil(name: str) -> Soil:
    """The forward-model Soil of a catalogue soil (SOIL_TYPES)."""
    if name not in SOIL_TYPES:
        raise ValueError(f"soil: expected one of {', '.join(map(repr, SOIL_TYPES))}, found {name!r}")
    t = SOIL_TYPES[name]
    layers = [Layer(top_depth_m=top, eps_r=eps, conductivity_s_per_m=conductivity_from_attenuation(db, eps))
              for top, eps, db in t.layers]
    return Soil(eps_r=t.eps_r, conductivity_s_per_m=conductivity_from_attenuation(t.attenuation_db_per_m, t.eps_r),
                layers=layers)


@dataclass
class BuriedObject:
    """One object placed in a lane. depth_m: its top below the mean surface; size_m: largest horizontal
    extent (root: its length); height_m: vertical extent; azimuth_rad: axis direction of roots and lying cans
    (from +x towards +y). parts: shape details drawn with the object (JSON-able)."""

    type: str
    x_m: float
    y_m: float
    depth_m: float
    size_m: float
    height_m: float
    azimuth_rad: float = 0.0
    eps_r: float | str = "metal"
    parts: dict = field(default_factory=dict)

    @property
    def category(self) -> str:
        return OBJECT_TYPES[self.type].category

    def footprint(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """End points of the object's horizontal axis (the same point twice for compact objects)."""
        half = 0.5 * self.size_m if self.type == "root" or self.parts.get("lying") else 0.0
        dx, dy = half * math.cos(self.azimuth_rad), half * math.sin(self.azimuth_rad)
        return (self.x_m - dx, self.y_m - dy), (self.x_m + dx, self.y_m + dy)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(lo) if hi <= lo else float(rng.uniform(lo, hi))


def draw_object(type_name: str, rng: np.random.Generator, x_m: float = 0.0, y_m: float = 0.0,
                depth_m: float | None = None) -> BuriedObject:
    """An object of the catalogue type ``type_name`` with size, depth and shape drawn from its ranges."""
    if type_name not in OBJECT_TYPES:
        raise ValueError(f"type: expected one of {', '.join(map(repr, OBJECT_TYPES))}, found {type_name!r}")
    t = OBJECT_TYPES[type_name]
    size = _uniform(rng, t.size_m)
    height = _uniform(rng, t.height_m)
    depth = _uniform(rng, t.depth_m) if depth_m is None else float(depth_m)
    eps = t.eps_r if isinstance(t.eps_r, str) else round(_uniform(rng, t.eps_r), 3)
    azimuth = float(rng.uniform(0.0, math.pi))
    parts: dict = {}
    if type_name in ("ap-plastic", "ap-low-metal"):
        parts["air_gap"] = bool(rng.random() < 0.5)
    elif type_name == "stone":
        n = int(rng.integers(1, 4))
        # sphere radii and horizontal offsets (m) of the lumps, inside the drawn extent
        radii = [0.5 * size * float(rng.uniform(0.55, 1.0)) if i else 0.5 * size for i in range(n)]
        # lump centres (dx, dy, dz) from the first lump's centre; dz >= 0 keeps the first lump on top
        offsets = [(0.0, 0.0, 0.0)] + [
            (*(float(v) for v in rng.uniform(-0.3, 0.3, 2) * size), float(rng.uniform(0.0, 0.3) * size))
            for _ in range(n - 1)]
        # scale the lumps so that the stone's horizontal extent is the drawn size
        extent = max(math.hypot(a[0] - b[0], a[1] - b[1]) + ra + rb
                     for ra, a in zip(radii, offsets) for rb, b in zip(radii, offsets))
        k = size / extent
        radii = [r * k for r in radii]
        offsets = [(dx * k, dy * k, dz * k) for dx, dy, dz in offsets]
        parts.update(radii_m=radii, offsets_m=offsets)
        height = max(radii[0] + dz + r for r, (_, _, dz) in zip(radii, offsets))
    elif type_name == "root":
        height = size_d = _uniform(rng, t.height_m)  # diameter
        parts["diameter_m"] = size_d
    elif type_name == "metal-scrap":
        parts["shape"] = "sphere" if rng.random() < 0.5 else "flake"
        height = size if parts["shape"] == "sphere" else 0.003
    elif type_name == "can":
        parts["lying"] = bool(rng.random() < 0.6)
        diameter = float(rng.uniform(0.066, 0.10))
        length = float(rng.uniform(0.10, 0.15))
        parts.update(diameter_m=diameter, length_m=length)
        size, height = (length, diameter) if parts["lying"] else (diameter, length)
    elif type_name == "void":
        height = size
    return BuriedObject(type=type_name, x_m=float(x_m), y_m=float(y_m), depth_m=depth, size_m=size,
                        height_m=height, azimuth_rad=azimuth, eps_r=eps, parts=parts)


def _equivalent_depth_m(top_m: float, thickness_m: float, eps_inside: float, eps_host: float) -> float:
    """Depth in the host soil whose two-way time equals going thickness_m further through eps_inside."""
    return top_m + thickness_m * math.sqrt(eps_inside / eps_host)


def object_scatterers(obj: BuriedObject, soil: Soil, name: str = "") -> list[Scatterer]:
    """The forward-model Scatterers of an object in ``soil`` (module docstring); the first one is its top."""
    top = float(obj.depth_m)
    x, y = obj.x_m, obj.y_m
    eps_host = soil.eps_r_at(top)
    if obj.type in ("ap-plastic", "ap-low-metal", "at-plastic"):
        radius = 0.5 * obj.size_m
        eps_case = float(obj.eps_r)
        r_top = reflection_coefficient(eps_host, eps_case)
        through = 1.0 - r_top ** 2
        out = [Scatterer(x, y, top, kind="disc", radius_m=radius, eps_r=eps_case, name=f"{name}:top"),
               Scatterer(x, y, _equivalent_depth_m(top, obj.height_m, eps_case, eps_host), kind="disc",
                         radius_m=radius, eps_r=None, amplitude=-r_top * through, name=f"{name}:bottom")]
        if obj.parts.get("air_gap"):
            out.append(Scatterer(x, y, _equivalent_depth_m(top, 0.005, eps_case, eps_host), kind="disc",
                                 radius_m=min(0.02, 0.35 * radius), eps_r=None,
                                 amplitude=reflection_coefficient(eps_case, EPS_AIR) * through,
                                 name=f"{name}:air-gap"))
        if obj.type == "ap-low-metal":
            out.append(Scatterer(x, y, _equivalent_depth_m(top, 0.015, eps_case, eps_host) + 0.003, kind="sphere",
                                 radius_m=0.003, eps_r=None, amplitude=-through, name=f"{name}:striker"))
        return out
    if obj.type in ("ap-metal", "at-metal"):
        return [Scatterer(x, y, top, kind="disc", radius_m=0.5 * obj.size_m, eps_r="metal", name=name)]
    if obj.type == "stone":
        r0 = obj.parts["radii_m"][0]
        return [Scatterer(x + dx, y + dy, top + r0 + dz, kind="sphere", radius_m=r, eps_r=obj.eps_r,
                          name=f"{name}:lump{i}")
                for i, (r, (dx, dy, dz)) in enumerate(zip(obj.parts["radii_m"], obj.parts["offsets_m"]))]
    if obj.type == "root":
        r = 0.5 * obj.parts["diameter_m"]
        return [Scatterer(x, y, top + r, kind="cylinder", radius_m=r, length_m=obj.size_m,
                          azimuth_rad=obj.azimuth_rad, eps_r=obj.eps_r, name=name)]
    if obj.type == "metal-scrap":
        if obj.parts["shape"] == "sphere":
            return [Scatterer(x, y, top + 0.5 * obj.size_m, kind="sphere", radius_m=0.5 * obj.size_m,
                              eps_r="metal", name=name)]
        return [Scatterer(x, y, top, kind="disc", radius_m=0.5 * obj.size_m, eps_r="metal", name=name)]
    if obj.type == "can":
        r = 0.5 * obj.parts["diameter_m"]
        if obj.parts["lying"]:
            return [Scatterer(x, y, top + r, kind="cylinder", radius_m=r, length_m=obj.parts["length_m"],
                              azimuth_rad=obj.azimuth_rad, eps_r="metal", name=name)]
        return [Scatterer(x, y, top, kind="disc", radius_m=r, eps_r="metal", name=name)]
    if obj.type == "void":
        return [Scatterer(x, y, top + 0.5 * obj.size_m, kind="sphere", radius_m=0.5 * obj.size_m, eps_r=EPS_AIR,
                          name=name)]
    raise ValueError(f"type: expected one of {', '.join(map(repr, OBJECT_TYPES))}, found {obj.type!r}")
