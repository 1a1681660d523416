"""GPR pre-processing kernels: equivalence with the NumPy references, behaviour on synthetic traces, validation.

Equivalence tolerance (float32 results): rtol=1e-5 and atol=1e-6 times the input's peak amplitude, unless a test
states otherwise. Most kernels agree bit for bit; the envelope (single-precision FFT) to about 2e-7 of the peak.
"""

import numpy as np
import pytest

from sensorkit.kernels import _reference_gpr as ref
from sensorkit.kernels import validate
from sensorkit.kernels.gpr_filters import (
    agc_gain,
    align_time_zero,
    bandpass,
    bandpass_sos,
    dewow,
    envelope,
    first_break_picks,
    power_exp_gain_curve,
    remove_background,
    sec_gain,
    tpower_gain,
)

DT_S = 1e-10  # 0.1 ns, a 1-2 GHz landmine GPR
RTOL = 1e-5
ATOL_REL = 1e-6

SHAPES = [(33,), (40, 64), (3, 6, 51)]  # one trace, a line, a small grid (odd n_samples)


def random_traces(shape, seed, scale=1e3):
    """Seeded Gaussian traces with a DC offset, float32, peak ~ 4 * scale."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale + 0.3 * scale).astype(np.float32)


def assert_close_f32(actual, expected, scale, rtol=RTOL, atol_rel=ATOL_REL):
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol_rel * scale)


def ricker(t_s, f_hz):
    a = (np.pi * f_hz * t_s) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


# --- equivalence with the references ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("window", [2, 5, 16, "all"])
def test_dewow_matches_reference(shape, window):
    x = random_traces(shape, seed=1)
    w = shape[-1] if window == "all" else window
    assert_close_f32(dewow(x, window_samples=w), ref.dewow_reference(x, w), np.abs(x).max())


def test_dewow_window_in_seconds_is_rounded_to_samples():
    x = random_traces((5, 100), seed=2)
    assert np.array_equal(dewow(x, window_s=1.04e-9, dt_s=DT_S), dewow(x, window_samples=10))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("window", [2, 9, "all"])
def test_agc_matches_reference(shape, window):
    x = random_traces(shape, seed=3)
    w = shape[-1] if window == "all" else window
    # outputs are O(1) whatever the input scale
    assert_close_f32(agc_gain(x, window_samples=w), ref.agc_gain_reference(x, w, 1e-12), 1.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_sec_and_tpower_match_reference(shape):
    x = random_traces(shape, seed=4)
    n = shape[-1]
    curve = ref.power_exp_gain_curve_reference(n, DT_S, 1.5, 2e8, 3e-10, 1e-9, 500.0)
    assert np.allclose(power_exp_gain_curve(n, dt_s=DT_S, power=1.5, exponent_per_s=2e8, time_zero_s=3e-10,
                                            max_gain=500.0), curve, rtol=1e-12, atol=0)
    out = sec_gain(x, dt_s=DT_S, power=1.5, exponent_per_s=2e8, time_zero_s=3e-10, max_gain=500.0)
    assert_close_f32(out, ref.apply_gain_reference(x, curve), np.abs(x).max() * 500.0)
    curve_t = ref.power_exp_gain_curve_reference(n, DT_S, 2.0, 0.0, 0.0, 1e-9, None)
    assert_close_f32(tpower_gain(x, dt_s=DT_S, power=2.0), ref.apply_gain_reference(x, curve_t),
                     np.abs(x).max() * curve_t.max())


@pytest.mark.parametrize("statistic", ["mean", "median"])
@pytest.mark.parametrize("window_traces", [None, 2, 5, 12])
@pytest.mark.parametrize("shape,trace_axis", [((12, 40), -2), ((2, 12, 31), -2), ((12, 3, 31), 0),
                                              ((3, 4, 31), None)])
def test_background_matches_reference(statistic, window_traces, shape, trace_axis):
    x = random_traces(shape, seed=5)
    out = remove_background(x, statistic=statistic, window_traces=window_traces, trace_axis=trace_axis)
    expected = ref.remove_background_reference(x, statistic, window_traces, trace_axis)
    assert_close_f32(out, expected, np.abs(x).max())


@pytest.mark.parametrize("shape", SHAPES + [(4, 64), (2, 1), (3, 2)])
def test_envelope_matches_scipy_hilbert(shape):
    x = random_traces(shape, seed=6)
    out = envelope(x)
    assert_close_f32(out, ref.envelope_reference(x), np.abs(x).max())
    assert (out >= 0).all()


@pytest.mark.parametrize("edges", [(2e8, 2e9), (5e8, None), (None, 1e9)])
@pytest.mark.parametrize("order", [1, 4, 6])
@pytest.mark.parametrize("shape", [(40, 128), (3, 37, 100)])  # 40 and 111 traces: whole and partial blocks
def test_bandpass_matches_sosfiltfilt(edges, order, shape):
    x = random_traces(shape, seed=7)
    sos = bandpass_sos(dt_s=DT_S, low_hz=edges[0], high_hz=edges[1], order=order)
    out = bandpass(x, dt_s=DT_S, low_hz=edges[0], high_hz=edges[1], order=order)
    assert_close_f32(out, ref.bandpass_reference(x, sos), np.abs(x).max())


@pytest.mark.parametrize("method", ["amplitude", "envelope"])
@pytest.mark.parametrize("shape", SHAPES)
def test_first_break_picks_match_reference(method, shape):
    x = random_traces(shape, seed=8)
    picks = first_break_picks(x, threshold=0.6, method=method)
    assert picks.shape == shape[:-1] and picks.dtype == np.float64
    np.testing.assert_allclose(picks, ref.first_break_picks_reference(x, 0.6, method), rtol=0, atol=1e-3)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fractional", [True, False])
def test_alignment_matches_reference(shape, fractional):
    x = random_traces(shape, seed=9)
    rng = np.random.default_rng(10)
    picks = rng.uniform(0, shape[-1] - 1, size=shape[:-1])
    target = 17.25
    shifts = target - picks
    if not fractional:
        shifts = np.rint(shifts)
    out = align_time_zero(x, picks, target_sample=target, fractional=fractional)
    assert_close_f32(out, ref.shift_traces_reference(x, shifts), np.abs(x).max())


# --- behaviour on synthetic traces with known answers -----------------------------------------------------

def test_dewow_removes_dc_offset_and_slow_ramp_keeps_reflection():
    n = 512
    t = np.arange(n) * DT_S
    wow = 0.5 + 0.3 * t / t[-1]  # 0.5 V offset + 0.3 V drift over the 51.2 ns trace
    window_s = 3e-9  # 30 samples -> a 31-sample window
    half = 15
    out = dewow(wow[None, :].astype(np.float32), window_s=window_s, dt_s=DT_S)[0]
    assert np.abs(out[half:n - half]).max() < 1e-3
    # a pure offset goes everywhere, ends included
    out_dc = dewow(np.full((2, n), 0.5, np.float32), window_s=window_s, dt_s=DT_S)
    assert np.abs(out_dc).max() < 1e-6
    # a 1 GHz tone (10 samples a period) passes: a 31-sample mean of it is 3% of its amplitude
    tone = 0.2 * np.sin(2 * np.pi * 1e9 * t)
    out_tone = dewow((wow + tone)[None, :].astype(np.float32), window_s=window_s, dt_s=DT_S)[0]
    interior = out_tone[half:n - half]
    assert 0.2 * 0.96 < np.abs(interior).max() < 0.2 * 1.04
    assert np.abs(interior - tone[half:n - half]).max() < 0.2 * 0.04


def _line_with_flat_reflector_and_hyperbola(n_traces=401, n_samples=256):
    """x from -2 to 2 m every 1 cm; a flat layer at 3 ns (amplitude 2); a point target at 0.3 m depth,
    v = 0.1 m/ns (apex at 6 ns, amplitude 1); 1 GHz Ricker wavelets."""
    x_m = np.linspace(-2.0, 2.0, n_traces)
    t = np.arange(n_samples) * DT_S
    v = 0.1e9
    flat = 2.0 * ricker(t - 3e-9, 1e9)
    t_hyp = 2.0 * np.sqrt(0.3 ** 2 + x_m ** 2) / v
    hyp = ricker(t[None, :] - t_hyp[:, None], 1e9)
    return (flat[None, :] + hyp).astype(np.float32), n_traces // 2, int(round(6e-9 / DT_S))


def test_mean_background_cancels_flat_reflector_and_keeps_hyperbola_apex():
    line, apex_trace, apex_sample = _line_with_flat_reflector_and_hyperbola()
    out = remove_background(line)
    flat_rows = slice(15, 45)  # the flat layer's wavelet, 1.5 ns either side of 3 ns; the target is later
    assert np.abs(line[:, flat_rows]).max() > 1.9
    assert np.abs(out[:, flat_rows]).max() < 1e-6
    apex_before = line[apex_trace, apex_sample]
    apex_after = out[apex_trace, apex_sample]
    assert apex_before == pytest.approx(1.0, abs=1e-6)
    assert abs(apex_after - apex_before) < 0.05 * apex_before


def test_median_background_keeps_apex_and_moving_window_cancels_flat_layer():
    line, apex_trace, apex_sample = _line_with_flat_reflector_and_hyperbola()
    out = remove_background(line, statistic="median")
    assert np.abs(out[:, 15:45]).max() < 1e-6
    assert out[apex_trace, apex_sample] == pytest.approx(1.0, abs=0.01)
    for statistic in ("mean", "median"):
        moving = remove_background(line, statistic=statistic, window_traces=51)
        assert np.abs(moving[:, 15:45]).max() < 1e-6


def test_background_per_line_of_a_grid():
    """Each line of a (line, trace, sample) grid has its own ringing; the default trace_axis=-2 removes each."""
    rng = np.random.default_rng(11)
    ringing = rng.standard_normal((3, 1, 64))  # one per line
    grid = np.broadcast_to(ringing, (3, 20, 64)).astype(np.float32)
    assert np.abs(remove_background(grid)).max() < 1e-6
    assert np.abs(remove_background(grid, trace_axis=None)).max() > 0.1  # a common background would not


def test_tpower_gain_of_two_multiplies_by_t_squared():
    x = np.ones((2, 200), np.float32)
    out = tpower_gain(x, dt_s=DT_S, power=2.0)  # t in ns by default
    t_ns = np.arange(200) * 0.1
    np.testing.assert_allclose(out[0], t_ns ** 2, rtol=1e-6)
    assert out[0, 125] == pytest.approx(156.25, rel=1e-7)  # t = 12.5 ns
    si = tpower_gain(x, dt_s=DT_S, power=2.0, reference_time_s=1.0)  # t in seconds
    assert si[1, 100] == pytest.approx((10e-9) ** 2, rel=1e-6)
    late = tpower_gain(x, dt_s=DT_S, power=2.0, time_zero_s=2e-9)  # time zero at sample 20
    assert (late[:, :21] == 0).all() and late[0, 30] == pytest.approx(1.0, rel=1e-6)


def test_sec_gain_compensates_exponential_decay_and_clips():
    n = 300
    t = np.arange(n) * DT_S
    a = 2e8  # 1/s: amplitude falls by e every 5 ns
    decaying = (np.exp(-a * t) / np.maximum(t / 1e-9, 1e-3)).astype(np.float32)
    out = sec_gain(decaying[None, :], dt_s=DT_S, power=1.0, exponent_per_s=a, max_gain=1e6)[0]
    np.testing.assert_allclose(out[1:], 1.0, rtol=1e-5)
    clipped = sec_gain(np.ones((1, n), np.float32), dt_s=DT_S, power=1.0, exponent_per_s=a, max_gain=50.0)[0]
    assert clipped.max() == 50.0
    first_clip = int(np.argmax(clipped == 50.0))
    assert t[first_clip] / 1e-9 * np.exp(a * t[first_clip]) >= 50.0 > t[first_clip - 1] / 1e-9 * np.exp(
        a * t[first_clip - 1])


def test_agc_output_rms_is_one_in_each_window():
    n, window = 512, 51
    t = np.arange(n) * DT_S
    rng = np.random.default_rng(12)
    amplitude = 10.0 ** (-3.0 * np.arange(n) / n)  # 60 dB decay down the trace
    traces = (amplitude * (np.sin(2 * np.pi * 1e9 * t + rng.uniform(0, 6.3, (4, 1)))
                           + 0.3 * rng.standard_normal((4, n)))).astype(np.float32)
    out = agc_gain(traces, window_samples=window)
    half = window // 2
    rms = np.sqrt(np.array([[np.mean(out[k, i - half:i + half + 1].astype(np.float64) ** 2)
                             for i in range(half, n - half)] for k in range(4)]))
    # 6 dB of decay inside one window biases a centred RMS by ~4%; the noise adds window-to-window spread
    assert 0.85 < rms.min() and rms.max() < 1.15
    assert np.median(rms) == pytest.approx(1.0, abs=0.05)
    # the input RMS spans 55 dB over these windows; the output's less than 2 dB
    assert 20 * np.log10(rms.max() / rms.min()) < 2.0
    # a steady 1 mV tone comes out at RMS 1 within 2% in every window
    steady = agc_gain((1e-3 * np.sin(2 * np.pi * 1e9 * t))[None, :].astype(np.float32), window_samples=window)[0]
    rms_steady = np.sqrt([np.mean(steady[i - half:i + half + 1].astype(np.float64) ** 2)
                          for i in range(half, n - half)])
    assert np.abs(rms_steady - 1.0).max() < 0.02
    silent = agc_gain(np.zeros((1, n), np.float32), window_samples=window)
    assert np.array_equal(silent, np.zeros((1, n), np.float32))


def test_bandpass_passes_400mhz_and_rejects_20mhz():
    n = 8192  # 819 ns: 16 periods of 20 MHz
    t = np.arange(n) * DT_S
    tones = np.stack([np.sin(2 * np.pi * 400e6 * t), np.sin(2 * np.pi * 20e6 * t)]).astype(np.float32)
    out = bandpass(tones, dt_s=DT_S, low_hz=100e6, high_hz=1e9, order=4)
    mid = slice(n // 4, 3 * n // 4)
    gain_db = 20 * np.log10(np.sqrt(np.mean(out[:, mid].astype(np.float64) ** 2, axis=1))
                            / np.sqrt(np.mean(tones[:, mid].astype(np.float64) ** 2, axis=1)))
    assert gain_db[0] > -1.0
    assert gain_db[1] < -30.0
    # zero phase: the passed tone is not delayed
    assert np.abs(out[0, mid] - tones[0, mid]).max() < 0.12


def _traces_with_onsets(n_traces=20, n_samples=256, seed=13):
    """Damped 1 GHz sinusoids starting abruptly at known fractional samples, random amplitude and polarity,
    with noise at 1% of the amplitude."""
    rng = np.random.default_rng(seed)
    onsets = 40.0 + 3.37 * np.arange(n_traces) + rng.uniform(0, 1, n_traces)
    i = np.arange(n_samples)
    tau = i[None, :] - onsets[:, None]
    amp = rng.uniform(0.5, 2.0, (n_traces, 1)) * rng.choice([-1.0, 1.0], (n_traces, 1))
    wave = np.where(tau >= 0, np.sin(2 * np.pi * 0.1 * tau) * np.exp(-tau / 20.0), 0.0)
    noise = 0.01 * np.abs(amp) * rng.standard_normal((n_traces, n_samples))
    return (amp * wave + noise).astype(np.float32), onsets


@pytest.mark.parametrize("method,threshold", [("amplitude", 0.1), ("amplitude", 0.3), ("envelope", 0.4),
                                              ("envelope", 0.5)])
def test_first_break_picks_within_one_sample_of_known_onset(method, threshold):
    traces, onsets = _traces_with_onsets()
    picks = first_break_picks(traces, threshold=threshold, method=method)
    assert np.abs(picks - onsets).max() <= 1.0


def test_envelope_of_a_sharp_onset_rises_early_at_low_thresholds():
    """The analytic signal is not causal: at threshold 0.1 the envelope picks 4 to 6 samples early."""
    traces, onsets = _traces_with_onsets()
    early = onsets - first_break_picks(traces, threshold=0.1, method="envelope")
    assert 4.0 < early.min() and early.max() < 6.0


def test_first_break_picks_per_channel_of_an_array():
    traces, onsets = _traces_with_onsets(n_traces=12)
    grid = traces.reshape(3, 4, -1)  # (trace, channel, sample)
    picks = first_break_picks(grid)
    assert picks.shape == (3, 4)
    assert np.abs(picks - onsets.reshape(3, 4)).max() <= 1.0
    dead = first_break_picks(np.zeros((2, 50), np.float32))
    assert np.isnan(dead).all()


@pytest.mark.parametrize("fractional", [True, False])
def test_alignment_moves_picks_to_the_requested_sample(fractional):
    traces, onsets = _traces_with_onsets()
    picks = first_break_picks(traces, threshold=0.1)
    aligned = align_time_zero(traces, picks, target_sample=30.0, fractional=fractional)
    repicked = first_break_picks(aligned, threshold=0.1)
    # whole-sample shifts leave the rounding (<= 0.5); interpolation reshapes the onset a little (< 0.5)
    assert np.abs(repicked - 30.0).max() <= 0.5
    # the default target is the median pick
    default = first_break_picks(align_time_zero(traces, picks, fractional=fractional), threshold=0.1)
    assert np.abs(default - np.median(picks)).max() <= 0.5


def test_alignment_integer_shift_moves_samples_exactly_and_half_sample_interpolates():
    x = np.arange(1, 11, dtype=np.float32)[None, :] * np.array([[1.0], [-2.0]], np.float32)
    out = align_time_zero(x, np.array([5.0, 2.0]), target_sample=3.0)  # shifts -2 and +1
    assert np.array_equal(out[0], np.array([3, 4, 5, 6, 7, 8, 9, 10, 0, 0], np.float32))
    assert np.array_equal(out[1], -2.0 * np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], np.float32))
    half = align_time_zero(x[:1], np.array([2.5]), target_sample=3.0)  # +0.5 sample
    assert np.array_equal(half[0], np.array([0, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5], np.float32))
    unchanged = align_time_zero(x, np.array([np.nan, 2.0]), target_sample=2.0)
    assert np.array_equal(unchanged, x)


# --- input handling and validation ------------------------------------------------------------------------

ALL_KERNELS = [
    ("dewow", lambda x: dewow(x, window_samples=5)),
    ("agc", lambda x: agc_gain(x, window_samples=5)),
    ("sec", lambda x: sec_gain(x, dt_s=DT_S, exponent_per_s=1e8)),
    ("tpower", lambda x: tpower_gain(x, dt_s=DT_S, power=1.0)),
    ("background", lambda x: remove_background(x, trace_axis=None)),
    ("bandpass", lambda x: bandpass(x, dt_s=DT_S, low_hz=1e8, high_hz=2e9)),
    ("envelope", envelope),
    ("align", lambda x: align_time_zero(x, np.full(x.shape[:-1], 3.0), target_sample=1.5)),
]


@pytest.mark.parametrize("name,kernel", ALL_KERNELS)
def test_input_is_not_modified_and_layouts_agree(name, kernel):
    x = random_traces((6, 4, 80), seed=14)
    before = x.copy()
    out = kernel(x)
    assert np.array_equal(x, before)
    assert out.dtype == np.float32 and out.shape == x.shape
    # a strided view gives the same result as its contiguous copy
    view = x[:, ::2, :]
    assert np.array_equal(kernel(view), kernel(np.ascontiguousarray(view)))
    # integers are converted exactly, float64 rounded to float32
    ints = np.rint(x).astype(np.int16)
    assert np.array_equal(kernel(ints), kernel(ints.astype(np.float32)))
    assert np.array_equal(kernel(x.astype(np.float64)), kernel(x))
    # byte order and read-only buffers do not matter
    assert np.array_equal(kernel(x.astype(">f4")), kernel(x))
    frozen = x.copy()
    frozen.flags.writeable = False
    assert np.array_equal(kernel(frozen), kernel(x))
    # a single trace (n_samples,) works
    assert kernel(x[0, 0]).shape == (80,)


@pytest.mark.parametrize("name,kernel", ALL_KERNELS)
def test_non_finite_input_is_refused_with_its_position(name, kernel):
    x = random_traces((4, 80), seed=15)
    x[2, 17] = np.nan
    x[3, 5] = np.inf
    with pytest.raises(ValueError, match=r"traces: expected finite values, found 2 non-finite, the first nan "
                                         r"at index \(2, 17\)"):
        kernel(x)


@pytest.mark.parametrize("bad,match", [
    (np.ones((3, 8), complex), "found dtype complex128"),
    (np.ones((3, 8), bool), "found dtype bool"),
    (np.array([["a"] * 8]), "found dtype <U1"),
    (np.float32(1.0), "found a scalar"),
    (np.ones((0, 8), np.float32), r"at least one trace, found shape \(0, 8\)"),
    (np.array([1e39, 0.0] * 4), r"the first inf at index \(0,\)"),
])
def test_bad_arrays_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        envelope(bad)


def test_contiguous_float32_is_not_copied():
    x = random_traces((5, 3, 16), seed=16)
    a = validate.as_float32_traces(x)
    assert a is x
    assert np.shares_memory(validate.as_2d(a), x)


@pytest.mark.parametrize("kwargs,match", [
    (dict(window_samples=1), r"window_samples: expected an integer in \[2, 64\], found 1"),
    (dict(window_samples=65), r"window_samples: expected an integer in \[2, 64\], found 65"),
    (dict(window_samples=5.0), r"window_samples: expected an integer in \[2, 64\], found 5.0"),
    (dict(), "expected exactly one of window_samples and window_s"),
    (dict(window_samples=5, window_s=1e-9, dt_s=DT_S), "expected exactly one of window_samples and window_s"),
    (dict(window_s=1e-9), r"dt_s: expected the sample interval in seconds to convert window_s=1e-09"),
    (dict(window_s=1e-9, dt_s=0.0), r"dt_s: expected a finite number > 0, found 0.0"),
    (dict(window_s=1e-9, dt_s=float("nan")), r"dt_s: expected a finite number, found nan"),
    (dict(window_s=1e-8, dt_s=DT_S), r"window_s: expected a window of 2 to 64 samples .* found 1e-08 s = 100 samples"),
])
def test_window_arguments_are_checked(kwargs, match):
    x = random_traces((3, 64), seed=17)
    with pytest.raises(ValueError, match=match):
        dewow(x, **kwargs)
    with pytest.raises(ValueError, match=match):
        agc_gain(x, **kwargs)


def test_other_arguments_are_checked():
    x = random_traces((12, 64), seed=18)
    cases = [
        (lambda: agc_gain(x, window_samples=5, epsilon=0.0), r"epsilon: expected a finite number > 0, found 0.0"),
        (lambda: sec_gain(x, dt_s=-1e-10, exponent_per_s=1e8), r"dt_s: expected a finite number > 0, found -1e-10"),
        (lambda: sec_gain(x, dt_s=DT_S, exponent_per_s=1e8, max_gain=0), r"max_gain: .* found 0"),
        (lambda: tpower_gain(x, dt_s=DT_S, power=-1.0), r"power: expected a number in \[0.0, 100.0\], found -1.0"),
        (lambda: tpower_gain(x, dt_s=DT_S, power=1.0, reference_time_s=0.0), r"reference_time_s: .* found 0.0"),
        (lambda: sec_gain(x, dt_s=DT_S, exponent_per_s=1e12, max_gain=None),
         r"gain: exceeds the float32 range at sample 1 \(t = 1e-10 s, gain 2.68"),
        (lambda: remove_background(x, statistic="mode"), r"statistic: expected one of 'mean', 'median', found 'mode'"),
        (lambda: remove_background(x, window_traces=1), r"window_traces: expected an integer in \[2, 12\], found 1"),
        (lambda: remove_background(x, window_traces=13), r"window_traces: expected an integer in \[2, 12\], found 13"),
        (lambda: remove_background(x, trace_axis=-1), r"trace_axis: expected an axis other than the last"),
        (lambda: remove_background(x, trace_axis=2), r"trace_axis: expected an integer in \[-2, 0\], found 2"),
        (lambda: remove_background(x[0], window_traces=3), r"pass a 2-D array or trace_axis=None"),
        (lambda: first_break_picks(x, threshold=0.0), r"threshold: expected a number in \(0.0, 1.0\], found 0.0"),
        (lambda: first_break_picks(x, threshold=1.5), r"threshold: expected a number in \(0.0, 1.0\], found 1.5"),
        (lambda: first_break_picks(x, method="stalta"), r"method: expected one of 'amplitude', 'envelope'"),
        (lambda: align_time_zero(x, np.zeros(11)),
         r"picks: expected real numbers shaped .* \(12,\), found shape \(11,\)"),
        (lambda: align_time_zero(x, np.full(12, np.inf)), r"picks: expected finite picks or NaN, found inf"),
        (lambda: align_time_zero(x, np.full(12, np.nan)), r"all picks are NaN"),
        (lambda: align_time_zero(x, np.zeros(12), target_sample=64), r"target_sample: .*\[0.0, 63\], found 64"),
        (lambda: bandpass(x, dt_s=DT_S), r"expected low_hz and/or high_hz, found neither"),
        (lambda: bandpass(x, dt_s=DT_S, low_hz=1e9, high_hz=5e8), r"low_hz < high_hz, found low_hz=1000000000.0"),
        (lambda: bandpass(x, dt_s=DT_S, high_hz=5e9), r"high_hz: expected a number in \(0.0, 5000000000.0\), found"),
        (lambda: bandpass(x, dt_s=DT_S, low_hz=1e8, order=0), r"order: expected an integer in \[1, 10\], found 0"),
        (lambda: bandpass(x[:, :20], dt_s=DT_S, low_hz=1e8, high_hz=1e9),
         r"expected more than 27 samples per trace for this filter \(order 4\), found 20"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
