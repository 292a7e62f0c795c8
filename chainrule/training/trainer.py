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

import numpy as np

from chainrule import losses as _losses
from chainrule import metrics as _metrics
from chainrule import ops as _ops
from chainrule import optim as _optim
from chainrule.tensor import Tensor, fork_rng, get_default_dtype, no_grad
from chainrule.training.callbacks import History

__all__ = ["Trainer", "DivergenceWarning", "DtypeCastWarning", "cast_input", "compile", "fit", "evaluate",
           "predict"]


class DivergenceWarning(UserWarning):
    """The training loss became NaN or infinite (``fit`` warns once per run)."""


class DtypeCastWarning(UserWarning):
    """float64 inputs were cast to a float32 model's dtype (warned once per process)."""


_CAST_WARNED = False


def cast_input(X, dtype, what="model", stacklevel=3):
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
    (float64 data of 1e39 would become inf in float32): min and max carry all three, in two passes
    that allocate nothing (8x faster than np.isfinite(a).all() on Fashion-MNIST's 188 MB)."""
    if a.size == 0 or a.dtype.kind != "f":
        return
    lo, hi = a.min(), a.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name}: contains NaN or infinite {what}; clean or impute the data first")
    big = np.finfo(dtype).max if np.dtype(dtype).kind == "f" else None
    if big is not None and a.dtype.itemsize > np.dtype(dtype).itemsize and max(-lo, hi) > big:
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


# ---------------------------------------------------------------------- the Trainer
class Trainer:
    """Keras-style training for a Module: ``compile``, ``fit``, ``evaluate``, ``predict``, ``summary``.

    The model must be callable on a batch (``model(x)``) and have ``parameters()``,
    ``train()``/``eval()``, ``state_dict()``, ``penalty_terms()`` and
    ``regularization_loss()``: :class:`chainrule.nn.Module` has them all.
    """

    # --------------------------------------------------------------------- compile
    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Bind an optimizer, a loss and metrics (Keras' ``model.compile``); returns the model.

        Parameters
        ----------
        optimizer : str or Optimizer
            A name ('adam', 'sgd', 'rmsprop', ...) or an instance; an instance created
            without parameters is bound to the model's parameters here.
        loss : str, callable or Loss
            ``loss(y_true, y_pred)``, e.g. 'mse', 'binary_crossentropy',
            'sparse_categorical_crossentropy'.
        metrics : list of str, optional
            e.g. ['accuracy'].
        """
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='mse' or loss='sparse_categorical_crossentropy'")
        opt = _optim.get(optimizer)
        loss_fn = _losses.get(loss)
        names, fns = [], []
        for m in metrics or []:
            fns.append(_metrics.get(m))
            names.append(m if isinstance(m, str) else getattr(m, "__name__", "metric"))
        self._compiled = {"optimizer": opt, "loss": loss_fn, "metrics": names, "metric_fns": fns,
                          "config": {"loss": _serialize_loss(loss, loss_fn), "metrics": names}}
        try:
            self._bind_optimizer()
        except ValueError:
            pass  # lazy layers: bound on the first batch of fit
        return self

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
                self(X[:2] if len(X) > 1 else X)
            self.train(was)

    # ----------------------------------------------------------------------- steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """The training objective of a batch: the compiled loss of (y, y_pred) plus every layer's
        weight penalty (an L2 penalty is absorbed into the loss's node when it can be)."""
        fn = self._compiled["loss"]
        if self.__dict__.get("_targets_checked"):
            loss = _losses.call_validated(fn, y, y_pred, sample_weight)
        else:
            loss = fn(y, y_pred) if sample_weight is None else fn(y, y_pred, sample_weight=sample_weight)
        return self._add_penalties(loss)

    def _add_penalties(self, loss):
        terms = self.penalty_terms()
        if not terms:
            return loss
        lams = [getattr(reg, "l2_coefficient", lambda: None)() for reg, _ in terms]
        if all(lam is not None for lam in lams):
            return _ops.add_l2(loss, [p for _, p in terms], lams)
        reg = self.regularization_loss()
        return loss if reg is None else loss + reg

    def compute_metrics(self, x, y, y_pred, sample_weight=None, loss=None):
        """The logs of a batch: ``{'loss': loss, <metric>: value, ...}`` (plain floats)."""
        comp = self._compiled
        logs = {"loss": float(loss.data if isinstance(loss, Tensor) else loss)}
        if comp["metric_fns"]:
            out = y_pred.data if isinstance(y_pred, Tensor) else y_pred
            for name, fn in zip(comp["metrics"], comp["metric_fns"]):
                logs[name] = fn(y, out)
        return logs

    def train_step(self, data):
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
    def fit(self, X, y=None, epochs=1, batch_size=32, validation_split=0.0, validation_data=None, shuffle=True,
            callbacks=None, verbose=1, seed=None, sample_weight=None, initial_epoch=0, class_weight=None):
        """Train with mini-batch gradient descent (Keras' ``model.fit``); returns a :class:`History`.

        Each epoch shuffles the training set (when ``shuffle``), runs :meth:`train_step` on each
        batch of ``batch_size`` samples, then evaluates the validation set.  ``History.history``
        holds per-epoch 'loss', each metric, and their ``val_`` versions; an epoch in which a
        batch loss was NaN or infinite is logged as NaN.

        Parameters
        ----------
        X, y : array_like
            Inputs (batch axis first) and targets.
        epochs, batch_size : int
        validation_split : float
            Holds out the *last* fraction of X and y (before any shuffling), as Keras does.
        validation_data : tuple, optional
            (X_val, y_val) or (X_val, y_val, sample_weight_val).
        shuffle : bool
        callbacks : list of Callback, optional
        verbose : {0, 1, 2}
            0 silent, 1 a progress bar, 2 one line per epoch.
        seed : int, optional
            The same seed gives bit-identical weights and history on the same machine.
        sample_weight : array_like of shape (N,), optional
        initial_epoch : int
        class_weight : dict or 'balanced', optional
            ``{class index: weight}``: each training sample's loss is multiplied by its class's weight
            (times its ``sample_weight``), as in Keras; classes left out weigh 1.  ``'balanced'``
            weighs classes by n_samples / (n_classes * count), as scikit-learn does.  Not applied
            to the validation data.

        Inputs in float64 for a float32 model are cast to float32, with a one-time
        :class:`DtypeCastWarning`.
        """
        comp = self._require_compiled("fit")
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
            X = _as_inputs(X, dtype)
            self._ensure_built(X)
            dtype = self._model_dtype()
            X = X.astype(dtype, copy=False)
            y = _as_targets(y, len(X), dtype)
            w = None if sample_weight is None else _as_targets(sample_weight, len(X), dtype, "sample_weight")
            if class_weight is not None:
                cw = _class_weights(class_weight, y, None).astype(dtype)
                w = cw if w is None else w * cw
            Xv = yv = None
            if validation_data is None and validation_split > 0:
                n_val = int(math.ceil(len(X) * validation_split))
                if n_val >= len(X):
                    raise ValueError(f"fit: validation_split={validation_split} leaves no training samples")
                validation_data = (X[-n_val:], y[-n_val:])
                X, y = X[:-n_val], y[:-n_val]
                w = None if w is None else w[:-n_val]
            if validation_data is not None:
                if len(validation_data) not in (2, 3):
                    raise ValueError("fit: validation_data must be (X_val, y_val) or (X_val, y_val, weights)")
                Xv = _as_inputs(validation_data[0], dtype, "validation_data X")
                yv = _as_targets(validation_data[1], len(Xv), dtype, "validation_data y")
            for m in self.modules():  # layers that constrain the batches (stateful recurrent ones)
                m.check_fit(shuffle=shuffle, batch_size=batch_size, n_samples=len(X))
            self._bind_optimizer()
            y = self._check_targets(comp["loss"], X, y)
            try:
                return self._fit_loop(X, y, w, Xv, yv, epochs, batch_size, shuffle, callbacks or [], verbose,
                                      rng, initial_epoch)
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
        shape = np.shape(out.data if isinstance(out, Tensor) else out)
        y, checked = _losses.check_targets(loss_fn, y, (len(y),) + tuple(shape[1:]))
        self._targets_checked = checked
        return y

    def _fit_loop(self, X, y, w, Xv, yv, epochs, batch_size, shuffle, callbacks, verbose, rng, initial_epoch):
        comp = self._compiled
        names = comp["metrics"]
        history = History()
        n = len(X)
        steps = max(1, math.ceil(n / batch_size))
        history.params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n}
        self.stop_training = False
        self.history = history
        state = self._fit_state = {"epoch": 0, "batch": 0, "warned": False, "diverged": False,
                                   "callbacks": callbacks}
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        bar_cls = _progress_bar() if verbose == 1 else None
        # batches are gathered by index into a reused buffer: cheaper than copying the shuffled set every epoch
        xbuf = np.empty((min(batch_size, n),) + X.shape[1:], dtype=X.dtype)
        step = self.train_step
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            self.train()
            perm = rng.permutation(n) if shuffle else None
            bar = bar_cls(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", leave=True, file=sys.stdout,
                          mininterval=0.2, dynamic_ncols=True) if bar_cls else None
            t0 = time.perf_counter()
            sums, seen = {}, 0
            state["epoch"], state["diverged"] = epoch, False
            for b in range(steps):
                sl = slice(b * batch_size, min(n, (b + 1) * batch_size))
                if perm is None:
                    xb, yb, wb = X[sl], y[sl], None if w is None else w[sl]
                else:
                    idx = perm[sl]
                    xb = np.take(X, idx, axis=0, out=xbuf, mode="clip") if len(idx) == batch_size else X[idx]
                    yb, wb = y[idx], None if w is None else w[idx]
                state["batch"] = b
                logs = step((xb, yb) if wb is None else (xb, yb, wb))
                if self.stop_training and state["diverged"]:
                    break  # stopped on a non-finite loss: that batch never stepped, and is not averaged in
                m = len(yb)
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v * m
                seen += m
                for cb in callbacks:
                    cb.on_batch_end(b, logs)
                if bar is not None:
                    bar.update(1)
                    if b % 20 == 0 or b == steps - 1:
                        bar.set_postfix(_fmt({k: s / seen for k, s in sums.items()}), refresh=False)
                if self.stop_training:
                    break
            if state["diverged"] or not seen:
                logs = {"loss": math.nan, **{k: math.nan for k in names}}
            else:
                logs = {k: s / seen for k, s in sums.items()}
            if Xv is not None:
                val = self.evaluate(Xv, yv, batch_size=max(batch_size, 256), verbose=0)
                if not math.isfinite(val["loss"]):
                    val = {k: math.nan for k in val}
                logs.update({f"val_{k}": v for k, v in val.items()})
            if bar is not None:
                bar.set_postfix(_fmt(logs), refresh=True)
                bar.close()
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - t0:.2f}s - "
                      + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)  # may add entries such as 'lr' to logs
            history._append(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        self.eval()
        return history

    # -------------------------------------------------------------- evaluate / predict
    def predict(self, X, batch_size=None, verbose=0):
        """Outputs of the model for X, in evaluation mode (dropout off, running batch-norm statistics)."""
        dtype = self._model_dtype()
        X = _as_inputs(X, dtype)
        self._ensure_built(X)
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"predict: batch_size must be a positive integer, got {batch_size!r}")
        was = self.training
        self.eval()
        try:
            with no_grad():
                if batch_size is None or batch_size >= len(X):
                    out = self(X)
                    return out.data if isinstance(out, Tensor) else np.asarray(out)
                parts = []
                for i in range(0, len(X), batch_size):
                    o = self(X[i:i + batch_size])
                    parts.append(o.data if isinstance(o, Tensor) else np.asarray(o))
                return np.concatenate(parts)
        finally:
            self.train(was)

    def evaluate(self, X, y, batch_size=None, verbose=0, sample_weight=None):
        """Loss (with weight penalties, as in training) and metrics on (X, y), as a dict."""
        comp = self._require_compiled("evaluate")
        dtype = self._model_dtype()
        X = _as_inputs(X, dtype)
        y = _as_targets(y, len(X), dtype)
        out = self.predict(X, batch_size=batch_size)
        w = None if sample_weight is None else _as_targets(sample_weight, len(X), dtype)
        with no_grad():
            loss = comp["loss"](y, Tensor(out)) if w is None else comp["loss"](y, Tensor(out), sample_weight=w)
            reg = self.regularization_loss()
            if reg is not None:
                loss = loss + reg
        logs = {"loss": float(loss.data if isinstance(loss, Tensor) else loss)}
        for name, fn in zip(comp["metrics"], comp["metric_fns"]):
            logs[name] = float(fn(y, out))
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs

    def summary(self, print_fn=print):
        """Print and return a table of layers, output shapes and parameter counts (like Keras')."""
        from chainrule.training.summary import summary
        return summary(self, print_fn=print_fn)


def _serialize_loss(loss, loss_fn):
    try:
        return _losses.serialize(loss_fn)
    except (TypeError, ValueError, AttributeError):
        return loss if isinstance(loss, str) else None


# ------------------------------------------------------------------ functional forms
def compile(model, optimizer="adam", loss=None, metrics=None):  # noqa: A001 (Keras' name)
    """``model.compile(...)`` as a function (see :meth:`Trainer.compile`)."""
    return Trainer.compile(model, optimizer=optimizer, loss=loss, metrics=metrics)


def fit(model, X, y=None, **kwargs):
    """``model.fit(...)`` as a function (see :meth:`Trainer.fit`)."""
    return Trainer.fit(model, X, y, **kwargs)


def evaluate(model, X, y, **kwargs):
    """``model.evaluate(...)`` as a function (see :meth:`Trainer.evaluate`)."""
    return Trainer.evaluate(model, X, y, **kwargs)


def predict(model, X, batch_size=None, **kwargs):
    """``model.predict(...)`` as a function (see :meth:`Trainer.predict`)."""
    return Trainer.predict(model, X, batch_size=batch_size, **kwargs)
