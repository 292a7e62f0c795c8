"""Normalization layers: BatchNormalization and LayerNormalization."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _checks, ops
from chainrule.nn import functional as F, init, regularizers
from chainrule.nn.core import Layer, _data
from chainrule.ops.normalization import BatchNorm
from chainrule.parameter import Parameter, reserve
from chainrule.tensor import Tensor, get_default_dtype, get_rng

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

    _passes_mask = True    # acts on each time step alone: the input's mask stays (Keras' supports_masking)

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
                                    ("gamma_regularizer", gamma_regularizer, None),
                                    ("synchronized", synchronized, False)):
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


class LayerNormalization(Layer):
    """Keras' ``LayerNormalization``: each sample normalized over ``axis`` (the last by default) on its own,
    with no running statistics, so training and inference compute the same thing:

        y = (x - mu) / sqrt(sigma^2 + epsilon) * gamma + beta,

    mu and sigma^2 the mean and (biased) variance over ``axis`` (Ba, Kiros and Hinton 2016; the recurrent
    networks' normalization, as batch normalization is the convolutional ones').  gamma ('ones') and beta
    ('zeros') have the shape of the normalized axes; ``scale=False`` / ``center=False`` leave them out.
    The equations are :func:`chainrule.nn.functional.layer_norm`'s, which PyTorch's ``nn.LayerNorm``
    runs too.

    >>> import numpy as np
    >>> y = LayerNormalization()(np.array([[1.0, 2.0, 3.0]], dtype='float32'))
    >>> np.round(y.numpy().astype(float), 3).tolist()
    [[-1.224, 0.0, 1.224]]
    """

    _passes_mask = True    # acts on each time step alone: the input's mask stays (Keras' supports_masking)

    _weight_regularizers = (("beta_regularizer", "beta"), ("gamma_regularizer", "gamma"))
    _weight_constraints = (("beta_constraint", "beta"), ("gamma_constraint", "gamma"))

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, dtype: DTypeLike = None, **kwargs: Any) -> None:
        who = type(self).__name__
        if rms_scaling:
            raise NotImplementedError(f"{who}(rms_scaling=True) is not supported by chainrule")
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        self.axis = [_checks.axis(who, a) for a in axes]
        if not self.axis or 0 in self.axis:
            raise ValueError(f"{who}: axis must name the axes of a sample (not the batch axis 0), got {axis!r}")
        self.epsilon = _checks.in_range(who, "epsilon", epsilon, lo=0.0)
        for name, flag in (("center", center), ("scale", scale)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{who}: {name} must be True or False, got {flag!r}")
        self.center, self.scale = bool(center), bool(scale)
        super().__init__(beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, **kwargs)
        self.beta_initializer, self.gamma_initializer = init.get(beta_initializer), init.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.dtype = _checks.dtype(who, dtype) if dtype is not None else None
        object.__setattr__(self, "_self_built", False)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _axes(self, ndim):
        axes = sorted({a % ndim for a in self.axis})
        if any(a == 0 or a >= ndim for a in axes) or any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{self!r}: axis {self.axis} does not fit an input of rank {ndim}")
        return tuple(axes)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        axes = self._axes(len(shape))
        if any(shape[a] is None for a in axes):
            raise ValueError(f"{self!r}: the normalized axes {list(axes)} of input shape {shape} must be known")
        param = tuple(int(shape[a]) for a in axes)
        dtype = self.dtype or get_default_dtype()
        if self.scale:
            self.gamma = Parameter(self.gamma_initializer(param, dtype=dtype, rng=get_rng()))
        if self.center:
            self.beta = Parameter(self.beta_initializer(param, dtype=dtype, rng=get_rng()))
        return super().build(shape)

    def forward(self, x: TensorLike) -> Tensor:
        data = _data(x)
        if data.ndim < 2:
            raise ValueError(f"{self!r}: expected input of shape (batch, ...), got shape {data.shape}")
        axes = self._axes(data.ndim)
        if not self.__dict__.get("_self_built"):
            self.build((None, *data.shape[1:]))
        want = tuple(int(data.shape[a]) for a in axes)
        p = self.gamma if self.scale else (self.beta if self.center else None)
        if p is not None and p.shape != want:
            raise ValueError(f"{self!r}: built for normalized axes of shape {p.shape}, got input of shape {data.shape}")
        bshape = tuple(data.shape[a] if a in axes else 1 for a in range(data.ndim))

        def fit(w):
            return None if w is None else ops.reshape(w, bshape)
        return F._normalize_over(x, axes, fit(self.gamma if self.scale else None),
                                 fit(self.beta if self.center else None), self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis if len(self.axis) > 1 else self.axis[0], "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": init.serialize(self.beta_initializer),
                "gamma_initializer": init.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer), **self._constraint_config(),
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:]),
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        return f"axis={self.axis if len(self.axis) > 1 else self.axis[0]}, epsilon={self.epsilon}"


class UnitNormalization(Layer):
    """Keras' ``UnitNormalization(axis=-1)``: each sample scaled to unit L2 norm over ``axis``,
    y = x / max(||x||, 1e-12) (:func:`chainrule.nn.functional.normalize`, as Keras bounds x / ||x||).
    No weights; a padding mask passes through."""

    _passes_mask = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        self.axis = [_checks.axis("UnitNormalization", a) for a in axes]
        if not self.axis:
            raise ValueError(f"UnitNormalization: axis must name at least one axis, got {axis!r}")
        super().__init__(**kwargs)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        ndim = np.ndim(_data(x))
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{self!r}: axis {self.axis} does not fit an input of rank {ndim}")
        return F.normalize(x, 2.0, self.axis, eps=1e-12)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis if len(self.axis) > 1 else self.axis[0]}

    def extra_repr(self) -> str:
        return f"axis={self.axis if len(self.axis) > 1 else self.axis[0]}"
