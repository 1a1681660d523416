"""The ground of a synthetic GPR scene: a half-space of relative permittivity eps_r and conductivity, with
optional flat layers below it, and the low-loss electromagnetic quantities derived from them.

Formulas (SI units, non-magnetic ground):

- velocity                    v = c0 / sqrt(eps_r)
- attenuation (low loss)      alpha = sigma / 2 * sqrt(mu0 / (eps0 eps_r)) = sigma * eta0 / (2 sqrt(eps_r))  [Np/m]
                              (valid while sigma / (omega eps0 eps_r) << 1; frequency independent, no dispersion)
- normal-incidence reflection r = (sqrt(eps1) - sqrt(eps2)) / (sqrt(eps1) + sqrt(eps2)) of the electric field,
                              going from medium 1 into medium 2 (a perfect conductor gives r = -1)
- two-way transmission        t12 * t21 = 1 - r**2 through an interface crossed down and back up

Below a layer boundary rays are straight in an equivalent homogeneous ground with the time-averaged velocity
down to the depth z, v_avg(z) = z / sum_i(dz_i / v_i): vertical two-way times are exact, oblique ones
approximate (no refraction at layer boundaries). The attenuation uses the depth-averaged
alpha_avg(z) = sum_i(alpha_i dz_i) / z along the same straight ray.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sensorkit.kernels.traveltime import C0_MPS

#: Impedance of free space, ohm (mu0 * c0).
ETA0_OHM = 376.730313668


def velocity_mps(eps_r: float) -> float:
    """Wave velocity (m/s) in a non-magnetic medium of relative permittivity eps_r: c0 / sqrt(eps_r)."""
    return C0_MPS / math.sqrt(eps_r)


def attenuation_np_per_m(conductivity_s_per_m: float, eps_r: float) -> float:
    """Low-loss amplitude attenuation (Np/m): alpha = sigma / 2 * sqrt(mu0 / (eps0 eps_r))."""
    return 0.5 * conductivity_s_per_m * ETA0_OHM / math.sqrt(eps_r)


def reflection_coefficient(eps_r_from: float, eps_r_to) -> float:
    """Normal-incidence field reflection going from eps_r_from into eps_r_to ("metal": -1).

    r = (sqrt(eps1) - sqrt(eps2)) / (sqrt(eps1) + sqrt(eps2)); positive into a slower-to-faster contrast
    (e.g. a plastic mine or an air void in moist soil), negative into a faster-to-slower one or a metal.
    """
    if isinstance(eps_r_to, str):
        if eps_r_to != "metal":
            raise ValueError(f"eps_r: expected a number >= 1 or 'metal', found {eps_r_to!r}")
        return -1.0
    n1, n2 = math.sqrt(eps_r_from), math.sqrt(eps_r_to)
    return (n1 - n2) / (n1 + n2)


def _check_eps(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 1.0:
        raise ValueError(f"{name}: expected a relative permittivity eps_r >= 1, found {value!r}")
    return float(value)


def _check_sigma(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name}: expected a conductivity >= 0 S/m, found {value!r}")
    return float(value)


@dataclass
class Layer:
    """A flat layer of the ground from top_depth_m (m, > 0) down to the next layer or to infinity."""

    top_depth_m: float
    eps_r: float
    conductivity_s_per_m: float = 0.0


@dataclass
class Soil:
    """The ground: eps_r and conductivity from the surface down, then ``layers`` (sorted by top_depth_m)."""

    eps_r: float
    conductivity_s_per_m: float = 0.0
    layers: list[Layer] = field(default_factory=list)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is out of range or the layers are not ordered."""
        _check_eps("soil.eps_r", self.eps_r)
        _check_sigma("soil.conductivity_s_per_m", self.conductivity_s_per_m)
        previous = 0.0
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"soil.layers[{i}]: expected a Layer, found {layer!r}")
            _check_eps(f"soil.layers[{i}].eps_r", layer.eps_r)
            _check_sigma(f"soil.layers[{i}].conductivity_s_per_m", layer.conductivity_s_per_m)
            top = layer.top_depth_m
            if not isinstance(top, (int, float)) or not math.isfinite(top) or top <= previous:
                raise ValueError(f"soil.layers[{i}].top_depth_m: expected a depth > {previous} m (layers sorted "
                                 f"from the top down, below the surface), found {top!r}")
            previous = float(top)

    def column(self) -> list[tuple[float, float, float]]:
        """[(top_depth_m, eps_r, conductivity_s_per_m)] from the surface (top 0) down."""
        return [(0.0, float(self.eps_r), float(self.conductivity_s_per_m))] + [
            (float(la.top_depth_m), float(la.eps_r), float(la.conductivity_s_per_m)) for la in self.layers]

    def eps_r_at(self, depth_m: float) -> float:
        """eps_r of the layer holding depth_m (a point on a boundary belongs to the layer below)."""
        eps = self.eps_r
        for top, e, _ in self.column():
            if depth_m >= top:
                eps = e
        return float(eps)

    def _integrals(self, depth_m: float) -> tuple[float, float]:
        """(vertical one-way time to depth_m, integral of alpha over depth) through the layers."""
        col = self.column()
        time_s = 0.0
        loss_np = 0.0
        for i, (top, eps, sigma) in enumerate(col):
            bottom = col[i + 1][0] if i + 1 < len(col) else math.inf
            dz = min(depth_m, bottom) - top
            if dz <= 0.0:
                break
            time_s += dz / velocity_mps(eps)
            loss_np += dz * attenuation_np_per_m(sigma, eps)
        return time_s, loss_np

    def average_velocity_mps(self, depth_m: float) -> float:
        """Time-averaged velocity down to depth_m: z / sum(dz_i / v_i) (the top velocity at depth 0)."""
        if depth_m <= 0.0:
            return velocity_mps(self.eps_r)
        time_s, _ = self._integrals(depth_m)
        return depth_m / time_s

    def average_attenuation_np_per_m(self, depth_m: float) -> float:
        """Depth-averaged attenuation down to depth_m: sum(alpha_i dz_i) / z (Np/m)."""
        if depth_m <= 0.0:
            return attenuation_np_per_m(self.conductivity_s_per_m, self.eps_r)
        _, loss_np = self._integrals(depth_m)
        return loss_np / depth_m

    def interfaces(self) -> list[tuple[float, float, float]]:
        """[(depth_m, eps_r above, eps_r below)] of the layer boundaries, from the top down."""
        col = self.column()
        return [(col[i][0], col[i - 1][1], col[i][1]) for i in range(1, len(col))]

    def two_way_transmission(self, depth_m: float) -> float:
        """Product of (1 - r**2) over the layer boundaries strictly above depth_m (down and back up)."""
        factor = 1.0
        for depth, eps_above, eps_below in self.interfaces():
            if depth < depth_m:
                factor *= 1.0 - reflection_coefficient(eps_above, eps_below) ** 2
        return factor

    def air_ground_two_way_transmission(self) -> float:
        """Air -> ground -> air transmission at normal incidence: t_ag * t_ga = 4 n / (1 + n)**2, n = sqrt(eps_r)."""
        n = math.sqrt(self.eps_r)
        return 4.0 * n / (1.0 + n) ** 2

    def two_way_time_s(self, depth_m: float, height_m: float = 0.0) -> float:
        """Vertical two-way time (s) from an antenna height_m above the surface to depth_m and back."""
        time_s, _ = self._integrals(max(depth_m, 0.0))
        return 2.0 * (height_m / C0_MPS + time_s)
