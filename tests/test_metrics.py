"""Metrics against scikit-learn, the accuracy dispatch, Tensors as inputs, names and errors."""
import numpy as np
import pytest
from sklearn import metrics as skm

import chainrule as cr
from chainrule import metrics

RNG = np.random.default_rng(1)
N, C = 40, 5
LABELS = RNG.integers(0, C, N)
SCORES = RNG.normal(size=(N, C))
Y_BIN = RNG.integers(0, 2, N)
P_BIN = RNG.uniform(0, 1, N)


def test_binary_accuracy_matches_sklearn_for_flat_and_column_predictions():
    want = skm.accuracy_score(Y_BIN, P_BIN > 0.5)
    for y, p in ((Y_BIN, P_BIN), (Y_BIN[:, None], P_BIN[:, None]), (Y_BIN, P_BIN[:, None]), (Y_BIN[:, None], P_BIN)):
        assert metrics.accuracy(y, p) == pytest.approx(want)
        assert metrics.binary_accuracy(y, p) == pytest.approx(want)


def test_binary_accuracy_threshold_for_logits():
    z = RNG.normal(size=N)
    assert metrics.binary_accuracy(Y_BIN, z, threshold=0.0) == pytest.approx(skm.accuracy_score(Y_BIN, z > 0))
    # threshold 0.65: predicted 0, 1, 0 against 0, 1, 1
    assert metrics.binary_accuracy([0, 1, 1], [0.6, 0.7, 0.6], threshold=0.65) == pytest.approx(2 / 3)


def test_categorical_and_sparse_accuracy_match_sklearn():
    want = skm.accuracy_score(LABELS, SCORES.argmax(axis=1))
    onehot = np.eye(C)[LABELS]
    assert metrics.categorical_accuracy(onehot, SCORES) == pytest.approx(want)
    assert metrics.sparse_categorical_accuracy(LABELS, SCORES) == pytest.approx(want)
    assert metrics.sparse_categorical_accuracy(LABELS[:, None], SCORES) == pytest.approx(want)
    assert metrics.accuracy(onehot, SCORES) == pytest.approx(want)
    assert metrics.accuracy(LABELS, SCORES) == pytest.approx(want)
    assert metrics.accuracy(LABELS[:, None], SCORES) == pytest.approx(want)
    # integer (N, C) predictions are one-hot scores, not labels
    assert metrics.accuracy(onehot, np.eye(C, dtype=int)[SCORES.argmax(axis=1)]) == pytest.approx(want)


def test_accuracy_of_predicted_labels_is_sklearns():
    pred = RNG.integers(0, C, N)
    assert metrics.accuracy(LABELS, pred) == pytest.approx(skm.accuracy_score(LABELS, pred))


def test_hand_computed_accuracy():
    # 3 of 4 right: argmax rows are 1, 0, 2, 2 against labels 1, 0, 2, 0
    scores = [[0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]]
    assert metrics.accuracy([1, 0, 2, 0], scores) == 0.75


def test_regression_metrics_match_sklearn():
    for shape in ((N,), (N, 3)):
        y, p = RNG.normal(size=shape), RNG.normal(size=shape)
        assert metrics.mean_squared_error(y, p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
        assert metrics.mse(y, p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
        assert metrics.mean_absolute_error(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
        assert metrics.mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
        assert metrics.r2_score(y, p) == pytest.approx(skm.r2_score(y, p), rel=1e-12)
        assert metrics.r2_score(y, y + 0.1 * p) == pytest.approx(skm.r2_score(y, y + 0.1 * p), rel=1e-12)


def test_r2_constant_target_edge_cases_follow_sklearn():
    y = np.ones(5)
    assert metrics.r2_score(y, y) == skm.r2_score(y, y) == 1.0
    assert metrics.r2_score(y, y + 1) == skm.r2_score(y, y + 1) == 0.0
    y2 = np.stack([np.ones(5), np.arange(5.0)], axis=1)
    p2 = y2 + [[0.5, 0.1]]
    assert metrics.r2_score(y2, p2) == pytest.approx(skm.r2_score(y2, p2), rel=1e-12)


def test_tensors_are_accepted_and_floats_returned():
    t = cr.tensor(SCORES, requires_grad=True)
    out = metrics.accuracy(cr.tensor(LABELS), t)
    assert type(out) is float and out == metrics.accuracy(LABELS, SCORES)
    assert type(metrics.mse(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0]))) is float
    assert metrics.mse(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0])) == 2.0


@pytest.mark.parametrize("name, fn", [
    ("accuracy", metrics.accuracy), ("acc", metrics.accuracy), ("binary_accuracy", metrics.binary_accuracy),
    ("categorical_accuracy", metrics.categorical_accuracy),
    ("sparse_categorical_accuracy", metrics.sparse_categorical_accuracy),
    ("mse", metrics.mean_squared_error), ("mae", metrics.mean_absolute_error), ("r2", metrics.r2_score),
])
def test_get(name, fn):
    assert metrics.get(name) is fn


def test_get_unknown_lists_names_and_callables_pass_through():
    with pytest.raises(ValueError, match="unknown metric 'f1'.*accuracy.*binary_accuracy.*mae.*mse.*r2"):
        metrics.get("f1")

    def custom(y, p):
        return 0.0
    assert metrics.get(custom) is custom


def test_shape_mismatch_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"mean_squared_error: targets of shape \(3,\) do not fit predictions of "
                                         r"shape \(4,\)"):
        metrics.mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"accuracy: targets of shape \(4, 2\) do not fit predictions of shape "
                                         r"\(4, 3\)"):
        metrics.accuracy(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"categorical_accuracy: targets of shape \(40,\) .* \(40, 5\).*"
                                         r"sparse_categorical_accuracy"):
        metrics.categorical_accuracy(LABELS, SCORES)
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: labels of shape \(40, 5\) .*"
                                         r"use categorical_accuracy"):
        metrics.sparse_categorical_accuracy(np.eye(C)[LABELS], SCORES)
    with pytest.raises(ValueError, match=r"expected class scores of shape \(batch, classes\), got shape \(40,\)"):
        metrics.sparse_categorical_accuracy(LABELS, P_BIN)
    with pytest.raises(ValueError, match=r"binary_accuracy: targets of shape \(40, 5\) .* \(40,\)"):
        metrics.binary_accuracy(SCORES, P_BIN)


def test_empty_and_too_small_inputs():
    with pytest.raises(ValueError, match="empty targets"):
        metrics.accuracy([], [])
    with pytest.raises(ValueError, match="at least two samples"):
        metrics.r2_score([1.0], [1.0])
