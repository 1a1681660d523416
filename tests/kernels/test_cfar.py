"""CFAR: CA and OS equal to the NumPy references in 1-D, 2-D and 3-D (edges included), the false-alarm rate on
exponential noise against the design, the detection probability of a fluctuating target against theory,
edges, OS keeping a weak target beside a strong one, bad input refused naming the field."""

import math

import numpy as np
import pytest

from sensorkit.kernels.acoustic_reference import ca_cfar_reference, os_cfar_reference
from sensorkit.kernels.cfar import ca_cfar, ca_threshold_factor, os_cfar, os_rank, os_threshold_factor

CASES = [((300,), (2,), (8,)), ((30, 41), (1, 2), (3, 4)), ((9, 12, 14), (1, 1, 2), (2, 3, 2)),
         ((6, 5, 40), (0, 1, 2), (2, 0, 5))]


@pytest.mark.parametrize("shape, guard, train", CASES)
def test_ca_matches_reference(shape, guard, train):
    x = np.random.default_rng(len(shape)).exponential(size=shape).astype(np.float32)
    x.flat[::97] *= 30.0  # some targets
    got = ca_cfar(x, guard_cells=guard, training_cells=train, pfa=1e-2)
    mask, stat = ca_cfar_reference(x, guard, train, 1e-2)
    np.testing.assert_allclose(got.statistic, stat, rtol=2e-6)
    np.testing.assert_array_equal(got.mask, mask)
    assert got.mask.shape == shape and got.noise.dtype == np.float32


@pytest.mark.parametrize("shape, guard, train", CASES)
@pytest.mark.parametrize("rank_fraction", [0.5, 0.75])
def test_os_matches_reference(shape, guard, train, rank_fraction):
    x = np.random.default_rng(len(shape) + 10).exponential(size=shape).astype(np.float32)
    x.flat[::97] *= 30.0
    got = os_cfar(x, guard_cells=guard, training_cells=train, pfa=1e-2, rank_fraction=rank_fraction)
    mask, stat = os_cfar_reference(x, guard, train, 1e-2, rank_fraction)
    np.testing.assert_allclose(got.statistic, stat, rtol=2e-6)
    np.testing.assert_array_equal(got.mask, mask)


def test_threshold_factors():
    # CA, exponential noise: alpha = N (Pfa^(-1/N) - 1); N = 16, Pfa = 1e-3 -> 8.0 x the mean; N -> inf: -ln Pfa
    assert ca_threshold_factor(16, 1e-3) == pytest.approx(16 * (1e-3 ** (-1 / 16) - 1))
    assert ca_threshold_factor(10 ** 6, 1e-3) == pytest.approx(-math.log(1e-3), rel=1e-4)
    assert ca_threshold_factor(24, 1e-3, n_looks=1) == pytest.approx(ca_threshold_factor(24, 1e-3))
    # OS: the defining product equals Pfa
    n, k = 24, int(os_rank(24, 0.75))
    alpha = float(os_threshold_factor(n, k, 1e-4))
    assert k == 18 and np.prod([(n - i) / (n - i + alpha) for i in range(k)]) == pytest.approx(1e-4, rel=1e-9)


@pytest.mark.parametrize("method", ["ca", "os"])
@pytest.mark.parametrize("shape, guard, train", [((400_000,), 2, 12), ((400, 500), 1, 3), ((40, 50, 100), 1, 2)])
def test_false_alarm_rate_on_exponential_noise(method, shape, guard, train):
    """Design Pfa 1e-3 on 200k to 400k cells of unit exponential noise (edges included): 200 to 400 false alarms
    expected, measured within 15 %."""
    x = np.random.default_rng(7).exponential(size=shape).astype(np.float32)
    f = ca_cfar if method == "ca" else os_cfar
    measured = f(x, guard_cells=guard, training_cells=train, pfa=1e-3).mask.mean()
    assert 0.85e-3 <= measured <= 1.15e-3, measured


def test_false_alarm_rate_with_several_looks():
    """Mean of 4 exponential looks per cell (chi-square, 8 degrees of freedom), design Pfa 1e-3."""
    x = np.random.default_rng(8).gamma(4.0, 0.25, size=(600, 500)).astype(np.float32)
    r = ca_cfar(x, guard_cells=1, training_cells=4, pfa=1e-3, n_looks=4)
    assert 0.85e-3 <= r.mask.mean() <= 1.15e-3
    # the one-look factor on the same data is far too high a threshold: almost nothing detected
    assert ca_cfar(x, guard_cells=1, training_cells=4, pfa=1e-3).mask.mean() < 1e-5


def test_detection_probability_of_a_fluctuating_target_matches_theory():
    """Swerling-1 targets (exponential power of mean 1 + SNR) at 13 dB SNR on a 2-D grid, 1-D-like training:
    CA-CFAR's Pd = (1 + alpha / (N (1 + SNR)))^-N (N training cells)."""
    rng = np.random.default_rng(9)
    x = rng.exponential(size=(2000, 64)).astype(np.float32)
    snr = 10 ** 1.3
    rows = np.arange(2000)
    cols = np.full(2000, 32)
    x[rows, cols] = rng.exponential(1 + snr, size=2000)
    r = ca_cfar(x, guard_cells=(0, 1), training_cells=(0, 8), pfa=1e-4)
    n = 16
    alpha = n * (1e-4 ** (-1 / n) - 1)
    pd_theory = (1 + alpha / (n * (1 + snr))) ** -n
    assert abs(r.mask[rows, cols].mean() - pd_theory) < 0.04, (r.mask[rows, cols].mean(), pd_theory)


def test_a_steady_target_of_known_snr_is_detected_in_3d():
    x = np.random.default_rng(10).exponential(size=(30, 30, 80)).astype(np.float32)
    x[15, 12, 40] = 100.0  # 20 dB over the noise mean
    for f in (ca_cfar, os_cfar):
        r = f(x, guard_cells=(1, 1, 2), training_cells=(2, 2, 4), pfa=1e-4)
        assert r.mask[15, 12, 40] and 5.0 < r.statistic[15, 12, 40] < 20.0
        assert r.mask.sum() <= 1 + 10  # 72 000 cells x 1e-4: 7 false alarms expected at most-ish
        assert 0.8 < r.noise[15, 12, 40] < 1.2 if f is ca_cfar else 0.8 < r.noise[15, 12, 40] / math.log(4) < 1.2


def test_edges():
    x = np.ones((20, 20), np.float32)
    r = ca_cfar(x, guard_cells=1, training_cells=2, pfa=1e-3)
    assert not r.mask.any() and np.all(r.noise == 1.0)  # flat input: no detection anywhere, corners included
    x[0, 0] = 200.0
    x[19, 10] = 200.0
    for f in (ca_cfar, os_cfar):
        r = f(x, guard_cells=1, training_cells=2, pfa=1e-3)
        assert r.mask[0, 0] and r.mask[19, 10] and r.mask.sum() == 2
    # the corner's training set is truncated to the 5 x 5 - 2 x 2 = 21 cells inside the array
    v = np.arange(1, 401, dtype=np.float32).reshape(20, 20)
    r = ca_cfar(v, guard_cells=1, training_cells=2, pfa=1e-3)
    keep = np.ones((4, 4), bool)
    keep[:2, :2] = False
    assert r.noise[0, 0] == pytest.approx(v[:4, :4][keep].mean(), rel=1e-6)
    # a zero training set: statistic inf where the cell is positive, 0 where it is 0
    z = np.zeros(50, np.float32)
    z[25] = 1.0
    r = ca_cfar(z, guard_cells=0, training_cells=3, pfa=1e-3)
    assert r.mask[25] and np.isinf(r.statistic[25]) and r.mask.sum() == 1


def test_os_keeps_a_weak_target_beside_a_strong_one():
    x = np.random.default_rng(11).exponential(size=400).astype(np.float32)
    x[200] = 60.0    # weak
    x[204] = 5000.0  # strong, in the weak one's training cells
    kw = dict(guard_cells=1, training_cells=12, pfa=1e-3)
    assert not ca_cfar(x, **kw).mask[200]  # masked: the strong target lifts the CA mean
    assert os_cfar(x, **kw).mask[200] and os_cfar(x, **kw).mask[204]


@pytest.mark.parametrize("call, message", [
    (lambda: ca_cfar(np.ones((2, 2, 2, 2)), guard_cells=1, training_cells=1), "power: expected a non-empty array"),
    (lambda: ca_cfar(np.ones(0), guard_cells=1, training_cells=1), "power: expected a non-empty array"),
    (lambda: ca_cfar(-np.ones(10), guard_cells=1, training_cells=1), "power: expected power >= 0"),
    (lambda: ca_cfar(np.full(10, np.nan), guard_cells=1, training_cells=1), "power: expected finite"),
    (lambda: ca_cfar(np.ones(10, complex), guard_cells=1, training_cells=1), "power: expected real"),
    (lambda: ca_cfar(np.ones((5, 5)), guard_cells=(1, 1, 1), training_cells=1), "guard_cells: expected an int or 2"),
    (lambda: ca_cfar(np.ones(10), guard_cells=-1, training_cells=1), "guard_cells: expected an integer"),
    (lambda: ca_cfar(np.ones(10), guard_cells=1, training_cells=0), "training_cells: expected at least one"),
    (lambda: ca_cfar(np.ones(10), guard_cells=1, training_cells=1.5), "training_cells"),
    (lambda: ca_cfar(np.ones(10), guard_cells=1, training_cells=1, pfa=0.0), "pfa"),
    (lambda: ca_cfar(np.ones(10), guard_cells=1, training_cells=1, n_looks=0), "n_looks"),
    (lambda: os_cfar(np.ones(10), guard_cells=1, training_cells=1, rank_fraction=1.5), "rank_fraction"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
