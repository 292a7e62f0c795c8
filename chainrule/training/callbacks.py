"""Callbacks: the hooks ``fit`` calls around epochs and batches (Keras' callback API), and History.

A callback subclasses :class:`Callback` and overrides the hooks it needs; ``fit`` calls
``set_model`` and ``set_params`` first, then ``on_train_begin``, per epoch ``on_epoch_begin(epoch)``
and ``on_epoch_end(epoch, logs)``, per batch ``on_batch_begin(batch)`` and ``on_batch_end(batch,
logs)`` (and ``on_batch_nan(epoch, batch, value)`` when a batch loss is not finite), around the
validation the test hooks below, and ``on_train_end``.  ``evaluate`` and ``predict`` take
callbacks too and call ``on_test_begin``, ``on_test_batch_begin(batch)``, ``on_test_batch_end(batch,
logs)``, ``on_test_end(logs)`` and ``on_predict_begin``, ``on_predict_batch_begin(batch)``,
``on_predict_batch_end(batch, {'outputs': ...})``, ``on_predict_end``: Keras' protocol.  A batch
hook that no callback overrides costs nothing, and only then do ``evaluate`` and ``predict`` run
in batches of 32 (``batch_size``) as Keras does, rather than in one.

A monitored value that is NaN or infinite never counts as an improvement: a diverged epoch
cannot become the "best" one that EarlyStopping restores or ModelCheckpoint saves.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from chainrule import _checks
from chainrule.io import write_text_atomic
from chainrule.optim.schedules import ReduceLROnPlateau as _Plateau

if TYPE_CHECKING:
    from chainrule._typing import PathLike
    from chainrule.training.trainer import Trainer

__all__ = ["History", "Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "TerminateOnNaN",
           "ReduceLROnPlateau", "CSVLogger"]


class History:
    """What fit returns: ``history.history['loss']`` etc., one value per epoch."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.params = {}

    def _append(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"



class Callback:
    """Hooks called by fit (on_train_begin/end, on_epoch_begin/end(epoch, logs), on_batch_begin/end),
    evaluate (on_test_*) and predict (on_predict_*); each does nothing unless overridden."""

    model = None
    params: dict = {}
    #: False: the batch logs are the batch's own values and on_train_end gets no logs (chainrule's
    #: hooks); True (keras.callbacks.Callback): Keras' running means over the epoch, and the last
    #: epoch's logs for on_train_end
    _keras_logs = False

    def set_params(self, params: dict) -> None:
        """Called by ``fit`` (and ``evaluate``, ``predict``) before they start: ``self.params`` =
        {'verbose', 'epochs', 'steps'}, as Keras sets them (steps: batches an epoch of fit; None where
        they are not counted ahead: a generator without a length, evaluate, predict)."""
        self.params = params

    def set_model(self, model: Trainer) -> None:
        """Called by ``fit`` before training: the model being trained is ``self.model`` from then on."""
        self.model = model

    def on_train_begin(self) -> None:
        """Called once, before the first epoch."""

    def on_train_end(self) -> None:
        """Called once, after the last epoch (or when training stopped early)."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before epoch ``epoch`` (counted from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Called after each epoch with its averaged ``logs`` ('loss', the metrics, their ``val_`` forms);
        entries added to ``logs`` here (such as 'learning_rate') go into the History."""

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each training step (``batch`` counted from 0 in the epoch)."""

    def on_batch_end(self, batch: int, logs: dict) -> None:
        """Called after each training step with that batch's ``logs``."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called when ``evaluate`` (or fit's validation) starts."""

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each batch of ``evaluate``."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each batch of ``evaluate`` with the running means of the loss and metrics so far."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of ``evaluate`` with its result (the logs as a dict)."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called when ``predict`` starts."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each batch of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each batch of ``predict`` with ``{'outputs': the batch's outputs}``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of ``predict``."""

    def on_batch_nan(self, epoch: int, batch: int, value: float) -> None:
        """Called when a batch's loss is NaN or infinite (before its update); set
        ``self.model.stop_training = True`` to stop there, as :class:`TerminateOnNaN` does."""


def _mode_for(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "r2")) else "min"
    return mode


class _Monitor(Callback):
    def __init__(self, monitor: str, mode: Literal["auto", "min", "max"], min_delta: float) -> None:
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode)
        self.min_delta = abs(_checks.number(type(self).__name__, "min_delta", min_delta))
        self.best = None

    def _value(self, logs):
        if self.monitor not in logs:
            raise ValueError(f"{type(self).__name__}: monitor={self.monitor!r} is not among the logged values "
                             f"{sorted(logs)}; pass validation data for 'val_' metrics")
        return logs[self.monitor]

    def _improved(self, value):
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; optionally restore the best weights."""

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: Literal["auto", "min", "max"] = "auto", restore_best_weights: bool = False,
                 verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = _checks.positive_int("EarlyStopping", "patience", patience, minimum=0)
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose

    def on_train_begin(self) -> None:
        self.best, self.wait, self.best_epoch, self.best_state, self.stopped_epoch = None, 0, 0, None, None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.wait, self.best_epoch = value, 0, epoch
            if self.restore_best_weights:
                self.best_state = self.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.model.stop_training = True
            self.stopped_epoch = epoch

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        if self.verbose and self.stopped_epoch is not None:
            print(f"Early stopping at epoch {self.stopped_epoch + 1}; best {self.monitor} = {self.best:.4f} "
                  f"at epoch {self.best_epoch + 1}")


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch (or only when ``monitor`` improves, with save_best_only).

    ``path`` may contain format fields such as ``{epoch:02d}`` and ``{val_loss:.3f}``.
    """

    def __init__(self, path: PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: Literal["auto", "min", "max"] = "auto", verbose: int = 0) -> None:
        super().__init__(monitor, mode, 0.0)
        self.path = str(path)
        self.save_best_only = save_best_only
        self.verbose = verbose

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = self._value(logs)
            if not self._improved(value):
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1, **logs)
        self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch: ``schedule(epoch) -> lr`` or ``schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable[[int], float] | Callable[[int, float], float], verbose: int = 0) -> None:
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: expected a callable schedule, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int) -> None:
        opt = self.model._compiled["optimizer"]
        try:
            lr = self.schedule(epoch, opt.lr)
        except TypeError:
            lr = self.schedule(epoch)
        lr = float(lr)
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: the schedule returned lr={lr} at epoch {epoch}")
        opt.lr = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        logs["learning_rate"] = float(self.model._compiled["optimizer"].lr)   # Keras 3 logs it so


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs (Keras' callback).

    The plateau logic is :class:`chainrule.optim.ReduceLROnPlateau`'s (PyTorch's scheduler), fed
    the monitored value once per epoch; Keras counts patience and cooldown one epoch
    differently (a reduction after ``patience`` epochs without improvement, counting stops
    for ``cooldown - 1`` epochs after it), so they are passed on as ``patience - 1`` and
    ``cooldown - 1``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, min_lr: float = 0.0,
                 mode: Literal["auto", "min", "max"] = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        factor = _checks.in_range("ReduceLROnPlateau", "factor", factor, 0.0, 1.0, lo_open=True, hi_open=True)
        min_lr = _checks.in_range("ReduceLROnPlateau", "min_lr", min_lr, 0.0)
        for name, v in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be an integer >= 0, got {v!r}")
        self.factor, self.patience, self.min_lr, self.cooldown = factor, patience, min_lr, cooldown
        self.verbose = verbose
        self._plateau = None

    def on_train_begin(self) -> None:
        self._plateau = _Plateau(self.model._compiled["optimizer"], factor=self.factor,
                                 patience=max(self.patience - 1, 0), min_lr=self.min_lr, mode=self.mode,
                                 min_delta=self.min_delta, cooldown=max(self.cooldown - 1, 0))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = self._value(logs)
        opt = self.model._compiled["optimizer"]
        if self._plateau is None or self._plateau.optimizer is not opt:
            self.on_train_begin()
        logs["learning_rate"] = float(opt.lr)      # the rate this epoch ran at: Keras logs it before reducing
        if self._plateau.step(value if math.isfinite(value) else math.nan) and self.verbose:
            print(f"Epoch {epoch + 1}: reducing learning rate to {opt.lr:.6g}")


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite, naming the epoch and batch."""

    def __init__(self):
        self.message = None

    def on_batch_nan(self, epoch: int, batch: int, value: float) -> None:
        self.message = (f"TerminateOnNaN: the loss became {value} at epoch {epoch + 1}, batch {batch + 1}; "
                        f"training stopped (try a smaller learning rate, gradient clipping or scaled inputs)")
        print(self.message, file=sys.stderr)
        self.model.stop_training = True


class CSVLogger(Callback):
    """Write one row of logs per epoch to a CSV file (rewritten atomically each epoch)."""

    def __init__(self, path: PathLike) -> None:
        self.path = str(path)
        self.rows = []

    def on_train_begin(self) -> None:
        self.rows = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.rows.append({"epoch": epoch + 1, **logs})
        keys = list(self.rows[0])
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        lines = [",".join(keys)] + [",".join(repr(float(r[k])) if k != "epoch" else str(r[k]) if k in r else ""
                                             for k in keys) for r in self.rows]
        write_text_atomic(self.path, "\n".join(lines) + "\n")


#: Callback's own hooks, which do nothing (kept as defined: one patched on the class counts as overridden)
_NOOPS = {k: v for k, v in vars(Callback).items() if k.startswith("on_")}

#: the hooks called without logs in chainrule's own protocol (Keras passes logs, an empty dict at a start)
_NO_LOGS = frozenset({"on_train_begin", "on_train_end", "on_epoch_begin"})


class CallbackList:
    """The callbacks of one fit, evaluate or predict call, each called in its own protocol.

    chainrule's callbacks get the batch's own logs and ``on_train_begin()``, ``on_epoch_begin(epoch)``,
    ``on_train_end()``; Keras' (``_keras_logs``) get ``logs`` in every hook as Keras passes them (an
    empty dict at a start, the running means of the epoch after a training batch).  :meth:`batch`
    returns only the hooks some callback overrides, so a loop over batches pays for none of the others.
    """

    def __init__(self, callbacks: Sequence[Any] = ()) -> None:
        self.callbacks = list(callbacks)
        self.keras = [bool(getattr(cb, "_keras_logs", False)) for cb in self.callbacks]

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def set_model(self, model: Any, params: dict | None = None) -> None:
        for cb in self.callbacks:
            cb.set_model(model)
            if params is not None and hasattr(cb, "set_params"):
                cb.set_params(params)

    def call(self, name: str, *args: Any, logs: dict | None = None) -> None:
        """Call hook ``name`` (a begin/end or epoch hook) of every callback that has it."""
        bare = name in _NO_LOGS
        for cb, keras in zip(self.callbacks, self.keras):
            hook = getattr(cb, name, None)
            if hook is None:
                continue
            if not keras:
                hook(*args) if bare else hook(*args, logs)
            else:
                hook(*args, {} if logs is None else logs)   # Keras hands an empty dict where it has no logs

    def batch(self, name: str) -> list[tuple[Callable[..., Any], bool]]:
        """(bound hook, Keras' protocol?) for each callback that overrides batch hook ``name``:
        the others' would do nothing, and are not called."""
        base = _NOOPS[name]
        return [(getattr(cb, name), keras) for cb, keras in zip(self.callbacks, self.keras)
                if name in getattr(cb, "__dict__", {}) or getattr(type(cb), name, base) is not base]
