"""DOA kernels against an outside tool: pyroomacoustics' SRP-PHAT and MUSIC (pip install pyroomacoustics).

pyroomacoustics is not a dependency of sensorkit: this file skips without it. To run it without installing
into the project's environment:

    pip install --no-deps --target /tmp/pra_site pyroomacoustics
    PYTHONPATH=/tmp/pra_site .venv/bin/python -m pytest benchmarks/bench_doa_pyroomacoustics.py --benchmark-enable -q

Input (seeded, as bench_acoustic.py): the UMA-16 at 48 kHz hearing a 180 Hz comb of 20 harmonics from azimuth
40 deg, elevation 20 deg, in white noise; one DOA update = 10 STFT blocks of 2048 (hop 1024), the harmonic bins
found by detect_harmonics. Both tools evaluate the same grid, from scratch in each call (steering included):

- SRP-PHAT map, azimuth 0-359 deg at 1 deg x elevation 0-90 deg at 5 deg (6840 directions):
  srp_phat_map vs pyroomacoustics.doa.SRP (dim=3, the same azimuths and colatitudes, the same bins).
- MUSIC, +-10 deg around the source at 0.5 deg (41 x 41 directions, elevations >= 0): music_refine vs
  pyroomacoustics.doa.MUSIC on that grid (its per-bin narrow-band spectra summed over the bins; sensorkit's
  weights bins by their signal subspace: the same work, not the same estimator).
Rate in DOA updates/s; pyroomacoustics_over_numba is its median over sensorkit's. Both must find the source
within 1 degree in azimuth and elevation.

Run: see above.
"""

import math

import numpy as np
import pytest

from sensorkit.formats.array_geometry import uma16_array
from sensorkit.kernels import harmonic as hm
from sensorkit.kernels.music import music_refine
from sensorkit.kernels.srp_phat import plane_wave_leads_s, srp_phat_map
from sensorkit.kernels.stft import stft

pra = pytest.importorskip("pyroomacoustics", reason="pyroomacoustics is not installed (outside-tool comparison)")

FS_HZ = 48000.0
NFFT = 2048
N_BLOCKS = 10
AZ_DEG, EL_DEG = 40.0, 20.0
SRP_AZ = np.radians(np.arange(0.0, 360.0, 1.0))
SRP_EL = np.radians(np.arange(0.0, 90.1, 5.0))
MUSIC_OFFSETS = np.radians(np.arange(-10.0, 10.01, 0.5))
_RESULTS: dict = {}


@pytest.fixture(scope="module")
def update():
    """(stft (16, 10, 1025) complex64, bins int64): one DOA update of the drone comb."""
    rng = np.random.default_rng(1)
    n = NFFT // 2 * (N_BLOCKS + 1)
    t = np.arange(n) / FS_HZ
    lead = plane_wave_leads_s(uma16_array(), [math.radians(AZ_DEG)], [math.radians(EL_DEG)])[0]
    x = rng.standard_normal((n, 16))
    for k in range(1, 21):
        x += 0.9 ** k * np.cos(2 * np.pi * k * 180.0 * (t[:, None] + lead[None, :]) + rng.uniform(0, 2 * np.pi))
    spectra = stft(x.astype(np.float32), nfft=NFFT, hop=NFFT // 2)
    det = hm.detect_harmonics(spectra, fs_hz=FS_HZ, nfft=NFFT)
    bins = np.unique(np.concatenate([hm.harmonic_bin_set(row, NFFT // 2 + 1) for row in det.harmonic_bins]))
    return spectra, bins


def _sensorkit_srp(spectra, bins):
    power = srp_phat_map(spectra, uma16_array(), fs_hz=FS_HZ, nfft=NFFT, bins=bins, azimuth_rad=SRP_AZ,
                         elevation_rad=SRP_EL)
    i_el, i_az = np.unravel_index(np.argmax(power), power.shape)
    return SRP_AZ[i_az], SRP_EL[i_el]


def _pra_doa(name, spectra, bins, az, el):
    doa = pra.doa.algorithms[name](uma16_array().T, FS_HZ, NFFT, c=343.0, num_src=1, azimuth=az,
                                   colatitude=np.pi / 2 - el, dim=3)
    doa.locate_sources(np.ascontiguousarray(spectra.transpose(0, 2, 1)), freq_bins=bins)
    return float(doa.azimuth_recon[0]), float(np.pi / 2 - doa.colatitude_recon[0])


def _sensorkit_music(spectra, bins):
    r = music_refine(spectra, uma16_array(), fs_hz=FS_HZ, nfft=NFFT, bins=bins, n_sources=1,
                     azimuth_rad=math.radians(AZ_DEG), elevation_rad=math.radians(EL_DEG), span_deg=10.0,
                     step_deg=0.5, el_min_deg=0.0)
    return r.peaks[0, 0], r.peaks[0, 1]


def _music_grid():
    el = math.radians(EL_DEG) + MUSIC_OFFSETS
    return math.radians(AZ_DEG) + MUSIC_OFFSETS, el[el >= 0.0]


CASES = {
    "srp-phat map 1x5 deg, 6840 directions": {
        "numba": _sensorkit_srp,
        "pyroomacoustics": lambda s, b: _pra_doa("SRP", s, b, SRP_AZ, SRP_EL),
    },
    "music +-10 deg at 0.5 deg": {
        "numba": _sensorkit_music,
        "pyroomacoustics": lambda s, b: _pra_doa("MUSIC", s, b, *_music_grid()),
    },
}


@pytest.mark.parametrize("impl", ["pyroomacoustics", "numba"])
@pytest.mark.parametrize("case", list(CASES))
def test_doa(benchmark, run_benchmark, update, case, impl):
    spectra, bins = update
    fn = CASES[case][impl]
    benchmark.group = case
    benchmark.extra_info.update(impl=impl, n_bins=int(bins.size), n_blocks=N_BLOCKS)
    median_s = run_benchmark(fn, spectra, bins)
    az, el = fn(spectra, bins)
    assert abs((math.degrees(az) - AZ_DEG + 180) % 360 - 180) <= 1.0 and abs(math.degrees(el) - EL_DEG) <= 1.0
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info["doa_updates_per_s"] = 1.0 / median_s
    _RESULTS.setdefault(case, {})[impl] = (median_s, benchmark.extra_info)


def test_ratios():
    """Runs last: pyroomacoustics_over_numba (its median over sensorkit's) in both extra_infos."""
    if not _RESULTS:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    for case, r in _RESULTS.items():
        assert set(r) == {"numba", "pyroomacoustics"}, f"{case}: a counterpart was not measured"
        ratio = r["pyroomacoustics"][0] / r["numba"][0]
        assert math.isfinite(ratio) and ratio > 0
        for _, info in r.values():
            info["pyroomacoustics_over_numba"] = ratio
