"""The loss heads and their absorption into a dense stack, against the per-layer engine.

A loss applied to a Sequential's fused dense stack becomes part of that node (one node for the
network and its loss, back-propagation starting from the head's delta = dC/da^L); the same
model run layer by layer, each layer and loss its own primitives, is the oracle.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.ops.fused import DenseStack
from chainrule.ops.heads import PointwiseLoss, SoftmaxCrossEntropy


def _model(acts, n_in=4, hidden=5, n_out=3, seed=1):
    cr.manual_seed(seed)
    layers = [nn.Dense(hidden if len(acts) > 1 else n_out, activation=acts[0], input_dim=n_in)]
    for i, a in enumerate(acts[1:]):
        layers.append(nn.Dense(n_out if i == len(acts) - 2 else hidden, activation=a))
    return nn.Sequential(layers)


def _targets(kind, rng, n, c):
    if kind == "sparse_categorical_crossentropy":
        return rng.integers(0, c, n)
    if kind == "categorical_crossentropy":
        return np.eye(c)[rng.integers(0, c, n)] * 0.7 + 0.1  # soft targets summing to 1
    if kind == "binary_crossentropy":
        return (rng.random((n, c)) > 0.5).astype(float)
    return rng.standard_normal((n, c))


def layer_by_layer(model, x):
    for layer in model:
        x = layer(x)
    return x


CASES = [
    (["sigmoid", "softmax"], "sparse_categorical_crossentropy"),
    (["tanh", "relu", "softmax"], "categorical_crossentropy"),
    (["leaky_relu", "linear", "softmax"], "sparse_categorical_crossentropy"),
    (["relu", "sigmoid"], "mse"),
    (["tanh", "linear"], "mse"),
    (["tanh", "sigmoid"], "binary_crossentropy"),  # the loss takes the logits behind the sigmoid
    (["softmax"], "sparse_categorical_crossentropy"),  # no hidden layer: multinomial logistic regression
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("acts,loss", CASES, ids=lambda v: "-".join(v) if isinstance(v, list) else v)
def test_one_step_equals_the_layer_by_layer_engine(f64, acts, loss, weighted):
    rng = np.random.default_rng(0)
    model = _model(acts)
    X = rng.standard_normal((7, 4)) * 2
    y = _targets(loss, rng, 7, 3)
    w = rng.random(7) + 0.5 if weighted else None
    fn = losses.get(loss)
    results = []
    for run in (lambda m, x: m(x), layer_by_layer):
        for p in model.parameters():
            p.grad = None
        pred = run(model, X)
        C = fn(y, pred) if w is None else fn(y, pred, sample_weight=w)
        C.backward()
        results.append((float(C.data), pred.data.copy(), [p.grad.copy() for p in model.parameters()], C))
    (fused_v, fused_out, fused_g, C), (v, out, g, C_plain) = results
    assert type(C._ctx) is DenseStack and C._ctx.head is not None   # the network and its loss: one node
    assert type(C_plain._ctx) is not DenseStack
    assert fused_v == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(fused_out, out, rtol=1e-12, atol=1e-15)
    for a, b in zip(fused_g, g):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-15)


def test_the_absorbed_node_passes_gradcheck_and_gradgradcheck(f64):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3))
    W1, b1, W2, b2 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((4, 2)), \
        rng.standard_normal(2)
    t = rng.standard_normal((5, 2))
    labels = np.array([0, 1, 1, 0, 1])
    sw = rng.random(5) + 0.5

    def heads(*a):
        out = DenseStack.apply(*a, acts=("tanh", "identity"))
        return [losses.mean_squared_error(t, out, sample_weight=sw),
                cr.ops.softmax_cross_entropy(out, labels, weights=sw),
                cr.ops.pointwise_loss(out, np.abs(t), kind="poisson"),
                cr.ops.add_l2(cr.ops.pointwise_loss(out, t > 0, kind="logistic"), [a[1], a[3]], [0.3, 0.1])]

    for k in range(4):
        f = lambda *a: heads(*a)[k]  # noqa: E731
        C = f(cr.tensor(x), *(cr.tensor(v, requires_grad=True) for v in (W1, b1, W2, b2)))
        assert type(C._ctx) is DenseStack and C._ctx.head is not None
        assert cr.gradcheck(f, x, W1, b1, W2, b2)       # reverse (absorbed), forward (plain nodes), finite differences
        assert cr.gradgradcheck(f, x, W1, b1, W2, b2)   # create_graph recomputes with the per-layer primitives


@pytest.mark.parametrize("kind", ["squared", "logistic", "poisson"])
def test_pointwise_heads_against_their_formulas(f64, kind):
    rng = np.random.default_rng(2)
    a, y, w = rng.standard_normal((6, 2)), rng.random((6, 2)), rng.random(6) + 0.5
    composed = {"squared": lambda a: (a - y) ** 2,
                "logistic": lambda a: cr.softplus(a) - y * a,
                "poisson": lambda a: cr.exp(a) - y * a}[kind]
    fused = lambda a: cr.ops.pointwise_loss(a, y, weights=w, kind=kind)  # noqa: E731
    plain = lambda a: cr.sum(composed(a) * w[:, None]) / (2 * w.sum())  # noqa: E731
    np.testing.assert_allclose(fused(a), plain(a), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(fused)(a), cr.grad(plain)(a), rtol=1e-12)
    assert cr.gradcheck(fused, a) and cr.gradgradcheck(fused, a)
    with pytest.raises(ValueError, match="pointwise_loss: .*kind must be one of"):
        cr.ops.pointwise_loss(a, y, kind="huber")
    with pytest.raises(ValueError, match=r"targets of shape \(6, 3\) do not fit outputs of shape \(6, 2\)"):
        cr.ops.pointwise_loss(a, np.ones((6, 3)))


def test_an_l2_penalty_is_absorbed_and_equals_the_composed_one(f64):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((9, 4)), rng.integers(0, 3, 9)
    model = nn.Sequential([nn.Dense(5, "tanh", input_dim=4, kernel_regularizer=nn.l2(0.05)),
                           nn.Dense(3, "softmax", kernel_regularizer=nn.l2(0.2), bias_regularizer=nn.l2(0.1))])
    model.compile(optimizer=optim.SGD(lr=0.1), loss="sparse_categorical_crossentropy")
    out = model(X)
    C = model.compute_loss(X, y, out)
    assert type(C._ctx) is DenseStack and C._ctx.l2  # loss and penalties: one node
    C.backward()
    fused = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    ref = losses.sparse_categorical_crossentropy(y, layer_by_layer(model, X)) + model.regularization_loss()
    ref.backward()
    assert float(C.data) == pytest.approx(float(ref.data), rel=1e-12)
    for a, p in zip(fused, model.parameters()):
        np.testing.assert_allclose(a, p.grad, rtol=1e-10, atol=1e-15)
    # an L1 term cannot be absorbed: the composed penalty is added instead, with the same value
    model[0].kernel_regularizer = nn.l1_l2(0.01, 0.05)
    model._cache = None
    C = model.compute_loss(X, y, model(X))
    assert float(C.data) == pytest.approx(
        float((losses.sparse_categorical_crossentropy(y, layer_by_layer(model, X))
               + model.regularization_loss()).data), rel=1e-12)


def test_fit_trains_on_the_absorbed_node_and_matches_the_layer_by_layer_run(f64):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((90, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)

    class LayerByLayer(nn.Sequential):  # the same model without the fused node
        def forward(self, x):
            return layer_by_layer(self, x)

    def run(cls):
        cr.manual_seed(5)
        model = cls([nn.Dense(5, activation="tanh", input_dim=4), nn.Dense(3, activation="softmax")])
        model.compile(optimizer=optim.Adam(lr=0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        seen = []
        step = model.train_step

        def spy(data):
            logs = step(data)
            seen.append(logs["loss"])
            return logs
        model.train_step = spy
        hist = model.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=3)  # 90 = 5 * 16 + 10: a partial batch
        return hist.history, [p.data.copy() for p in model.parameters()], model

    fast_hist, fast_w, model = run(nn.Sequential)
    out = model(X[:16])
    assert type(model.compute_loss(X[:16], y[:16], out)._ctx) is DenseStack
    eng_hist, eng_w, _ = run(LayerByLayer)
    for k in ("loss", "accuracy"):
        np.testing.assert_allclose(fast_hist[k], eng_hist[k], rtol=1e-10)
    for a, b in zip(fast_w, eng_w):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_gradients_are_written_into_the_optimizers_buffer_unless_it_clips():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)).astype("float32"), rng.integers(0, 3, 8)
    model = _model(["relu", "softmax"])
    opt = optim.Adam(model.parameters())
    losses.sparse_categorical_crossentropy(y, model(X)).backward()
    bucket = opt._buckets[0][0]
    for p, views in zip(bucket.params, bucket.views):
        assert p.grad is views[0]
    before = [p.data.copy() for p in model.parameters()]
    opt.step()  # finds the gradients in place and still updates every parameter
    assert all(np.any(p.data != b) for p, b in zip(model.parameters(), before))
    clipping = optim.Adam(model.parameters(), clipnorm=1e-3)
    for p in model.parameters():
        p.grad = None
    losses.sparse_categorical_crossentropy(y, model(X)).backward()
    grads = [p.grad.copy() for p in model.parameters()]
    clipping.step()
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)  # clipping worked on the optimizer's copy only


def test_what_is_not_absorbed_stays_a_node_of_its_own(f64):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    sce = losses.sparse_categorical_crossentropy
    model = nn.Sequential([nn.Dense(5, "relu", input_dim=4), nn.Dropout(0.5), nn.Dense(3, "softmax")])
    C = sce(y, model(X))  # the stack ends at the dropout: the loss is a node of its own
    assert type(C._ctx) is SoftmaxCrossEntropy
    # a custom loss, a loss under forward mode, and a head on something that is not a stack output
    assert type((model(X) * 2.0).sum()._ctx) is not DenseStack
    z = cr.tensor(rng.standard_normal((8, 3)), requires_grad=True)
    assert type(cr.ops.softmax_cross_entropy(z, y)._ctx) is SoftmaxCrossEntropy
    assert type(cr.ops.pointwise_loss(z, np.ones((8, 3)))._ctx) is PointwiseLoss
    W = rng.standard_normal((4, 3))
    value, tangent = cr.jvp(lambda W: cr.ops.softmax_cross_entropy(DenseStack.apply(X, W, None, acts=("tanh",)),
                                                                    y), (W,), (np.ones_like(W),))
    np.testing.assert_allclose(tangent, np.sum(cr.grad(lambda W: cr.ops.softmax_cross_entropy(
        DenseStack.apply(X, W, None, acts=("tanh",)), y))(W)), rtol=1e-10)


def test_bad_labels_still_get_the_losses_clear_error():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 4)).astype("float32")
    model = _model(["relu", "softmax"])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        model.fit(X, np.arange(8) % 4, epochs=1, verbose=0)


def test_digits_reach_the_notes_accuracy_on_the_absorbed_node():
    """The lecture's digits network (64-100-30-10, leaky ReLU, softmax, Adam) via fit, in float32."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(100, "leaky_relu", input_dim=64), nn.Dense(30, "leaky_relu"),
                           nn.Dense(10, "softmax")])
    model.compile(optimizer=optim.Adam(lr=1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(Xtr, ytr, epochs=30, batch_size=32, verbose=0, seed=0)
    assert type(model.compute_loss(Xtr[:32], ytr[:32], model(Xtr[:32]))._ctx) is DenseStack
    assert model.evaluate(Xte, yte, verbose=0, return_dict=True)["accuracy"] >= 0.97


def test_second_derivatives_of_a_stack_whose_inputs_share_a_weight(f64):
    # the partial derivatives of the fused node, not total ones: x is computed from W, W is used twice
    rng = np.random.default_rng(4)
    W, x0 = rng.standard_normal((3, 3)), rng.standard_normal((4, 3))

    def f(W):
        x = cr.tanh(x0 @ W)
        return DenseStack.apply(x, W, None, W, None, acts=("sigmoid", "identity"))

    def composed(W):
        x = cr.tanh(x0 @ W)
        return cr.ops.linear(cr.sigmoid(cr.ops.linear(x, W)), W)

    assert cr.gradgradcheck(f, W)
    np.testing.assert_allclose(cr.hessian(lambda W: cr.sum(f(W) ** 2))(W),
                               cr.hessian(lambda W: cr.sum(composed(W) ** 2))(W), rtol=1e-9, atol=1e-12)
