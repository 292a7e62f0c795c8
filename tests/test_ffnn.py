"""chainrule.ffnn: the lecture notes' FFNN, schedulers, cost functions and NeuralNetwork."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.ffnn import (FFNN, LRELU, RELU, Adagrad, AdagradMomentum, Adam, Constant, CostCrossEntropy,
                            CostLogReg, CostOLS, Momentum, NeuralNetwork, RMS_prop, Scheduler, derivate, identity,
                            onehot, sigmoid, softmax)

GATE_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
GATES = {"XOR": [0, 1, 1, 0], "AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1]}
ADAM = dict(eta=1e-1, rho=0.9, rho2=0.999)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=0)


# ----------------------------------------------------------------------------- schedulers
def test_constant_and_momentum_hand_computed():
    g = np.array([[1.0, -2.0]])
    assert np.allclose(Constant(0.1).update_change(g), [[0.1, -0.2]])
    m = Momentum(eta=0.1, momentum=0.9)
    assert np.allclose(m.update_change(g), [[0.1, -0.2]])
    # change_2 = 0.9 * 0.1 g + 0.1 g = 0.19 g; reset() keeps the velocity (as in the notes)
    m.reset()
    assert np.allclose(m.update_change(g), [[0.19, -0.38]])


def test_adagrad_accumulates_one_sum_per_row_and_resets():
    a = Adagrad(eta=1.0)
    g = np.array([[3.0, 4.0], [0.0, 1.0]])
    # diag(g g^T) = (25, 1): change = g / sqrt(row sums)
    assert np.allclose(a.update_change(g), [[0.6, 0.8], [0.0, 1.0]])
    # second step: G = (50, 2)
    assert np.allclose(a.update_change(g), g / np.sqrt([[50.0], [2.0]]))
    a.reset()
    assert np.allclose(a.update_change(g), [[0.6, 0.8], [0.0, 1.0]])
    am = AdagradMomentum(eta=1.0, momentum=0.5)
    first = am.update_change(g)
    assert np.allclose(am.update_change(g), 0.5 * first + g / np.sqrt([[50.0], [2.0]]))


def test_rms_prop_hand_computed():
    r = RMS_prop(eta=0.1, rho=0.9)
    g = np.array([2.0])
    # s = 0.1 * 4 = 0.4,  change = 0.1 * 2 / sqrt(0.4 + 1e-8)
    assert np.allclose(r.update_change(g), 0.2 / np.sqrt(0.4 + 1e-8))
    r.reset()
    assert np.allclose(r.update_change(g), 0.2 / np.sqrt(0.4 + 1e-8))


def test_adam_moments_live_within_an_epoch_and_correction_counts_epochs():
    a = Adam(eta=0.1, rho=0.9, rho2=0.999)
    g = np.array([2.0])
    # step 1 of epoch 1: m_hat = g, s_hat = g^2  ->  0.1 * 2 / sqrt(4 + 1e-8)
    assert np.allclose(a.update_change(g), 0.2 / np.sqrt(4 + 1e-8))
    # step 2 of epoch 1: m = 0.19 g, s = 0.001999 g^2, corrected by (1 - 0.9), (1 - 0.999)
    expected = 0.1 * (0.19 * 2 / 0.1) / np.sqrt(0.001999 * 4 / 0.001 + 1e-8)
    assert np.allclose(a.update_change(g), expected)
    a.reset()  # epoch 2: moments restart from 0, correction exponent 2
    expected = 0.1 * (0.1 * 2 / (1 - 0.9 ** 2)) / np.sqrt(0.001 * 4 / (1 - 0.999 ** 2) + 1e-8)
    assert np.allclose(a.update_change(g), expected)


def test_notes_scheduler_usage_example_runs():
    weights = np.ones((3, 3))
    sched = Adam(eta=1e-3, rho=0.9, rho2=0.999)
    rng = np.random.default_rng(0)
    for _ in range(10):
        weights = weights - sched.update_change(rng.random((3, 3)))
        sched.reset()
    assert np.all(weights < 1) and np.all(weights > 0.98)


def test_abstract_scheduler_raises():
    with pytest.raises(NotImplementedError, match="abstract"):
        Scheduler(0.1).update_change(np.ones(2))
    net = FFNN((2, 1))
    with pytest.raises(TypeError, match="Scheduler is abstract"):
        net.fit(GATE_X, np.zeros((4, 1)), Scheduler(0.1), verbose=False)


@pytest.mark.parametrize("bad, match", [(lambda: Constant(-1.0), "eta must lie in"),
                                        (lambda: Adam(0.1, 1.5, 0.999), "rho must lie in"),
                                        (lambda: Momentum("fast", 0.9), "eta must be a finite real")])
def test_scheduler_argument_errors(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


# ----------------------------------------------------------------------------- costs and activations
def test_cost_functions_values_and_chainrule_gradients():
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    a = np.array([[0.8, 0.2], [0.4, 0.6]])
    assert np.isclose(CostOLS(t)(a), (0.04 + 0.04 + 0.16 + 0.16) / 2)
    assert np.allclose(cr.grad(CostOLS(t))(a), -2 * (t - a) / 2)
    logreg = -(np.log(0.8 + 1e-9) + np.log(1 - 0.2 + 1e-9) + np.log(1 - 0.4 + 1e-9) + np.log(0.6 + 1e-9)) / 2
    assert np.isclose(CostLogReg(t)(a), logreg)
    assert np.allclose(cr.grad(CostLogReg(t))(a), -(t / (a + 1e-9) - (1 - t) / (1 - a + 1e-9)) / 2)
    assert np.isclose(CostCrossEntropy(t)(a), -(np.log(0.8 + 1e-9) + np.log(0.6 + 1e-9)) / 4)


def test_activations_and_derivate():
    z = np.array([[-2.0, -0.5, 0.3, 1.7]])
    assert np.allclose(sigmoid(z), 1 / (1 + np.exp(-z)))
    assert np.allclose(RELU(z), np.maximum(z, 0))
    assert np.allclose(LRELU(z), np.where(z > 0, z, 0.01 * z))
    assert identity(z) is z
    s = softmax(z)
    assert np.allclose(s.sum(axis=-1), 1) and np.allclose(s, np.exp(z) / np.exp(z).sum())
    for f in (identity, sigmoid, RELU, LRELU):  # closed forms agree with the engine's elementwise_grad
        assert np.allclose(derivate(f)(z), cr.elementwise_grad(f)(z))
    assert np.allclose(derivate(cr.tanh)(z), 1 - np.tanh(z) ** 2)  # fallback: elementwise_grad
    with pytest.raises(TypeError, match="expected an activation function"):
        derivate("relu")


def test_onehot():
    assert onehot(np.array([1, 0, 2])).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="integer labels"):
        onehot(np.array([0.5, 1.0]))


# ----------------------------------------------------------------------------- back-propagation vs reverse mode
def _reverse_mode_grads(net, X, t, lam, cost):
    """Gradients of cost(forward(W)) + lam/2 sum ||W^l||^2 by chainrule's reverse mode, layer by layer."""
    def total(i):
        def f(Wi):
            a = X
            for k, W in enumerate(net.weights):
                W = Wi if k == i else W
                z = a @ W[1:] + W[0]
                a = (net.output_func if k == len(net.weights) - 1 else net.hidden_func)(z)
            penalty = sum(cr.sum((Wi if k == i else W)[1:] ** 2) for k, W in enumerate(net.weights))
            return cost(a) + 0.5 * lam * penalty
        return cr.grad(f)(net.weights[i])
    return [total(i) for i in range(len(net.weights))]


@pytest.mark.parametrize("hidden, output, cost_name", [(sigmoid, identity, "ols"), (LRELU, sigmoid, "logreg"),
                                                       (RELU, softmax, "summed_ce")])
def test_backprop_matches_reverse_mode(hidden, output, cost_name):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(7, 4))
    if cost_name == "ols":
        t, cost_func = rng.normal(size=(7, 3)), CostOLS
    elif cost_name == "logreg":
        t, cost_func = (rng.random((7, 3)) > 0.5).astype(float), CostLogReg
    else:
        t, cost_func = onehot(rng.integers(0, 3, 7)), CostCrossEntropy
    net = FFNN((4, 5, 6, 3), hidden_func=hidden, output_func=output, cost_func=cost_func, seed=1)
    for W in net.weights:
        W *= 0.5
    lam = 0.3
    net._feedforward(X)
    gw, gb = net._gradients(t, lam)
    # the softmax error a - t is the gradient of the summed cross-entropy -sum t log a (as in the notes)
    cost = cost_func(t) if cost_name != "summed_ce" else (lambda a: -cr.sum(t * cr.log(a)))
    expected = _reverse_mode_grads(net, X, t, lam, cost)
    for i, E in enumerate(expected):
        np.testing.assert_allclose(gb[i], E[:1], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(gw[i], E[1:], rtol=1e-7, atol=1e-10)


def test_one_training_step_applies_the_scheduler_change():
    net = FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=0)
    W0 = net.weights[0].copy()
    t = np.array([[0], [1], [1], [1]])
    net._feedforward(GATE_X)
    gw, gb = net._gradients(t, 0.0)
    net._feedforward(GATE_X)
    net.schedulers_weight, net.schedulers_bias = [Constant(0.5)], [Constant(0.5)]
    net._backpropagate(GATE_X, t, 0.0)
    np.testing.assert_allclose(net.weights[0], W0 - 0.5 * np.vstack([gb[0], gw[0]]))


# ----------------------------------------------------------------------------- the notes' runs
@pytest.mark.parametrize("gate", ["AND", "OR"])
def test_logistic_regression_learns_and_or(gate):
    t = np.array(GATES[gate]).reshape(-1, 1)
    net = FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=2024)
    scores = net.fit(GATE_X, t, Adam(**ADAM), epochs=1000, verbose=False)
    assert net.predict(GATE_X).ravel().tolist() == GATES[gate]
    assert scores["train_accs"][-1] == 1.0
    assert scores["train_errors"][-1] < scores["train_errors"][0]


def test_logistic_regression_cannot_learn_xor():
    # a single sigmoid unit is a linear separator: at most 3 of the 4 XOR points can be right
    t = np.array(GATES["XOR"]).reshape(-1, 1)
    for seed in range(3):
        net = FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=seed)
        scores = net.fit(GATE_X, t, Adam(**ADAM), epochs=1000, verbose=False)
        assert scores["train_accs"][-1] <= 0.75


@pytest.mark.parametrize("gate", ["XOR", "AND", "OR"])
def test_hidden_layer_learns_every_gate(gate):
    t = np.array(GATES[gate]).reshape(-1, 1)
    net = FFNN((2, 4, 1), output_func=sigmoid, cost_func=CostLogReg, seed=2024)
    scores = net.fit(GATE_X, t, Adam(**ADAM), epochs=1000, verbose=False)
    assert net.predict(GATE_X).ravel().tolist() == GATES[gate]
    assert scores["train_accs"][-1] == 1.0


def test_digits_multiclass_reaches_95_percent(digits):
    X_train, X_test, y_train, y_test = digits
    net = FFNN((64, 100, 30, 10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=2)
    net.reset_weights()
    scores = net.fit(X_train, onehot(y_train), Adam(eta=1e-2, rho=0.9, rho2=0.999), batches=14, epochs=100,
                     lam=0.1, X_val=X_test, t_val=onehot(y_test), verbose=False)
    pred = net.predict(X_test)
    assert pred.shape == (len(y_test), 10) and np.all(pred.sum(axis=1) == 1)
    accuracy = np.mean(np.argmax(pred, axis=1) == y_test)
    assert accuracy >= 0.95
    assert np.isclose(scores["val_accs"][-1], accuracy)
    assert scores["train_errors"][-1] < scores["train_errors"][0]


def test_regression_with_every_scheduler():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (64, 1))
    t = X ** 2 + 0.5 * X
    for sched in (Constant(0.3), Momentum(0.05, 0.9), Adagrad(1e-1), AdagradMomentum(1e-2, 0.9),
                  RMS_prop(1e-2, 0.9), Adam(1e-2, 0.9, 0.999)):
        net = FFNN((1, 8, 1), hidden_func=sigmoid, seed=0)
        scores = net.fit(X, t, sched, batches=4, epochs=60, verbose=False)
        assert set(scores) == {"train_errors", "val_errors"}
        assert np.isnan(scores["val_errors"]).all()
        assert scores["train_errors"][-1] < 0.5 * scores["train_errors"][0], type(sched).__name__
        assert net.predict(X).shape == (64, 1)


def test_seed_makes_runs_reproducible_and_global_seed_works_without_it():
    t = np.array(GATES["XOR"]).reshape(-1, 1)
    runs = []
    for _ in range(2):
        net = FFNN((2, 3, 1), output_func=sigmoid, cost_func=CostLogReg, seed=7)
        runs.append((net.fit(GATE_X, t, Adam(**ADAM), batches=2, epochs=20, verbose=False), net.weights))
    np.testing.assert_array_equal(runs[0][0]["train_errors"], runs[1][0]["train_errors"])
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    weights = []
    for _ in range(2):
        np.random.seed(5)
        weights.append(FFNN((2, 3, 1)).weights[0])
    np.testing.assert_array_equal(*weights)
    W = FFNN((3, 4), seed=0).weights[0]
    assert W.shape == (4, 4) and np.abs(W[0]).max() < 0.1  # bias row: N(0, 1) * 0.01


def test_progress_is_printed_and_can_be_silenced(capsys):
    t = np.array(GATES["OR"]).reshape(-1, 1)
    FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=0).fit(GATE_X, t, Adam(**ADAM), epochs=5)
    out = capsys.readouterr().out
    assert "Adam: Eta=0.1, Lambda=0" in out and "100.0000%" in out and "train_acc" in out
    FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=0).fit(GATE_X, t, Adam(**ADAM), epochs=5,
                                                                        verbose=False)
    assert capsys.readouterr().out == ""


def test_predict_threshold():
    net = FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=0)
    out = net._feedforward(GATE_X)
    assert net.predict(GATE_X, threshold=0.0).ravel().tolist() == [1, 1, 1, 1]
    assert np.array_equal(net.predict(GATE_X, threshold=0.5), (out > 0.5).astype(int))
    assert net.predict(GATE_X[0]).shape == (1, 1)  # a single sample as a vector
    reg = FFNN((2, 3))
    np.testing.assert_allclose(reg.predict(GATE_X), reg._feedforward(GATE_X))


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(X=np.ones((4, 3))), ValueError, r"X has 3 features per sample .* expects 2"),
    (dict(X=np.ones(4)), ValueError, r"X must be a 2-D array"),
    (dict(t=np.ones((4, 2))), ValueError, r"t has 2 outputs per sample .* expects 1"),
    (dict(t=np.ones((3, 1))), ValueError, r"t has 3 samples but the inputs have 4"),
    (dict(t=np.array([[0], [1], [2], [0]])), ValueError, r"t must hold targets in \[0, 1\].*CostLogReg"),
    (dict(X=np.array([[0, 0], [0, np.nan], [1, 0], [1, 1]])), ValueError, r"X contains NaN or infinite"),
    (dict(t=np.array([[0], [np.inf], [1], [0]])), ValueError, r"t contains NaN or infinite"),
    (dict(scheduler="adam"), TypeError, r"scheduler must be a Scheduler .* got str"),
    (dict(batches=5), ValueError, r"batches=5 is more than the 4 training samples"),
    (dict(epochs=0), ValueError, r"epochs must be a positive integer"),
    (dict(lam=-1.0), ValueError, r"lam must lie in"),
    (dict(X_val=GATE_X), ValueError, r"pass both X_val and t_val"),
    (dict(X_val=np.ones((2, 5)), t_val=np.ones((2, 1))), ValueError, r"X_val has 5 features"),
])
def test_fit_rejects_bad_input(kwargs, exc, match):
    args = dict(X=GATE_X, t=np.array([[0], [1], [1], [0]]), scheduler=Adam(**ADAM), epochs=2, verbose=False)
    args.update(kwargs)
    net = FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg)
    with pytest.raises(exc, match=match):
        net.fit(**args)


def test_labels_the_network_cannot_represent():
    net = FFNN((4, 3), output_func=softmax, cost_func=CostCrossEntropy, seed=0)
    X = np.ones((5, 4))
    with pytest.raises(ValueError, match=r"one label per sample .* 3 outputs; pass one-hot rows of shape \(5, 3\)"):
        net.fit(X, np.array([0, 1, 2, 0, 1]), Adam(**ADAM), verbose=False)
    with pytest.raises(ValueError, match="one-hot rows"):
        net.fit(X, np.ones((5, 3)), Adam(**ADAM), verbose=False)
    with pytest.raises(ValueError, match=r"X has 2 features per sample .* expects 4"):
        net.predict(np.ones((2, 2)))


@pytest.mark.parametrize("args, exc, match", [
    (((3,),), ValueError, "at least two positive integers"),
    (((3, 0, 1),), ValueError, "at least two positive integers"),
    ((5,), TypeError, "dimensions must be a tuple"),
    (((2, 1), "sigmoid"), TypeError, "hidden_func must be a function"),
])
def test_constructor_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        FFNN(*args)


def test_divergence_stops_with_a_warning():
    X = np.array([[1e3], [2e3]])
    net = FFNN((1, 4, 1), hidden_func=identity, seed=0)
    with pytest.warns(RuntimeWarning, match="Lower the learning rate"):
        scores = net.fit(X, np.array([[1.0], [2.0]]), Momentum(10.0, 0.99), epochs=50, verbose=False)
    assert np.isnan(scores["train_errors"][-1])


# ----------------------------------------------------------------------------- NeuralNetwork
def test_neural_network_learns_digits_and_grid_search_pattern(digits):
    from sklearn.metrics import accuracy_score
    X_train, X_test, y_train, y_test = digits
    X_train, X_test = X_train * 16, X_test * 16  # the notes feed the raw pixel values
    Y_train_onehot = onehot(y_train)
    acc = {}
    for eta in (1e-5, 1e-2, 1e1):          # a corner of the notes' logspace(-5, 1, 7) x logspace(-5, 1, 7) grid
        for lmbd in (1e-5, 1e0):
            dnn = NeuralNetwork(X_train, Y_train_onehot, eta=eta, lmbd=lmbd, epochs=30, batch_size=100,
                                n_hidden_neurons=50, n_categories=10, seed=1)
            dnn.train()
            acc[eta, lmbd] = accuracy_score(y_test, dnn.predict(X_test))
    assert acc[1e-2, 1e-5] > 0.85                                 # the good row of the notes' heat map
    assert acc[1e-5, 1e-5] < 0.5 and acc[1e1, 1e-5] < 0.3       # too small: no learning; too large: diverges
    dnn = NeuralNetwork(X_train, y_train, epochs=1, seed=0)      # integer labels are one-hot encoded
    p = dnn.predict_probabilities(X_test)
    assert p.shape == (len(X_test), 10) and np.allclose(p.sum(axis=1), 1)
    assert np.array_equal(dnn.predict(X_test), np.argmax(p, axis=1))


def test_neural_network_bad_input():
    X = np.ones((20, 4))
    with pytest.raises(ValueError, match=r"labels in Y_data must lie in \[0, 9\]"):
        NeuralNetwork(X, np.arange(20))
    with pytest.raises(ValueError, match=r"Y_data has 3 categories .* expects 10"):
        NeuralNetwork(X, np.ones((20, 3)))
    with pytest.raises(ValueError, match="X_data contains NaN"):
        NeuralNetwork(np.full((20, 4), np.nan), np.zeros(20, dtype=int))
    with pytest.raises(ValueError, match="batch_size=100 is larger than the 20 samples"):
        NeuralNetwork(X, np.zeros(20, dtype=int))
    dnn = NeuralNetwork(X, np.zeros(20, dtype=int), batch_size=5, epochs=1)
    with pytest.raises(ValueError, match=r"X has 3 features .* expects 4"):
        dnn.predict(np.ones((2, 3)))
