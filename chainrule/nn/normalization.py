"""Normalization layers: BatchNormalization."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _checks
from chainrule.nn.core import Layer, _data
from chainrule.ops.normalization import BatchNorm
from chainrule.parameter import Parameter, reserve
from chainrule.tensor import Tensor, get_default_dtype

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike, TensorLike


class BatchNormalization(Layer):
    """Batch normalization (Ioffe and Szegedy, 2015) over the last (feature) axis.

    Training:  mu_B = mean over the batch, s2_B = variance over the batch,
    xhat = (x - mu_B) / sqrt(s2_B + eps),  y = gamma xhat + beta;
    running averages  m <- momentum m + (1 - momentum) mu_B  (same for the variance).
    Evaluation: y = gamma (x - m) / sqrt(v + eps) + beta with the running m, v.
    The gradient flows through mu_B and s2_B too; the layer is one primitive,
    :class:`chainrule.ops.normalization.BatchNorm`, with the equations of its VJP.
    Inputs (batch, ..., features) are normalized over every axis but the last: for images
    (batch, height, width, channels), per channel over the batch and the pixels.
    """

    #: True: the running variance averages the unbiased batch variance s2_B n / (n - 1), as PyTorch's
    #: BatchNorm does; False: the batch variance itself, as Keras' does
    unbiased_running_variance = False
    _weight_constraints = (("beta_constraint", "beta"), ("gamma_constraint", "gamma"))

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 input_dim: int | None = None, dtype: DTypeLike = None, *, axis: int = -1,
                 beta_initializer: str = "zeros", gamma_initializer: str = "ones",
                 moving_mean_initializer: str = "zeros", moving_variance_initializer: str = "ones",
                 beta_regularizer: None = None, gamma_regularizer: None = None,
                 beta_constraint: str | Callable[[np.ndarray], np.ndarray] | None = None,
                 gamma_constraint: str | Callable[[np.ndarray], np.ndarray] | None = None, synchronized: bool = False,
                 **kwargs: Any) -> None:
        if axis not in (-1,):
            raise NotImplementedError(f"BatchNormalization(axis={axis!r}): only the last axis (axis=-1, "
                                      f"channels last) is normalized by chainrule")
        for key, value, default in (("beta_initializer", beta_initializer, "zeros"),
                                    ("gamma_initializer", gamma_initializer, "ones"),
                                    ("moving_mean_initializer", moving_mean_initializer, "zeros"),
                                    ("moving_variance_initializer", moving_variance_initializer, "ones"),
                                    ("beta_regularizer", beta_regularizer, None),
                                    ("gamma_regularizer", gamma_regularizer, None), ("synchronized", synchronized, False)):
            if value != default:
                raise NotImplementedError(f"BatchNormalization({key}={value!r}) is not supported by chainrule "
                                          f"(the default {default!r} is)")
        who = type(self).__name__
        momentum = _checks.in_range(who, "momentum", momentum, 0.0, 1.0)
        epsilon = _checks.in_range(who, "epsilon", epsilon, lo=0.0, lo_open=True)
        input_dim = _checks.positive_int(who, "input_dim", input_dim, allow_none=True)
        for name, flag in (("center", center), ("scale", scale)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{who}: {name} must be True or False, got {flag!r}")
        super().__init__(input_dim=input_dim, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
                         **kwargs)
        self.momentum, self.epsilon = momentum, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.dtype = _checks.dtype(type(self).__name__, dtype) if dtype is not None else None
        object.__setattr__(self, "_self_built", False)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n = input_shape[-1]
        if self.__dict__.get("_self_built") and self.moving_mean.shape[0] == n:
            return Layer.build(self, input_shape)  # weights kept; the shapes follow the input (images too)
        dtype = self.dtype or get_default_dtype()
        reserve(((2 + self.scale + self.center) * n,))  # within an allocation limit (load_model)
        if self.scale:
            self.gamma = Parameter(np.ones(n, dtype=dtype))
        if self.center:
            self.beta = Parameter(np.zeros(n, dtype=dtype))
        self.register_buffer("moving_mean", np.zeros(n, dtype=dtype))
        self.register_buffer("moving_variance", np.ones(n, dtype=dtype))
        return super().build(input_shape)

    def forward(self, x: TensorLike) -> Tensor:
        data = _data(x)
        if data.ndim < 2:
            raise ValueError(f"{self!r}: expected input of shape (batch, ..., features), got shape {data.shape}")
        if not self.__dict__.get("_self_built"):
            self.build((None, *data.shape[1:]))
        elif data.shape[-1] != self.moving_mean.shape[0]:
            raise ValueError(f"{self!r}: expected {self.moving_mean.shape[0]} features, got shape {data.shape}")
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if self.training:
            if data.size // data.shape[-1] < 2:
                raise ValueError(f"{self!r}: batch statistics need at least 2 samples in training, got shape "
                                 f"{data.shape}; use a larger batch or call model.eval()")
            stats = []
            y = BatchNorm.apply(x, gamma, beta, eps=self.epsilon, stats=stats)
            bm, bv = stats
            if self.unbiased_running_variance:  # PyTorch's running_var: s2_B n / (n - 1)
                n = data.size // data.shape[-1]
                bv = bv * (n / (n - 1))
            m = self.momentum
            self._buffers["moving_mean"] = (m * self.moving_mean + (1 - m) * bm).astype(self.moving_mean.dtype)
            self._buffers["moving_variance"] = (m * self.moving_variance + (1 - m) * bv).astype(
                self.moving_variance.dtype)
            return y
        return BatchNorm.apply(x, gamma, beta, eps=self.epsilon, mean=self.moving_mean, var=self.moving_variance)

    def get_config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "input_dim": self.input_shape[-1] if self.input_shape else None, **self._constraint_config(),
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}, epsilon={self.epsilon}"
