"""Divergence is an event, never a number: NaN epochs are logged as NaN, never improve a monitor,
warn once by epoch and batch, and a TerminateOnNaN stop never steps on the NaN gradient."""
import math
import warnings

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.io import load_model
from chainrule.training import (Callback, DivergenceWarning, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
                                TerminateOnNaN)


class _PoisonAt(Callback):
    """Make the first kernel NaN when epoch ``at`` begins (its first batch loss is then NaN); keeps the
    weights as they were after each earlier epoch."""

    def __init__(self, at):
        self.at, self.states = at, []

    def on_epoch_end(self, epoch, logs):
        if epoch < self.at:
            self.states.append(self.model.state_dict())

    def on_epoch_begin(self, epoch):
        if epoch == self.at:
            self.model.layers[0].kernel.data[...] = np.nan


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    return X, (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]


def _model():
    model = nn.Sequential([nn.Dense(4, activation="tanh", input_dim=3), nn.Dense(1)])
    model.compile(optimizer=optim.SGD(lr=0.05), loss="mse", metrics=["mae"])
    return model


def _fit(model, callbacks, epochs=4):
    X, y = _data()
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", DivergenceWarning)
        return model.fit(X, y, epochs=epochs, batch_size=16, verbose=0, shuffle=False, callbacks=callbacks)


def test_an_epoch_stopped_on_its_first_batch_is_logged_as_nan_not_zero(tmp_path):
    model = _model()
    poison = _PoisonAt(2)
    h = _fit(model, [poison, TerminateOnNaN()])
    loss, mae = h.history["loss"], h.history["mae"]
    assert len(loss) == 3 and all(math.isfinite(v) and v > 0 for v in loss[:2])
    assert math.isnan(loss[2]) and math.isnan(mae[2])  # (it used to be 0.0: nothing seen)


def test_checkpoint_and_early_stopping_never_take_a_nan_epoch_as_best(tmp_path):
    model = _model()
    poison = _PoisonAt(2)
    best = tmp_path / "best.npz"
    stop = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    h = _fit(model, [poison, ModelCheckpoint(best, monitor="loss", save_best_only=True), stop, TerminateOnNaN()])
    assert math.isnan(h.history["loss"][-1])
    assert stop.best == pytest.approx(h.history["loss"][1]) and stop.best_epoch == 1
    for k, v in model.state_dict().items():  # the best (last finite) weights were restored
        np.testing.assert_array_equal(v, poison.states[1][k])
    saved = load_model(best)
    for k, v in saved.state_dict().items():  # and the checkpoint was not overwritten by the NaN epoch
        np.testing.assert_array_equal(v, poison.states[1][k])


def test_reduce_lr_on_plateau_does_not_count_nan_as_an_improvement():
    model = _model()
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.0)
    h = _fit(model, [_PoisonAt(1), plateau], epochs=4)
    loss = h.history["loss"]
    assert math.isfinite(loss[0]) and all(math.isnan(v) for v in loss[1:])
    assert plateau._plateau.best == pytest.approx(loss[0])
    # every NaN epoch is a bad one; each epoch logs the rate it ran at (Keras 3), the reduction shows the next
    assert h.history["learning_rate"] == pytest.approx([0.05, 0.05, 0.025, 0.0125])


def test_fit_warns_once_naming_epoch_and_batch():
    model = _model()
    X, y = _data()
    with warnings.catch_warnings(record=True) as caught, np.errstate(invalid="ignore"):
        warnings.simplefilter("always")
        h = model.fit(X, y, epochs=3, batch_size=16, verbose=0, shuffle=False, callbacks=[_PoisonAt(1)])
    div = [w for w in caught if issubclass(w.category, DivergenceWarning)]
    assert len(div) == 1
    assert "the loss became nan at epoch 2, batch 1" in str(div[0].message)
    assert "smaller learning rate" in str(div[0].message)
    assert len(h.history["loss"]) == 3 and all(math.isnan(v) for v in h.history["loss"][1:])


def test_terminate_on_nan_stops_before_the_update():
    model = nn.Sequential([nn.Dense(1, input_dim=1)])
    model.compile(optimizer=optim.SGD(lr=1.0), loss="mse")
    before = model.state_dict()
    X = np.array([[1.0], [2.0]], np.float32)
    y = np.array([[3e38], [3e38]], np.float32)  # the squared error overflows at once
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", DivergenceWarning)
        h = model.fit(X, y, epochs=3, batch_size=2, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(h.history["loss"]) == 1 and math.isnan(h.history["loss"][0])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
