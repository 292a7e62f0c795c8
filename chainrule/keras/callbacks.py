"""``keras.callbacks`` on chainrule: the hooks ``fit`` calls, with Keras' arguments.

:mod:`chainrule.training.callbacks` has them all; the classes whose Keras signature differs are
subclassed here (``EarlyStopping(monitor, min_delta, patience, ...)``, ``ModelCheckpoint(filepath,
...)``, ``ReduceLROnPlateau(monitor, factor, patience, verbose, ...)``).  A ``Callback`` written for
Keras overrides ``on_epoch_end(self, epoch, logs=None)``, ``on_train_batch_end(self, batch,
logs=None)`` (or ``on_batch_end``), ``on_train_begin``/``on_train_end``, and finds the model in
``self.model``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from chainrule import _checks
from chainrule._unsupported import missing, unsupported
from chainrule.training import callbacks as _cb
from chainrule.training.callbacks import History, LearningRateScheduler, TerminateOnNaN

if TYPE_CHECKING:
    from chainrule._typing import PathLike

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "TerminateOnNaN",
           "ReduceLROnPlateau", "CSVLogger", "LambdaCallback"]


class Callback(_cb.Callback):
    """Keras' ``Callback``: chainrule's hooks plus Keras' ``on_train_batch_end`` (what ``on_batch_end`` calls)."""

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Called by ``fit`` after each batch: calls :meth:`on_train_batch_end`, as Keras does."""
        self.on_train_batch_end(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Called after each training batch with its index and logs; does nothing unless overridden."""
        pass


def _defaults(cls, **given):
    for key, (value, default) in given.items():
        if value != default:
            raise unsupported(f"keras.callbacks.{cls}({key}={value!r})")


class KerasEarlyStopping(_cb.EarlyStopping):
    """Keras' ``EarlyStopping(monitor='val_loss', min_delta=0, patience=0, verbose=0, mode='auto',
    baseline=None, restore_best_weights=False, start_from_epoch=0)``."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: Literal["auto", "min", "max"] = "auto", baseline: None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        _defaults("EarlyStopping", baseline=(baseline, None), start_from_epoch=(start_from_epoch, 0))
        patience = _checks.positive_int("EarlyStopping", "patience", patience, minimum=0)
        # Keras stops at the patience-th epoch without improvement (patience 0 and 1 alike); chainrule's
        # EarlyStopping after more than `patience` of them
        super().__init__(monitor=monitor, patience=max(int(patience) - 1, 0), min_delta=min_delta, mode=mode,
                         restore_best_weights=restore_best_weights, verbose=verbose)
        self.keras_patience = int(patience)


class KerasModelCheckpoint(_cb.ModelCheckpoint):
    """Keras' ``ModelCheckpoint(filepath, monitor='val_loss', verbose=0, save_best_only=False,
    save_weights_only=False, mode='auto', save_freq='epoch')``; the file is chainrule's ``.npz``."""

    def __init__(self, filepath: PathLike, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: Literal["auto", "min", "max"] = "auto",
                 save_freq: Literal["epoch"] = "epoch", initial_value_threshold: None = None) -> None:
        _defaults("ModelCheckpoint", save_freq=(save_freq, "epoch"),
                  initial_value_threshold=(initial_value_threshold, None))
        super().__init__(filepath, monitor=monitor, save_best_only=save_best_only, mode=mode, verbose=verbose)
        self.save_weights_only = bool(save_weights_only)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Save the model (or only its weights, ``save_weights_only``) after the epoch, or only when the
        monitored value improved (``save_best_only``)."""
        if not self.save_weights_only:
            return super().on_epoch_end(epoch, logs)
        if self.save_best_only:
            value = self._value(logs)
            if not self._improved(value):
                return
            self.best = value
        from chainrule.io import save_weights
        save_weights(self.model, self.path.format(epoch=epoch + 1, **logs))


class KerasReduceLROnPlateau(_cb.ReduceLROnPlateau):
    """Keras' ``ReduceLROnPlateau(monitor='val_loss', factor=0.1, patience=10, verbose=0, mode='auto',
    min_delta=1e-4, cooldown=0, min_lr=0.0)``."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: Literal["auto", "min", "max"] = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0, **kwargs: float) -> None:
        if "epsilon" in kwargs:   # tf.keras 1's name for min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword arguments {sorted(kwargs)}")
        super().__init__(monitor=monitor, factor=factor, patience=patience, min_lr=min_lr, mode=mode,
                         min_delta=min_delta, cooldown=cooldown, verbose=verbose)


class KerasCSVLogger(_cb.CSVLogger):
    """Keras' ``CSVLogger(filename, separator=',', append=False)`` (the default separator and append only)."""

    def __init__(self, filename: PathLike, separator: str = ",", append: bool = False) -> None:
        _defaults("CSVLogger", separator=(separator, ","), append=(append, False))
        super().__init__(filename)


class LambdaCallback(Callback):
    """Keras' ``LambdaCallback``: the hooks given as functions (``on_epoch_end=lambda epoch, logs: ...``)."""

    def __init__(self, on_epoch_begin: Callable[..., Any] | None = None, on_epoch_end: Callable[..., Any] | None = None,
                 on_train_begin: Callable[..., Any] | None = None, on_train_end: Callable[..., Any] | None = None,
                 on_train_batch_end: Callable[..., Any] | None = None, on_batch_end: Callable[..., Any] | None = None,
                 **kwargs: Any) -> None:
        if kwargs:
            raise unsupported(f"keras.callbacks.LambdaCallback({', '.join(sorted(kwargs))}=...)")
        self._hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                       "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                       "on_train_batch_end": on_train_batch_end or on_batch_end}

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_epoch_begin`` function given, if any."""
        if self._hooks["on_epoch_begin"]:
            self._hooks["on_epoch_begin"](epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_epoch_end`` function given, if any."""
        if self._hooks["on_epoch_end"]:
            self._hooks["on_epoch_end"](epoch, logs)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_train_begin`` function given, if any."""
        if self._hooks["on_train_begin"]:
            self._hooks["on_train_begin"](logs)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_train_end`` function given, if any."""
        if self._hooks["on_train_end"]:
            self._hooks["on_train_end"](logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Call the ``on_train_batch_end`` (or ``on_batch_end``) function given, if any."""
        if self._hooks["on_train_batch_end"]:
            self._hooks["on_train_batch_end"](batch, logs)


EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger = (KerasEarlyStopping, KerasModelCheckpoint,
                                                                KerasReduceLROnPlateau, KerasCSVLogger)

__getattr__ = missing(__name__, "keras.callbacks", {
    "TensorBoard": "log with CSVLogger or read model.history", "ProgbarLogger": "fit(verbose=1) shows a progress bar",
    "BackupAndRestore": "save with ModelCheckpoint and restart with initial_epoch="})
