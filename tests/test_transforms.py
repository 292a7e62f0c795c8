"""The lecture notes' worked examples, and the transforms against HIPS autograd."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import logsumexp

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
    np.testing.assert_allclose(cr.hessian(s_cr)(x), autograd.hessian(s_ag)(x), rtol=1e-12, atol=1e-12)
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


def test_second_derivative_of_the_notes_first_example():
    # f(x) = exp(x^2):  f'(x) = 2x exp(x^2),  f''(x) = (2 + 4x^2) exp(x^2), by differentiating the gradient
    x = np.linspace(-1.5, 1.5, 7)
    d2 = cr.elementwise_grad(cr.elementwise_grad(lambda t: cr.exp(t ** 2)))(x)
    np.testing.assert_allclose(d2, (2 + 4 * x ** 2) * np.exp(x ** 2), rtol=1e-12)
    assert cr.grad(cr.grad(lambda t: cr.exp(t ** 2)))(1.0) == pytest.approx(6 * np.e, rel=1e-12)
    # third derivative: (12x + 8x^3) exp(x^2)
    d3 = cr.grad(cr.grad(cr.grad(lambda t: cr.exp(t ** 2))))(0.7)
    assert d3 == pytest.approx((12 * 0.7 + 8 * 0.7 ** 3) * np.exp(0.49), rel=1e-12)


def test_hessian_is_exact_and_matches_autograd_on_a_network():
    """The Hessian of an MLP's loss with respect to its first weight matrix, exact to rounding."""
    rng = np.random.default_rng(3)
    X, W2, y = rng.standard_normal((6, 3)), rng.standard_normal((4, 2)), np.array([0, 1, 1, 0, 1, 0])
    T = np.eye(2)[y]

    def loss_cr(W1):
        z = cr.sigmoid(X @ W1) @ W2
        return -cr.mean(cr.sum(cr.log_softmax(z) * T, axis=1))

    def loss_ag(W1):
        z = (1 / (1 + anp.exp(-(X @ W1)))) @ W2
        return -anp.mean(anp.sum((z - logsumexp(z, axis=1, keepdims=True)) * T, axis=1))

    W1 = rng.standard_normal((3, 4))
    H = cr.hessian(loss_cr)(W1)
    assert H.shape == (3, 4, 3, 4)
    np.testing.assert_allclose(H, autograd.hessian(loss_ag)(W1), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(H.reshape(12, 12), H.reshape(12, 12).T, atol=1e-14)  # symmetric by itself
    v = rng.standard_normal((3, 4))
    _, hv = cr.jvp(cr.grad(loss_cr), (W1,), (v,))  # forward over reverse
    np.testing.assert_allclose(hv, np.tensordot(H, v, 2), rtol=1e-10, atol=1e-13)


def test_nested_grad_sees_variables_of_the_enclosing_function():
    # d/dx [ d/dy (x y) at y=2 ] = d/dx x = 1; autograd calls this a closure over a boxed value
    assert cr.grad(lambda x: cr.grad(lambda y: x * y)(2.0))(3.0) == pytest.approx(1.0)
    # d/dx [ x * d/dy (x y^2) at y=3 ] = d/dx (6 x^2) = 12 x
    assert cr.grad(lambda x: x * cr.grad(lambda y: x * y ** 2)(3.0))(0.5) == pytest.approx(6.0)
    # nested transforms hand Tensors to the enclosing one, top-level ones plain ndarrays
    seen = {}

    def outer(x):
        seen["inner"] = cr.grad(lambda y: cr.sum(y ** 2))(x)
        return cr.sum(seen["inner"])
    assert isinstance(cr.grad(outer)(np.ones(2)), np.ndarray)
    assert isinstance(seen["inner"], cr.Tensor)


def test_gradients_with_create_graph_gives_a_gradient_penalty():
    """PyTorch's torch.autograd.grad(..., create_graph=True): a loss on d(output)/d(input) trains the weights."""
    cr.set_default_dtype("float64")
    try:
        w = cr.tensor([0.5, -1.0], requires_grad=True)
        x = cr.tensor([0.3, 0.7], requires_grad=True)
        y = cr.sum(cr.tanh(w * x))
        (gx,) = cr.gradients(y, x, create_graph=True)  # w (1 - tanh^2(w x))
        penalty = cr.sum(gx ** 2)
        penalty.backward()
        t = np.tanh(w.data * x.data)
        # d/dw of sum(w^2 (1 - t^2)^2) = 2w (1-t^2)^2 + w^2 * 2(1-t^2) * (-2 t (1-t^2) x)
        expected = 2 * w.data * (1 - t ** 2) ** 2 - 4 * w.data ** 2 * t * (1 - t ** 2) ** 2 * x.data
        np.testing.assert_allclose(w.grad, expected, rtol=1e-12)
        # without create_graph the result is a constant and no .grad is touched
        w.grad = None
        (g2,) = cr.gradients(y, [w])
        assert not g2.requires_grad and w.grad is None
        np.testing.assert_allclose(g2.numpy(), x.data * (1 - t ** 2), rtol=1e-12)
        assert cr.gradients(y, [w, cr.tensor([1.0], requires_grad=True)])[1] is None  # unused input
        with pytest.raises(RuntimeError, match="not a single value"):
            cr.gradients(w * x, w)
        with pytest.raises(TypeError, match="expected Tensors"):
            cr.gradients(y, np.ones(2))
    finally:
        cr.set_default_dtype("float32")


def test_a_model_gradient_with_respect_to_its_input_stays_differentiable():
    """grad inside a loss of a model with parameters (a physics-informed loss): the parameters get gradients."""
    cr.set_default_dtype("float64")
    try:
        W = cr.tensor(np.array([[0.3, -0.2], [0.1, 0.4]]), requires_grad=True)
        u = lambda x: cr.sum(cr.tanh(x @ W))  # noqa: E731
        x0 = np.array([[0.5, -1.0]])
        loss = cr.sum(cr.grad(u)(x0) ** 2)  # du/dx depends on W
        assert isinstance(loss, cr.Tensor) and loss.requires_grad
        loss.backward()

        def u_ag(x, W):
            return anp.sum(anp.tanh(x @ W))
        ref = autograd.grad(lambda W: anp.sum(autograd.grad(u_ag)(x0, W) ** 2))(W.data)
        np.testing.assert_allclose(W.grad, ref, rtol=1e-12)
    finally:
        cr.set_default_dtype("float32")


def test_reverse_over_forward_and_forward_over_forward():
    # d/dx sum(jvp(t^2, x, 1)) = d/dx sum(2x) = 2, and the second derivative of exp along x: x^2 e^x ...
    np.testing.assert_allclose(cr.grad(lambda x: cr.sum(cr.jvp(lambda t: t ** 2, (x,), (np.ones(2),))[1]))(np.ones(2)),
                               [2.0, 2.0])
    # f(x) = jvp(exp, x, x) = x e^x;  its jvp along 1 is (1 + x) e^x
    _, t = cr.jvp(lambda x: cr.jvp(cr.exp, (x,), (x,))[1], (np.ones(2),), (np.ones(2),))
    np.testing.assert_allclose(t, 2 * np.e * np.ones(2), rtol=1e-12)


def test_arrays_shared_by_two_tensors_cannot_be_differentiated_twice():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = cr.sum(x * x.detach())  # two tensors sharing one array
    with pytest.raises(ValueError, match="sharing one array"):
        cr.gradients(y, x, create_graph=True)
    np.testing.assert_array_equal(cr.gradients(y, x)[0].numpy(), [1.0, 2.0])  # first order is fine


def test_gradgradcheck_catches_a_derived_value_missing_from_the_graph():
    class Cube(cr.Function):
        """y = x^3, saving the derived value 3 x^2 (correct first derivatives)."""

        def forward(self, x):
            self.d = 3 * x * x
            return x ** 3

        def backward(self, g):
            return (g * self.d,)

        def jvp(self, dx):
            return self.d * dx

    x = np.array([0.5, 1.5])
    assert cr.gradcheck(lambda t: Cube.apply(t), x)
    with pytest.raises(cr.GradcheckError, match="reverse-over-reverse gives"):
        cr.gradgradcheck(lambda t: Cube.apply(t), x)

    class GoodCube(Cube):
        def saved_from_graph(self, inputs, out):
            return {"d": 3 * inputs[0] * inputs[0]}

    assert cr.gradgradcheck(lambda t: GoodCube.apply(t), x)
    np.testing.assert_allclose(cr.elementwise_grad(cr.elementwise_grad(lambda t: GoodCube.apply(t)))(x), 6 * x)


# ---------------------------------------------------------------- transforms autograd and JAX users expect
def test_grad_with_several_argnums_and_pytrees():
    def loss_cr(params, x, scale):
        h = cr.tanh(x @ params["W"] + params["b"])
        return scale * cr.sum(h ** 2) + cr.sum(params["extra"][0] * params["extra"][1])

    def loss_ag(params, x, scale):
        h = anp.tanh(x @ params["W"] + params["b"])
        return scale * anp.sum(h ** 2) + anp.sum(params["extra"][0] * params["extra"][1])

    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "extra": (rng.normal(size=2), [0.5, 1.5])}
    x = rng.normal(size=(4, 3))
    gp, gs = cr.grad(loss_cr, argnum=(0, 2))(params, x, 0.7)
    ag = autograd.grad(loss_ag, 0)(dict(params, extra=(params["extra"][0], np.array(params["extra"][1]))), x, 0.7)
    assert set(gp) == {"W", "b", "extra"} and isinstance(gp["extra"], tuple) and isinstance(gp["extra"][1], list)
    for a, b in [(gp["W"], ag["W"]), (gp["b"], ag["b"]), (gp["extra"][0], ag["extra"][0])]:
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gp["extra"][1], dtype=float), ag["extra"][1], rtol=1e-12)
    params_ag = dict(params, extra=(params["extra"][0], np.array(params["extra"][1])))
    assert gs == pytest.approx(autograd.grad(loss_ag, 2)(params_ag, x, 0.7), rel=1e-12)
    np.testing.assert_allclose(cr.grad(loss_cr, argnums=1)(params, x, 0.7), autograd.grad(loss_ag, 1)(params_ag, x, 0.7))
    assert cr.grad(lambda p: p[0] * p[1] + (p[2] if p[2] is not None else 0))((2.0, 3.0, None))[2] is None


def test_value_and_grad_with_aux_and_grad_with_aux():
    def f(x):
        y = cr.sum(x ** 2)
        return y, {"norm": cr.sqrt(y), "n": 3}
    (v, aux), g = cr.value_and_grad(f, has_aux=True)(np.array([3.0, 4.0]))
    assert float(v) == 25.0 and float(aux["norm"]) == 5.0 and aux["n"] == 3 and type(aux["norm"]) is np.ndarray
    np.testing.assert_allclose(g, [6.0, 8.0])
    g2, aux2 = cr.grad(f, has_aux=True)(np.array([3.0, 4.0]))
    np.testing.assert_allclose(g2, [6.0, 8.0])
    with pytest.raises(TypeError, match=r"has_aux=True the function must return a pair"):
        cr.grad(lambda x: cr.sum(x), has_aux=True)(np.ones(2))


def test_vjp_and_jvp_of_pytree_functions():
    def f(d):
        return {"s": cr.sum(d["a"] * d["b"]), "p": (d["a"] ** 2, cr.exp(d["b"]))}
    d = {"a": np.array([1.0, 2.0]), "b": np.array([0.5, -0.5])}
    y, back = cr.vjp(f, d)
    assert float(y["s"]) == pytest.approx(1.0 * 0.5 - 2.0 * 0.5)
    ga = back({"s": np.array(1.0), "p": (np.array([1.0, 0.0]), np.array([0.0, 1.0]))})
    np.testing.assert_allclose(ga["a"], d["b"] + [2.0, 0.0])
    np.testing.assert_allclose(ga["b"], d["a"] + [0.0, np.exp(-0.5)])
    val, tan = cr.jvp(f, (d,), ({"a": np.ones(2), "b": np.zeros(2)},))
    np.testing.assert_allclose(tan["s"], d["b"].sum())
    np.testing.assert_allclose(tan["p"][0], 2 * d["a"])
    np.testing.assert_allclose(tan["p"][1], [0.0, 0.0])
    with pytest.raises(ValueError, match="the cotangent has structure"):
        back(np.ones(2))
    with pytest.raises(ValueError, match="tangent 0 has structure"):
        cr.jvp(f, (d,), (np.ones(2),))


def test_hessian_vector_products_and_deriv_match_autograd():
    def f_cr(x):
        return cr.sum(cr.sin(x) * x ** 2) + cr.prod(x)

    def f_ag(x):
        return anp.sum(anp.sin(x) * x ** 2) + anp.prod(x)
    x, v = np.array([0.3, -1.1, 0.8]), np.array([1.0, 0.5, -2.0])
    theirs = autograd.hessian_vector_product(f_ag)(x, v)
    np.testing.assert_allclose(cr.hessian_vector_product(f_cr)(x, v), theirs, rtol=1e-12)
    np.testing.assert_allclose(cr.hvp(f_cr, (x,), (v,)), theirs, rtol=1e-12)
    np.testing.assert_allclose(cr.hvp(f_cr, x, v), theirs, rtol=1e-12)
    np.testing.assert_allclose(cr.deriv(cr.tanh)(x), autograd.deriv(anp.tanh)(x), rtol=1e-12)
    np.testing.assert_allclose(cr.deriv(lambda a, b: a * b, 1)(2.0, x), np.full(3, 2.0))


def test_every_nesting_of_forward_and_reverse_gives_the_hessian():
    """H v four ways: reverse over reverse, forward over reverse, reverse over forward, and the
    forward-over-forward second directional derivative v^T H v, against autograd's Hessian."""
    def f(x):
        return cr.sum(cr.exp(x[0] * x[1]) + cr.sin(x) ** 2)
    x, v = np.array([0.4, -0.7]), np.array([0.3, 1.2])
    H = autograd.hessian(lambda t: anp.sum(anp.exp(t[0] * t[1]) + anp.sin(t) ** 2))(x)
    rr = cr.grad(lambda t: cr.sum(cr.grad(f)(t) * v))(x)
    fr = cr.jvp(cr.grad(f), (x,), (v,))[1]
    rf = cr.grad(lambda t: cr.jvp(f, (t,), (v,))[1])(x)
    ff = cr.jvp(lambda t: cr.jvp(f, (t,), (v,))[1], (x,), (v,))[1]
    for got in (rr, fr, rf):
        np.testing.assert_allclose(got, H @ v, rtol=1e-12)
    assert float(ff) == pytest.approx(v @ H @ v, rel=1e-12)
    # third order: d/dx of the forward-over-forward value
    third = cr.grad(lambda t: cr.jvp(lambda s: cr.jvp(f, (s,), (v,))[1], (t,), (v,))[1])(x)
    ag3 = autograd.grad(lambda t: v @ autograd.hessian(lambda s: anp.sum(anp.exp(s[0] * s[1]) + anp.sin(s) ** 2))(t)
                        @ v)(x)
    np.testing.assert_allclose(third, ag3, rtol=1e-10)


def test_primitive_defvjp_defjvp_as_in_autograd():
    @cr.primitive
    def logsumexp(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    cr.defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
    cr.defjvp(logsumexp, lambda g, ans, x: np.sum(g * np.exp(x - ans)))
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(cr.grad(logsumexp)(x), np.exp(x - logsumexp(x)), rtol=1e-12)
    assert cr.gradcheck(logsumexp, x)
    assert cr.gradgradcheck(logsumexp, x)  # the VJP, written with NumPy, is recorded on Tensors
    np.testing.assert_allclose(cr.hessian(logsumexp)(x), autograd.hessian(logsumexp_ag)(x), rtol=1e-10)
    assert isinstance(logsumexp(x), np.float64)  # without Tensors: the function itself

    @cr.primitive
    def scale(a, k):
        return a * k
    cr.defvjp(scale, lambda ans, a, k: lambda g: g * k, None)
    assert cr.grad(lambda a: scale(a, 3.0))(2.0) == 3.0
    with pytest.raises(NotImplementedError, match="scale: no VJP with respect to argument 1"):
        cr.grad(lambda k: scale(2.0, k))(3.0)
    with pytest.raises(NotImplementedError, match="scale: no JVP"):
        cr.jvp(lambda a: scale(a, 3.0), (1.0,), (1.0,))
    with pytest.raises(TypeError, match="expected a function decorated with @chainrule.primitive"):
        cr.defvjp(np.exp, None)


def logsumexp_ag(x):
    return logsumexp(x)
