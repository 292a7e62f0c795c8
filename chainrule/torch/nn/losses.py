"""PyTorch's loss modules: ``criterion(input, target)`` with ``reduction='mean' | 'sum' | 'none'``.

``MSELoss`` is :class:`chainrule.losses.MSELoss`; the others follow PyTorch's signatures (class
weights, ``ignore_index``, ``label_smoothing``, ``pos_weight``) and compute through
:mod:`chainrule.nn.functional` (one implementation per formula):

    L1Loss        l = |a - y|
    NLLLoss       l_i = -w_{t_i} input[i, t_i]            (input: log-probabilities)
    HuberLoss     l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2),  d = a - y
    SmoothL1Loss  HuberLoss / beta (delta = beta)
    KLDivLoss     l = t (log t - input)
    CrossEntropyLoss   l_i = logsumexp(z_i) - z_{i, t_i}   (the fused softmax cross-entropy)
    BCELoss, BCEWithLogitsLoss   the binary cross-entropy of probabilities / of logits
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import losses as _losses
from chainrule.losses import _TorchStyle
from chainrule.nn import functional as F
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, TensorLike

__all__ = ["MSELoss", "L1Loss", "NLLLoss", "HuberLoss", "SmoothL1Loss", "KLDivLoss", "CrossEntropyLoss", "BCELoss",
           "BCEWithLogitsLoss"]


class MSELoss(_losses.MSELoss):
    """``nn.MSELoss``: l = (a - y)^2, then mean / sum / none."""

    def __init__(self, size_average: None = None, reduce: None = None,
                 reduction: Literal["mean", "sum", "none"] = "mean") -> None:
        super().__init__(_legacy(size_average, reduce, reduction))

    def __repr__(self):
        return "MSELoss()"


def _legacy(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        raise NotImplementedError("size_average= and reduce= (deprecated in PyTorch) are not implemented in "
                                  "chainrule; pass reduction='mean' | 'sum' | 'none'")
    return reduction


class _Printed(_TorchStyle):
    def __repr__(self):   # PyTorch prints a loss module as its class name
        return f"{type(self).__name__}()"


class L1Loss(_Printed):
    """``nn.L1Loss``: l = |a - y|, then mean / sum / none."""

    def __init__(self, size_average: None = None, reduce: None = None,
                 reduction: Literal["mean", "sum", "none"] = "mean") -> None:
        super().__init__(_legacy(size_average, reduce, reduction))

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The mean absolute error between ``input`` and ``target``, reduced as ``reduction`` says."""
        return F.l1_loss(input, target, reduction=self.reduction)


class NLLLoss(_Printed):
    """``nn.NLLLoss(weight=None, ignore_index=-100)`` on log-probabilities: l_i = -w_{t_i} input[i, t_i]."""

    def __init__(self, weight: ArrayLike | None = None, size_average: None = None, ignore_index: int = -100,
                 reduce: None = None, reduction: Literal["mean", "sum", "none"] = "mean") -> None:
        super().__init__(_legacy(size_average, reduce, reduction))
        self.weight, self.ignore_index = weight, int(ignore_index)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The negative log-likelihood of the ``target`` classes under the log-probabilities ``input``."""
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        """The loss's settings (``reduction``, ``ignore_index``) as a dict; ``TypeError`` if class weights are set."""
        if self.weight is not None:
            raise TypeError("NLLLoss with class weights has no saved form")
        return {"reduction": self.reduction, "ignore_index": self.ignore_index}


class HuberLoss(_Printed):
    """``nn.HuberLoss(delta=1.0)``: d^2 / 2 where |d| < delta, delta (|d| - delta / 2) elsewhere, d = a - y."""

    def __init__(self, reduction: Literal["mean", "sum", "none"] = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The Huber loss between ``input`` and ``target``: quadratic within ``delta``, linear beyond it."""
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def get_config(self) -> dict[str, Any]:
        """The loss's settings (``reduction``, ``delta``) as a dict."""
        return {"reduction": self.reduction, "delta": self.delta}

    def __repr__(self):
        return "HuberLoss()"


class SmoothL1Loss(_Printed):
    """``nn.SmoothL1Loss(beta=1.0)``: d^2 / (2 beta) where |d| < beta, |d| - beta / 2 elsewhere."""

    def __init__(self, size_average: None = None, reduce: None = None,
                 reduction: Literal["mean", "sum", "none"] = "mean", beta: float = 1.0) -> None:
        super().__init__(_legacy(size_average, reduce, reduction))
        self.beta = float(beta)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The smooth L1 loss between ``input`` and ``target``: quadratic within ``beta``, linear beyond it."""
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def get_config(self) -> dict[str, Any]:
        """The loss's settings (``reduction``, ``beta``) as a dict."""
        return {"reduction": self.reduction, "beta": self.beta}


class KLDivLoss(_Printed):
    """``nn.KLDivLoss(reduction='mean', log_target=False)`` with ``input`` log-probabilities."""

    def __init__(self, size_average: None = None, reduce: None = None,
                 reduction: Literal["mean", "batchmean", "sum", "none"] = "mean", log_target: bool = False) -> None:
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'sum', 'none' or 'batchmean', got {reduction!r}")
        self.reduction, self.log_target = _legacy(size_average, reduce, reduction), bool(log_target)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``."""
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def get_config(self) -> dict[str, Any]:
        """The loss's settings (``reduction``, ``log_target``) as a dict."""
        return {"reduction": self.reduction, "log_target": self.log_target}


class CrossEntropyLoss(_losses.CrossEntropyLoss):
    """``nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0)`` on logits;
    without weights, ignored indices or smoothing it is chainrule's fused softmax cross-entropy."""

    def __init__(self, weight: ArrayLike | None = None, size_average: None = None, ignore_index: int = -100,
                 reduce: None = None, reduction: Literal["mean", "sum", "none"] = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(_legacy(size_average, reduce, reduction))
        self.weight, self.ignore_index, self.label_smoothing = weight, int(ignore_index), float(label_smoothing)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The cross-entropy between the logits ``input`` and the ``target`` classes."""
        if self.weight is None and self.label_smoothing == 0.0 and self.ignore_index == -100:
            return super().forward(input, target)
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        """The loss's settings (``reduction``) as a dict."""
        return {"reduction": self.reduction}

    def __repr__(self):
        return "CrossEntropyLoss()"


class BCELoss(_losses.BCELoss):
    """``nn.BCELoss(weight=None, reduction='mean')`` on probabilities."""

    def __init__(self, weight: TensorLike | None = None, size_average: None = None, reduce: None = None,
                 reduction: Literal["mean", "sum", "none"] = "mean") -> None:
        super().__init__(_legacy(size_average, reduce, reduction))
        self.weight = weight

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The binary cross-entropy between the probabilities ``input`` and ``target``, optionally weighted."""
        if self.weight is None:
            return super().forward(input, target)
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)

    def __repr__(self):
        return "BCELoss()"


class BCEWithLogitsLoss(_losses.BCEWithLogitsLoss):
    """``nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None)`` on logits."""

    def __init__(self, weight: TensorLike | None = None, size_average: None = None, reduce: None = None,
                 reduction: Literal["mean", "sum", "none"] = "mean", pos_weight: TensorLike | None = None) -> None:
        super().__init__(_legacy(size_average, reduce, reduction))
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
        """The binary cross-entropy between ``sigmoid(input)`` and ``target``, computed stably from the logits."""
        if self.weight is None and self.pos_weight is None:
            return super().forward(input, target)
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)

    def __repr__(self):
        return "BCEWithLogitsLoss()"
