import numpy as np
import pytest

from chainrule.datasets import Standardizer, one_hot, standardize, train_test_split


def test_split_sizes_alignment_and_disjointness():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0)
    assert X_tr.shape == (40, 2) and X_te.shape == (10, 2)
    assert y_tr.shape == (40,) and y_te.shape == (10,)
    # rows stay paired
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)
    np.testing.assert_array_equal(X_te[:, 0], 2 * y_te)
    # disjoint and covering
    assert set(y_tr.tolist()).isdisjoint(y_te.tolist())
    assert sorted(y_tr.tolist() + y_te.tolist()) == list(range(50))
    # actually shuffled
    assert not np.array_equal(y_tr, np.arange(40))


def test_split_reproducible_and_seed_dependent():
    y = np.arange(30)
    a = train_test_split(y, seed=5)
    b = train_test_split(y, seed=5)
    c = train_test_split(y, seed=6)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_split_test_size_forms():
    y = np.arange(10)
    assert len(train_test_split(y, test_size=3, seed=0)[1]) == 3
    assert len(train_test_split(y, test_size=0.25, seed=0)[1]) == 3  # ceil(2.5)
    tr, te = train_test_split(list(range(10)), test_size=0.2, shuffle=False)
    assert tr.tolist() == list(range(8)) and te.tolist() == [8, 9]


def test_split_stratified_keeps_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.arange(100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=1, stratify=y)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    np.testing.assert_array_equal(y[X_te], y_te)
    assert set(X_tr.tolist()).isdisjoint(X_te.tolist())
    # rounding: 7 test samples out of 10 with 5/5 classes -> 4 and 3 (or 3 and 4)
    yy = np.array([0] * 5 + [1] * 5)
    _, te = train_test_split(yy, test_size=7, seed=0, stratify=yy)
    assert sorted(np.bincount(te).tolist()) == [3, 4]


def test_split_errors():
    with pytest.raises(ValueError, match=r"same number of samples, got lengths \[5, 4\]"):
        train_test_split(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\), got 1.5"):
        train_test_split(np.zeros(5), test_size=1.5)
    with pytest.raises(ValueError, match=r"test_size=5 as a count must be in 1 .. 4"):
        train_test_split(np.zeros(5), test_size=5)
    with pytest.raises(ValueError, match=r"class\(es\) \[7\] have only 1"):
        train_test_split(np.zeros(5), stratify=[0, 0, 1, 1, 7])
    with pytest.raises(ValueError, match=r"stratify must be 1-D with one label per sample \(5\), got shape \(4,\)"):
        train_test_split(np.zeros(5), stratify=[0, 0, 1, 1])
    with pytest.raises(TypeError, match="test_size must be"):
        train_test_split(np.zeros(5), test_size="20%")


def test_one_hot_contents():
    out = one_hot([2, 0, 1, 2])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(
        out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    )
    # explicit num_classes adds columns that never fire
    out = one_hot(np.array([[1], [0]]), num_classes=4)
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [1, 0, 0, 0]])
    # whole-number floats are accepted
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert one_hot([], num_classes=3).shape == (0, 3)


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"label 3 but num_classes=3; labels must be in 0 .. 2"):
        one_hot([0, 3], num_classes=3)
    with pytest.raises(ValueError, match=r"negative label -1; labels must be in 0 .. 4 for num_classes=5"):
        one_hot([0, -1], num_classes=5)
    with pytest.raises(ValueError, match="negative label -2"):
        one_hot([-2, 1])
    with pytest.raises(ValueError, match="non-integer value 0.5"):
        one_hot([0.5, 1.0])
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, 1\), got \(2, 2\)"):
        one_hot(np.zeros((2, 2), dtype=int))
    with pytest.raises(TypeError, match="integer labels, got dtype <U1"):
        one_hot(["a", "b"])


def test_standardize_uses_train_statistics_only():
    X_tr = np.array([[1.0, 10.0, 3.0], [3.0, 30.0, 3.0], [5.0, 20.0, 3.0]])
    X_te = np.array([[7.0, 40.0, 4.0]])
    tr, te = standardize(X_tr, X_te)
    np.testing.assert_allclose(tr.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(tr[:, :2].std(axis=0), 1.0)
    # constant column: centred, not divided by zero
    np.testing.assert_array_equal(tr[:, 2], 0.0)
    std0 = np.std([1.0, 3.0, 5.0])
    std1 = np.std([10.0, 30.0, 20.0])
    np.testing.assert_allclose(te, [[(7 - 3) / std0, (40 - 20) / std1, 1.0]])
    assert np.all(np.isfinite(te))
    only = standardize(X_tr)
    np.testing.assert_array_equal(only, tr)


def test_standardize_nearly_constant_column():
    X = np.full((7, 1), 0.1)  # floating error can make std a tiny non-zero
    out = standardize(X)
    np.testing.assert_allclose(out, 0.0, atol=1e-12)


def test_standardizer_roundtrip_and_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, size=(20, 4))
    s = Standardizer().fit(X)
    Z = s.transform(X)
    np.testing.assert_allclose(s.inverse_transform(Z), X)
    np.testing.assert_allclose(s.mean_, X.mean(axis=0))
    np.testing.assert_allclose(s.scale_, X.std(axis=0))
    np.testing.assert_allclose(Standardizer().fit_transform(X), Z)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(4,\), got samples of shape \(3,\)"):
        s.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not fitted yet"):
        Standardizer().transform(X)
    with pytest.raises(ValueError, match="at least one sample"):
        Standardizer().fit(np.zeros((0, 3)))
