"""Keras' weight constraints: the projections themselves, the layers that take them, the optimizers that
apply them after each update, saving, and Keras 3 as the oracle of all of it with the weights copied across."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import load_model, save_model
from chainrule.nn import constraints as C


@pytest.fixture(autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


def test_each_constraint_is_its_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3))
    norms = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(C.MaxNorm(1.5)(w), w * np.minimum(norms, 1.5) / (1e-7 + norms), rtol=1e-14)
    np.testing.assert_allclose(C.UnitNorm()(w), w / (1e-7 + norms), rtol=1e-14)
    np.testing.assert_array_equal(C.NonNeg()(w), np.where(w > 0, w, 0))
    desired = 0.3 * np.clip(norms, 0.5, 1.0) + 0.7 * norms
    np.testing.assert_allclose(C.MinMaxNorm(0.5, 1.0, rate=0.3)(w), w * desired / (1e-7 + norms), rtol=1e-14)
    rows = np.sqrt((w ** 2).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(C.UnitNorm(axis=1)(w), w / (1e-7 + rows), rtol=1e-14)
    k = rng.standard_normal((2, 2, 3, 4))              # a Conv2D kernel: one norm per filter
    out = C.MaxNorm(0.5, axis=[0, 1, 2])(k)
    np.testing.assert_allclose(np.sqrt((out ** 2).sum(axis=(0, 1, 2))), 0.5, rtol=1e-6)
    # names, saved forms and errors
    assert isinstance(C.get("max_norm"), C.MaxNorm) and isinstance(C.get("NonNeg"), C.NonNeg)
    again = C.get(C.serialize(C.MinMaxNorm(0.1, 2.0, rate=0.5, axis=[0, 1])))
    assert again.get_config() == {"min_value": 0.1, "max_value": 2.0, "rate": 0.5, "axis": [0, 1]}
    with pytest.raises(ValueError, match="unknown constraint 'max_nrom'"):
        C.get("max_nrom")
    with pytest.raises(ValueError, match="max_value"):
        C.MaxNorm(-1)
    with pytest.raises(TypeError, match="cannot save a custom constraint"):
        C.serialize(lambda w: w)


def test_an_optimizer_projects_each_constrained_weight_after_its_update():
    layer = nn.Dense(3, input_dim=4, kernel_constraint=C.MaxNorm(0.2), bias_constraint="non_neg")
    assert isinstance(layer.kernel.constraint, C.MaxNorm) and isinstance(layer.bias.constraint, C.NonNeg)
    x, y = np.ones((8, 4), np.float32), np.full((8, 3), 5.0, np.float32)
    for opt in (optim.SGD(layer.parameters(), lr=0.5), optim.Adam(layer.parameters(), lr=0.5)):
        for _ in range(3):
            opt.zero_grad()
            loss = ((layer(x) - y) ** 2).mean()
            loss.backward()
            before = layer.kernel.data.copy()
            opt.step()
            assert np.all(np.linalg.norm(layer.kernel.data, axis=0) <= 0.2 + 1e-6)
            assert not np.array_equal(before, layer.kernel.data)
    layer.bias.data[...] = -1.0
    layer.bias_constraint = None          # set after the build: the Parameter follows
    assert layer.bias.constraint is None
    w = nn.Layer().add_weight(shape=(3,), constraint="non_neg", initializer="ones")
    assert isinstance(w.constraint, C.NonNeg)
    with pytest.raises(TypeError, match="must be a function of the values"):
        layer.kernel.constraint = 3


def _build(L, M, K, O):
    """Every layer kind that takes constraints in Keras, each with one."""
    inp = L.Input(shape=(4, 4, 1))
    h = L.Conv2D(3, (2, 2), activation="relu", kernel_constraint=K.NonNeg(), bias_constraint=K.MaxNorm(0.05))(inp)
    h = L.Reshape((3, 9))(h)
    h = L.LSTM(4, kernel_constraint=K.MaxNorm(0.6), recurrent_constraint=K.UnitNorm(axis=0),
               bias_constraint=K.MinMaxNorm(0.2, 0.8, rate=0.7))(h)
    h = L.Dense(5, kernel_constraint=K.MaxNorm(0.4, axis=0), bias_constraint=K.NonNeg())(h)
    h = L.BatchNormalization(gamma_constraint=K.NonNeg(), beta_constraint=K.MaxNorm(0.01))(h)
    out = L.Dense(3, activation="softmax", kernel_constraint=K.UnitNorm(axis=1))(h)
    model = M.Model(inp, out)
    model.compile(loss="categorical_crossentropy", optimizer=O.SGD(learning_rate=0.3))
    return model


def test_constrained_layers_train_as_keras_3(keras):
    import chainrule.keras as ck
    rng = np.random.default_rng(2)
    X, Y = rng.random((12, 4, 4, 1)).astype(np.float32) * 3, np.eye(3, dtype=np.float32)[rng.integers(0, 3, 12)]
    ck.backend.clear_session()
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    ours = _build(ck.layers, ck.models, ck.constraints, ck.optimizers)
    theirs = _build(keras.layers, keras.models, keras.constraints, keras.optimizers)
    theirs.set_weights([w + 0.05 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    h1 = ours.fit(X, Y, batch_size=6, epochs=3, verbose=0, shuffle=False)
    h2 = theirs.fit(X, Y, batch_size=6, epochs=3, verbose=0, shuffle=False)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    # the constraints held after the last update
    kernel = next(layer for layer in ours.layers if isinstance(layer, nn.LSTM)).recurrent_kernel.data
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), 1.0, rtol=1e-5)
    conv = next(layer for layer in ours.layers if isinstance(layer, nn.Conv2D))
    assert conv.kernel.data.min() >= 0 and np.abs(conv.bias.data).max() <= 0.05 + 1e-7


def test_constraints_are_saved_and_loaded(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, input_dim=3, kernel_constraint=C.MaxNorm(0.5, axis=0)),
                           nn.BatchNormalization(gamma_constraint="non_neg"), nn.Dense(1)])
    again = load_model(save_model(model, tmp_path / "m"))
    assert again.layers[0].kernel.constraint.get_config() == {"max_value": 0.5, "axis": 0}
    assert isinstance(again.layers[1].gamma.constraint, C.NonNeg) and again.layers[2].kernel.constraint is None
    rnn = nn.Sequential([nn.Embedding(5, 3, embeddings_constraint=C.UnitNorm(axis=1), input_shape=(4,)),
                         nn.GRU(2, kernel_constraint="non_neg", recurrent_constraint=C.MaxNorm(1.5)),
                         nn.Dense(1)])
    back = load_model(save_model(rnn, tmp_path / "r"))
    assert isinstance(back.layers[0].embeddings.constraint, C.UnitNorm)
    assert isinstance(back.layers[1].kernel.constraint, C.NonNeg)
    assert back.layers[1].recurrent_kernel.constraint.get_config()["max_value"] == 1.5
    with pytest.raises(TypeError, match="cannot save a custom constraint"):
        save_model(nn.Sequential([nn.Dense(2, input_dim=2, kernel_constraint=lambda w: w)]), tmp_path / "c")
