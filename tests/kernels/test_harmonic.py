"""Harmonic comb: equivalence with the NumPy reference, a drifting rotor comb found with its f0 and SNR, the
false-alarm rate on white and pink noise against the design value, a lone tone refused, bad input refused."""

import numpy as np
import pytest

from sensorkit.kernels import harmonic as hm
from sensorkit.kernels.acoustic_reference import harmonic_comb_reference, running_median_reference
from sensorkit.kernels.stft import stft

FS_HZ = 16000.0
NFFT = 2048  # 7.8125 Hz bins
DF_HZ = FS_HZ / NFFT


def rotor_comb(f0_hz, drift_frac, rel_db, snr_db, duration_s=2.0, seed=0):
    """A comb k f0(t), f0 rising linearly by drift_frac over duration_s, harmonics at rel_db (dB re the first),
    random phases, in unit white noise. snr_db: the comb's total power over the noise power in one STFT bin
    (fs / NFFT wide), the quantity the detector reports. Returns frames (n, 1) float32 and f0(t) (n,)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FS_HZ)
    t = np.arange(n) / FS_HZ
    f0 = f0_hz * (1.0 + drift_frac * t / duration_s)
    phase = 2 * np.pi * np.cumsum(f0) / FS_HZ
    amps = 10 ** (np.asarray(rel_db) / 20)
    noise_per_bin = 2.0 / NFFT  # unit-variance white noise: PSD 2 / fs, times the bin width fs / NFFT
    scale = np.sqrt(10 ** (snr_db / 10) * noise_per_bin / np.sum(amps ** 2 / 2))
    s = sum(scale * a * np.cos(k * phase + rng.uniform(0, 2 * np.pi)) for k, a in enumerate(amps, start=1))
    return (s + rng.standard_normal(n)).astype(np.float32)[:, None], f0


def block_centres(n_blocks, hop):
    return np.arange(n_blocks) * hop + NFFT // 2


def test_running_median_matches_reference():
    p = np.random.default_rng(2).exponential(size=(5, 300)).astype(np.float32)
    for half in (1, 7, 40):
        floor = hm.spectral_noise_floor(p, half_width_bins=half)
        ref = running_median_reference(p, half) / hm.median_to_mean_ratio(1)
        np.testing.assert_allclose(floor, ref, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_comb_matches_reference(seed):
    rng = np.random.default_rng(seed)
    ratio = rng.exponential(size=(6, 513)).astype(np.float32)
    ratio[:3, [26, 52, 78, 104]] += np.float32(30.0)  # a comb at 26 bins in three blocks
    args = dict(df_hz=DF_HZ, n_averages=1, f0_min_hz=60.0, f0_max_hz=900.0, f0_step_hz=1.0, n_harmonics=6,
                tolerance_rel=0.05, tolerance_min_bins=1.0, f_max_hz=None, evidence_pfa=0.5, presence_pfa=0.01,
                odd_fraction_min=0.35)
    got = hm.harmonic_comb(ratio, **{k: v for k, v in args.items()})
    _, grid, windows, floor_db, presence_db = hm._comb_setup(513, *args.values())
    ref = harmonic_comb_reference(ratio, windows, grid, DF_HZ, floor_db, presence_db, 0.35, 1.0, 0.05)
    np.testing.assert_allclose(got.f0_hz, ref[0], rtol=1e-6)
    np.testing.assert_allclose(got.snr_db, ref[1], atol=1e-4)
    np.testing.assert_allclose(got.score, ref[2], rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(got.n_harmonics, ref[3])
    np.testing.assert_array_equal(got.harmonic_bins, ref[4])
    assert np.all(np.abs(got.f0_hz[:3] - 26 * DF_HZ) < 0.5 * DF_HZ)  # and the planted comb is the one found
    assert np.all(got.n_harmonics[:3] >= 4)


@pytest.mark.parametrize("drift_frac", [0.0, 0.04])
def test_drifting_rotor_comb_found_with_f0_and_snr(drift_frac):
    """180 Hz, 6 harmonics falling 3 dB each, total SNR 28 dB per bin, f0 drifting 0 or +4 % over 2 s.

    Measured (drift 0 / 4 %): f0 error median 0.39 / 0.33 Hz, max 3.6 / 3.1 Hz (bin 7.8 Hz); SNR error median
    -0.85 / -1.1 dB, within 2 dB in 97 / 90 % of blocks. Detection probability at the design Pfa 1e-3 (3 seeds,
    2 % drift): 0.09 at 18 dB, 0.37 at 21 dB, 1.0 at 24 dB."""
    snr_db = 28.0
    x, f0 = rotor_comb(180.0, drift_frac, -3.0 * np.arange(6), snr_db, seed=4)
    hop = NFFT // 2
    det = hm.detect_harmonics(stft(x, nfft=NFFT, hop=hop), fs_hz=FS_HZ, nfft=NFFT, pfa=1e-3)
    truth = f0[block_centres(det.f0_hz.size, hop)]
    assert det.detected.all()
    f0_err = det.f0_hz - truth
    assert np.abs(f0_err).max() < DF_HZ  # within one bin (7.8 Hz) in every block
    assert np.median(np.abs(f0_err)) < 0.15 * DF_HZ
    snr_err = det.snr_db - snr_db
    assert abs(np.median(snr_err)) < 1.5  # the lines lift the median noise floor a little
    assert np.mean(np.abs(snr_err) < 2.0) >= 0.8
    assert np.median(det.n_harmonics) >= 5
    # the bins of the 6 real harmonics lie on k f0 (7 and 8 are noise when present)
    k = np.arange(1, 7)
    found = det.harmonic_bins[:, :6] >= 0
    expected_bins = k[None, :] * truth[:, None] / DF_HZ
    assert np.all(np.abs(det.harmonic_bins[:, :6] - expected_bins)[found] <= 1.0)


def test_weak_comb_scores_below_a_strong_one():
    det = [hm.detect_harmonics(stft(rotor_comb(180.0, 0.02, -3.0 * np.arange(6), s, seed=1)[0], nfft=NFFT),
                               fs_hz=FS_HZ, nfft=NFFT) for s in (15.0, 30.0)]
    assert np.median(det[0].score) < np.median(det[1].score)
    assert det[0].detected.mean() < 0.5 and det[1].detected.all()


def pink_noise(n, rng):
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    spectrum[1:] /= np.sqrt(f[1:] / f[1])
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)


@pytest.mark.parametrize("colour", ["white", "pink"])
def test_false_alarm_rate_on_noise_matches_the_design(colour):
    """2000 blocks of noise at a design Pfa of 1 %: 20 false alarms expected; measured white 19, pink 16
    (the simulation behind the threshold is white; the spectral floor follows pink noise's slope). At the
    design 1e-3: 2 and 0. (On 10 000 white blocks at 48 kHz, nfft 4096, 1 and 4 channels, designs 1e-1, 1e-2,
    1e-3 gave 0.087 / 0.0098 / 0.0009 and 0.093 / 0.0076 / 0.0006.)"""
    pfa = 0.01
    n_blocks = 2000
    rng = np.random.default_rng(11)
    x = rng.standard_normal(NFFT * n_blocks) if colour == "white" else pink_noise(NFFT * n_blocks, rng)
    det = hm.detect_harmonics(stft(x[:, None], nfft=NFFT, hop=NFFT), fs_hz=FS_HZ, nfft=NFFT, pfa=pfa)
    measured = det.detected.mean()
    assert pfa / 2.5 <= measured <= pfa * 2.0, measured
    # a stricter design gives fewer false alarms, on the same blocks
    strict = hm.comb_score_threshold(pfa=1e-3, fs_hz=FS_HZ, nfft=NFFT)
    assert strict > det.score_threshold
    assert np.mean(det.score > strict) <= 3e-3


def test_single_tone_is_not_a_comb():
    rng = np.random.default_rng(3)
    t = np.arange(int(2 * FS_HZ)) / FS_HZ
    for f_hz in (700.0, 180.0, 1234.5):
        tone = np.sqrt(2 * 10 ** 3.5 * 2 / NFFT) * np.cos(2 * np.pi * f_hz * t)  # 35 dB per bin
        x = (tone + rng.standard_normal(t.size)).astype(np.float32)[:, None]
        det = hm.detect_harmonics(stft(x, nfft=NFFT), fs_hz=FS_HZ, nfft=NFFT, pfa=1e-3)
        assert not det.detected.any()


def test_threshold_is_deterministic():
    a = hm.comb_score_threshold(pfa=1e-2, fs_hz=FS_HZ, nfft=NFFT)
    hm._null_scores.cache_clear()
    b = hm.comb_score_threshold(pfa=1e-2, fs_hz=FS_HZ, nfft=NFFT)  # simulated again: the same scores
    assert a == b and 10.0 < a < 30.0


def test_threshold_kept_on_disk_by_a_memo(tmp_path, monkeypatch):
    """sensorkit.cache.DiskMemo keeps the null scores once per machine (the kernel does no I/O): written once,
    read back, and a damaged file computed again and replaced."""
    from sensorkit.cache import DiskMemo, cache_dir

    monkeypatch.setenv("SENSORKIT_CACHE_DIR", str(tmp_path))
    assert cache_dir("comb_null") == tmp_path / "comb_null"
    memo = DiskMemo("comb_null")
    args = dict(pfa=1e-3, fs_hz=FS_HZ, nfft=NFFT, n_averages=3, f_max_hz=2500.0, n_blocks=300, seed=7)
    first = hm.comb_score_threshold(memo=memo, **args)
    assert first == hm.comb_score_threshold(**args)  # the memo changes where, not what
    files = list((tmp_path / "comb_null").glob("*.npy"))
    assert len(files) == 1 and np.load(files[0]).shape == (300,)
    hm._null_scores.cache_clear()
    calls = []
    monkeypatch.setattr(hm, "_simulate_null_scores", lambda *a: calls.append(a))  # must not run: read from disk
    assert hm.comb_score_threshold(memo=memo, **args) == first and not calls
    monkeypatch.undo()
    monkeypatch.setenv("SENSORKIT_CACHE_DIR", str(tmp_path))
    for damage in ("unreadable", "wrong array"):  # recomputed and replaced either way
        if damage == "unreadable":
            files[0].write_bytes(b"garbage")
        else:
            np.save(files[0], np.arange(10.0)[::-1])  # a readable .npy, but not 300 sorted scores
        hm._null_scores.cache_clear()
        assert hm.comb_score_threshold(memo=memo, **args) == first
        assert np.load(files[0]).shape == (300,)
    assert not list((tmp_path / "comb_null").glob("*.tmp"))


@pytest.mark.parametrize("n_avg", [1, 4])
def test_frequency_domain_noise_matches_windowed_fft(n_avg):
    """The threshold's noise, drawn in the frequency domain through the Hann taps [-1/4, 1/2, -1/4], has the
    statistics of the FFT of Hann-windowed white noise: per-bin mean 1, variance 1 / n_avg (Gamma), correlation
    between neighbouring bins (2/3)^2 = 0.444 and (1/6)^2 = 0.028 at lag 2 (measured on 4000 blocks: within
    0.03 of these), DC and Nyquist bins real."""
    nfft, n = 256, 4000
    window = hm.make_window("hann", nfft)
    taps = hm._window_taps(window, nfft)
    np.testing.assert_allclose(taps, [-0.25, 0.5, -0.25], atol=1e-7)
    sim = hm._simulated_noise_power(np.random.default_rng(1), n, n_avg, nfft, nfft // 2 + 1, taps)
    x = np.random.default_rng(2).standard_normal((n, n_avg, nfft)) * window
    spec = np.fft.rfft(x, axis=-1)
    ref = np.mean(np.abs(spec) ** 2, axis=1) / np.sum(window.astype(np.float64) ** 2)

    def stats(p):
        inner = p[:, 4:-4]
        c = [np.mean([np.corrcoef(inner[:, k], inner[:, k + lag])[0, 1] for k in range(0, inner.shape[1] - 2, 7)])
             for lag in (1, 2)]
        return inner.mean(), inner.var() * n_avg, c[0], c[1], p[:, 0].mean(), p[:, -1].mean()

    got, want = stats(sim), stats(ref)
    assert abs(got[0] - 1.0) < 0.02 and abs(got[1] - 1.0) < 0.06
    assert abs(got[2] - 4 / 9) < 0.03 and abs(got[3] - 1 / 36) < 0.03
    np.testing.assert_allclose(got, want, atol=0.1)


def test_window_without_short_dft_falls_back_to_the_fft():
    rng = np.random.default_rng(0)
    assert hm._window_taps(rng.uniform(0.5, 1.0, 64).astype(np.float32), 64) is None
    assert hm._window_taps(hm.make_window("blackman", 64), 64).shape == (5,)
    # the threshold of such a window is still simulated (FFT of windowed noise), and lands near Hann's
    window = rng.uniform(0.5, 1.0, NFFT)
    odd = hm.comb_score_threshold(pfa=1e-2, fs_hz=FS_HZ, nfft=NFFT, window=window, n_blocks=400)
    hann = hm.comb_score_threshold(pfa=1e-2, fs_hz=FS_HZ, nfft=NFFT, n_blocks=400)
    assert np.isfinite(odd) and abs(odd - hann) < 0.3 * hann


def test_harmonic_bin_set():
    row = np.array([10, 20, -1, 40])
    np.testing.assert_array_equal(hm.harmonic_bin_set(row, 41, spread_bins=1), [9, 10, 11, 19, 20, 21, 39, 40])
    with pytest.raises(ValueError, match="n_bins=30"):
        hm.harmonic_bin_set(row, 30)


@pytest.mark.parametrize("kwargs, message", [
    (dict(fs_hz=-1.0, nfft=NFFT), "fs_hz"),
    (dict(fs_hz=FS_HZ, nfft=1024), "expected nfft // 2 \\+ 1 = 513 bins"),
    (dict(fs_hz=FS_HZ, nfft=NFFT, pfa=1.5), "pfa"),
    (dict(fs_hz=FS_HZ, nfft=NFFT, noise_floor="nope"), "noise_floor"),
    (dict(fs_hz=FS_HZ, nfft=NFFT, tolerance_rel=0.5), "tolerance_rel"),
    (dict(fs_hz=FS_HZ, nfft=NFFT, f0_min_hz=2000.0, f0_max_hz=1000.0), "f0_max_hz"),
])
def test_bad_input_is_refused(kwargs, message):
    x = stft(np.zeros((NFFT * 2, 1), np.float32) + 1.0, nfft=NFFT)
    with pytest.raises(ValueError, match=message):
        hm.detect_harmonics(x, **kwargs)


def test_non_complex_stft_is_refused():
    with pytest.raises(ValueError, match="expected a complex array"):
        hm.detect_harmonics(np.zeros((1, 3, NFFT // 2 + 1)), fs_hz=FS_HZ, nfft=NFFT)
