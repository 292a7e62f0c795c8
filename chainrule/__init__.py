"""chainrule: a deep-learning library on NumPy, built from the chain rule up.

The engine (:mod:`chainrule.tensor`, :mod:`chainrule.function`, :mod:`chainrule.ops`)
records computations on :class:`Tensor` objects and differentiates them in
reverse mode (back-propagation) and forward mode; :mod:`chainrule.transforms`
offers HIPS-autograd style ``grad``/``jacobian``/``jvp`` on plain ndarrays, and
:mod:`chainrule.numpy` is the differentiable NumPy those transforms expect
(``import chainrule.numpy as np``, as ``autograd.numpy``).
"""
from chainrule.tensor import (Tensor, tensor, gradients, no_grad, enable_grad, is_grad_enabled, set_default_dtype,
                              get_default_dtype, manual_seed, fork_rng)
from chainrule.function import Function
from chainrule.ops import (add, sub, mul, div, pow, neg, matmul, exp, log, sqrt, abs, tanh, sigmoid, relu,
                           leaky_relu, elu, softplus, clip, where, sum, mean, var, max, min, logsumexp, softmax,
                           log_softmax, reshape, transpose, getitem, concatenate, stack, pad, broadcast_to, astype,
                           identity)
from chainrule.ops import (sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh, arctanh, exp2, expm1,
                           log2, log10, log1p, cbrt, square, reciprocal, erf, erfc, maximum, minimum, logaddexp,
                           arctan2, hypot, mod, sign, floor, ceil, prod, std, cumsum, cumprod, dot, outer, tensordot,
                           einsum, trace, diagonal, tril, triu, kron, ravel, squeeze, expand_dims, swapaxes, moveaxis,
                           flip, roll, tile, take, take_along_axis, sort, split, norm)
from chainrule.transforms import (grad, value_and_grad, elementwise_grad, jacobian, hessian, vjp, jvp, deriv,
                                  hessian_vector_product, hvp)
from chainrule.extend import primitive, defvjp, defjvp
from chainrule.gradcheck import gradcheck, gradgradcheck, GradcheckError

from chainrule.threads import set_num_threads, get_num_threads, num_threads
from chainrule._version import __version__

__all__ = [
    "Tensor", "tensor", "gradients", "no_grad", "enable_grad", "is_grad_enabled", "set_default_dtype", "get_default_dtype",
    "manual_seed", "fork_rng", "Function",
    "add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu",
    "leaky_relu", "elu", "softplus", "clip", "where", "sum", "mean", "var", "max", "min", "logsumexp", "softmax",
    "log_softmax", "reshape", "transpose", "getitem", "concatenate", "stack", "pad", "broadcast_to", "astype", "identity",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "exp2",
    "expm1", "log2", "log10", "log1p", "cbrt", "square", "reciprocal", "erf", "erfc", "maximum", "minimum",
    "logaddexp", "arctan2", "hypot", "mod", "sign", "floor", "ceil", "prod", "std", "cumsum", "cumprod", "dot",
    "outer", "tensordot", "einsum", "trace", "diagonal", "tril", "triu", "kron", "ravel", "squeeze", "expand_dims",
    "swapaxes", "moveaxis", "flip", "roll", "tile", "take", "take_along_axis", "sort", "split", "norm",
    "grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "vjp", "jvp", "deriv",
    "hessian_vector_product", "hvp", "primitive", "defvjp", "defjvp",
    "gradcheck", "gradgradcheck", "GradcheckError", "set_num_threads", "get_num_threads", "num_threads",
    "__version__",
    "save_model", "load_model", "nn", "optim", "losses", "metrics", "data", "datasets", "training",
]

# The layers above the engine (they import the names defined above).
from chainrule import nn, optim, losses, metrics, data, datasets, training  # noqa: E402
from chainrule.io import save_model, load_model  # noqa: E402


def __getattr__(name):
    """``chainrule.keras`` and ``chainrule.torch``, imported when first used (``import chainrule as tf;
    tf.keras.losses...``): the front doors sit at the edge, and importing chainrule does not load them."""
    if name in ("keras", "torch"):
        import importlib
        return importlib.import_module(f"chainrule.{name}")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
