"""Sound in still air: the speed of sound and pure-tone atmospheric absorption per ISO 9613-1:1993.

ISO 9613-1 (section 6, equations 3 to 5 and annex B), with T in kelvin, p_a the ambient pressure,
p_r = 101.325 kPa, T_0 = 293.15 K, T_01 = 273.16 K (triple point of water), h_r the relative humidity in %:

    p_sat / p_r = 10 ** C,  C = -6.8346 (T_01 / T) ** 1.261 + 4.6151                  (B.1, B.2)
    h = h_r (p_sat / p_r) / (p_a / p_r)                    molar concentration of water vapour, %  (B.1)
    f_rO = (p_a / p_r) (24 + 4.04e4 h (0.02 + h) / (0.391 + h))                          (3)
    f_rN = (p_a / p_r) (T / T_0) ** -0.5 (9 + 280 h exp(-4.170 ((T / T_0) ** (-1/3) - 1)))   (4)
    alpha = 8.686 f**2 [1.84e-11 (p_a / p_r) ** -1 (T / T_0) ** 0.5
                        + (T / T_0) ** -2.5 (0.01275 exp(-2239.1 / T) / (f_rO + f**2 / f_rO)
                                             + 0.1068 exp(-3352.0 / T) / (f_rN + f**2 / f_rN))]  dB/m  (5)

The standard states the accuracy as +-10 % for 0.0004 < f / p_a < 10 Hz/Pa, -20..50 deg C, 10..100 % RH
(outside those ranges the formula still evaluates; the range checks below are wider, physical sanity only).
Speed of sound (ISO 9613-1, eq. 2 note): c = 343.2 (T / T_0) ** 0.5 m/s.
"""

from __future__ import annotations

import numpy as np

from sensorkit.kernels.validate import float_in_range

REFERENCE_PRESSURE_KPA = 101.325
REFERENCE_TEMPERATURE_K = 293.15
TRIPLE_POINT_K = 273.16
KELVIN_OFFSET = 273.15
#: speed of sound at the reference temperature 20 deg C, m/s (ISO 9613-1)
SPEED_OF_SOUND_20C_MPS = 343.2


def speed_of_sound_mps(temperature_c: float = 20.0) -> float:
    """Speed of sound in air, m/s: c = 343.2 sqrt(T / 293.15 K)."""
    t = float_in_range("temperature_c", temperature_c, -60.0, 60.0)
    return SPEED_OF_SOUND_20C_MPS * float(np.sqrt((t + KELVIN_OFFSET) / REFERENCE_TEMPERATURE_K))


def air_absorption_db_per_m(frequency_hz, temperature_c: float = 20.0, humidity_pct: float = 70.0,
                            pressure_kpa: float = REFERENCE_PRESSURE_KPA) -> np.ndarray:
    """Pure-tone atmospheric absorption alpha(f) in dB/m (ISO 9613-1 eq. 5), the shape of ``frequency_hz``.

    Frequencies must be >= 0 and finite (0 Hz gives 0 dB/m). The attenuation over a path of length d m is
    alpha * d dB, i.e. the amplitude factor 10 ** (-alpha d / 20).
    """
    f = np.asarray(frequency_hz, dtype=float)
    if not np.all(np.isfinite(f)) or np.any(f < 0):
        bad = f[~(np.isfinite(f) & (f >= 0))].ravel()[0]
        raise ValueError(f"frequency_hz: expected finite frequencies >= 0 Hz, found {bad!r}")
    coefficients = absorption_coefficients(temperature_c, humidity_pct, pressure_kpa)
    return absorption_from_coefficients(f, coefficients)


def absorption_coefficients(temperature_c: float = 20.0, humidity_pct: float = 70.0,
                            pressure_kpa: float = REFERENCE_PRESSURE_KPA) -> tuple[float, float, float, float, float]:
    """The weather-dependent constants of ISO 9613-1 eq. 5: (classical, oxygen, f_rO, nitrogen, f_rN).

    alpha(f) = f**2 (classical + oxygen / (f_rO + f**2 / f_rO) + nitrogen / (f_rN + f**2 / f_rN)) dB/m;
    see :func:`absorption_from_coefficients`. Computing them once lets many frequencies be evaluated cheaply.
    """
    t_c = float_in_range("temperature_c", temperature_c, -60.0, 60.0)
    h_r = float_in_range("humidity_pct", humidity_pct, 0.0, 100.0)
    p_a = float_in_range("pressure_kpa", pressure_kpa, 10.0, 200.0)
    t = t_c + KELVIN_OFFSET
    p = p_a / REFERENCE_PRESSURE_KPA
    tt = t / REFERENCE_TEMPERATURE_K
    c = -6.8346 * (TRIPLE_POINT_K / t) ** 1.261 + 4.6151
    h = h_r * 10.0 ** c / p
    f_ro = p * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    f_rn = p * tt ** -0.5 * (9.0 + 280.0 * h * np.exp(-4.170 * (tt ** (-1.0 / 3.0) - 1.0)))
    classical = 8.686 * 1.84e-11 / p * tt ** 0.5
    oxygen = 8.686 * tt ** -2.5 * 0.01275 * np.exp(-2239.1 / t)
    nitrogen = 8.686 * tt ** -2.5 * 0.1068 * np.exp(-3352.0 / t)
    return float(classical), float(oxygen), float(f_ro), float(nitrogen), float(f_rn)


def absorption_from_coefficients(frequency_hz, coefficients) -> np.ndarray:
    """alpha(f) in dB/m from :func:`absorption_coefficients` (no checks: the hot path of the scene)."""
    classical, oxygen, f_ro, nitrogen, f_rn = coefficients
    f2 = np.square(frequency_hz)
    return f2 * (classical + oxygen / (f_ro + f2 / f_ro) + nitrogen / (f_rn + f2 / f_rn))
