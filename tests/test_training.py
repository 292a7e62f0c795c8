"""Training: the results issue 3 asks for, a hand-computed step, reproducibility, callbacks, errors."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.datasets import load_breast_cancer, load_digits, logic_gate, noisy_sine, standardize, train_test_split
from chainrule.training import (EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                                TerminateOnNaN)


def test_one_hand_computed_sgd_step():
    # z = x.w + b with w = (0.5, -0.25), b = 0.1, x = (1, 2)  ->  z = 0.5 - 0.5 + 0.1 = 0.1
    # C = (z - y)^2 with y = 1  ->  C = 0.81,  dC/dz = 2 (z - y) = -1.8
    # dC/dw = -1.8 x = (-1.8, -3.6),  dC/db = -1.8
    # SGD with eta = 0.1:  w = (0.5 + 0.18, -0.25 + 0.36) = (0.68, 0.11),  b = 0.1 + 0.18 = 0.28
    layer = nn.Dense(1, input_dim=2, dtype="float64")
    layer.kernel.data[:] = [[0.5], [-0.25]]
    layer.bias.data[:] = [0.1]
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = losses.mean_squared_error(np.array([[1.0]]), layer(np.array([[1.0, 2.0]])))
    assert float(loss.data) == pytest.approx(0.81)
    loss.backward()
    np.testing.assert_allclose(layer.kernel.grad, [[-1.8], [-3.6]])
    opt.step()
    np.testing.assert_allclose(layer.kernel.data, [[0.68], [0.11]])
    np.testing.assert_allclose(layer.bias.data, [0.28])


def test_xor_is_learned_by_a_2_4_1_network():
    X, y = logic_gate("xor")
    cr.manual_seed(1)
    model = nn.Sequential([nn.Dense(4, activation="tanh", input_dim=2), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optim.Adam(lr=0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=400, batch_size=4, verbose=0, seed=1)
    assert history.history["accuracy"][-1] == 1.0
    np.testing.assert_array_equal((model.predict(X)[:, 0] > 0.5).astype(int), [0, 1, 1, 0])


def _digits():
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    Xtr, Xte = standardize(Xtr, Xte)
    return Xtr, Xte, ytr, yte


def test_digits_reach_097_with_the_notes_network():
    Xtr, Xte, ytr, yte = _digits()
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(100, activation="leaky_relu", input_dim=64),
                           nn.Dense(30, activation="leaky_relu"), nn.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(Xtr, ytr, epochs=30, batch_size=32, validation_split=0.1, verbose=0, seed=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 30
    assert history.history["loss"][-1] < history.history["loss"][0] / 10
    result = model.evaluate(Xte, yte, verbose=0, return_dict=True)
    assert result["accuracy"] >= 0.97, result


def test_breast_cancer_reaches_095():
    X, y = load_breast_cancer()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    Xtr, Xte = standardize(Xtr, Xte)
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(20, activation="relu", input_dim=30, kernel_regularizer=nn.l2(1e-4)),
                           nn.Dropout(0.2), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(Xtr, ytr, epochs=40, batch_size=32, verbose=0, seed=0)
    assert model.evaluate(Xte, yte, verbose=0, return_dict=True)["accuracy"] >= 0.95


def test_sine_regression_reaches_the_noise_floor():
    noise = 0.1
    x, y = noisy_sine(400, noise=noise, seed=0)
    xte, yte = noisy_sine(400, noise=noise, seed=1)
    clean = np.sin(2 * np.pi * xte)
    floor = np.mean((yte - clean) ** 2)  # the best any model can do on this test sample (about noise^2)
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(32, activation="tanh", input_dim=1), nn.Dense(32, activation="tanh"),
                           nn.Dense(1)])
    model.compile(optimizer=optim.Adam(lr=optim.CosineDecay(0.02, 1500)), loss="mse", metrics=["r2"])
    model.fit(x, y, epochs=1500, batch_size=400, verbose=0, seed=0)
    mse = model.evaluate(xte, yte, verbose=0, return_dict=True)["loss"]
    assert mse < 1.02 * floor, (mse, floor)
    # what is left is noise: the distance to the clean curve is a few percent of the noise variance
    assert np.mean((model.predict(xte) - clean) ** 2) < 0.03 * noise ** 2


def test_same_seed_gives_bit_identical_runs():
    Xtr, _, ytr, _ = _digits()

    def run():
        cr.manual_seed(3)
        model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.2), nn.BatchNormalization(),
                               nn.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        h = model.fit(Xtr[:300], ytr[:300], epochs=3, batch_size=32, validation_split=0.2, verbose=0, seed=5)
        return model.state_dict(), h.history

    (sd1, h1), (sd2, h2) = run(), run()
    assert h1 == h2
    for k in sd1:
        np.testing.assert_array_equal(sd1[k], sd2[k])


def test_pytorch_style_loop_with_dataloader():
    from chainrule.data import DataLoader, TensorDataset
    Xtr, Xte, ytr, yte = _digits()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(Xtr.astype(np.float32), ytr), batch_size=64, shuffle=True, seed=0)
    for _ in range(10):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    acc = np.mean(np.argmax(model(Xte.astype(np.float32)).numpy(), axis=1) == yte)
    assert acc >= 0.95


def test_early_stopping_restores_best_weights_and_checkpoint(tmp_path):
    Xtr, Xte, ytr, yte = _digits()
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(32, activation="relu", input_dim=64), nn.Dense(10, activation="softmax")])
    model.compile(optimizer=optim.Adam(lr=0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    ckpt = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    h = model.fit(Xtr, ytr, epochs=60, batch_size=32, validation_data=(Xte, yte), callbacks=[stop, ckpt], verbose=0,
                  seed=0)
    assert len(h.history["loss"]) < 60  # stopped early
    best = int(np.argmin(h.history["val_loss"]))
    assert stop.best_epoch == best
    result = model.evaluate(Xte, yte, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(h.history["val_loss"][best], rel=1e-5)
    saved = cr.load_model(tmp_path / "best.npz")
    np.testing.assert_array_equal(saved.predict(Xte), model.predict(Xte))


def test_learning_rate_callbacks_change_the_optimizer():
    Xtr, _, ytr, _ = _digits()
    model = nn.Sequential([nn.Dense(10, activation="softmax", input_dim=64)])
    model.compile(optimizer=optim.SGD(lr=0.1), loss="sparse_categorical_crossentropy")
    h = model.fit(Xtr[:200], ytr[:200], epochs=3, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    model.compile(optimizer=optim.SGD(lr=0.1), loss="sparse_categorical_crossentropy")
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)  # never "improves"
    h = model.fit(Xtr[:200], ytr[:200], epochs=3, verbose=0, callbacks=[plateau])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])   # each epoch's rate, as Keras 3 logs it
    assert "lr" not in h.history        # Keras 3's name only (Keras 2 logged 'lr')


def test_terminate_on_nan_names_epoch_and_batch(capsys):
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([[1e30], [2e30], [3e30], [4e30]])
    model = nn.Sequential([nn.Dense(1, input_dim=1)])
    model.compile(optimizer=optim.SGD(lr=1.0), loss="mse")
    stop = TerminateOnNaN()
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point of this test
        h = model.fit(X, y, epochs=5, batch_size=2, verbose=0, callbacks=[stop], shuffle=False)
    assert "at epoch" in stop.message and "batch" in stop.message
    assert "TerminateOnNaN" in capsys.readouterr().err
    assert len(h.history["loss"]) <= 2
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # never stepped on the NaN


def test_fit_errors_say_what_to_do():
    model = nn.Sequential([nn.Dense(3, activation="softmax", input_dim=4)])
    with pytest.raises(RuntimeError, match=r"not compiled; call model.compile"):
        model.fit(np.ones((5, 4)), np.zeros(5))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="got 4 targets for 5 samples"):
        model.fit(np.ones((5, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="contains NaN or infinite values"):
        model.fit(np.full((5, 4), np.nan), np.zeros(5))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] for 3 classes"):
        model.fit(np.ones((5, 4)), np.array([0, 1, 2, 3, 0]), verbose=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        model.fit(np.ones((5, 4)), np.zeros(5), batch_size=0)
    with pytest.raises(ValueError, match="a loss is required"):
        model.compile(optimizer="sgd")


def test_optimizer_bound_before_build_is_a_clear_error():
    model = nn.Sequential([nn.Dense(4), nn.Dense(1)])
    with pytest.raises(ValueError, match="give it input_dim=... or call the model once"):
        optim.Adam(model.parameters())


def test_lazy_model_compiles_and_fits():
    Xtr, Xte, ytr, yte = _digits()
    model = nn.Sequential([nn.Dense(32, activation="relu"), nn.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(Xtr, ytr, epochs=10, verbose=0, seed=0)
    assert model.evaluate(Xte, yte, verbose=0, return_dict=True)["accuracy"] > 0.93


def test_progress_bar_shows_loss_and_metrics(capsys):
    Xtr, _, ytr, _ = _digits()
    model = nn.Sequential([nn.Dense(10, activation="softmax", input_dim=64)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(Xtr[:256], ytr[:256], epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "loss=" in out and "accuracy=" in out


def test_chainrule_callbacks_get_each_batch_its_own_logs_and_the_test_and_predict_hooks():
    """chainrule's own protocol: a training batch's own logs (Keras' callbacks get running means, as
    tests/test_keras_torch_oracles.py checks against Keras 3), on_train_begin() without logs, and the
    test and predict hooks from fit's validation, evaluate and predict."""
    from chainrule.training import Callback
    X, y = logic_gate("xor")
    model = nn.Sequential([nn.Dense(3, activation="tanh", input_dim=2), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optim.SGD(lr=0.0), loss="binary_crossentropy")   # no update: every batch alike
    seen = []

    class Record(Callback):
        def on_train_begin(self):
            seen.append(("train_begin", self.params["steps"]))

        def on_batch_begin(self, batch, logs=None):
            seen.append(("batch_begin", batch))

        def on_batch_end(self, batch, logs):
            seen.append(("batch_end", batch, round(logs["loss"], 6)))

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("test_batch_end", batch, round(logs["loss"], 6)))

        def on_test_end(self, logs=None):
            seen.append(("test_end", round(logs["loss"], 6)))

        def on_predict_batch_end(self, batch, logs=None):
            seen.append(("predict_batch_end", batch, logs["outputs"].shape))

    per_sample = [round(float(model.evaluate(X[i:i + 1], y[i:i + 1], verbose=0)), 6) for i in range(4)]
    model.fit(X, y, epochs=1, batch_size=1, shuffle=False, verbose=0, validation_data=(X[:2], y[:2]),
              callbacks=[Record()])
    assert seen[0] == ("train_begin", 4)
    assert [e for e in seen if e[0] == "batch_end"] == [("batch_end", i, per_sample[i]) for i in range(4)]
    assert [e[0] for e in seen[1:3]] == ["batch_begin", "batch_end"]
    mean2 = round((per_sample[0] + per_sample[1]) / 2, 6)
    # the validation of 2 samples, in batches of 1 (fit's batch size: Keras' validation batch size)
    assert [e for e in seen if e[0].startswith("test")] == [("test_batch_end", 0, per_sample[0]),
                                                          ("test_batch_end", 1, mean2), ("test_end", mean2)]
    seen.clear()
    assert model.evaluate(X, y, batch_size=3, verbose=0, callbacks=[Record()]) == pytest.approx(
        np.mean(per_sample), abs=1e-6)
    assert [e[:2] for e in seen] == [("test_batch_end", 0), ("test_batch_end", 1), ("test_end", seen[-1][1])]
    seen.clear()
    assert model.predict(X, callbacks=[Record()]).shape == (4, 1)
    assert seen == [("predict_batch_end", 0, (4, 1))]                      # batches of 32, as Keras
    with pytest.raises(TypeError, match="evaluate: callbacks must be a list"):
        model.evaluate(X, y, callbacks=Record())
    with pytest.raises(TypeError, match="predict: callbacks must be Callback objects"):
        model.predict(X, callbacks=[print])


def test_sample_weights_scale_the_loss_as_keras_does():
    """Keras' reduction of a weighted batch, 'sum_over_batch_size': sum_i w_i l_i / n, not a weighted mean,
    so weights that all double double the loss and the step; class_weight is the same weights per class."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3)).astype(np.float32)
    Y = rng.standard_normal((6, 2)).astype(np.float32)
    w = np.array([1.0, 0.0, 2.0, 0.5, 3.0, 1.0], np.float32)

    def model():
        cr.manual_seed(0)
        m = nn.Sequential([nn.Dense(4, activation="tanh"), nn.Dense(2)])
        m.compile(optimizer=optim.SGD(lr=0.1), loss="mse")
        m(X)
        return m
    m = model()
    per_sample = ((m.predict(X, verbose=0) - Y) ** 2).mean(axis=1)
    assert m.evaluate(X, Y, sample_weight=w, verbose=0) == pytest.approx(float((w * per_sample).sum() / 6), rel=1e-6)
    assert m.evaluate(X, Y, sample_weight=2 * w, verbose=0) == pytest.approx(float(2 * (w * per_sample).sum() / 6),
                                                                           rel=1e-6)
    steps = []
    for scale in (1.0, 2.0):
        m = model()
        before = [p.data.copy() for p in m.parameters()]
        m.fit(X, Y, sample_weight=scale * w, batch_size=6, epochs=1, verbose=0)
        steps.append([p.data - b for p, b in zip(m.parameters(), before)])
    for a, b in zip(*steps):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-5, atol=1e-7)
    labels = np.array([0, 1, 1, 0, 1, 0])
    c = nn.Sequential([nn.Dense(2, activation="softmax")])
    c.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    c(X)
    p = c.predict(X, verbose=0)[np.arange(6), labels]
    cw = {0: 3.0, 1: 0.5}
    expected = float((np.vectorize(cw.get)(labels) * -np.log(p)).sum() / 6)
    assert c.fit(X, labels, class_weight=cw, batch_size=6, epochs=1, verbose=0).history["loss"][0] == \
        pytest.approx(expected, rel=1e-6)


def test_weighted_training_equals_keras_3(keras):
    """fit and evaluate with sample_weight equal Keras 3's, with the loss named ('mse') or given as Keras'
    class (chainrule.keras.losses, which reduces as Keras does itself), and with class_weight; the validation
    split keeps its samples' weights, not their class weights."""
    import chainrule.keras as ck
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 3)).astype(np.float32)
    Y = rng.standard_normal((10, 1)).astype(np.float32)
    w = rng.uniform(0.0, 3.0, 10).astype(np.float32)
    labels = rng.integers(0, 3, 10)
    cases = [("mse", lambda L: L.Dense(1), Y, dict(sample_weight=w)),
             ("keras_mse", lambda L: L.Dense(1), Y, dict(sample_weight=w)),
             ("sparse_categorical_crossentropy", lambda L: L.Dense(3, activation="softmax"), labels,
              dict(class_weight={0: 2.0, 1: 0.5, 2: 1.0}))]
    for loss, head, targets, weighting in cases:
        ck.backend.clear_session()
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        models = []
        for L, M, losses_ in ((ck.layers, ck.models, ck.losses), (keras.layers, keras.models, keras.losses)):
            m = M.Sequential([L.Input((3,)), L.Dense(4, activation="tanh"), head(L)])
            m.compile(optimizer="sgd", loss=losses_.MeanSquaredError() if loss == "keras_mse" else loss)
            models.append(m)
        ours, theirs = models
        ours.set_weights(theirs.get_weights())
        if "sample_weight" in weighting:
            assert ours.evaluate(X, targets, sample_weight=w, batch_size=4, verbose=0) == pytest.approx(
                theirs.evaluate(X, targets, sample_weight=w, batch_size=4, verbose=0), rel=1e-5)
        h1 = ours.fit(X, targets, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_split=0.3,
                      **weighting).history
        h2 = theirs.fit(X, targets, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_split=0.3,
                        **weighting).history
        assert sorted(h1) == sorted(h2) == ["loss", "val_loss"]
        for key in h2:
            np.testing.assert_allclose(h1[key], h2[key], rtol=1e-5, err_msg=f"{loss} {key}")
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_validation_loss_is_weighted_by_the_validation_samples_own_weights():
    """validation_split takes the sample weights with its samples, validation_data's third entry weighs
    the validation samples, and class_weight weighs the training samples only (Keras' rules)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 3)).astype(np.float32)
    labels = rng.integers(0, 2, 12)
    w = rng.uniform(0.5, 3.0, 12).astype(np.float32)

    def fitted(**kw):
        cr.manual_seed(0)
        m = nn.Sequential([nn.Dense(2, activation="softmax")])
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        return m, m.fit(X, labels, batch_size=3, epochs=1, shuffle=False, verbose=0, **kw).history["val_loss"][0]
    m, val = fitted(sample_weight=w, validation_split=0.25)
    assert val == pytest.approx(m.evaluate(X[-3:], labels[-3:], sample_weight=w[-3:], verbose=0), rel=1e-6)
    assert val != pytest.approx(m.evaluate(X[-3:], labels[-3:], verbose=0), rel=1e-3)
    m, val = fitted(class_weight={0: 5.0, 1: 0.2}, validation_split=0.25)
    assert val == pytest.approx(m.evaluate(X[-3:], labels[-3:], verbose=0), rel=1e-6)
    m, val = fitted(validation_data=(X[:4], labels[:4], w[:4]))
    assert val == pytest.approx(m.evaluate(X[:4], labels[:4], sample_weight=w[:4], verbose=0), rel=1e-6)
