"""Keras' noise layers (GaussianNoise, GaussianDropout, AlphaDropout), Dropout's noise_shape and
UnitNormalization with PyTorch's F.normalize: against Keras 3 and PyTorch where the values are
deterministic, against the documented distributions where they are random, gradcheck in float64."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io import load_model, save_model
from chainrule.nn import functional as F


def _x(shape=(4000, 6), seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("make", [lambda: nn.GaussianNoise(0.3, seed=1), lambda: nn.GaussianDropout(0.3, seed=1),
                                  lambda: nn.AlphaDropout(0.3, seed=1), lambda: nn.Dropout(0.3, seed=1)])
def test_noise_layers_are_the_identity_in_evaluation_and_reproducible_with_a_seed(make):
    x = _x((50, 6))
    layer = make()
    assert layer.eval()(x) is x
    a = np.asarray(make()(x))
    b = np.asarray(make()(x))
    np.testing.assert_array_equal(a, b)                   # the same seed, the same noise
    layer = make()
    assert not np.array_equal(np.asarray(layer(x)), np.asarray(layer(x)))  # a new draw on every call
    assert a.dtype == np.float32 and a.shape == x.shape
    with pytest.raises(TypeError, match="expected a float input, got dtype int64"):
        make()(np.ones((2, 3), np.int64))


def test_gaussian_noise_and_dropout_have_keras_distributions(keras):
    x = np.full((20000, 5), 2.0, np.float32)
    for ours, theirs in ((nn.GaussianNoise(0.3, seed=0), keras.layers.GaussianNoise(0.3, seed=0)),
                         (nn.GaussianDropout(0.2, seed=0), keras.layers.GaussianDropout(0.2, seed=0))):
        a = np.asarray(ours(x))
        b = keras.ops.convert_to_numpy(theirs(x, training=True))
        for y in (a, b):                                  # N(2, 0.3^2) and 2 N(1, 0.2 / 0.8)
            want = 0.3 if isinstance(ours, nn.GaussianNoise) else 2 * np.sqrt(0.2 / 0.8)
            assert abs(y.mean() - 2.0) < 0.01 and abs(y.std() - want) < 0.01, (type(ours).__name__, y.std())
        assert abs(a.std() - b.std()) < 0.01


def test_alpha_dropout_applies_keras_affine_map(keras):
    """Keras' output, read back: the dropped entries all take one value, the kept ones a x + b; ours the same
    a, b and value, and a zero-mean, unit-variance input keeps its mean and variance (SELU's fixed point)."""
    x = _x((20000, 5))
    got = []
    for y in (np.asarray(nn.AlphaDropout(0.2, seed=0)(x)),
              keras.ops.convert_to_numpy(keras.layers.AlphaDropout(0.2, seed=0)(x, training=True))):
        values, counts = np.unique(np.round(y, 5), return_counts=True)
        dropped = values[np.argmax(counts)]
        kept = ~np.isclose(y, dropped, atol=1e-5)
        a, b = np.polyfit(x[kept], y[kept], 1)
        np.testing.assert_allclose(y[kept], a * x[kept] + b, atol=1e-5)
        assert abs((~kept).mean() - 0.2) < 0.01
        assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
        got.append((a, b, dropped))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5, atol=1e-6)


def test_dropout_noise_shape_shares_the_mask_along_axes():
    x = np.ones((8, 5, 6), np.float32)
    for layer in (nn.Dropout(0.5, noise_shape=(None, 1, None), seed=0),
                  nn.AlphaDropout(0.5, noise_shape=(8, 1, 6), seed=0)):
        y = np.asarray(layer(x))
        np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1], y.shape))    # the same at every step
        assert len(np.unique(y)) == 2
    np.testing.assert_array_equal(np.unique(np.asarray(nn.Dropout(0.5, noise_shape=(None, 1, None), seed=0)(x))),
                                  [0.0, 2.0])
    with pytest.raises(ValueError, match="noise_shape .* does not broadcast"):
        nn.Dropout(0.5, noise_shape=(8, 2, 6))(x)
    with pytest.raises(ValueError, match="3 entries for an input of rank 2"):
        nn.Dropout(0.5, noise_shape=(None, 1, 1))(x[:, 0])
    with pytest.raises(TypeError, match="noise_shape must be a tuple"):
        nn.Dropout(0.5, noise_shape="batch")


def test_noise_layers_pass_gradcheck_with_their_noise_held(f64):
    x = _x((3, 4), dtype=np.float64)
    for make in (lambda: nn.GaussianNoise(0.5, seed=3), lambda: nn.GaussianDropout(0.4, seed=3),
                 lambda: nn.AlphaDropout(0.4, seed=3), lambda: nn.Dropout(0.4, noise_shape=(3, 1), seed=3)):
        f = lambda t: make()(t)                          # noqa: E731  (a fresh seeded layer: the same noise each call)
        assert cr.gradcheck(f, x) and cr.gradgradcheck(f, x)


def test_unit_normalization_as_keras_and_normalize_as_pytorch(keras, f64):
    torch = pytest.importorskip("torch")
    x = _x((4, 3, 5), dtype=np.float64)
    x[0, 0] = 0.0                                          # a zero vector stays zero (the bound on the norm)
    x[1, 1] = 1e-9
    for axis in (-1, 1, [1, 2]):
        ours = np.asarray(nn.UnitNormalization(axis=axis)(x))
        theirs = keras.ops.convert_to_numpy(keras.layers.UnitNormalization(axis=axis, dtype="float64")(x))
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-15, err_msg=str(axis))  # torch's rsqrt
    for p in (1, 2, 3.5):
        for dim in (1, -1, (1, 2)):
            want = torch.nn.functional.normalize(torch.from_numpy(x), p=p, dim=dim).numpy()
            np.testing.assert_allclose(np.asarray(F.normalize(x, p, dim)), want, rtol=1e-12, atol=1e-15)
    y = _x((3, 4), seed=1, dtype=np.float64)
    assert cr.gradcheck(lambda t: nn.UnitNormalization()(t), y)
    assert cr.gradgradcheck(lambda t: nn.UnitNormalization(axis=1)(t), y)
    assert cr.gradcheck(lambda t: F.normalize(t, 3.0, 1), y)
    with pytest.raises(ValueError, match="does not fit an input of rank 2"):
        nn.UnitNormalization(axis=2)(y)
    with pytest.raises(ValueError, match="p must be a positive number"):
        F.normalize(y, 0)


def test_the_new_layers_save_load_and_train_in_a_recurrent_model(tmp_path):
    from chainrule import keras
    from chainrule.keras import layers
    X = _x((64, 8, 3)); y = X[:, -1, :1] * 0.5
    model = keras.Sequential([layers.Input(shape=(8, 3)), layers.GaussianNoise(0.05, seed=0),
                              layers.Dropout(0.1, noise_shape=(None, 1, None), seed=0),
                              layers.LSTM(8, return_sequences=True), layers.GaussianDropout(0.1, seed=0),
                              layers.LSTM(8), layers.UnitNormalization(), layers.AlphaDropout(0.05, seed=0),
                              layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    h = model.fit(X, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert h.history["loss"][-1] < 0.7 * h.history["loss"][0]
    save_model(model, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.predict(X, verbose=0), model.predict(X, verbose=0))
    assert [type(m).__name__ for m in back.layers][:3] == ["GaussianNoise", "Dropout", "LSTM"]
    assert back.layers[1].noise_shape == (None, 1, None)


def test_noise_layers_keep_the_padding_mask(keras):
    tok = np.array([[3, 5, 0, 0], [2, 0, 0, 0]])
    for L in ("GaussianNoise", "GaussianDropout", "AlphaDropout", "UnitNormalization"):
        out = []
        for lib in (cr.keras, keras):
            arg = {"GaussianNoise": (0.1,), "UnitNormalization": ()}.get(L, (0.1,))
            keras.utils.set_random_seed(0)
            m = lib.Sequential([lib.layers.Input(shape=(4,)), lib.layers.Embedding(6, 3, mask_zero=True),
                                getattr(lib.layers, L)(*arg), lib.layers.LSTM(2)])
            out.append(m)
        out[0].set_weights(out[1].get_weights())
        np.testing.assert_allclose(out[0].predict(tok, verbose=0), out[1].predict(tok, verbose=0), atol=1e-6,
                                   err_msg=L)
