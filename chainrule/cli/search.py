"""``chainrule search``: the notes' grid over the learning rate and the L2 penalty, from the command line.

    chainrule search --dataset digits --lr 1e-5:1e1:7 --l2 1e-5:1e1:7 --layers 50 [--cv 3] [--jobs N]
                     [--scheduler tcp://host:8786] [--resume [RUN_DIR]]

writes ``runs/<YYYYmmdd-HHMMSS>-<dataset>-search/``::

    search.jsonl         the journal: one JSON line per finished trial (chainrule.search)
    settings.json        the search's settings; ``--resume RUN_DIR`` continues from them
    results.csv          one row per candidate, scikit-learn's cv_results_ columns
    best.json            the best candidate, its validation score, and the test scores of the
                         best network refit on the whole training part
    model.npz            that refit network (chainrule.load_model reads it)
    heatmap_validation.png, heatmap_train.png   the notes' heatmaps (mean +- std with --cv)

The network is the notes' digits network of the grid search by default: one hidden layer of 50
sigmoid units, a softmax output, plain SGD with batches of 100 for 100 epochs, the L2 penalty
on every weight matrix.  Without ``--cv`` every candidate is scored on a validation part
(``--val-split`` of the training part, 0.2 by default); the test part is used once, by the refit
best network.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chainrule.nn import Sequential

from .config import EXIT_OK, RunError, UsageError, _hidden_activations, _version_text, parse_layers

#: the settings of ``chainrule search`` when neither the resumed run nor a flag says otherwise
SEARCH_DEFAULTS = {
    "dataset": "digits", "lr": "1e-5:1e1:7", "l2": "1e-5:1e1:7", "layers": ["50"], "activation": "sigmoid",
    "optimizer": "sgd", "epochs": 100, "batch_size": 100, "cv": 0, "val_split": 0.2, "test_split": 0.2,
    "seed": 0, "jobs": 1, "backend": None, "scheduler": None, "threads": 1, "samples": None, "noise": None,
    "data_dir": None, "out": "runs", "quiet": False,
}
_LATEST = "latest"


def add_search_parser(sub: argparse._SubParsersAction, fmt: type[argparse.HelpFormatter]) -> argparse.ArgumentParser:
    """Register ``chainrule search`` on the subparsers ``sub``."""
    from chainrule.datasets import DATASETS
    s = sub.add_parser(
        "search", help="grid search over learning rate x L2 penalty (x layers), on all cores or a Dask cluster",
        formatter_class=fmt,
        description="Train the network for every learning rate, L2 penalty and hidden-layer choice, score each "
                    "on a validation part (or by k-fold cross-validation), and write the journal, results.csv, "
                    "best.json, the refit best model and the notes' heatmaps into a run folder.  An interrupted "
                    "search continues with --resume: finished trials are not run again.",
        epilog="value lists: A:B:N is N values from A to B spaced evenly on a log scale (1e-5:1e1:7 is the notes'\n"
               "np.logspace(-5, 1, 7)); a comma list gives the values themselves (0,1e-4,1e-2).\n\nexamples:\n"
               "  chainrule search                                  the notes' 7 x 7 digits grid\n"
               "  chainrule search --jobs 2 --cv 3 --epochs 30\n"
               "  chainrule search --layers 50 100 100,30 --l2 1e-4    a grid over the hidden layers too\n"
               "  chainrule search --scheduler tcp://head:8786      on a Dask cluster (pip install chainrule[dask])\n"
               "  chainrule search --resume                         continue the latest search of the data set")
    g = s.add_argument_group("data")
    g.add_argument("--dataset", metavar="NAME", help=f"one of: {', '.join(DATASETS)} (default: digits)")
    g.add_argument("--data-dir", metavar="DIR", help="folder searched first for file-based sets")
    g.add_argument("--samples", type=int, metavar="N", help="points of the generated sets moons, franke, sine")
    g.add_argument("--noise", type=float, metavar="SIGMA", help="noise level of moons, franke, sine")
    g.add_argument("--val-split", type=float, metavar="F",
                   help="fraction of the training part each candidate is scored on (default 0.2; not with --cv)")
    g.add_argument("--test-split", type=float, metavar="F", help="fraction held out for the test (default 0.2)")
    g = s.add_argument_group("the grid")
    g.add_argument("--lr", metavar="VALUES", help="learning rates eta (default 1e-5:1e1:7)")
    g.add_argument("--l2", metavar="VALUES", help="L2 penalties lambda (default 1e-5:1e1:7)")
    g.add_argument("--layers", nargs="+", metavar="N,N",
                   help="hidden layer sizes, one or more choices, e.g. 50 or 50 100,30 (default 50)")
    g = s.add_argument_group("network and training")
    g.add_argument("--activation", metavar="NAME",
                   help=f"hidden activation: one of {', '.join(_hidden_activations())} (default sigmoid)")
    g.add_argument("--optimizer", metavar="NAME",
                   help="sgd, adam, adamw, rmsprop, adagrad, constant, momentum, adagrad_momentum; given each "
                        "learning rate (default sgd)")
    g.add_argument("--epochs", type=int, metavar="N", help="epochs per trial (default 100)")
    g.add_argument("--batch-size", type=int, metavar="N", help="samples per step (default 100)")
    g.add_argument("--seed", type=int, metavar="N", help="seed of the split, the folds and the trials (default 0)")
    g = s.add_argument_group("search")
    g.add_argument("--cv", type=int, metavar="K", help="k-fold cross-validation on the training part")
    g.add_argument("--jobs", "-j", type=int, metavar="N", help="worker processes (default 1; -1: all cores)")
    g.add_argument("--backend", choices=("sequential", "loky", "dask"),
                   help="default: dask with --scheduler, loky with --jobs > 1, else sequential")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at ADDRESS (tcp://host:8786)")
    g.add_argument("--threads", type=int, metavar="N", help="BLAS threads per trial (default 1)")
    g.add_argument("--resume", nargs="?", const=_LATEST, metavar="RUN_DIR",
                   help="continue a search: RUN_DIR, or the latest search of the data set in --out")
    g.add_argument("--out", metavar="DIR", help="parent folder of the run folder (default runs/)")
    g.add_argument("--quiet", "-q", action=argparse.BooleanOptionalAction, default=None,
                   help="no progress bar or tables; print only the run folder")
    return s


# ---------------------------------------------------------------------------- values
def parse_values(flag: str, text: str) -> list[float]:
    """``'1e-5:1e1:7'`` -> 7 log-spaced values; ``'0,1e-4'`` -> [0.0, 0.0001].  UsageError otherwise.

    >>> parse_values("--lr", "1e-3:1e-1:3")
    [0.001, 0.01, 0.1]
    >>> parse_values("--l2", "0, 1e-4")
    [0.0, 0.0001]
    """
    if isinstance(text, (list, tuple)):
        text = ",".join(str(v) for v in text)
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{flag}: expected values such as 1e-5:1e1:7 or 0.1,0.01, got {text!r}")
    s = text.strip()
    if ":" in s:
        parts = s.split(":")
        try:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise UsageError(f"{flag} {text!r}: expected START:STOP:COUNT such as 1e-5:1e1:7") from None
        if len(parts) != 3 or n < 1 or a <= 0 or b <= 0:
            raise UsageError(f"{flag} {text!r}: START:STOP:COUNT needs positive START and STOP (the values are "
                             f"log-spaced) and COUNT >= 1; list zero with commas, e.g. 0,1e-4,1e-2")
        vals = np.logspace(np.log10(a), np.log10(b), n) if n > 1 else np.array([a])
        return [float(f"{v:.12g}") for v in vals]
    out = []
    for tok in s.split(","):
        try:
            v = float(tok)
        except ValueError:
            raise UsageError(f"{flag} {text!r}: {tok.strip()!r} is not a number") from None
        if not np.isfinite(v) or v < 0:
            raise UsageError(f"{flag} {text!r}: values must be finite and >= 0, got {tok.strip()}")
        out.append(v)
    return out


def _layers_key(text):
    sizes = parse_layers(text)
    return ",".join(str(n) for n in sizes) if sizes else "none"


# ------------------------------------------------------------------------- the model
class SearchBuild:
    """``build(params)`` of the command: the run's network with the candidate's lr, l2 and layers.

    A module-level class, so that loky and Dask workers unpickle it by reference.
    """

    def __init__(self, cfg: dict[str, Any], n_features: int, units: int, out_act: str, loss: str,
                 metrics: list[str]) -> None:
        self.cfg = {k: cfg[k] for k in ("activation", "optimizer")}
        self.n_features, self.units, self.out_act, self.loss, self.metrics = n_features, units, out_act, loss, metrics

    def __call__(self, params: dict[str, Any]) -> Sequential:
        from chainrule import optim
        from .commands import build_model
        cfg = dict(self.cfg, layers=parse_layers(params["layers"]), l2=float(params["l2"]), batch_norm=False,
                   dropout=0.0)
        model = build_model(cfg, self.n_features, self.units, self.out_act)
        model.compile(optimizer=optim.get(self.cfg["optimizer"], lr=float(params["lr"])), loss=self.loss,
                      metrics=self.metrics)
        return model


# -------------------------------------------------------------------------- settings
def _from_flags(args):
    keys = [k for k in SEARCH_DEFAULTS if k != "jobs"]
    out = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "jobs", None) is not None:
        out["jobs"] = args.jobs
    return out


def _latest_run(out, dataset):
    runs = sorted(d for d in glob.glob(os.path.join(glob.escape(out), f"*-{dataset}-search"))
                  if os.path.isfile(os.path.join(d, "settings.json")))
    if not runs:
        raise RunError(f"--resume: no search of {dataset} in {out}/ to continue; give the run folder "
                       f"(--resume RUN_DIR), or start one without --resume")
    return runs[-1]


def _resolve(args):
    """(settings, run folder or None): defaults < the resumed run's settings < the flags; validated."""
    from chainrule import optim
    from chainrule.datasets import DATASETS
    from chainrule.nn import activations as _acts
    flags = _from_flags(args)
    cfg = dict(SEARCH_DEFAULTS)
    run_dir = None
    if args.resume is not None:
        out = flags.get("out", SEARCH_DEFAULTS["out"])
        run_dir = _latest_run(out, flags.get("dataset", SEARCH_DEFAULTS["dataset"])) if args.resume == _LATEST \
            else args.resume
        path = os.path.join(run_dir, "settings.json")
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
        except FileNotFoundError:
            raise RunError(f"--resume: {run_dir!r} has no settings.json; is it a folder written by "
                           f"`chainrule search`?") from None
        except (OSError, ValueError) as err:
            raise RunError(f"--resume: cannot read {path}: {err}") from None
        if not isinstance(saved, dict):
            raise RunError(f"--resume: {path} does not hold a search's settings")
        cfg.update({k: v for k, v in saved.items() if k in SEARCH_DEFAULTS})
    cfg.update(flags)
    if cfg["dataset"] not in DATASETS:
        raise UsageError(f"--dataset: unknown data set {cfg['dataset']!r}; valid names are {', '.join(DATASETS)}")
    cfg["lr_values"] = parse_values("--lr", cfg["lr"])
    if 0.0 in cfg["lr_values"]:
        raise UsageError(f"--lr {cfg['lr']!r}: a learning rate must be > 0")
    cfg["l2_values"] = parse_values("--l2", cfg["l2"])
    layers = cfg["layers"] if isinstance(cfg["layers"], list) else [cfg["layers"]]
    cfg["layers"] = [_layers_key(t) for t in layers]
    acts = tuple(n for n in _acts.NAMES if n != "softmax")
    if cfg["activation"] not in acts:
        raise UsageError(f"--activation: unknown activation {cfg['activation']!r}; valid names are {', '.join(acts)}")
    cfg["optimizer"] = str(cfg["optimizer"]).strip().lower()
    if cfg["optimizer"] not in optim.NAMES:
        raise UsageError(f"--optimizer: unknown optimizer {cfg['optimizer']!r}; valid names are "
                         f"{', '.join(optim.NAMES)}")
    for key, lo in (("epochs", 1), ("batch_size", 1), ("seed", 0), ("threads", 1), ("cv", 0)):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise UsageError(f"--{key.replace('_', '-')}: must be an integer >= {lo}, got {v!r}")
    if cfg["cv"] == 1:
        raise UsageError("--cv: cross-validation needs at least 2 folds")
    if not isinstance(cfg["jobs"], int) or cfg["jobs"] == 0:
        raise UsageError(f"--jobs: must be a positive number of workers or -1 for all cores, got {cfg['jobs']!r}")
    for key in ("val_split", "test_split"):
        v = cfg[key]
        if not isinstance(v, (int, float)) or not 0.0 < v < 1.0:
            raise UsageError(f"--{key.replace('_', '-')}: must be a fraction in (0, 1), got {v!r}")
    if cfg["scheduler"] is not None and cfg["backend"] not in (None, "dask"):
        raise UsageError(f"--scheduler is for the dask backend, not --backend {cfg['backend']}")
    return cfg, run_dir


_SAVED = ("dataset", "lr", "l2", "layers", "activation", "optimizer", "epochs", "batch_size", "cv", "val_split",
          "test_split", "seed", "threads", "samples", "noise", "data_dir")


# ---------------------------------------------------------------------------- command
def cmd_search(args: argparse.Namespace) -> int:
    """``chainrule search``: run the grid the arguments describe and write its run folder (journal,
    results.csv, best.json, heatmaps); returns the exit status."""
    from chainrule.search import JournalError, grid_search
    from .commands import _new_run_dir, _write_json
    from .data import _choose_head, _encode_targets, prepare_data

    cfg, run_dir = _resolve(args)
    quiet = cfg["quiet"]
    t_start = time.perf_counter()
    data_cfg = dict(cfg, val_split=0.0 if cfg["cv"] else cfg["val_split"], output_activation=None, loss=None)
    data = prepare_data(data_cfg)
    units, out_act, loss, encoding, metric_names = _choose_head(data.task, data.n_classes, data_cfg, data.y_shape)
    y_train = _encode_targets(data.raw_train[1], encoding, data.n_classes)
    y_test = _encode_targets(data.raw_test[1], encoding, data.n_classes)
    validation = None
    if not cfg["cv"]:
        if data.raw_val is None:
            raise RunError(f"{data.name} has no separate validation part; use --cv K")
        validation = (data.X_val, _encode_targets(data.raw_val[1], encoding, data.n_classes))
    if run_dir is None:  # a resumed run keeps its settings: the journal refuses flags that change the search
        run_dir = _new_run_dir(cfg["out"], f"{data.name}-search")
        _write_json(os.path.join(run_dir, "settings.json"), {k: cfg[k] for k in _SAVED})

    grid = {"lr": cfg["lr_values"], "l2": cfg["l2_values"], "layers": cfg["layers"]}
    build = SearchBuild(cfg, data.X_train.shape[1], units, out_act, loss, metric_names)
    n_cand = len(cfg["lr_values"]) * len(cfg["l2_values"]) * len(cfg["layers"])
    if not quiet:
        n_val = "-" if validation is None else len(validation[0])
        print(f"{_version_text()}\nSearch on {data.name} ({data.task}): {len(data.X_train)} train / {n_val} "
              f"validation / {len(data.X_test)} test samples; {n_cand} candidates (lr x l2 x layers), "
              f"{cfg['activation']} hidden units, {cfg['optimizer']}, {cfg['epochs']} epochs of batch size "
              f"{cfg['batch_size']}" + (f", {cfg['cv']}-fold cross-validation" if cfg["cv"] else "")
              + f"\nRun folder: {run_dir}", flush=True)
    journal = os.path.join(run_dir, "search.jsonl")
    resume = os.path.exists(journal)
    try:
        result = grid_search(build, grid, data.X_train, y_train, validation=validation, cv=cfg["cv"] or None,
                             fit_kwargs={"epochs": cfg["epochs"], "batch_size": cfg["batch_size"]}, seed=cfg["seed"],
                             n_jobs=cfg["jobs"], backend=cfg["backend"], scheduler=cfg["scheduler"],
                             journal=journal, resume=resume, refit=True, threads=cfg["threads"],
                             verbose=0 if quiet else 1)
    except JournalError as err:
        raise RunError(f"{err}\n(run without --resume to start a new search in a new run folder)") from None
    except ImportError as err:
        raise RunError(str(err)) from None
    except KeyboardInterrupt:
        print(f"continue with: chainrule search --resume {run_dir}", file=sys.stderr)
        raise

    result.to_csv(os.path.join(run_dir, "results.csv"))
    files = ["search.jsonl", "settings.json", "results.csv", "best.json"]
    best = {"scoring": result.scoring, "best_params": result.best_params, "best_score": result.best_score,
            "n_candidates": n_cand, "n_splits": result.n_splits_, "n_diverged": result.n_diverged,
            "n_failed": result.n_failed, "backend": result.backend, "test": None,
            "search_time_s": round(time.perf_counter() - t_start, 3)}
    if result.best_model is not None:
        best["test"] = result.best_model.evaluate(data.X_test, y_test, verbose=0, return_dict=True)
        result.best_model.save(os.path.join(run_dir, "model.npz"))
        files.append("model.npz")
    _write_json(os.path.join(run_dir, "best.json"), best)
    for part, name in (("test", "heatmap_validation.png"), ("train", "heatmap_train.png")):
        try:
            label = "train" if part == "train" else "validation"
            result.plot(which=part, path=os.path.join(run_dir, name), title=f"{data.name}: {label} {result.scoring}")
            files.append(name)
        except Exception as err:  # a figure must never lose the search
            print(f"chainrule: warning: could not draw {name}: {type(err).__name__}: {err}", file=sys.stderr)
    if quiet:
        print(run_dir)
        return EXIT_OK
    _print_table(result)
    if result.best_params is not None:
        test = "" if best["test"] is None else "; refit on the training part, test " + ", ".join(
            f"{k} {v:.4f}" for k, v in best["test"].items())
        print(f"\nbest: {result.best_params}: validation {result.scoring} {result.best_score:.4f}{test}")
    print(f"Saved to {run_dir}{os.sep}: {', '.join(files)}  ({time.perf_counter() - t_start:.1f} s)")
    return EXIT_OK


def _print_table(result):
    """The validation scores over lr (rows) x l2 (columns), for the best hidden layers."""
    try:
        mean, _, rows, cols = result.grid(("lr", "l2"), "test")
    except ValueError:
        return
    print(f"\nvalidation {result.scoring}, rows lr, columns l2" +
          (" (best over layers)" if len(set(map(str, result.cv_results_["param_layers"]))) > 1 else "") + ":")
    print("lr \\ l2  " + "".join(f"{c:>9.0e}" for c in cols))
    for r, row in zip(rows, mean):
        print(f"{r:>8.0e} " + "".join("      nan" if not np.isfinite(v) else f"{v:>9.3f}" for v in row))
