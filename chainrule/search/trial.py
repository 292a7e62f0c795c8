"""One trial: build a candidate's model, fit it on one fold, score it.  Runs wherever the backend puts it.

``build(params)`` may return

* a compiled chainrule model (any :class:`chainrule.nn.Module` after ``compile``), fitted with
  ``model.fit(X, y, seed=<trial seed>, verbose=0, **fit_kwargs)``;
* a scikit-learn style estimator (``chainrule.sklearn.MLPClassifier``, scikit-learn's own, ...),
  fitted with ``est.fit(X, y, **fit_kwargs)``; a ``random_state`` left at None gets the trial seed;
* ``(net, scheduler)`` with a :class:`chainrule.ffnn.FFNN` and its scheduler, fitted with
  ``net.fit(X, t, scheduler, verbose=False, **fit_kwargs)`` (integer labels are one-hot encoded
  for a network with several outputs); a net without a seed gets the trial seed;

and any of them with a dict of per-candidate fit arguments last: ``(model, {"epochs": 20})``,
``(net, scheduler, {"lam": 0.1})``.  ``build`` runs with chainrule's global generator seeded by
the trial seed, so initial weights drawn there are the trial's too.

A trial never raises: an exception becomes ``status='failed'`` with its message and traceback,
a training loss (or network output) that became NaN or infinite becomes ``status='diverged'``.
One process runs one trial at a time (chainrule's generator and default dtype are global).
"""
from __future__ import annotations

import math
import os
import socket
import threading
import time
import traceback
import warnings

import numpy as np

from chainrule.search.space import jsonable
from chainrule.tensor import fork_rng, get_default_dtype, set_default_dtype

__all__ = ["Bundle", "Task", "run_trial", "adapt", "score_model"]

_LOCK = threading.Lock()
_LIMITS = {"threads": None, "handle": None}


class Bundle:
    """What every trial of a search shares: shipped to each worker once (scattered on Dask)."""

    def __init__(self, build, X, y, X_val, y_val, folds, fit_kwargs, scoring, threads, resource):
        self.build, self.X, self.y, self.X_val, self.y_val = build, X, y, X_val, y_val
        self.folds, self.fit_kwargs, self.scoring, self.threads, self.resource = \
            folds, fit_kwargs, scoring, threads, resource

    def split(self, fold, n_resources=None):
        """(X_train, y_train, X_test, y_test) of one fold; ``n_resources`` samples when the resource is n_samples."""
        if self.X_val is not None:
            Xtr, ytr, Xte, yte = self.X, self.y, self.X_val, self.y_val
        else:
            tr, te = self.folds[fold]
            Xtr, ytr, Xte, yte = self.X[tr], self.y[tr], self.X[te], self.y[te]
        if self.resource == "n_samples" and n_resources is not None:
            Xtr, ytr = Xtr[:n_resources], ytr[:n_resources]
        return Xtr, ytr, Xte, yte


class Task:
    """One trial to run: a candidate's parameters on one fold, with its key and seed."""

    __slots__ = ("key", "candidate", "fold", "params", "seed", "n_resources", "rung")

    def __init__(self, key, candidate, fold, params, seed, n_resources=None, rung=None):
        self.key, self.candidate, self.fold, self.params, self.seed = key, candidate, fold, params, seed
        self.n_resources, self.rung = n_resources, rung

    def __getstate__(self):
        return {s: getattr(self, s) for s in self.__slots__}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)


def _limit_threads(n):
    """Limit BLAS/OpenMP threads of this (worker) process to n, once; threadpoolctl keeps the limit."""
    if n is None or _LIMITS["threads"] == n:
        return
    from threadpoolctl import threadpool_limits
    _LIMITS["handle"] = threadpool_limits(limits=int(n))
    _LIMITS["threads"] = n


def _finite_list(values):
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(f if math.isfinite(f) else None)
    return out


def _first_not_finite(values):
    for i, v in enumerate(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f):
            return i, f
    return None


# ------------------------------------------------------------------------ adapters
class _Module:
    """A compiled chainrule model."""

    kind = "chainrule"

    def __init__(self, model, fit_kwargs):
        if getattr(model, "_compiled", None) is None:
            raise TypeError("build returned a chainrule model that is not compiled; call model.compile(optimizer=..., "
                            "loss=..., metrics=['accuracy']) inside build")
        self.model, self.fit_kwargs, self.hist = model, fit_kwargs, None

    def fit(self, X, y, seed, resource, n_resources):
        kw = {"verbose": 0, **self.fit_kwargs}
        if resource == "epochs" and n_resources is not None:
            kw["epochs"] = n_resources
        self.hist = self.model.fit(X, y, seed=seed, **kw).history

    def history(self):
        return {k: _finite_list(v) for k, v in (self.hist or {}).items()}

    def diverged(self):
        bad = _first_not_finite((self.hist or {}).get("loss", []))
        if bad:
            return f"the training loss became {bad[1]} in epoch {bad[0] + 1}"
        return None

    def default_scoring(self):
        for m in self.model._compiled["metrics"]:
            if isinstance(m, str) and m in ("accuracy", "acc", "r2", "binary_accuracy", "categorical_accuracy",
                                            "sparse_categorical_accuracy"):
                return m
        return "neg_loss"

    def score(self, X, y, scoring):
        if callable(scoring):
            return scoring(self.model, X, y)
        logs = self.model.evaluate(X, y, verbose=0, return_dict=True)
        name, sign = (scoring[4:], -1.0) if scoring.startswith("neg_") else (scoring, 1.0)
        if name in logs:
            return sign * float(logs[name])
        from chainrule import metrics as _metrics
        try:
            fn = _metrics.get(name)
        except ValueError:
            raise ValueError(f"scoring={scoring!r}: the model reports {', '.join(logs)} (compile it with "
                             f"metrics=[{name!r}]), or pass a callable scoring(model, X, y)") from None
        return sign * float(fn(y, self.model.predict(X)))

    @property
    def fitted(self):
        return self.model


class _Estimator:
    """A scikit-learn style estimator."""

    kind = "sklearn"

    def __init__(self, est, fit_kwargs):
        self.est, self.fit_kwargs = est, fit_kwargs

    def fit(self, X, y, seed, resource, n_resources):
        params = self.est.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            self.est.set_params(random_state=int(seed))
        kw = dict(self.fit_kwargs)
        if resource == "epochs" and n_resources is not None:
            if "max_iter" in params:
                self.est.set_params(max_iter=int(n_resources))
            else:
                kw["epochs"] = n_resources
        self.est.fit(X, y, **kw)

    def history(self):
        h = {}
        for attr, name in (("loss_curve_", "loss"), ("validation_scores_", "val_score")):
            v = getattr(self.est, attr, None)
            if v is not None:
                h[name] = _finite_list(v)
        return h

    def diverged(self):
        bad = _first_not_finite(getattr(self.est, "loss_curve_", None) or [])
        if bad:
            return f"the training loss became {bad[1]} in iteration {bad[0] + 1}"
        return None

    def default_scoring(self):
        return "score"

    def score(self, X, y, scoring):
        if callable(scoring):
            return scoring(self.est, X, y)
        if scoring == "score":
            return self.est.score(X, y)
        from sklearn.metrics import get_scorer
        return get_scorer(scoring)(self.est, X, y)

    @property
    def fitted(self):
        return self.est


class _FFNN:
    """The notes' FFNN with its scheduler."""

    kind = "ffnn"

    def __init__(self, net, scheduler, fit_kwargs):
        from chainrule.ffnn import Scheduler
        if not isinstance(scheduler, Scheduler):
            raise TypeError(f"build returned (FFNN, {type(scheduler).__name__}); the second entry must be the "
                            f"network's scheduler, e.g. (net, Constant(eta=params['eta']))")
        self.net, self.scheduler, self.fit_kwargs, self.scores = net, scheduler, fit_kwargs, None
        self.overflow = None

    def targets(self, y):
        y = np.asarray(y)
        n_out = self.net.dimensions[-1]
        if y.ndim == 1 and n_out > 1 and y.dtype.kind in "iu":
            return np.eye(n_out)[y]
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def fit(self, X, y, seed, resource, n_resources):
        if self.net.seed is None:
            self.net.seed = int(seed)
            self.net.reset_weights()
        kw = {"verbose": False, **self.fit_kwargs}
        if resource == "epochs" and n_resources is not None:
            kw["epochs"] = n_resources
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.scores = self.net.fit(X, self.targets(y), self.scheduler, **kw)
        for w in caught:
            if "overflowed" in str(w.message):
                self.overflow = str(w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        errs = self.scores["train_errors"]
        if self.overflow is None and not np.all(np.isfinite(errs)):
            raise KeyboardInterrupt  # FFNN.fit stops quietly on Ctrl-C: the trial did not finish

    def history(self):
        return {k: _finite_list(v) for k, v in (self.scores or {}).items()}

    def diverged(self):
        return self.overflow

    def default_scoring(self):
        return "accuracy" if self.net.classification else "neg_mean_squared_error"

    def score(self, X, y, scoring):
        if callable(scoring):
            return scoring(self.net, X, y)
        t = self.targets(y)
        out = self.net._feedforward(np.asarray(X, dtype=float))
        if scoring == "accuracy":
            return self.net._accuracy(self.net._decide(out), t)
        if scoring == "neg_mean_squared_error":
            return -float(np.mean((out - t) ** 2))
        if scoring == "neg_loss":
            return -float(self.net.cost_func(t)(out))
        raise ValueError(f"scoring={scoring!r}: an FFNN is scored by 'accuracy', 'neg_loss' or "
                         f"'neg_mean_squared_error', or by a callable scoring(net, X, y)")

    @property
    def fitted(self):
        return self.net


def adapt(built, fit_kwargs):
    """The adapter for what ``build`` returned (see the module docstring)."""
    from chainrule.ffnn import FFNN
    from chainrule.training import Trainer
    extra = {}
    items = built if isinstance(built, tuple) else (built,)
    if len(items) > 1 and isinstance(items[-1], dict):
        extra, items = items[-1], items[:-1]
    kw = {**fit_kwargs, **extra}
    if "seed" in kw:
        raise ValueError("fit_kwargs: 'seed' is set for every trial from the search's seed and the candidate; pass "
                         "seed= to the search instead")
    model = items[0]
    if isinstance(model, FFNN):
        if len(items) != 2:
            raise TypeError("build returned an FFNN without its scheduler; return (net, scheduler), e.g. "
                            "(net, Constant(eta=params['eta'])), optionally with a dict of fit arguments "
                            "(net, scheduler, {'lam': params['lam']})")
        return _FFNN(model, items[1], kw)
    if len(items) != 1:
        raise TypeError(f"build returned a tuple of {len(built)} items; return a model, (model, fit_kwargs) or "
                        f"(FFNN, scheduler[, fit_kwargs])")
    if isinstance(model, Trainer):
        return _Module(model, kw)
    if hasattr(model, "fit") and hasattr(model, "get_params"):
        return _Estimator(model, kw)
    raise TypeError(f"build returned {type(model).__name__}; expected a compiled chainrule model, a scikit-learn "
                    f"estimator (fit and get_params), or (FFNN, scheduler)")


def score_model(adapter, X, y, scoring):
    v = adapter.score(X, y, scoring)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"scoring returned {v!r}; it must return one number (greater is better)") from None


# ---------------------------------------------------------------------------- a trial
def run_trial(bundle, task, limit_threads=None):
    """Run one trial; returns its record (a JSON-able dict).  Never raises, except KeyboardInterrupt.

    ``limit_threads``: None (the caller limits the BLAS threads), 'process' (limit this worker
    process for good: loky's workers are the search's), 'trial' (limit during this trial and
    restore afterwards: a Dask worker may serve others too).
    """
    with _LOCK:
        if limit_threads == "process":
            _limit_threads(bundle.threads)
        elif limit_threads == "trial":
            from threadpoolctl import threadpool_limits
            with threadpool_limits(limits=int(bundle.threads)):
                return _run(bundle, task)
        return _run(bundle, task)


def _run(bundle, task):
    rec = {"key": task.key, "candidate": task.candidate, "fold": task.fold, "params": jsonable(task.params),
           "seed": task.seed, "status": "ok", "test_score": None, "train_score": None, "fit_time": None,
           "score_time": None, "history": None, "error": None, "traceback": None, "warnings": [],
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    if task.rung is not None:
        rec["rung"], rec["n_resources"] = task.rung, task.n_resources
    dtype = get_default_dtype()
    t_start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Xtr, ytr, Xte, yte = bundle.split(task.fold, task.n_resources)
            with fork_rng(task.seed):
                built = bundle.build(dict(task.params))
            adapter = adapt(built, bundle.fit_kwargs)
            scoring = bundle.scoring if bundle.scoring is not None else adapter.default_scoring()
            t0 = time.perf_counter()
            adapter.fit(Xtr, ytr, task.seed, bundle.resource, task.n_resources)
            rec["fit_time"] = time.perf_counter() - t0
            rec["history"] = adapter.history()
            why = adapter.diverged()
            t0 = time.perf_counter()
            try:
                test = score_model(adapter, Xte, yte, scoring)
                train = score_model(adapter, Xtr, ytr, scoring)
            except Exception:
                if why is None:
                    raise
                test = train = math.nan  # a diverged model may not even score
            rec["score_time"] = time.perf_counter() - t0
            rec["test_score"] = test if math.isfinite(test) else None
            rec["train_score"] = train if math.isfinite(train) else None
            if why is None and not (math.isfinite(test) and math.isfinite(train)):
                why = f"the score is {test if not math.isfinite(test) else train}"
            if why is not None:
                rec["status"], rec["error"] = "diverged", why
            rec["scoring"] = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "callable")
        seen = []
        for w in caught:
            text = f"{w.category.__name__}: {w.message}"
            if text not in seen:
                seen.append(text)
        rec["warnings"] = seen[:5]
    except Exception as err:  # the trial failed; the search goes on
        rec["status"] = "failed"
        rec["error"] = f"{type(err).__name__}: {err}"
        rec["traceback"] = traceback.format_exc()[-4000:]
        if rec["fit_time"] is None:
            rec["fit_time"] = time.perf_counter() - t_start
    finally:
        if get_default_dtype() != dtype:
            set_default_dtype(dtype)
    return rec
