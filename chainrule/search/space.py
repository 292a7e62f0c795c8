"""The search space: candidates from a grid or from distributions, their canonical form, hashes and seeds.

A candidate is a dict of hyper-parameters.  Everything the journal stores about it goes
through :func:`canonical` (JSON with sorted keys, numbers exactly as Python prints them), so
the same candidate gives the same hash, the same trial key and the same seed in every process
and on every machine.
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
from typing import Any, Sequence

import numpy as np

__all__ = ["canonical", "jsonable", "digest", "trial_seed", "grid_candidates", "sample_candidates",
           "describe_distribution"]


def jsonable(value: Any, where: str = "value") -> Any:
    """``value`` as plain JSON types (numpy scalars -> Python numbers, tuples -> lists); TypeError otherwise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise TypeError(f"{where} is {v}, which the journal cannot hold; use a finite number")
        return v
    if isinstance(value, (list, tuple)):
        return [jsonable(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: jsonable(v, where) for k, v in value.items()}
    raise TypeError(f"{where} holds {value!r} ({type(value).__name__}), which cannot be written to the journal; "
                    f"use numbers, strings, booleans, None or lists of them, and map names to objects in build")


def canonical(obj: Any) -> str:
    """The one text form of a JSON-able object: sorted keys, no spaces, floats as ``repr`` (exact)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(obj: Any, n: int = 16) -> str:
    """A short hex SHA-256 of ``canonical(obj)``."""
    return hashlib.sha256(canonical(obj).encode()).hexdigest()[:n]


def trial_seed(seed: int, params: dict[str, Any]) -> int:
    """The seed of every trial of one candidate: numpy's SeedSequence of the search seed and the
    candidate's hash, so that it depends on nothing else (not on the worker, the order or the backend).

    >>> trial_seed(0, {"lr": 0.1}) == trial_seed(0, {"lr": 0.1}) != trial_seed(1, {"lr": 0.1})
    True
    """
    words = np.frombuffer(hashlib.sha256(canonical(params).encode()).digest()[:16], dtype="<u4")
    ss = np.random.SeedSequence([int(seed), *(int(w) for w in words)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


# ---------------------------------------------------------------------------- grids
def _check_grid(param_grid, fname):
    grids = [param_grid] if isinstance(param_grid, dict) else param_grid
    if not isinstance(grids, (list, tuple)) or not grids:
        raise TypeError(f"{fname}: param_grid must be a dict of lists (or a list of such dicts), got "
                        f"{type(param_grid).__name__}")
    for g in grids:
        if not isinstance(g, dict) or not g:
            raise TypeError(f"{fname}: param_grid must be a dict of lists such as {{'lr': [0.1, 0.01]}}, got {g!r}")
        for k, v in g.items():
            if not isinstance(k, str):
                raise TypeError(f"{fname}: parameter names must be strings, got {k!r}")
            if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
                raise TypeError(f"{fname}: param_grid[{k!r}] must be a list of values, got {v!r}; write [{v!r}] "
                                f"for a single value")
            if len(list(v)) == 0:
                raise ValueError(f"{fname}: param_grid[{k!r}] is empty")
            for x in v:
                jsonable(x, f"{fname}: param_grid[{k!r}]")
    return [dict(g) for g in grids]


def grid_candidates(param_grid: dict[str, Sequence[Any]] | Sequence[dict[str, Sequence[Any]]],
                    fname: str = "grid_search") -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """(candidates, description, parameter order): every combination, in scikit-learn's
    ParameterGrid order (keys sorted, the last varying fastest), so that ``cv_results_`` rows
    line up with GridSearchCV's."""
    from sklearn.model_selection import ParameterGrid
    grids = _check_grid(param_grid, fname)
    cands = [dict(p) for p in ParameterGrid(grids)]
    order = []
    for g in grids:
        order += [k for k in g if k not in order]
    desc = [{k: jsonable(list(v)) for k, v in g.items()} for g in grids]
    return cands, {"grid": desc[0] if len(desc) == 1 else desc}, order


# ---------------------------------------------------------------------- distributions
def describe_distribution(d: Sequence[Any] | Any) -> dict[str, Any]:
    """A JSON description of a list (a choice) or a scipy.stats frozen distribution."""
    if isinstance(d, (list, tuple)):
        return {"choice": jsonable(list(d))}
    if hasattr(d, "rvs"):
        dist = getattr(d, "dist", None)
        name = getattr(dist, "name", type(d).__name__)
        return {"distribution": name, "args": jsonable(list(getattr(d, "args", ()))),
                "kwds": jsonable(dict(getattr(d, "kwds", {})))}
    raise TypeError(f"random_search: a distribution must be a list of values (a choice) or have rvs() (e.g. "
                    f"scipy.stats.loguniform(1e-5, 1e1)), got {d!r}")


def sample_candidates(distributions: dict[str, Any], n_iter: int, seed: int, fname: str = "random_search"
                      ) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """``n_iter`` candidates drawn from ``distributions`` with a generator seeded by ``seed``.

    A list is a choice among its values (uniform); anything with ``rvs`` (scipy.stats'
    ``loguniform``, ``uniform``, ``randint``, ...) is sampled.  When every entry is a list the
    candidates are drawn without replacement from their grid, as scikit-learn's
    ParameterSampler does, so no candidate repeats.
    """
    if not isinstance(distributions, dict) or not distributions:
        raise TypeError(f"{fname}: distributions must be a dict such as "
                        f"{{'lr': scipy.stats.loguniform(1e-5, 1e1), 'layers': [[50], [100]]}}, got {distributions!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 1:
        raise ValueError(f"{fname}: n_iter must be a positive integer, got {n_iter!r}")
    desc = {}
    for k, d in distributions.items():
        if not isinstance(k, str):
            raise TypeError(f"{fname}: parameter names must be strings, got {k!r}")
        desc[k] = describe_distribution(d)
        if isinstance(d, (list, tuple)) and len(d) == 0:
            raise ValueError(f"{fname}: distributions[{k!r}] is an empty choice")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EA4C4]))
    keys = sorted(distributions)
    if all(isinstance(distributions[k], (list, tuple)) for k in keys):
        grid, _, _ = grid_candidates({k: list(distributions[k]) for k in keys}, fname)
        take = rng.permutation(len(grid))[:min(int(n_iter), len(grid))]
        cands = [grid[i] for i in take]
    else:
        cands = []
        for _ in range(int(n_iter)):
            c = {}
            for k in keys:
                d = distributions[k]
                if isinstance(d, (list, tuple)):
                    c[k] = d[int(rng.integers(len(d)))]
                else:
                    v = d.rvs(random_state=rng)
                    c[k] = v.item() if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0) \
                        else v
                jsonable(c[k], f"{fname}: a value drawn for {k!r}")
            cands.append(c)
    return cands, {"distributions": desc, "n_iter": int(n_iter)}, list(distributions)
