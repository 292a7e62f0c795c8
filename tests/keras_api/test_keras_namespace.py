"""chainrule.keras: every name behaves as Keras' (the oracle comparisons are in tests/test_keras_torch_oracles.py)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.keras as keras
from chainrule import nn
from chainrule.keras import (activations, backend, callbacks, initializers, layers, losses, metrics, models,
                             optimizers, regularizers, utils)


@pytest.fixture(autouse=True)
def fresh_session():
    keras.backend.clear_session()
    cr.manual_seed(0)
    yield
    keras.backend.clear_session()


def _xy(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, (X.sum(1) > 0).astype(np.float32)


# ------------------------------------------------------------------ the same classes, Keras' names
def test_the_namespace_is_chainrules_classes():
    assert layers.Dense is nn.Dense and layers.Conv2D is nn.Conv2D and layers.LSTM is nn.LSTM
    assert models.Sequential is nn.Sequential and models.Model is nn.Model and keras.Input is nn.Input
    assert issubclass(layers.LeakyReLU, nn.LeakyReLU) and layers.LeakyReLU().kwargs["alpha"] == 0.3
    assert layers.Softmax(axis=1).kwargs == {"axis": 1} and layers.MaxPool2D is layers.MaxPooling2D


def test_automatic_names_count_per_class_until_clear_session():
    names = [layers.Dense(2).name for _ in range(3)] + [layers.MaxPooling2D().name, layers.SimpleRNN(2).name,
                                                        layers.BatchNormalization().name, layers.LeakyReLU().name]
    assert names == ["dense", "dense_1", "dense_2", "max_pooling2d", "simple_rnn", "batch_normalization",
                     "leaky_re_lu"]
    assert layers.Dense(2, name="hidden").name == "hidden" and layers.Dense(2).name == "dense_3"
    assert models.Sequential().name == "sequential" and models.Sequential().name == "sequential_1"
    backend.clear_session()
    assert layers.Dense(2).name == "dense"
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        layers.Dense(2, name="")


def test_layer_arguments_of_every_layer():
    d = layers.Dense(units=250 / 2, input_shape=(3,), name="h")          # tf.keras 2 took a whole float
    assert d.units == 125 and d.kernel.shape == (3, 125) and d.input_shape == (None, 3)
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.Dense(2.5)
    with pytest.raises(TypeError, match="unrecognized keyword arguments"):
        layers.Dense(2, colour="red")
    assert layers.Conv2D(4, 3, input_shape=(8, 8, 1), name="c").output_shape == (None, 6, 6, 4)
    assert layers.Dropout(0.5, name="drop").name == "drop" and layers.Flatten(name="f").name == "f"
    r = layers.SimpleRNN(3, batch_input_shape=(4, 5, 2))
    assert r.input_shape == (4, 5, 2) and r.batch_size == 4
    frozen = layers.Dense(2, input_dim=3, trainable=False)
    assert not frozen.kernel.requires_grad and frozen.trainable_weights == [] and len(frozen.weights) == 2
    with pytest.raises(NotImplementedError, match="synchronized=True"):
        layers.BatchNormalization(synchronized=True)


def test_layer_weights_get_and_set():
    d = layers.Dense(2, input_dim=3)
    w = [np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])]
    d.set_weights(w)
    np.testing.assert_array_equal(d.get_weights()[0], w[0])
    bn = layers.BatchNormalization(input_dim=2)
    assert [a.shape for a in bn.get_weights()] == [(2,), (2,), (2,), (2,)]
    with pytest.raises(ValueError, match="expected 2 arrays"):
        d.set_weights(w[:1])


# ------------------------------------------------------------------ the functional API
def test_functional_model_several_inputs_outputs_and_shared_layers():
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(layers.Dense(4, name="pa")(a)), shared(layers.Dense(4, name="pb")(b))
    merged = layers.Concatenate(name="cat")([ha, hb])
    out1 = layers.Dense(1, name="out1")(merged)
    out2 = layers.Dense(2, activation="softmax", name="out2")(layers.Add()([ha, hb]))
    model = models.Model(inputs=[a, b], outputs=[out1, out2])
    assert [layer.name for layer in model.layers] == ["a", "b", "pa", "pb", "shared", "cat", "add", "out1", "out2"]
    assert model.output_names == ["out1", "out2"] and merged.shape == (None, 8)
    x1, x2 = np.ones((5, 3), np.float32), np.full((5, 2), 0.5, np.float32)
    o1, o2 = model.predict([x1, x2])
    assert o1.shape == (5, 1) and o2.shape == (5, 2)
    h = np.tanh((x1 @ model.get_layer("pa").kernel.data) @ shared.kernel.data)  # biases start at 0
    h2 = np.tanh((x2 @ model.get_layer("pb").kernel.data) @ shared.kernel.data)
    np.testing.assert_allclose(o1, np.concatenate([h, h2], 1) @ model.get_layer("out1").kernel.data, rtol=1e-5)
    np.testing.assert_allclose(model.predict({"a": x1, "b": x2})[0], o1)
    assert len(shared._inbound_nodes) == 2 and shared.output is ha      # a shared layer: its first call's
    with pytest.raises(AttributeError, match="has not been called on a symbolic input"):
        layers.Dense(2).output
    text = model.summary(print_fn=None)
    assert "Connected to" in text and "shared (Dense)" in text and 'Model: "functional"' in text


def test_sequential_input_output_and_a_model_of_its_hidden_layer():
    model = models.Sequential()
    model.add(layers.Dense(units=4, input_shape=(2,), activation="sigmoid", name="hidden"))
    model.add(layers.Dense(units=1, activation="sigmoid", name="output"))
    hidden = models.Model(inputs=model.input, outputs=model.get_layer("hidden").output)
    X = np.random.default_rng(1).random((7, 2)).astype(np.float32)
    k = model.get_layer("hidden")
    np.testing.assert_allclose(hidden.predict(X), 1 / (1 + np.exp(-(X @ k.kernel.data + k.bias.data))), rtol=1e-5)
    assert model.output.shape == (None, 1) and model.get_layer(index=1).name == "output"
    with pytest.raises(ValueError, match="no layer named 'hiden'"):
        model.get_layer("hiden")
    assert models.Sequential([keras.Input(shape=(3,)), layers.Dense(2)]).layers[0].kernel.shape == (3, 2)


def test_sequential_build_creates_the_weights_for_a_batch_shape():
    model = models.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    assert model.build((None, 3)) == (None, 2)
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]
    assert model.input.shape == (None, 3) and model.output.shape == (None, 2)
    X = np.ones((5, 3), np.float32)
    k0, b0, k1, b1 = model.get_weights()
    np.testing.assert_allclose(model.predict(X, verbose=0), np.maximum(X @ k0 + b0, 0) @ k1 + b1, rtol=1e-5)
    known = models.Sequential([layers.Dense(2, input_shape=(6,))])
    known.build()
    assert known.layers[0].kernel.shape == (6, 2)
    for bad in ((3,), "3", (None, 0), (None, 2.5)):
        with pytest.raises(ValueError, match=r"batch axis first.*got"):
            models.Sequential([layers.Dense(2)]).build(bad)
    with pytest.raises(ValueError, match=r"input shape is unknown.*model.build\(\(None, 784\)\)"):
        models.Sequential([layers.Dense(2)]).build()


def test_model_optimizer_is_the_compiled_one_and_can_be_replaced():
    X, y = _xy(n=16)
    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    assert model.optimizer is None
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert isinstance(model.optimizer, optimizers.Adam) and model.optimizer.lr == pytest.approx(1e-3)
    assert model.optimizer.defaults["eps"] == pytest.approx(1e-7)          # Keras' epsilon, not PyTorch's
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    assert isinstance(model.optimizer, optimizers.RMSprop)
    model.compile(optimizer="momentum", loss="binary_crossentropy")   # the notes' own names still resolve
    assert isinstance(model.optimizer, cr.optim.Momentum)
    sgd = optimizers.SGD(learning_rate=0.0)
    model.optimizer = sgd
    before = [w.copy() for w in model.get_weights()]
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert model.optimizer is sgd and all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(TypeError, match="expected an Optimizer.*got str"):
        model.optimizer = "adam"
    with pytest.raises(NotImplementedError, match="Keras optimizer 'nadam'"):
        model.compile(optimizer="nadam", loss="mse")

    class Net(nn.Module):          # a PyTorch-style module keeps the optimizer it assigns itself
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)
            self.optimizer = cr.optim.SGD(self.parameters(), lr=0.1)
    net = Net()
    assert isinstance(net.optimizer, cr.optim.SGD) and net.optimizer.params[0] is net.parameters()[0]


def test_graph_errors_name_the_problem():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    out = layers.Add()([layers.Dense(2)(a), layers.Dense(2)(b)])
    with pytest.raises(ValueError, match="graph disconnected"):
        models.Model(inputs=a, outputs=out)
    with pytest.raises(ValueError, match="two layers are named 'x'"):
        inp = keras.Input(shape=(2,))
        models.Model(inp, layers.Dense(1, name="x")(layers.Dense(2, name="x")(inp)))
    with pytest.raises(NotImplementedError, match="arithmetic"):
        a + b
    m = models.Model(a, layers.Dense(1)(a))
    with pytest.raises(ValueError, match=r"expects arrays of shape \(None, 2\).*got shape \(3, 2, 2\)"):
        m.predict(np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match="cannot be called on symbolic input"):
        layers.Conv2D(2, 3)(keras.Input(shape=(5,)))


def test_keras_rank_adjustment_of_a_trailing_axis_of_one():
    inp = keras.Input(batch_shape=(None, 1, 1))
    model = models.Model(inputs=[inp], outputs=[layers.Dense(1)(layers.SimpleRNN(3)(inp))])
    assert model.predict(np.ones((4, 1))).shape == (4, 1)                  # (4, 1) -> (4, 1, 1), as Keras


def test_functional_model_saves_and_loads(tmp_path):
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    h = layers.Dense(4, activation="relu", name="h")(layers.Concatenate()([a, b]))
    model = models.Model([a, b], [layers.Dense(1, name="y1")(h), layers.Dense(1, name="y2")(h)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    X = [np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)]
    model.fit(X, [np.ones((8, 1)), np.zeros((8, 1))], epochs=2, verbose=0)
    path = model.save(tmp_path / "functional.keras")
    again = models.load_model(path)
    for p, q in zip(model.predict(X), again.predict(X)):
        np.testing.assert_array_equal(p, q)
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    assert again.summary(print_fn=None) == model.summary(print_fn=None)
    assert layers.Dense(2).name == "dense"         # loading moved no name counter


def test_a_model_called_as_a_layer_and_a_subclassed_model():
    inner_in = keras.Input(shape=(2,))
    inner = models.Model(inner_in, layers.Dense(3, name="d3")(inner_in), name="inner")
    x = keras.Input(shape=(2,))
    outer = models.Model(x, layers.Dense(1)(inner(x)))
    assert outer.predict(np.ones((4, 2))).shape == (4, 1) and "inner (Model)" in outer.summary(print_fn=None)

    class TwoLayer(models.Model):
        def __init__(self):
            super().__init__()
            self.d1 = layers.Dense(4, activation="relu")
            self.d2 = layers.Dense(1)

        def call(self, inputs, training=False):
            return self.d2(self.d1(inputs))
    m = TwoLayer()
    assert m.name == "two_layer"
    m.compile(optimizer="sgd", loss="mse")
    X, y = _xy()
    h = m.fit(X, y, epochs=2, batch_size=16, verbose=0)
    assert h.history["loss"][1] < h.history["loss"][0] and m(X).shape == (64, 1)


# ------------------------------------------------------------------ compile / fit / evaluate / predict
def test_evaluate_returns_what_keras_returns():
    X, y = _xy()
    model = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mse"])
    model.fit(X, y, epochs=1, verbose=0)
    scores = model.evaluate(X, y, verbose=0)
    logs = model.evaluate(X, y, verbose=0, return_dict=True)
    assert isinstance(scores, list) and scores == [logs["loss"], logs["accuracy"], logs["mse"]]
    loss, acc, mse = model.evaluate(X, y, verbose=0)
    assert model.metrics_names == ["loss", "accuracy", "mse"] and 0 <= acc <= 1
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert isinstance(model.evaluate(X, y, verbose=0), float)


def test_fit_batch_size_none_means_32_and_keras_argument_order():
    X, y = _xy(n=70)
    model = models.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    h = model.fit(X, y, None, 2, 0)       # x, y, batch_size, epochs, verbose: Keras' positions
    assert h.params["batch_size"] == 32 and h.params["steps"] == 3 and len(h.history["loss"]) == 2


def test_fit_on_a_generator_a_dataloader_and_a_pydataset():
    from chainrule.data import DataLoader, TensorDataset
    X, y = _xy(n=40)

    def batches():
        for i in range(0, 40, 10):
            yield X[i:i + 10], y[i:i + 10]

    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", metrics=["accuracy"])
    w0 = model.get_weights()
    h1 = model.fit(batches(), epochs=1, verbose=0)
    model.set_weights(w0)
    h2 = model.fit(X, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    assert h1.history["loss"] == pytest.approx(h2.history["loss"])      # the same batches, the same steps
    with pytest.warns(UserWarning, match="ran out of data"):
        h3 = model.fit(batches(), epochs=3, verbose=0)
    assert len(h3.history["loss"]) == 1
    h4 = model.fit(DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True), epochs=3,
                   validation_data=(X, y), verbose=0)
    assert len(h4.history["val_accuracy"]) == 3

    class Batches(utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return X[10 * i:10 * i + 10], y[10 * i:10 * i + 10]
    assert len(model.fit(Batches(), epochs=2, verbose=0).history["loss"]) == 2
    loss = model.evaluate(DataLoader(TensorDataset(X, y), batch_size=7), verbose=0)
    assert loss[0] == pytest.approx(model.evaluate(X, y, verbose=0)[0], rel=1e-5)
    assert model.predict(batches()).shape == (40, 1)
    with pytest.raises(ValueError, match="y must be None"):
        model.fit(batches(), y)


def test_activity_regularizer_adds_its_penalty_over_the_batch_size():
    X, y = _xy(n=16)
    model = models.Sequential([layers.Dense(3, input_shape=(3,), activity_regularizer=regularizers.l1(0.1),
                                            name="h"), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    plain = float(losses.MeanSquaredError()(y, model.predict(X)))
    a = X @ model.get_layer("h").kernel.data
    assert model.evaluate(X, y, verbose=0) == pytest.approx(plain + 0.1 * np.abs(a).sum() / 16, rel=1e-5)
    assert model.evaluate(X, y, batch_size=4, verbose=0) == pytest.approx(model.evaluate(X, y, verbose=0), rel=1e-5)
    assert len(model.losses) == 1


def test_several_outputs_train_with_a_loss_each():
    inp = keras.Input(shape=(3,))
    h = layers.Dense(8, activation="tanh")(inp)
    model = models.Model(inp, [layers.Dense(1, name="reg")(h), layers.Dense(2, activation="softmax", name="cls")(h)])
    model.compile(optimizer=optimizers.Adam(0.05), loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  metrics={"cls": ["accuracy"]})
    X, y = _xy(n=128)
    h = model.fit(X, [X.sum(1), y.astype(int)], epochs=20, batch_size=32, verbose=0)
    assert set(h.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    assert h.history["cls_accuracy"][-1] > 0.9
    assert model.metrics_names == ["loss", "reg_loss", "cls_loss", "cls_accuracy"]
    loss, reg, cls, acc = model.evaluate(X, [X.sum(1), y.astype(int)], verbose=0)
    assert loss == pytest.approx(reg + cls, rel=1e-5)


# ------------------------------------------------------------------ optimizers, losses, metrics
def test_optimizers_take_learning_rate_and_lr_and_keras_update_rules():
    from chainrule.nn import Parameter
    for opt in (optimizers.SGD(lr=0.1), optimizers.SGD(learning_rate=0.1)):
        assert opt.learning_rate == 0.1
    opt = optimizers.Adam(learning_rate=0.1)
    opt.learning_rate = 0.2
    assert opt.lr == 0.2 and opt.defaults["eps"] == 1e-7
    # one Adam step by hand, Keras' rule: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1
    p = Parameter(np.array([1.0, 1.0]))
    opt = optimizers.Adam(learning_rate=0.1, epsilon=0.01).bind([p])
    p.grad = np.array([3.0, -0.02])
    opt.step()
    m, v, alpha = 0.1 * p.grad, 0.001 * p.grad ** 2, 0.1 * np.sqrt(0.001) / 0.1
    np.testing.assert_allclose(p.data, 1 - alpha * m / (np.sqrt(v) + 0.01), rtol=1e-12)
    for cls, expected in ((optimizers.RMSprop, lambda g: 1 - 0.1 * g / np.sqrt(0.1 * g * g + 1e-7)),
                          (optimizers.Adagrad, lambda g: 1 - 0.1 * g / np.sqrt(0.1 + g * g + 1e-7))):
        p = Parameter(np.array([1.0, 1.0]))
        opt = cls(learning_rate=0.1).bind([p])
        p.grad = np.array([2.0, -0.5])
        opt.step()
        np.testing.assert_allclose(p.data, expected(np.array([2.0, -0.5])), rtol=1e-12)
    assert optimizers.get("adam").__class__ is optimizers.Adam
    with pytest.raises(NotImplementedError, match="amsgrad"):
        optimizers.Adam(amsgrad=True)
    with pytest.raises(NotImplementedError, match="keras.optimizers.Nadam"):
        optimizers.Nadam()
    assert cr.optim.from_config(optimizers.Adam(0.3).get_config()).__class__ is optimizers.Adam
    s = optimizers.schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5)
    t = optimizers.schedules.InverseTimeDecay(1.0, decay_steps=10, decay_rate=0.5)
    assert s(10) == pytest.approx(0.5) and t(20) == pytest.approx(1 / (1 + 0.5 * 2))


def test_keras_loss_classes_divide_by_every_per_step_loss_of_a_sequence():
    """Keras' 'sum_over_batch_size' over a sequence output: the weighted per-step losses (batch, time) summed
    and divided by batch x time; one weight per sample applies to each of its steps."""
    rng = np.random.default_rng(0)
    yt, yp = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    per = ((yt - yp) ** 2).mean(axis=-1)
    w, w1 = rng.uniform(0, 2, (3, 4)), rng.uniform(0, 2, 3)
    mse = losses.MeanSquaredError()
    assert float(mse(yt, yp, sample_weight=w)) == pytest.approx((w * per).sum() / 12)
    assert float(mse(yt, yp, sample_weight=w1)) == pytest.approx((w1[:, None] * per).sum() / 12)
    assert float(losses.MeanSquaredError(reduction="sum")(yt, yp, sample_weight=w)) == pytest.approx((w * per).sum())
    with pytest.raises(ValueError, match=r"sample_weight of shape \(2,\) does not fit the per-sample losses of "
                                         r"shape \(3, 4\)"):
        mse(yt, yp, sample_weight=[1.0, 2.0])


def test_losses_per_sample_functions_and_keras_classes():
    yt, yp = np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(losses.mean_squared_error(yt, yp), [0.5, 2.0])
    np.testing.assert_allclose(losses.mse(yt, yp), [0.5, 2.0])
    assert float(losses.MeanSquaredError()(yt, yp)) == pytest.approx(1.25)
    assert float(losses.MeanSquaredError(reduction="sum")(yt, yp)) == pytest.approx(2.5)
    np.testing.assert_allclose(losses.MeanAbsoluteError(reduction=None)(yt, yp), [0.5, 1.0])
    assert float(losses.MeanSquaredError()(yt, yp, sample_weight=[1.0, 0.0])) == pytest.approx(0.25)  # / n
    np.testing.assert_allclose(losses.huber(yt, yp), [0.25, 0.75])
    assert float(losses.Huber()(yt, yp)) == pytest.approx(0.5)
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(scce([1], [[0.0, 0.0]])) == pytest.approx(np.log(2))
    assert cr.losses.get(losses.mean_squared_error) is cr.losses.mean_squared_error
    with pytest.raises(NotImplementedError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=0.1)
    with pytest.raises(NotImplementedError, match="keras.losses.KLDivergence"):
        losses.KLDivergence()


def test_stateful_metrics_and_compile_with_metric_objects():
    m = metrics.BinaryAccuracy()
    assert m([1, 0], [0.9, 0.8]) == 0.5 and m([1, 1], [0.9, 0.8]) == 0.75   # running over 4 samples
    m.reset_state()
    assert m.result() == 0.0
    assert metrics.Mean()([1.0, 3.0]) == 2.0 and metrics.R2Score()([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    X, y = _xy()
    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[metrics.BinaryAccuracy(name="acc")])
    h = model.fit(X, y, epochs=1, verbose=0)
    assert set(h.history) == {"loss", "acc"}


def test_regularizers_initializers_activations():
    w = cr.tensor(np.array([[1.0, -2.0]]))
    assert float(regularizers.l2(l2=0.5)(w)) == pytest.approx(2.5)
    assert float(regularizers.L1(0.1)(w)) == pytest.approx(0.3)
    assert float(regularizers.l1_l2(l1=0.1, l2=0.5)(w)) == pytest.approx(2.8)
    big = (400, 300)
    for init, var in ((initializers.GlorotNormal(seed=1), 2 / 700), (initializers.HeNormal(seed=1), 2 / 400),
                      (initializers.LecunNormal(seed=1), 1 / 400)):
        w = init(big)
        assert w.var() == pytest.approx(var, rel=0.03) and np.abs(w).max() <= 2 * np.sqrt(var) / 0.8796 + 1e-9
    assert np.array_equal(initializers.RandomNormal(seed=3)((2, 2)), initializers.RandomNormal(seed=3)((2, 2)))
    assert initializers.RandomNormal()((1000,)).std() == pytest.approx(0.05, rel=0.1)
    u = initializers.RandomUniform(-0.1, 0.1)((1000,))
    assert u.min() >= -0.1 and u.max() <= 0.1 and initializers.get("he_normal").__class__ is initializers.HeNormal
    layer = layers.Dense(3, input_dim=2, kernel_initializer=initializers.Constant(0.5))
    assert np.all(layer.kernel.data == 0.5)
    x = np.array([-1.0, 2.0])
    np.testing.assert_allclose(activations.leaky_relu(x), [-0.2, 2.0])
    assert activations.get("relu") is cr.relu and activations.serialize(activations.linear) == "linear"
    np.testing.assert_allclose(activations.hard_sigmoid(np.array([0.0, 4.0])), [0.5, 1.0])


def test_callbacks_with_keras_signatures(tmp_path):
    X, y = _xy()
    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    seen = []

    class Count(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
    stop = callbacks.EarlyStopping("loss", 0.0, 1)          # monitor, min_delta, patience: Keras' order
    h = model.fit(X, y, epochs=10, batch_size=32, verbose=0,
                  callbacks=[stop, Count(), callbacks.CSVLogger(str(tmp_path / "log.csv")),
                             callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(("end", e)))])
    assert len(h.history["loss"]) == 2 and seen[:3] == [0, 1, ("end", 0)]
    assert (tmp_path / "log.csv").read_text().startswith("epoch,loss")
    plateau = callbacks.ReduceLROnPlateau("loss", 0.5, 0, 0)
    assert plateau.factor == 0.5 and plateau.patience == 0
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.npz"), monitor="loss", save_weights_only=True)
    model.fit(X, y, epochs=1, verbose=0, callbacks=[ckpt])
    assert (tmp_path / "m1.npz").exists()
    with pytest.raises(NotImplementedError, match="TensorBoard"):
        callbacks.TensorBoard()


def test_utils_datasets_and_backend(tmp_path, monkeypatch):
    y = utils.to_categorical([0, 2, 1])
    assert y.dtype == np.float64 and y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert utils.to_categorical(np.array([[1], [0]]), num_classes=3).shape == (2, 3)
    with pytest.raises(ValueError, match="does not fit num_classes"):
        utils.to_categorical([3], num_classes=2)
    model = models.Sequential([layers.Dense(2, input_shape=(3,), name="h"), layers.Dense(1, name="o")])
    text = utils.plot_model(model, to_file=str(tmp_path / "model.txt"), show_shapes=True)
    assert "h (Dense)  -> (None, 2)" in text and (tmp_path / "model.txt").read_text().strip() == text
    utils.plot_model(model, to_file=str(tmp_path / "model.png"))
    assert (tmp_path / "model.png").read_bytes()[:4] == b"\x89PNG"
    # the data sets: Keras' shapes and dtypes from stand-in files, a clear error without them
    from chainrule.datasets import write_idx
    for split, n in (("train", 3), ("t10k", 2)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", np.zeros((n, 28, 28), np.uint8))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8))
    (x, yy), (xt, yt) = keras.datasets.mnist.load_data(path=str(tmp_path))
    assert x.shape == (3, 28, 28) and x.dtype == np.uint8 and yy.dtype == np.uint8 and yt.tolist() == [0, 1]
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=yy, x_test=xt, y_test=yt)
    assert keras.datasets.mnist.load_data(str(tmp_path / "mnist.npz"))[0][0].shape == (3, 28, 28)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        np.concatenate([[7], np.zeros(3072)]).astype(np.uint8).tofile(tmp_path / name)
    (cx, cy), _ = keras.datasets.cifar10.load_data(path=str(tmp_path))
    assert cx.shape == (5, 32, 32, 3) and cy.shape == (5, 1) and cy.dtype == np.uint8
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("chainrule.datasets.files.DEBIAN_DATA_DIR", tmp_path / "debian")
    with pytest.raises(FileNotFoundError, match="(?s)Fashion-MNIST not found. Looked for.*none"):
        keras.datasets.fashion_mnist.load_data()
    # backend
    assert backend.epsilon() == 1e-7 and backend.floatx() == "float32" and backend.image_data_format() == \
        "channels_last"
    backend.set_floatx("float64")
    try:
        assert layers.Dense(2, input_dim=2).kernel.dtype == np.float64
    finally:
        backend.set_floatx("float32")
    assert backend.get_uid("x") == 1 and backend.get_uid("x") == 2


def test_missing_features_name_themselves():
    with pytest.raises(NotImplementedError, match="keras.layers.Conv3D"):
        layers.Conv3D(10, 2)
    # a program that imports a missing name without using it still runs; using it names the feature
    ns = {}
    exec("from chainrule.keras.layers import Conv3D", ns)
    with pytest.raises(NotImplementedError, match="keras.layers.Conv3D is not implemented"):
        ns["Conv3D"](10, 2)
    with pytest.raises(NotImplementedError, match="keras.ops.conv is not implemented in chainrule; use a Conv1D"):
        keras.ops.conv(np.ones((1, 3, 1)), np.ones((2, 1, 1)))
    # a name the namespace does not know at all: NotImplementedError naming it, and hasattr sees it missing
    with pytest.raises(NotImplementedError, match="keras.layers.NoSuchLayer is not implemented"):
        layers.NoSuchLayer
    assert not hasattr(layers, "NoSuchLayer") and hasattr(layers, "Conv3D")
    with pytest.raises(ImportError, match="NoSuchLayer"):
        exec("from chainrule.keras.layers import NoSuchLayer", {})
    m = models.Sequential([layers.Dense(2, activation="softmax", input_shape=(2,))])
    m.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="class_weight"):   # supported, and checked
        m.fit(np.ones((2, 2)), np.array([0, 1]), class_weight={0: -1.0}, verbose=0)
    import chainrule
    assert chainrule.keras is keras      # import chainrule as tf; tf.keras... (loaded on first use)


def test_pad_sequences_pads_and_cuts_as_keras(request):
    real_keras = request.getfixturevalue("keras")         # Keras 3 itself (this module's `keras` is chainrule's)
    from chainrule.keras.preprocessing.sequence import pad_sequences as tf_keras_2_path
    assert tf_keras_2_path is utils.pad_sequences
    cases = [([[1, 2, 3], [4], []], {}),
             ([[1, 2, 3], [4]], {"maxlen": 2, "truncating": "post", "padding": "post"}),
             ([[1, 2, 3], [4, 5]], {"maxlen": 5, "value": 9}),
             ([[[1, 2], [3, 4]], [[5, 6]]], {"dtype": "float32", "value": -1.0}),
             (np.array([[3, 1], [2, 2]]), {"maxlen": 1})]
    for seqs, kw in cases:
        ours, theirs = utils.pad_sequences(seqs, **kw), real_keras.utils.pad_sequences(seqs, **kw)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post', got 'left'"):
        utils.pad_sequences([[1]], padding="left")
    with pytest.raises(ValueError, match="maxlen must be a positive integer"):
        utils.pad_sequences([[1]], maxlen=0)
    with pytest.raises(ValueError, match="item 1 is int"):
        utils.pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="the items of sequence 1 have shape"):
        utils.pad_sequences([[[1, 2]], [[1, 2, 3]]])


def test_timeseries_dataset_windows_a_series_and_fit_trains_on_it():
    """Keras' timeseries_dataset_from_array (its own oracle needs TensorFlow): the windows and targets of its
    documented rule, and fit on the dataset takes the same steps as fit on the same windows as arrays."""
    series = np.sin(np.linspace(0, 12, 60)).astype(np.float32)[:, None]
    ds = utils.timeseries_dataset_from_array(series, series[4:, 0], sequence_length=4, batch_size=8)
    windows = np.stack([series[i:i + 4] for i in range(56)])
    assert len(ds) == 7
    xs, ys = zip(*[ds[i] for i in range(len(ds))])
    np.testing.assert_array_equal(np.concatenate(xs), windows)
    np.testing.assert_array_equal(np.concatenate(ys), series[4:, 0])
    # strides, sampling rate, bounds, shuffling as Keras shuffles (np.random.RandomState(seed))
    ds2 = utils.timeseries_dataset_from_array(np.arange(30), None, sequence_length=3, sequence_stride=2,
                                              sampling_rate=3, batch_size=None, start_index=2, end_index=25)
    assert ds2[0].tolist() == [2, 5, 8] and ds2[1].tolist() == [4, 7, 10] and len(ds2) == 9
    starts = np.arange(0, 17)
    np.random.RandomState(3).shuffle(starts)
    ds3 = utils.timeseries_dataset_from_array(np.arange(20), np.arange(20), 4, shuffle=True, seed=3, batch_size=5)
    np.testing.assert_array_equal(ds3[0][1], starts[:5])
    np.testing.assert_array_equal(ds3[0][0][:, 0], starts[:5])

    def model():
        cr.manual_seed(0)
        m = models.Sequential([layers.Input(shape=(4, 1)), layers.SimpleRNN(5), layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        return m
    a, b = model(), model()
    ha = a.fit(ds, epochs=2, verbose=0).history["loss"]
    hb = b.fit(windows, series[4:, 0], batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(ha, hb, rtol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(a.predict(ds, verbose=0), a.predict(windows, verbose=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no window of 40 steps"):
        utils.timeseries_dataset_from_array(np.arange(20), None, 40)
    with pytest.raises(ValueError, match="sequence_stride must be a positive integer"):
        utils.timeseries_dataset_from_array(np.arange(20), None, 4, sequence_stride=0)
