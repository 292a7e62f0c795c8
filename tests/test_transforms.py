"""The lecture notes' worked examples, and the transforms against HIPS autograd."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import chainrule as cr


def test_exp_of_square():
    # f(x) = exp(x^2)  ->  f'(x) = 2x exp(x^2)
    x = np.linspace(-1.5, 1.5, 7)
    np.testing.assert_allclose(cr.elementwise_grad(lambda t: cr.exp(t ** 2))(x), 2 * x * np.exp(x ** 2), rtol=1e-12)
    assert cr.grad(lambda t: cr.exp(t ** 2))(0.5) == pytest.approx(2 * 0.5 * np.exp(0.25), rel=1e-12)


def test_sqrt_of_square_plus_exp():
    # f(x) = sqrt(x^2 + exp(x^2))  ->  f'(x) = x (1 + exp(x^2)) / sqrt(x^2 + exp(x^2))
    x = np.linspace(-2, 2, 9)
    expected = x * (1 + np.exp(x ** 2)) / np.sqrt(x ** 2 + np.exp(x ** 2))
    got = cr.elementwise_grad(lambda t: cr.sqrt(t ** 2 + cr.exp(t ** 2)))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    _, fwd = cr.jvp(lambda t: cr.sqrt(t ** 2 + cr.exp(t ** 2)), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(fwd, expected, rtol=1e-12)


def test_two_input_perceptron_nine_partial_derivatives():
    """Two inputs, two sigmoid hidden units, one sigmoid output, C = (a2 - y)^2 / 2.

    By hand (back-propagation):  delta2 = (a2 - y) a2 (1 - a2);  dC/dw2_i = delta2 a1_i;  dC/db2 = delta2;
    delta1_i = w2_i a1_i (1 - a1_i) delta2;  dC/dw1_ij = delta1_i x_j;  dC/db1_i = delta1_i.
    (The notes write a_0^(1) in dC/dw_00^(1); the factor is the input x_0 = a_0^(0).)
    """
    x = np.array([0.3, -0.8])
    y = 0.7
    W1 = np.array([[0.2, -0.4], [0.7, 0.1]])
    b1 = np.array([0.05, -0.1])
    w2 = np.array([0.6, -0.3])
    b2 = np.array(0.2)

    def cost(W1, b1, w2, b2):
        a1 = cr.sigmoid(W1 @ x + b1)
        a2 = cr.sigmoid(cr.sum(w2 * a1) + b2)
        return 0.5 * (a2 - y) ** 2

    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    a1 = sig(W1 @ x + b1)
    a2 = sig(w2 @ a1 + b2)
    d2 = (a2 - y) * a2 * (1 - a2)
    d1 = w2 * a1 * (1 - a1) * d2
    expected = [np.outer(d1, x), d1, d2 * a1, d2]
    params = (W1, b1, w2, b2)
    for k in range(4):
        np.testing.assert_allclose(cr.grad(cost, k)(*params), expected[k], rtol=1e-12)
    assert sum(np.size(e) for e in expected) == 9
    assert cr.gradcheck(cost, *params)


def test_transforms_agree_with_autograd():
    def f_cr(x):
        return cr.tanh(x) * cr.sum(x ** 2) + cr.log(1 + cr.exp(x))

    def f_ag(x):
        return anp.tanh(x) * anp.sum(x ** 2) + anp.log(1 + anp.exp(x))

    x = np.array([0.3, -1.2, 0.8])
    np.testing.assert_allclose(cr.jacobian(f_cr)(x), autograd.jacobian(f_ag)(x), rtol=1e-12)
    s_cr = lambda x: cr.sum(f_cr(x) ** 2)  # noqa: E731
    s_ag = lambda x: anp.sum(f_ag(x) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.grad(s_cr)(x), autograd.grad(s_ag)(x), rtol=1e-12)
    v, g = cr.value_and_grad(s_cr)(x)
    assert v == pytest.approx(s_ag(x), rel=1e-12)
    np.testing.assert_allclose(g, autograd.grad(s_ag)(x), rtol=1e-12)
    np.testing.assert_allclose(cr.hessian(s_cr)(x), autograd.hessian(s_ag)(x), rtol=1e-6, atol=1e-8)
    y, back = cr.vjp(f_cr, x)
    u = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(back(u), u @ autograd.jacobian(f_ag)(x), rtol=1e-12)
    np.testing.assert_allclose(y, f_ag(x))
    t = np.array([0.1, 0.2, -0.3])
    val, tan = cr.jvp(f_cr, (x,), (t,))
    np.testing.assert_allclose(tan, autograd.jacobian(f_ag)(x) @ t, rtol=1e-12)


def test_jvp_with_several_arguments_and_constants():
    f = lambda a, b: a * b + 3.0  # noqa: E731
    val, tan = cr.jvp(f, (np.array([2.0]), np.array([5.0])), (np.array([1.0]), np.array([0.0])))
    np.testing.assert_allclose(val, [13.0])
    np.testing.assert_allclose(tan, [5.0])
    _, tan = cr.jvp(lambda a: np.ones(2) * 4.0, (np.ones(2),), (np.ones(2),))  # does not depend on a
    np.testing.assert_array_equal(tan, [0.0, 0.0])


def test_grad_argnum_and_output_errors():
    g = cr.grad(lambda a, b: cr.sum(a * b), argnum=1)
    np.testing.assert_allclose(g(np.array([2.0, 3.0]), np.ones(2)), [2.0, 3.0])
    with pytest.raises(ValueError, match="argnum=2 but the function was called with 2 positional"):
        cr.grad(lambda a, b: cr.sum(a), argnum=2)(1.0, 2.0)
    with pytest.raises(ValueError, match=r"must return a single value, got shape \(2,\)"):
        cr.grad(lambda a: a * 2)(np.ones(2))
    with pytest.raises(ValueError, match=r"tangent 0 must have its primal's shape \(2,\), got \(3,\)"):
        cr.jvp(cr.exp, (np.ones(2),), (np.ones(3),))
    np.testing.assert_array_equal(cr.grad(lambda a: cr.sum(np.ones(2)))(np.ones(2)), [0.0, 0.0])


def test_gradcheck_catches_a_wrong_derivative():
    class BadSquare(cr.Function):
        """y = x^2 with a deliberately wrong VJP (x instead of 2x)."""

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return (g * self.x,)

        def jvp(self, dx):
            return 2 * self.x * dx

    with pytest.raises(cr.GradcheckError, match=r"input 0, index \(1,\): reverse mode gives"):
        cr.gradcheck(lambda t: BadSquare.apply(t), np.array([0.0, 1.5]))

    class BadForward(BadSquare):
        def backward(self, g):
            return (2 * g * self.x,)

        def jvp(self, dx):
            return self.x * dx

    with pytest.raises(cr.GradcheckError, match="forward mode gives"):
        cr.gradcheck(lambda t: BadForward.apply(t), np.array([1.5]))
