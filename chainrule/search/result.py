"""SearchResult: the finished search as scikit-learn's ``cv_results_``, the best candidate, CSV and heatmaps."""
from __future__ import annotations

import csv
import io as _io
import json
import math
from typing import TYPE_CHECKING, Any, Literal, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from chainrule._typing import PathLike

__all__ = ["SearchResult", "build_cv_results"]


def _param_column(values, present):
    """A masked array of one parameter's values (masked where a candidate lacks it), typed when possible."""
    n = len(values)
    kinds = {type(v) for v, p in zip(values, present) if p}
    if kinds and all(k in (int, float) or issubclass(k, (np.integer, np.floating)) for k in kinds) \
            and not any(k is bool for k in kinds):
        data = np.array([float(v) if p else 0.0 for v, p in zip(values, present)])
        if all(k is int or issubclass(k, np.integer) for k in kinds):
            data = data.astype(np.int64)
    else:
        data = np.empty(n, dtype=object)
        for i, (v, p) in enumerate(zip(values, present)):
            if p:
                data[i] = v
    return np.ma.MaskedArray(data, mask=[not p for p in present])


def _rank(means):
    """scikit-learn's ranking: 1 is best, ties share the lowest rank, NaN scores rank last."""
    from scipy.stats import rankdata
    a = np.asarray(means, dtype=float)
    if np.all(np.isnan(a)):
        return np.ones(len(a), dtype=np.int32)
    a = np.where(np.isnan(a), np.nanmin(a) - 1, a)
    return rankdata(-a, method="min").astype(np.int32)


def build_cv_results(candidates: Sequence[dict[str, Any]], records: Sequence[Sequence[dict[str, Any]]], n_splits: int,
                     error_score: float, extra_columns: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """``cv_results_`` from one record per (candidate, fold): ``records[i][k]``."""
    n = len(candidates)
    res = {}
    test = np.full((n, n_splits), np.nan)
    train = np.full((n, n_splits), np.nan)
    fit_t = np.zeros((n, n_splits))
    score_t = np.zeros((n, n_splits))
    status, errors, seeds = [], [], []
    for i in range(n):
        st, msgs = "ok", []
        for k in range(n_splits):
            r = records[i][k]
            ok = r["status"] == "ok"
            test[i, k] = r["test_score"] if ok and r["test_score"] is not None else (
                np.nan if ok else error_score)
            train[i, k] = r["train_score"] if ok and r["train_score"] is not None else (
                np.nan if ok else error_score)
            fit_t[i, k] = r.get("fit_time") or 0.0
            score_t[i, k] = r.get("score_time") or 0.0
            if not ok:
                st = r["status"] if st == "ok" or r["status"] == "failed" else st
                if r.get("error") and r["error"] not in msgs:
                    msgs.append(r["error"])
        status.append(st)
        errors.append("; ".join(msgs) if msgs else None)
        seeds.append(records[i][0]["seed"])
    res["mean_fit_time"], res["std_fit_time"] = fit_t.mean(axis=1), fit_t.std(axis=1)
    res["mean_score_time"], res["std_score_time"] = score_t.mean(axis=1), score_t.std(axis=1)
    names = []
    for c in candidates:
        names += [k for k in c if k not in names]
    for name in names:
        res[f"param_{name}"] = _param_column([c.get(name) for c in candidates], [name in c for c in candidates])
    res["params"] = [dict(c) for c in candidates]
    for k in range(n_splits):
        res[f"split{k}_test_score"] = test[:, k]
    with np.errstate(invalid="ignore"):
        res["mean_test_score"] = test.mean(axis=1)
        res["std_test_score"] = test.std(axis=1)
    res["rank_test_score"] = _rank(res["mean_test_score"])
    for k in range(n_splits):
        res[f"split{k}_train_score"] = train[:, k]
    with np.errstate(invalid="ignore"):
        res["mean_train_score"] = train.mean(axis=1)
        res["std_train_score"] = train.std(axis=1)
    res.update(extra_columns or {})
    res["status"] = np.array(status, dtype=object)
    res["error"] = np.array(errors, dtype=object)
    res["seed"] = np.array(seeds, dtype=np.int64)
    return res


def _plain(params):
    from chainrule.search.space import jsonable
    try:
        return jsonable(params)
    except TypeError:
        return params


def _csv_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is np.ma.masked:
        return ""
    if isinstance(v, (np.floating, float)):
        return repr(float(v))
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return str(v)


class SearchResult:
    """What a search found.

    Attributes
    ----------
    cv_results_ : dict of arrays
        scikit-learn's layout, one entry per candidate: ``param_<name>`` (masked arrays),
        ``params``, ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``split<k>_train_score``, ``mean_train_score``, ``std_train_score``,
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``, ``std_score_time``; and
        chainrule's ``status`` ('ok', 'diverged', 'failed'), ``error`` (the message) and ``seed``
        (of the candidate's trials).  ``pandas.DataFrame(result.cv_results_)`` reads it.
    best_index_, best_params_, best_score_ : the candidate with rank 1 (the first one on ties);
        None when no candidate has a finite score.  Also ``best_params``, ``best_score``.
    best_model : the best candidate refit on all the training data (train + validation) when the
        search was given ``refit=True``, else None.  Also ``best_estimator_``.
    trials : list of dict, the journal's record of every trial (scores per fold, history, fit
        time, seed, worker, error message and traceback).
    n_splits_, scoring, journal, backend : how the search ran.
    """

    def __init__(self, cv_results: dict[str, Any], trials: list[dict[str, Any]], n_splits: int, scoring: str,
                 journal: str | None, backend: str, param_order: Sequence[str], best_model: Any = None,
                 refit_time: float | None = None, search: Literal["grid", "random", "halving"] = "grid") -> None:
        self.cv_results_ = cv_results
        self.trials = trials
        self.n_splits_ = n_splits
        self.scoring = scoring
        self.journal = journal
        self.backend = backend
        self.search = search
        self._param_order = list(param_order)
        self.best_model = best_model
        self.refit_time_ = refit_time
        idx = self._selectable()
        means = cv_results["mean_test_score"]
        finite = [i for i in idx if np.isfinite(means[i])]
        if finite:
            best = min(finite, key=lambda i: (cv_results["rank_test_score"][i], i))
            self.best_index_ = int(best)
            self.best_params_ = dict(cv_results["params"][best])
            self.best_score_ = float(means[best])
        else:
            self.best_index_ = self.best_params_ = self.best_score_ = None

    def _selectable(self):
        """Rows among which the best is chosen: all of them; for halving, those of the last rung."""
        if "iter" in self.cv_results_:
            it = np.asarray(self.cv_results_["iter"])
            return [int(i) for i in np.flatnonzero(it == it.max())]
        return list(range(len(self.cv_results_["params"])))

    def _latest_rows(self):
        """One row per candidate: for halving, the last rung it reached."""
        if "iter" not in self.cv_results_:
            return list(range(len(self.cv_results_["params"])))
        latest = {}
        for i, (p, it) in enumerate(zip(self.cv_results_["params"], self.cv_results_["iter"])):
            key = json.dumps(p, sort_keys=True, default=str)
            if key not in latest or it >= self.cv_results_["iter"][latest[key]]:
                latest[key] = i
        return sorted(latest.values())

    @property
    def best_params(self) -> dict[str, Any] | None:
        """The parameters of the best candidate; an alias of ``best_params_``."""
        return self.best_params_

    @property
    def best_score(self) -> float | None:
        """The mean score of the best candidate; an alias of ``best_score_``."""
        return self.best_score_

    @property
    def best_estimator_(self) -> Any:
        """The best candidate refitted on all the data; an alias of ``best_model``."""
        return self.best_model

    @property
    def n_failed(self) -> int:
        """The number of candidates whose trials failed."""
        return int(sum(s == "failed" for s in self.cv_results_["status"]))

    @property
    def n_diverged(self) -> int:
        """The number of candidates whose training diverged."""
        return int(sum(s == "diverged" for s in self.cv_results_["status"]))

    def __repr__(self):
        n = len(self.cv_results_["params"])
        best = "no finite score" if self.best_params_ is None else \
            f"best {self.scoring} {self.best_score_:.4g} at {_plain(self.best_params_)}"
        return f"<SearchResult: {n} candidates x {self.n_splits_} splits, {best}>"

    # ------------------------------------------------------------------------ CSV
    def to_csv(self, path: PathLike | None = None) -> str:
        """Write ``cv_results_`` as CSV (one row per candidate, ``params`` as JSON), atomically.

        Returns the text when ``path`` is None, else the path.
        """
        res = self.cv_results_
        cols = [k for k in res if k.startswith("param_")]
        for k in ("iter", "n_resources"):
            if k in res:
                cols.append(k)
        cols += ["mean_test_score", "std_test_score", "rank_test_score"]
        cols += [k for k in res if k.startswith("split") and k.endswith("_test_score")]
        cols += ["mean_train_score", "std_train_score"]
        cols += [k for k in res if k.startswith("split") and k.endswith("_train_score")]
        cols += ["mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time", "status", "error", "seed",
                 "params"]
        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for i in range(len(res["params"])):
            w.writerow([_csv_value(res[c][i]) for c in cols])
        text = buf.getvalue()
        if path is None:
            return text
        from chainrule.io import write_text_atomic
        return write_text_atomic(path, text)

    # ----------------------------------------------------------------------- plot
    def _axes(self, params):
        res = self.cv_results_
        varying = []
        for name in self._param_order:
            col = res.get(f"param_{name}")
            if col is None:
                continue
            vals = {json.dumps(v, sort_keys=True, default=str) for v, m in zip(col.data, np.ma.getmaskarray(col))
                    if not m}
            if len(vals) > 1:
                varying.append(name)
        if params is None:
            params = varying[:2] if varying else self._param_order[:1]
        elif isinstance(params, str):
            params = [params]
        params = list(params)
        if not 1 <= len(params) <= 2:
            raise ValueError(f"SearchResult.plot: params must name one or two parameters, got {params!r}")
        for p in params:
            if f"param_{p}" not in res:
                raise ValueError(f"SearchResult.plot: no parameter {p!r}; the search has "
                                 f"{', '.join(self._param_order)}")
        return params

    def grid(self, params: Sequence[str] | None = None, part: Literal["test", "train"] = "test"
             ) -> tuple[np.ndarray, np.ndarray, list[Any], list[Any]]:
        """(mean, std, row values, column values) of ``part`` ('test' or 'train') over one or two parameters.

        Where other parameters vary too, each cell is the candidate with the best mean test score
        among those with that cell's values; a cell no candidate reached is NaN.  After a halving
        search each candidate is shown at the last rung it reached.
        """
        params = self._axes(params)
        res = self.cv_results_
        rows_name = params[0]
        cols_name = params[1] if len(params) == 2 else None
        rows_idx = self._latest_rows()

        def values(name):
            col = res[f"param_{name}"]
            out = []
            for i in rows_idx:
                if not np.ma.getmaskarray(col)[i]:
                    v = res["params"][i][name]
                    if v not in out:
                        out.append(v)
            try:
                return sorted(out)
            except TypeError:
                return out
        rv = values(rows_name)
        cv = values(cols_name) if cols_name else [None]
        if len(rv) * len(cv) > 2500:
            raise ValueError(f"SearchResult.plot: {len(rv)} x {len(cv)} distinct values do not make a heatmap (a "
                             f"random search's values are not a grid); read cv_results_ instead")
        mean = np.full((len(rv), len(cv)), np.nan)
        std = np.full((len(rv), len(cv)), np.nan)
        chosen = np.full((len(rv), len(cv)), -1)
        key = res["mean_test_score"]
        for i in rows_idx:
            p = res["params"][i]
            if rows_name not in p or (cols_name and cols_name not in p):
                continue
            a = rv.index(p[rows_name])
            b = cv.index(p[cols_name]) if cols_name else 0
            j = chosen[a, b]
            if j < 0 or (np.isfinite(key[i]) and (not np.isfinite(key[j]) or key[i] > key[j])):
                chosen[a, b] = i
        for a in range(len(rv)):
            for b in range(len(cv)):
                j = chosen[a, b]
                if j >= 0:
                    mean[a, b] = res[f"mean_{part}_score"][j]
                    std[a, b] = res[f"std_{part}_score"][j]
        return mean, std, rv, cv

    def plot(self, params: Sequence[str] | None = None, which: Literal["both", "test", "train"] = "both",
             path: PathLike | None = None, fmt: str = ".3f", title: str | None = None,
             labels: dict[str, str] | None = None) -> Figure:
        """The notes' heatmaps: train and validation scores over two parameters, mean +- std in each cell.

        Parameters
        ----------
        params : (row, column) parameter names, optional
            Default: the first two parameters of the search that take more than one value.
        which : 'both', 'test' or 'train'
            Both panels side by side (one colour scale), or one of them.
        path : str, optional
            Also write the figure there as PNG.
        labels : dict, optional
            Axis labels by parameter name, e.g. ``{'eta': 'learning rate'}`` (default: the names).

        Returns the matplotlib Figure (:func:`chainrule.plot.plot_grid_search` draws it).
        """
        from chainrule.plot import plot_grid_search
        if which not in ("both", "test", "train"):
            raise ValueError(f"SearchResult.plot: which must be 'both', 'test' or 'train', got {which!r}")
        params = self._axes(params)
        parts = ["train", "test"] if which == "both" else [which]
        label = {"train": "train", "test": "validation" if self.n_splits_ == 1 else f"validation ({self.n_splits_}-fold)"}
        means, stds = {}, {}
        for part in parts:
            m, s, rv, cv = self.grid(params, part)
            means[f"{label[part]} {self.scoring}"] = m
            stds[f"{label[part]} {self.scoring}"] = s if self.n_splits_ > 1 else None
        others = [p for p in self._param_order if p not in params and f"param_{p}" in self.cv_results_]
        if title is None and others:
            title = f"best over {', '.join(others)}"
        if "iter" in self.cv_results_:
            note = "each candidate at the last rung it reached"
            title = note if title is None else f"{title} ({note})"
        one = len(parts) == 1
        scores = next(iter(means.values())) if one else means
        std = next(iter(stds.values())) if one else (stds if self.n_splits_ > 1 else None)
        if one and title is None:
            title = next(iter(means))
        labels = dict(labels or {})
        col_label = labels.get(params[1], params[1]) if len(params) == 2 else ""
        return plot_grid_search(scores, rv, [v if v is not None else "" for v in cv],
                                row_label=labels.get(params[0], params[0]), col_label=col_label, title=title,
                                path=path, fmt=fmt, std=std)
