"""Every public parameter is checked where it enters: finite, in range, of the right type, named."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.ffnn import FFNN, Constant


@pytest.mark.parametrize("make,error,match", [
    (lambda: optim.SGD(lr=float("inf")), ValueError, r"SGD: lr must be a finite number, got inf"),
    (lambda: optim.Adam(lr=float("nan")), ValueError, r"Adam: lr must be a finite number, got nan"),
    (lambda: optim.Adam(learning_rate=-1), ValueError, r"Adam: lr must be >= 0, got -1"),
    (lambda: optim.RMSprop(lr="abc"), TypeError, r"RMSprop: lr must be a real number, got 'abc'"),
    (lambda: optim.Adam(beta1=5), ValueError, r"Adam: beta1 must be in \[0, 1\), got 5"),
    (lambda: optim.Adam(eps=-1), ValueError, r"Adam: eps must be >= 0, got -1"),
    (lambda: optim.Adam(eps=float("inf")), ValueError, r"Adam: eps must be a finite number"),
    (lambda: optim.SGD(momentum=0.9, nesterov="yes"), TypeError, r"SGD: nesterov must be True or False"),
    (lambda: optim.SGD(clipnorm=float("inf")), ValueError, r"SGD: clipnorm must be a finite number"),
    (lambda: optim.AdamW(weight_decay=True), TypeError, r"AdamW: weight_decay must be a real number, got True"),
    (lambda: optim.StepDecay(float("inf"), 0.5, 10), ValueError, r"StepDecay: initial_lr must be a finite number"),
])
def test_optimizer_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_learning_rate_set_later_is_checked_too():
    opt = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number, got inf"):
        opt.lr = float("inf")
    with pytest.raises(ValueError, match="lr must be a finite number, got nan"):
        opt.set_group_lr(0, float("nan"))
    assert opt.lr == 0.1


@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.BatchNormalization(epsilon=float("nan")), ValueError,
     r"BatchNormalization: epsilon must be a finite number, got nan"),
    (lambda: nn.BatchNormalization(epsilon=0), ValueError, r"BatchNormalization: epsilon must be > 0, got 0"),
    (lambda: nn.BatchNormalization(momentum=float("inf")), ValueError, r"momentum must be a finite number"),
    (lambda: nn.BatchNormalization(input_dim=True), ValueError, r"input_dim must be a positive integer, got True"),
    (lambda: nn.BatchNormalization(center="no"), TypeError, r"center must be True or False, got 'no'"),
    (lambda: nn.l2(float("nan")), ValueError, r"regularizer: l2 must be a finite number, got nan"),
    (lambda: nn.l1(float("inf")), ValueError, r"regularizer: l1 must be a finite number, got inf"),
    (lambda: nn.l1_l2(l1=-1.0), ValueError, r"regularizer: l1 must be >= 0, got -1"),
    (lambda: nn.l2(True), TypeError, r"regularizer: l2 must be a real number, got True"),
    (lambda: nn.Dropout(float("nan")), ValueError, r"Dropout: rate must be a finite number, got nan"),
    (lambda: nn.Dropout(True), TypeError, r"Dropout: rate must be a real number, got True"),
    (lambda: nn.Dropout(1.0), ValueError, r"Dropout: rate must be in \[0, 1\), got 1.0"),
    (lambda: nn.Dropout(0.5, seed=-1), ValueError, r"Dropout: seed must be a non-negative integer or None, got -1"),
    (lambda: nn.SpatialDropout2D(0.5, seed=1.5), ValueError, r"SpatialDropout2D: seed must be a non-negative"),
    (lambda: nn.Dense(4, input_dim=True), ValueError, r"Dense: input_dim must be a positive integer, got True"),
    (lambda: nn.Dense(4, input_dim=2.5), ValueError, r"Dense: input_dim must be a positive integer, got 2.5"),
    (lambda: nn.Dense(True), ValueError, r"Dense: units must be a positive integer, got True"),
    (lambda: nn.Dense(4, use_bias="no"), TypeError, r"Dense: use_bias must be True or False"),
    (lambda: nn.Linear(True, 3), ValueError, r"Linear: in_features must be a positive integer, got True"),
    (lambda: nn.LeakyReLU(float("nan")), ValueError, r"LeakyReLU: negative_slope must be a finite number"),
    (lambda: nn.ELU(float("inf")), ValueError, r"ELU: alpha must be a finite number"),
])
def test_layer_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def _compiled():
    model = nn.Sequential([nn.Dense(2, input_dim=3)])
    return model.compile(optimizer="sgd", loss="mse")


def test_fit_refuses_a_bad_seed_by_name():
    model = _compiled()
    for seed in (-1, 1.5, True, "0"):
        with pytest.raises(ValueError, match=rf"fit: seed must be a non-negative integer .*got {seed!r}"):
            model.fit(np.ones((4, 3)), np.ones((4, 2)), seed=seed, verbose=0)


def test_empty_inputs_are_refused_clearly():
    model = _compiled()
    for X, y in ((np.ones((0, 3)), np.ones((0, 2))), (np.ones((4, 0)), np.ones((4, 2)))):
        with pytest.raises(ValueError, match=r"X: is empty \(shape \(\d, \d\)\); give at least one sample"):
            model.fit(X, y, verbose=0)
        with pytest.raises(ValueError, match=r"X: is empty"):
            model.evaluate(X, y)
        with pytest.raises(ValueError, match=r"X: is empty"):
            model.predict(X)


def test_nan_and_infinity_in_data_of_the_models_own_dtype_are_refused_and_large_finite_data_is_not():
    # float32 data for a float32 model is checked through the sum of its values (one pass); a NaN or
    # an infinity anywhere, or both signs of infinity (whose sum is NaN), must still be found
    model = _compiled()
    for bad in ([np.nan], [np.inf], [-np.inf], [np.inf, -np.inf]):
        X = np.ones((4, 3), np.float32)
        X.flat[[1, 7][:len(bad)]] = bad
        with pytest.raises(ValueError, match=r"X: contains NaN or infinite values"):
            model.fit(X, np.ones((4, 2), np.float32), verbose=0)
        with pytest.raises(ValueError, match=r"X: contains NaN or infinite values"):
            model.predict(X, verbose=0)
    # finite values whose sum overflows float32 are data, not an error
    X = np.full((4, 3), 3e38, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(np.add.reduce(X, axis=None))
        out = np.asarray(model.predict(X, verbose=0))
    assert out.shape == (4, 2)


def test_float64_beyond_float32_is_refused_by_name():
    model = _compiled()
    X = np.ones((4, 3))
    X[2, 1] = 1e39  # finite in float64, infinite once cast to the model's float32
    with pytest.raises(ValueError, match=r"X: holds values up to 1e\+39, beyond the range of the model's float32 "
                                         r"\(\+-3\.4e\+38\)"):
        model.fit(X, np.ones((4, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"y: holds values up to 2e\+39"):
        model.fit(np.ones((4, 3)), np.full((4, 2), -2e39), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data X: holds values"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), validation_data=(X, np.ones((4, 2))), verbose=0)
    with pytest.raises(ValueError, match=r"X: holds values"):
        model.predict(X)
    assert model.predict(np.full((2, 3), 1e30)).shape == (2, 2)  # large but within float32: accepted


def test_complex_inputs_are_refused():
    model = _compiled()
    with pytest.raises(TypeError, match=r"X: expected an array of real numbers, got dtype complex128; split"):
        model.fit(np.ones((4, 3)) * 1j, np.ones((4, 2)), verbose=0)
    net = FFNN((2, 3, 1), seed=0)
    X = np.array([[1 + 1j, 2], [3, 4j]])
    with pytest.raises(TypeError, match=r"FFNN.fit: X is complex \(dtype complex128\).*X.real, X.imag"):
        net.fit(X, np.ones((2, 1)), Constant(0.1), epochs=1, verbose=False)
    with pytest.raises(TypeError, match=r"FFNN.predict: X is complex"):
        net.predict(X)
    with pytest.raises(ValueError, match=r"FFNN: seed must be in \[0, 2\*\*32\), got -1"):
        FFNN((2, 1), seed=-1)


def test_tensor_refuses_values_that_are_not_numbers():
    for data in ([None], [1.0, None], [[1.0], [None]]):
        with pytest.raises(TypeError, match=r"tensor: expected numbers, got None .*float\('nan'\) for a missing"):
            cr.tensor(data)
    with pytest.raises(TypeError, match=r"tensor: expected numbers, got data of dtype <U1"):
        cr.tensor(["a"])
    with pytest.raises(TypeError, match="dtype <U3"):
        cr.Tensor(np.array(["1.5"]))
    # numbers of mixed Python types are fine
    np.testing.assert_array_equal(cr.tensor(np.array([1, 2.5], dtype=object)).numpy(), [1.0, 2.5])


def test_primitives_refuse_strings_in_their_own_words():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"add: input 1 must hold numbers \(a float, integer or boolean array\), "
                                        r"got dtype <U1"):
        x + np.array(["a", "b"])
    with pytest.raises(TypeError, match=r"linear: input 0 must hold numbers .*got dtype <U1"):
        nn.Dense(2)(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'bogus'"):   # other TypeErrors pass
        cr.ops.linear(np.ones((1, 2)), np.ones((2, 2)), bogus=1)
