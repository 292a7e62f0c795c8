"""Every primitive: gradcheck in float64 (reverse vs forward vs finite differences) on
hypothesis-generated inputs of several shapes, and agreement with HIPS autograd."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import erf as a_erf, logsumexp as a_logsumexp
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ops

SHAPES = [(), (3,), (2, 3), (1, 3)]
BROADCAST_PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((1, 3), (2, 1)),
                   ((2, 3), ()), ((3,), (2, 3)), ((2, 1, 3), (4, 3))]
FAST = settings(max_examples=8, deadline=None)


def values(shape, lo=-2.0, hi=2.0, avoid=None):
    """Arrays of float64 in [lo, hi]; ``avoid`` keeps inputs at least 0.05 from a kink."""
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)
    if avoid is not None:
        elems = elems.filter(lambda v: abs(v - avoid) > 0.05)
    return arrays(np.float64, shape, elements=elems)


# name: (chainrule function, autograd function, lo, hi, kink)
UNARY = {
    "neg": (cr.neg, anp.negative, -2, 2, None),
    "exp": (cr.exp, anp.exp, -2, 2, None),
    "log": (cr.log, anp.log, 0.2, 3, None),
    "sqrt": (cr.sqrt, anp.sqrt, 0.2, 3, None),
    "abs": (cr.abs, anp.abs, -2, 2, 0.0),
    "tanh": (cr.tanh, anp.tanh, -2, 2, None),
    "sigmoid": (cr.sigmoid, lambda x: 1 / (1 + anp.exp(-x)), -4, 4, None),
    "relu": (cr.relu, lambda x: anp.maximum(x, 0), -2, 2, 0.0),
    "leaky_relu": (lambda x: cr.leaky_relu(x, 0.1), lambda x: anp.where(x > 0, x, 0.1 * x), -2, 2, 0.0),
    "elu": (cr.elu, lambda x: anp.where(x > 0, x, anp.exp(anp.minimum(x, 0)) - 1), -2, 2, 0.0),
    "softplus": (cr.softplus, lambda x: anp.logaddexp(0, x), -3, 3, None),
    # Keras' and PyTorch's other activations, written here from their textbook formulas
    "selu": (ops.selu, lambda x: 1.0507009873554805 * anp.where(x > 0, x, 1.6732632423543772
                                                                * (anp.exp(anp.minimum(x, 0)) - 1)), -2, 2, 0.0),
    "softsign": (ops.softsign, lambda x: x / (1 + anp.abs(x)), -2, 2, 0.0),
    "relu6": (ops.relu6, lambda x: anp.clip(x, 0, 6), -1, 5.9, 0.0),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: anp.clip(x / 6 + 0.5, 0, 1), -2.9, 2.9, None),
    "silu": (ops.silu, lambda x: x / (1 + anp.exp(-x)), -4, 4, None),
    "gelu": (ops.gelu, lambda x: x * (1 + a_erf(x / np.sqrt(2))) / 2, -3, 3, None),
    "mish": (ops.mish, lambda x: x * anp.tanh(anp.logaddexp(0, x)), -3, 3, None),
    "hard_silu": (ops.hard_silu, lambda x: x * anp.clip(x + 3, 0, 6) / 6, -2.9, 2.9, None),
    "clip": (lambda x: cr.clip(x, -1, 1), lambda x: anp.clip(x, -1, 1), -2, 2, 1.0),
    "square": (lambda x: x ** 2, lambda x: x ** 2, -2, 2, None),
    "pow_const": (lambda x: x ** 1.5, lambda x: x ** 1.5, 0.2, 2, None),
    "rdiv": (lambda x: 1.0 / x, lambda x: 1.0 / x, 0.5, 2, None),
}
NO_AUTOGRAD_JVP = {"gelu"}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck_and_autograd(name, shape):
    f, af, lo, hi, kink = UNARY[name]
    if name == "clip":  # keep away from both kinks at -1 and 1
        strat = values(shape, lo, hi).filter(lambda a: np.all(np.abs(np.abs(a) - 1) > 0.05))
    else:
        strat = values(shape, lo, hi, kink)

    @FAST
    @given(strat)
    def check(x):
        assert cr.gradcheck(f, x)
        u = np.linspace(-1, 1, np.size(x)).reshape(np.shape(x))
        ours = cr.grad(lambda t: cr.sum(f(t) * u))(x)
        theirs = autograd.grad(lambda t: anp.sum(af(t) * u))(x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(f(x), af(x), rtol=1e-12, atol=1e-12)
        # forward mode against autograd's forward mode
        v = np.cos(np.arange(np.size(x))).reshape(np.shape(x))
        _, ours_t = cr.jvp(f, (x,), (v,))
        if name in NO_AUTOGRAD_JVP:   # autograd has no forward mode for erf: its VJP, elementwise, is the JVP
            theirs_t = autograd.elementwise_grad(af)(x) * v
        else:
            _, theirs_t = autograd.make_jvp(af)(x)(v)
        np.testing.assert_allclose(ours_t, theirs_t, rtol=1e-10, atol=1e-12)
        # second derivatives: three ways agree, and the Hessian-vector product matches autograd's
        assert cr.gradgradcheck(f, x)
        _, hv = cr.jvp(cr.grad(lambda t: cr.sum(f(t) * u)), (x,), (v,))
        theirs_hv = autograd.hessian_vector_product(lambda t: anp.sum(af(t) * u))(x, v)
        np.testing.assert_allclose(hv, theirs_hv, rtol=1e-9, atol=1e-12)
    check()


BINARY = {
    "add": (cr.add, anp.add, (-2, 2), (-2, 2)),
    "sub": (cr.sub, anp.subtract, (-2, 2), (-2, 2)),
    "mul": (cr.mul, anp.multiply, (-2, 2), (-2, 2)),
    "div": (cr.div, anp.divide, (-2, 2), (0.5, 2)),
    "pow": (cr.pow, anp.power, (0.3, 2), (-1.5, 1.5)),
    "where": (lambda a, b: cr.where(cr.tensor(a).numpy() > cr.tensor(b).numpy(), a, b),
              # autograd's where does not undo broadcasting itself, so broadcast first with + 0 * other
              lambda a, b: anp.where(a > b, a + 0 * b, b + 0 * a), (-2, 2), (-2, 2)),
}


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcast_gradcheck_and_autograd(name, shapes):
    f, af, (alo, ahi), (blo, bhi) = BINARY[name]
    sa, sb = shapes

    @FAST
    @given(values(sa, alo, ahi), values(sb, blo, bhi))
    def check(a, b):
        if name == "where" and np.any(np.abs(np.subtract(a, b)) < 0.05):
            return  # selection is discontinuous where a == b
        assert cr.gradcheck(f, a, b)
        for argnum in (0, 1):
            ours = cr.grad(lambda x, y: cr.sum(f(x, y)), argnum)(a, b)
            theirs = autograd.grad(lambda x, y: anp.sum(af(x, y)), argnum)(a, b)
            assert np.shape(ours) == np.shape((a, b)[argnum])  # broadcasting undone
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
            # the diagonal Hessian block d^2 s / d(arg)^2 against autograd's
            v = np.cos(np.arange(np.size((a, b)[argnum]))).reshape(np.shape((a, b)[argnum]))
            ours_h = cr.hessian(lambda x, y: cr.sum(f(x, y) ** 2), argnum)(a, b)
            theirs_hv = autograd.hessian_vector_product(lambda x, y: anp.sum(af(x, y) ** 2), argnum)(a, b, v)
            np.testing.assert_allclose(np.tensordot(ours_h, v, np.ndim(v)), theirs_hv, rtol=1e-9, atol=1e-10)
        assert cr.gradgradcheck(f, a, b)
    check()


REDUCTIONS = {
    "sum": (cr.sum, anp.sum),
    "mean": (cr.mean, anp.mean),
    "max": (cr.max, anp.max),
    "min": (cr.min, anp.min),
    "logsumexp": (cr.logsumexp, a_logsumexp),
    "var": (cr.var, anp.var),
}


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), (-1, False), ((0, 1), False)])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, axis, keepdims):
    f, af = REDUCTIONS[name]

    @FAST
    @given(values((3, 4), -2, 2))
    def check(x):
        if name in ("max", "min"):
            x = x + np.arange(12).reshape(3, 4) * 10.0  # distinct values: no ties
        g = lambda t: f(t, axis=axis, keepdims=keepdims)  # noqa: E731
        assert cr.gradcheck(g, x)
        np.testing.assert_allclose(g(x), af(x, axis=axis, keepdims=keepdims), rtol=1e-12)
        ours = cr.grad(lambda t: cr.sum(g(t) ** 2))(x)
        theirs = autograd.grad(lambda t: anp.sum(af(t, axis=axis, keepdims=keepdims) ** 2))(x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        assert cr.gradgradcheck(g, x)
        ours_h = cr.hessian(lambda t: cr.sum(g(t) ** 2))(x)
        theirs_h = autograd.hessian(lambda t: anp.sum(af(t, axis=axis, keepdims=keepdims) ** 2))(x)
        np.testing.assert_allclose(ours_h, theirs_h, rtol=1e-9, atol=1e-10)
    check()


def test_max_splits_gradient_between_ties():
    x = cr.tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    cr.max(x).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


@pytest.mark.parametrize("shape", [(3, 4), (12, 5)])  # (12, 5): a batch of rows takes row_max/row_sum
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, axis, shape):
    f = getattr(cr, name)

    def ref(x):
        z = x - a_logsumexp(x, axis=axis, keepdims=True)
        return anp.exp(z) if name == "softmax" else z

    @FAST
    @given(values(shape, -3, 3))
    def check(x):
        assert cr.gradcheck(lambda t: f(t, axis=axis), x)
        np.testing.assert_allclose(f(x, axis=axis), ref(x), rtol=1e-12, atol=1e-15)
        u = np.sin(np.arange(x.size, dtype=float)).reshape(shape)
        ours = cr.grad(lambda t: cr.sum(f(t, axis=axis) * u))(x)
        theirs = autograd.grad(lambda t: anp.sum(ref(t) * u))(x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
        assert cr.gradgradcheck(lambda t: f(t, axis=axis), x)
        ours_h = cr.hessian(lambda t: cr.sum(f(t, axis=axis) * u))(x)
        theirs_h = autograd.hessian(lambda t: anp.sum(ref(t) * u))(x)
        np.testing.assert_allclose(ours_h, theirs_h, rtol=1e-9, atol=1e-10)
    check()


MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb):
    @FAST
    @given(values(sa), values(sb))
    def check(a, b):
        assert cr.gradcheck(cr.matmul, a, b)
        for argnum in (0, 1):
            ours = cr.grad(lambda x, y: cr.sum(cr.matmul(x, y) ** 2), argnum)(a, b)
            theirs = autograd.grad(lambda x, y: anp.sum(anp.matmul(x, y) ** 2), argnum)(a, b)
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
            ours_h = cr.hessian(lambda x, y: cr.sum(cr.matmul(x, y) ** 2), argnum)(a, b)
            theirs_h = autograd.hessian(lambda x, y: anp.sum(anp.matmul(x, y) ** 2), argnum)(a, b)
            np.testing.assert_allclose(ours_h, theirs_h, rtol=1e-9, atol=1e-10)
        assert cr.gradgradcheck(cr.matmul, a, b)  # the mixed second derivatives d^2/(da db)
    check()


SHAPE_OPS = {
    "reshape": (lambda x: cr.reshape(x, (4, 3)), lambda x: anp.reshape(x, (4, 3))),
    "reshape_flat": (lambda x: x.reshape(-1) if isinstance(x, cr.Tensor) else cr.reshape(x, (-1,)),
                     lambda x: anp.reshape(x, (-1,))),
    "transpose": (lambda x: cr.transpose(x), anp.transpose),
    "T": (lambda x: cr.tensor(x).T if not isinstance(x, cr.Tensor) else x.T, lambda x: x.T),
    "slice": (lambda x: x[1:, ::2], lambda x: x[1:, ::2]),
    "int_index": (lambda x: cr.getitem(x, (1, 2)), lambda x: x[1, 2]),
    "fancy_repeat": (lambda x: cr.getitem(x, ([0, 0, 2], [1, 1, 3])), lambda x: x[[0, 0, 2], [1, 1, 3]]),
    "bool_mask": (lambda x: cr.getitem(x, np.arange(12).reshape(3, 4) % 3 == 0),
                  lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0]),
    "pad": (lambda x: cr.pad(x, ((1, 0), (2, 1))), lambda x: anp.pad(x, ((1, 0), (2, 1)), mode="constant")),
    "concatenate": (lambda x: cr.concatenate([x, x * 2, x[:1]], axis=0),
                    lambda x: anp.concatenate([x, x * 2, x[:1]], axis=0)),
    "stack": (lambda x: cr.stack([x, x * 3], axis=1), lambda x: anp.stack([x, x * 3], axis=1)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name):
    f, af = SHAPE_OPS[name]

    @FAST
    @given(values((3, 4)))
    def check(x):
        assert cr.gradcheck(f, x)
        y = f(cr.tensor(x))
        np.testing.assert_allclose(y.numpy(), af(x))
        u = np.cos(np.arange(np.size(af(x)))).reshape(np.shape(af(x)))
        ours = cr.grad(lambda t: cr.sum(f(t) * u))(x)
        theirs = autograd.grad(lambda t: anp.sum(af(t) * u))(x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        # shape ops are linear: squaring first gives them a second derivative to carry
        assert cr.gradgradcheck(lambda t: f(t * t), x)
        ours_h = cr.hessian(lambda t: cr.sum(f(t * t) ** 2 * u))(x)
        theirs_h = autograd.hessian(lambda t: anp.sum(af(t * t) ** 2 * u))(x)
        np.testing.assert_allclose(ours_h, theirs_h, rtol=1e-9, atol=1e-10)
    check()


def test_concatenate_and_stack_of_two_inputs_with_one_constant():
    a = np.arange(6.0).reshape(2, 3)
    b = np.ones((1, 3))
    assert cr.gradcheck(lambda x, y: cr.concatenate([x, y]) ** 2, a, b)
    assert cr.gradcheck(lambda x: cr.concatenate([x, b]) ** 2, a)
    assert cr.gradcheck(lambda x: cr.stack([x, np.zeros((2, 3))], axis=-1) ** 2, a)


def test_primitives_on_plain_ndarrays_return_ndarrays():
    x = np.array([0.0, 1.0])
    for f in (cr.exp, cr.tanh, cr.sigmoid, cr.softmax, lambda v: cr.sum(v, axis=0)):
        assert isinstance(f(x), (np.ndarray, np.generic))  # NumPy in, NumPy out
        assert isinstance(f(cr.tensor(x)), cr.Tensor)
        assert type(f(cr.tensor(x)).data) is np.ndarray
    np.testing.assert_allclose(cr.exp(x), np.exp(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(1, 3), (7, 10), (8, 10), (100, 10), (50, 33), (20, 200)])
def test_row_max_and_row_sum_match_numpy(shape, dtype):
    from chainrule.ops.reduce import row_max, row_sum
    x = (np.random.default_rng(0).normal(size=shape) * 10).astype(dtype)
    assert row_max(x).shape == row_sum(x).shape == (shape[0], 1)
    np.testing.assert_array_equal(row_max(x), np.max(x, axis=1, keepdims=True))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(row_sum(x), np.sum(x, axis=1, keepdims=True), rtol=rtol, atol=rtol)
    assert row_sum(x).dtype == x.dtype
    if dtype != np.int64 and shape[0] >= 4:  # NaN and infinities propagate as in np.max and np.sum
        x[1, 2], x[2, 0], x[3, 1] = np.nan, np.inf, -np.inf
        m, s = row_max(x), row_sum(x)
        assert np.isnan(m[1, 0]) and np.isnan(s[1, 0]) and m[2, 0] == s[2, 0] == np.inf and s[3, 0] == -np.inf



def test_ones_cache_is_keyed_by_dtype_character_and_native():
    # _ones caches by (n, dtype.char): a big-endian float32 request gets the same native, read-only ones
    # as a native one, and a big-endian batch sums as its native copy does
    from chainrule.ops.reduce import _ones, row_sum
    big = np.dtype(">f4")
    v = _ones(6, big)
    assert v.dtype == np.float32 and v.dtype.isnative and not v.flags.writeable
    np.testing.assert_array_equal(v, np.ones(6))
    assert _ones(6, np.dtype(np.float32)) is v and _ones(6, np.dtype(np.float64)).dtype == np.float64
    x = np.random.default_rng(0).normal(size=(9, 6)).astype(np.float32)
    np.testing.assert_array_equal(row_sum(x.astype(big)), row_sum(x))

def test_softmax_of_a_batch_with_infinite_logits():
    z = np.zeros((10, 3))
    z[0] = [-np.inf, 0.0, 0.0]
    z[1] = [-1000.0, 1000.0, 0.0]
    p = cr.softmax(z)
    np.testing.assert_allclose(p[0], [0.0, 0.5, 0.5])
    np.testing.assert_allclose(p[1], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(p[2:], 1 / 3)
    np.testing.assert_allclose(cr.logsumexp(z, axis=1)[:2], [np.log(2), 1000.0])


def test_stability_at_extreme_inputs():
    big = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = cr.sigmoid(big)
        np.testing.assert_allclose(s, [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], rtol=1e-12)
        np.testing.assert_allclose(cr.softplus(big), [0.0, 1.9287498479639178e-22, np.log(2), 50.0, 1000.0])
        p = cr.softmax(big)
        np.testing.assert_allclose(p, [0, 0, 0, 0, 1.0])
        ls = cr.log_softmax(big)
        np.testing.assert_allclose(ls, big - 1000.0)
        np.testing.assert_allclose(cr.logsumexp(np.array([1000.0, 1000.0])), 1000 + np.log(2))
        np.testing.assert_allclose(cr.logsumexp(np.array([-1000.0, -1000.0])), -1000 + np.log(2))
    x = cr.tensor(big, requires_grad=True)
    cr.sum(cr.log_softmax(x) * np.array([0, 0, 0, 0, 1.0])).backward()
    assert np.all(np.isfinite(x.grad))
    x = cr.tensor(big, requires_grad=True)
    cr.sum(cr.sigmoid(x)).backward()
    # y (1 - y) rounds to 0 at x = 50 (1 - y is below float64's resolution near 1): absolute error 2e-22
    np.testing.assert_allclose(x.grad, [0, 1.9287498479639178e-22, 0.25, 1.9287498479639178e-22, 0],
                               rtol=1e-9, atol=1e-21)


def test_prod_is_exact_at_zeros():
    """autograd's y / x gives NaN where an entry is 0; the product of the others is exact."""
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(cr.grad(lambda t: cnp.sum(cnp.prod(t, axis=1)))(x), [[0, 6, 0], [0, 0, 0]])
    np.testing.assert_array_equal(cr.grad(lambda t: cnp.prod(t))(np.array([2.0, 0.0, 3.0])), [0, 6, 0])
    assert cr.gradcheck(lambda t: cnp.prod(t, axis=0), x)


def test_primitives_agree_with_their_compositions():
    """Where a primitive could have been composed, the composition is its oracle."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 2, (2, 3)), rng.uniform(-2, 2, (2, 3))
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    pairs = [
        (lambda t: cnp.prod(t, axis=1), lambda t: cnp.exp(cnp.sum(cnp.log(t), axis=1)), a),
        (lambda t: cnp.logaddexp(t, b), lambda t: cnp.log(cnp.exp(t) + cnp.exp(b)), a),
        (lambda t: cnp.hypot(t, b), lambda t: cnp.sqrt(t ** 2 + b ** 2), a),
        (lambda t: cnp.maximum(t, b), lambda t: cnp.where(t > b, t, b), a),
        (lambda t: cnp.cumsum(t, axis=1), lambda t: cnp.stack([cnp.sum(t[:, :k + 1], axis=1) for k in range(3)], 1), a),
        (lambda t: cnp.cumprod(t, axis=1), lambda t: cnp.stack([cnp.prod(t[:, :k + 1], axis=1) for k in range(3)], 1), a),
        (lambda t: cnp.einsum("ij,jk->ik", t, A), lambda t: t @ A, a),
        (lambda t: cnp.linalg.solve(A, t.T), lambda t: cnp.linalg.inv(A) @ t.T, a),
        (lambda t: cnp.linalg.det(t), lambda t: cnp.linalg.slogdet(t)[0] * cnp.exp(cnp.linalg.slogdet(t)[1]), A),
        (lambda t: cnp.linalg.cholesky(t @ t.T), lambda t: cnp.linalg.cholesky(t @ t.T) @ np.eye(3), A),
        (lambda t: cnp.expm1(t), lambda t: cnp.exp(t) - 1, a), (lambda t: cnp.log1p(t), lambda t: cnp.log(1 + t), a),
        (lambda t: cnp.log10(t), lambda t: cnp.log(t) / np.log(10), a),
        (lambda t: cnp.tan(t), lambda t: cnp.sin(t) / cnp.cos(t), a),
    ]
    for f, g, x in pairs:
        np.testing.assert_allclose(f(cr.tensor(x)).numpy(), g(cr.tensor(x)).numpy(), rtol=1e-12)
        u = np.cos(np.arange(f(x).size)).reshape(f(x).shape)
        np.testing.assert_allclose(cr.grad(lambda t: cnp.sum(f(t) * u))(x), cr.grad(lambda t: cnp.sum(g(t) * u))(x),
                                    rtol=1e-10)
        np.testing.assert_allclose(cr.hessian(lambda t: cnp.sum(f(t) * u))(x),
                                    cr.hessian(lambda t: cnp.sum(g(t) * u))(x), rtol=1e-8, atol=1e-10)
