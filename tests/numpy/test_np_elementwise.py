"""chainrule.numpy's ufuncs: gradcheck, gradgradcheck, and HIPS autograd's (or PyTorch's) value,
gradient, Hessian and JVP, on hypothesis inputs over several shapes and broadcast pairs."""
import autograd
import autograd.numpy as anp
import numpy as onp
import pytest
import torch
from autograd.scipy import special as aspecial
from hypothesis import given

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import special as cspecial
from npcheck import FAST, check, values

SHAPES = [(), (3,), (2, 3)]
PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((1, 3), (2, 1)), ((2, 3), ())]

# name: (lo, hi, kinks to avoid, torch oracle where autograd lacks the function)
UNARY = {
    "negative": (-2, 2, (), None), "positive": (-2, 2, (), torch.positive), "absolute": (-2, 2, (0,), None),
    "fabs": (-2, 2, (0,), None), "exp": (-2, 2, (), None), "exp2": (-2, 2, (), None), "expm1": (-2, 2, (), None),
    "log": (0.2, 3, (), None), "log2": (0.2, 3, (), None), "log10": (0.2, 3, (), None), "log1p": (-0.5, 2, (), None),
    "sqrt": (0.2, 3, (), None), "cbrt": (-2, 2, (0,), lambda t: torch.sign(t) * t.abs() ** (1 / 3)),
    "square": (-2, 2, (), None), "reciprocal": (0.5, 2, (), None), "sin": (-3, 3, (), None), "cos": (-3, 3, (), None),
    "tan": (-1.2, 1.2, (), None), "arcsin": (-0.9, 0.9, (), None), "arccos": (-0.9, 0.9, (), None),
    "arctan": (-2, 2, (), None), "sinh": (-2, 2, (), None), "cosh": (-2, 2, (), None), "tanh": (-2, 2, (), None),
    "arcsinh": (-2, 2, (), None), "arccosh": (1.2, 3, (), None), "arctanh": (-0.9, 0.9, (), None),
    "deg2rad": (-2, 2, (), None), "rad2deg": (-2, 2, (), None), "radians": (-2, 2, (), None),
    "degrees": (-2, 2, (), None),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape):
    lo, hi, avoid, torch_fn = UNARY[name]

    @FAST
    @given(values(shape, lo, hi, avoid))
    def run(x):
        if torch_fn is None:
            check(lambda m, t: getattr(m, name)(t), lambda m, t: getattr(m, name)(t), x)
        else:
            check(lambda m, t: getattr(m, name)(t), torch_fn, x, kind="torch")
    run()


SPECIAL = {"erf": (-2, 2), "erfc": (-2, 2), "expit": (-4, 4), "logit": (0.1, 0.9)}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_scipy_special(name):
    lo, hi = SPECIAL[name]

    @FAST
    @given(values((2, 3), lo, hi))
    def run(x):
        check(lambda m, t: getattr(cspecial if m is cnp else aspecial, name)(t), lambda m, t: getattr(aspecial, name)(t),
              x)
    run()


# name: ((lo, hi) of a, (lo, hi) of b, condition the pair must meet away from kinks, torch oracle)
BINARY = {
    "add": ((-2, 2), (-2, 2), None, None), "subtract": ((-2, 2), (-2, 2), None, None),
    "multiply": ((-2, 2), (-2, 2), None, None), "divide": ((-2, 2), (0.5, 2), None, None),
    "true_divide": ((-2, 2), (0.5, 2), None, None), "power": ((0.3, 2), (-1.5, 1.5), None, None),
    "float_power": ((0.3, 2), (-1.5, 1.5), None, torch.float_power),
    "mod": ((-2, 2), (0.5, 2), lambda a, b: onp.abs(a / b - onp.round(a / b)) > 0.05, None),
    "remainder": ((-2, 2), (0.5, 2), lambda a, b: onp.abs(a / b - onp.round(a / b)) > 0.05, None),
    "maximum": ((-2, 2), (-2, 2), lambda a, b: onp.abs(a - b) > 0.05, None),
    "minimum": ((-2, 2), (-2, 2), lambda a, b: onp.abs(a - b) > 0.05, None),
    "logaddexp": ((-2, 2), (-2, 2), None, None), "logaddexp2": ((-2, 2), (-2, 2), None, None),
    "arctan2": ((0.2, 2), (-2, 2), None, None), "hypot": ((0.2, 2), (-2, 2), None, None),
}


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name, shapes):
    (alo, ahi), (blo, bhi), ok, torch_fn = BINARY[name]

    @FAST
    @given(values(shapes[0], alo, ahi), values(shapes[1], blo, bhi))
    def run(a, b):
        if ok is not None and not onp.all(ok(*onp.broadcast_arrays(a, b))):
            return
        fn = (lambda m, x, y: getattr(m, name)(x, y))
        if torch_fn is None:
            check(fn, fn, a, b)
        else:
            check(fn, torch_fn, a, b, kind="torch")
        assert cr.grad(lambda x, y: cnp.sum(getattr(cnp, name)(x, y)), 1)(a, b).shape == onp.shape(b)  # unbroadcast
    run()


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow", "mod"])
def test_operators_are_the_ufuncs(op):
    a = onp.array([[0.7, 1.3, 1.9]])
    b = onp.array([[0.6], [1.1]])
    pyop = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
            "truediv": lambda x, y: x / y, "pow": lambda x, y: x ** y, "mod": lambda x, y: x % y}[op]
    check(lambda m, x, y: pyop(x, y), lambda m, x, y: pyop(x, y), a, b)
    # an ndarray on the left hands the operation to the Tensor (NumPy's __array_ufunc__ protocol)
    t = cr.tensor(b, requires_grad=True)
    out = pyop(a, t)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    onp.testing.assert_allclose(out.numpy(), pyop(a, b))


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "around", "rint", "trunc", "fix"])
def test_functions_with_zero_derivative_are_constants(name):
    """autograd treats these as constants (no graph through them); so does chainrule."""
    x = onp.array([-1.7, -0.2, 0.4, 2.6])
    y = getattr(cnp, name)(cr.tensor(x, requires_grad=True))
    assert isinstance(y, cr.Tensor) and not y.requires_grad
    onp.testing.assert_array_equal(y.numpy(), getattr(onp, name)(x))
    # the product rule with a zero derivative: d/dx [f(x) x] = f(x), as autograd
    ours = cr.grad(lambda t: cnp.sum(getattr(cnp, name)(t) * t))(x)
    theirs = autograd.grad(lambda t: anp.sum(getattr(anp, name)(t) * t))(x)
    onp.testing.assert_array_equal(ours, theirs)
    onp.testing.assert_array_equal(ours, getattr(onp, name)(x))
    assert getattr(cnp, name) is not getattr(onp, name) and type(getattr(cnp, name)(x)) is onp.ndarray
    f = cnp.floor_divide(cr.tensor(x), 0.5)
    assert not f.requires_grad and onp.array_equal(f.numpy(), x // 0.5)
