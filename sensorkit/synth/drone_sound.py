"""The sound of a multirotor drone: one harmonic comb per rotor at its blade-passing frequency, plus broadband.

Rotor r turns at rpm_r = rpm (1 + o_r) F(t) (1 + d_0 D_0(t)) (1 + d_r D_r(t)) and its blades pass at
f_r = blades x rpm_r / 60 (the blade-passing frequency, BPF, 100..700 Hz for small drones), radiating harmonics
k f_r, k = 1..n_harmonics (at most ``max_harmonic_hz``), with levels falling by ``harmonic_slope_db`` per harmonic
(or given explicitly). o_r: a fixed per-rotor offset (rotors never turn at exactly the same speed), D_0, D_r: slow
random drifts (sensorkit.synth.sound_sources). The truth f0 is the mean BPF of the rotors.

Manoeuvres, a simple documented model (not aerodynamics): the rotors must produce the specific force
T = a + g z_hat + k_drag |v| v (acceleration, gravity, quadratic drag), and thrust grows with rpm**2, so

    F(t) = sqrt(|T| / g) (1 + k_climb v_z),  clipped to [0.5, 2]

with k_drag = ``drag_per_m`` (0.5 rho C_d A / m: 0.02 1/m for a 1.5 kg quadcopter with C_d A = 0.05 m**2; at
15 m/s this adds ~5 % rpm) and k_climb = ``climb_rpm_per_mps`` (+1 % rpm per m/s of climb, the extra inflow a
climbing rotor must overcome). The amplitude follows F ** ``level_exponent`` (2: +1.7 dB for +10 % rpm).

Default levels (at 1 m, unweighted, dB re 20 uPa): tones 75 dB (all rotors and harmonics together) and
broadband 68 dB (300 Hz..4 kHz, -6 dB/octave above): a small quadcopter of the DJI Mavic / Phantom class, which
measures ~70-80 dB(A) at 1 m. Default rpm 5400 with 2 blades: BPF 180 Hz.
"""

from __future__ import annotations

import numpy as np

from sensorkit.synth.sound_sources import BroadbandSpectrum, HarmonicComb, PointSource, comb_amplitudes_pa
from sensorkit.synth.trajectory import Trajectory

GRAVITY_MPS2 = 9.81


class Drone(PointSource):
    """A multirotor drone following ``trajectory`` (see the module docstring for the model and the defaults).

    rpm: one number (all rotors, then offsets drawn uniformly in +-rpm_spread_frac from the scene seed) or one
    per rotor (used as given).
    """

    def __init__(self, trajectory: Trajectory, n_rotors: int = 4, blades: int = 2, rpm=5400.0,
                 rpm_spread_frac: float = 0.02, level_db: float = 75.0, broadband_level_db: float | None = 68.0,
                 n_harmonics: int = 10, harmonic_slope_db: float = -4.0, harmonic_levels_db=None,
                 max_harmonic_hz: float = 8000.0, rpm_drift_frac: float = 0.005, rotor_drift_frac: float = 0.003,
                 drift_time_s: float = 2.0, drag_per_m: float = 0.02, climb_rpm_per_mps: float = 0.01,
                 level_exponent: float = 2.0, broadband_low_corner_hz: float = 300.0,
                 broadband_high_corner_hz: float = 4000.0):
        if isinstance(n_rotors, bool) or int(n_rotors) != n_rotors or not 1 <= n_rotors <= 16:
            raise ValueError(f"n_rotors: expected an integer 1..16, found {n_rotors!r}")
        if isinstance(blades, bool) or int(blades) != blades or not 1 <= blades <= 8:
            raise ValueError(f"blades: expected an integer 1..8, found {blades!r}")
        n_rotors, blades = int(n_rotors), int(blades)
        rpms = np.atleast_1d(np.asarray(rpm, dtype=float))
        if rpms.size not in (1, n_rotors) or not np.all(np.isfinite(rpms) & (rpms > 0)):
            raise ValueError(f"rpm: expected one rpm > 0 or {n_rotors} (one per rotor), found {rpm!r}")
        rpm_nominal = float(np.mean(rpms))
        offsets = None if rpms.size == 1 else rpms / rpm_nominal - 1.0
        f0_hz = blades * rpm_nominal / 60.0
        if not 20.0 <= f0_hz <= 2000.0:
            raise ValueError(f"rpm: the blade-passing frequency blades x rpm / 60 = {f0_hz:.1f} Hz is outside "
                             f"20..2000 Hz (rpm={rpm!r}, blades={blades})")
        if harmonic_levels_db is not None:
            relative = np.asarray(harmonic_levels_db, dtype=float).ravel()
            if relative.size < 1 or not np.all(np.isfinite(relative)):
                raise ValueError(f"harmonic_levels_db: expected finite levels in dB, found {harmonic_levels_db!r}")
        else:
            if isinstance(n_harmonics, bool) or int(n_harmonics) != n_harmonics or not 1 <= n_harmonics <= 100:
                raise ValueError(f"n_harmonics: expected an integer 1..100, found {n_harmonics!r}")
            if not -40.0 <= harmonic_slope_db <= 10.0:
                raise ValueError(f"harmonic_slope_db: expected -40..10 dB per harmonic, found {harmonic_slope_db!r}")
            relative = harmonic_slope_db * np.arange(int(n_harmonics))
        if not max_harmonic_hz >= f0_hz:
            raise ValueError(f"max_harmonic_hz: expected at least the blade-passing frequency {f0_hz:.1f} Hz, "
                             f"found {max_harmonic_hz!r}")
        n_keep = max(1, min(relative.size, int(max_harmonic_hz // (f0_hz * (1.0 + rpm_spread_frac)))))
        relative = relative[:n_keep]
        amps = tuple(comb_amplitudes_pa(level_db, relative, n_rotors))
        orders = tuple(range(1, n_keep + 1))
        combs = [HarmonicComb(f0_hz, orders, amps) for _ in range(n_rotors)]
        broadband = None
        if broadband_level_db is not None:
            broadband = BroadbandSpectrum(broadband_level_db, broadband_low_corner_hz, broadband_high_corner_hz, 6.0)
        super().__init__(trajectory, kind="drone", combs=combs, fundamental_hz=f0_hz, broadband=broadband,
                         comb_offsets_frac=offsets, comb_offset_spread_frac=rpm_spread_frac,
                         frequency_drift_frac=rpm_drift_frac, comb_drift_frac=rotor_drift_frac,
                         drift_time_s=drift_time_s)
        for name, value, hi in (("drag_per_m", drag_per_m, 1.0), ("climb_rpm_per_mps", climb_rpm_per_mps, 0.1),
                                ("level_exponent", level_exponent, 6.0)):
            if not 0.0 <= float(value) <= hi:
                raise ValueError(f"{name}: expected 0..{hi}, found {value!r}")
        self.n_rotors = n_rotors
        self.blades = blades
        self.rpm = rpm_nominal
        self.drag_per_m = float(drag_per_m)
        self.climb_rpm_per_mps = float(climb_rpm_per_mps)
        self.amplitude_exponent = float(level_exponent)

    def frequency_factor(self, t_s: np.ndarray) -> np.ndarray:
        """F(t) = sqrt(|a + g z_hat + k_drag |v| v| / g) (1 + k_climb v_z), clipped to [0.5, 2]."""
        t = np.asarray(t_s, dtype=float).ravel()
        v = self.trajectory.velocity_mps(t)
        thrust = self.trajectory.acceleration_mps2(t)
        thrust[:, 2] += GRAVITY_MPS2
        if self.drag_per_m:
            thrust += self.drag_per_m * np.linalg.norm(v, axis=1)[:, None] * v
        f = np.sqrt(np.linalg.norm(thrust, axis=1) / GRAVITY_MPS2) * (1.0 + self.climb_rpm_per_mps * v[:, 2])
        return np.clip(f, 0.5, 2.0)

    @property
    def blade_passing_hz(self) -> float:
        """Nominal blade-passing frequency blades x rpm / 60, Hz."""
        return self.blades * self.rpm / 60.0

    def __repr__(self) -> str:
        return (f"Drone(n_rotors={self.n_rotors}, blades={self.blades}, rpm={self.rpm:g}, "
                f"bpf={self.blade_passing_hz:.1f} Hz)")

