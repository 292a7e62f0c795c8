"""PyTorch's containers and the modules whose PyTorch signature differs from chainrule.nn's.

``ModuleList`` and ``ModuleDict`` hold sub-modules (registered, so ``parameters()`` finds them);
``Flatten(start_dim=1, end_dim=-1)``, ``Dropout(p=0.5)``, ``BatchNorm1d(num_features)``,
``LogSoftmax(dim)``, ``GELU``, ``SiLU``, ``SELU``, ``ReLU6``, ``Hardsigmoid``, ``Hardswish``, ``Mish`` and
``Softsign`` are chainrule's layers with PyTorch's arguments,
defaults and printed form (``print(model)`` shows ``Dropout(p=0.5, inplace=False)``).  The classes
are named ``TorchFlatten`` etc. where chainrule.nn has a class of that name (saved models name
them apart), and exported under PyTorch's names.
"""
from __future__ import annotations

from collections.abc import Iterable, ItemsView, KeysView, Mapping, Sequence, ValuesView
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import numpy as np

from chainrule import ops
from chainrule.nn import functional as F
from chainrule.nn.core import Activation, Dropout, Flatten, Layer, _activation_module, _data
from chainrule.nn.module import Module, _changed
from chainrule.nn.normalization import BatchNormalization
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng
from chainrule.torch.nn.recurrent import _check_device, _dtype_of

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike, TensorLike

__all__ = ["ModuleList", "ModuleDict", "TorchFlatten", "TorchDropout", "BatchNorm1d", "LogSoftmax", "GELU", "SiLU",
           "SELU", "ReLU6", "Hardsigmoid", "Hardswish", "Mish", "Softsign", "TorchEmbedding", "LayerNorm",
           "Unflatten"]


class ModuleList(Module):
    """PyTorch's ``nn.ModuleList``: a list of sub-modules, registered as ``0``, ``1``, ... (no forward of its own)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or []:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end of the list and return the list."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: expected a Module, got {type(module).__name__}")
        self._modules[str(len(self._modules))] = module
        _changed()
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of an iterable in turn and return the list."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index``, renumbering the modules after it."""
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m
        _changed()

    def __getitem__(self, i):
        items = list(self._modules.values())
        if isinstance(i, slice):
            return ModuleList(items[i])
        return items[i]

    def __setitem__(self, i, module):
        key = list(self._modules)[i]
        self._modules[key] = module
        _changed()

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError("ModuleList has no forward: iterate over it in your module's forward")


class ModuleDict(Module):
    """PyTorch's ``nn.ModuleDict``: sub-modules by name (in insertion order)."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        for k, m in (modules.items() if isinstance(modules, dict) else (modules or [])):
            self[k] = m

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: expected a Module for {key!r}, got {type(module).__name__}")
        self._modules[str(key)] = module
        _changed()

    def __getitem__(self, key):
        return self._modules[key]

    def __delitem__(self, key):
        del self._modules[key]
        _changed()

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self) -> KeysView[str]:
        """The names of the sub-modules, in insertion order."""
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        """The sub-modules, in insertion order."""
        return self._modules.values()

    def items(self) -> ItemsView[str, Module]:
        """The (name, module) pairs, in insertion order."""
        return self._modules.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace sub-modules from a dict or an iterable of (name, module) pairs."""
        for k, m in (modules.items() if isinstance(modules, dict) else modules):
            self[k] = m

    def forward(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError("ModuleDict has no forward: look its modules up in your module's forward")


class TorchFlatten(Flatten):
    """PyTorch's ``nn.Flatten(start_dim=1, end_dim=-1)``: axes start_dim..end_dim merged into one."""

    _auto_name = _repr_name = "Flatten"

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        shape = np.shape(_data(x))
        if not shape:
            raise ValueError("Flatten: expected a tensor, got a scalar")
        s, e = self.start_dim % len(shape), self.end_dim % len(shape)
        return ops.reshape(x, shape[:s] + (-1,) + shape[e + 1:])

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        s, e = self.start_dim % len(shape), self.end_dim % len(shape)
        mid = shape[s:e + 1]
        size = None if any(d is None for d in mid) else int(np.prod(mid))
        return shape[:s] + (size,) + shape[e + 1:]

    def get_config(self) -> dict[str, Any]:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """PyTorch's ``nn.Unflatten(dim, unflattened_size)``: axis ``dim`` split into the axes of
    ``unflattened_size`` (one entry may be -1), the inverse of ``nn.Flatten``.

    >>> import numpy as np
    >>> Unflatten(1, (2, 3))(np.zeros((4, 6))).shape
    (4, 2, 3)
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        sizes = tuple(unflattened_size)
        if not sizes or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or (d < 1 and d != -1)
                            for d in sizes) or sizes.count(-1) > 1:
            raise ValueError(f"Unflatten: unflattened_size must be positive ints (one may be -1), got "
                             f"{unflattened_size!r}")
        self.dim, self.unflattened_size = int(dim), tuple(int(d) for d in sizes)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        shape = np.shape(_data(x))
        if not -len(shape) <= self.dim < len(shape):
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for an input of shape {shape}")
        d = self.dim % len(shape)
        known, free = int(np.prod([s for s in self.unflattened_size if s != -1])), -1 in self.unflattened_size
        if (free and shape[d] % known) or (not free and known != shape[d]):
            raise ValueError(f"Unflatten: cannot split axis {self.dim} of size {shape[d]} into {self.unflattened_size}")
        return ops.reshape(x, shape[:d] + self.unflattened_size + shape[d + 1:])

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class TorchDropout(Dropout):
    """PyTorch's ``nn.Dropout(p=0.5)``: in training y = x m / (1 - p), m_i ~ Bernoulli(1 - p); y = x in eval."""

    _auto_name = _repr_name = "Dropout"

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__(p)

    @property
    def p(self) -> float:
        """The probability of zeroing each element during training."""
        return self.rate

    def get_config(self) -> dict[str, Any]:
        return {"p": self.rate}

    def extra_repr(self) -> str:
        return f"p={self.rate}, inplace=False"


class BatchNorm1d(BatchNormalization):
    """PyTorch's ``nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True)`` on (batch, features)
    (or (batch, features, length)).  y = gamma (x - mu_B) / sqrt(s2_B + eps) + beta per feature; the
    running averages take m <- (1 - momentum) m + momentum mu_B and the unbiased batch variance, as PyTorch's."""

    unbiased_running_variance = True

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: DTypeLike = None) -> None:
        if not track_running_stats:
            raise NotImplementedError("BatchNorm1d(track_running_stats=False) is not implemented in chainrule")
        super().__init__(momentum=1.0 - momentum, epsilon=eps, center=affine, scale=affine, input_dim=num_features,
                         dtype=dtype)
        self.num_features, self.torch_momentum, self.affine = int(num_features), float(momentum), bool(affine)

    def forward(self, x: TensorLike) -> Tensor:
        data = _data(x)
        if data.ndim not in (2, 3) or data.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape (batch, {self.num_features}) "
                             f"or (batch, {self.num_features}, length), got {data.shape}")
        if data.ndim == 3:
            return ops.transpose(super().forward(ops.transpose(x, (0, 2, 1))), (0, 2, 1))
        return super().forward(x)

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.epsilon, "momentum": self.torch_momentum,
                "affine": self.affine, "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.epsilon}, momentum={self.torch_momentum}, affine={self.affine}, " \
               f"bias=True, track_running_stats=True"


class LogSoftmax(Activation):
    """PyTorch's ``nn.LogSoftmax(dim)``: y = x - log sum_k e^(x_k) along dim (stable)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__(lambda x: ops.log_softmax(x, axis=int(dim)))
        self.dim = int(dim)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GELU(Layer):
    """PyTorch's ``nn.GELU(approximate='none')``: y = x Phi(x)."""

    def __init__(self, approximate: Literal["none", "tanh"] = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        return F.gelu(x, approximate=self.approximate)

    def get_config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


# the table's other activations under PyTorch's names, each taking PyTorch's inplace= (computed out of place)
SiLU = _activation_module("SiLU", "silu", "PyTorch's ``nn.SiLU``: y = x sigma(x).", inplace=True)
SELU = _activation_module("SELU", "selu", "PyTorch's ``nn.SELU``: y = scale elu(x, alpha).", inplace=True)
ReLU6 = _activation_module("ReLU6", "relu6", "PyTorch's ``nn.ReLU6``: y = min(max(0, x), 6).", inplace=True)
Hardsigmoid = _activation_module("Hardsigmoid", "hard_sigmoid", "PyTorch's ``nn.Hardsigmoid``: y = relu6(x + 3) / 6.",
                                 inplace="unshown")
Hardswish = _activation_module("Hardswish", "hard_silu", "PyTorch's ``nn.Hardswish``: y = x relu6(x + 3) / 6.",
                               inplace="unshown")
Mish = _activation_module("Mish", "mish", "PyTorch's ``nn.Mish``: y = x tanh(softplus(x)).", inplace=True)
Softsign = _activation_module("Softsign", "softsign", "PyTorch's ``nn.Softsign``: y = x / (1 + |x|).")




class TorchEmbedding(Module):
    """PyTorch's ``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
    norm_type=2.0, scale_grad_by_freq=False, sparse=False)``: y[..., :] = weight[i, :] for each
    index i of the input (:func:`chainrule.nn.functional.embedding`, the lookup Keras' ``Embedding``
    runs too).  ``weight`` (num_embeddings, embedding_dim) starts N(0, 1), its ``padding_idx`` row
    zeros and without gradient.  ``Embedding.from_pretrained(weight, freeze=True)`` wraps given vectors.

    >>> import numpy as np
    >>> emb = TorchEmbedding(10, 3, padding_idx=0)
    >>> emb(np.array([[1, 0, 4]])).shape, emb.weight.data[0].tolist()
    ((1, 3, 3), [0.0, 0.0, 0.0])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: TensorLike | None = None, _freeze: bool = False, device: Any = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        who = "Embedding"
        for what, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{who}: {what} must be a positive integer, got {v!r}")
        _check_device(who, device)
        n, d = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) or \
                    not -n <= padding_idx < n:
                raise ValueError(f"{who}: padding_idx must be an integer within num_embeddings "
                                 f"(-{n} <= padding_idx < {n}), got {padding_idx!r}")
            padding_idx = int(padding_idx) % n
        if max_norm is not None and (isinstance(max_norm, bool) or not isinstance(max_norm, (int, float))
                                     or not max_norm > 0):
            raise ValueError(f"{who}: max_norm must be a positive number or None, got {max_norm!r}")
        self.num_embeddings, self.embedding_dim, self.padding_idx = n, d, padding_idx
        self.max_norm = None if max_norm is None else float(max_norm)
        self.norm_type, self.scale_grad_by_freq, self.sparse = float(norm_type), bool(scale_grad_by_freq), bool(sparse)
        self.dtype = _dtype_of(dtype)
        if _weight is None:
            w = get_rng().standard_normal((n, d)).astype(self.dtype or get_default_dtype())
            if padding_idx is not None:
                w[padding_idx] = 0
        else:
            w = np.array(_data(_weight), dtype=self.dtype or None, copy=True)
            if w.shape != (n, d):
                raise ValueError(f"{who}: _weight must have shape (num_embeddings, embedding_dim) = {(n, d)}, "
                                 f"got {w.shape}")
        self.weight = Parameter(w, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: TensorLike, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> TorchEmbedding:
        """An Embedding holding the rows of ``embeddings`` (a matrix), frozen unless ``freeze=False``."""
        shape = np.shape(_data(embeddings))
        if len(shape) != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be a matrix (num_embeddings, "
                             f"embedding_dim), got shape {shape}")
        return cls(shape[0], shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input: ArrayLike | Tensor) -> Tensor:  # noqa: A002
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def get_config(self) -> dict[str, Any]:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "padding_idx": self.padding_idx, "max_norm": self.max_norm, "norm_type": self.norm_type,
                "scale_grad_by_freq": self.scale_grad_by_freq, "sparse": self.sparse,
                "dtype": None if self.dtype is None else self.dtype.name}

    def __repr__(self) -> str:
        s = f"Embedding({self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2.0:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s + ")"


class LayerNorm(Module):
    """PyTorch's ``nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``: each sample
    normalized over its last ``len(normalized_shape)`` axes, y = (x - mu) / sqrt(sigma^2 + eps) * weight + bias
    (:func:`chainrule.nn.functional.layer_norm`, the equations Keras' LayerNormalization runs too); ``weight``
    starts at ones and ``bias`` at zeros, of ``normalized_shape``.

    >>> import numpy as np
    >>> ln = LayerNorm(3)
    >>> np.round(ln(np.array([[1.0, 2.0, 3.0]])).numpy().astype(float), 3).tolist(), ln
    ([[-1.225, 0.0, 1.225]], LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True))
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        who = "LayerNorm"
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
            raise ValueError(f"{who}: normalized_shape must be a positive integer or a tuple of them, got "
                             f"{normalized_shape!r}")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
            raise ValueError(f"{who}: eps must be a number >= 0, got {eps!r}")
        _check_device(who, device)
        self.normalized_shape = tuple(int(d) for d in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.use_bias = bool(bias) and self.elementwise_affine        # PyTorch's bias exists only with the weight
        self.dtype = _dtype_of(dtype)
        dt = self.dtype or get_default_dtype()
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dt))
            if self.use_bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dt))

    def forward(self, input: TensorLike) -> Tensor:  # noqa: A002
        affine = self.elementwise_affine
        return F.layer_norm(input, self.normalized_shape, self.weight if affine else None,
                            self.bias if self.use_bias else None, self.eps)

    def get_config(self) -> dict[str, Any]:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine, "bias": self.use_bias,
                "dtype": None if self.dtype is None else self.dtype.name}

    def __repr__(self) -> str:
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.use_bias})")
