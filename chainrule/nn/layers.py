"""Layers of a feed-forward network: Dense, Activation, Dropout, BatchNormalization, Flatten.

In the notes' notation a dense layer l maps the previous activations a^(l-1)
to  z^(l) = a^(l-1) W^(l) + b^(l)  and  a^(l) = f(z^(l))  (rows are samples).
"""
from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule.nn import activations, init, regularizers
from chainrule.nn import module as _module
from chainrule.nn.module import Module
from chainrule.parameter import Parameter
from chainrule.ops.fused import DenseStack
from chainrule.tensor import Tensor, get_default_dtype, get_rng


class Layer(Module):
    """A Module that knows its input and output shapes (per sample; batch axis first, as None)."""

    def __init__(self, input_shape=None):
        super().__init__()
        self.input_shape = None if input_shape is None else (None, *tuple(input_shape))
        self.output_shape = None

    def build(self, input_shape):
        """Create weights for inputs of ``input_shape`` (batch axis first); return the output shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        object.__setattr__(self, "_self_built", True)
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {}

    def _check_rank(self, x, rank, what):
        if np.ndim(x.data if isinstance(x, Tensor) else x) != rank:
            shape = np.shape(x.data if isinstance(x, Tensor) else x)
            raise ValueError(f"{self!r}: expected input of rank {rank} {what}, got shape {shape}")


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Dense(Layer):
    """Fully connected layer.  z = x W + b,  a = f(z)  (W: (n_in, units), b: (units,)).

    Parameters
    ----------
    units : int
        Number of outputs (neurons).
    activation : str or callable, optional
        f; None is the identity.  See :mod:`chainrule.nn.activations`.
    kernel_initializer, bias_initializer : str or Initializer
        See :mod:`chainrule.nn.init` ('glorot_uniform' and 'zeros' by default).
    kernel_regularizer, bias_regularizer : Regularizer, optional
        Penalties such as ``l2(1e-4)`` added to the training loss.
    input_dim : int, optional
        Size of each input; without it the weights are created on the first call.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(3, activation='relu', input_dim=4)
    >>> layer(np.ones((2, 4), dtype='float32')).shape
    (2, 3)
    >>> layer.kernel.shape, layer.bias.shape
    ((4, 3), (3,))
    """

    def __init__(self, units, activation=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, input_dim=None, use_bias=True, dtype=None):
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        if input_dim is not None and (not isinstance(input_dim, (int, np.integer)) or input_dim < 1):
            raise ValueError(f"Dense: input_dim must be a positive integer, got {input_dim!r}")
        super().__init__(None if input_dim is None else (int(input_dim),))
        self.units = int(units)
        self.activation = activations.get(activation)
        self.kernel_initializer = init.get(kernel_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.use_bias = bool(use_bias)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        object.__setattr__(self, "_self_built", False)
        if input_dim is not None:
            self.build((None, int(input_dim)))

    def build(self, input_shape):
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(f"{self!r}: cannot build without knowing the input size")
        if self.__dict__.get("_self_built") and self.kernel.shape[0] == n_in:
            return self.output_shape
        dtype = self.dtype or get_default_dtype()
        self.kernel = Parameter(self.kernel_initializer((n_in, self.units), dtype=dtype, rng=get_rng()))
        if self.use_bias:
            self.bias = Parameter(self.bias_initializer((self.units,), dtype=dtype, rng=get_rng()))
        return super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def forward(self, x):
        if not self.__dict__.get("_self_built"):
            shape = np.shape(_data(x))
            if len(shape) < 2:
                raise ValueError(f"{self!r}: expected input of shape (batch, features), got shape {shape}; "
                                 f"reshape a single sample with x.reshape(1, -1)")
            self.build((None, *shape[1:]))
        elif _data(x).shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self!r}: expected inputs with {self.kernel.shape[0]} features, got shape "
                             f"{_data(x).shape}")
        z = ops.linear(x, self.kernel, self.bias if self.use_bias else None)
        return self.activation(z)

    def _penalties(self):
        if self.kernel_regularizer is not None and "kernel" in self._parameters:
            yield self.kernel_regularizer(self.kernel)
        if self.bias_regularizer is not None and "bias" in self._parameters:
            yield self.bias_regularizer(self.bias)

    def get_config(self):
        act = activations.name_of(self.activation)
        if act is None:
            raise TypeError(f"{self!r}: cannot save a custom activation {self.activation!r}; use a named one")
        n_in = self.input_shape[-1] if self.input_shape else None
        return {"units": self.units, "activation": act,
                "kernel_initializer": init.serialize(self.kernel_initializer),
                "bias_initializer": init.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "input_dim": n_in, "use_bias": self.use_bias,
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self):
        act = activations.name_of(self.activation) or getattr(self.activation, "__name__", "custom")
        return f"units={self.units}, activation={act!r}"


class Linear(Dense):
    """PyTorch's ``nn.Linear(in_features, out_features, bias=True)``: y = x W + b, no activation.

    Initialised like PyTorch: W, b ~ U[-1/sqrt(in), 1/sqrt(in)].
    """

    def __init__(self, in_features, out_features, bias=True):
        lim = 1.0 / np.sqrt(in_features)
        super().__init__(out_features, None, init.Uniform(-lim, lim), init.Uniform(-lim, lim) if bias else "zeros",
                         input_dim=in_features, use_bias=bias)

    def get_config(self):
        return {"in_features": self.kernel.shape[0], "out_features": self.units, "bias": self.use_bias}


class Activation(Layer):
    """Applies an activation function by name or callable: ``Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__()
        self.fn = activations.get(activation)
        self.kwargs = kwargs

    def forward(self, x):
        return self.fn(x, **self.kwargs) if self.kwargs else self.fn(x)

    def get_config(self):
        name = activations.name_of(self.fn)
        if name is None:
            raise TypeError(f"{self!r}: cannot save a custom activation; use a named one")
        return {"activation": name, **self.kwargs}

    def extra_repr(self):
        return repr(activations.name_of(self.fn) or "custom")


# ---------------------------------------------------------------- fused dense stacks
_STACKABLE = {ops.identity: "identity", ops.sigmoid: "sigmoid", ops.tanh: "tanh", ops.relu: "relu",
              ops.leaky_relu: "leaky_relu"}


def _dense_prefix(layers, x):
    """Run the leading layers of a Sequential that :class:`~chainrule.ops.fused.DenseStack`
    covers as that one node; return (its output, the layers left), or (x, layers) when none is.

    Covered: Dense and Linear layers (built, not subclassed with their own forward) on a 2-D
    batch of their dtype, each with one elementwise activation: its own, or an Activation layer
    right after a Dense without one.  A Dense whose activation the stack lacks (softmax, say)
    ends the stack: its activation runs as its own node, so losses still find the softmax.
    Values and gradients are the per-layer ones, bit for bit (tests/nn/test_dense_stack.py).
    """
    data = x.data if isinstance(x, Tensor) else x
    if type(data) is not np.ndarray or data.ndim != 2:
        return x, layers
    n_in, dtype = data.shape[1], data.dtype
    inputs, acts, tail = [x], [], None
    i, n = 0, len(layers)
    while i < n:
        d = layers[i]
        if type(d).forward is not Dense.forward or not d.__dict__.get("_self_built"):
            break
        W = d.kernel.data
        b = d.bias if d.use_bias else None
        if W.shape[0] != n_in or W.dtype != dtype or (b is not None and b.data.dtype != dtype):
            break  # the layer's own forward says what is wrong, or promotes the dtype
        act = _STACKABLE.get(d.activation)
        i += 1
        if act is None:
            act, tail = "identity", d.activation
        elif act == "identity" and i < n and type(layers[i]).forward is Activation.forward \
                and not layers[i].kwargs and layers[i].fn in _STACKABLE:
            act = _STACKABLE[layers[i].fn]
            i += 1
        inputs += (d.kernel, b)
        acts.append(act)
        n_in = W.shape[1]
        if tail is not None:
            break
    if not acts:
        return x, layers
    out = DenseStack.apply(*inputs, acts=tuple(acts))
    if tail is not None:
        out = tail(out)
    return out, layers[i:]


_module._dense_prefix = _dense_prefix


def _activation_module(name, fn_name, doc, **defaults):
    def __init__(self, **kwargs):
        Activation.__init__(self, fn_name, **{**defaults, **kwargs})

    def get_config(self):
        return dict(self.kwargs)
    return type(name, (Activation,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


ReLU = _activation_module("ReLU", "relu", "PyTorch-style module: y = max(0, x).")
Sigmoid = _activation_module("Sigmoid", "sigmoid", "PyTorch-style module: y = 1 / (1 + exp(-x)).")
Tanh = _activation_module("Tanh", "tanh", "PyTorch-style module: y = tanh(x).")
Softplus = _activation_module("Softplus", "softplus", "PyTorch-style module: y = log(1 + exp(x)).")
Identity = _activation_module("Identity", "identity", "PyTorch-style module: y = x.")


class LeakyReLU(Activation):
    """PyTorch-style module: y = x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01):
        super().__init__("leaky_relu", alpha=float(negative_slope))

    def get_config(self):
        return {"negative_slope": self.kwargs["alpha"]}


class ELU(Activation):
    """PyTorch-style module: y = x if x > 0 else alpha (exp(x) - 1)."""

    def __init__(self, alpha=1.0):
        super().__init__("elu", alpha=float(alpha))

    def get_config(self):
        return {"alpha": self.kwargs["alpha"]}


class Softmax(Activation):
    """PyTorch-style module: softmax over ``dim`` (default the last axis)."""

    def __init__(self, dim=-1):
        super().__init__("softmax", axis=int(dim))

    def get_config(self):
        return {"dim": self.kwargs["axis"]}


class Dropout(Layer):
    """Inverted dropout.  In training, y = x m / (1 - rate) with m_i ~ Bernoulli(1 - rate);
    in evaluation y = x.  Scaling during training keeps E[y] = x, so inference needs no change.
    """

    def __init__(self, rate, seed=None):
        super().__init__()
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        data = _data(x)
        rng = self._rng or get_rng()
        keep = 1.0 - self.rate
        mask = (rng.random(data.shape, dtype=np.float32) < keep).astype(data.dtype)
        mask *= 1.0 / keep
        return ops.mul(x, mask)

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed}

    def extra_repr(self):
        return f"rate={self.rate}"


class Flatten(Layer):
    """Flattens every sample: (N, d1, d2, ...) -> (N, d1 d2 ...)."""

    def forward(self, x):
        shape = np.shape(_data(x))
        if len(shape) < 1:
            raise ValueError("Flatten: expected a batch of samples, got a scalar")
        return ops.reshape(x, (shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest)))


class BatchNormalization(Layer):
    """Batch normalization (Ioffe and Szegedy, 2015) over the last (feature) axis.

    Training:  mu_B = mean over the batch, s2_B = variance over the batch,
    xhat = (x - mu_B) / sqrt(s2_B + eps),  y = gamma xhat + beta;
    running averages  m <- momentum m + (1 - momentum) mu_B  (same for the variance).
    Evaluation: y = gamma (x - m) / sqrt(v + eps) + beta with the running m, v.
    The gradient flows through mu_B and s2_B too: the layer is composed of
    primitives, so back-propagation through the batch statistics is exact.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True, input_dim=None, dtype=None):
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum!r}")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization: epsilon must be > 0, got {epsilon!r}")
        super().__init__(None if input_dim is None else (int(input_dim),))
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        object.__setattr__(self, "_self_built", False)
        if input_dim is not None:
            self.build((None, int(input_dim)))

    def build(self, input_shape):
        n = input_shape[-1]
        if self.__dict__.get("_self_built") and self.moving_mean.shape[0] == n:
            return Layer.build(self, input_shape)  # weights kept; the shapes follow the input (images too)
        dtype = self.dtype or get_default_dtype()
        if self.scale:
            self.gamma = Parameter(np.ones(n, dtype=dtype))
        if self.center:
            self.beta = Parameter(np.zeros(n, dtype=dtype))
        self.register_buffer("moving_mean", np.zeros(n, dtype=dtype))
        self.register_buffer("moving_variance", np.ones(n, dtype=dtype))
        return super().build(input_shape)

    def forward(self, x):
        data = _data(x)
        if data.ndim < 2:
            raise ValueError(f"{self!r}: expected input of shape (batch, ..., features), got shape {data.shape}")
        if not self.__dict__.get("_self_built"):
            self.build((None, *data.shape[1:]))
        elif data.shape[-1] != self.moving_mean.shape[0]:
            raise ValueError(f"{self!r}: expected {self.moving_mean.shape[0]} features, got shape {data.shape}")
        axes = tuple(range(data.ndim - 1))
        if self.training:
            if int(np.prod([data.shape[a] for a in axes])) < 2:
                raise ValueError(f"{self!r}: batch statistics need at least 2 samples in training, got shape "
                                 f"{data.shape}; use a larger batch or call model.eval()")
            mu = ops.mean(x, axis=axes)
            d = x - mu
            var = ops.mean(d * d, axis=axes)
            xhat = d / ops.sqrt(var + self.epsilon)
            m = self.momentum
            bm, bv = _data(mu), _data(var)
            self._buffers["moving_mean"] = (m * self.moving_mean + (1 - m) * bm).astype(self.moving_mean.dtype)
            self._buffers["moving_variance"] = (m * self.moving_variance + (1 - m) * bv).astype(
                self.moving_variance.dtype)
        else:
            xhat = (x - self.moving_mean) / np.sqrt(self.moving_variance + self.epsilon)
        if self.scale:
            xhat = xhat * self.gamma
        if self.center:
            xhat = xhat + self.beta
        return xhat

    def get_config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "input_dim": self.input_shape[-1] if self.input_shape else None,
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self):
        return f"momentum={self.momentum}, epsilon={self.epsilon}"
