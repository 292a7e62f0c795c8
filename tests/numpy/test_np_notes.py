"""The lecture notes' cost functions and activations, written exactly as the notes write them, run
with ``import chainrule.numpy as np`` / ``from chainrule import elementwise_grad`` in place of
autograd's: the same gradients as HIPS autograd running the same text, and as chainrule.ffnn's."""
import textwrap

import autograd
import numpy as onp
import pytest

import chainrule as cr
from chainrule import ffnn

# The notes' code ("Cost functions", "Activation functions"), verbatim but for the import lines.
NOTES = textwrap.dedent('''
    def CostOLS(target):
        def func(X):
            return (1.0 / target.shape[0]) * np.sum((target - X) ** 2)
        return func

    def CostLogReg(target):
        def func(X):
            return -(1.0 / target.shape[0]) * np.sum(
                (target * np.log(X + 10e-10)) + ((1 - target) * np.log(1 - X + 10e-10))
            )
        return func

    def CostCrossEntropy(target):
        def func(X):
            return -(1.0 / target.size) * np.sum(target * np.log(X + 10e-10))
        return func

    def identity(X):
        return X

    def sigmoid(X):
        try:
            return 1.0 / (1 + np.exp(-X))
        except FloatingPointError:
            return np.where(X > np.zeros(X.shape), np.ones(X.shape), np.zeros(X.shape))

    def softmax(X):
        X = X - np.max(X, axis=-1, keepdims=True)
        delta = 10e-10
        return np.exp(X) / (np.sum(np.exp(X), axis=-1, keepdims=True) + delta)

    def RELU(X):
        return np.where(X > np.zeros(X.shape), X, np.zeros(X.shape))

    def LRELU(X):
        delta = 10e-4
        return np.where(X > np.zeros(X.shape), X, delta * X)

    def derivate(func):
        if func.__name__ == "RELU":
            def func(X):
                return np.where(X > 0, 1, 0)
            return func
        elif func.__name__ == "LRELU":
            def func(X):
                delta = 10e-4
                return np.where(X > 0, 1, delta)
            return func
        else:
            return elementwise_grad(func)
''')


def _load(imports):
    ns = {}
    exec(imports + NOTES, ns)  # noqa: S102 (the notes' own text)
    return ns


OURS = _load("import chainrule.numpy as np\nfrom chainrule import grad, elementwise_grad\n")
THEIRS = _load("import autograd.numpy as np\nfrom autograd import grad, elementwise_grad\n")

rng = onp.random.default_rng(0)
A = rng.uniform(0.05, 0.95, (6, 3))            # network outputs in (0, 1)
T01 = (rng.uniform(size=(6, 3)) > 0.5).astype(float)
T1HOT = onp.eye(3)[rng.integers(0, 3, 6)]
Z = rng.normal(size=(6, 3)) * 2                # pre-activations, away from 0 below
Z[onp.abs(Z) < 0.05] = 0.3


@pytest.mark.parametrize("cost,target", [("CostOLS", T01), ("CostLogReg", T01), ("CostCrossEntropy", T1HOT)])
def test_cost_gradients_match_autograd_and_ffnn(cost, target):
    ours = cr.grad(OURS[cost](target))(A)
    theirs = autograd.grad(THEIRS[cost](target))(A)
    onp.testing.assert_allclose(ours, theirs, rtol=1e-12)
    onp.testing.assert_allclose(ours, cr.grad(getattr(ffnn, cost)(target))(A), rtol=1e-12)
    onp.testing.assert_allclose(OURS[cost](target)(cr.tensor(A)).numpy(), THEIRS[cost](target)(A), rtol=1e-12)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "RELU", "LRELU", "softmax"])
def test_activation_derivatives_match_autograd_and_ffnn(name):
    ours = OURS["derivate"](OURS[name])(Z)
    theirs = THEIRS["derivate"](THEIRS[name])(Z)
    onp.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    onp.testing.assert_allclose(OURS[name](cr.tensor(Z)).numpy(), THEIRS[name](Z), rtol=1e-12)
    # the elementwise derivative through chainrule.numpy, whatever derivate() special-cases
    onp.testing.assert_allclose(cr.elementwise_grad(OURS[name])(Z), autograd.elementwise_grad(THEIRS[name])(Z),
                                rtol=1e-12, atol=1e-15)
    if name in ("identity", "sigmoid", "RELU"):   # chainrule.ffnn's closed forms
        onp.testing.assert_allclose(ours, ffnn.derivate(getattr(ffnn, name))(Z), rtol=1e-12)
    if name == "softmax":  # the column sums of softmax's Jacobian are 0: elementwise_grad of softmax is ~0
        onp.testing.assert_allclose(ours, 0, atol=1e-8)


def test_the_notes_output_gradient_through_a_softmax_layer():
    """The FFNN's output error: grad of the cost of softmax(z), both written as the notes write them."""
    f_ours = lambda z: OURS["CostCrossEntropy"](T1HOT)(OURS["softmax"](z))  # noqa: E731
    f_theirs = lambda z: THEIRS["CostCrossEntropy"](T1HOT)(THEIRS["softmax"](z))  # noqa: E731
    onp.testing.assert_allclose(cr.grad(f_ours)(Z), autograd.grad(f_theirs)(Z), rtol=1e-10)
    g_ours = lambda z: OURS["CostCrossEntropy"](T1HOT[:2])(OURS["softmax"](z))  # noqa: E731
    g_theirs = lambda z: THEIRS["CostCrossEntropy"](T1HOT[:2])(THEIRS["softmax"](z))  # noqa: E731
    onp.testing.assert_allclose(cr.hessian(g_ours)(Z[:2]), autograd.hessian(g_theirs)(Z[:2]), rtol=1e-8, atol=1e-12)
