"""The ``chainrule`` program's settings: the argument parser and the config resolution.

Every setting has a flag and a key of the same name in a ``--config`` TOML file;
:func:`resolve_config` merges DEFAULTS < the data set's PRESETS < the file < the flags and
validates the result, raising :class:`UsageError` (exit status 2) with the bad flag named.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- settings
#: Settings used when neither the data set's preset, the config file nor a flag says otherwise.
#: ``None`` for lr means the optimizer's own default (Adam: 1e-3); for loss and
#: output_activation it means "chosen from the task".
DEFAULTS = {
    "dataset": "digits",
    "model": "mlp",
    "conv": None,
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
    "stop_on_nan": True,
    "samples": None,
    "noise": None,
    "data_dir": None,
    "out": "runs",
    "quiet": False,
    "plots": True,
    "threads": None,
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

#: The image sets ``--model cnn`` trains on, with the (height, width, channels) of one image: the
#: flattened features are reshaped to it by the network's first layer.
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}

#: ``--model cnn`` defaults per image set (above the data set's PRESETS, below a file and the flags):
#: ``conv`` lists the filters of each block (3x3 'same' convolution, the hidden activation, 2x2 max
#: pooling), ``layers`` the Dense layers after Flatten.  Digits: the notes' network (10 filters,
#: Dense 50); Fashion-MNIST/MNIST: conv 32 - pool - conv 64 - pool - Dense 128; CIFAR-10: the notes'
#: three blocks and Dense 64.
CNN_PRESETS = {
    "digits": {"conv": [10], "layers": [50], "activation": "relu", "epochs": 30},
    "mnist": {"conv": [32, 64], "layers": [128], "activation": "relu", "epochs": 5, "batch_size": 64},
    "fashion_mnist": {"conv": [32, 64], "layers": [128], "activation": "relu", "epochs": 5, "batch_size": 64},
    "cifar10": {"conv": [32, 64, 64], "layers": [64], "activation": "relu", "epochs": 10, "batch_size": 64},
}
MODELS = ("mlp", "cnn")

#: The widest hidden layer ``--layers`` accepts (a million units: a 784-input layer of them alone
#: would take 3 GB of float32 weights, plus as much again for each of Adam's moments).
MAX_LAYER_SIZE = 1_000_000

#: Keys accepted in a ``--config`` TOML file (``-`` and ``_`` are interchangeable).
CONFIG_KEYS = tuple(DEFAULTS)

_GATES = ("xor", "and", "or")
_GENERATED = ("moons", "franke", "sine")
_IMAGES = ("fashion_mnist", "mnist", "cifar10")
_LOSS_CHOICES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
                 "mean_squared_error", "mean_absolute_error")

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
  chainrule search --lr 1e-5:1e1:7 --l2 1e-5:1e1:7 --jobs 2   the notes' eta x lambda grid search

Run `chainrule COMMAND --help` for the options of each command."""


def _version_text():
    from chainrule import __version__
    return f"chainrule {__version__} (numpy {np.__version__}, python {sys.version.split()[0]})"


def _hidden_activations():
    from chainrule.nn import activations as _acts
    return tuple(n for n in _acts.NAMES if n != "softmax")


def _add_threads(sub):
    sub.add_argument("--threads", type=int, metavar="N",
                     help="threads for NumPy's BLAS (chainrule.set_num_threads); 1 is often fastest for "
                          "small networks or on a busy machine (default: the BLAS library's own)")


def build_parser() -> argparse.ArgumentParser:
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
        description="Train a feed-forward network (Dense layers; with --model cnn, convolution blocks "
                    "before them) on a data set and save the model, metrics.json, history.csv and plots in a "
                    "new run folder.\n\nEvery option can also be a key of a "
                    "TOML file given with --config (same name, '-' or '_'); options on the command line "
                    "win over the file, the file over the data set's defaults.",
        epilog="config file example (run.toml):\n  dataset = \"moons\"\n  layers = [20, 40, 20]   "
               "# or \"20,40,20\"\n  activation = \"relu\"\n  epochs = 100\n  lr = 0.01\n  early_stopping = 10\n\n"
               "a CNN: chainrule train --dataset fashion_mnist --model cnn --conv 32,64 --layers 128")
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
    g.add_argument("--model", metavar="KIND",
                   help="mlp (Dense layers, the default) or cnn (convolution blocks, then Dense layers; for the "
                        f"image sets {', '.join(IMAGE_SHAPES)})")
    g.add_argument("--conv", metavar="F,F,...",
                   help="--model cnn: filters of each block (3x3 convolution, activation, 2x2 max pooling), "
                        "e.g. 32,64 (default: the data set's network)")
    g.add_argument("--layers", metavar="N,N,...",
                   help="hidden (Dense) layer sizes, comma separated, e.g. 100,30; 'none' for no hidden layer")
    g.add_argument("--activation", metavar="NAME",
                   help=f"hidden activation: one of {', '.join(_hidden_activations())} (default leaky_relu)")
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
    g.add_argument("--stop-on-nan", action=argparse.BooleanOptionalAction, default=None,
                   help="stop when the loss becomes NaN or infinite and keep the model of the last finite epoch "
                        "(default; --no-stop-on-nan trains every epoch, and still keeps that model)")
    g = t.add_argument_group("output")
    g.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    g.add_argument("--out", metavar="DIR", help="parent folder of the run folder (default runs/)")
    g.add_argument("--quiet", "-q", action=argparse.BooleanOptionalAction, default=None,
                   help="no progress bars or tables; print only the run folder")
    g.add_argument("--plots", action=argparse.BooleanOptionalAction, default=None,
                   help="draw the PNG figures (default); --no-plots skips them, which is most of a small "
                        "run's time")
    _add_threads(t)

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
    _add_threads(e)

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
    _add_threads(p)

    sub.add_parser("datasets", help="list the data sets, whether each is present here and where",
                   description="List every data set `chainrule train --dataset` accepts, whether it can be "
                               "loaded on this machine, and from where.")
    from .search import add_search_parser
    add_search_parser(sub, fmt)
    return parser


# ----------------------------------------------------------------------------- helpers
def _norm_key(key):
    return key.strip().replace("-", "_")


def parse_layers(text: str, flag: str = "--layers") -> list[int]:
    """``'100,30'`` -> ``[100, 30]``; ``'none'`` or ``''`` -> ``[]``.  UsageError names the bad token
    (and ``flag``, the option being read: ``--layers`` or ``--conv``).

    >>> parse_layers("100, 30")
    [100, 30]
    >>> parse_layers("none")
    []
    """
    key = flag.lstrip("-")
    if isinstance(text, (list, tuple)):
        out = []
        for i, v in enumerate(text, 1):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise UsageError(f"{key}: entry {i} ({v!r}) is not a positive integer; expected a list "
                                 f"such as [100, 30]")
            out.append(int(v))
        return out
    if not isinstance(text, str):
        raise UsageError(f"{key}: expected a string such as '100,30' or a list of integers, got {text!r}")
    s = text.strip()
    if s.lower() in ("", "none", "[]"):
        return []
    out = []
    for i, tok in enumerate(s.split(","), 1):
        t = tok.strip()
        if not t.isdigit() or int(t) < 1:
            shown = repr(t) if t else "an empty token"
            raise UsageError(f"{flag} {text!r}: token {i} ({shown}) is not a positive integer; expected "
                             f"comma-separated sizes such as 100,30")
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


def resolve_config(args: argparse.Namespace) -> dict[str, Any]:
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
    model = from_flags.get("model", from_file.get("model", DEFAULTS["model"]))
    if model not in MODELS:
        raise UsageError(f"--model: expected one of {', '.join(MODELS)}, got {model!r}")
    if model == "cnn" and dataset not in IMAGE_SHAPES:
        raise UsageError(f"--model cnn: trains on the image sets {', '.join(IMAGE_SHAPES)}, not on {dataset}; "
                         f"use --model mlp")
    cfg = dict(DEFAULTS)
    cfg.update(PRESETS.get(dataset, {}))
    if model == "cnn":
        cfg.update(CNN_PRESETS[dataset])
    cfg.update(from_file)
    cfg.update(from_flags)
    cfg["dataset"], cfg["model"] = dataset, model
    if model == "cnn":
        cfg["conv"] = parse_layers(cfg["conv"], "--conv")
        if not cfg["conv"]:
            raise UsageError("--conv: --model cnn needs at least one convolution block, e.g. --conv 32,64")
        if max(cfg["conv"]) > MAX_LAYER_SIZE:
            raise UsageError(f"--conv: a block of {max(cfg['conv'])} filters is beyond the {MAX_LAYER_SIZE} this "
                             f"program trains")
    elif cfg["conv"] is not None:
        raise UsageError("--conv: applies to --model cnn only")

    cfg["layers"] = parse_layers(cfg["layers"])
    too_big = [w for w in cfg["layers"] if w > MAX_LAYER_SIZE]
    if too_big:
        raise UsageError(f"--layers: a hidden layer of {too_big[0]} units is beyond the {MAX_LAYER_SIZE} this program "
                         f"trains; the course's networks have tens to thousands of units per layer")
    _check_name(cfg, "activation", _hidden_activations(), "activation")
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
    _check_number(cfg, "threads", int, 1, allow_none=True)
    for key in ("batch_norm", "quiet", "stop_on_nan", "plots"):
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

