"""Synthetic array signals shared by the direction-finding kernel tests (SRP-PHAT, MUSIC): plane waves with
fractional delays, harmonic combs, and the angle between two directions."""

import math

import numpy as np

from sensorkit.kernels.srp_phat import plane_wave_leads_s

FS_HZ = 16000.0
C_MPS = 343.0


def plane_waves(mics, sources, n_frames, noise, seed=0):
    """frames (n_frames, n_mics) float32: each source (az_deg, el_deg, signal) arrives as a plane wave, mic m
    leading the origin by p_m . u / c (fractional delays through a zero-padded FFT), plus white noise of standard
    deviation noise."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n_frames, mics.shape[0]))
    f = np.fft.rfftfreq(2 * n_frames, 1 / FS_HZ)
    for az, el, s in sources:
        lead = plane_wave_leads_s(mics, [math.radians(az)], [math.radians(el)], C_MPS)[0]
        spectrum = np.fft.rfft(s, 2 * n_frames)
        for m in range(mics.shape[0]):
            out[:, m] += np.fft.irfft(spectrum * np.exp(2j * np.pi * f * lead[m]), 2 * n_frames)[:n_frames]
    return (out + noise * rng.standard_normal(out.shape)).astype(np.float32)


def comb(f0_hz, seed, n_frames, n_harmonics=20, top_hz=7000.0):
    """n_frames samples of harmonics k f0 (amplitude 0.9^k, random phases from seed) below top_hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / FS_HZ
    return sum(0.9 ** k * np.cos(2 * np.pi * k * f0_hz * t + rng.uniform(0, 2 * np.pi))
               for k in range(1, n_harmonics + 1) if k * f0_hz < top_hz)


def angle_deg(az1, el1, az2, el2):
    """Great-circle angle (degrees) between two directions given in radians."""
    u = [np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)]) for a, e in
         ((az1, el1), (az2, el2))]
    return math.degrees(math.acos(min(1.0, float(u[0] @ u[1]))))
