"""Acoustic kernels and CFAR against their NumPy references (and scipy.signal.stft), on seeded synthetic inputs.

Each case runs the Numba kernel on a realistic input and the NumPy reference in the same run, on the same input
or, where the reference is slow, on a reduced one; rates are per unit of work (samples, STFT blocks, pairs, DOA
updates, voxels), so extra_info["numpy_over_numba"] (added by test_ratios, last) is the ratio of rates, the
reference's time scaled to the full size. The entries in bench_results hold the Numba time and the reference's
time scaled to the Numba input, so the session summary of benchmarks/conftest.py prints comparable numbers
(its "Msamples/s" column is millions of the case's unit per second).

Inputs: 16 channels at 48 kHz (UMA-16 geometry), a 180 Hz drone comb at azimuth 40 deg, elevation 20 deg, in
noise; CFAR on a 100 x 100 x 256 exponential cube (the landmine pipeline's envelope cube size).

Run: .venv/bin/python -m pytest benchmarks/bench_acoustic.py --benchmark-enable -q
"""

import math

import numpy as np
import pytest
import scipy.signal

from sensorkit.formats.array_geometry import uma16_array
from sensorkit.kernels import acoustic_reference as ref
from sensorkit.kernels import harmonic as hm
from sensorkit.kernels.cfar import ca_cfar, os_cfar
from sensorkit.kernels.fir_decimate import StreamingDecimator, fir_decimate_reference
from sensorkit.kernels.gcc_phat import gcc_phat_pairs
from sensorkit.kernels.line_contrast import locate_lines
from sensorkit.kernels.music import music_refine
from sensorkit.kernels.srp_phat import SrpPhat, denoised_cross_spectra, plane_wave_leads_s, srp_phat_map
from sensorkit.kernels.stft import stft
from sensorkit.kernels.whitened_lines import whitened_line_power
from sensorkit.pipelines.drone import LINE_CONTRAST_COARSE_DEG, LINE_CONTRAST_FINE_DEG, WHITENED_ITERATIONS

FS_HZ = 48000.0
N_CH = 16
TARGET_S = 0.5  # seconds of measurement per benchmark
STFT_NFFT, STFT_HOP = 1024, 512
COMB_NFFT = 4096
DOA_NFFT = 2048
DOA_BLOCKS = 10  # one DOA update: 10 blocks of 2048 at hop 1024, ~0.23 s
CFAR_SHAPE = (100, 100, 256)
DECIMATION_TAPS = scipy.signal.firwin(27, 8000.0, window=("kaiser", 7.86), fs=FS_HZ).astype(np.float32)  # as the
# drone pipeline designs it for 48 kHz
CFAR_WINDOW = dict(guard_cells=(1, 1, 2), training_cells=(2, 2, 4), pfa=1e-3)


def drone_frames(n_frames, seed=1):
    """(n_frames, 16) float32: a 180 Hz comb (20 harmonics) from azimuth 40, elevation 20 deg, plane wave on
    the UMA-16, plus white noise (broadband SNR about 0 dB per mic)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / FS_HZ
    lead = plane_wave_leads_s(uma16_array(), [math.radians(40)], [math.radians(20)])[0]
    out = rng.standard_normal((n_frames, N_CH))
    for k in range(1, 21):
        amp, phase = 0.9 ** k, rng.uniform(0, 2 * np.pi)
        out += amp * np.cos(2 * np.pi * k * 180.0 * (t[:, None] + lead[None, :]) + phase)
    return out.astype(np.float32)


@pytest.fixture(scope="module")
def inputs():
    frames = drone_frames(int(FS_HZ))  # 1 s
    comb_stft = stft(drone_frames(int(4 * FS_HZ), seed=2), nfft=COMB_NFFT, hop=COMB_NFFT // 2)
    power = hm.band_power(comb_stft)
    ratio = power / hm.spectral_noise_floor(power, half_width_bins=9, n_averages=N_CH)
    doa_stft = stft(frames[:DOA_NFFT // 2 * (DOA_BLOCKS + 1)], nfft=DOA_NFFT, hop=DOA_NFFT // 2)
    det = hm.detect_harmonics(doa_stft, fs_hz=FS_HZ, nfft=DOA_NFFT)
    bins = np.unique(np.concatenate([hm.harmonic_bin_set(row, DOA_NFFT // 2 + 1) for row in det.harmonic_bins]))
    cube = np.random.default_rng(3).exponential(size=CFAR_SHAPE).astype(np.float32)
    background = np.ones(DOA_NFFT // 2 + 1, dtype=bool)  # every bin but the harmonic bins +- 2
    background[np.clip((bins[:, None] + np.arange(-2, 3)).ravel(), 0, DOA_NFFT // 2)] = False
    lines = np.unique(det.harmonic_bins[0][det.harmonic_bins[0] >= 0])[:8]  # the comb's first 8 line bins
    return dict(frames=frames, ratio=ratio.astype(np.float32), comb_setup=_comb_args(ratio.shape[1]),
                doa_stft=doa_stft, bins=bins, cube=cube, background=background, lines=lines)


def _comb_args(n_bins):
    """The comb's set-up (grid, windows, thresholds) for the default parameters, built once."""
    return hm._comb_setup(n_bins, FS_HZ / COMB_NFFT, N_CH, 50.0, 1000.0, 0.5, 8, 0.06, 1.0, None, 0.5, 0.01, 0.35)


# Each case: (unit, numba (fn, n_units), numpy (fn, n_units), scipy (fn, n_units) or None); fn(inputs) runs once.
def _cases():
    srp = {}

    def srp_class():
        if "c" not in srp:
            srp["c"] = SrpPhat(uma16_array(), fs_hz=FS_HZ, nfft=DOA_NFFT, coarse_step_deg=5.0, fine_step_deg=0.5)
        return srp["c"]

    az_1 = np.radians(np.arange(0.0, 360.0, 1.0))
    el_5 = np.radians(np.arange(0.0, 90.1, 5.0))

    def srp_ref_coarse_to_fine(d):
        s = srp_class()
        ref.srp_phat_map_reference(d["doa_stft"], uma16_array(), FS_HZ, DOA_NFFT, d["bins"], s.azimuth_rad,
                                   s.elevation_rad)
        fine = np.radians(np.arange(-3.0, 3.01, 0.5))
        ref.srp_phat_map_reference(d["doa_stft"], uma16_array(), FS_HZ, DOA_NFFT, d["bins"],
                                   math.radians(40) + fine, math.radians(20) + fine)

    def contrast_class():
        if "l" not in srp:  # the drone pipeline's line_contrast grids, above the horizon
            srp["l"] = SrpPhat(uma16_array(), fs_hz=FS_HZ, nfft=DOA_NFFT, coarse_step_deg=LINE_CONTRAST_COARSE_DEG,
                               fine_step_deg=LINE_CONTRAST_FINE_DEG, el_min_deg=0.0, band_max_hz=4000.0)
        return srp["l"]

    def contrast_ref_coarse_to_fine(d):
        s = contrast_class()
        ref.line_contrast_map_reference(d["doa_stft"][:, :3], uma16_array(), FS_HZ, DOA_NFFT, d["lines"],
                                        s.azimuth_rad, s.elevation_rad)
        n = math.ceil(0.6 * LINE_CONTRAST_COARSE_DEG / LINE_CONTRAST_FINE_DEG)  # SrpPhat's fine window
        fine = np.radians(LINE_CONTRAST_FINE_DEG * np.arange(-n, n + 1))
        ref.line_contrast_map_reference(d["doa_stft"][:, :3], uma16_array(), FS_HZ, DOA_NFFT, d["lines"],
                                        math.radians(40) + fine, math.radians(20) + fine)

    music_grid = np.radians(np.arange(-10.0, 10.01, 0.5))

    def cfar_ref(f, d):  # a 12 x 12 x 48 corner: 19 % of its cells are inside (84 % in the full cube), and edge
        # cells have fewer training cells, so the reference's rate there is flattered and the ratio conservative
        f(d["cube"][:12, :12, :48], CFAR_WINDOW["guard_cells"], CFAR_WINDOW["training_cells"], CFAR_WINDOW["pfa"])

    n_stft = N_CH * int(FS_HZ)
    return {
        "stft 16 ch 48 kHz nfft 1024": (
            "sample",
            (lambda d: stft(d["frames"], nfft=STFT_NFFT, hop=STFT_HOP), n_stft),
            (lambda d: ref.stft_reference(d["frames"], STFT_NFFT, STFT_HOP), n_stft),
            (lambda d: scipy.signal.stft(d["frames"].T, nperseg=STFT_NFFT, noverlap=STFT_NFFT - STFT_HOP,
                                         window="hann", boundary=None, padded=False, detrend=False,
                                         scaling="spectrum"), n_stft)),
        "harmonic comb nfft 4096": (
            "block",
            (lambda d: hm._run_comb(d["ratio"], d["comb_setup"]), None),
            (lambda d: _comb_reference(d["ratio"][:2], d["comb_setup"]), 2),
            None),
        "gcc-phat 120 pairs 4096": (
            "pair",
            (lambda d: gcc_phat_pairs(d["frames"][:4096], max_delay_samples=30), 120),
            (lambda d: [ref.gcc_phat_reference(d["frames"][:4096, 0], d["frames"][:4096, j], 30)
                        for j in range(1, 7)], 6),
            None),
        "srp-phat map 1x5 deg": (
            "update",
            (lambda d: srp_phat_map(d["doa_stft"], uma16_array(), fs_hz=FS_HZ, nfft=DOA_NFFT, bins=d["bins"],
                                    azimuth_rad=az_1, elevation_rad=el_5), 1),
            (lambda d: ref.srp_phat_map_reference(d["doa_stft"], uma16_array(), FS_HZ, DOA_NFFT, d["bins"], az_1,
                                                  el_5), 1),
            None),
        "srp-phat coarse-to-fine 5/0.5 deg": (
            "update",
            (lambda d: srp_class().locate(d["doa_stft"], d["bins"]), 1),
            (srp_ref_coarse_to_fine, 1),
            None),
        "line contrast coarse-to-fine 5/1 deg, 8 lines": (
            "update",
            (lambda d: locate_lines(contrast_class(), d["doa_stft"][:, :3], d["lines"]), 1),
            (contrast_ref_coarse_to_fine, 1),
            None),
        "whitened line power 16 mics, 200 bins, 1 block over 10": (
            "update",
            (lambda d: whitened_line_power(d["doa_stft"][:, :, 10:210], n_average=DOA_BLOCKS,
                                           first_block=DOA_BLOCKS - 1, n_iter=WHITENED_ITERATIONS), 1),
            (lambda d: ref.whitened_line_power_reference(d["doa_stft"][:, :, 10:210], DOA_BLOCKS, DOA_BLOCKS - 1), 1),
            None),
        "fir decimate 48 -> 16 kHz, 27 taps": (
            "sample",
            (lambda d: StreamingDecimator(N_CH, DECIMATION_TAPS, 3).process(d["frames"]), int(FS_HZ) * N_CH),
            (lambda d: fir_decimate_reference(d["frames"], DECIMATION_TAPS, 3), int(FS_HZ) * N_CH),
            (lambda d: scipy.signal.upfirdn(DECIMATION_TAPS, d["frames"].T, down=3, axis=-1), int(FS_HZ) * N_CH)),
        "denoised cross-spectra 16 mics": (
            "update",
            (lambda d: denoised_cross_spectra(d["doa_stft"], d["bins"], d["background"]), 1),
            (lambda d: ref.denoised_cross_spectra_reference(d["doa_stft"], d["bins"], d["background"]), 1),
            None),
        "music refine 20 deg at 0.5": (
            "update",
            (lambda d: music_refine(d["doa_stft"], uma16_array(), fs_hz=FS_HZ, nfft=DOA_NFFT, bins=d["bins"],
                                    n_sources=1, azimuth_rad=math.radians(40), elevation_rad=math.radians(20),
                                    span_deg=10.0, step_deg=0.5, el_min_deg=0.0), 1),
            (lambda d: ref.music_spectrum_reference(d["doa_stft"], uma16_array(), FS_HZ, DOA_NFFT, d["bins"], 1,
                                                    math.radians(40) + music_grid,
                                                    math.radians(20) + music_grid[music_grid >= -0.35]), 1),
            None),
        "ca-cfar 3d 100x100x256": (
            "voxel",
            (lambda d: ca_cfar(d["cube"], **CFAR_WINDOW), int(np.prod(CFAR_SHAPE))),
            (lambda d: cfar_ref(ref.ca_cfar_reference, d), 12 * 12 * 48),
            None),
        "os-cfar 3d 10x100x256": (
            "voxel",
            (lambda d: os_cfar(d["cube"][:10], **CFAR_WINDOW), 10 * 100 * 256),
            (lambda d: cfar_ref(ref.os_cfar_reference, d), 12 * 12 * 48),
            None),
    }


def _comb_reference(ratio, setup):
    _, grid, windows, floor_db, presence_db = setup
    return ref.harmonic_comb_reference(ratio, windows, grid, FS_HZ / COMB_NFFT, floor_db, presence_db, 0.35, 0.5,
                                       0.06)


CASES = _cases()


@pytest.mark.parametrize("impl", ["numpy", "scipy", "numba"])
@pytest.mark.parametrize("kernel", list(CASES))
def test_acoustic_kernel(benchmark, run_benchmark, inputs, bench_results, kernel, impl):
    unit, numba_case, numpy_case, scipy_case = CASES[kernel]
    case = {"numba": numba_case, "numpy": numpy_case, "scipy": scipy_case}[impl]
    if case is None:
        pytest.skip(f"no {impl} counterpart for {kernel}")
    fn, n_units = case
    if n_units is None:  # the comb: every block of the input
        n_units = inputs["ratio"].shape[0]
    benchmark.group = kernel
    benchmark.extra_info.update(kernel=kernel, impl=impl, unit=unit, n_units=n_units)
    median_s = run_benchmark(fn, inputs, target_s=TARGET_S)
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    rate = n_units / median_s
    benchmark.extra_info[f"{unit}s_per_s"] = rate
    if kernel.startswith("stft"):
        benchmark.extra_info["real_time_factor"] = rate / (N_CH * FS_HZ)  # seconds of 16-ch audio per second
    full = numba_case[1] if numba_case[1] is not None else inputs["ratio"].shape[0]
    entry = bench_results.setdefault((kernel, "acoustic"), {"n_samples": full})
    entry[impl] = full / rate  # time for the Numba input's size
    entry[impl + "_extra_info"] = benchmark.extra_info


def test_ratios(bench_results):
    """Runs last: adds numpy_over_numba (and scipy_over_numba) to extra_info; every case was measured both ways."""
    mine = {k: r for k, r in bench_results.items() if k[1] == "acoustic"}
    if not mine:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    missing = [k for k, r in mine.items() if not ("numba" in r and "numpy" in r)]
    assert not missing, f"benchmarks without their counterpart: {missing}"
    for r in mine.values():
        for other in ("numpy", "scipy"):
            if other in r:
                ratio = r[other] / r["numba"]
                r["numba_extra_info"][f"{other}_over_numba"] = ratio
                r[other + "_extra_info"][f"{other}_over_numba"] = ratio
                assert np.isfinite(ratio) and ratio > 0
