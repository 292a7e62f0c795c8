"""The Trainer: Keras' compile / fit / evaluate / predict on any Module, driving one ``train_step``.

One training step is the notes' mini-batch stochastic gradient descent, on the autodiff
engine like any other computation: feed a batch forward, compute the cost (plus the weight
penalties), back-propagate, and let the optimizer update every parameter::

    y_pred = model(x)
    loss = model.compute_loss(x, y, y_pred, sample_weight)
    optimizer.zero_grad(); loss.backward(); optimizer.step()

That is :meth:`Trainer.train_step`, the one step ``fit`` drives (Keras 3's design): override
it in a Module subclass to train differently, and ``fit`` keeps its batching, callbacks,
progress bar and history.  An epoch is one pass over a fresh shuffle of the training set.

The speed of the step comes from the engine, not from a second implementation here: a
Sequential's dense layers are one node (:class:`~chainrule.ops.fused.DenseStack`) which
absorbs the loss and an L2 penalty (:mod:`chainrule.ops.heads`), the gradients are written
into the optimizer's flat buffer, and the per-step Python is kept small (the targets are
validated once per fit, the model's penalties are looked up once per model change).

:class:`chainrule.nn.Module` is a Trainer, as Keras' ``Model`` is; this module imports no
layer class.
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import _checks
from chainrule._masks import _MASKS, get_mask, set_mask
from chainrule import losses as _losses
from chainrule import metrics as _metrics
from chainrule import ops as _ops
from chainrule.tensor import Tensor, fork_rng, get_default_dtype, no_grad
from chainrule.optim import keras_rules as _keras_rules
from chainrule.optim.base import Optimizer
from chainrule.training.callbacks import Callback, CallbackList, History

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike

__all__ = ["Trainer", "DivergenceWarning", "DtypeCastWarning", "cast_input", "compile", "fit", "evaluate",
           "predict"]


class DivergenceWarning(UserWarning):
    """The training loss became NaN or infinite (``fit`` warns once per run)."""


class DtypeCastWarning(UserWarning):
    """float64 inputs were cast to a float32 model's dtype (warned once per process)."""


_CAST_WARNED = False


def cast_input(X: np.ndarray, dtype: DTypeLike, what: str = "model", stacklevel: int = 3) -> np.ndarray:
    """``X`` in the model's floating dtype: float64 data for a float32 model is cast, as Keras does.

    The first cast of the process warns (:class:`DtypeCastWarning`): NumPy and scikit-learn hand out
    float64, and a float32 model fed float64 would otherwise compute, slowly, in float64.  Build the
    model in float64 (``chainrule.set_default_dtype('float64')`` before creating it) to keep the data's
    precision.  Integer and float32 inputs are cast silently, as in Keras.
    """
    global _CAST_WARNED
    if X.dtype == dtype:
        return X
    if X.dtype == np.float64 and dtype == np.float32 and not _CAST_WARNED:
        _CAST_WARNED = True
        warnings.warn(f"{what}: float64 input cast to the model's float32 (warned once); pass float32 "
                      f"arrays to skip the copy, or build the model in float64 with "
                      f"chainrule.set_default_dtype('float64')", DtypeCastWarning, stacklevel=stacklevel)
    return X.astype(dtype)


# ---------------------------------------------------------------------- inputs
def _check_values(a, dtype, name, what="values"):
    """No NaN or infinity in a float array, and nothing beyond the range of ``dtype`` it is cast to
    (float64 data of 1e39 would become inf in float32).

    Data that the cast does not narrow needs only the first check, and a NaN or an infinity
    makes the sum of all values NaN or infinite, so a finite sum clears the array in one pass that
    allocates nothing (20 ms on Fashion-MNIST's 188 MB, against 33 ms for min and max and 36 ms for
    np.isfinite(a).all()).  A sum that is not finite (bad values, or finite ones whose sum
    overflows) and data to be narrowed go to min and max, which carry all three checks."""
    if a.size == 0 or a.dtype.kind != "f":
        return
    narrowed = np.dtype(dtype).kind == "f" and a.dtype.itemsize > np.dtype(dtype).itemsize
    if not narrowed:
        with np.errstate(over="ignore", invalid="ignore"):   # inf - inf, or finite values summing past the range
            total = np.add.reduce(a, axis=None)
        if np.isfinite(total):
            return
    lo, hi = a.min(), a.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name}: contains NaN or infinite {what}; clean or impute the data first")
    big = np.finfo(dtype).max if narrowed else None
    if big is not None and max(-lo, hi) > big:
        raise ValueError(f"{name}: holds {what} up to {max(-float(lo), float(hi)):.3g}, beyond the range of the "
                         f"model's {np.dtype(dtype).name} (+-{float(big):.3g}), where they would become infinite; "
                         f"rescale the data (e.g. standardize it)")


def _as_inputs(X, dtype, name="X"):
    if isinstance(X, Tensor):
        X = X.data
    try:
        X = np.asarray(X)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{name}: expected an array of numbers, got {type(X).__name__} ({err})") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {X.dtype}"
                        + ("; split complex data into real and imaginary features" if X.dtype.kind == "c" else ""))
    if X.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, got a scalar")
    if X.size == 0:
        raise ValueError(f"{name}: is empty (shape {X.shape}); give at least one sample with at least one "
                         f"feature")
    _check_values(X, dtype, name)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return X if X.dtype == dtype else cast_input(X, dtype, name, stacklevel=4)


def _as_targets(y, n, dtype, name="y"):
    if isinstance(y, Tensor):
        y = y.data
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numeric targets, got dtype {y.dtype}")
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{name}: got {0 if y.ndim == 0 else y.shape[0]} targets for {n} samples")
    if y.dtype.kind == "f":
        _check_values(y, dtype, name)
        y = y.astype(dtype, copy=False)
    return y


def _sample_weights(w, n, dtype):
    """sample_weight as the model's dtype: one finite weight >= 0 per sample."""
    w = _as_targets(w, n, dtype, "sample_weight")
    if w.size and w.min() < 0:
        raise ValueError(f"sample_weight: weights must be >= 0, got {float(w.min())}; a negative weight rewards the loss "
                         f"it should penalize")
    return w


def _check_fit_options(initial_epoch, shuffle, callbacks, validation_split, validation_batch_size,
                       validation_steps):
    """fit's options that the loop takes as given, checked by name (Keras' types)."""
    _checks.positive_int("fit", "initial_epoch", initial_epoch, minimum=0)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"fit: shuffle must be True or False, got {shuffle!r}")
    _checks.in_range("fit", "validation_split", validation_split, 0.0, 1.0, hi_open=True)
    _checks.positive_int("fit", "validation_batch_size", validation_batch_size, allow_none=True)
    _checks.positive_int("fit", "validation_steps", validation_steps, allow_none=True)
    _callbacks("fit", callbacks)


def _callbacks(op, callbacks):
    """The callbacks given to fit, evaluate or predict, checked, as a list."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{op}: callbacks must be a list of Callback objects, got {type(callbacks).__name__}")
    for cb in callbacks:
        if not (hasattr(cb, "set_model") and hasattr(cb, "on_epoch_end")):
            raise TypeError(f"{op}: callbacks must be Callback objects (chainrule.callbacks, keras.callbacks), "
                            f"got {type(cb).__name__}")
    return list(callbacks)


def _unpack(data):
    """(x, y, sample_weight) from a batch given as (x, y) or (x, y, sample_weight)."""
    if isinstance(data, (tuple, list)):
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data[0], data[1], data[2]
    raise ValueError(f"train_step: expected a batch (x, y) or (x, y, sample_weight), got {type(data).__name__}"
                     f"{' of length ' + str(len(data)) if isinstance(data, (tuple, list)) else ''}")


def _progress_bar():
    """tqdm's class for this front end: the notebook widget where ipywidgets is installed (tqdm.auto),
    else the plain text bar (tqdm.auto would warn "IProgress not found" in a notebook without it)."""
    import importlib.util
    try:
        if importlib.util.find_spec("ipywidgets") is None:
            from tqdm.std import tqdm
        else:
            from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm


def _class_weights(class_weight, y, n_classes):
    """Per-sample weights ``class_weight[y_i]`` (Keras' ``fit(class_weight=...)``).

    ``y`` holds integer labels (N,) or (N, 1), one-hot rows (N, C) or binary 0/1 targets;
    ``class_weight`` is a dict ``{class: weight}`` (missing classes weigh 1, as in Keras 3) or
    ``'balanced'`` (scikit-learn's n_samples / (n_classes * count(class))).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    else:
        labels = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 else y
        if labels.dtype.kind == "f":
            if not np.all(labels == np.round(labels)):
                raise ValueError("fit: class_weight needs class labels as targets (integers, one-hot rows or "
                                 "0/1), got non-integer values")
        labels = labels.astype(np.int64)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"fit: class_weight must be a dict {{class: weight}} or 'balanced', got "
                             f"{class_weight!r}")
        from sklearn.utils.class_weight import compute_class_weight
        classes = np.unique(labels)
        class_weight = dict(zip(classes.tolist(), compute_class_weight("balanced", classes=classes, y=labels)))
    if not isinstance(class_weight, dict):
        raise TypeError(f"fit: class_weight must be a dict {{class: weight}} or 'balanced', got "
                        f"{type(class_weight).__name__}")
    top = max([int(labels.max(initial=0)), *(int(k) for k in class_weight)]) + 1
    table = np.ones(max(top, n_classes or 0), dtype=np.float64)
    for k, v in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"fit: class_weight keys must be class indices (non-negative integers), got {k!r}")
        if not (isinstance(v, (int, float, np.number)) and np.isfinite(v) and v >= 0):
            raise ValueError(f"fit: class_weight[{k}] must be a finite number >= 0, got {v!r}")
        table[int(k)] = float(v)
    if labels.size and labels.min() < 0:
        raise ValueError(f"fit: class_weight needs non-negative class labels, got {labels.min()}")
    return table[labels]


def _fmt(logs):
    return {k: f"{v:.4f}" for k, v in logs.items()}


# ---------------------------------------------------------------------- structures of arrays
# A model with several inputs takes a list (in the order of its inputs) or a dict (by input name)
# of arrays, one with several outputs a list of targets; everything below maps over them.
def _is_structure(x):
    """A list/tuple of arrays (several inputs or outputs) or a dict of them; a list of numbers is one array."""
    if isinstance(x, dict):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(a, (np.ndarray, Tensor)) for a in x)


def _map(fn, x):
    if isinstance(x, dict):
        return {k: fn(v) for k, v in x.items()}
    if _is_structure(x):
        return [fn(v) for v in x]
    return fn(x)


def _first(x):
    if isinstance(x, dict):
        return next(iter(x.values()))
    return x[0] if _is_structure(x) else x


def _n(x):
    return len(_first(x))


def _is_stream(x):
    """A generator, iterator, DataLoader or other iterable of batches (not an array or a list of arrays)."""
    if x is None or isinstance(x, (np.ndarray, np.generic, Tensor, list, tuple, dict, str, bytes, int, float)):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool):
        return int(verbose)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _batch_parts(item, where):
    """(x, y, sample_weight) of one batch a generator or DataLoader yielded."""
    if isinstance(item, (tuple, list)) and len(item) in (2, 3):
        return (item[0], item[1], item[2] if len(item) == 3 else None)
    raise ValueError(f"{where}: each batch must be a tuple (x, y) or (x, y, sample_weight), got "
                     f"{type(item).__name__}{' of length ' + str(len(item)) if isinstance(item, (tuple, list)) else ''}")


def _output_mask(y_pred):
    """The (batch, time) mask a sequence output (batch, time, ...) carries (Masking upstream, passed on by the
    layers that support it), or None; Keras leaves the masked steps out of the loss and the metrics."""
    mask = get_mask(y_pred)
    if mask is None or np.ndim(y_pred.data if isinstance(y_pred, Tensor) else y_pred) < 3:
        return None
    return mask


def _masked(mask, y, y_pred, w):
    """The unmasked steps of a batch: targets, predictions (a Tensor stays one, so the masked steps get no
    gradient) and per-step weights, each (valid steps, ...)."""
    t = np.asarray(_values(y))
    shape = np.shape(y_pred.data if isinstance(y_pred, Tensor) else y_pred)
    if t.shape[:2] != mask.shape:
        raise ValueError(f"the loss: targets of shape {t.shape} do not fit the sequence output of shape {shape}, whose "
                         f"steps are masked; expected targets of shape (batch, time, ...) = {mask.shape + (...,)}")
    if w is not None:
        w = np.asarray(w)
        if w.shape == mask.shape + (1,):
            w = w[..., 0]
        if w.ndim == 1 and w.shape[0] == mask.shape[0]:
            w = np.broadcast_to(w[:, None], mask.shape)
        if w.shape != mask.shape:
            raise ValueError(f"sample_weight of shape {w.shape} does not fit the sequence output of shape {shape}; "
                             f"expected one weight per sample {mask.shape[:1]} or per step {mask.shape}")
        w = w[mask]
    return t[mask], y_pred[mask], w


def _mean_weight(w):
    return float(np.mean(w)) if np.size(w) else 0.0


def _keras_loss(fn, y, y_pred, w, validated=False):
    """One output's batch loss reduced as Keras reduces it ('sum_over_batch_size'): sum_i w_i l_i / n over
    the n per-sample (or per-step) losses, the steps an output mask leaves out not counted
    (:func:`_output_mask`; a batch with none left: 0).  chainrule's losses take a weighted *mean*,
    sum_i w_i l_i / sum_i w_i (:func:`chainrule.losses.averages_weights`), so that mean is multiplied by
    sum_i w_i / n, the weights' mean."""
    mask = _output_mask(y_pred)
    if mask is not None:
        y, y_pred, w = _masked(mask, y, y_pred, w)
        if not len(y):
            return _ops.sum(y_pred)   # no step left: 0, and no gradient
    if validated:
        loss = _losses.call_validated(fn, y, y_pred, w)
    else:
        loss = fn(y, y_pred) if w is None else fn(y, y_pred, sample_weight=w)
    if w is not None and _losses.averages_weights(fn):
        loss = loss * _mean_weight(w)
    return loss


def _metric(fn, y, out):
    """A metric of a batch and the number of samples (or unmasked steps) it averages: Keras' metrics skip the
    masked steps of a sequence output, and their epoch value weighs each batch by the steps it counted."""
    arr = out.data if isinstance(out, Tensor) else out
    mask = _output_mask(out)
    if mask is None:
        return fn(y, arr), None
    count = int(np.count_nonzero(mask))
    if not count:
        return 0.0, 0
    return fn(np.asarray(_values(y))[mask], arr[mask]), count


def _carries_mask(out):
    """Whether an output (or any of several) carries a mask."""
    parts = out.values() if isinstance(out, dict) else out if isinstance(out, list) else [out]
    return any(get_mask(o) is not None for o in parts)


def _rows(a, part):
    """Rows ``part`` (a slice) of an output array, with the same rows of its mask."""
    mask = get_mask(a)
    return a[part] if mask is None else set_mask(a[part], mask[part])


def _with_mask(arr, out):
    """``arr`` (the values of the model's output ``out``) carrying ``out``'s mask, if it has one."""
    mask = get_mask(out)
    if mask is not None and arr is not out:
        set_mask(arr, mask)
    return arr


def _keras_result(logs):
    """What Keras' evaluate returns: the loss alone, or [loss, *metrics] in the order of the logs."""
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _head_specs(names, spec, what, default):
    """One entry of ``spec`` (a list or a dict by output name, or one value for all) per output."""
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: {what} names outputs {unknown} the model does not have; its outputs are "
                             f"{names}")
        return [spec.get(n, default) for n in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise ValueError(f"compile: the model has {len(names)} outputs ({names}), got {len(spec)} {what}")
        return list(spec)
    return [spec] * len(names)


# ---------------------------------------------------------------------- the Trainer
class Trainer:
    """Keras-style training for a Module: ``compile``, ``fit``, ``evaluate``, ``predict``, ``summary``.

    The model must be callable on a batch (``model(x)``) and have ``parameters()``,
    ``train()``/``eval()``, ``state_dict()``, ``penalty_terms()`` and
    ``regularization_loss()``: :class:`chainrule.nn.Module` has them all.
    """

    # --------------------------------------------------------------------- compile
    def compile(self, optimizer: str | Optimizer = "adam",
                loss: str | Callable[..., Any] | Sequence[str | Callable[..., Any]] | Mapping[str, str | Callable[..., Any]] | None = None,
                metrics: str | Callable[..., Any] | Sequence[Any] | Mapping[str, Any] | None = None,
                loss_weights: Sequence[float] | Mapping[str, float] | None = None, weighted_metrics: None = None,
                run_eagerly: bool | None = None, steps_per_execution: int = 1, jit_compile: bool | str = "auto",
                auto_scale_loss: bool = True) -> Trainer:
        """Bind an optimizer, a loss and metrics (Keras' ``model.compile``); returns the model.

        Parameters
        ----------
        optimizer : str or Optimizer
            A name or an instance; an instance created without parameters is bound to the
            model's parameters here.  A name builds what Keras builds from it, because this is
            Keras' interface: 'sgd', 'adam', 'adamw', 'rmsprop' and 'adagrad' give Keras' update
            rules and defaults (:mod:`chainrule.optim.keras_rules`; Adam's epsilon 1e-7 on
            sqrt(v), Adagrad's accumulator starting at 0.1); the notes' 'constant', 'momentum'
            and 'adagrad_momentum' give chainrule's.  For PyTorch's rules pass an instance of
            :mod:`chainrule.optim` (``optim.Adam(lr=1e-3)``).
        loss : str, callable or Loss; or a list / dict of them (one per output)
            ``loss(y_true, y_pred)``, e.g. 'mse', 'binary_crossentropy',
            'sparse_categorical_crossentropy'.  A model with several outputs takes one loss per
            output (a list in the order of its outputs, or a dict by output name), or one loss
            for all; the training loss is sum_k w_k L_k.
        metrics : list of str, optional
            e.g. ['accuracy']; with several outputs, one list per output (or one list for all).
        loss_weights : list or dict of float, optional
            The w_k of each output's loss (1 by default).

        ``run_eagerly``, ``jit_compile``, ``steps_per_execution`` and ``auto_scale_loss`` are
        Keras' execution options; they change nothing here (chainrule always runs eagerly).
        """
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='mse' or loss='sparse_categorical_crossentropy'")
        if weighted_metrics:
            raise NotImplementedError("compile(weighted_metrics=...): metrics weighted by sample_weight are not "
                                      "supported; the loss takes sample_weight in fit")
        if steps_per_execution not in (1, None):
            raise NotImplementedError("compile(steps_per_execution=...): chainrule runs one step per call")
        opt = _keras_rules.get(optimizer)
        if isinstance(loss, (list, tuple)) and len(loss) == 1 and not isinstance(metrics, dict):
            try:
                single = len(list(getattr(self, "output_names"))) <= 1
            except (AttributeError, TypeError):
                single = True
            if single:   # [loss] for a model with one output: that loss
                loss = loss[0]
                if isinstance(metrics, (list, tuple)) and len(metrics) == 1 and isinstance(metrics[0], (list, tuple)):
                    metrics = metrics[0]
        names = self._loss_heads(loss)
        if names is None:
            if loss_weights is not None:
                raise ValueError("compile: loss_weights is for models with several outputs")
            loss_fn = _losses.get(loss)
            mnames, fns = _metric_list(metrics)
            self._compiled = {"optimizer": opt, "loss": loss_fn, "metrics": mnames, "metric_fns": fns, "heads": None,
                              "config": {"loss": _serialize_loss(loss, loss_fn), "metrics": mnames}}
        else:
            losses = _head_specs(names, loss, "losses", None)
            if any(fn is None for fn in losses):
                raise ValueError(f"compile: every output needs a loss; got {loss!r} for outputs {names}")
            weights = _head_specs(names, 1.0 if loss_weights is None else loss_weights, "loss_weights", 0.0)
            if metrics is None or (isinstance(metrics, (list, tuple)) and not metrics):
                per = [[] for _ in names]
            elif isinstance(metrics, dict):
                per = [list(m) if isinstance(m, (list, tuple)) else [m] for m in _head_specs(names, metrics, "metrics",
                                                                                             [])]
            elif isinstance(metrics, (list, tuple)) and all(isinstance(m, (list, tuple)) or m is None for m in metrics):
                per = [list(m or []) for m in _head_specs(names, list(metrics), "metric lists", [])]
            else:
                per = [list(metrics)] * len(names)
            heads = []
            for name, fn, wt, ms in zip(names, losses, weights, per):
                loss_fn = _losses.get(fn)
                mnames, mfns = _metric_list(ms)
                heads.append({"name": name, "loss": loss_fn, "weight": float(wt), "metrics": mnames,
                              "metric_fns": mfns, "config": _serialize_loss(fn, loss_fn)})
            # Keras 3 returns the outputs' metrics after their losses in the order of their names (its
            # evaluate lists the names its metrics_names lacks sorted): `loss, l1, l2, m1, m2 = evaluate()`
            # then unpacks alike
            logged = sorted(f"{h['name']}_{m}" for h in heads for m in h["metrics"])
            self._compiled = {"optimizer": opt, "loss": None, "metrics": logged, "metric_fns": [], "heads": heads,
                              "config": {"loss": [h["config"] for h in heads], "metrics": [h["metrics"] for h in heads],
                                         "loss_weights": [h["weight"] for h in heads]}}
            if any(h["config"] is None for h in heads):
                self._compiled["config"]["loss"] = None
        try:
            self._bind_optimizer()
        except ValueError:
            pass  # lazy layers: bound on the first batch of fit
        return self

    def _loss_heads(self, loss):
        """The output names when the model is compiled per output (several outputs), else None."""
        try:
            outs = list(getattr(self, "output_names"))
        except (AttributeError, TypeError):
            outs = None
        if isinstance(loss, dict):
            if not outs:
                raise ValueError("compile: a dict of losses needs a model with named outputs (a functional Model)")
            return outs
        if isinstance(loss, (list, tuple)):
            if outs and len(outs) == len(loss):
                return outs
            return [f"output_{i}" for i in range(len(loss))]
        if outs and len(outs) > 1:
            return outs
        return None

    @property
    def metrics_names(self) -> list[str]:
        """The names of what ``evaluate`` returns, in order (Keras' ``model.metrics_names``)."""
        comp = self._require_compiled("metrics_names")
        if comp["heads"] is None:
            return ["loss", *comp["metrics"]]
        return ["loss", *[f"{h['name']}_loss" for h in comp["heads"]], *comp["metrics"]]

    @property
    def optimizer(self) -> Optimizer | None:
        """The optimizer ``compile`` bound (Keras' ``model.optimizer``), None before ``compile``.

        Assigning one replaces the compiled optimizer (a module that is not compiled, as in a
        PyTorch-style program's ``self.optimizer = optim.SGD(self.parameters())``, just keeps it).
        """
        c = self.__dict__.get("_compiled")
        return c["optimizer"] if c is not None else self.__dict__.get("_own_optimizer")

    @optimizer.setter
    def optimizer(self, value: Optimizer | None) -> None:
        c = self.__dict__.get("_compiled")
        if c is None:
            self.__dict__["_own_optimizer"] = value
            return
        if not isinstance(value, Optimizer):
            raise TypeError(f"model.optimizer: expected an Optimizer for a compiled model, got "
                            f"{type(value).__name__}; call model.compile(optimizer=...) to change it by name")
        c["optimizer"] = value
        try:
            self._bind_optimizer()
        except ValueError:
            pass  # lazy layers: bound on the first batch of fit

    def _require_compiled(self, what):
        c = getattr(self, "_compiled", None)
        if c is None:
            raise RuntimeError(f"{what}: the model is not compiled; call model.compile(optimizer=..., loss=...) "
                               f"first")
        return c

    def _bind_optimizer(self):
        opt = self._compiled["optimizer"]
        params = self.parameters()
        bound = getattr(opt, "params", None)
        if not bound or len(bound) != len(params) or any(a is not b for a, b in zip(bound, params)):
            opt.bind(params)

    def _model_dtype(self):
        try:
            params = self.parameters()
        except ValueError:
            return get_default_dtype()
        return params[0].data.dtype if params else get_default_dtype()

    def _ensure_built(self, X):
        """Call the model once on a sample so lazy layers create their weights."""
        try:
            self.parameters()
        except ValueError:
            was = self.training
            self.eval()
            with no_grad():
                self(_map(lambda a: a[:2] if len(a) > 1 else a, X))
            self.train(was)

    # ----------------------------------------------------------------------- steps
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: ArrayLike | None = None) -> Tensor:
        """The training objective of a batch: the compiled loss of (y, y_pred) plus every layer's
        weight penalty (an L2 penalty is absorbed into the loss's node when it can be) and activity
        penalty; with several outputs sum_k w_k L_k(y_k, y_pred_k) first.  Each loss is reduced as
        Keras reduces it: sum_i w_i l_i / n with sample weights, and the mean over the unmasked
        steps of a sequence output that carries a mask."""
        comp = self._compiled
        if comp["heads"] is not None:
            loss = self._heads_loss(comp["heads"], y, y_pred, sample_weight)
        elif sample_weight is None and not _MASKS and self.__dict__.get("_targets_checked"):
            loss = _losses.call_validated(comp["loss"], y, y_pred)     # the training step's usual case
        else:
            loss = _keras_loss(comp["loss"], y, y_pred, sample_weight, self.__dict__.get("_targets_checked"))
        loss = self._add_penalties(loss)
        activity = getattr(self, "activity_penalty", None)
        if activity is not None:
            act = activity()
            if act is not None:
                loss = loss + act
        return loss

    def _heads_loss(self, heads, y, y_pred, sample_weight):
        names = [h["name"] for h in heads]
        preds = [y_pred[k] for k in names] if isinstance(y_pred, dict) else list(y_pred) if \
            isinstance(y_pred, (list, tuple)) else [y_pred]
        ys = [y[k] for k in names] if isinstance(y, dict) else list(y) if _is_structure(y) or \
            (isinstance(y, (list, tuple)) and len(heads) > 1) else [y]
        if len(preds) != len(heads) or len(ys) != len(heads):
            raise ValueError(f"compute_loss: the model was compiled for {len(heads)} outputs ({names}), got "
                             f"{len(preds)} predictions and {len(ys)} targets; pass one target array per output")
        total, values = None, []
        for h, yt, yp in zip(heads, ys, preds):
            li = _keras_loss(h["loss"], yt, yp, sample_weight)
            values.append(li)
            term = li if h["weight"] == 1.0 else li * h["weight"]
            total = term if total is None else total + term
        object.__setattr__(self, "_head_values", (values, ys, preds))
        return total

    def _add_penalties(self, loss):
        terms = self.penalty_terms()
        if not terms:
            return loss
        lams = [getattr(reg, "l2_coefficient", lambda: None)() for reg, _ in terms]
        if all(lam is not None for lam in lams):
            return _ops.add_l2(loss, [p for _, p in terms], lams)
        reg = self.regularization_loss()
        return loss if reg is None else loss + reg

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: ArrayLike | None = None,
                        loss: Tensor | float | None = None) -> dict[str, float]:
        """The logs of a batch: ``{'loss': loss, <metric>: value, ...}`` (plain floats); with several
        outputs also ``<output>_loss`` and ``<output>_<metric>``."""
        comp, d = self._compiled, self.__dict__
        logs = {"loss": float(loss.data if isinstance(loss, Tensor) else loss)}
        if comp["heads"] is None and not _MASKS:     # the training step's usual case: no mask anywhere
            if comp["metric_fns"]:
                out = y_pred.data if isinstance(y_pred, Tensor) else y_pred
                for name, fn in zip(comp["metrics"], comp["metric_fns"]):
                    logs[name] = fn(y, out)
            if d.get("_log_counts") is not None:
                d["_log_counts"] = None
            return logs
        if comp["heads"] is not None:
            values, ys, preds = d["_head_values"]
            for h, v in zip(comp["heads"], values):
                logs[f"{h['name']}_loss"] = float(v.data if isinstance(v, Tensor) else v)
            pairs = sorted(((f"{h['name']}_{name}", fn, yt, yp) for h, yt, yp in zip(comp["heads"], ys, preds)
                            for name, fn in zip(h["metrics"], h["metric_fns"])), key=lambda pair: pair[0])
        else:
            pairs = [(name, fn, y, y_pred) for name, fn in zip(comp["metrics"], comp["metric_fns"])]
        counts = None     # metrics over a masked sequence output: how many steps each one counted
        for name, fn, yt, yp in pairs:
            logs[name], count = _metric(fn, yt, yp)
            if count is not None:
                counts = counts or {}
                counts[name] = count
        d["_log_counts"] = counts    # for fit's and evaluate's running means (_Means)
        return logs

    def train_step(self, data: tuple[Any, ...]) -> dict[str, float]:
        """One optimizer step on a batch ``(x, y)`` or ``(x, y, sample_weight)``; returns its logs.

        Forward, loss (with penalties), back-propagation, update.  A loss that is not finite is
        reported to ``fit`` (which warns and tells the callbacks) and, when a callback stops
        training, the update is skipped: the weights never step on a NaN gradient.
        """
        if type(data) is tuple and len(data) == 2:
            (x, y), w = data, None
        else:
            x, y, w = _unpack(data)
        y_pred = self(x)
        loss = self.compute_loss(x, y, y_pred, w)
        value = float(loss.data)
        if not math.isfinite(value) and self._loss_not_finite(value):
            return self.compute_metrics(x, y, y_pred, w, value)
        opt = self._compiled["optimizer"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return self.compute_metrics(x, y, y_pred, w, value)

    def _loss_not_finite(self, value):
        """Warn (once per fit), tell the callbacks; True if training must stop before the update."""
        state = getattr(self, "_fit_state", None)
        if state is None:
            warnings.warn(f"train_step: the loss is {value}; the update goes ahead (lower the learning rate, "
                          f"scale the inputs or clip the gradients)", DivergenceWarning, stacklevel=3)
            return False
        epoch, batch = state["epoch"], state["batch"]
        state["diverged"] = True
        if not state["warned"]:
            state["warned"] = True
            warnings.warn(f"fit: the loss became {value} at epoch {epoch + 1}, batch {batch + 1}; the model is "
                          f"diverging (try a smaller learning rate, scaled inputs or gradient clipping; "
                          f"TerminateOnNaN stops training there)", DivergenceWarning, stacklevel=5)
        for cb in state["callbacks"]:
            cb.on_batch_nan(epoch, batch, value)
        return self.stop_training

    # ------------------------------------------------------------------------- fit
    def fit(self, x: ArrayLike | Mapping[str, ArrayLike] | Iterable[Any] | None = None,
            y: ArrayLike | Sequence[ArrayLike] | None = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | bool | Literal["auto"] = "auto", callbacks: Sequence[Callback] | None = None,
            validation_split: float = 0.0, validation_data: tuple[Any, ...] | Iterable[Any] | None = None,
            shuffle: bool = True, class_weight: Mapping[int, float] | Literal["balanced"] | None = None,
            sample_weight: ArrayLike | None = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None, validation_freq: int = 1, *,
            seed: int | None = None) -> History:
        """Train with mini-batch gradient descent (Keras' ``model.fit``); returns a :class:`History`.

        Each epoch shuffles the training set (when ``shuffle``), runs :meth:`train_step` on each
        batch of ``batch_size`` samples, then evaluates the validation set.  ``History.history``
        holds per-epoch 'loss', each metric, and their ``val_`` versions; an epoch in which a
        batch loss was NaN or infinite is logged as NaN.  The arguments are Keras', in Keras'
        order.

        Parameters
        ----------
        x, y : array_like
            Inputs (batch axis first) and targets; for several inputs a list of arrays (in the
            order of the model's inputs) or a dict by input name, for several outputs a list of
            target arrays.  ``x`` may instead be a generator, iterator or
            :class:`~chainrule.data.DataLoader` yielding ``(x, y)`` or ``(x, y, sample_weight)``
            batches (then ``y`` stays None): a DataLoader or other re-iterable is gone through once
            per epoch, a one-shot generator for ``steps_per_epoch`` batches per epoch (without it,
            training stops with a warning when it runs out, as Keras does).
        batch_size : int, optional
            32 when None (Keras' default).
        epochs : int
        verbose : {0, 1, 2, 'auto'}
            0 silent, 1 (and 'auto', True) a progress bar, 2 one line per epoch.
        callbacks : list of Callback, optional
        validation_split : float
            Holds out the *last* fraction of x and y (before any shuffling), and of sample_weight,
            which then weighs the validation loss too, as Keras does.
        validation_data : tuple, optional
            (x_val, y_val) or (x_val, y_val, sample_weight_val), or an iterable of batches.
        shuffle : bool
        sample_weight : array_like of shape (N,), or (N, T) for a sequence output, optional
            Each sample's (each step's) loss times its weight; a batch's loss is then their sum
            divided by the number of losses, Keras' ``sum_over_batch_size``, not a weighted mean.
        initial_epoch : int
        steps_per_epoch, validation_steps : int, optional
            Batches per epoch from a generator, and from a validation generator.
        validation_batch_size : int, optional
        validation_freq : int
            Evaluate the validation set every this many epochs.
        seed : int, optional (keyword only)
            The same seed gives bit-identical weights and history on the same machine.
        class_weight : dict or 'balanced', optional
            ``{class index: weight}``: each training sample's loss is multiplied by its class's weight
            (times its ``sample_weight``), as in Keras; classes left out weigh 1.  ``'balanced'``
            weighs classes by n_samples / (n_classes * count), as scikit-learn does.  Not applied
            to the validation data.

        A sequence output that carries a padding mask (``Masking`` or ``Embedding(mask_zero=True)``
        upstream) leaves its masked steps out of the loss and the metrics, as Keras does: a batch's
        loss is the mean over its unmasked steps, and an epoch's metric weighs each batch by the steps
        it counted.

        Inputs in float64 for a float32 model are cast to float32, with a one-time
        :class:`DtypeCastWarning`.
        """
        comp = self._require_compiled("fit")
        verbose = _verbosity(verbose)
        if isinstance(validation_freq, bool) or not isinstance(validation_freq, (int, np.integer)) or \
                validation_freq < 1:
            raise ValueError(f"fit: validation_freq must be a positive integer, got {validation_freq!r}")
        _check_fit_options(initial_epoch, shuffle, callbacks, validation_split, validation_batch_size,
                           validation_steps)
        if _is_stream(x):
            if y is not None:
                raise ValueError("fit: x is a generator or DataLoader of (x, y) batches, so y must be None")
            if validation_split:
                raise ValueError("fit: validation_split needs arrays; pass validation_data=... with a generator")
            return self._fit_stream(x, epochs, steps_per_epoch, validation_data, validation_steps, callbacks or [],
                                    verbose, seed, initial_epoch, validation_freq, validation_batch_size)
        if steps_per_epoch is not None:
            raise NotImplementedError("fit(steps_per_epoch=...) with arrays: the epoch is one pass over the arrays "
                                      "(use batch_size), or pass a generator")
        if batch_size is None:
            batch_size = 32
        if x is None:
            raise ValueError("fit: inputs x are required")
        if y is None:
            raise ValueError("fit: targets y are required")
        for name, v, lo in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ValueError(f"fit: {name} must be an integer >= {lo}, got {v!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"fit: seed must be a non-negative integer (or None for the global generator), "
                             f"got {seed!r}")
        with fork_rng(seed) as rng:
            dtype = self._model_dtype()
            X = _map(lambda a: _as_inputs(a, dtype), x)
            self._ensure_built(X)
            dtype = self._model_dtype()
            X = _map(lambda a: a.astype(dtype, copy=False), X)
            n = _n(X)
            y = _map(lambda a: _as_targets(a, n, dtype), y)
            w = None if sample_weight is None else _sample_weights(sample_weight, n, dtype)
            Xv = yv = wv = None
            if validation_data is None and validation_split > 0:
                n_val = int(math.ceil(n * validation_split))
                if n_val >= n:
                    raise ValueError(f"fit: validation_split={validation_split} leaves no training samples")
                # the sample weights are split with the samples (the validation loss is weighted too, as in
                # Keras); the class weights apply to the training part only
                validation_data = (_map(lambda a: a[-n_val:], X), _map(lambda a: a[-n_val:], y),
                                   None if w is None else w[-n_val:])
                X, y = _map(lambda a: a[:-n_val], X), _map(lambda a: a[:-n_val], y)
                w = None if w is None else w[:-n_val]
            if class_weight is not None:
                if not isinstance(y, np.ndarray):
                    raise ValueError("fit: class_weight needs one target array (a model with one output), got "
                                     f"{type(y).__name__} of targets; weigh each output's samples with sample_weight")
                cw = _class_weights(class_weight, y, None).astype(dtype)
                w = cw if w is None else w * cw
            if validation_data is not None and not _is_stream(validation_data):
                if len(validation_data) not in (2, 3):
                    raise ValueError("fit: validation_data must be (X_val, y_val) or (X_val, y_val, weights)")
                Xv = _map(lambda a: _as_inputs(a, dtype, "validation_data X"), validation_data[0])
                yv = _map(lambda a: _as_targets(a, _n(Xv), dtype, "validation_data y"), validation_data[1])
                if len(validation_data) == 3 and validation_data[2] is not None:
                    wv = _sample_weights(validation_data[2], _n(Xv), dtype)
            elif validation_data is not None:
                Xv = validation_data
            n = _n(X)
            for m in self.modules():  # layers that constrain the batches (stateful recurrent ones)
                m.check_fit(shuffle=shuffle, batch_size=batch_size, n_samples=n)
            self._bind_optimizer()
            if comp["heads"] is None and not _is_structure(X):
                y = self._check_targets(comp["loss"], X, y)
            else:
                self._targets_checked = False
            steps = max(1, math.ceil(n / batch_size))
            multi = _is_structure(X) or _is_structure(y)

            def batches(epoch):
                # batches are gathered by index into a reused buffer: cheaper than copying the shuffled set
                # every epoch
                perm = rng.permutation(n) if shuffle else None
                for b in range(steps):
                    sl = slice(b * batch_size, min(n, (b + 1) * batch_size))
                    if multi:
                        idx = sl if perm is None else perm[sl]
                        yield (_map(lambda a: a[idx], X), _map(lambda a: a[idx], y),
                               None if w is None else w[idx])
                    elif perm is None:
                        yield X[sl], y[sl], None if w is None else w[sl]
                    else:
                        idx = perm[sl]
                        xb = np.take(X, idx, axis=0, out=xbuf, mode="clip") if len(idx) == batch_size else X[idx]
                        yield xb, y[idx], None if w is None else w[idx]

            xbuf = None if multi else np.empty((min(batch_size, n),) + X.shape[1:], dtype=X.dtype)
            params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n}
            try:
                return self._fit_loop(batches, params, Xv, yv, epochs, batch_size, callbacks or [], verbose,
                                      initial_epoch, validation_freq, validation_batch_size, validation_steps, wv)
            finally:
                self._targets_checked = False
                self._fit_state = None

    def _check_targets(self, loss_fn, X, y):
        """Validate all of y once against the model's output shape, for a built-in loss; the batches
        of this fit then skip the value scans (label ranges, probabilities in [0, 1])."""
        was = self.training
        self.eval()
        try:
            with no_grad():
                out = self(X[:1])
        finally:
            self.train(was)
        if isinstance(out, (list, tuple, dict)):
            self._targets_checked = False
            return y
        shape = np.shape(out.data if isinstance(out, Tensor) else out)
        y, checked = _losses.check_targets(loss_fn, y, (len(y),) + tuple(shape[1:]))
        self._targets_checked = checked
        return y

    def _fit_stream(self, source, epochs, steps_per_epoch, validation_data, validation_steps, callbacks, verbose,
                    seed, initial_epoch, validation_freq, validation_batch_size):
        """fit on a generator or DataLoader: each epoch takes its batches from ``source``."""
        comp = self._compiled
        for name, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
            if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0):
                raise ValueError(f"fit: {name} must be a non-negative integer, got {v!r}")
        reiterable = hasattr(source, "__iter__") and not hasattr(source, "__next__")
        state = {"it": None, "ran_out": False}
        try:
            total = steps_per_epoch if steps_per_epoch is not None else len(source)
        except TypeError:
            total = None

        def convert(item, first):
            xb, yb, wb = _batch_parts(item, "fit")
            dtype = self._model_dtype()
            xb = _map(lambda a: _as_inputs(a, dtype), xb)
            if first:
                self._ensure_built(xb)
                self._bind_optimizer()
                dtype = self._model_dtype()
                xb = _map(lambda a: a.astype(dtype, copy=False), xb)
                for m in self.modules():
                    m.check_fit(shuffle=False, batch_size=None, n_samples=None)
            nb = _n(xb)
            yb = _map(lambda a: _as_targets(a, nb, dtype), yb)
            wb = None if wb is None else _sample_weights(wb, nb, dtype)
            return xb, yb, wb

        def batches(epoch):
            if state["it"] is None or (reiterable and steps_per_epoch is None):
                state["it"] = iter(source)
            got = 0
            while steps_per_epoch is None or got < steps_per_epoch:
                try:
                    item = next(state["it"])
                except StopIteration:
                    if steps_per_epoch is not None or got == 0:
                        state["ran_out"] = True
                    break
                yield convert(item, state.get("first", True))
                state["first"] = False
                got += 1
            if state["ran_out"]:
                warnings.warn(f"fit: the input ran out of data at epoch {epoch + 1}; training stops there (pass "
                              f"steps_per_epoch = the number of batches the generator makes per epoch, or a "
                              f"DataLoader, which starts over every epoch)", UserWarning, stacklevel=4)
                self.stop_training = True

        self._targets_checked = False
        params = {"epochs": epochs, "steps": total, "batch_size": None, "samples": None}
        Xv, yv, wv = validation_data, None, None
        if validation_data is not None and not _is_stream(validation_data):
            if len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be (X_val, y_val), (X_val, y_val, weights) or a generator "
                                 "of batches")
            Xv, yv = validation_data[:2]
            wv = validation_data[2] if len(validation_data) == 3 else None
        with fork_rng(seed):
            try:
                return self._fit_loop(batches, params, Xv, yv, epochs, None, callbacks, verbose,
                                      initial_epoch, validation_freq, validation_batch_size, validation_steps, wv)
            finally:
                self._fit_state = None

    def _fit_loop(self, batches, params, Xv, yv, epochs, batch_size, callbacks, verbose, initial_epoch,
                  validation_freq=1, validation_batch_size=None, validation_steps=None, wv=None):
        comp = self._compiled
        names = self.metrics_names[1:]
        history = History()
        steps = params["steps"]
        history.params = dict(params)
        self.stop_training = False
        self.history = history
        state = self._fit_state = {"epoch": 0, "batch": 0, "warned": False, "diverged": False,
                                   "callbacks": callbacks}
        cbs = CallbackList(callbacks)
        cbs.set_model(self, {"verbose": verbose, "epochs": epochs, "steps": steps})
        cbs.call("on_train_begin")
        begins, ends = cbs.batch("on_batch_begin"), cbs.batch("on_batch_end")
        running = any(keras for _, keras in ends)   # a Keras callback: it gets the epoch's running means
        epoch_logs = {}
        # Keras' batch size for the validation when a callback watches its batches; else one larger
        val_hooked = validation_batch_size or batch_size or 32
        bar_cls = _progress_bar() if verbose == 1 else None
        step = self.train_step
        val_batch = validation_batch_size or max(batch_size or 32, 256)
        for epoch in range(initial_epoch, epochs):
            cbs.call("on_epoch_begin", epoch)
            self.train()
            bar = bar_cls(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", leave=True, file=sys.stdout,
                          mininterval=0.2, dynamic_ncols=True) if bar_cls else None
            t0 = time.perf_counter()
            means = _Means()
            state["epoch"], state["diverged"] = epoch, False
            for b, (xb, yb, wb) in enumerate(batches(epoch)):
                state["batch"] = b
                for hook, _ in begins:
                    hook(b, {})
                logs = step((xb, yb) if wb is None else (xb, yb, wb))
                if self.stop_training and state["diverged"]:
                    break  # stopped on a non-finite loss: that batch never stepped, and is not averaged in
                means.add(logs, len(yb) if type(yb) is np.ndarray else _n(yb), self.__dict__.get("_log_counts"))
                if ends:
                    run = means.result() if running else None
                    for hook, keras in ends:
                        hook(b, run if keras else logs)   # Keras' callbacks: the epoch's running means
                if bar is not None:
                    bar.update(1)
                    if b % 20 == 0 or b == (steps or 0) - 1:
                        bar.set_postfix(_fmt(means.result()), refresh=False)
                if self.stop_training:
                    break
            if not means.seen and self.stop_training and not state["diverged"]:
                if bar is not None:
                    bar.close()
                break  # a generator that ran out of data: no epoch to log
            if state["diverged"] or not means.seen:
                logs = {"loss": math.nan, **{k: math.nan for k in names}}
            else:
                logs = means.result()
            if Xv is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                val = self._evaluate(Xv, yv, val_batch, wv, validation_steps, cbs, val_hooked)
                if not math.isfinite(val["loss"]):
                    val = {k: math.nan for k in val}
                logs.update({f"val_{k}": v for k, v in val.items()})
            if bar is not None:
                bar.set_postfix(_fmt(logs), refresh=True)
                bar.close()
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - t0:.2f}s - "
                      + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
            cbs.call("on_epoch_end", epoch, logs=logs)  # may add entries such as 'lr' to logs
            history._append(epoch, logs)
            epoch_logs = logs
            if self.stop_training:
                break
        cbs.call("on_train_end", logs=epoch_logs)
        self.eval()
        return history

    # -------------------------------------------------------------- evaluate / predict
    def predict(self, x: ArrayLike | Mapping[str, ArrayLike] | Iterable[Any], batch_size: int | None = None,
                verbose: int | bool | Literal["auto"] = "auto", steps: int | None = None,
                callbacks: Sequence[Callback] | None = None) -> np.ndarray | list[np.ndarray] | dict[str, np.ndarray]:
        """Outputs of the model for x, in evaluation mode (dropout off, running batch-norm statistics).

        ``x`` is an array, a list or dict of arrays (several inputs), or a generator / DataLoader
        of batches (of x, or of (x, y) tuples, whose x is used).  Several outputs give a list of
        arrays.  All of x runs as one batch when ``batch_size`` is None, unless a callback
        watches the batches (``on_predict_batch_begin/end``): then in batches of 32, as Keras."""
        cbs = CallbackList(_callbacks("predict", callbacks))
        hooks = None
        if cbs:
            cbs.set_model(self, {"verbose": _verbosity(verbose), "epochs": 1, "steps": steps})
            cbs.call("on_predict_begin")
            hooks = (cbs.batch("on_predict_batch_begin"), cbs.batch("on_predict_batch_end"))
            if not (hooks[0] or hooks[1]):
                hooks = None
        if _is_stream(x):
            out = self._predict_stream(x, steps, hooks)
        else:
            if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
                raise ValueError(f"predict: batch_size must be a positive integer, got {batch_size!r}")
            dtype = self._model_dtype()
            X = _map(lambda a: _as_inputs(a, dtype), x)
            self._ensure_built(X)
            out = self._outputs(X, (batch_size or 32) if hooks else batch_size, hooks)
        if cbs:
            cbs.call("on_predict_end")
        return out

    def _outputs(self, X, batch_size, hooks=None, masks=False):
        """The model's outputs for X in evaluation mode, in batches of ``batch_size`` (all at once: None);
        ``hooks``: (begin, end) batch hooks of the callbacks, or None; ``masks``: see :func:`_values`."""
        n = _n(X)
        was = self.training
        self.eval()
        try:
            with no_grad():
                if hooks is None and (batch_size is None or batch_size >= n):
                    return _values(self(X), masks)
                step = batch_size or n
                parts = []
                for k, i in enumerate(range(0, n, step)):
                    xb = _map(lambda a: a[i:i + step], X)
                    parts.append(_values(self(xb), masks) if hooks is None else self._output_batch(xb, k, hooks))
                return _concat(parts)
        finally:
            self.train(was)

    def _output_batch(self, xb, k, hooks):
        """One batch's outputs (in no_grad and evaluation mode), between the predict batch hooks."""
        if hooks is None:
            return _values(self(xb))
        for hook, _ in hooks[0]:
            hook(k, logs={})
        out = _values(self(xb))
        for hook, _ in hooks[1]:
            hook(k, logs={"outputs": out})
        return out

    def _predict_stream(self, source, steps, hooks=None):
        was = self.training
        self.eval()
        parts = []
        try:
            with no_grad():
                for i, item in enumerate(source):
                    if steps is not None and i >= steps:
                        break
                    xb = item[0] if isinstance(item, tuple) else item   # (x,), (x, y): x; a list: several inputs
                    xb = _map(lambda a: _as_inputs(a, self._model_dtype()), xb)
                    self._ensure_built(xb)
                    parts.append(self._output_batch(xb, i, hooks))
        finally:
            self.train(was)
        if not parts:
            raise ValueError("predict: the generator yielded no batches")
        return _concat(parts)

    def evaluate(self, x: ArrayLike | Mapping[str, ArrayLike] | Iterable[Any] | None = None,
                 y: ArrayLike | Sequence[ArrayLike] | None = None, batch_size: int | None = None,
                 verbose: int | bool | Literal["auto"] = "auto", sample_weight: ArrayLike | None = None,
                 steps: int | None = None, callbacks: Sequence[Callback] | None = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss (with the weight and activity penalties, as in training) and metrics on (x, y).

        Returns what Keras returns: the loss alone when the model has no metrics (and one output),
        else the list ``[loss, *metrics]`` in the order of :attr:`metrics_names`, so that
        ``loss, acc = model.evaluate(X, y)`` and ``scores[1]`` work; ``return_dict=True`` gives
        the dict ``{'loss': ..., 'accuracy': ...}``.  ``x`` may be a generator or DataLoader of
        (x, y) batches (``steps`` of them, or all).  ``verbose`` (1 or 'auto') prints the result.
        ``callbacks`` get the test hooks; one that watches the batches (``on_test_batch_begin/end``)
        gets batches of 32 (``batch_size``), as in Keras, and the running means after each.
        """
        self._require_compiled("evaluate")
        verbose = _verbosity(verbose)
        cbs = CallbackList(_callbacks("evaluate", callbacks))
        cbs.set_model(self, {"verbose": verbose, "epochs": 1, "steps": steps})
        logs = self._evaluate(x, y, batch_size, sample_weight, steps, cbs, batch_size or 32)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs if return_dict else _keras_result(logs)

    def _evaluate(self, x, y, batch_size, sample_weight, steps, cbs, hooked_batch_size):
        """evaluate's logs, between the callbacks' test hooks (``cbs``, a CallbackList); when one of
        them watches the batches, the outputs are computed in batches of ``hooked_batch_size``."""
        cbs.call("on_test_begin")
        hooks = (cbs.batch("on_test_batch_begin"), cbs.batch("on_test_batch_end"))
        hooks = hooks if hooks[0] or hooks[1] else None
        if _is_stream(x):
            if y is not None:
                raise ValueError("evaluate: x is a generator or DataLoader of (x, y) batches, so y must be None")
            logs = self._evaluate_stream(x, steps, hooks)
        else:
            if x is None or y is None:
                raise ValueError("evaluate: inputs x and targets y are required")
            dtype = self._model_dtype()
            X = _map(lambda a: _as_inputs(a, dtype), x)
            n = _n(X)
            y = _map(lambda a: _as_targets(a, n, dtype), y)
            w = None if sample_weight is None else _sample_weights(sample_weight, n, dtype)
            if hooks is None:
                self._ensure_built(X)
                out = self._outputs(X, batch_size, masks=True)
            else:
                batch_size = hooked_batch_size
                self._ensure_built(X)
                out = self._test_batches(X, y, w, batch_size, hooks)
            with no_grad():
                if not _carries_mask(out):
                    logs = self._batch_logs(y, out, w)
                else:   # a masked sequence output: each of Keras' batches averages its own steps
                    logs = self._logs_by_batch(y, out, w, hooked_batch_size)
                activity = getattr(self, "activity_penalty", None)
                if activity is not None and activity() is not None:
                    if batch_size is not None and batch_size < n:   # the penalty of each batch, averaged
                        logs["loss"] += self._activity_over(X, batch_size)
                    else:
                        logs["loss"] += float(_values(activity()))
        cbs.call("on_test_end", logs=logs)
        return logs

    def _test_batches(self, X, y, w, batch_size, hooks):
        """The outputs for X batch by batch, with the test batch hooks around each batch; the end hooks
        get the running means of the batches' logs (weighted by their sizes), as Keras' metrics give."""
        n = _n(X)
        parts, means = [], _Means()
        was = self.training
        self.eval()
        try:
            with no_grad():
                for k, i in enumerate(range(0, n, batch_size)):
                    for hook, _ in hooks[0]:
                        hook(k, logs={})
                    xb = _map(lambda a: a[i:i + batch_size], X)
                    out = _values(self(xb), masks=True)
                    parts.append(out)
                    if hooks[1]:
                        logs = self._penalised_logs(_map(lambda a: a[i:i + batch_size], y), out,
                                                    None if w is None else w[i:i + batch_size])
                        means.add(logs, _n(xb), self.__dict__.get("_log_counts"))
                        run = means.result()
                        for hook, _ in hooks[1]:
                            hook(k, logs=run)
        finally:
            self.train(was)
        return _concat(parts)

    def _penalised_logs(self, y, out, w):
        """:meth:`_batch_logs` plus the activity penalty of the batch just run (Keras adds it per batch)."""
        logs = self._batch_logs(y, out, w)
        activity = getattr(self, "activity_penalty", None)
        if activity is not None and activity() is not None:
            logs["loss"] += float(_values(activity()))
        return logs

    def _batch_logs(self, y, out, w):
        """The logs (loss with the weight penalties, metrics) of outputs ``out`` for targets y."""
        comp = self._compiled
        if comp["heads"] is not None:
            preds = [_with_mask(Tensor(o), o) for o in out] if isinstance(out, list) else _with_mask(Tensor(out), out)
            loss = self._heads_loss(comp["heads"], y, preds, w)
        else:
            preds = _with_mask(Tensor(out), out)
            loss = _keras_loss(comp["loss"], y, preds, w)
        reg = self.regularization_loss()
        if reg is not None:
            loss = loss + reg
        value = float(loss.data if isinstance(loss, Tensor) else loss)
        logs = self.compute_metrics(None, y, preds, w, value)
        return {k: float(v) for k, v in logs.items()}

    def _logs_by_batch(self, y, out, w, batch_size):
        """:meth:`_batch_logs` of the outputs ``out`` (carrying their mask) batch by batch, averaged as Keras'
        evaluate averages them: a masked loss is a mean over each batch's unmasked steps, so the batches
        of an evaluation over the whole set are Keras', not one."""
        means, n = _Means(), _n(out)
        for i in range(0, n, batch_size):
            part = slice(i, i + batch_size)
            logs = self._batch_logs(_map(lambda a: a[part], y), _map(lambda a: _rows(a, part), out),
                                    None if w is None else w[part])
            means.add(logs, len(range(n)[part]), self.__dict__.get("_log_counts"))
        return means.result()

    def _activity_over(self, X, batch_size):
        """The activity penalty averaged over batches of ``batch_size`` (as Keras' evaluate adds it)."""
        n, total = _n(X), 0.0
        was = self.training
        self.eval()
        try:
            with no_grad():
                for i in range(0, n, batch_size):
                    xb = _map(lambda a: a[i:i + batch_size], X)
                    self(xb)
                    total += float(_values(self.activity_penalty())) * _n(xb)
        finally:
            self.train(was)
        return total / n

    def _evaluate_stream(self, source, steps, hooks=None):
        means = _Means()
        was = self.training
        self.eval()
        try:
            for i, item in enumerate(source):
                if steps is not None and i >= steps:
                    break
                xb, yb, wb = _batch_parts(item, "evaluate")
                dtype = self._model_dtype()
                xb = _map(lambda a: _as_inputs(a, dtype), xb)
                self._ensure_built(xb)
                nb = _n(xb)
                yb = _map(lambda a: _as_targets(a, nb, dtype), yb)
                wb = None if wb is None else _as_targets(wb, nb, dtype)
                for hook, _ in (hooks[0] if hooks else ()):
                    hook(i, logs={})
                with no_grad():
                    logs = self._penalised_logs(yb, _values(self(xb), masks=True), wb)
                means.add(logs, nb, self.__dict__.get("_log_counts"))
                if hooks:
                    run = means.result()
                    for hook, _ in hooks[1]:
                        hook(i, logs=run)
        finally:
            self.train(was)
        if not means.seen:
            raise ValueError("evaluate: the generator yielded no batches")
        return means.result()

    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """Print and return a table of layers, output shapes and parameter counts (like Keras')."""
        from chainrule.training.summary import summary
        return summary(self, print_fn=print_fn)


class _Means:
    """The running means of batch logs, as Keras' metric states keep them: each batch's value weighted by
    its samples, or, for a metric over a masked sequence output, by the steps it counted (``counts``, which
    :meth:`Trainer.compute_metrics` leaves in ``_log_counts``); ``seen``: the samples so far."""

    __slots__ = ("sums", "counted", "seen")

    def __init__(self):
        self.sums, self.counted, self.seen = {}, None, 0

    def add(self, logs, n, counts=None):
        sums = self.sums
        if counts is None:
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v * n
        else:
            counted = self.counted = self.counted or {}
            for k, v in logs.items():
                c = counts.get(k)
                if c is None:
                    sums[k] = sums.get(k, 0.0) + v * n
                else:
                    sums[k] = sums.get(k, 0.0) + v * c
                    counted[k] = counted.get(k, 0) + c
        self.seen += n

    def result(self):
        counted, seen = self.counted or {}, self.seen
        return {k: (s / counted[k] if counted[k] else 0.0) if k in counted else s / seen
                for k, s in self.sums.items()}


def _values(out, masks=False):
    """A model's output(s) as ndarrays (a list for several outputs); with ``masks``, each carrying its Tensor's
    mask (for evaluate's losses and metrics: predict's arrays carry none, as Keras' do)."""
    if isinstance(out, dict):
        return {k: _values(v, masks) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [_values(o, masks) for o in out]
    if isinstance(out, Tensor):
        return _with_mask(out.data, out) if masks else out.data
    return np.asarray(out)


def _concat(parts):
    """Batches of outputs joined along the batch axis, with their masks (when every batch carries one)."""
    if isinstance(parts[0], dict):
        return {k: _concat([p[k] for p in parts]) for k in parts[0]}
    if isinstance(parts[0], list):
        return [_concat([p[i] for p in parts]) for i in range(len(parts[0]))]
    out = np.concatenate(parts)
    masks = [get_mask(p) for p in parts]
    if all(m is not None for m in masks):
        set_mask(out, np.concatenate(masks))
    return out


def _metric_list(metrics):
    names, fns = [], []
    if isinstance(metrics, (str,)) or callable(metrics):
        metrics = [metrics]
    for m in metrics or []:
        fns.append(_metrics.get(m))
        names.append(m if isinstance(m, str) else getattr(m, "name", None) or getattr(m, "__name__", "metric"))
    return names, fns


def _serialize_loss(loss, loss_fn):
    try:
        return _losses.serialize(loss_fn)
    except (TypeError, ValueError, AttributeError):
        return loss if isinstance(loss, str) else None


# ------------------------------------------------------------------ functional forms
def compile(model: Trainer, optimizer: str | Optimizer = "adam",
            loss: str | Callable[..., Any] | Sequence[str | Callable[..., Any]] | Mapping[str, str | Callable[..., Any]] | None = None,
            metrics: str | Callable[..., Any] | Sequence[Any] | Mapping[str, Any] | None = None) -> Trainer:  # noqa: A001 (Keras' name)
    """``model.compile(...)`` as a function (see :meth:`Trainer.compile`)."""
    return Trainer.compile(model, optimizer=optimizer, loss=loss, metrics=metrics)


def fit(model: Trainer, X: ArrayLike | Mapping[str, ArrayLike] | Iterable[Any],
        y: ArrayLike | Sequence[ArrayLike] | None = None, **kwargs: Any) -> History:
    """``model.fit(...)`` as a function (see :meth:`Trainer.fit`)."""
    return Trainer.fit(model, X, y, **kwargs)


def evaluate(model: Trainer, X: ArrayLike | Mapping[str, ArrayLike] | Iterable[Any],
             y: ArrayLike | Sequence[ArrayLike] | None = None, **kwargs: Any) -> float | list[float] | dict[str, float]:
    """``model.evaluate(...)`` as a function (see :meth:`Trainer.evaluate`)."""
    return Trainer.evaluate(model, X, y, **kwargs)


def predict(model: Trainer, X: ArrayLike | Mapping[str, ArrayLike] | Iterable[Any], batch_size: int | None = None,
            **kwargs: Any) -> np.ndarray | list[np.ndarray] | dict[str, np.ndarray]:
    """``model.predict(...)`` as a function (see :meth:`Trainer.predict`)."""
    return Trainer.predict(model, X, batch_size=batch_size, **kwargs)
