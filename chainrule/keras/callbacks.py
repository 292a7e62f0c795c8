"""``keras.callbacks`` on chainrule: the hooks ``fit``, ``evaluate`` and ``predict`` call, with Keras' arguments.

:mod:`chainrule.training.callbacks` has them all; the classes whose Keras signature differs are
subclassed here (``EarlyStopping(monitor, min_delta, patience, ...)``, ``ModelCheckpoint(filepath,
...)``, ``ReduceLROnPlateau(monitor, factor, patience, verbose, ...)``).  A ``Callback`` written for
Keras overrides ``on_epoch_begin/end(self, epoch, logs=None)``, ``on_train_batch_begin/end(self,
batch, logs=None)`` (or their old names ``on_batch_begin/end``), ``on_train_begin/end``, the
``on_test_*`` and ``on_predict_*`` hooks, and finds the model in ``self.model`` and
``{'verbose', 'epochs', 'steps'}`` in ``self.params``.  Its logs are Keras': a training batch's
are the running means of the loss and metrics over the epoch so far (not the batch's own values,
which chainrule's own callbacks get), and ``on_train_end`` gets the last epoch's logs.
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


#: Keras' names of the training batch hooks -> the names fit calls
_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class Callback(_cb.Callback):
    """Keras' ``Callback``: chainrule's hooks with Keras' logs, and Keras' names ``on_train_batch_begin``
    and ``on_train_batch_end`` for the training batch hooks.

    Keras calls ``on_train_batch_*``, whose default calls the old name ``on_batch_*``; fit calls
    ``on_batch_*``.  So a subclass that defines ``on_train_batch_begin`` (or ``_end``) gets it as its
    ``on_batch_begin`` too, made when the class is created: fit then calls it directly, once a batch,
    and a callback that overrides neither costs a batch nothing.
    """

    _keras_logs = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for keras_name, name in _ALIASES.items():
            hook = getattr(cls, keras_name)
            if hook is not getattr(Callback, keras_name):
                setattr(cls, name, hook)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        """Called once, before the first epoch (``logs`` an empty dict, as in Keras)."""

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        """Called once after training, with the last epoch's logs."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        """Called before epoch ``epoch`` (counted from 0)."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Called before each training batch (Keras' name of :meth:`on_batch_begin`)."""

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        """Called after each training batch with the running means of the loss and metrics over the
        epoch so far, as Keras passes them (Keras' name of :meth:`on_batch_end`)."""


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
    """Keras' ``LambdaCallback``: the hooks given as functions, called as Keras calls them
    (``on_epoch_end=lambda epoch, logs: ...``, ``on_train_batch_end=lambda batch, logs: ...``,
    ``on_train_begin=lambda logs: ...``); any other hook by its name as a keyword
    (``on_test_end=...``, ``on_batch_end=...``)."""

    def __init__(self, on_epoch_begin: Callable[..., Any] | None = None, on_epoch_end: Callable[..., Any] | None = None,
                 on_train_begin: Callable[..., Any] | None = None, on_train_end: Callable[..., Any] | None = None,
                 on_train_batch_begin: Callable[..., Any] | None = None,
                 on_train_batch_end: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, **kwargs,
                 "on_train_batch_begin": on_train_batch_begin, "on_train_batch_end": on_train_batch_end}
        known = {k for k in dir(Callback) if k.startswith("on_")}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"LambdaCallback: unexpected keyword arguments {unknown}; the hooks are {sorted(known)}")
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be a function, got {type(fn).__name__}")
            setattr(self, name, fn)           # as Keras: the instance's own hook
            if name in _ALIASES:
                setattr(self, _ALIASES[name], fn)   # what fit calls


EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger = (KerasEarlyStopping, KerasModelCheckpoint,
                                                                KerasReduceLROnPlateau, KerasCSVLogger)

__getattr__ = missing(__name__, "keras.callbacks", {
    "TensorBoard": "log with CSVLogger or read model.history", "ProgbarLogger": "fit(verbose=1) shows a progress bar",
    "BackupAndRestore": "save with ModelCheckpoint and restart with initial_epoch="})
