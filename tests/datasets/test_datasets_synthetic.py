import math

import numpy as np
import pytest

from chainrule.datasets import (
    franke,
    franke_function,
    load_breast_cancer,
    load_digits,
    logic_gate,
    make_moons,
    make_sequences,
    noisy_sine,
)


def _franke_scalar(x, y):
    return (
        0.75 * math.exp(-((9 * x - 2) ** 2) / 4 - ((9 * y - 2) ** 2) / 4)
        + 0.75 * math.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10)
        + 0.5 * math.exp(-((9 * x - 7) ** 2) / 4 - ((9 * y - 3) ** 2) / 4)
        - 0.2 * math.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    )


def test_logic_gates_truth_tables():
    X, y = logic_gate("xor")
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    np.testing.assert_array_equal(logic_gate("and")[1], [0, 0, 0, 1])
    np.testing.assert_array_equal(logic_gate("OR")[1], [0, 1, 1, 1])
    # the label is the gate applied to each row
    Xa, ya = logic_gate("and")
    np.testing.assert_array_equal(ya, (Xa[:, 0].astype(int) & Xa[:, 1].astype(int)))


def test_logic_gate_unknown_name():
    with pytest.raises(ValueError, match=r"unknown logic gate 'nand'; valid names are 'xor', 'and', 'or'"):
        logic_gate("nand")
    with pytest.raises(TypeError, match="must be a string, got int"):
        logic_gate(1)


def test_franke_function_known_values():
    # hand-computed: 0.75e^-2 + 0.75e^(-1/49 - 1/10) + 0.5e^(-14.5) - 0.2e^(-65)
    expected = 0.75 * math.exp(-2) + 0.75 * math.exp(-1 / 49 - 0.1) + 0.5 * math.exp(-14.5)
    assert franke_function(0.0, 0.0) == pytest.approx(expected, rel=1e-14)
    assert franke_function(0.0, 0.0) == pytest.approx(0.7664205912849231, rel=1e-12)
    for x, y in [(0.5, 0.5), (1.0, 0.0), (0.3, 0.9), (4 / 9, 7 / 9)]:
        assert franke_function(x, y) == pytest.approx(_franke_scalar(x, y), rel=1e-13)
    # vectorised and broadcast
    xs = np.linspace(0, 1, 5)
    out = franke_function(xs[:, None], xs[None, :])
    assert out.shape == (5, 5)
    assert out[2, 3] == pytest.approx(_franke_scalar(xs[2], xs[3]))


def test_franke_samples():
    X, y = franke(50, seed=3)
    assert X.shape == (50, 2) and y.shape == (50,)
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_allclose(y, [_franke_scalar(a, b) for a, b in X])
    # same seed -> same inputs regardless of noise; noise changes the targets
    Xn, yn = franke(50, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, Xn)
    resid = yn - y
    assert 0.05 < resid.std() < 0.2
    X2, _ = franke(50, seed=4)
    assert not np.array_equal(X, X2)


def test_noisy_sine():
    x, y = noisy_sine(200, noise=0.0, seed=0)
    assert x.shape == (200, 1) and y.shape == (200, 1)
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(y, np.sin(2 * np.pi * x))
    x2, y2 = noisy_sine(200, noise=0.1, seed=0)
    np.testing.assert_array_equal(x, x2)
    assert 0.07 < (y2 - y).std() < 0.13
    xa, ya = noisy_sine(10, seed=7)
    xb, yb = noisy_sine(10, seed=7)
    np.testing.assert_array_equal(ya, yb)


def test_generators_validate_arguments():
    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        franke(0)
    with pytest.raises(TypeError, match="n must be an integer, got float"):
        noisy_sine(2.5)
    with pytest.raises(ValueError, match="noise must be >= 0, got -1.0"):
        make_moons(10, noise=-1)


def test_make_moons():
    X, y = make_moons(101, noise=0.0, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.dtype == np.int64 and set(y.tolist()) == {0, 1}
    assert abs(int((y == 0).sum()) - int((y == 1).sum())) <= 1
    # without noise the points lie exactly on the two unit half circles
    r0 = np.hypot(X[y == 0, 0], X[y == 0, 1])
    r1 = np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5)
    np.testing.assert_allclose(r0, 1.0)
    np.testing.assert_allclose(r1, 1.0)
    X2, y2 = make_moons(101, noise=0.0, seed=0)
    np.testing.assert_array_equal(X, X2)
    Xg, _ = make_moons(20, seed=np.random.default_rng(1))
    assert Xg.shape == (20, 2)


def test_make_sequences_1d():
    series = np.arange(10.0) ** 2
    X, y = make_sequences(series, 3)
    assert X.shape == (7, 3) and y.shape == (7,)
    for i in range(7):
        np.testing.assert_array_equal(X[i], series[i : i + 3])
        assert y[i] == series[i + 3]
    np.testing.assert_array_equal(X[0], [0, 1, 4])
    assert y[-1] == 81
    # result does not alias the input
    X[0, 0] = -1
    assert series[0] == 0


def test_make_sequences_2d_matches_notes_layout():
    data = np.arange(12).reshape(6, 2)
    X, y = make_sequences(data, 2)
    assert X.shape == (4, 2, 2) and y.shape == (4, 2)
    np.testing.assert_array_equal(X[1], data[1:3])
    np.testing.assert_array_equal(y[1], data[3])


def test_make_sequences_bad_steps():
    with pytest.raises(ValueError, match=r"1 <= steps < len\(series\) = 4.*got steps=4"):
        make_sequences([1, 2, 3, 4], 4)
    with pytest.raises(ValueError, match=r"got steps=0"):
        make_sequences([1, 2, 3, 4], 0)
    with pytest.raises(TypeError, match="steps must be an integer, got float"):
        make_sequences([1, 2, 3, 4], 2.0)
    with pytest.raises(ValueError, match=r"1-D series.*got shape \(2, 2, 2\)"):
        make_sequences(np.zeros((2, 2, 2)), 1)


def test_bundled_sklearn_sets():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    assert np.bincount(y).tolist()[:3] == [178, 182, 177]
    Xb, yb = load_breast_cancer()
    assert Xb.shape == (569, 30) and Xb.dtype == np.float64
    assert yb.dtype == np.int64 and np.bincount(yb).tolist() == [212, 357]
