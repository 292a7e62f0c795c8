"""The written-out back-propagation of Dense stacks (chainrule.backprop) against the autodiff engine."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.backprop import DenseBackprop


@pytest.fixture
def f64():
    cr.set_default_dtype("float64")
    yield
    cr.set_default_dtype("float32")


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
    return rng.standard_normal((n, c))


CASES = [
    (["sigmoid", "softmax"], "sparse_categorical_crossentropy"),
    (["tanh", "relu", "softmax"], "categorical_crossentropy"),
    (["leaky_relu", "linear", "softmax"], "sparse_categorical_crossentropy"),
    (["relu", "sigmoid"], "mse"),
    (["tanh", "linear"], "mse"),
    (["softmax"], "sparse_categorical_crossentropy"),  # no hidden layer: multinomial logistic regression
]


@pytest.mark.parametrize("acts,loss", CASES, ids=lambda v: "-".join(v) if isinstance(v, list) else v)
def test_one_step_equals_the_autodiff_engine(f64, acts, loss):
    rng = np.random.default_rng(0)
    model = _model(acts)
    X = rng.standard_normal((7, 4)) * 2
    y = _targets(loss, rng, 7, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    fast = DenseBackprop.build(model, losses.get(loss), X, y)
    assert fast is not None
    value, out = fast.step(X, y)
    grads = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    pred = model(X)
    ref = losses.get(loss)(y, pred)
    ref.backward()
    assert value == pytest.approx(float(ref.data), rel=1e-12)
    np.testing.assert_allclose(out, pred.data, rtol=1e-12, atol=1e-15)
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g, p.grad, rtol=1e-10, atol=1e-15)


def test_fit_takes_the_same_path_as_the_engine(f64, monkeypatch):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((90, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)

    def run():
        model = _model(["tanh", "softmax"], seed=5)
        model.compile(optimizer=optim.Adam(lr=0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=3)  # 90 = 5 * 16 + 10: a partial batch
        return hist.history, [p.data.copy() for p in model.parameters()]

    fast_hist, fast_w = run()
    monkeypatch.setattr(DenseBackprop, "build", classmethod(lambda cls, *a: None))
    eng_hist, eng_w = run()
    for k in ("loss", "accuracy"):
        np.testing.assert_allclose(fast_hist[k], eng_hist[k], rtol=1e-10)
    for a, b in zip(fast_w, eng_w):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_gradients_are_written_into_the_optimizers_buffer_unless_it_clips():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)).astype("float32"), rng.integers(0, 3, 8)
    model = _model(["relu", "softmax"])
    opt = optim.Adam(model.parameters())
    fast = DenseBackprop.build(model, losses.sparse_categorical_crossentropy, X, y)
    fast.step(X, y)
    bucket = opt._buckets[0][0]
    for p, views in zip(bucket.params, bucket.views):
        assert p.grad is views[0]
    before = [p.data.copy() for p in model.parameters()]
    opt.step()  # finds the gradients in place and still updates every parameter
    assert all(np.any(p.data != b) for p, b in zip(model.parameters(), before))
    clipping = optim.Adam(model.parameters(), clipnorm=1e-3)
    fast = DenseBackprop.build(model, losses.sparse_categorical_crossentropy, X, y)
    fast.step(X, y)
    grads = [p.grad.copy() for p in model.parameters()]
    clipping.step()
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)  # clipping worked on the optimizer's copy only


def test_models_and_losses_it_does_not_cover_train_on_the_engine():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)).astype("float32"), rng.integers(0, 3, 8)
    opt = optim.SGD(lr=0.1)
    sce = losses.sparse_categorical_crossentropy

    def build(model, loss=sce, labels=y):
        model(X)
        opt.bind(model.parameters())
        return DenseBackprop.build(model, loss, X, labels)

    assert build(_model(["relu", "softmax"])) is not None
    assert build(nn.Sequential([nn.Dense(5, "relu", kernel_regularizer="l2"), nn.Dense(3, "softmax")])) is None
    assert build(nn.Sequential([nn.Dense(5, "relu"), nn.Dropout(0.5), nn.Dense(3, "softmax")])) is None
    assert build(nn.Sequential([nn.Dense(5, "elu"), nn.Dense(3, "softmax")])) is None
    assert build(nn.Sequential([nn.Dense(5, lambda z: z * 2), nn.Dense(3, "softmax")])) is None
    assert build(_model(["relu", "linear"])) is None                     # cross-entropy needs a softmax output
    assert build(_model(["relu", "softmax"]), loss=losses.get("SparseCategoricalCrossentropy")) is None
    assert build(_model(["relu", "softmax"]), labels=y.astype("float32")) is None   # the engine checks these
    assert build(_model(["relu", "softmax"]), labels=y + 1) is None                  # label 3 of 3 classes


def test_bad_labels_still_get_the_engines_clear_error():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 4)).astype("float32")
    model = _model(["relu", "softmax"])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        model.fit(X, np.arange(8) % 4, epochs=1, verbose=0)


def test_digits_reach_the_notes_accuracy_through_the_fast_path():
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
    assert DenseBackprop.build(model, losses.sparse_categorical_crossentropy, Xtr,
                               ytr) is not None  # so fit took the fast path
    assert model.evaluate(Xte, yte)["accuracy"] >= 0.97
