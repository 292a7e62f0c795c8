"""The ``chainrule`` command line: train, evaluate and predict with feed-forward networks.

``chainrule train`` with no arguments runs the lecture notes' digits network
(64-100-30-10, leaky ReLU hidden layers, softmax output, Adam) on
scikit-learn's 8x8 digits and writes a run folder::

    runs/<YYYYmmdd-HHMMSS>-<dataset>/
        model.npz           the trained model (chainrule.load_model reads it)
        metrics.json        {"train": {...}, "validation": {...}, "test": {...},
                             "config": {...}, "data": {...}, "preprocessing": {...}, ...}
        config.toml         the run's settings; ``chainrule train --config`` repeats the run
        history.csv         one row of loss and metrics per epoch
        loss.png, accuracy.png (or r2.png), confusion_matrix.png,
        decision_regions.png and hidden_units.png for 2-D inputs

Every setting has a flag (``chainrule train --help``) and a key of the same
name in a TOML file given with ``--config``; flags override the file, the
file overrides the data set's defaults (:data:`PRESETS`), which override
:data:`DEFAULTS`.

Choices made here (where the issue is silent):

* Classification, binary included, uses a softmax output with one unit per
  class and ``sparse_categorical_crossentropy`` on integer labels, so that
  two-class and ten-class problems read the same way; ``--output-activation
  sigmoid`` on a two-class set gives one sigmoid unit and
  ``binary_crossentropy`` instead.  Regression (franke, sine) uses a linear
  output and ``mse``, and reports R^2 and MAE.
* Sets that are not split already are split 80/20 into train and test
  (stratified for classification) with the run's seed; the validation set is
  ``--val-split`` of the training part.  The logic gates have four points, so
  they train, validate and test on all four.
* Tabular inputs are standardized with the statistics of the training part;
  images are flattened and divided by 255.  The statistics are stored in
  ``metrics.json`` (``"preprocessing"``) so ``evaluate`` and ``predict`` apply
  exactly the same transformation.
* Exit status: 0 success, 1 an error with the data or a run folder (one
  message on stderr, no traceback), 2 a usage error (a bad flag or config
  value), 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io as _io
import json
import math
import os
import sys
import time

import numpy as np

__all__ = ["main", "build_parser", "DEFAULTS", "PRESETS", "CONFIG_KEYS", "UsageError", "RunError"]

# --------------------------------------------------------------------------- settings
#: Settings used when neither the data set's preset, the config file nor a flag says otherwise.
#: ``None`` for lr means the optimizer's own default (Adam: 1e-3); for loss and
#: output_activation it means "chosen from the task".
DEFAULTS = {
    "dataset": "digits",
    "layers": [100, 30],
    "activation": "leaky_relu",
    "output_activation": None,
    "loss": None,
    "optimizer": "adam",
    "lr": None,
    "epochs": 30,
    "batch_size": 32,
    "l2": 0.0,
    "dropout": 0.0,
    "batch_norm": False,
    "seed": 0,
    "val_split": 0.1,
    "test_split": 0.2,
    "early_stopping": 0,
    "samples": None,
    "noise": None,
    "data_dir": None,
    "out": "runs",
    "quiet": False,
}

#: Per data set defaults: the lecture example's network where the notes give one.
PRESETS = {
    "digits": {},
    "breast_cancer": {},
    "moons": {"layers": [20, 40, 20], "activation": "relu", "lr": 0.01, "epochs": 50, "samples": 1000,
              "noise": 0.2},
    "xor": {"layers": [4], "activation": "tanh", "lr": 0.1, "epochs": 300, "batch_size": 4, "val_split": 0.0},
    "and": {"layers": [4], "activation": "tanh", "lr": 0.1, "epochs": 300, "batch_size": 4, "val_split": 0.0},
    "or": {"layers": [4], "activation": "tanh", "lr": 0.1, "epochs": 300, "batch_size": 4, "val_split": 0.0},
    "franke": {"layers": [100, 30], "activation": "tanh", "lr": 0.003, "epochs": 150, "samples": 1000,
               "noise": 0.0},
    "sine": {"layers": [30], "activation": "tanh", "lr": 0.01, "epochs": 150, "samples": 1000, "noise": 0.1},
    "fashion_mnist": {"layers": [100], "activation": "sigmoid", "epochs": 10, "batch_size": 100},
    "mnist": {"layers": [100], "activation": "sigmoid", "epochs": 10, "batch_size": 100},
    "cifar10": {"layers": [256, 128], "activation": "relu", "epochs": 10, "batch_size": 100},
}

#: Keys accepted in a ``--config`` TOML file (``-`` and ``_`` are interchangeable).
CONFIG_KEYS = tuple(DEFAULTS)

_GATES = ("xor", "and", "or")
_GENERATED = ("moons", "franke", "sine")
_IMAGES = ("fashion_mnist", "mnist", "cifar10")
_LOSS_CHOICES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
                 "mean_squared_error", "mean_absolute_error")
_BREAST_CANCER_CLASSES = ("malignant", "benign")

_MAX_UNIT_PANELS = 20  # hidden_units.png shows at most this many units of the first hidden layer

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad flag or config value (exit status 2)."""


class RunError(Exception):
    """Anything else a person can fix: missing data, a damaged run folder, a bad CSV (exit status 1)."""


# ----------------------------------------------------------------------------- parser
_DESCRIPTION = """\
Train, evaluate and use feed-forward neural networks built with chainrule.

`chainrule train` with no arguments trains the lecture notes' digits network
(64-100-30-10, leaky ReLU, softmax, Adam) on scikit-learn's digits and saves the
model, its metrics, the training history and plots in runs/<time>-digits/."""

_EPILOG = """\
examples:
  chainrule train                                  the notes' digits network
  chainrule train --dataset moons --epochs 100     any data set listed by `chainrule datasets`
  chainrule train --layers 64,64 --dropout 0.2 --l2 1e-4 --optimizer sgd --lr 0.05
  chainrule train --config run.toml --seed 3       flags override the file's keys
  chainrule evaluate runs/20240130-101500-digits
  chainrule predict runs/20240130-101500-digits samples.csv -o predictions.csv
  chainrule datasets

Run `chainrule COMMAND --help` for the options of each command."""


def _version_text():
    from chainrule import __version__
    return f"chainrule {__version__} (numpy {np.__version__}, python {sys.version.split()[0]})"


def build_parser():
    """The argparse parser for the ``chainrule`` program and its subcommands."""
    from chainrule.datasets import DATASETS

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="chainrule", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=fmt)
    parser.add_argument("--version", action="version", version=_version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    names = ", ".join(DATASETS)
    t = sub.add_parser(
        "train", help="train a network and save a run folder (default: the notes' digits network)",
        formatter_class=fmt,
        description="Train a feed-forward network on a data set and save the model, metrics.json, "
                    "history.csv and plots in a new run folder.\n\nEvery option can also be a key of a "
                    "TOML file given with --config (same name, '-' or '_'); options on the command line "
                    "win over the file, the file over the data set's defaults.",
        epilog="config file example (run.toml):\n  dataset = \"moons\"\n  layers = [20, 40, 20]   "
               "# or \"20,40,20\"\n  activation = \"relu\"\n  epochs = 100\n  lr = 0.01\n  early_stopping = 10")
    g = t.add_argument_group("data")
    g.add_argument("--dataset", metavar="NAME", help=f"one of: {names} (default: digits)")
    g.add_argument("--data-dir", metavar="DIR",
                   help="folder searched first for file-based sets (fashion_mnist, mnist, cifar10)")
    g.add_argument("--samples", type=int, metavar="N",
                   help="number of points for the generated sets moons, franke, sine")
    g.add_argument("--noise", type=float, metavar="SIGMA", help="noise level for moons, franke, sine")
    g.add_argument("--val-split", type=float, metavar="F",
                   help="fraction of the training part held out for validation (default 0.1; 0 for none)")
    g.add_argument("--test-split", type=float, metavar="F",
                   help="fraction held out for testing, for sets that are not pre-split (default 0.2)")
    g = t.add_argument_group("network")
    g.add_argument("--layers", metavar="N,N,...",
                   help="hidden layer sizes, comma separated, e.g. 100,30; 'none' for no hidden layer")
    g.add_argument("--activation", metavar="NAME", help="hidden activation (default leaky_relu)")
    g.add_argument("--output-activation", metavar="NAME",
                   help="softmax for classification (sigmoid for one-unit binary), linear for regression")
    g.add_argument("--l2", type=float, metavar="LAMBDA", help="L2 penalty lambda on every weight matrix")
    g.add_argument("--dropout", type=float, metavar="RATE", help="dropout rate after each hidden layer")
    g.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="batch normalization before each hidden activation")
    g = t.add_argument_group("training")
    g.add_argument("--loss", metavar="NAME",
                   help="default: sparse_categorical_crossentropy (classification), mse (regression)")
    g.add_argument("--optimizer", metavar="NAME",
                   help="sgd, adam, adamw, rmsprop, adagrad, constant, momentum, adagrad_momentum (default adam)")
    g.add_argument("--lr", type=float, metavar="ETA", help="learning rate (default: the optimizer's)")
    g.add_argument("--epochs", type=int, metavar="N", help="passes over the training set (default 30)")
    g.add_argument("--batch-size", type=int, metavar="N", help="samples per gradient step (default 32)")
    g.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop when val_loss has not improved for PATIENCE epochs and keep the best weights")
    g.add_argument("--seed", type=int, metavar="N", help="seed for the split, the weights and shuffling (default 0)")
    g = t.add_argument_group("output")
    g.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    g.add_argument("--out", metavar="DIR", help="parent folder of the run folder (default runs/)")
    g.add_argument("--quiet", "-q", action=argparse.BooleanOptionalAction, default=None,
                   help="no progress bars or tables; print only the run folder")

    e = sub.add_parser("evaluate", help="evaluate a saved run on its test set (or another data set)",
                       formatter_class=fmt,
                       description="Load RUN_DIR/model.npz, apply the run's preprocessing and report the loss "
                                   "and metrics.  Without --dataset the run's own split is rebuilt from its "
                                   "seed, so the test numbers match metrics.json.")
    e.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `chainrule train`")
    e.add_argument("--dataset", metavar="NAME",
                   help="evaluate on another data set with the same inputs (all of it, or its test part "
                        "if it comes pre-split)")
    e.add_argument("--split", choices=("test", "validation", "train", "all"), default="test",
                   help="which part of the run's data set (default test)")
    e.add_argument("--data-dir", metavar="DIR", help="folder searched first for file-based sets")

    p = sub.add_parser("predict", help="predict the rows of a CSV file with a saved run",
                       formatter_class=fmt,
                       description="Read INPUT.csv (one sample per row, the raw features as in the data set: "
                                   "pixel values 0-255 for images; an optional header row), apply the run's "
                                   "preprocessing and write one prediction per row as CSV.  Classification "
                                   "gives the class and one probability column per class; regression the "
                                   "predicted value(s).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `chainrule train`")
    p.add_argument("input", metavar="INPUT.csv", help="samples to predict ('-' reads standard input)")
    p.add_argument("-o", "--output", metavar="FILE.csv", help="write here instead of standard output")

    sub.add_parser("datasets", help="list the data sets, whether each is present here and where",
                   description="List every data set `chainrule train --dataset` accepts, whether it can be "
                               "loaded on this machine, and from where.")
    return parser


# ----------------------------------------------------------------------------- helpers
def _norm_key(key):
    return key.strip().replace("-", "_")


def parse_layers(text):
    """``'100,30'`` -> ``[100, 30]``; ``'none'`` or ``''`` -> ``[]``.  UsageError names the bad token.

    >>> parse_layers("100, 30")
    [100, 30]
    >>> parse_layers("none")
    []
    """
    if isinstance(text, (list, tuple)):
        out = []
        for i, v in enumerate(text, 1):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise UsageError(f"layers: entry {i} ({v!r}) is not a positive integer; expected a list "
                                 f"such as [100, 30]")
            out.append(int(v))
        return out
    if not isinstance(text, str):
        raise UsageError(f"layers: expected a string such as '100,30' or a list of integers, got {text!r}")
    s = text.strip()
    if s.lower() in ("", "none", "[]"):
        return []
    out = []
    for i, tok in enumerate(s.split(","), 1):
        t = tok.strip()
        if not t.isdigit() or int(t) < 1:
            shown = repr(t) if t else "an empty token"
            raise UsageError(f"--layers {text!r}: token {i} ({shown}) is not a positive integer; expected "
                             f"comma-separated layer sizes such as 100,30")
        out.append(int(t))
    return out


def _load_toml(path):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise UsageError("--config: reading TOML needs Python 3.11 or newer, or the tomli package "
                             "(pip install tomli)") from None
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"--config: no such file {path!r}") from None
    except OSError as err:
        raise UsageError(f"--config: cannot read {path!r}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"--config: {path!r} is not valid TOML: {err}") from None
    out = {}
    for key, value in data.items():
        k = _norm_key(key)
        if k not in DEFAULTS:
            raise UsageError(f"--config: unknown key {key!r} in {path}; valid keys are {', '.join(CONFIG_KEYS)}")
        out[k] = value
    return out


def _check_number(cfg, key, kind, lo=None, hi=None, lo_open=False, hi_open=False, allow_none=False):
    v = cfg[key]
    if v is None and allow_none:
        return
    flag = "--" + key.replace("_", "-")
    ok_type = (isinstance(v, (int, np.integer)) if kind is int else isinstance(v, (int, float, np.number)))
    if isinstance(v, bool) or not ok_type or (kind is float and not math.isfinite(float(v))):
        raise UsageError(f"{flag}: expected {'an integer' if kind is int else 'a number'}, got {v!r}")
    bad_lo = lo is not None and (v <= lo if lo_open else v < lo)
    bad_hi = hi is not None and (v >= hi if hi_open else v > hi)
    if bad_lo or bad_hi:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        rng = f"in {left}{lo}, {hi}{right}" if hi is not None else (f"> {lo}" if lo_open else f">= {lo}")
        raise UsageError(f"{flag}: must be {rng}, got {v!r}")
    cfg[key] = kind(v)


def _check_name(cfg, key, valid, what):
    v = cfg[key]
    if v is None:
        return
    flag = "--" + key.replace("_", "-")
    if not isinstance(v, str):
        raise UsageError(f"{flag}: expected a name, got {v!r}")
    if v not in valid:
        raise UsageError(f"{flag}: unknown {what} {v!r}; valid names are {', '.join(valid)}")


def resolve_config(args):
    """Merge DEFAULTS < the data set's PRESETS < the --config file < command-line flags; validate."""
    from chainrule import losses as _losses
    from chainrule import optim as _optim
    from chainrule.datasets import DATASETS
    from chainrule.nn import activations as _acts

    from_file = _load_toml(args.config) if getattr(args, "config", None) else {}
    from_flags = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    dataset = from_flags.get("dataset", from_file.get("dataset", DEFAULTS["dataset"]))
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise UsageError(f"--dataset: unknown data set {dataset!r}; valid names are {', '.join(DATASETS)} "
                         f"(`chainrule datasets` shows which are present)")
    cfg = dict(DEFAULTS)
    cfg.update(PRESETS.get(dataset, {}))
    cfg.update(from_file)
    cfg.update(from_flags)
    cfg["dataset"] = dataset

    cfg["layers"] = parse_layers(cfg["layers"])
    acts = tuple(n for n in _acts.NAMES if n != "softmax")
    _check_name(cfg, "activation", acts, "activation")
    _check_name(cfg, "output_activation", _acts.NAMES, "output activation")
    opt_names = _optim.NAMES
    if not isinstance(cfg["optimizer"], str):
        raise UsageError(f"--optimizer: expected a name, got {cfg['optimizer']!r}")
    cfg["optimizer"] = cfg["optimizer"].strip().lower()
    _check_name(cfg, "optimizer", opt_names, "optimizer")
    if cfg["loss"] is not None:
        if not isinstance(cfg["loss"], str):
            raise UsageError(f"--loss: expected a name, got {cfg['loss']!r}")
        try:
            fn = _losses.get(cfg["loss"])
        except ValueError:
            fn = None
        name = getattr(fn, "__name__", None)
        if name not in _LOSS_CHOICES:
            raise UsageError(f"--loss: unknown loss {cfg['loss']!r}; valid names are {', '.join(_LOSS_CHOICES)} "
                             f"(or the short forms mse, mae, bce, cce, scce)")
        cfg["loss"] = name
    _check_number(cfg, "lr", float, 0.0, lo_open=True, allow_none=True)
    _check_number(cfg, "epochs", int, 1)
    _check_number(cfg, "batch_size", int, 1)
    _check_number(cfg, "l2", float, 0.0)
    _check_number(cfg, "dropout", float, 0.0, 1.0, hi_open=True)
    _check_number(cfg, "seed", int, 0)
    _check_number(cfg, "val_split", float, 0.0, 1.0, hi_open=True)
    _check_number(cfg, "test_split", float, 0.0, 1.0, lo_open=True, hi_open=True)
    _check_number(cfg, "early_stopping", int, 0)
    _check_number(cfg, "samples", int, 10, allow_none=True)
    _check_number(cfg, "noise", float, 0.0, allow_none=True)
    for key in ("batch_norm", "quiet"):
        if not isinstance(cfg[key], bool):
            raise UsageError(f"--{key.replace('_', '-')}: expected true or false, got {cfg[key]!r}")
    for key in ("out", "data_dir"):
        if cfg[key] is not None and not isinstance(cfg[key], str):
            raise UsageError(f"--{key.replace('_', '-')}: expected a path, got {cfg[key]!r}")
    if dataset not in _GENERATED:
        for key in ("samples", "noise"):
            if key in from_flags or key in from_file:
                raise UsageError(f"--{key}: applies only to the generated sets {', '.join(_GENERATED)}, "
                                 f"not to {dataset}")
            cfg[key] = None
    if cfg["early_stopping"] and cfg["val_split"] == 0.0 and dataset not in _GATES:
        raise UsageError("--early-stopping watches the validation loss: give --val-split > 0")
    return cfg


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _config_toml(cfg):
    lines = ["# chainrule train settings; repeat the run with: chainrule train --config config.toml"]
    for k in CONFIG_KEYS:
        if cfg.get(k) is not None:
            lines.append(f"{k} = {_toml_value(cfg[k])}")
    return "\n".join(lines) + "\n"


def _write_text(path, text):
    try:
        from chainrule.io import write_text_atomic
    except ImportError:  # pragma: no cover - io.py is part of the package
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
        return path
    return write_text_atomic(path, text)


def _write_json(path, obj):
    return _write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON-serializable")


def _err(msg, prog="chainrule"):
    print(f"{prog}: error: {msg}", file=sys.stderr)


def _say(cfg_or_quiet, *parts, **kw):
    quiet = cfg_or_quiet if isinstance(cfg_or_quiet, bool) else cfg_or_quiet["quiet"]
    if not quiet:
        print(*parts, **kw, flush=True)


# -------------------------------------------------------------------------------- data
class Data:
    """The prepared splits of one data set, plus what is needed to redo the preprocessing."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _class_names(name, n_classes):
    from chainrule.datasets import CIFAR10_CLASSES, FASHION_MNIST_CLASSES
    if name == "fashion_mnist":
        return list(FASHION_MNIST_CLASSES)
    if name == "cifar10":
        return list(CIFAR10_CLASSES)
    if name == "breast_cancer":
        return list(_BREAST_CANCER_CLASSES)
    return [str(i) for i in range(n_classes)] if n_classes else None


def _load_raw(name, cfg_like, data_dir):
    """(X_train_full, y_train_full, X_test, y_test, gates) for a data set, before preprocessing."""
    from chainrule.datasets import DATASETS, DatasetNotFoundError, train_test_split
    info = DATASETS[name]
    kw = {}
    if name in _GENERATED:
        if cfg_like.get("samples") is not None:
            kw["n"] = cfg_like["samples"]
        if cfg_like.get("noise") is not None:
            kw["noise"] = cfg_like["noise"]
        kw["seed"] = cfg_like["seed"]
    if info.source == "files" and data_dir:
        kw["path"] = data_dir
    try:
        loaded = info.load(**kw)
    except DatasetNotFoundError as err:
        hint = "On the command line, --data-dir DIR searches DIR first (the loader's path=...)."
        if name == "mnist":
            hint += ("\nTo download MNIST into the cache (SHA-256 verified), run\n"
                     "  python -c \"from chainrule.datasets import download_mnist; download_mnist()\"")
        raise RunError(f"{err}\n{hint}\nThen run the command again (`chainrule datasets` shows what is "
                       f"present).") from None
    if info.presplit:
        (Xtr, ytr), (Xte, yte) = loaded
        return np.asarray(Xtr), np.asarray(ytr), np.asarray(Xte), np.asarray(yte)
    X, y = loaded
    X, y = np.asarray(X), np.asarray(y)
    if name in _GATES:
        return X, y, X, y
    strat = y if info.task == "classification" else None
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=cfg_like["test_split"], seed=cfg_like["seed"],
                                          stratify=strat)
    return Xtr, ytr, Xte, yte


def _split_validation(name, task, Xtr, ytr, val_split, seed):
    from chainrule.datasets import train_test_split
    if name in _GATES:
        return Xtr, ytr, (Xtr, ytr)
    if not val_split:
        return Xtr, ytr, None
    strat = ytr if task == "classification" else None
    try:
        Xa, Xv, ya, yv = train_test_split(Xtr, ytr, test_size=val_split, seed=seed + 1, stratify=strat)
    except ValueError as err:
        raise UsageError(f"--val-split {val_split}: cannot split {len(Xtr)} training samples ({err})") from None
    return Xa, ya, (Xv, yv)


def _fit_preprocessing(name, Xtr):
    """A JSON-able description of the input transformation, fitted on the training part."""
    from chainrule.datasets import Standardizer
    if name in _IMAGES:
        return {"kind": "scale", "factor": 1.0 / 255.0, "flatten": True,
                "input_shape": list(Xtr.shape[1:]), "n_features": int(np.prod(Xtr.shape[1:]))}
    X2 = Xtr.reshape(len(Xtr), -1)
    s = Standardizer().fit(X2)
    return {"kind": "standardize", "mean": s.mean_.tolist(), "scale": s.scale_.tolist(),
            "input_shape": list(Xtr.shape[1:]), "n_features": int(X2.shape[1])}


def apply_preprocessing(pre, X):
    """Transform raw inputs ``X`` as the run did (float32, shape (n, n_features))."""
    X = np.asarray(X, dtype=np.float64)
    n_feat = int(pre["n_features"])
    if X.ndim == 1:
        X = X.reshape(1, -1) if X.size == n_feat else X.reshape(-1, 1)
    X = X.reshape(len(X), -1)
    if X.shape[1] != n_feat:
        raise RunError(f"the model expects {n_feat} features per sample, got {X.shape[1]}")
    if pre["kind"] == "scale":
        out = X * float(pre["factor"])
    elif pre["kind"] == "standardize":
        out = (X - np.asarray(pre["mean"], dtype=np.float64)) / np.asarray(pre["scale"], dtype=np.float64)
    else:
        raise RunError(f"unknown preprocessing kind {pre['kind']!r} in metrics.json")
    return out.astype(np.float32)


def _encode_targets(y, encoding, n_classes):
    from chainrule.datasets import one_hot
    if encoding == "regression":
        y = np.asarray(y, dtype=np.float32)
        return y.reshape(len(y), -1)
    y = np.asarray(y).astype(np.int64)
    if encoding == "one_hot":
        return one_hot(y, n_classes).astype(np.float32)
    if encoding == "binary":
        return y.reshape(-1, 1).astype(np.float32)
    return y


def _choose_head(task, n_classes, cfg, y_shape):
    """(output units, output activation, loss, target encoding, metrics)."""
    out_act = cfg["output_activation"]
    loss = cfg["loss"]
    if task == "regression":
        out_act = out_act or "linear"
        loss = loss or "mean_squared_error"
        if loss not in ("mean_squared_error", "mean_absolute_error"):
            raise UsageError(f"--loss {loss}: {cfg['dataset']} is a regression set; use mse or mae")
        units = int(np.prod(y_shape[1:])) if len(y_shape) > 1 else 1
        return units, out_act, loss, "regression", ["r2", "mae"]
    if out_act is None:
        out_act = "sigmoid" if loss == "binary_crossentropy" and n_classes == 2 else "softmax"
    if out_act == "sigmoid" and n_classes == 2 and loss in (None, "binary_crossentropy"):
        return 1, out_act, "binary_crossentropy", "binary", ["accuracy"]
    if loss == "binary_crossentropy":
        raise UsageError(f"--loss binary_crossentropy needs a two-class set and one sigmoid output "
                         f"(--output-activation sigmoid); {cfg['dataset']} has {n_classes} classes")
    loss = loss or "sparse_categorical_crossentropy"
    encoding = "sparse" if loss == "sparse_categorical_crossentropy" else "one_hot"
    return n_classes, out_act, loss, encoding, ["accuracy"]


def prepare_data(cfg):
    """Load, split and preprocess the data set named in ``cfg``; returns a :class:`Data`."""
    from chainrule.datasets import DATASETS
    name = cfg["dataset"]
    info = DATASETS[name]
    Xtr, ytr, Xte, yte = _load_raw(name, cfg, cfg["data_dir"])
    Xtr, ytr, val = _split_validation(name, info.task, Xtr, ytr, cfg["val_split"], cfg["seed"])
    pre = _fit_preprocessing(name, Xtr)
    if info.task == "classification":
        n_classes = int(info.n_classes or int(max(ytr.max(), yte.max())) + 1)
    else:
        n_classes = None
    return Data(name=name, task=info.task, n_classes=n_classes, class_names=_class_names(name, n_classes),
                raw_train=(Xtr, ytr), raw_val=val, raw_test=(Xte, yte), preprocessing=pre,
                X_train=apply_preprocessing(pre, Xtr), X_val=None if val is None else apply_preprocessing(pre, val[0]),
                X_test=apply_preprocessing(pre, Xte), y_shape=np.shape(ytr))


# ------------------------------------------------------------------------------- model
def build_model(cfg, n_features, units, out_act):
    """The Sequential network described by ``cfg``: Dense (+ BatchNormalization, Dropout) per hidden layer."""
    from chainrule import nn
    reg = nn.l2(cfg["l2"]) if cfg["l2"] > 0 else None
    layers = []
    n_in = n_features
    for width in cfg["layers"]:
        if cfg["batch_norm"]:
            layers += [nn.Dense(width, kernel_regularizer=reg, input_dim=n_in), nn.BatchNormalization(),
                       nn.Activation(cfg["activation"])]
        else:
            layers.append(nn.Dense(width, activation=cfg["activation"], kernel_regularizer=reg, input_dim=n_in))
        if cfg["dropout"] > 0:
            layers.append(nn.Dropout(cfg["dropout"]))
        n_in = width
    layers.append(nn.Dense(units, activation=out_act, kernel_regularizer=reg, input_dim=n_in))
    return nn.Sequential(layers)


class _Snapshot:
    """Keep the model's and optimizer's state after every completed epoch (saved on Ctrl-C)."""

    def __init__(self):
        from chainrule.training import Callback

        outer = self

        class _CB(Callback):
            def on_epoch_end(self, epoch, logs):
                outer.on_epoch_end(self.model, epoch, logs)

        self.callback = _CB()
        self.epoch = None
        self.state = None
        self.opt_state = None

    def on_epoch_end(self, model, epoch, logs):
        self.state = model.state_dict()
        opt = model._compiled["optimizer"]
        self.opt_state = opt.state_dict()
        self.epoch = epoch + 1

    def restore(self, model):
        model.load_state_dict(self.state)
        model._compiled["optimizer"].load_state_dict(self.opt_state)


def _verbosity(quiet):
    """fit's verbose: a progress bar per epoch on a terminal, one line per epoch in a log file or pipe."""
    if quiet:
        return 0
    isatty = getattr(sys.stdout, "isatty", None)
    return 1 if isatty is not None and isatty() else 2


def _new_run_dir(out, dataset):
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(out, f"{stamp}-{dataset}")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise RunError(f"--out: cannot create {out!r}: {err}") from None
    path, k = base, 1
    while True:
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            k += 1
            path = f"{base}-{k}"
        except OSError as err:
            raise RunError(f"--out: cannot create the run folder {path!r}: {err}") from None


def _fmt_table(rows, metric_names):
    head = ["", *metric_names]
    body = [[name] + ["-" if r is None or r.get(m) is None else f"{r[m]:.4f}" for m in metric_names]
            for name, r in rows]
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(x, widths)))
             for x in [head] + body]
    return "\n".join(lines)


def _predict_classes(out, encoding):
    out = np.asarray(out)
    if encoding == "binary":
        return (out[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(out, axis=1)


def _make_plots(run_dir, history, model, data, encoding, metric_names):
    """Write the run's PNGs; returns their file names (a failing plot is reported, not fatal)."""
    from chainrule import plot
    from chainrule.tensor import no_grad
    made = []

    def attempt(fname, fn):
        try:
            fn(os.path.join(run_dir, fname))
            made.append(fname)
        except Exception as err:  # a figure must never lose the trained model
            print(f"chainrule: warning: could not draw {fname}: {type(err).__name__}: {err}", file=sys.stderr)

    hist = history.history
    attempt("loss.png", lambda p: plot.plot_history(hist, metrics=["loss"], path=p))
    for m in metric_names:
        if m in hist:
            attempt(f"{m}.png", lambda p, m=m: plot.plot_history(hist, metrics=[m], path=p))
    pre = data.preprocessing
    if data.task == "classification":
        pred = _predict_classes(model.predict(data.X_test), encoding)
        attempt("confusion_matrix.png", lambda p: plot.plot_confusion_matrix(
            np.asarray(data.raw_test[1]).astype(np.int64), pred, labels=data.class_names, path=p))
    Xraw = np.asarray(data.raw_train[0])
    if Xraw.ndim == 2 and Xraw.shape[1] == 2:
        if data.task == "classification":
            attempt("decision_regions.png", lambda p: plot.plot_decision_regions(
                lambda P: _predict_classes(model.predict(apply_preprocessing(pre, P)), encoding),
                Xraw, np.asarray(data.raw_train[1]).astype(np.int64), path=p))
        first = model.layers[0]
        if len(model.layers) > 1 and data.X_train.shape[1] == 2:
            hidden = [first]
            if type(model.layers[1]).__name__ == "BatchNormalization":
                hidden = list(model.layers[:3])

            def activations(P):
                model.eval()
                with no_grad():
                    h = apply_preprocessing(pre, P)
                    for layer in hidden:
                        h = layer(h)
                return np.asarray(h.data if hasattr(h, "data") else h)[:, :_MAX_UNIT_PANELS]
            attempt("hidden_units.png", lambda p: plot.plot_hidden_units(activations, X=Xraw, path=p))
    return made


# ------------------------------------------------------------------------------- train
def cmd_train(args):
    from chainrule import __version__, training
    from chainrule.tensor import fork_rng

    cfg = resolve_config(args)
    quiet = cfg["quiet"]
    t_start = time.perf_counter()
    data = prepare_data(cfg)
    units, out_act, loss, encoding, metric_names = _choose_head(data.task, data.n_classes, cfg, data.y_shape)
    y_train = _encode_targets(data.raw_train[1], encoding, data.n_classes)
    y_test = _encode_targets(data.raw_test[1], encoding, data.n_classes)
    val = None
    if data.raw_val is not None:
        val = (data.X_val, _encode_targets(data.raw_val[1], encoding, data.n_classes))
    X_train = data.X_train
    if cfg["batch_norm"] and len(X_train) % cfg["batch_size"] == 1 and len(X_train) > 1:
        # a last batch of one sample has no batch statistics; leave that sample out
        X_train, y_train = X_train[:-1], y_train[:-1]
        _say(quiet, "note: --batch-norm: left out 1 training sample so that no batch has a single sample")

    with fork_rng(cfg["seed"]):
        model = build_model(cfg, X_train.shape[1], units, out_act)
    from chainrule import optim
    opt = optim.get(cfg["optimizer"], **({} if cfg["lr"] is None else {"lr": cfg["lr"]}))
    model.compile(optimizer=opt, loss=loss, metrics=metric_names)
    resolved = dict(cfg, output_activation=out_act, loss=loss, lr=float(opt.lr))

    run_dir = _new_run_dir(cfg["out"], data.name)
    n_val = 0 if val is None else len(val[0])
    split_note = " (the gate's four points are train, validation and test set)" if data.name in _GATES else ""
    _say(quiet, f"{_version_text()}\nTraining on {data.name} ({data.task}"
                + (f", {data.n_classes} classes" if data.n_classes else "")
                + f"): {len(X_train)} train / {n_val} validation / {len(data.X_test)} test samples, "
                  f"{X_train.shape[1]} features{split_note}")
    _say(quiet, f"Optimizer {cfg['optimizer']} (lr={resolved['lr']:g}), loss {loss}, "
                f"{cfg['epochs']} epochs of batch size {cfg['batch_size']}, seed {cfg['seed']}")
    if not quiet:
        model.summary()

    snap = _Snapshot()
    callbacks = [training.CSVLogger(os.path.join(run_dir, "history.csv")), snap.callback]
    if cfg["early_stopping"]:
        callbacks.append(training.EarlyStopping(monitor="val_loss", patience=cfg["early_stopping"],
                                                restore_best_weights=True, verbose=0 if quiet else 1))
    info = {"chainrule_version": __version__, "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "config": resolved,
            "data": {"dataset": data.name, "task": data.task, "n_classes": data.n_classes,
                     "class_names": data.class_names, "target_encoding": encoding,
                     "n_train": int(len(X_train)), "n_validation": n_val, "n_test": int(len(data.X_test))},
            "preprocessing": data.preprocessing}
    try:
        history = model.fit(X_train, y_train, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                            validation_data=val, callbacks=callbacks, verbose=_verbosity(quiet),
                            seed=cfg["seed"])
    except KeyboardInterrupt:
        sys.stdout.flush()
        if snap.epoch is None:
            _err(f"interrupted before the first epoch finished; nothing to save (run folder {run_dir})")
            return EXIT_INTERRUPTED
        snap.restore(model)
        model.save(os.path.join(run_dir, "model.npz"))
        _write_json(os.path.join(run_dir, "metrics.json"),
                    {"status": "interrupted", "epochs_completed": snap.epoch, **info})
        _write_text(os.path.join(run_dir, "config.toml"), _config_toml(cfg))
        print(f"\nInterrupted: saved the model after epoch {snap.epoch} to {os.path.join(run_dir, 'model.npz')}",
              file=sys.stderr)
        return EXIT_INTERRUPTED

    model.save(os.path.join(run_dir, "model.npz"))
    results = {"train": model.evaluate(X_train, y_train),
               "validation": None if val is None else model.evaluate(*val),
               "test": model.evaluate(data.X_test, y_test)}
    epochs_run = len(history.epoch)
    metrics = {**results, "status": "completed", "epochs_run": epochs_run,
               "stopped_early": epochs_run < cfg["epochs"],
               "train_time_s": round(time.perf_counter() - t_start, 3), **info}
    _write_json(os.path.join(run_dir, "metrics.json"), metrics)
    _write_text(os.path.join(run_dir, "config.toml"), _config_toml(cfg))
    plots = _make_plots(run_dir, history, model, data, encoding, metric_names)
    if quiet:
        print(run_dir)
        return EXIT_OK
    names = ["loss", *metric_names]
    print()
    print(_fmt_table([("train", results["train"]), ("validation", results["validation"]),
                      ("test", results["test"])], names))
    files = ["model.npz", "metrics.json", "config.toml", "history.csv", *plots]
    print(f"\nSaved to {run_dir}{os.sep}: {', '.join(files)}  ({time.perf_counter() - t_start:.1f} s)")
    return EXIT_OK


# ---------------------------------------------------------------------- evaluate / predict
def _open_run(run_dir):
    from chainrule.io import load_model
    if not os.path.isdir(run_dir):
        raise RunError(f"no such run folder {run_dir!r}; give a folder written by `chainrule train`")
    mpath = os.path.join(run_dir, "metrics.json")
    try:
        with open(mpath, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise RunError(f"{run_dir!r} has no metrics.json; is it a folder written by `chainrule train`?") from None
    except (OSError, ValueError) as err:
        raise RunError(f"cannot read {mpath}: {err}") from None
    for key in ("config", "data", "preprocessing"):
        if not isinstance(meta, dict) or not isinstance(meta.get(key), dict):
            raise RunError(f"{mpath} has no {key!r} section; it was not written by `chainrule train`")
    model_path = os.path.join(run_dir, "model.npz")
    try:
        model = load_model(model_path)
    except FileNotFoundError:
        raise RunError(f"{run_dir!r} has no model.npz (was training interrupted before the first epoch?)") \
            from None
    except ValueError as err:
        raise RunError(str(err)) from None
    return model, meta


def cmd_evaluate(args):
    from chainrule.datasets import DATASETS
    model, meta = _open_run(args.run_dir)
    cfg, dmeta, pre = meta["config"], meta["data"], meta["preprocessing"]
    name = args.dataset or cfg["dataset"]
    if name not in DATASETS:
        raise UsageError(f"--dataset: unknown data set {name!r}; valid names are {', '.join(DATASETS)}")
    data_dir = args.data_dir or cfg.get("data_dir")
    if name == cfg["dataset"]:
        Xtr, ytr, Xte, yte = _load_raw(name, cfg, data_dir)
        Xa, ya, val = _split_validation(name, dmeta["task"], Xtr, ytr, cfg["val_split"], cfg["seed"])
        parts = {"train": (Xa, ya), "validation": val, "test": (Xte, yte),
                 "all": (np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])) if name not in _GATES
                 else (Xte, yte)}
        X, y = parts[args.split] if parts[args.split] is not None else (None, None)
        if X is None:
            raise RunError(f"the run {args.run_dir!r} has no validation set (val_split = 0)")
        what = f"{name}, {args.split} part"
    else:
        info = DATASETS[name]
        other = {k: cfg.get(k) for k in ("seed", "test_split")}
        other.update({"samples": None, "noise": None})
        if info.presplit:
            Xtr, ytr, Xte, yte = _load_raw(name, other, data_dir)
            X, y, what = Xte, yte, f"{name}, test part"
        else:
            loaded = info.load(**({"seed": cfg["seed"]} if name in _GENERATED else {}))
            X, y = np.asarray(loaded[0]), np.asarray(loaded[1])
            what = f"{name}, all of it"
    Xp = apply_preprocessing(pre, X)
    yp = _encode_targets(y, dmeta["target_encoding"], dmeta["n_classes"])
    try:
        result = model.evaluate(Xp, yp)
    except (ValueError, TypeError) as err:
        raise RunError(f"cannot evaluate the model of {args.run_dir!r} on {name}: {err}") from None
    names = list(result)
    print(f"{args.run_dir}: model trained on {cfg['dataset']}; evaluated on {what} ({len(Xp)} samples)")
    print(_fmt_table([(args.split if name == cfg["dataset"] else name, result)], names))
    return EXIT_OK


def _read_csv_rows(path):
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8", newline="") as f:
                text = f.read()
    except FileNotFoundError:
        raise RunError(f"no such input file {path!r}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RunError(f"cannot read {path!r}: {err}") from None
    rows = [r for r in csv.reader(_io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise RunError(f"{path!r} has no rows to predict")

    def numeric(row):
        try:
            [float(c) for c in row]
            return True
        except ValueError:
            return False
    if not numeric(rows[0]):
        rows = rows[1:]  # a header
    values = []
    for i, row in enumerate(rows, 1):
        try:
            values.append([float(c) for c in row])
        except ValueError:
            bad = next(c for c in row if not _is_float(c))
            raise RunError(f"{path!r}: data row {i} has a value that is not a number: {bad!r}") from None
    widths = {len(r) for r in values}
    if len(widths) != 1:
        raise RunError(f"{path!r}: rows have different numbers of columns: {sorted(widths)}")
    if not values:
        raise RunError(f"{path!r} has a header but no rows to predict")
    X = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise RunError(f"{path!r} contains NaN or infinite values")
    return X


def _is_float(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def cmd_predict(args):
    model, meta = _open_run(args.run_dir)
    dmeta, pre = meta["data"], meta["preprocessing"]
    X = _read_csv_rows(args.input)
    if X.shape[1] != int(pre["n_features"]):
        raise RunError(f"{args.input!r} has {X.shape[1]} columns but the model of {args.run_dir!r} expects "
                       f"{pre['n_features']} features (the raw inputs of {meta['config']['dataset']})")
    out = np.asarray(model.predict(apply_preprocessing(pre, X)))
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if dmeta["task"] == "classification":
        enc = dmeta["target_encoding"]
        k = int(dmeta["n_classes"])
        probs = np.column_stack([1.0 - out[:, 0], out[:, 0]]) if enc == "binary" else out
        pred = _predict_classes(out, enc)
        names = dmeta.get("class_names") or [str(i) for i in range(k)]
        labelled = any(n != str(i) for i, n in enumerate(names))
        w.writerow(["prediction"] + (["label"] if labelled else []) + [f"p_{i}" for i in range(k)])
        for c, p in zip(pred, probs):
            w.writerow([int(c)] + ([names[int(c)]] if labelled else []) + [f"{v:.6g}" for v in p])
    else:
        cols = out.shape[1] if out.ndim == 2 else 1
        w.writerow(["prediction"] if cols == 1 else [f"prediction_{j}" for j in range(cols)])
        for row in out.reshape(len(out), -1):
            w.writerow([f"{v:.8g}" for v in row])
    text = buf.getvalue()
    if args.output:
        try:
            _write_text(args.output, text)
        except OSError as err:
            raise RunError(f"cannot write {args.output!r}: {err}") from None
        print(f"wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ------------------------------------------------------------------------------ datasets
def cmd_datasets(args):
    from chainrule.datasets import DATASETS, available, search_dirs
    status = available()
    rows = []
    for name, info in DATASETS.items():
        st = status[name]
        if info.source == "files":
            where = st.location if st.present else "not found"
        else:
            where = "generated" if info.source == "synthetic" else "bundled with scikit-learn"
        rows.append((name, info.task, "yes" if st.present else "no", where, info.description))
    head = ("name", "task", "present", "where", "description")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    for r in [head] + rows:
        print("  ".join(c.ljust(wd) for c, wd in zip(r[:4], widths)) + "  " + r[4])
    missing = [n for n, s in status.items() if not s.present]
    if missing:
        from chainrule.datasets import files as _files
        print("\nMissing sets are looked for in --data-dir, $CHAINRULE_DATA, the cache and /usr/share/datasets:")
        for n in missing:
            print(f"  {n}: searched {', '.join(str(d) for d in search_dirs(n))}")
            spec = getattr(_files, "_SPECS", {}).get(n)
            for line in getattr(spec, "how_to_get", ()):
                print(f"    to get it: {line}")
    return EXIT_OK


# ---------------------------------------------------------------------------------- main
_COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "datasets": cmd_datasets}


def main(argv=None):
    """Run the ``chainrule`` program with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    prog = f"chainrule {args.command}"
    try:
        return _COMMANDS[args.command](args)
    except UsageError as err:
        _err(err, prog)
        print(f"Run `{prog} --help` for the options.", file=sys.stderr)
        return EXIT_USAGE
    except RunError as err:
        _err(err, prog)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError) as err:  # from the library: say it in one line, no traceback
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        _err(f"{type(err).__name__}: {err}", prog)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
