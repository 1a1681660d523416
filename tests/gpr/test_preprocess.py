"""sensorkit.gpr.preprocess: the chain before migration, on traces with known events."""

from dataclasses import replace

import numpy as np
import pytest

from sensorkit.gpr.preprocess import PreprocessConfig, pick_time_zero_ns, preprocess_cube, preprocess_line
from sensorkit.kernels.gpr_filters import remove_background

DT_S = 0.1e-9
RAW = PreprocessConfig(dewow_window_ns=0.0, background="none", bandpass_mhz=(0.0, 0.0), gain="none")


def _spikes(n_traces=8, n_samples=200, at=(30, 120)):
    x = np.zeros((n_traces, n_samples), dtype=np.float32)
    for k in at:
        x[:, k] = 1.0
    return x


def test_time_zero_shift_moves_samples_and_drops_the_tail():
    x = _spikes()
    out, t0 = preprocess_line(x, DT_S, replace(RAW, time_zero_ns=3.0))
    assert t0 == 3.0
    assert out.shape == (8, 170)  # 200 - ceil(3 ns / 0.1 ns)
    assert np.flatnonzero(out[0]).tolist() == [0, 90]
    # a fractional time zero interpolates: 2.55 ns = 25.5 samples puts the spike half on samples 4 and 5
    out, _ = preprocess_line(x, DT_S, replace(RAW, time_zero_ns=2.55))
    assert out.shape == (8, 174)
    np.testing.assert_allclose(out[0, 4:6], [0.5, 0.5], atol=1e-6)


def test_auto_time_zero_is_the_median_first_break():
    n = 300
    t = np.arange(n) * DT_S
    x = np.zeros((5, n), dtype=np.float32)
    for k, onset_ns in enumerate([5.0, 5.0, 5.2, 4.8, 5.0]):
        x[k] = np.where(t >= onset_ns * 1e-9, np.sin(2 * np.pi * 0.4e9 * (t - onset_ns * 1e-9)), 0.0) + 7.0
    # the DC offset 7 is removed by the dewow before picking; the first break at 20 % of the peak of a
    # 400 MHz sine lies 0.08 ns after its onset
    assert pick_time_zero_ns(x, DT_S) == pytest.approx(5.08, abs=0.02)
    out, t0 = preprocess_line(x, DT_S, PreprocessConfig(background="none", bandpass_mhz=(0.0, 0.0), gain="none"),
                              centre_frequency_hz=400e6)
    assert t0 == pytest.approx(5.08, abs=0.02)
    assert out.shape == (5, n - int(np.ceil(t0 / 0.1 - 1e-9)))


def test_default_chain_removes_the_flat_band_and_keeps_the_hyperbola():
    rng = np.random.default_rng(1)
    n_traces, n = 60, 256
    x = np.zeros((n_traces, n), dtype=np.float32)
    x[:, 40] = 100.0  # a flat band in every trace (direct wave)
    apex = 150 + (np.abs(np.arange(n_traces) - 30) ** 2 / 20).astype(int)
    x[np.arange(n_traces), np.minimum(apex, n - 1)] += 5.0
    x += rng.normal(0, 0.01, x.shape).astype(np.float32)
    out, _ = preprocess_line(x, DT_S, PreprocessConfig(time_zero_ns=0.0), centre_frequency_hz=1e9)
    assert out.dtype == np.float32 and out.shape == x.shape
    band = np.abs(out[:, 35:46]).max()
    assert band < 0.1 * np.abs(out[30, 140:160]).max()


def test_cube_matches_line_by_line_and_masks_empty_cells():
    rng = np.random.default_rng(2)
    cube = rng.normal(size=(20, 3, 128)).astype(np.float32)
    config = PreprocessConfig(time_zero_ns=1.0)
    out, _ = preprocess_cube(cube, DT_S, config, centre_frequency_hz=1e9)
    for j in range(3):
        line, _ = preprocess_line(cube[:, j, :], DT_S, config, centre_frequency_hz=1e9)
        np.testing.assert_allclose(out[:, j, :], line, rtol=1e-5, atol=1e-5)
    mask = np.ones((20, 3), dtype=bool)
    mask[5, 1] = False
    out, _ = preprocess_cube(cube, DT_S, config, mask=mask, centre_frequency_hz=1e9)
    assert not out[5, 1].any() and out[6, 1].any()
    # background removal works along x for each y, as the kernel's trace_axis=0
    ref = remove_background(cube, trace_axis=0)
    only_bg, _ = preprocess_cube(cube, DT_S, replace(RAW, background="mean", time_zero_ns=0.0))
    np.testing.assert_array_equal(only_bg, ref)


@pytest.mark.parametrize("kwargs, message", [
    ({"background": "mode"}, "config.background"),
    ({"gain": "loud"}, "config.gain"),
    ({"time_zero_ns": -1.0}, "config.time_zero_ns"),
    ({"time_zero_ns": 50.0}, "time_zero_ns: expected a time zero inside the record"),
])
def test_bad_config_raises_value_error_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        preprocess_line(_spikes(), DT_S, PreprocessConfig(**kwargs))


def test_all_zero_traces_refuse_an_automatic_time_zero():
    with pytest.raises(ValueError, match="give time_zero_ns"):
        preprocess_line(np.zeros((4, 64), np.float32), DT_S, PreprocessConfig())
