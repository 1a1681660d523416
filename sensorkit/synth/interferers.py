"""Non-drone point sources a drone detector must learn to reject: car, motorbike, lawnmower, generator.

Their tones come from combustion engines, built by :func:`engine_comb`: a comb on the base frequency
f_b = rpm / 60 / (strokes / 2) (half the shaft rate for a four-stroke engine), whose orders k = cylinders x m are
the firing harmonics (the firing frequency f_fire = cylinders x f_b is the truth f0) and whose other orders
(engine orders and half orders, from cylinder-to-cylinder differences and uneven firing) are weaker:

    L(k) = -firing_slope_db (k / cylinders - 1)                      k a multiple of cylinders
    L(k) = -other_orders_db - firing_slope_db max(k / cylinders - 1, 0)   otherwise

orders below -40 dB or above ``max_hz`` are left out. Unlike a rotor, whose harmonics of the blade-passing
frequency (100..700 Hz) stand alone, an engine has a low fundamental (25..100 Hz), a dense comb of orders, and
(for vehicles) more broadband than tonal energy.

Defaults, unweighted SPL at 1 m (dB re 20 uPa), chosen from typical pass-by and operator-position levels:
car       4-cylinder four-stroke at 2400 rpm (firing 80 Hz), engine 78 dB, tyre/road broadband 86 dB peaking
          ~0.4..1.5 kHz (a 50 km/h pass-by is ~72 dB(A) at 7.5 m); rpm drifts 3 % over ~4 s.
motorbike V-twin four-stroke at 5000 rpm (firing 83 Hz), strong harmonics (-2.5 dB per firing harmonic, half orders
          only 6 dB down: uneven firing), engine 90 dB, broadband 84 dB.
lawnmower single-cylinder two-stroke at 3300 rpm (firing 55 Hz), every order -2 dB, even orders +3 dB (blade
          passing of a two-ended blade), engine 86 dB, broadband 82 dB; load changes drift rpm 1.5 % over ~2 s.
generator twin four-stroke at 3000 rpm (firing 50 Hz, locked to the grid frequency by the governor, 0.3 % hunting),
          engine 80 dB, broadband 72 dB; stationary.
"""

from __future__ import annotations

import numpy as np

from sensorkit.synth.sound_sources import BroadbandSpectrum, HarmonicComb, PointSource, comb_amplitudes_pa
from sensorkit.synth.trajectory import Trajectory

MIN_RELATIVE_LEVEL_DB = -40.0


def engine_comb(rpm: float, cylinders: int, strokes: int, level_db: float, *, firing_slope_db: float,
                other_orders_db: float, max_hz: float, even_order_boost_db: float = 0.0) -> tuple[HarmonicComb, float]:
    """The harmonic comb of an engine (see the module docstring) and its firing frequency in Hz."""
    if not (np.isfinite(rpm) and 100.0 <= rpm <= 20000.0):
        raise ValueError(f"engine_rpm: expected 100..20000 rpm, found {rpm!r}")
    if isinstance(cylinders, bool) or int(cylinders) != cylinders or not 1 <= cylinders <= 16:
        raise ValueError(f"cylinders: expected an integer 1..16, found {cylinders!r}")
    if strokes not in (2, 4):
        raise ValueError(f"strokes: expected 2 or 4, found {strokes!r}")
    base_hz = rpm / 60.0 / (strokes / 2)
    orders, levels = [], []
    for k in range(1, int(max_hz // base_hz) + 1):
        above = max(k / cylinders - 1.0, 0.0)
        if k % cylinders == 0:
            level = -firing_slope_db * above
        else:
            level = -other_orders_db - firing_slope_db * above
        if k % 2 == 0:
            level += even_order_boost_db
        if level >= MIN_RELATIVE_LEVEL_DB:
            orders.append(k)
            levels.append(level)
    if not orders:
        raise ValueError(f"max_hz: no engine order below {max_hz!r} Hz (base frequency {base_hz:.1f} Hz)")
    amps = comb_amplitudes_pa(level_db, levels)
    return HarmonicComb(base_hz, tuple(orders), tuple(amps)), base_hz * cylinders


class Interferer(PointSource):
    """A non-drone point source; build with :meth:`car`, :meth:`motorbike`, :meth:`lawnmower`, :meth:`generator`."""

    @classmethod
    def _engine(cls, kind, trajectory, rpm, cylinders, strokes, engine_level_db, broadband, *, firing_slope_db,
                other_orders_db, max_hz, even_order_boost_db=0.0, drift_frac, drift_time_s, fluctuation_db,
                fluctuation_time_s):
        if not isinstance(trajectory, Trajectory):
            trajectory = Trajectory.hover(trajectory)
        comb, firing_hz = engine_comb(rpm, cylinders, strokes, engine_level_db, firing_slope_db=firing_slope_db,
                                      other_orders_db=other_orders_db, max_hz=max_hz,
                                      even_order_boost_db=even_order_boost_db)
        return cls(trajectory, kind=kind, combs=[comb], fundamental_hz=firing_hz, broadband=broadband,
                   comb_offsets_frac=[0.0], frequency_drift_frac=drift_frac, drift_time_s=drift_time_s,
                   level_fluctuation_db=fluctuation_db, fluctuation_time_s=fluctuation_time_s)

    @classmethod
    def car(cls, trajectory: Trajectory, engine_rpm: float = 2400.0, cylinders: int = 4,
            engine_level_db: float = 78.0, tyre_level_db: float = 86.0) -> "Interferer":
        """A car (four-stroke engine, firing at engine_rpm / 120 x cylinders Hz, plus tyre/road broadband)."""
        return cls._engine("car", trajectory, engine_rpm, cylinders, 4, engine_level_db,
                           BroadbandSpectrum(tyre_level_db, 400.0, 1500.0, 9.0), firing_slope_db=6.0,
                           other_orders_db=18.0, max_hz=1200.0, drift_frac=0.03, drift_time_s=4.0,
                           fluctuation_db=1.0, fluctuation_time_s=3.0)

    @classmethod
    def motorbike(cls, trajectory: Trajectory, engine_rpm: float = 5000.0, cylinders: int = 2,
                  engine_level_db: float = 90.0, broadband_level_db: float = 84.0) -> "Interferer":
        """A motorbike (V-twin four-stroke by default: firing 83 Hz, strong harmonics and half orders)."""
        return cls._engine("motorbike", trajectory, engine_rpm, cylinders, 4, engine_level_db,
                           BroadbandSpectrum(broadband_level_db, 150.0, 2000.0, 6.0), firing_slope_db=2.5,
                           other_orders_db=6.0, max_hz=2500.0, drift_frac=0.04, drift_time_s=3.0,
                           fluctuation_db=2.0, fluctuation_time_s=2.0)

    @classmethod
    def lawnmower(cls, trajectory, engine_rpm: float = 3300.0, engine_level_db: float = 86.0,
                  broadband_level_db: float = 82.0) -> "Interferer":
        """A lawnmower (single-cylinder two-stroke: firing at engine_rpm / 60 = 55 Hz); a Trajectory or a position."""
        return cls._engine("lawnmower", trajectory, engine_rpm, 1, 2, engine_level_db,
                           BroadbandSpectrum(broadband_level_db, 200.0, 3000.0, 6.0), firing_slope_db=2.0,
                           other_orders_db=0.0, max_hz=2500.0, even_order_boost_db=3.0, drift_frac=0.015,
                           drift_time_s=2.0, fluctuation_db=2.0, fluctuation_time_s=1.5)

    @classmethod
    def generator(cls, position_m, firing_frequency_hz: float = 50.0, level_db: float = 80.0,
                  broadband_level_db: float = 72.0) -> "Interferer":
        """A portable generator at ``position_m`` (a twin four-stroke firing at ``firing_frequency_hz``)."""
        rpm = float(firing_frequency_hz) * 60.0  # twin four-stroke: firing = rpm / 120 x 2
        return cls._engine("generator", Trajectory.hover(position_m), rpm, 2, 4, level_db,
                           BroadbandSpectrum(broadband_level_db, 100.0, 2000.0, 6.0), firing_slope_db=3.0,
                           other_orders_db=15.0, max_hz=2000.0, drift_frac=0.003, drift_time_s=1.5,
                           fluctuation_db=0.5, fluctuation_time_s=4.0)
