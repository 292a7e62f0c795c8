"""Losses: values against scikit-learn, gradients by gradcheck and against HIPS autograd, the stable
logits paths, the softmax/sigmoid fusion, reductions, sample weights, PyTorch-order wrappers, errors."""
import json

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import logsumexp as a_logsumexp
from sklearn import metrics as skm

import chainrule as cr
from chainrule import losses

RNG = np.random.default_rng(0)
N, C = 6, 4


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def probs(shape, lo=0.1, hi=0.9):
    return RNG.uniform(lo, hi, shape)


def simplex(n, c):
    """Rows of probabilities summing to 1, each entry at least ~0.05 (away from the clip)."""
    p = RNG.uniform(0.5, 1.5, (n, c))
    return p / p.sum(axis=1, keepdims=True)


LABELS = np.array([0, 3, 1, 2, 3, 0])
ONEHOT = np.eye(C)[LABELS]
Y_BIN = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
W = np.array([1.0, 2.0, 0.5, 0.0, 3.0, 1.0])


# ------------------------------------------------------------------- values vs scikit-learn
def test_hand_computed_values():
    # BCE: -(log 0.8 + log 0.6) / 2;  MSE: ((0.5)^2 + 1^2) / 2;  sparse CE: -(log 0.5 + log 0.25) / 2
    assert float(losses.binary_crossentropy([1.0, 0.0], [0.8, 0.4])) == pytest.approx(
        -(np.log(0.8) + np.log(0.6)) / 2, rel=1e-12)
    assert float(losses.mse([1.0, 2.0], [1.5, 3.0])) == pytest.approx(0.625)
    assert float(losses.sparse_categorical_crossentropy([0, 1], [[0.5, 0.5], [0.75, 0.25]])) == pytest.approx(
        -(np.log(0.5) + np.log(0.25)) / 2, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_losses_match_sklearn(weighted):
    y, a = RNG.normal(size=(N, 3)), RNG.normal(size=(N, 3))
    w = W if weighted else None
    assert float(losses.mean_squared_error(y, a, w)) == pytest.approx(skm.mean_squared_error(y, a, sample_weight=w))
    assert float(losses.mean_absolute_error(y, a, w)) == pytest.approx(
        skm.mean_absolute_error(y, a, sample_weight=w))


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_crossentropy_matches_sklearn_log_loss(weighted):
    w = W if weighted else None
    a = probs(N)
    z = RNG.normal(size=N) * 3
    assert float(losses.binary_crossentropy(Y_BIN, a, sample_weight=w)) == pytest.approx(
        skm.log_loss(Y_BIN, a, sample_weight=w), rel=1e-10)
    assert float(losses.binary_crossentropy(Y_BIN, z, from_logits=True, sample_weight=w)) == pytest.approx(
        skm.log_loss(Y_BIN, sigmoid(z), sample_weight=w), rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_categorical_crossentropies_match_sklearn_log_loss(weighted):
    w = W if weighted else None
    p, z = simplex(N, C), RNG.normal(size=(N, C)) * 3
    ref_p = skm.log_loss(LABELS, p, sample_weight=w, labels=range(C))
    ref_z = skm.log_loss(LABELS, softmax(z), sample_weight=w, labels=range(C))
    assert float(losses.categorical_crossentropy(ONEHOT, p, sample_weight=w)) == pytest.approx(ref_p, rel=1e-10)
    assert float(losses.sparse_categorical_crossentropy(LABELS, p, sample_weight=w)) == pytest.approx(ref_p, rel=1e-10)
    assert float(losses.categorical_crossentropy(ONEHOT, z, True, sample_weight=w)) == pytest.approx(ref_z, rel=1e-10)
    assert float(losses.sparse_categorical_crossentropy(LABELS, z, True, w)) == pytest.approx(ref_z, rel=1e-10)
    # labels of shape (N, 1), and as integral floats, are the same labels
    assert float(losses.sparse_categorical_crossentropy(LABELS[:, None].astype(float), z, True, w)) == \
        pytest.approx(ref_z, rel=1e-10)


def test_categorical_probabilities_are_renormalised():
    p = simplex(N, C)
    assert float(losses.categorical_crossentropy(ONEHOT, 3 * p)) == pytest.approx(
        float(losses.categorical_crossentropy(ONEHOT, p)), rel=1e-12)


def test_soft_targets_from_logits_match_composed_formula():
    z, t = RNG.normal(size=(N, C)), simplex(N, C)
    ref = np.mean(np.log(np.exp(z).sum(axis=1)) - (t * z).sum(axis=1))
    assert float(losses.categorical_crossentropy(t, z, from_logits=True)) == pytest.approx(ref, rel=1e-12)


# ---------------------------------------------------------------------- gradients
def _gradcheck_cases():
    p1, pc, z1, zc = probs((N,)), simplex(N, C), RNG.normal(size=N), RNG.normal(size=(N, C))
    yr = RNG.normal(size=(N, 2))
    return {
        "mse": (lambda a, **k: losses.mean_squared_error(yr, a, **k), RNG.normal(size=(N, 2))),
        "mae": (lambda a, **k: losses.mean_absolute_error(yr, a, **k), yr + RNG.choice([-1, 1], (N, 2)) * 0.3),
        "bce": (lambda a, **k: losses.binary_crossentropy(Y_BIN, a, **k), p1),
        "bce_logits": (lambda a, **k: losses.binary_crossentropy(Y_BIN, a, from_logits=True, **k), z1),
        "cce": (lambda a, **k: losses.categorical_crossentropy(ONEHOT, a, **k), pc),
        "cce_logits": (lambda a, **k: losses.categorical_crossentropy(ONEHOT, a, from_logits=True, **k), zc),
        "scce": (lambda a, **k: losses.sparse_categorical_crossentropy(LABELS, a, **k), pc),
        "scce_logits": (lambda a, **k: losses.sparse_categorical_crossentropy(LABELS, a, True, **k), zc),
    }


GRAD_CASES = _gradcheck_cases()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradcheck(name, weighted, reduction):
    f, x = GRAD_CASES[name]
    kw = {"reduction": reduction, "sample_weight": W if weighted else None}
    assert cr.gradcheck(lambda a: f(a, **kw), x)


def _oracles():
    yr = RNG.normal(size=(N, 2))
    t = ONEHOT

    def a_cce(a):
        p = a / anp.sum(a, axis=1, keepdims=True)
        return -anp.mean(anp.sum(t * anp.log(p), axis=1))

    return {
        "mse": (lambda a: losses.mse(yr, a), lambda a: anp.mean((a - yr) ** 2), RNG.normal(size=(N, 2))),
        "bce": (lambda a: losses.binary_crossentropy(Y_BIN, a),
                lambda a: -anp.mean(Y_BIN * anp.log(a) + (1 - Y_BIN) * anp.log(1 - a)), probs(N)),
        "bce_logits": (lambda z: losses.binary_crossentropy(Y_BIN, z, from_logits=True),
                       lambda z: anp.mean(anp.logaddexp(0, z) - Y_BIN * z), RNG.normal(size=N) * 3),
        "bce_weighted": (lambda z: losses.binary_crossentropy(Y_BIN, z, True, W),
                         lambda z: anp.sum(W * (anp.logaddexp(0, z) - Y_BIN * z)) / W.sum(), RNG.normal(size=N)),
        "cce": (lambda a: losses.categorical_crossentropy(t, a), a_cce, simplex(N, C) * 2),
        "cce_logits": (lambda z: losses.categorical_crossentropy(t, z, from_logits=True),
                       lambda z: anp.mean(a_logsumexp(z, axis=1) - anp.sum(t * z, axis=1)), RNG.normal(size=(N, C))),
        "scce_logits_weighted": (
            lambda z: losses.sparse_categorical_crossentropy(LABELS, z, True, W),
            lambda z: anp.sum(W * (a_logsumexp(z, axis=1) - anp.sum(t * z, axis=1))) / W.sum(),
            RNG.normal(size=(N, C))),
    }


ORACLES = _oracles()


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_gradient_matches_autograd(name):
    f, af, x = ORACLES[name]
    np.testing.assert_allclose(float(f(x)), af(x), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(f)(x), autograd.grad(af)(x), rtol=1e-10, atol=1e-14)


def test_logits_gradient_is_prediction_minus_target_over_n():
    # dC/dz_ic = (softmax(z)_ic - t_ic) / n  and  dC/dz_i = (sigma(z_i) - y_i) / n
    z = RNG.normal(size=(N, C))
    np.testing.assert_allclose(cr.grad(lambda v: losses.sparse_categorical_crossentropy(LABELS, v, True))(z),
                               (softmax(z) - ONEHOT) / N, rtol=1e-12)
    z1 = RNG.normal(size=N)
    np.testing.assert_allclose(cr.grad(lambda v: losses.binary_crossentropy(Y_BIN, v, True))(z1),
                               (sigmoid(z1) - Y_BIN) / N, rtol=1e-12)


# ------------------------------------------------------------------------ stability
def test_logits_at_plus_minus_1000_are_finite_and_exact():
    z = cr.tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])  # two right, two wrong by 1000
    loss = losses.binary_crossentropy(y, z, from_logits=True)
    assert float(loss) == pytest.approx(500.0)
    loss.backward()
    np.testing.assert_allclose(z.grad, [0.0, 0.0, 0.25, -0.25])

    zc = cr.tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]]), requires_grad=True)
    for fn, target in ((losses.sparse_categorical_crossentropy, [0, 0]),
                       (losses.categorical_crossentropy, np.eye(3)[[0, 0]])):
        zc.grad = None
        loss = fn(target, zc, from_logits=True)
        assert float(loss) == pytest.approx(1000.0)  # (0 + 2000) / 2
        loss.backward()
        np.testing.assert_allclose(zc.grad, [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-12)


def test_saturated_probabilities_are_clipped_not_infinite():
    assert float(losses.binary_crossentropy([1.0, 0.0], [0.0, 1.0])) == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert np.isfinite(float(losses.categorical_crossentropy([[1.0, 0.0]], [[0.0, 1.0]])))


def test_nan_predictions_give_a_nan_loss_not_an_error():
    assert np.isnan(float(losses.binary_crossentropy([1.0], [np.nan])))
    assert np.isnan(float(losses.mse([1.0], [np.nan])))


# ------------------------------------------------------- the softmax / sigmoid fusion
def _through_softmax(z, axis=-1):
    zt = cr.tensor(z, requires_grad=True)
    return zt, cr.softmax(zt, axis=axis)


@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_output_uses_logits_same_value_and_gradient(sparse):
    z = RNG.normal(size=(N, C)) * 2
    target = LABELS if sparse else ONEHOT
    fn = losses.sparse_categorical_crossentropy if sparse else losses.categorical_crossentropy
    zt, a = _through_softmax(z)
    fused = fn(target, a, sample_weight=W)
    fused.backward()
    # the plain probability formula: multiplying by 1.0 hides the softmax node
    zt2, a2 = _through_softmax(z)
    plain = fn(target, a2 * 1.0, sample_weight=W)
    plain.backward()
    assert float(fused) == pytest.approx(float(plain), rel=1e-12)
    np.testing.assert_allclose(zt.grad, zt2.grad, rtol=1e-9, atol=1e-15)
    assert float(fn(target, softmax(z), sample_weight=W)) == pytest.approx(float(fused), rel=1e-12)


def test_softmax_fusion_is_stable_where_probabilities_saturate():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    zt, a = _through_softmax(z)
    loss = losses.categorical_crossentropy(np.eye(2)[[0, 0]], a)
    assert float(loss) == pytest.approx(1000.0)  # exact; the clipped formula gives -log(1e-7)/2 ~ 8.06
    loss.backward()
    np.testing.assert_allclose(zt.grad, [[0, 0], [-0.5, 0.5]])
    zt2, a2 = _through_softmax(z)
    plain = losses.categorical_crossentropy(np.eye(2)[[0, 0]], a2 * 1.0)
    assert float(plain) == pytest.approx(-np.log(1e-7) / 2, rel=1e-6)


def test_sigmoid_output_uses_logits():
    z = RNG.normal(size=N) * 2
    zt = cr.tensor(z, requires_grad=True)
    fused = losses.binary_crossentropy(Y_BIN, cr.sigmoid(zt))
    fused.backward()
    zt2 = cr.tensor(z, requires_grad=True)
    plain = losses.binary_crossentropy(Y_BIN, cr.sigmoid(zt2) * 1.0)
    plain.backward()
    assert float(fused) == pytest.approx(float(plain), rel=1e-12)
    np.testing.assert_allclose(zt.grad, zt2.grad, rtol=1e-9)

    big = cr.tensor(np.array([1000.0, -1000.0]), requires_grad=True)
    loss = losses.BCELoss()(cr.sigmoid(big), [0.0, 1.0])  # both wrong by 1000
    assert float(loss) == pytest.approx(1000.0)
    loss.backward()
    np.testing.assert_allclose(big.grad, [0.5, -0.5])


def test_fusion_only_for_last_axis_softmax_and_probability_mode():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    _, a = _through_softmax(z, axis=0)  # softmax over the batch axis: not the class probabilities
    assert float(losses.categorical_crossentropy(np.eye(2)[[0, 0]], a)) == pytest.approx(-np.log(1e-7) / 2, rel=1e-6)
    # a rank-3 softmax over axis 2 (== -1) is fused
    z3 = RNG.normal(size=(2, 3, C)) * 1000
    z3t = cr.tensor(z3, requires_grad=True)
    lab = RNG.integers(0, C, (2, 3))
    fused = losses.sparse_categorical_crossentropy(lab, cr.softmax(z3t, axis=2))
    ref = losses.sparse_categorical_crossentropy(lab, z3, from_logits=True)
    assert float(fused) == pytest.approx(float(ref), rel=1e-12)


def test_no_fusion_without_a_graph():
    z = RNG.normal(size=(N, C))
    with cr.no_grad():
        a = cr.softmax(cr.tensor(z, requires_grad=True))
    assert a._ctx is None
    assert float(losses.categorical_crossentropy(ONEHOT, a)) == pytest.approx(
        float(losses.categorical_crossentropy(ONEHOT, z, from_logits=True)), rel=1e-12)


# -------------------------------------------------------------- reductions and weights
@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_reductions_agree(name):
    f, x = GRAD_CASES[name]
    none = np.asarray(f(x, reduction="none"))
    elementwise = name.split("_")[0] in ("mse", "mae", "bce")
    assert none.shape == (x.shape if elementwise else (N,))
    assert float(f(x, reduction="sum")) == pytest.approx(none.sum(), rel=1e-12)
    assert float(f(x, reduction="mean")) == pytest.approx(none.mean(), rel=1e-12)
    wn = np.asarray(f(x, reduction="none", sample_weight=W))
    w_full = W.reshape((N,) + (1,) * (wn.ndim - 1)) * np.ones_like(wn)
    assert float(f(x, reduction="sum", sample_weight=W)) == pytest.approx(wn.sum(), rel=1e-12)
    assert float(f(x, sample_weight=W)) == pytest.approx(wn.sum() / w_full.sum(), rel=1e-12)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_integer_weights_repeat_samples_and_zero_weights_drop_them(name):
    f, x = GRAD_CASES[name]
    reps = np.array([1, 2, 0, 1, 3, 1])
    # rebuild the same loss on a batch with rows repeated: use the per-sample losses
    per = np.asarray(f(x, reduction="none"))
    per = per.reshape(N, -1).mean(axis=1)
    assert float(f(x, sample_weight=reps)) == pytest.approx(np.repeat(per, reps).mean(), rel=1e-12)
    assert float(f(x, sample_weight=reps[:, None])) == pytest.approx(np.repeat(per, reps).mean(), rel=1e-12)


def test_sample_weight_on_sequences_equals_flattened_batch():
    z = RNG.normal(size=(2, 3, C))
    lab = RNG.integers(0, C, (2, 3))
    w = np.array([1.0, 3.0])
    got = losses.sparse_categorical_crossentropy(lab, z, True, w)
    ref = losses.sparse_categorical_crossentropy(lab.reshape(-1), z.reshape(-1, C), True, np.repeat(w, 3))
    assert float(got) == pytest.approx(float(ref), rel=1e-12)
    assert np.shape(losses.sparse_categorical_crossentropy(lab, z, True, reduction="none")) == (2, 3)


def test_column_targets_fit_flat_predictions_without_broadcasting():
    y, a = np.arange(4.0), np.arange(4.0)[:, None] + 1  # a naive (4,) - (4, 1) would broadcast to (4, 4)
    assert float(losses.mse(y, a)) == 1.0
    assert float(losses.mse(y[:, None], a[:, 0])) == 1.0


def test_dtypes_and_return_types():
    a = cr.tensor(np.full((3, 2), 0.5, dtype=np.float32), requires_grad=True)
    loss = losses.categorical_crossentropy(np.eye(2)[[0, 1, 0]], a)  # float64 targets
    assert isinstance(loss, cr.Tensor) and loss.shape == () and loss.dtype == np.float32
    assert not isinstance(losses.mse(np.zeros(3), np.ones(3)), cr.Tensor)
    # integer predictions are accepted (as floats)
    assert float(losses.mse([0, 0], [1, 3])) == 5.0


# --------------------------------------------------------- classes and torch wrappers
KERAS = [
    (losses.MeanSquaredError, losses.mean_squared_error, {}, "mse"),
    (losses.MeanAbsoluteError, losses.mean_absolute_error, {}, "mae"),
    (losses.BinaryCrossentropy, losses.binary_crossentropy, {"from_logits": True}, "bce_logits"),
    (losses.CategoricalCrossentropy, losses.categorical_crossentropy, {"from_logits": False}, "cce"),
    (losses.SparseCategoricalCrossentropy, losses.sparse_categorical_crossentropy, {"from_logits": True},
     "scce_logits"),
]


@pytest.mark.parametrize("cls, fn, options, case", KERAS, ids=[k[0].__name__ for k in KERAS])
def test_classes_call_their_functions(cls, fn, options, case):
    _, x = GRAD_CASES[case]
    target = {"mse": None, "mae": None, "bce_logits": Y_BIN, "cce": ONEHOT, "scce_logits": LABELS}[case]
    if target is None:
        target = np.zeros_like(x)
    for reduction in ("mean", "sum", "none"):
        loss = cls(reduction=reduction, **options)
        np.testing.assert_allclose(np.asarray(loss(target, x, sample_weight=W)),
                                   np.asarray(fn(target, x, sample_weight=W, reduction=reduction, **options)))
    loss = cls(**options)
    config = loss.get_config()
    assert config == {"name": fn.__name__, "reduction": "mean", **options}
    assert cls.from_config(json.loads(json.dumps(config))).get_config() == config


def test_torch_order_wrappers_equal_keras_order_functions():
    p1, z1 = probs(N), RNG.normal(size=N) * 3
    z, a, y = RNG.normal(size=(N, C)), RNG.normal(size=(N, 2)), RNG.normal(size=(N, 2))
    t_soft = simplex(N, C)
    for reduction in ("mean", "sum", "none"):
        pairs = [
            (losses.MSELoss(reduction)(a, y), losses.mse(y, a, reduction=reduction)),
            (losses.BCELoss(reduction)(p1, Y_BIN), losses.binary_crossentropy(Y_BIN, p1, reduction=reduction)),
            (losses.BCEWithLogitsLoss(reduction)(z1, Y_BIN),
             losses.binary_crossentropy(Y_BIN, z1, from_logits=True, reduction=reduction)),
            (losses.CrossEntropyLoss(reduction)(z, LABELS),
             losses.sparse_categorical_crossentropy(LABELS, z, from_logits=True, reduction=reduction)),
            (losses.CrossEntropyLoss(reduction)(z, t_soft),
             losses.categorical_crossentropy(t_soft, z, from_logits=True, reduction=reduction)),
        ]
        for got, want in pairs:
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_cross_entropy_loss_on_a_graph_equals_the_functional_path():
    # CrossEntropyLoss goes straight to the fused primitive when the step's input is already
    # valid (a 2-D float Tensor, integer labels (N,) in range, reduction 'mean'); value and
    # gradient must be those of sparse_categorical_crossentropy, bit for bit, and bad input
    # must still get the full path's errors
    zv = RNG.normal(size=(N, C))
    for labels in (LABELS, LABELS.astype(np.uint8), LABELS.astype(np.int32), LABELS.reshape(-1, 1)):
        for reduction in ("mean", "sum"):
            z1, z2 = cr.tensor(zv, requires_grad=True), cr.tensor(zv, requires_grad=True)
            got = losses.CrossEntropyLoss(reduction)(z1, labels)
            want = losses.sparse_categorical_crossentropy(labels, z2, from_logits=True, reduction=reduction)
            assert float(got) == float(want)
            got.backward()
            want.backward()
            np.testing.assert_array_equal(z1.grad, z2.grad)
    bad = LABELS.copy()
    bad[3] = C
    with pytest.raises(ValueError, match=rf"labels must lie in \[0, {C - 1}\] for {C} classes.*from 0 to {C}"):
        losses.CrossEntropyLoss()(cr.tensor(zv, requires_grad=True), bad)
    with pytest.raises(ValueError, match=r"got 3 labels for|integer labels of shape \(3,\) do not fit"):
        losses.CrossEntropyLoss()(cr.tensor(zv, requires_grad=True), LABELS[:3])
    with pytest.raises(ValueError, match="empty batch"):
        losses.CrossEntropyLoss()(cr.tensor(np.zeros((0, C)), requires_grad=True), LABELS[:0])


def test_torch_semantics_by_hand():
    # PyTorch: MSELoss 'none' is elementwise, 'sum' adds every element; CrossEntropyLoss 'none' is per sample.
    a, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))
    np.testing.assert_array_equal(losses.MSELoss("none")(a, y), a ** 2)
    assert float(losses.MSELoss("sum")(a, y)) == 30.0
    z = np.array([[0.0, 0.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(losses.CrossEntropyLoss("none")(z, [0, 1]), [np.log(2), np.log(4 / 3)])
    assert repr(losses.CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"


# ------------------------------------------------------------ get / serialize / deserialize
@pytest.mark.parametrize("name, fn", [
    ("mse", losses.mean_squared_error), ("MSE", losses.mean_squared_error),
    ("mean_squared_error", losses.mean_squared_error), ("mae", losses.mean_absolute_error),
    ("mean_absolute_error", losses.mean_absolute_error), ("bce", losses.binary_crossentropy),
    ("binary_crossentropy", losses.binary_crossentropy), ("categorical_crossentropy", losses.categorical_crossentropy),
    ("sparse_categorical_crossentropy", losses.sparse_categorical_crossentropy),
])
def test_get_names(name, fn):
    assert losses.get(name) is fn


def test_get_classes_instances_and_callables():
    assert isinstance(losses.get("SparseCategoricalCrossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get(losses.CrossEntropyLoss), losses.CrossEntropyLoss)
    inst = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(inst) is inst

    def custom(y_true, y_pred):
        return cr.sum(y_pred)
    assert losses.get(custom) is custom
    assert losses.get(None) is None


@pytest.mark.parametrize("loss", [
    "mse", losses.binary_crossentropy, losses.MeanSquaredError(reduction="sum"),
    losses.BinaryCrossentropy(from_logits=True, name="bce_z"), losses.CategoricalCrossentropy(),
    losses.SparseCategoricalCrossentropy(from_logits=True), losses.MeanAbsoluteError(),
    losses.MSELoss("none"), losses.BCELoss(), losses.BCEWithLogitsLoss("sum"), losses.CrossEntropyLoss(),
])
def test_serialize_round_trip_through_json(loss):
    config = json.loads(json.dumps(losses.serialize(loss)))
    back = losses.deserialize(config)
    assert losses.serialize(back) == config
    if not isinstance(loss, str) and not callable(getattr(loss, "get_config", None)):
        assert back is loss


def test_deserialize_custom_objects():
    class Doubled(losses.MeanSquaredError):
        def __call__(self, y_true, y_pred, sample_weight=None):
            return super().__call__(y_true, y_pred, sample_weight) * 2

    config = losses.serialize(Doubled())
    with pytest.raises(ValueError, match="unknown loss class 'Doubled'.*custom_objects"):
        losses.deserialize(config)
    assert float(losses.deserialize(config, custom_objects={"Doubled": Doubled})([0.0], [1.0])) == 2.0


# ---------------------------------------------------------------------------- errors
def test_error_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*mean_squared_error.*sparse_categorical_crossentropy"):
        losses.get("hinge")
    with pytest.raises(ValueError, match="could not interpret 42"):
        losses.get(42)
    with pytest.raises(ValueError, match="cannot describe"):
        losses.serialize(lambda y, a: a)
    with pytest.raises(ValueError, match="expected a name or a dict"):
        losses.deserialize(3)


def test_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"mean_squared_error: targets of shape \(3, 2\) do not fit predictions "
                                         r"of shape \(3, 3\)"):
        losses.mse(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"targets of shape \(4,\) do not fit predictions of shape \(3,\)"):
        losses.MSELoss()(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"binary_crossentropy: targets of shape \(3,\) .* shape \(3, 2\).*"
                                         r"sparse_categorical_crossentropy"):
        losses.binary_crossentropy(np.zeros(3), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"categorical_crossentropy: targets of shape \(6,\) do not fit "
                                         r"predictions of shape \(6, 4\).*use sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(LABELS, simplex(N, C))
    with pytest.raises(ValueError, match=r"labels of shape \(6, 4\) do not fit predictions of shape \(6, 4\).*"
                                         r"use categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(ONEHOT, simplex(N, C))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(5,\) does not fit losses of shape \(6,\)"):
        losses.sparse_categorical_crossentropy(LABELS, simplex(N, C), sample_weight=np.ones(5))


def test_labels_out_of_range_in_one_pass_for_every_integer_dtype():
    from chainrule.ops.heads import labels_out_of_range
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64):
        assert not labels_out_of_range(np.array([0, 3, 1], dtype=dtype), 4)
        assert labels_out_of_range(np.array([0, 4], dtype=dtype), 4)
    for dtype in (np.int8, np.int64):
        assert labels_out_of_range(np.array([2, -1], dtype=dtype), 4)
        assert labels_out_of_range(np.array([np.iinfo(dtype).min], dtype=dtype), 4)
    assert not labels_out_of_range(np.array([], dtype=np.int64), 4)
    assert not labels_out_of_range(np.array([[1, 2], [0, 3]])[:, 1], 4)  # a strided view


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.uint64])
def test_labels_of_any_integer_dtype_give_the_same_loss_and_gradient(dtype):
    z = RNG.normal(size=(6, 4))
    t = np.array([0, 3, 1, 2, 3, 0])
    ref = cr.grad(lambda z: losses.sparse_categorical_crossentropy(t, z, from_logits=True))(z)
    got = cr.grad(lambda z: losses.sparse_categorical_crossentropy(t.astype(dtype), z, from_logits=True))(z)
    np.testing.assert_array_equal(got, ref)
    assert float(cr.ops.softmax_cross_entropy(z, t.astype(dtype))) == float(cr.ops.softmax_cross_entropy(z, t))
    np.testing.assert_allclose(ref, (softmax(z) - np.eye(4)[t]) / 6, rtol=1e-12)


def test_boolean_labels_are_class_indices_not_masks():
    z = RNG.normal(size=(4, 2))
    as_bool = np.array([True, False, False, True])
    for fn in (lambda t: losses.sparse_categorical_crossentropy(t, z, from_logits=True),
               lambda t: cr.ops.softmax_cross_entropy(z, t)):
        assert float(fn(as_bool)) == pytest.approx(float(fn(as_bool.astype(int))), rel=1e-12)


def test_error_labels_out_of_range_name_range_and_classes():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] for 4 classes.*got labels from 0 to 4"):
        losses.sparse_categorical_crossentropy([0, 4], np.zeros((2, 4)), from_logits=True)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] for 4 classes.*from -1 to 2"):
        losses.CrossEntropyLoss()(np.zeros((2, 4)), [-1, 2])
    with pytest.raises(ValueError, match="integer class labels.*non-integer"):
        losses.sparse_categorical_crossentropy([0.5, 1.0], np.zeros((2, 4)), from_logits=True)


def test_error_values_outside_unit_interval():
    with pytest.raises(ValueError, match=r"binary targets must lie in \[0, 1\], got values from 0 to 2"):
        losses.binary_crossentropy([0.0, 2.0], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\].*pass from_logits=True"):
        losses.binary_crossentropy([0.0, 1.0], [-2.0, 3.0])
    with pytest.raises(ValueError, match=r"probabilities must be non-negative.*pass from_logits=True"):
        losses.categorical_crossentropy(ONEHOT, RNG.normal(size=(N, C)) - 3)
    with pytest.raises(ValueError, match=r"target probabilities must lie in \[0, 1\]"):
        losses.categorical_crossentropy(ONEHOT - 0.5, simplex(N, C))
    with pytest.raises(ValueError, match="binary targets contain NaN"):
        losses.binary_crossentropy([np.nan], [0.5])


def test_error_bad_reduction_and_empty_batch():
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        losses.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse([1.0], [1.0], reduction="sum_over_batch_size")
    with pytest.raises(ValueError, match="empty batch"):
        losses.mse(np.zeros(0), np.zeros(0))


def test_averages_weights_names_the_losses_whose_weighted_reduction_is_a_mean():
    """What the Trainer converts to Keras' sum_i w_i l_i / n: this module's functions and 'mean' classes."""
    import chainrule.keras as ck
    assert losses.averages_weights(losses.mse) and losses.averages_weights(losses.sparse_categorical_crossentropy)
    assert losses.averages_weights(losses.MeanSquaredError())
    assert not losses.averages_weights(losses.MeanSquaredError(reduction="sum"))
    assert not losses.averages_weights(ck.losses.MeanSquaredError())      # divides by n itself
    assert not losses.averages_weights(lambda y_true, y_pred, sample_weight=None: 0.0)
    w = np.array([1.0, 3.0])
    yt, yp = np.array([[0.0], [0.0]]), np.array([[1.0], [2.0]])
    assert float(losses.mse(yt, yp, sample_weight=w)) == pytest.approx((1 + 3 * 4) / 4)   # sum w l / sum w
