"""Small Keras and PyTorch programs run on the real Keras 3 (KERAS_BACKEND=torch) and PyTorch and on
chainrule.keras / chainrule.torch from the same initial weights: the same numbers come out.

Keras is imported once (the session fixture in tests/conftest.py: it takes seconds); each test skips when its
library is absent.
"""

import numpy as np
import pytest

import chainrule.keras as ckeras
import chainrule.torch as ctorch
from chainrule.keras import layers as cl, models as cm, optimizers as co

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(1)
    with threadpool_limits(1, user_api="blas"):
        yield


def _data(n=40, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(np.float32)
    y = ((X[:, 0] - 0.5) * (X[:, 1] - 0.5) > 0).astype(np.float32)
    return X, y


def _copy_keras(ours, theirs):
    for a, b in zip(ours.layers, theirs.layers):
        if a.get_weights():
            b.set_weights(a.get_weights())


# ------------------------------------------------------------------ Keras 3
def test_the_notes_sequential_network_trains_as_in_keras(keras):
    X, y = _data()
    ckeras.backend.clear_session()
    keras.backend.clear_session()

    def build(L, M, O, lr):
        model = M.Sequential()
        model.add(L.Input(shape=(2,)) if L is keras.layers else L.Dense(4, input_shape=(2,), activation="sigmoid",
                                                                          name="hidden"))
        if L is keras.layers:
            model.add(L.Dense(4, activation="sigmoid", name="hidden"))
        model.add(L.Dense(1, activation="sigmoid", name="output"))
        model.compile(optimizer=O.Adam(learning_rate=lr), loss="binary_crossentropy", metrics=["accuracy"])
        return model
    ours, theirs = build(cl, cm, co, 0.05), build(keras.layers, keras.models, keras.optimizers, 0.05)
    _copy_keras(ours, theirs)
    h1 = ours.fit(X, y, epochs=15, batch_size=10, shuffle=False, verbose=0)
    h2 = theirs.fit(X, y, epochs=15, batch_size=10, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=2e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    e1, e2 = ours.evaluate(X, y, verbose=0), theirs.evaluate(X, y, verbose=0)
    assert isinstance(e1, list) and isinstance(e2, list) and len(e1) == len(e2) == 2
    np.testing.assert_allclose(e1, e2, rtol=1e-4)
    # the hidden units through Model(inputs=model.input, outputs=layer.output), as the notes do
    h_ours = cm.Model(inputs=ours.input, outputs=ours.get_layer("hidden").output).predict(X)
    h_theirs = keras.models.Model(inputs=theirs.inputs, outputs=theirs.get_layer("hidden").output).predict(
        X, verbose=0)
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-4, atol=1e-6)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]


def test_automatic_names_and_summary_rows_match_keras(keras):
    ckeras.backend.clear_session()
    keras.backend.clear_session()

    def build(L, M):
        inp = L.Input(shape=(8, 8, 1))
        x = L.Conv2D(4, 3, activation="relu")(inp)
        x = L.MaxPooling2D()(x)
        x = L.Flatten()(x)
        a = L.Dense(6)(x)
        b = L.Dense(6)(x)
        out = L.Dense(2, activation="softmax")(L.Concatenate()([a, b]))
        return M.Model(inp, out)
    ours, theirs = build(cl, cm), build(keras.layers, keras.models)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [layer.count_params() for layer in ours.layers] == [layer.count_params() for layer in theirs.layers]
    assert [tuple(layer.output.shape) for layer in ours.layers] == [tuple(layer.output.shape)
                                                                   for layer in theirs.layers]
    _copy_keras(ours, theirs)
    X = np.random.default_rng(2).random((5, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, verbose=0), rtol=1e-4, atol=1e-6)


def test_a_functional_model_with_two_inputs_and_two_outputs_trains_as_in_keras(keras):
    rng = np.random.default_rng(3)
    X1, X2 = rng.random((32, 3)).astype(np.float32), rng.random((32, 2)).astype(np.float32)
    y1, y2 = X1.sum(1, keepdims=True), (X2[:, :1] > 0.5).astype(np.float32)
    ckeras.backend.clear_session()
    keras.backend.clear_session()

    def build(L, M, O):
        a, b = L.Input(shape=(3,), name="a"), L.Input(shape=(2,), name="b")
        shared = L.Dense(4, activation="tanh", name="shared")
        h = L.Concatenate()([shared(L.Dense(4, name="pa")(a)), shared(L.Dense(4, name="pb")(b))])
        model = M.Model([a, b], [L.Dense(1, name="reg")(h), L.Dense(1, activation="sigmoid", name="cls")(h)])
        model.compile(optimizer=O.SGD(learning_rate=0.1, momentum=0.9), loss=["mse", "binary_crossentropy"],
                      loss_weights=[1.0, 0.5], metrics=[["mae"], ["accuracy"]])
        return model
    ours, theirs = build(cl, cm, co), build(keras.layers, keras.models, keras.optimizers)
    _copy_keras(ours, theirs)
    w = rng.uniform(0.0, 2.0, 32).astype(np.float32)
    # evaluate's list in Keras' order: the loss, each output's loss, then the outputs' metrics by name
    np.testing.assert_allclose(ours.evaluate([X1, X2], [y1, y2], sample_weight=w, batch_size=8, verbose=0),
                               theirs.evaluate([X1, X2], [y1, y2], sample_weight=w, batch_size=8, verbose=0), rtol=1e-5)
    h1 = ours.fit([X1, X2], [y1, y2], sample_weight=w, epochs=5, batch_size=8, shuffle=False, verbose=0)
    h2 = theirs.fit([X1, X2], [y1, y2], sample_weight=w, epochs=5, batch_size=8, shuffle=False, verbose=0)
    assert sorted(h1.history) == sorted(h2.history)
    for key in h2.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-4, err_msg=key)
    for p, q in zip(ours.predict([X1, X2]), theirs.predict([X1, X2], verbose=0)):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda O: O.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    lambda O: O.RMSprop(learning_rate=0.01, momentum=0.5),
    lambda O: O.Adagrad(learning_rate=0.1),
    lambda O: O.Adam(learning_rate=0.01, epsilon=1e-3),
    lambda O: O.AdamW(learning_rate=0.01, weight_decay=0.1),
], ids=["sgd_nesterov", "rmsprop", "adagrad", "adam_eps", "adamw"])
def test_keras_optimizers_update_as_keras(keras, make):
    X, y = _data(n=24, d=3)
    ckeras.backend.clear_session()
    keras.backend.clear_session()
    ours = cm.Sequential([cl.Dense(3, activation="tanh", input_shape=(3,)), cl.Dense(1)])
    theirs = keras.models.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3, activation="tanh"),
                                      keras.layers.Dense(1)])
    ours.compile(optimizer=make(co), loss="mse")
    theirs.compile(optimizer=make(keras.optimizers), loss="mse")
    _copy_keras(ours, theirs)
    ours.fit(X, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(X, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_activity_regularizer_and_a_recurrent_functional_model_as_keras(keras):
    rng = np.random.default_rng(4)
    X, y = rng.random((20, 2, 1)).astype(np.float32), rng.random((20, 1)).astype(np.float32)
    ckeras.backend.clear_session()
    keras.backend.clear_session()

    def build(L, M, R):
        inp = L.Input(batch_shape=(None, 2, 1))
        h = L.SimpleRNN(5, name="RNN")(inp)
        out = L.Dense(1, activity_regularizer=R.l1(0.05), kernel_regularizer=R.l2(0.01), name="dense")(h)
        model = M.Model(inputs=[inp], outputs=[out])
        model.compile(loss="mean_squared_error", optimizer="adam")
        return model
    ours, theirs = build(cl, cm, ckeras.regularizers), build(keras.layers, keras.models, keras.regularizers)
    _copy_keras(ours, theirs)
    h1 = ours.fit(X, y, batch_size=None, epochs=4, verbose=0, validation_split=0.2, shuffle=False)
    h2 = theirs.fit(X, y, batch_size=None, epochs=4, verbose=0, validation_split=0.2, shuffle=False)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=2e-4)
    np.testing.assert_allclose(ours.evaluate(X, y, verbose=0), theirs.evaluate(X, y, verbose=0), rtol=2e-4)


def test_every_keras_activation_name_gives_keras_values_and_gradients(keras):
    # a layer given Keras' name computes what Keras computes, and the gradient reaching its input too
    # ('leaky_relu' is left out on purpose: chainrule's name is the notes' slope 0.01, Keras' 0.2)
    x = np.linspace(-4.2, 7.1, 24, dtype=np.float32).reshape(4, 6)
    for name in ("relu", "sigmoid", "tanh", "elu", "softplus", "softmax", "linear", "selu", "softsign", "relu6",
                 "hard_sigmoid", "silu", "swish", "gelu", "mish", "hard_silu", "hard_swish", "exponential"):
        ours, theirs = cl.Dense(5, activation=name), keras.layers.Dense(5, activation=name)
        ours(x)
        theirs.build((None, 6))
        theirs.set_weights([0.3 * p.data for p in ours.parameters()])
        for p in ours.parameters():
            p.data *= 0.3
        xo = ctorch.tensor(x, requires_grad=True)
        y = ours(xo)
        y.sum().backward()
        xk = torch.tensor(x, requires_grad=True)
        yk = theirs(xk)
        yk.sum().backward()
        np.testing.assert_allclose(y.numpy(), yk.detach().numpy(), rtol=2e-6, atol=2e-6, err_msg=name)
        np.testing.assert_allclose(xo.grad, xk.grad.numpy(), rtol=2e-5, atol=2e-6, err_msg=name)
    # recurrent layers with the gate activation of Keras 2's LSTM default, and another cell activation
    seq = np.sin(np.arange(30, dtype=np.float32)).reshape(2, 5, 3)
    for layer in ("LSTM", "GRU"):
        opts = dict(recurrent_activation="hard_sigmoid", activation="softsign", return_sequences=True)
        ours, theirs = getattr(cl, layer)(4, **opts), getattr(keras.layers, layer)(4, **opts)
        ours(seq)
        theirs.build((None, 5, 3))
        theirs.set_weights([p.data for p in ours.parameters()])
        np.testing.assert_allclose(ours(seq).numpy(), keras.ops.convert_to_numpy(theirs(seq)), atol=2e-6,
                                   err_msg=layer)


def test_keras_relu_options_give_keras_values_gradients_and_save(keras, tmp_path):
    # max_value, negative_slope and threshold, alone and together (away from the kinks, where the
    # libraries pick different one-sided derivatives)
    x = np.linspace(-3.1, 8.2, 24)
    for kw in ({}, {"max_value": 6}, {"max_value": 2.4}, {"negative_slope": 0.1}, {"threshold": 1.05},
               {"negative_slope": 0.2, "threshold": 1.45, "max_value": 4.1}, {"negative_slope": 0.3, "max_value": 6}):
        xo = ctorch.tensor(x, requires_grad=True)
        y = cl.ReLU(**kw)(xo)
        (y * np.cos(x)).sum().backward()
        xk = torch.tensor(x, requires_grad=True)
        yk = keras.layers.ReLU(**kw)(xk)
        (yk * torch.tensor(np.cos(x))).sum().backward()
        np.testing.assert_allclose(y.numpy(), yk.detach().numpy(), atol=1e-6, err_msg=str(kw))
        np.testing.assert_allclose(xo.grad, xk.grad.numpy(), atol=1e-6, err_msg=str(kw))
        np.testing.assert_allclose(np.asarray(ckeras.activations.relu(x, **kw)),
                                   keras.ops.convert_to_numpy(keras.activations.relu(x, **kw)), atol=1e-6)
    model = cm.Sequential([cl.Dense(4, input_shape=(3,)), cl.ReLU(max_value=1.5, threshold=0.1),
                           cl.Dense(2, activation=ckeras.activations.relu)])
    X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    model.save(tmp_path / "relu.keras")
    again = cm.load_model(tmp_path / "relu.keras")
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    assert again.layers[1].get_config() == {"max_value": 1.5, "negative_slope": 0.0, "threshold": 0.1}
    assert again.layers[2].get_config()["activation"] == "relu"     # keras.activations.relu is the table's relu
    with pytest.raises(ValueError, match="ReLU: max_value must be a number >= 0 or None, got -1"):
        cl.ReLU(max_value=-1)


def _scaled_dense(base):
    """The same Keras-style custom layer (build with add_weight, call) for either library."""
    class ScaledDense(base):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", regularizer="l2")
            self.scale = self.add_weight(shape=(), initializer="ones", trainable=False)

        def call(self, inputs, training=None):
            y = (inputs @ self.w + self.b) * self.scale
            return y * 0.5 if training else y

        def get_config(self):
            return {"units": self.units}
    return ScaledDense


def test_a_keras_style_custom_layer_and_lambda_train_as_in_keras(keras, tmp_path):
    X, y = _data(n=32, d=3)
    ours_cls, theirs_cls = _scaled_dense(cl.Layer), _scaled_dense(keras.layers.Layer)
    ours = cm.Sequential([cl.Input((3,)), ours_cls(4), cl.Lambda(lambda t: t[:, :3] * 2.0), cl.Dense(1)])
    theirs = keras.Sequential([keras.Input((3,)), theirs_cls(4), keras.layers.Lambda(lambda t: t[:, :3] * 2.0),
                               keras.layers.Dense(1)])
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    assert ours.layers[1].output_shape == (None, 3)            # found by calling the Lambda once on zeros
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-6)
    for model in (ours, theirs):
        model.compile(optimizer=(co if model is ours else keras.optimizers).SGD(learning_rate=0.1), loss="mse")
    h_ours = ours.fit(X, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    h_theirs = theirs.fit(X, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-5)   # training=True halves, and the L2 of b is in it
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), atol=1e-6)
    assert ours.layers[0].scale.requires_grad is False and float(ours.layers[0].scale.data) == 1.0
    # the layer outside a model builds on its first call; it saves and loads where its class is defined
    alone = ours_cls(2)
    assert alone(np.ones((5, 7), np.float32)).shape == (5, 2) and [n for n, _ in alone.named_parameters()] == \
        ["w", "b", "scale"]
    plain = cm.Sequential([cl.Input((3,)), ours_cls(4), cl.Dense(1)])
    plain.save(tmp_path / "custom.keras")
    np.testing.assert_array_equal(cm.load_model(tmp_path / "custom.keras").predict(X, verbose=0),
                                  plain.predict(X, verbose=0))
    with pytest.raises(TypeError, match="a Lambda layer cannot be saved"):
        ours.save(tmp_path / "lambda.keras")
    with pytest.raises(TypeError, match="Lambda: function must be callable, got int"):
        cl.Lambda(3)


def test_keras_ops_give_keras_values_and_a_layer_written_with_them_trains_as_in_keras(keras):
    from chainrule.keras import ops as cops
    x = np.linspace(-2.2, 3.1, 12, dtype=np.float32).reshape(3, 4)
    pos = np.abs(x) + 0.5
    calls = [("relu", x), ("relu6", x * 3), ("sigmoid", x), ("softplus", x), ("silu", x), ("gelu", x),
             ("leaky_relu", x), ("elu", x), ("selu", x), ("hard_sigmoid", x), ("log_sigmoid", x), ("softmax", x),
             ("log_softmax", x), ("tanh", x), ("exp", x), ("log", pos), ("sqrt", pos), ("rsqrt", pos), ("erf", x),
             ("square", x), ("abs", x), ("sum", x), ("mean", x, 1), ("max", x, 0), ("min", x), ("std", x),
             ("var", x, 0), ("logsumexp", x, 1), ("cumsum", x, 1), ("matmul", x, x.T), ("dot", x, x.T),
             ("einsum", "ij,kj->ik", x, x), ("reshape", x, (4, 3)), ("transpose", x), ("expand_dims", x, 0),
             ("squeeze", x[None]), ("concatenate", [x, x], 1), ("stack", [x, x]), ("clip", x, -1.0, 1.0),
             ("where", x > 0, x, 0.0), ("maximum", x, 0.5), ("argmax", x, 1), ("one_hot", np.array([0, 2, 1]), 3),
             ("zeros", (2, 3)), ("ones", (2,)), ("eye", 3), ("full", (2, 2), 0.5), ("linspace", 0.0, 1.0, 5),
             ("split", x, 2, 1), ("cast", x, "float16"), ("convert_to_tensor", [1.0, 2.0])]
    for name, *args in calls:
        ours, theirs = getattr(cops, name)(*args), getattr(keras.ops, name)(*args)
        ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
        for a, b in zip(ours, theirs):
            b = keras.ops.convert_to_numpy(b)
            a = cops.convert_to_numpy(a)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
            # the same float type (Keras' float32 where NumPy would make float64); integers may differ in width
            same = a.dtype == b.dtype if b.dtype.kind == "f" else a.dtype.kind == b.dtype.kind
            assert same, (name, a.dtype, b.dtype)
    assert cops.shape(cops.zeros((2, 3))) == (2, 3)
    assert not cops.stop_gradient(ctorch.ones(2, requires_grad=True)).requires_grad

    def gated(base, ops):
        class Gated(base):
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], input_shape[-1]), initializer="glorot_uniform")

            def call(self, x):
                return x * ops.sigmoid(ops.matmul(x, self.w)) + ops.mean(x, axis=-1, keepdims=True)
        return Gated
    X, y = _data(n=24, d=3)
    ours = cm.Sequential([cl.Input((3,)), gated(cl.Layer, cops)(), cl.Dense(1)])
    theirs = keras.Sequential([keras.Input((3,)), gated(keras.layers.Layer, keras.ops)(), keras.layers.Dense(1)])
    theirs.set_weights(ours.get_weights())
    for model, opt in ((ours, co), (theirs, keras.optimizers)):
        model.compile(optimizer=opt.SGD(learning_rate=0.2), loss="mse")
    np.testing.assert_allclose(ours.fit(X, y, epochs=3, batch_size=6, shuffle=False, verbose=0).history["loss"],
                               theirs.fit(X, y, epochs=3, batch_size=6, shuffle=False, verbose=0).history["loss"],
                               rtol=1e-5)


def test_pytorch_activation_modules_give_pytorch_values_gradients_and_reprs():
    x = np.linspace(-4.2, 7.1, 24).reshape(4, 6)
    for text in ("SiLU()", "SELU()", "ReLU6()", "Hardsigmoid()", "Hardswish()", "Mish()", "Softsign()", "GELU()",
                 "ReLU(inplace=True)", "LeakyReLU(0.1, inplace=True)", "ELU(alpha=0.5, inplace=True)",
                 "SiLU(inplace=True)", "SELU(inplace=True)", "ReLU6(inplace=True)", "Hardswish(inplace=True)"):
        outs = []
        for T in (ctorch, torch):
            m = eval(f"T.nn.{text}")
            xt = T.tensor(x.copy(), dtype=T.float64, requires_grad=True)
            y = m(xt * 1.0)        # (an in-place module must not change a leaf)
            (y * T.tensor(np.cos(x), dtype=T.float64)).sum().backward()
            outs.append((repr(m), np.asarray(y.detach()), np.asarray(xt.grad)))
        assert outs[0][0] == outs[1][0]
        # (PyTorch's hardsigmoid and hardswish backward use the float32 constant 1/6)
        rtol = 1e-7 if text.startswith("Hard") else 1e-12
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12, atol=1e-14, err_msg=text)
        np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=rtol, atol=1e-14, err_msg=text)
    with pytest.raises(TypeError, match="ReLU: inplace must be True or False, got 'yes'"):
        ctorch.nn.ReLU(inplace="yes")


@pytest.mark.parametrize("name", ["adam", "rmsprop", "adagrad", "sgd", "adamw"])
def test_an_optimizer_named_in_compile_updates_as_keras(keras, name):
    X, y = _data(n=24, d=3)
    X, y = X * 1e-3, y * 1e-3                        # gradients ~1e-4: where the two epsilon rules part
    ckeras.backend.clear_session()
    keras.backend.clear_session()
    ours = cm.Sequential([cl.Dense(3, activation="tanh", input_shape=(3,)), cl.Dense(1)])
    theirs = keras.models.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3, activation="tanh"),
                                      keras.layers.Dense(1)])
    ours.compile(optimizer=name, loss="mse")
    theirs.compile(optimizer=name, loss="mse")
    _copy_keras(ours, theirs)
    start = [w.copy() for w in ours.get_weights()]
    ours.fit(X, y, epochs=20, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(X, y, epochs=20, batch_size=8, shuffle=False, verbose=0)
    assert type(ours.optimizer).__name__ == "Keras" + type(theirs.optimizer).__name__
    assert ours.optimizer.lr == pytest.approx(float(theirs.optimizer.learning_rate))
    assert any(not np.array_equal(a, b) for a, b in zip(ours.get_weights(), start))   # it trained
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("rnn", ["SimpleRNN", "GRU"])
def test_conv_and_recurrent_weight_penalties_train_as_keras(keras, rnn):
    """The notes' CNN puts kernel_regularizer=l2 on its Conv2D: the penalty of a convolution's kernel and of a
    recurrent layer's kernel, recurrent kernel and bias is in the loss and its gradient, as in Keras."""
    rng = np.random.default_rng(5)
    X, Y = rng.random((12, 4, 4, 1)).astype(np.float32) * 4, np.eye(3, dtype=np.float32)[rng.integers(0, 3, 12)]
    ckeras.backend.clear_session()
    keras.backend.clear_session()
    # the starting weights are Keras' initialisers' draws: seeded, so that they do not depend on which tests
    # ran before in this worker (from this start, changing the weights by 1e-7 moves the final weights by
    # under 1% of the tolerance below; an unseeded start once failed it)
    keras.utils.set_random_seed(5)

    def build(L, M, R, O):
        inp = L.Input(shape=(4, 4, 1))
        h = L.Conv2D(3, (2, 2), activation="relu", kernel_regularizer=R.l2(0.05), bias_regularizer=R.l2(0.02))(inp)
        h = L.Reshape((3, 9))(h)
        h = getattr(L, rnn)(4, kernel_regularizer=R.l2(0.03), recurrent_regularizer=R.l2(0.04),
                            bias_regularizer=R.l1(0.01))(h)
        model = M.Model(inputs=inp, outputs=L.Dense(3, activation="softmax")(h))
        model.compile(loss="categorical_crossentropy", optimizer=O.SGD(learning_rate=0.5))
        return model
    ours = build(cl, cm, ckeras.regularizers, co)
    theirs = build(keras.layers, keras.models, keras.regularizers, keras.optimizers)
    theirs.set_weights([w + 0.1 for w in theirs.get_weights()])    # non-zero biases: their penalties count too
    ours.set_weights(theirs.get_weights())
    assert len(ours.losses) == len(theirs.losses) == 5
    np.testing.assert_allclose(sorted(float(t) for t in ours.losses),
                               sorted(float(t.detach()) for t in theirs.losses), rtol=1e-5)
    h1 = ours.fit(X, Y, batch_size=6, epochs=3, verbose=0, shuffle=False)
    h2 = theirs.fit(X, Y, batch_size=6, epochs=3, verbose=0, shuffle=False)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=2e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_model_weights_are_listed_layer_by_layer_as_keras_lists_them(keras):
    """get_weights/set_weights of a model with a BatchNormalization inside: its moving statistics follow its
    gamma and beta, before the next layer's weights, as in Keras (they used to come last, so a Keras model's
    list did not fit, or fitted wrongly where the shapes happened to agree)."""
    ckeras.backend.clear_session()
    keras.backend.clear_session()

    def build(L, M):
        return M.Sequential([L.Input(shape=(3,)), L.Dense(4), L.BatchNormalization(), L.Dense(4), L.Dense(1)])
    ours, theirs = build(cl, cm), build(keras.layers, keras.models)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    rng = np.random.default_rng(0)
    theirs.set_weights([rng.standard_normal(w.shape).astype(np.float32) + (2.0 if i == 5 else 0.0)
                        for i, w in enumerate(theirs.get_weights())])   # a positive moving variance
    ours.set_weights(theirs.get_weights())
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert [n.partition(".")[2] for n, _ in ours.named_weights()][:6] == ["kernel", "bias", "gamma", "beta",
                                                                         "moving_mean", "moving_variance"]


def test_early_stopping_patience_and_to_categorical_as_keras(keras):
    X, y = _data(n=16)
    epochs = []
    for L, M, O, C in ((cl, cm, co, ckeras.callbacks),
                       (keras.layers, keras.models, keras.optimizers, keras.callbacks)):
        for patience in (0, 1, 3):
            model = M.Sequential([L.Input(shape=(2,)), L.Dense(1)]) if L is keras.layers else \
                M.Sequential([L.Dense(1, input_shape=(2,))])
            model.compile(optimizer=O.SGD(learning_rate=0.0), loss="mse")
            h = model.fit(X, y, epochs=10, verbose=0, shuffle=False,
                          callbacks=[C.EarlyStopping(monitor="loss", patience=patience)])
            epochs.append(len(h.history["loss"]))
    assert epochs[:3] == epochs[3:]
    labels = np.array([[1], [0], [3]])
    np.testing.assert_array_equal(ckeras.utils.to_categorical(labels), keras.utils.to_categorical(labels))


# ------------------------------------------------------------------ PyTorch
def _copy_linear(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))


class _Programs:
    """The notes' 2-4-1 network, written once for either library."""

    @staticmethod
    def net(nn):
        class Net(nn.Module):
            def __init__(self, input_size, hidden_size):
                super(Net, self).__init__()
                self.fc1 = nn.Linear(input_size, hidden_size)
                self.activation = nn.Sigmoid()
                self.fc2 = nn.Linear(hidden_size, 1)
                self.sigmoid = nn.Sigmoid()

            def forward(self, x):
                return self.sigmoid(self.fc2(self.activation(self.fc1(x))))
        return Net(2, 4)

    @staticmethod
    def train(T, model, X, y, make_opt, make_sched=None, epochs=6):
        from_data = __import__(T.__name__ + ".utils.data", fromlist=["DataLoader"])
        loader = from_data.DataLoader(from_data.TensorDataset(T.tensor(X, dtype=T.float32),
                                                              T.tensor(y, dtype=T.float32)[:, None]),
                                      batch_size=10, shuffle=False)
        criterion = __import__(T.__name__ + ".nn", fromlist=["BCELoss"]).BCELoss()
        optimizer = make_opt(model.parameters())
        sched = None if make_sched is None else make_sched(optimizer)
        losses = []
        for epoch in range(epochs):
            for inputs, labels in loader:
                optimizer.zero_grad()
                loss = criterion(model(inputs), labels)
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
            if sched is not None:
                sched.step(loss.item()) if "Plateau" in type(sched).__name__ else sched.step()
        with T.no_grad():
            out = model(T.tensor(X, dtype=T.float32))
            _, predicted = T.max(T.cat([1 - out, out], dim=1), 1)
        return losses, out.numpy(), predicted.numpy()


@pytest.mark.parametrize("opt,sched", [
    ("Adam(p, lr=0.05)", None),
    ("SGD(p, lr=0.5, momentum=0.9, nesterov=True, weight_decay=0.01)", "StepLR(o, step_size=2, gamma=0.5)"),
    ("RMSprop(p, lr=0.01, momentum=0.5)", "ExponentialLR(o, gamma=0.8)"),
    ("Adagrad(p, lr=0.1)", "CosineAnnealingLR(o, T_max=4)"),
    ("Adam(p, lr=0.05, weight_decay=0.1)", "LambdaLR(o, lambda e: 1 / (1 + e))"),
    ("AdamW(p, lr=0.05, weight_decay=0.1)", "ReduceLROnPlateau(o, factor=0.5, patience=0)"),
], ids=["adam", "sgd_steplr", "rmsprop_explr", "adagrad_cosine", "adam_l2_lambda", "adamw_plateau"])
def test_the_notes_pytorch_loop_trains_as_pytorch(opt, sched):
    X, y = _data(n=40)
    ours, theirs = _Programs.net(ctorch.nn), _Programs.net(torch.nn)
    assert repr(ours) == repr(theirs)
    for a, b in ((ours.fc1, theirs.fc1), (ours.fc2, theirs.fc2)):
        _copy_linear(a, b)

    def maker(T, text):
        if text is None:
            return None
        ns = {"optim": T.optim, "lr_scheduler": T.optim.lr_scheduler}
        prefix = "optim." if text[0] in "ASR" and "LR" not in text.split("(")[0] else "lr_scheduler."
        var = "p" if prefix == "optim." else "o"
        return eval(f"lambda {var}: {prefix}{text}", ns)
    r1 = _Programs.train(ctorch, ours, X, y, maker(ctorch, opt), maker(ctorch, sched))
    r2 = _Programs.train(torch, theirs, X, y, maker(torch, opt), maker(torch, sched))
    np.testing.assert_allclose(r1[0], r2[0], rtol=1e-4)
    np.testing.assert_allclose(r1[1], r2[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(r1[2], r2[2])


def test_module_prints_and_losses_as_pytorch():
    def mods(nn):
        return [nn.Linear(3, 4), nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1),
                nn.LeakyReLU(0.1), nn.ELU(), nn.Softplus(), nn.Identity(), nn.Flatten(), nn.Dropout(0.3),
                nn.LogSoftmax(dim=1), nn.GELU(), nn.SiLU(), nn.BatchNorm1d(3), nn.Conv2d(1, 8, 3, padding=1),
                nn.Conv2d(2, 4, (3, 2), stride=2, bias=False), nn.MaxPool2d(2), nn.AvgPool2d(2),
                nn.LSTM(3, 5, batch_first=True), nn.MSELoss(), nn.L1Loss(), nn.CrossEntropyLoss(), nn.BCELoss()]
    assert [repr(m) for m in mods(ctorch.nn)] == [repr(m) for m in mods(torch.nn)]
    seq_ours = ctorch.nn.Sequential(ctorch.nn.Linear(2, 3), ctorch.nn.ReLU(), ctorch.nn.Linear(3, 1))
    seq_theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert repr(seq_ours) == repr(seq_theirs)

    rng = np.random.default_rng(5)
    z = rng.standard_normal((6, 4))
    t = np.array([0, 3, 1, 1, 2, 0])
    pred, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    cases = [("L1Loss()", pred, target), ("HuberLoss(delta=0.5)", pred, target),
             ("SmoothL1Loss(beta=0.7)", pred, target), ("MSELoss(reduction='sum')", pred, target),
             ("NLLLoss()", z, t), ("CrossEntropyLoss(label_smoothing=0.1)", z, t),
             ("CrossEntropyLoss(weight=w)", z, t), ("BCEWithLogitsLoss(pos_weight=pw)", pred, (target > 0) * 1.0)]
    for text, a, b in cases:
        values = []
        for T in (ctorch, torch):
            ns = {"nn": T.nn, "w": T.tensor([1.0, 2.0, 0.5, 1.5], dtype=T.float64),
                  "pw": T.tensor([2.0, 0.5], dtype=T.float64)}
            x = T.tensor(a, dtype=T.float64, requires_grad=True)
            y = T.tensor(b, dtype=T.int64 if b.dtype.kind == "i" else T.float64)
            loss = eval(f"nn.{text}", ns)(x, y)
            loss.backward()
            values.append((loss.item(), np.asarray(x.grad)))
        assert values[0][0] == pytest.approx(values[1][0], rel=1e-10), text
        np.testing.assert_allclose(values[0][1], values[1][1], rtol=1e-9, atol=1e-12, err_msg=text)


def test_top_level_functions_and_init_as_pytorch():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    ours, theirs = ctorch.tensor(x), torch.tensor(x)
    for fn in (lambda T, v: T.max(v, 1), lambda T, v: T.min(v, dim=0, keepdim=True), lambda T, v: T.argmax(v, dim=1),
               lambda T, v: T.var(v, 1), lambda T, v: T.std(v), lambda T, v: T.cat([v, v], dim=1),
               lambda T, v: T.stack([v, v], 2), lambda T, v: T.sum(v, dim=0), lambda T, v: T.arange(5),
               lambda T, v: T.softmax(v, dim=1), lambda T, v: v.unsqueeze(0).size(), lambda T, v: v.view(3, 2),
               lambda T, v: T.transpose(v, 0, 1), lambda T, v: T.sort(v, dim=1, descending=True)):
        a, b = fn(ctorch, ours), fn(torch, theirs)
        if isinstance(b, tuple) and hasattr(b, "values"):
            np.testing.assert_allclose(a.values.numpy(), b.values.numpy())
            np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
        elif isinstance(b, torch.Size):
            assert tuple(a) == tuple(b)
        else:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
            assert str(a.dtype) == str(b.dtype).replace("torch.", "")
    for name, param in (("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2), ("selu", None)):
        assert ctorch.nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    assert repr(ctorch.tensor([[1, 2], [3, 4]])) == repr(torch.tensor([[1, 2], [3, 4]]))


def _recorder(callbacks):
    """A Keras callback that records every hook it is called with: (hook, index, logs rounded)."""
    events = []

    def put(name, index, logs):
        if logs is not None and "outputs" in logs:
            logs = {"outputs": np.round(np.asarray(logs["outputs"], np.float64), 5).tolist()}
        elif logs is not None:
            logs = {k: round(float(v), 5) for k, v in sorted(logs.items())}
        events.append((name, index, logs))

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None):
            put("train_begin", None, logs)
            events.append(("params", None, {k: self.params[k] for k in ("epochs", "steps")}))

        def on_train_end(self, logs=None):
            put("train_end", None, logs)

        def on_epoch_begin(self, epoch, logs=None):
            put("epoch_begin", epoch, logs)

        def on_epoch_end(self, epoch, logs=None):
            put("epoch_end", epoch, logs)

        def on_train_batch_begin(self, batch, logs=None):
            put("train_batch_begin", batch, logs)

        def on_train_batch_end(self, batch, logs=None):
            put("train_batch_end", batch, logs)

    for hook in ("test_begin", "test_end", "predict_begin", "predict_end"):
        setattr(Recorder, f"on_{hook}", lambda self, logs=None, _h=hook: put(_h, None, logs))
    for hook in ("test_batch_begin", "test_batch_end", "predict_batch_begin", "predict_batch_end"):
        setattr(Recorder, f"on_{hook}", lambda self, batch, logs=None, _h=hook: put(_h, batch, logs))
    return Recorder(), events


def test_callbacks_see_the_hooks_and_logs_keras_gives_them(keras):
    """fit (with validation), evaluate and predict call a Keras callback's hooks in Keras 3's order, with
    Keras' logs: the running means of the epoch after each training batch, the last epoch's logs at the
    end, the test hooks around the validation, batches of 32 in evaluate and predict."""
    X, y = _data(n=70)
    Xv, yv = X[:40] + 0.1, y[:40]
    got = []
    for L, M, O, C in ((cl, cm, co, ckeras.callbacks),
                       (keras.layers, keras.models, keras.optimizers, keras.callbacks)):
        model = M.Sequential([L.Input(shape=(2,)), L.Dense(3, activation="tanh"), L.Dense(1, activation="sigmoid")])
        if L is cl:
            init = model.get_weights()
        else:
            model.set_weights(init)
        model.compile(optimizer=O.SGD(learning_rate=0.5), loss="binary_crossentropy", metrics=["accuracy"])
        rec, events = _recorder(C)
        model.fit(X, y, epochs=2, batch_size=25, shuffle=False, verbose=0, validation_data=(Xv, yv),
                  callbacks=[rec])
        model.evaluate(X, y, verbose=0, callbacks=[rec])
        model.predict(X[:35], verbose=0, callbacks=[rec])
        got.append(events)
    ours_events, keras_events = got
    assert [e[:2] for e in ours_events] == [e[:2] for e in keras_events]
    assert len([e for e in ours_events if e[0] == "train_batch_end"]) == 6        # 3 batches, 2 epochs
    assert len([e for e in ours_events if e[0] == "test_batch_end"]) == 2 * 2 + 3  # validation of 40, evaluate of 70
    assert len([e for e in ours_events if e[0] == "predict_batch_end"]) == 2       # 35 samples in batches of 32
    for a, b in zip(ours_events, keras_events):
        if a[2] is None or b[2] is None:
            assert a[2] is None and b[2] is None, (a, b)
            continue
        assert a[2].keys() == b[2].keys(), (a, b)
        for k in a[2]:
            np.testing.assert_allclose(a[2][k], b[2][k], rtol=1e-3, atol=2e-5, err_msg=f"{a[0]} {a[1]} {k}")


def test_lambda_callback_takes_keras_hooks_by_name(keras):
    X, y = _data(n=20)
    got = []
    for L, M, C in ((cl, cm, ckeras.callbacks), (keras.layers, keras.models, keras.callbacks)):
        model = M.Sequential([L.Input(shape=(2,)), L.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        seen = []
        cb = C.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                              on_train_batch_begin=lambda batch, logs: seen.append(("b", batch)),
                              on_epoch_end=lambda epoch, logs: seen.append(("e", epoch, sorted(logs))),
                              on_test_begin=lambda logs: seen.append("test"),
                              on_predict_batch_end=lambda batch, logs: seen.append(("p", batch)))
        model.fit(X, y, epochs=2, batch_size=10, verbose=0, callbacks=[cb])
        model.evaluate(X, y, verbose=0, callbacks=[cb])
        model.predict(X, verbose=0, callbacks=[cb])
        got.append(seen)
    assert got[0] == got[1]
    with pytest.raises(TypeError, match="on_epoch_ends"):
        ckeras.callbacks.LambdaCallback(on_epoch_ends=print)


# ------------------------------------------------------------------ random programs
def _random_keras_program(r):
    """A random Keras model and fit: the task and its loss, optimizer, hidden activations, BatchNormalization,
    weight and activity regularizers, sample or class weights, a validation split, a learning-rate callback."""
    task = r.choice(["regression", "binary", "binary_logits", "categorical", "sparse", "sparse_logits"])
    optimizer = r.choice(["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop", "adagrad"])
    acts = [r.choice(["relu", "tanh", "sigmoid", "elu", "selu", "softplus", "gelu", "swish", "linear"])
            for _ in range(r.randint(0, 2))]
    return dict(task=task, optimizer=optimizer, acts=acts, bn=r.random() < 0.3,
                reg=r.choice([None, None, "l2", "l1", "l1_l2"]), activity=r.random() < 0.2,
                weights=r.choice([None, "sample", "class"]), split=r.choice([0.0, 0.25]), batch=r.choice([4, 5, 16]),
                callback=r.choice([None, "early_stopping", "plateau", "schedule"]))


@pytest.mark.parametrize("seed", range(8))
def test_random_keras_programs_train_as_keras_3(keras, seed):
    """Random dense programs (see _random_keras_program) from Keras' initial weights: the same predictions,
    evaluate, every history entry (loss, metrics, val_ and learning_rate) and the same weights after 4 epochs."""
    import random
    from tests.nn.layer_checks import keras_pair
    p = _random_keras_program(random.Random(seed))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 4)).astype(np.float32)
    task = p["task"]
    if task == "regression":
        Y, units, out_act, loss, metrics = rng.standard_normal((20, 2)).astype(np.float32), 2, None, "mse", ["mae"]
    elif task.startswith("binary"):
        Y, units = rng.integers(0, 2, (20, 1)).astype(np.float32), 1
        out_act, loss, metrics = (None, "logits", []) if task == "binary_logits" else ("sigmoid", "binary_crossentropy",
                                                                                      ["accuracy"])
    elif task == "categorical":
        Y, units, out_act, loss, metrics = (np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)], 3, "softmax",
                                            "categorical_crossentropy", ["accuracy"])
    else:
        Y, units = rng.integers(0, 3, 20), 3
        out_act, loss, metrics = (None, "logits", []) if task == "sparse_logits" else (
            "softmax", "sparse_categorical_crossentropy", ["accuracy"])

    def build(L, M):
        from chainrule import keras as ck
        lib = ck if L is ck.layers else keras
        R, O = lib.regularizers, lib.optimizers
        layers = [L.Input((4,))]
        for act in p["acts"]:
            reg = None if p["reg"] is None else \
                R.L1L2(l1=0.01, l2=0.02) if p["reg"] == "l1_l2" else getattr(R, p["reg"])()
            layers.append(L.Dense(5, activation=act, kernel_regularizer=reg,
                                  activity_regularizer=R.l2(0.01) if p["activity"] else None))
            if p["bn"]:
                layers.append(L.BatchNormalization())
        layers.append(L.Dense(units, activation=out_act))
        model = M.Sequential(layers)
        opt = {"sgd": lambda: O.SGD(0.05), "sgd_momentum": lambda: O.SGD(0.05, momentum=0.9),
               "sgd_nesterov": lambda: O.SGD(0.05, momentum=0.9, nesterov=True), "adam": lambda: O.Adam(0.01),
               "adamw": lambda: O.AdamW(0.01), "rmsprop": lambda: O.RMSprop(0.01),
               "adagrad": lambda: O.Adagrad(0.05)}[p["optimizer"]]()
        fn = loss
        if loss == "logits":
            fn = (lib.losses.BinaryCrossentropy if task == "binary_logits" else
                  lib.losses.SparseCategoricalCrossentropy)(from_logits=True)
        model.compile(optimizer=opt, loss=fn, metrics=metrics)
        return model
    ours, theirs = keras_pair(keras, build)
    w = rng.uniform(0.0, 2.0, 20).astype(np.float32) if p["weights"] == "sample" else None
    cw = None
    if p["weights"] == "class" and task in ("binary", "categorical", "sparse"):
        cw = {0: 2.0, 1: 0.5} if task == "binary" else {0: 2.0, 1: 0.5, 2: 1.5}
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-5)
    np.testing.assert_allclose(ours.evaluate(X, Y, sample_weight=w, batch_size=p["batch"], verbose=0),
                               theirs.evaluate(X, Y, sample_weight=w, batch_size=p["batch"], verbose=0),
                               rtol=1e-4, atol=1e-6)

    def callbacks(C):
        monitor = "val_loss" if p["split"] else "loss"
        return {None: [], "early_stopping": [C.EarlyStopping(monitor=monitor, patience=1, min_delta=1e-3,
                                                             restore_best_weights=True)],
                "plateau": [C.ReduceLROnPlateau(monitor=monitor, patience=0, factor=0.5, min_delta=1e-2)],
                "schedule": [C.LearningRateScheduler(lambda epoch, lr: lr * 0.7)]}[p["callback"]]
    fits = [m.fit(X, Y, sample_weight=w, class_weight=cw, validation_split=p["split"], epochs=4, batch_size=p["batch"],
                  shuffle=False, verbose=0, callbacks=callbacks(C)).history
            for m, C in ((ours, ckeras.callbacks), (theirs, keras.callbacks))]
    assert sorted(fits[0]) == sorted(fits[1])
    for key in fits[1]:
        np.testing.assert_allclose(np.asarray(fits[0][key], float), np.asarray(fits[1][key], float), rtol=2e-4,
                                   atol=1e-6, err_msg=f"{p} {key}")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5, err_msg=str(p))


@pytest.mark.parametrize("seed", range(8))
def test_random_pytorch_training_loops_step_as_pytorch(seed):
    """A random PyTorch loop (optimizer, learning-rate scheduler, loss, activation) on chainrule.torch from the
    same weights, in float64: the same loss at every step and the same weights after each of 5 steps (1e-8)."""
    import random
    import chainrule as cr
    r = random.Random(seed)
    opt_name = r.choice(["SGD", "SGD_momentum", "SGD_nesterov", "SGD_decay", "Adam", "Adam_decay", "AdamW", "RMSprop",
                         "RMSprop_momentum", "Adagrad"])
    sched = r.choice([None, "StepLR", "ExponentialLR", "MultiStepLR", "CosineAnnealingLR", "LambdaLR",
                      "ReduceLROnPlateau"])
    loss_name = r.choice(["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
                          "CrossEntropyLoss_weight", "CrossEntropyLoss_smoothing", "CrossEntropyLoss_sum", "NLLLoss"])
    act = r.choice(["ReLU", "Tanh", "Sigmoid", "GELU", "ELU", "LeakyReLU", "SiLU", "Softplus"])
    nets = [lib.nn.Sequential(lib.nn.Linear(4, 6), getattr(lib.nn, act)(), lib.nn.Linear(6, 3))
            for lib in (torch, ctorch)]
    theirs, ours = nets[0].double(), nets[1]
    for i in (0, 2):
        ours[i].kernel.data = theirs[i].weight.detach().numpy().T.copy()
        ours[i].bias.data = theirs[i].bias.detach().numpy().copy()

    def optimizer(lib, params):
        O = lib.optim
        return {"SGD": lambda: O.SGD(params, lr=0.1), "SGD_momentum": lambda: O.SGD(params, lr=0.1, momentum=0.9),
                "SGD_nesterov": lambda: O.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
                "SGD_decay": lambda: O.SGD(params, lr=0.1, momentum=0.5, weight_decay=0.01),
                "Adam": lambda: O.Adam(params, lr=0.01),
                "Adam_decay": lambda: O.Adam(params, lr=0.01, weight_decay=0.1),
                "AdamW": lambda: O.AdamW(params, lr=0.01), "RMSprop": lambda: O.RMSprop(params, lr=0.01),
                "RMSprop_momentum": lambda: O.RMSprop(params, lr=0.01, momentum=0.5),
                "Adagrad": lambda: O.Adagrad(params, lr=0.1)}[opt_name]()

    def scheduler(lib, opt):
        S = lib.optim.lr_scheduler
        return None if sched is None else {
            "StepLR": lambda: S.StepLR(opt, step_size=2, gamma=0.5), "ExponentialLR": lambda: S.ExponentialLR(opt, 0.8),
            "MultiStepLR": lambda: S.MultiStepLR(opt, milestones=[1, 3], gamma=0.3),
            "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, T_max=4),
            "LambdaLR": lambda: S.LambdaLR(opt, lambda epoch: 1 / (1 + epoch)),
            "ReduceLROnPlateau": lambda: S.ReduceLROnPlateau(opt, patience=0, factor=0.5)}[sched]()

    def loss_fn(lib):
        L, name = lib.nn, loss_name.split("_")[0]
        extra = {"CrossEntropyLoss_smoothing": {"label_smoothing": 0.1}, "CrossEntropyLoss_sum": {"reduction": "sum"},
                 "CrossEntropyLoss_weight": {"weight": (torch.tensor if lib is torch else cr.tensor)(
                     np.array([1.0, 2.0, 0.5]))}}.get(loss_name, {})
        return getattr(L, name)(**extra)
    runs = []
    for lib, net in ((torch, theirs), (ctorch, ours)):
        opt = optimizer(lib, net.parameters())
        runs.append((lib, net, opt, scheduler(lib, opt), loss_fn(lib)))
    rng = np.random.default_rng(seed)
    for step in range(5):
        x = rng.standard_normal((8, 4))
        if loss_name.startswith("CrossEntropy") or loss_name == "NLLLoss":
            y = rng.integers(0, 3, 8)
        else:
            y = rng.integers(0, 2, (8, 3)).astype(float) if loss_name == "BCEWithLogitsLoss" else \
                rng.standard_normal((8, 3))
        values = []
        for lib, net, opt, sch, fn in runs:
            t = torch.tensor if lib is torch else (lambda a: cr.tensor(a, dtype="float64"))
            opt.zero_grad()
            out = net(t(x))
            if loss_name == "NLLLoss":
                out = lib.nn.functional.log_softmax(out, 1)
            loss = fn(out, torch.tensor(y) if lib is torch else (y if y.dtype.kind == "i" else t(y)))
            loss.backward()
            opt.step()
            values.append(float(loss.item()))
            if sch is not None:
                sch.step(values[-1]) if sched == "ReduceLROnPlateau" else sch.step()
        assert values[1] == pytest.approx(values[0], rel=1e-10), (opt_name, sched, loss_name, step)
        for i in (0, 2):
            np.testing.assert_allclose(ours[i].weight.data, theirs[i].weight.detach().numpy(), rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(ours[i].bias.data, theirs[i].bias.detach().numpy(), rtol=1e-8, atol=1e-10)
