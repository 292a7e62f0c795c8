"""The driver: candidates x folds -> tasks, run on a backend, each finished trial journaled, then the table."""
from __future__ import annotations

import datetime as _dt
import hashlib
import math
import numbers
import os
import sys
import time

import numpy as np

from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

from chainrule.search.backends import cpu_count, get_backend
from chainrule.search.journal import FORMAT, Journal
from chainrule.search.result import SearchResult, build_cv_results
from chainrule.search.space import digest, grid_candidates, jsonable, sample_candidates, trial_seed
from chainrule.search.state import load_state, save_state, state_path
from chainrule.search.trial import Bundle, Task, adapt

if TYPE_CHECKING:
    from distributed import Client, SpecCluster

    from chainrule._typing import ArrayLike, PathLike

__all__ = ["grid_search", "random_search", "halving_search", "TrialError"]

#: ``build(params)``: a compiled chainrule model, a scikit-learn estimator or ``(FFNN, scheduler)``,
#: optionally with a dict of fit arguments last
Build = Callable[[dict[str, Any]], Any]
#: ``scoring(model, X, y) -> float`` (greater is better)
Scoring = Callable[[Any, Any, Any], float]


class TrialError(RuntimeError):
    """A trial raised and the search was asked to stop there (``error_score='raise'``)."""


# -------------------------------------------------------------------------- data and folds
def _array(a, name, fname):
    if a is None:
        raise ValueError(f"{fname}: {name} is required")
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{fname}: {name} must have a sample axis first, got a scalar")
    return arr


def _fingerprint(*arrays):
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        if a.dtype.kind == "O":
            h.update(repr(a.tolist()).encode())
        else:
            h.update(a.view(np.uint8).reshape(-1).data)
    return h.hexdigest()


def _shape(a):
    return f"{tuple(a.shape)} {a.dtype}"


def _stratify_labels(y):
    """Class labels to stratify on, or None for a regression target."""
    if y.ndim == 1 and y.dtype.kind in "iubUSO":
        return y
    if y.ndim == 2 and y.shape[1] > 1 and y.dtype.kind in "iubf" and np.all((y == 0) | (y == 1)) \
            and np.all(y.sum(axis=1) == 1):
        return np.argmax(y, axis=1)
    return None


def _folds(X, y, validation, validation_split, cv, seed, fname):
    """(X_val, y_val, folds, description): the one way the candidates are validated."""
    given = [n for n, v in (("validation", validation), ("validation_split", validation_split), ("cv", cv))
             if v is not None]
    if len(given) > 1:
        raise ValueError(f"{fname}: pass one of validation=(X_val, y_val), validation_split= or cv=, not "
                         f"{' and '.join(given)}")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError(f"{fname}: validation must be a pair (X_val, y_val)")
        Xv, yv = _array(validation[0], "validation X", fname), _array(validation[1], "validation y", fname)
        if len(Xv) != len(yv):
            raise ValueError(f"{fname}: validation has {len(Xv)} inputs but {len(yv)} targets")
        return Xv, yv, None, {"kind": "validation", "X": _shape(Xv), "y": _shape(yv),
                              "fingerprint": _fingerprint(Xv, yv)}
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
    strat = _stratify_labels(y)
    if cv is None:
        f = 0.2 if validation_split is None else validation_split
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0.0 < f < 1.0:
            raise ValueError(f"{fname}: validation_split must be a fraction in (0, 1), got {f!r}")
        split = (StratifiedShuffleSplit if strat is not None else ShuffleSplit)(n_splits=1, test_size=float(f),
                                                                                 random_state=int(seed))
        folds = list(split.split(X, strat if strat is not None else y))
        desc = {"kind": "validation_split", "fraction": float(f), "stratified": strat is not None}
    elif isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"{fname}: cv must be at least 2 folds, got {cv}")
        split = (StratifiedKFold if strat is not None else KFold)(n_splits=int(cv), shuffle=True,
                                                                  random_state=int(seed))
        folds = list(split.split(X, strat if strat is not None else y))
        desc = {"kind": "cv", "n_splits": int(cv), "stratified": strat is not None, "shuffled": True}
    else:
        try:
            pairs = cv.split(X, y) if hasattr(cv, "split") else cv
            folds = [(np.asarray(tr), np.asarray(te)) for tr, te in pairs]
        except (TypeError, ValueError) as err:
            raise TypeError(f"{fname}: cv must be a number of folds, a scikit-learn splitter or a list of "
                            f"(train indices, test indices), got {cv!r} ({err})") from None
        if not folds:
            raise ValueError(f"{fname}: cv gave no folds")
        desc = {"kind": "folds", "n_splits": len(folds)}
    folds = [(np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64)) for tr, te in folds]
    desc["folds"] = _fingerprint(*[a for pair in folds for a in pair])
    return None, None, folds, desc


def _describe(obj):
    """A JSON description of fit arguments or a scoring for the journal's header (objects by type)."""
    try:
        return jsonable(obj)
    except TypeError:
        pass
    if isinstance(obj, dict):
        return {str(k): _describe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_describe(v) for v in obj]
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{getattr(obj, '__module__', '?')}.{obj.__qualname__}"
    return f"<{type(obj).__module__}.{type(obj).__qualname__}>"


def _n_workers(n_jobs, fname):
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"{fname}: n_jobs must be a positive number of workers or -1 for all cores, got {n_jobs!r}")
    return int(n_jobs) if n_jobs > 0 else max(1, cpu_count() + 1 + int(n_jobs))


# ------------------------------------------------------------------------------ the driver
class _Search:
    def __init__(self, fname, build, X, y, *, validation, validation_split, cv, scoring, fit_kwargs, seed, n_jobs,
                 backend, scheduler, journal, resume, error_score, refit, verbose, threads, resource=None):
        if not callable(build):
            raise TypeError(f"{fname}: build must be a function params -> model, got {type(build).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"{fname}: seed must be a non-negative integer, got {seed!r}")
        if threads != "auto" and (isinstance(threads, bool) or not isinstance(threads, numbers.Integral)
                                  or threads < 1):
            raise ValueError(f"{fname}: threads (BLAS threads per trial) must be a positive integer or 'auto', got "
                             f"{threads!r}")
        if not (error_score == "raise" or isinstance(error_score, numbers.Real)):
            raise ValueError(f"{fname}: error_score must be a number (nan by default) or 'raise', got {error_score!r}")
        if scoring is not None and not (isinstance(scoring, str) or callable(scoring)):
            raise TypeError(f"{fname}: scoring must be a name ('accuracy', 'neg_loss', ...) or a callable "
                            f"scoring(model, X, y), got {scoring!r}")
        if fit_kwargs is not None and not isinstance(fit_kwargs, dict):
            raise TypeError(f"{fname}: fit_kwargs must be a dict such as {{'epochs': 10, 'batch_size': 100}}")
        self.fname, self.build, self.seed, self.verbose = fname, build, int(seed), verbose
        self.error_score, self.refit, self.resource = error_score, refit, resource
        self.fit_kwargs = dict(fit_kwargs or {})
        if "seed" in self.fit_kwargs:
            raise ValueError(f"{fname}: fit_kwargs: 'seed' is set for every trial from the search's seed and the "
                             f"candidate's parameters; pass seed= to the search instead")
        self.X = _array(X, "X", fname)
        self.y = _array(y, "y", fname)
        if len(self.X) != len(self.y):
            raise ValueError(f"{fname}: X has {len(self.X)} samples but y has {len(self.y)}")
        self.X_val, self.y_val, self.folds, self.val_desc = _folds(self.X, self.y, validation, validation_split,
                                                                   cv, seed, fname)
        self.n_splits = 1 if self.folds is None else len(self.folds)
        self.data_desc = {"X": _shape(self.X), "y": _shape(self.y), "fingerprint": _fingerprint(self.X, self.y)}
        self.scoring = scoring
        self.n_workers = _n_workers(n_jobs, fname)
        if backend is None:
            backend = "dask" if scheduler is not None else ("loky" if self.n_workers > 1 else "sequential")
        if backend not in ("sequential", "loky", "dask"):
            raise ValueError(f"{fname}: backend must be 'sequential', 'loky' or 'dask', got {backend!r}")
        if scheduler is not None and backend != "dask":
            raise ValueError(f"{fname}: a scheduler is for backend='dask', not {backend!r}")
        self.backend_name, self.scheduler = backend, scheduler
        cores = cpu_count()
        if threads == "auto":
            threads = _dask_auto_threads(scheduler) if backend == "dask" and scheduler is not None else \
                max(1, cores // self.n_workers)
        self.threads = int(threads)
        if backend != "dask" and self.n_workers * self.threads > cores:
            print(f"{fname}: warning: {self.n_workers} workers x {self.threads} BLAS threads exceed the {cores} "
                  f"cores; the trials will compete for them", file=sys.stderr)
        self.journal_path, self.resume = journal, resume
        self._backend = None
        self.trials = {}
        self.states = {}

    # ---------------------------------------------------------------- header and journal
    def header(self, kind, space):
        b = self.build
        return {"kind": "header", "format": FORMAT, "search": kind, "space": space, "data": self.data_desc,
                "validation": self.val_desc,
                "settings": {"seed": self.seed, "scoring": _describe(self.scoring) if self.scoring is not None
                             else "default", "fit_kwargs": _describe(self.fit_kwargs), "threads": self.threads},
                "build": f"{getattr(b, '__module__', '?')}.{getattr(b, '__qualname__', type(b).__name__)}",
                "created": _dt.datetime.now().isoformat(timespec="seconds"), "chainrule": _version()}

    def open(self, kind, space):
        self.journal = Journal.open(self.journal_path, self.header(kind, space), self.resume)
        self.bundle = Bundle(self.build, self.X, self.y, self.X_val, self.y_val, self.folds, self.fit_kwargs,
                             self.scoring, self.threads, self.resource)

    def backend(self):
        if self._backend is None:
            self._backend = get_backend(self.backend_name, self.n_workers, self.scheduler, self.threads)
        return self._backend

    def close(self):
        try:
            if self._backend is not None:
                self._backend.close()
        finally:
            self.journal.close()

    def say(self, *parts, level=1):
        if self.verbose >= level:
            print(*parts, flush=True)

    # ---------------------------------------------------------------------------- running
    def key(self, params, fold, resource):
        return digest({"params": params, "resource": resource, "data": self.data_desc["fingerprint"],
                       "validation": self.val_desc, "fold": fold}, 24)

    def run(self, candidates, label, rung=None, n_resources=None, prev_keys=None, keep_state=False):
        """Every fold of every candidate: records[i][k], from the journal or run now.

        ``prev_keys[i][k]``: the trial whose state candidate i's fold k goes on from (halving);
        ``keep_state``: keep each trial's state for the next rung."""
        canon = [jsonable(c, f"{self.fname}: a parameter value") for c in candidates]
        resource = None if n_resources is None else {self.resource: int(n_resources)}
        by_param = self.resource not in (None, "epochs", "n_samples")
        records = [[None] * self.n_splits for _ in candidates]
        tasks = []
        for i, (c, cc) in enumerate(zip(candidates, canon)):
            seed = trial_seed(self.seed, cc)
            build_params = dict(c, **{self.resource: int(n_resources)}) if by_param and n_resources else dict(c)
            for k in range(self.n_splits):
                key = self.key(cc, k, resource)
                rec = self.journal.records.get(key)
                if rec is not None and rec.get("status") in ("ok", "diverged"):
                    records[i][k] = rec
                else:
                    state = self.state_of(prev_keys[i][k]) if prev_keys is not None else None
                    tasks.append(Task(key, i, k, build_params, seed, n_resources, rung, state, keep_state))
        if prev_keys is not None and len(tasks) > 1:
            # longest first (as a scheduler packs jobs): a rung's trials cost about what the same candidates cost
            # in the previous rung, and the longest one started last would leave the other workers idle at the end
            def cost(t):
                rec = self.journal.records.get(prev_keys[t.candidate][t.fold]) or {}
                return -(rec.get("fit_time") or 0.0)
            tasks.sort(key=cost)
        n_total = len(candidates) * self.n_splits
        n_done = n_total - len(tasks)
        where = f" in {self.journal.path}" if self.journal.path else ""
        if tasks:
            backend = self.backend()
            self.say(f"{label}: {_n(len(candidates), 'candidate')} x {_n(self.n_splits, 'split')} = "
                     f"{_n(n_total, 'trial')}"
                     + (f", {n_done} already{where}" if n_done else "")
                     + f"; running {len(tasks)} on {backend.describe()}")
        elif self.verbose:
            self.say(f"{label}: all {n_total} trials are already{where}")
        if not tasks:
            return records
        bar = self._bar(n_total, n_done, label)
        best = _Best(self.n_splits)
        for i in range(len(candidates)):
            for k in range(self.n_splits):
                if records[i][k] is not None:
                    best.add(records[i][k])

        def on_result(rec):
            state = rec.pop("_state", None)
            if state is not None:
                self.keep_state(rec["key"], state)
            rec = self.journal.append(rec)
            i, k = rec["candidate"], rec["fold"]
            records[i][k] = rec
            best.add(rec)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(best.text(), refresh=False)
            if self.verbose >= 2:
                msg = f"  {rec['params']} fold {k}: {rec['status']}, test {rec['test_score']}, " \
                      f"train {rec['train_score']} ({(rec['fit_time'] or 0):.2f} s)"
                (bar.write if bar is not None else print)(msg)
            if rec["status"] == "failed" and self.error_score == "raise":
                raise TrialError(f"{self.fname}: the trial {rec['params']} (fold {k}) failed: {rec['error']}\n"
                                 f"{rec.get('traceback') or ''}")
        t0 = time.perf_counter()
        try:
            self.backend().run(self.bundle, tasks, on_result)
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
                bar = None
            n = sum(r is not None for row in records for r in row)
            print(f"\n{self.fname}: interrupted; {n} of {n_total} trials are finished"
                  + (f" and kept in {self.journal.path}: run again with resume=True to finish the rest"
                     if self.journal.path else ""), file=sys.stderr)
            raise
        except Exception:
            n = sum(r is not None for row in records for r in row)
            if self.journal.path and n > n_done and not isinstance(sys.exc_info()[1], TrialError):
                print(f"{self.fname}: stopped by an error; {n} of {n_total} trials are finished and kept in "
                      f"{self.journal.path}: resume=True runs only the rest", file=sys.stderr)
            raise
        finally:
            if bar is not None:
                bar.close()
        self.elapsed = time.perf_counter() - t0
        return records

    # ------------------------------------------------------ states between halving rungs
    def _state_dir(self):
        return None if self.journal.path is None else self.journal.path + ".states"

    def keep_state(self, key, state):
        """Keep a trial's state for the next rung, in memory and (with a journal) in a file beside it."""
        self.states[key] = state
        folder = self._state_dir()
        if folder is not None:
            try:
                os.makedirs(folder, exist_ok=True)
                save_state(state_path(folder, key), state)
            except (OSError, TypeError, ValueError) as err:  # a full disk, a configuration JSON cannot hold
                print(f"{self.fname}: warning: could not write the state of trial {key} beside the journal "
                      f"({type(err).__name__}: {err}); a resumed search would train that candidate's next rung "
                      f"from scratch (to the same result)", file=sys.stderr)

    def state_of(self, key):
        """The state the trial ``key`` left, or None (then its successor trains from scratch)."""
        st = self.states.get(key)
        folder = self._state_dir()
        if st is None and folder is not None and key in self.journal.records:
            st = load_state(state_path(folder, key), key)
        return st

    def drop_states(self, keys):
        """Forget states no later rung needs (and delete their files)."""
        folder = self._state_dir()
        for key in keys:
            self.states.pop(key, None)
            if folder is not None:
                try:
                    os.unlink(state_path(folder, key))
                except FileNotFoundError:
                    pass
        if folder is not None:
            try:
                os.rmdir(folder)   # only when empty
            except OSError:
                pass

    def _bar(self, total, initial, label):
        if self.verbose < 1:
            return None
        from tqdm.auto import tqdm
        return tqdm(total=total, initial=initial, desc=label, unit="trial", file=sys.stderr, dynamic_ncols=True,
                    mininterval=0.2, leave=True)

    # -------------------------------------------------------------------------------- end
    def result(self, candidates, records, order, kind, extra=None, refit_resources=None):
        cv = build_cv_results(candidates, records, self.n_splits,
                              math.nan if self.error_score == "raise" else float(self.error_score), extra)
        flat = [r for row in records for r in row]
        scoring = next((r.get("scoring") for r in flat if r.get("scoring")), None) or (
            self.scoring if isinstance(self.scoring, str) else "score")
        desc = self._backend.describe() if self._backend is not None else "the journal"
        res = SearchResult(cv, flat, self.n_splits, scoring, self.journal.path, desc, order, search=kind)
        if self.refit and res.best_index_ is not None:
            t0 = time.perf_counter()
            res.best_model = self._refit(res.best_params_, refit_resources)
            res.refit_time_ = time.perf_counter() - t0
        if self.verbose:
            n_div, n_fail = res.n_diverged, res.n_failed
            tail = ", ".join(s for s in (f"{n_div} diverged" if n_div else "", f"{n_fail} failed" if n_fail else "")
                             if s)
            best = "no candidate has a finite score" if res.best_params_ is None else \
                f"best {scoring} {res.best_score_:.4f} at {jsonable(res.best_params_)}"
            self.say(f"{self.fname}: {best}" + (f" ({tail}: see cv_results_['error'])" if tail else ""))
        return res

    def _refit(self, params, n_resources):
        from threadpoolctl import threadpool_limits
        from chainrule.tensor import fork_rng
        if self.X_val is not None:
            X, y = np.concatenate([self.X, self.X_val]), np.concatenate([self.y, self.y_val])
        else:
            X, y = self.X, self.y
        seed = trial_seed(self.seed, jsonable(params))
        build_params = dict(params)
        if self.resource not in (None, "epochs", "n_samples") and n_resources:
            build_params[self.resource] = int(n_resources)
        with threadpool_limits(limits=self.threads):
            with fork_rng(seed):
                built = self.build(build_params)
            adapter = adapt(built, self.fit_kwargs)
            adapter.fit(X, y, seed, self.resource if self.resource in ("epochs",) else None, n_resources)
        return adapter.fitted


def _dask_auto_threads(scheduler):
    """threads='auto' on a Dask cluster: the cores per worker process on its most crowded host."""
    from chainrule.search.backends import DaskBackend
    probe = DaskBackend(scheduler, 1, 1, quiet=True)
    try:
        return max(1, min(v["cores"] // v["workers"] for v in probe.hosts.values()))
    finally:
        probe.close()


class _Best:
    """The best mean test score over the candidates whose folds are all done (for the progress bar)."""

    def __init__(self, n_splits):
        self.n_splits, self.scores, self.best, self.failed = n_splits, {}, None, 0

    def add(self, rec):
        if rec["status"] != "ok":
            self.failed += rec["status"] == "failed"
            return
        s = self.scores.setdefault(rec["candidate"], {})
        s[rec["fold"]] = rec["test_score"]
        if len(s) == self.n_splits and all(v is not None for v in s.values()):
            m = float(np.mean(list(s.values())))
            if self.best is None or m > self.best:
                self.best = m

    def text(self):
        parts = [] if self.best is None else [f"best={self.best:.4f}"]
        if self.failed:
            parts.append(f"failed={self.failed}")
        return " ".join(parts)


def _n(k, word):
    return f"{k} {word}{'s' if k != 1 else ''}"


def _version():
    from chainrule import __version__
    return __version__


_COMMON_DOC = """
    X, y : arrays
        The training data (samples first).
    validation : (X_val, y_val), optional
        Score every candidate on this set (one split).
    validation_split : float, optional
        Hold out this fraction of X, y (shuffled with the search seed, stratified for class labels).
        The default when neither validation nor cv is given: 0.2.
    cv : int, scikit-learn splitter or list of (train, test) index pairs, optional
        k-fold cross-validation (shuffled with the search seed, stratified for class labels).
    scoring : str or callable, optional
        Greater is better.  Default: a compiled model's first metric ('accuracy', 'r2') or else
        'neg_loss'; an estimator's ``score``; an FFNN's accuracy (classifier) or
        'neg_mean_squared_error'.  Names: compiled metrics, 'neg_<metric>', 'neg_loss', any
        scikit-learn scorer name for estimators; or ``scoring(model, X, y) -> float``.
    fit_kwargs : dict, optional
        Arguments of every fit (``{'epochs': 10, 'batch_size': 100}``); ``build`` may add its own
        by returning ``(model, {...})``.  ``seed`` is the trial's and may not be given.
    seed : int
        The search seed: with a hash of each candidate's parameters it seeds that candidate's
        trials (numpy SeedSequence), and it shuffles the folds.
    n_jobs : int
        Worker processes (-1: all cores).  More than 1 selects backend='loky' unless a scheduler is given.
    backend : 'sequential', 'loky' or 'dask', optional
        Default: 'dask' with a scheduler, 'loky' for n_jobs > 1, else 'sequential'.  backend='dask'
        without a scheduler starts a LocalCluster of n_jobs worker processes and closes it at the end.
    scheduler : distributed.Client, cluster or address ('tcp://host:8786'), optional
        The Dask cluster to run on (``pip install chainrule[dask]``).
    journal : path or None
        The append-only journal of finished trials ('search.jsonl'); None keeps them in memory only.
    resume : bool
        Continue the search in ``journal``: finished trials (scored or diverged) are skipped, failed
        ones run again.  A journal of another search space, other data, another validation or other
        settings is refused, with a message saying which.  Without resume an existing journal is refused.
    error_score : float or 'raise'
        The score of a trial that failed or diverged (nan: such candidates rank last), or 'raise'
        to stop at the first failure (TrialError, after journaling it).
    refit : bool
        Fit the best candidate again on all the data (X and validation) as ``result.best_model``.
    threads : int or 'auto'
        BLAS/OpenMP threads per trial (threadpoolctl), 1 by default on every backend: a trial gives
        the same bits with the same thread count, so the table does not depend on n_jobs or the
        backend.  'auto': cores // workers (on Dask, per worker process of the most crowded host),
        faster for large networks on few workers, but then the bits (and the journal, which
        records the count) depend on n_jobs.  Workers x threads should not exceed the cores (the
        search warns).
    verbose : int
        0 silent; 1 one line on what runs where, a progress bar (trials done / total, elapsed, ETA,
        best score so far) and the best candidate; 2 also a line per trial.

    Returns
    -------
    SearchResult
"""


def _common(kw):
    return {k: kw[k] for k in ("validation", "validation_split", "cv", "scoring", "fit_kwargs", "seed", "n_jobs",
                                "backend", "scheduler", "journal", "resume", "error_score", "refit", "verbose",
                                "threads")}


def grid_search(build: Build, param_grid: dict[str, Sequence[Any]] | Sequence[dict[str, Sequence[Any]]],
                X: ArrayLike, y: ArrayLike, *, validation: tuple[ArrayLike, ArrayLike] | None = None, validation_split: float | None = None,
                cv: int | Any | None = None, scoring: str | Scoring | None = None,
                fit_kwargs: dict[str, Any] | None = None, seed: int = 0, n_jobs: int = 1,
                backend: Literal["sequential", "loky", "dask"] | None = None,
                scheduler: Client | SpecCluster | str | None = None, journal: PathLike | None = "search.jsonl",
                resume: bool = False, error_score: float | Literal["raise"] = math.nan, refit: bool = False,
                threads: int | Literal["auto"] = 1, verbose: int = 1) -> SearchResult:
    """Fit and score ``build(params)`` for every combination in ``param_grid``.

    Parameters
    ----------
    build : callable
        ``build(params) -> model``: a compiled chainrule model, a scikit-learn estimator (such as
        :class:`chainrule.sklearn.MLPClassifier`) or ``(FFNN, scheduler)``, optionally with a dict of
        fit arguments last (see :mod:`chainrule.search.trial`).  It must be picklable for the
        loky and Dask backends (a module-level function; in a script or notebook any function).
    param_grid : dict of lists, or list of such dicts
        As scikit-learn's: every combination is a candidate, in ParameterGrid's order.
    """
    fname = "grid_search"
    s = _Search(fname, build, X, y, **_common(locals()))
    candidates, space, order = grid_candidates(param_grid, fname)
    s.open("grid", space)
    try:
        records = s.run(candidates, fname)
        return s.result(candidates, records, order, "grid")
    finally:
        s.close()


grid_search.__doc__ += _COMMON_DOC


def random_search(build: Build, distributions: dict[str, Any], X: ArrayLike, y: ArrayLike, *, n_iter: int = 10,
                validation: tuple[ArrayLike, ArrayLike] | None = None, validation_split: float | None = None,
                cv: int | Any | None = None, scoring: str | Scoring | None = None,
                fit_kwargs: dict[str, Any] | None = None, seed: int = 0, n_jobs: int = 1,
                backend: Literal["sequential", "loky", "dask"] | None = None,
                scheduler: Client | SpecCluster | str | None = None, journal: PathLike | None = "search.jsonl",
                resume: bool = False, error_score: float | Literal["raise"] = math.nan, refit: bool = False,
                threads: int | Literal["auto"] = 1, verbose: int = 1) -> SearchResult:
    """Fit and score ``build(params)`` for ``n_iter`` candidates drawn from ``distributions``.

    Parameters
    ----------
    build : callable
        As for :func:`grid_search`.
    distributions : dict
        ``name -> list`` (a uniform choice) or a scipy.stats distribution
        (``scipy.stats.loguniform(1e-5, 1e1)`` for the notes' log-uniform learning rates,
        ``scipy.stats.randint``, ...).  Drawn with a generator seeded by ``seed``.
    n_iter : int
        The number of candidates (when every entry is a list, at most the size of their grid,
        drawn without repeats).
    """
    fname = "random_search"
    s = _Search(fname, build, X, y, **_common(locals()))
    candidates, space, order = sample_candidates(distributions, n_iter, seed, fname)
    s.open("random", space)
    try:
        records = s.run(candidates, fname)
        return s.result(candidates, records, order, "random")
    finally:
        s.close()


random_search.__doc__ += _COMMON_DOC


def _halving_plan(n_candidates, factor, min_r, max_r):
    """(resources per rung, candidates per rung), scikit-learn's successive halving ('exhaust')."""
    n_required = 1 + int(math.floor(math.log(n_candidates, factor) + 1e-9)) if n_candidates > 1 else 1
    if min_r is None:
        min_r = max(1, max_r // factor ** (n_required - 1))
    n_possible = 1 + int(math.floor(math.log(max(1, max_r // min_r), factor) + 1e-9))
    n_rungs = max(1, min(n_required, n_possible))
    resources = [min(max_r, min_r * factor ** i) for i in range(n_rungs)]
    sizes = [n_candidates]
    for _ in range(1, n_rungs):
        sizes.append(max(1, math.ceil(sizes[-1] / factor)))
    return resources, sizes


def halving_search(build: Build, param_grid: dict[str, Sequence[Any]], X: ArrayLike, y: ArrayLike, *,
                   resource: str = "epochs", factor: int = 3, min_resources: int | None = None,
                   max_resources: int | None = None, validation: tuple[ArrayLike, ArrayLike] | None = None, validation_split: float | None = None,
                cv: int | Any | None = None, scoring: str | Scoring | None = None,
                fit_kwargs: dict[str, Any] | None = None, seed: int = 0, n_jobs: int = 1,
                backend: Literal["sequential", "loky", "dask"] | None = None,
                scheduler: Client | SpecCluster | str | None = None, journal: PathLike | None = "search.jsonl",
                resume: bool = False, error_score: float | Literal["raise"] = math.nan, refit: bool = False,
                threads: int | Literal["auto"] = 1, verbose: int = 1) -> SearchResult:
    """Successive halving over a grid: every candidate gets a small budget, the best 1/factor go on with factor times more.

    Rung i trains its candidates with ``min_resources * factor**i`` units of ``resource`` and
    keeps the ``ceil(n / factor)`` best by mean validation score for the next.  The best
    candidate is the best of the last rung.  ``cv_results_`` has a row per (rung, candidate),
    with scikit-learn's ``iter`` and ``n_resources`` columns; each journal line records its
    ``rung``, ``n_resources`` and ``initial_epoch``.

    With ``resource='epochs'`` a promoted candidate goes on training from where its previous
    rung stopped (as Hyperband and ASHA do, Keras' ``initial_epoch``): its weights, optimizer
    state, epoch count and shuffling generator come back from the worker with its result, are
    written beside the journal (``<journal>.states/<trial key>.npz``, atomically, deleted once
    no rung needs them) and restored before the next rung's fit, on any backend and after a
    resume.  A continued trial gives the same bits as one fit of all its epochs with the same
    seed, so a missing state only costs time.  This holds for compiled chainrule models
    (without fit callbacks, whose own state a new fit would not have) and for an FFNN with a
    Constant, Adagrad or RMS_prop scheduler (they keep nothing across epochs).  Each rung
    trains from scratch, to the same result, for an FFNN with Momentum, AdagradMomentum or
    Adam (FFNN.fit gives every weight matrix a fresh copy of the scheduler, losing their
    velocity and epoch count) and for scikit-learn estimators, as scikit-learn's
    HalvingGridSearchCV does (their ``fit`` reseeds its shuffling from ``random_state`` and
    starts a new optimizer on every call, warm_start included, so continuing would not be the
    longer fit; and their state has no form but a pickle).  Other resources ('n_samples', a
    parameter) retrain too.

    Parameters
    ----------
    build : callable
        As for :func:`grid_search`.
    param_grid : dict of lists
        The candidates.
    resource : 'epochs', 'n_samples' or a parameter name
        'epochs': the fit's epochs (a compiled model's and FFNN's ``epochs``, an estimator's
        ``max_iter``); 'n_samples': that many training samples of each fold; any other name is
        passed to ``build`` among the parameters.
    factor : int
        The halving factor (3).
    min_resources, max_resources : int, optional
        The budget of the first rung (default: chosen so that the last rung gets max_resources)
        and the largest (default for 'epochs': ``fit_kwargs['epochs']``; for 'n_samples': the
        smallest training fold).
    """
    fname = "halving_search"
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or factor < 2:
        raise ValueError(f"{fname}: factor must be an integer >= 2, got {factor!r}")
    if not isinstance(resource, str):
        raise TypeError(f"{fname}: resource must be 'epochs', 'n_samples' or a parameter name, got {resource!r}")
    s = _Search(fname, build, X, y, resource=resource, **_common(locals()))
    candidates, space, order = grid_candidates(param_grid, fname)
    if resource not in ("epochs", "n_samples") and any(resource in c for c in candidates):
        raise ValueError(f"{fname}: {resource!r} is the resource; leave it out of param_grid")
    if max_resources is None:
        if resource == "epochs":
            max_resources = s.fit_kwargs.get("epochs")
            if max_resources is None:
                raise ValueError(f"{fname}: resource='epochs' needs max_resources= or fit_kwargs={{'epochs': N}}")
        elif resource == "n_samples":
            max_resources = len(s.X) if s.folds is None else min(len(tr) for tr, _ in s.folds)
        else:
            raise ValueError(f"{fname}: resource={resource!r} needs max_resources=")
    for name, v in (("max_resources", max_resources), ("min_resources", min_resources)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1):
            raise ValueError(f"{fname}: {name} must be a positive integer, got {v!r}")
    if min_resources is not None and min_resources > max_resources:
        raise ValueError(f"{fname}: min_resources={min_resources} exceeds max_resources={max_resources}")
    resources, sizes = _halving_plan(len(candidates), int(factor), min_resources, int(max_resources))
    space = dict(space, halving={"resource": resource, "factor": int(factor), "resources": resources})
    s.open("halving", space)
    try:
        alive = list(range(len(candidates)))
        all_cands, all_records, iters, n_res = [], [], [], []
        carry = resource == "epochs"   # promoted candidates train on from their state (other resources restart)
        prev = {}                      # candidate -> its previous rung's records (one per fold)
        for r, (n_r, size) in enumerate(zip(resources, sizes)):
            dropped = [x["key"] for i in alive[size:] for x in prev.get(i, [])]
            s.drop_states(dropped)
            alive = alive[:size]
            cands = [candidates[i] for i in alive]
            label = f"{fname} rung {r + 1}/{len(resources)} ({n_r} {resource})"
            prev_keys = [[x["key"] for x in prev[i]] for i in alive] if carry and r else None
            records = s.run(cands, label, rung=r, n_resources=n_r, prev_keys=prev_keys,
                            keep_state=carry and r + 1 < len(resources))
            s.drop_states([k for row in prev_keys or [] for k in row])
            prev = dict(zip(alive, records))
            all_cands += cands
            all_records += records
            iters += [r] * len(cands)
            n_res += [n_r] * len(cands)
            means = []
            for rows in records:
                vals = [x["test_score"] if x["status"] == "ok" and x["test_score"] is not None else math.nan
                        for x in rows]
                means.append(float(np.mean(vals)))
            ranked = sorted(range(len(alive)), key=lambda j: (-means[j] if math.isfinite(means[j]) else math.inf, j))
            alive = [alive[j] for j in ranked]
        extra = {"iter": np.array(iters), "n_resources": np.array(n_res)}
        return s.result(all_cands, all_records, order, "halving", extra, refit_resources=resources[-1])
    finally:
        s.close()


halving_search.__doc__ += _COMMON_DOC
