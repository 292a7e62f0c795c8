"""``torch.optim.lr_scheduler``: change an optimizer's learning rate once per ``scheduler.step()`` (per epoch).

Each scheduler keeps ``last_epoch`` (the number of ``step()`` calls) and sets every parameter
group's rate from its initial rate eta_0, as PyTorch's closed forms give it::

    StepLR              eta = eta_0 gamma^floor(epoch / step_size)
    MultiStepLR         eta = eta_0 gamma^(number of milestones <= epoch)
    ExponentialLR       eta = eta_0 gamma^epoch
    CosineAnnealingLR   eta = eta_min + (eta_0 - eta_min) (1 + cos(pi epoch / T_max)) / 2
    LambdaLR            eta = eta_0 lr_lambda(epoch)
    ReduceLROnPlateau   eta = max(factor eta, min_lr) after ``patience`` epochs without improvement
                        (:class:`chainrule.optim.ReduceLROnPlateau`; step(metric))
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from chainrule.optim import ReduceLROnPlateau as _Plateau
from chainrule.optim.base import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
           "ReduceLROnPlateau"]


class LRScheduler:
    """The base: ``step()`` advances ``last_epoch`` and sets each group's rate to ``get_lr()``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        if not optimizer.param_groups:
            raise ValueError(f"{type(self).__name__}: the optimizer has no parameters bound yet")
        if last_epoch != -1:
            raise NotImplementedError(f"{type(self).__name__}(last_epoch=...): resuming is done with "
                                      f"load_state_dict")
        self.optimizer = optimizer
        self.base_lrs = [optimizer.group_lr(i) for i in range(len(optimizer.param_groups))]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    def lr_at(self, base: float, epoch: int) -> float:  # pragma: no cover - abstract
        """The learning rate at ``epoch`` for a group whose initial rate is ``base``; subclasses define it."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The learning rates for the current ``last_epoch``, one per parameter group."""
        return [self.lr_at(base, self.last_epoch) for base in self.base_lrs]

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` set (one per parameter group)."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance to the next epoch (or to ``epoch`` if given) and set each group's learning rate."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        lrs = self.get_lr()
        for i, lr in enumerate(lrs):
            self.optimizer.set_group_lr(i, float(lr))
        self._last_lr = lrs

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state as a dict (everything but the optimizer and the lambdas)."""
        return {k: v for k, v in vars(self).items() if k not in ("optimizer", "lr_lambda")}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the scheduler's state from a dict made by ``state_dict``."""
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """eta = eta_0 gamma^floor(epoch / step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size, self.gamma = int(step_size), float(gamma)
        if self.step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, epoch: int) -> float:
        """``base`` multiplied by ``gamma`` once for every ``step_size`` epochs completed."""
        return base * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """eta = eta_0 gamma^(number of milestones reached)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones, self.gamma = sorted(int(m) for m in milestones), float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, epoch: int) -> float:
        """``base`` multiplied by ``gamma`` once for every milestone reached by ``epoch``."""
        return base * self.gamma ** sum(1 for m in self.milestones if m <= epoch)


class ExponentialLR(LRScheduler):
    """eta = eta_0 gamma^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, epoch: int) -> float:
        """``base`` multiplied by ``gamma`` once per epoch."""
        return base * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """eta = eta_min + (eta_0 - eta_min) (1 + cos(pi epoch / T_max)) / 2 (SGDR without restarts)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:  # noqa: N803 (PyTorch's name)
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        if self.T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base: float, epoch: int) -> float:
        """The rate on a half cosine from ``base`` at epoch 0 down to ``eta_min`` at ``T_max``."""
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LambdaLR(LRScheduler):
    """eta = eta_0 lr_lambda(epoch) (one function, or one per parameter group)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(fns) != n:
            raise ValueError(f"LambdaLR: expected {n} functions (one per parameter group), got {len(fns)}")
        self.lr_lambda = fns
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's initial rate times its ``lr_lambda`` evaluated at the current epoch."""
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambda)]


class ReduceLROnPlateau(_Plateau):
    """``ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel',
    cooldown=0, min_lr=0)``: PyTorch's signature over :class:`chainrule.optim.ReduceLROnPlateau`."""

    def __init__(self, optimizer: Optimizer, mode: Literal["min", "max"] = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: Literal["rel", "abs"] = "rel",
                 cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8) -> None:
        if isinstance(min_lr, (list, tuple)):
            raise NotImplementedError("ReduceLROnPlateau(min_lr=[...]): one min_lr for every group in chainrule")
        super().__init__(optimizer, factor=factor, patience=patience, min_lr=min_lr, mode=mode, min_delta=threshold,
                         cooldown=cooldown, threshold_mode=threshold_mode)

    def get_last_lr(self) -> list[float]:
        """The optimizer's current learning rates, one per parameter group."""
        return [self.optimizer.group_lr(i) for i in range(len(self.optimizer.param_groups))]
