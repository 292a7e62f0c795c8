"""``torch.optim`` on chainrule: PyTorch's optimizers, ``optimizer = optim.Adam(model.parameters(), lr=1e-3)``.

``SGD`` and ``AdamW`` are :mod:`chainrule.optim`'s (their rules are PyTorch's already); ``Adam``,
``RMSprop`` and ``Adagrad`` are subclassed for PyTorch's signatures and defaults:
``Adam(weight_decay=)`` adds lambda theta to the gradient (an L2 penalty, unlike AdamW),
``RMSprop(lr=0.01, alpha=0.99, eps=1e-8)``, ``Adagrad(lr=0.01, eps=1e-10)``.  Learning-rate
schedulers are in :mod:`chainrule.torch.optim.lr_scheduler`.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import optim as _optim
from chainrule._unsupported import missing, unsupported
from chainrule.optim import AdamW, Optimizer
from chainrule.optim.base import _Default
from chainrule.parameter import Parameter
from chainrule.torch.optim import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]


def _off(cls, **options):
    for key, (value, default) in options.items():
        if value != default:
            raise unsupported(f"torch.optim.{cls}({key}={value!r})")


class SGD(_optim.SGD):
    """``optim.SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``: PyTorch's rule
    (chainrule.optim.SGD).  v = mu v + g (+ lambda theta), theta -= eta v."""

    def __init__(self, params: Iterable[Parameter] | Iterable[dict[str, Any]], lr: float = _Default(0.001),
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None, **kwargs: float | None) -> None:
        _off("SGD", dampening=(dampening, 0.0), maximize=(maximize, False))
        super().__init__(params, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, **kwargs)


class Adam(_optim.Adam):
    """``optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``: PyTorch's Adam; a
    ``weight_decay`` lambda adds lambda theta to the gradient before the moments (an L2 penalty)."""

    _hyper_names = ("beta1", "beta2", "eps", "weight_decay")

    def __init__(self, params: Iterable[Parameter] | Iterable[dict[str, Any]], lr: float = _Default(0.001),
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused: bool | None = None,
                 beta1: float | None = None, beta2: float | None = None, **kwargs: float | None) -> None:
        _off("Adam", amsgrad=(amsgrad, False), maximize=(maximize, False))
        if beta1 is not None or beta2 is not None:
            betas = (betas[0] if beta1 is None else beta1, betas[1] if beta2 is None else beta2)
        _optim.Optimizer.__init__(self, params, lr, {"beta1": betas[0], "beta2": betas[1], "eps": eps,
                                                     "weight_decay": weight_decay}, **kwargs)

    def _validate(self, h):
        h = super()._validate(h)
        h["weight_decay"] = float(h.get("weight_decay", 0.0))
        if h["weight_decay"] < 0:
            raise ValueError(f"Adam: weight_decay must be >= 0, got {h['weight_decay']}")
        return h

    # PyTorch's L2 weight decay, g += lambda theta before the moments: SGD's hook, the one place it is written
    _pre_update = _optim.SGD._pre_update
    _pre_update_writes_grad = True
    _decay = staticmethod(_optim.SGD._decay)


class RMSprop(_optim.RMSprop):
    """``optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0)``:
    s = alpha s + (1 - alpha) g^2,  theta -= eta g / (sqrt(s) + eps)."""

    def __init__(self, params: Iterable[Parameter] | Iterable[dict[str, Any]], lr: float = _Default(0.01),
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False, rho: float | None = None,
                 **kwargs: float | None) -> None:
        _off("RMSprop", weight_decay=(weight_decay, 0.0), centered=(centered, False), maximize=(maximize, False))
        super().__init__(params, lr, rho=alpha if rho is None else rho, eps=eps, momentum=momentum, **kwargs)


class Adagrad(_optim.Adagrad):
    """``optim.Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)``."""

    def __init__(self, params: Iterable[Parameter] | Iterable[dict[str, Any]], lr: float = _Default(0.01),
                 lr_decay: float = 0.0, weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None, **kwargs: float | None) -> None:
        _off("Adagrad", lr_decay=(lr_decay, 0.0), weight_decay=(weight_decay, 0.0), maximize=(maximize, False))
        super().__init__(params, lr, eps=eps, initial_accumulator_value=initial_accumulator_value, **kwargs)


__getattr__ = missing(__name__, "torch.optim", {
    n: "chainrule has SGD, Adam, AdamW, RMSprop and Adagrad" for n in
    ("Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS", "SparseAdam", "ASGD", "Rprop")})
