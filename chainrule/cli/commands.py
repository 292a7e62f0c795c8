"""The ``chainrule`` commands: train, evaluate, predict, datasets, and :func:`main`, which dispatches them."""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io as _io
import json
import os
import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import (IMAGE_SHAPES, _GATES, _GENERATED, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, RunError,
                     UsageError, _config_toml, _version_text, build_parser, resolve_config)
from .data import _choose_head, _encode_targets, _load_raw, _split_validation, apply_preprocessing, prepare_data

if TYPE_CHECKING:
    from chainrule.nn.module import Module
    from chainrule.nn.sequential import Sequential
    from chainrule.training.callbacks import CSVLogger

_MAX_UNIT_PANELS = 20  # hidden_units.png shows at most this many units of the first hidden layer


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


def _strict(obj, where, found):
    """``obj`` with every NaN or infinity replaced by None (JSON's null), their dotted keys added to
    ``found``: strict JSON, which every parser reads (Python's own writes NaN, which most reject)."""
    if isinstance(obj, dict):
        return {k: _strict(v, f"{where}.{k}" if where else str(k), found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v, f"{where}[{i}]", found) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return _strict(obj.tolist(), where, found)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append(where)
        return None
    return obj


def _write_json(path, obj):
    """Write ``obj`` as strict JSON: non-finite numbers become null and are listed under "non_finite"."""
    found = []
    clean = _strict(obj, "", found)
    clean["non_finite"] = found
    return _write_text(path, json.dumps(clean, indent=2, allow_nan=False, default=_json_default) + "\n")


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


# ------------------------------------------------------------------------------- model
def _conv_blocks(cfg):
    """For the memory estimate of ``--model cnn``: the image shape, each convolution block's (h, w,
    filters) after pooling, and the flattened width (3x3 'same' convolutions, 2x2 'same' pooling)."""
    h, w, c = IMAGE_SHAPES[cfg["dataset"]]
    blocks = []
    for f in cfg["conv"]:
        h, w = -(-h // 2), -(-w // 2)   # 2x2 pooling with 'same' padding: ceil(h / 2)
        blocks.append((h, w, f))
    return (IMAGE_SHAPES[cfg["dataset"]], blocks, h * w * cfg["conv"][-1])


def build_model(cfg: Mapping[str, Any], n_features: int, units: int, out_act: str) -> Sequential:
    """The Sequential network described by ``cfg``: for ``--model cnn`` a Reshape of the flattened
    pixels to images and one block per ``conv`` entry (Conv2D 3x3 'same' with the hidden activation,
    MaxPooling2D 2x2), then Flatten; then Dense (+ BatchNormalization, Dropout) per hidden layer."""
    from chainrule import nn
    reg = nn.l2(cfg["l2"]) if cfg["l2"] > 0 else None
    layers = []
    n_in = n_features
    if cfg.get("model") == "cnn":
        n_in = None   # the Dense layers after Flatten take their width from the shapes Sequential works out
        layers.append(nn.Reshape(IMAGE_SHAPES[cfg["dataset"]], input_shape=(n_features,)))
        for f in cfg["conv"]:
            layers += [nn.Conv2D(f, 3, padding="same", activation=cfg["activation"], kernel_regularizer=reg),
                       nn.MaxPooling2D(2, padding="same")]
        layers.append(nn.Flatten())
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
    """Keep the model's and optimizer's state after every completed epoch whose loss and weights are
    finite (saved on Ctrl-C, and kept when training diverges)."""

    def __init__(self) -> None:
        from chainrule.training import Callback

        outer = self

        class _CB(Callback):
            def on_epoch_end(self, epoch, logs):
                outer.on_epoch_end(self.model, epoch, logs)

        self.callback = _CB()
        self.epoch = None
        self.state = None
        self.opt_state = None

    def on_epoch_end(self, model: Module, epoch: int, logs: dict[str, float]) -> None:
        if not all(math.isfinite(logs.get(k, 0.0)) for k in ("loss", "val_loss")) or not _finite_weights(model):
            return  # a diverged epoch (the training or the validation loss): keep the last finite one
        self.state = model.state_dict()
        opt = model._compiled["optimizer"]
        self.opt_state = opt.state_dict()
        self.epoch = epoch + 1

    def restore(self, model: Module) -> None:
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
    curves = f"{data.name}: training" + (" vs validation set" if "val_loss" in hist else " set")
    attempt("loss.png", lambda p: plot.plot_history(hist, metrics=["loss"], path=p, title=curves))
    for m in metric_names:
        if m in hist:
            attempt(f"{m}.png", lambda p, m=m: plot.plot_history(hist, metrics=[m], path=p, title=curves))
    pre = data.preprocessing
    if data.task == "classification":
        pred = _predict_classes(model.predict(data.X_test), encoding)
        attempt("confusion_matrix.png", lambda p: plot.plot_confusion_matrix(
            np.asarray(data.raw_test[1]).astype(np.int64), pred, labels=data.class_names, path=p,
            title=f"{data.name}, test set"))
    Xraw = np.asarray(data.raw_train[0])
    if Xraw.ndim == 2 and Xraw.shape[1] == 2:
        if data.task == "classification":
            attempt("decision_regions.png", lambda p: plot.plot_decision_regions(
                lambda P: _predict_classes(model.predict(apply_preprocessing(pre, P)), encoding),
                Xraw, np.asarray(data.raw_train[1]).astype(np.int64), path=p, title=f"{data.name}, training set"))
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
            attempt("hidden_units.png", lambda p: plot.plot_hidden_units(
                activations, X=Xraw, path=p, title=f"{data.name}: first hidden layer over the training set"))
    return made


# ------------------------------------------------------------------------------- train
def _memory_bytes():
    """This machine's physical memory in bytes, or None where it cannot be asked (not POSIX)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_network_fits(cfg, n_features, units, batch_size):
    """Refuse a network whose weights (and the optimizer's copies of them) would not fit in memory,
    before allocating any of it."""
    sizes = [n_features, *cfg["layers"], units]
    n_weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    n_values = sum(sizes)
    if cfg.get("model") == "cnn":
        (h, w, c), blocks, n_flat = _conv_blocks(cfg)
        sizes[0] = n_flat
        n_weights = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        for (hb, wb, f) in blocks:  # the convolution's output (4x the pooled one) and its 3x3 columns
            n_weights += 9 * c * f + f
            n_values += 4 * hb * wb * f * 2 + 4 * hb * wb * 9 * c
            c = f
    need = n_weights * 4 * 5  # float32 weights, gradients, scratch and Adam's two moments
    need += batch_size * n_values * 4 * 4  # activations of a batch, forward and backward
    have = _memory_bytes()
    if have is not None and need > have:
        raise RunError(f"--layers {','.join(map(str, cfg['layers']))}: the network has {n_weights:,} weights and "
                       f"needs about {need / 1e9:.1f} GB to train, more than this machine's {have / 1e9:.1f} GB; "
                       f"use smaller layers")


class _StopOnNaN:
    """The CLI's guard against divergence: remembers where the loss first became non-finite and (by
    default) stops training there, without a step on the NaN gradient (TerminateOnNaN's rule)."""

    def __init__(self, stop: bool) -> None:
        from chainrule.training import Callback
        outer = self

        class _CB(Callback):
            def on_batch_nan(self, epoch, batch, value):
                if outer.at is None:
                    outer.at = (epoch + 1, batch + 1, value)
                if outer.stop:
                    self.model.stop_training = True

        self.stop, self.at = stop, None
        self.callback = _CB()


class _RunFolder:
    """The run folder, created when the first epoch ends (so that nothing is left behind by a run that
    fails or is interrupted before it); the history CSV is pointed into it then."""

    def __init__(self, out: str, dataset: str, csv_logger: CSVLogger) -> None:
        from chainrule.training import Callback
        outer = self

        class _CB(Callback):
            def on_epoch_end(self, epoch, logs):
                if outer.path is None:
                    outer.create()

        self.out, self.dataset, self.csv = out, dataset, csv_logger
        self.path = None
        self.callback = _CB()
        _check_out(out)
        self.made_out = not os.path.exists(out)

    def create(self) -> str:
        self.path = _new_run_dir(self.out, self.dataset)
        self.csv.path = os.path.join(self.path, "history.csv")
        return self.path

    def remove(self) -> None:
        """Remove the folder and what this run wrote in it (only that: it was created empty)."""
        if self.path is None:
            return
        for name in os.listdir(self.path):
            os.unlink(os.path.join(self.path, name))
        os.rmdir(self.path)
        self.path = None
        if self.made_out:  # the --out folder too, when this run created it and it is empty again
            try:
                os.rmdir(self.out)
            except OSError:
                pass


def _check_out(out):
    """Fail before training, not after it, when the run folder cannot be created under ``out``."""
    p = os.path.abspath(out)
    while not os.path.exists(p):
        p = os.path.dirname(p)
    if not os.path.isdir(p):
        raise RunError(f"--out: {p!r} is not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise RunError(f"--out: cannot create the run folder in {p!r}: permission denied")


def _finite_weights(model):
    return all(bool(np.isfinite(p.data).all()) for p in model.parameters())


def cmd_train(args: argparse.Namespace) -> int:
    """``chainrule train``: prepare the data set, build and fit the network, write the run folder (model,
    history, metrics, plots); returns the exit status."""
    from chainrule import __version__, training
    from chainrule.tensor import fork_rng

    cfg = resolve_config(args)
    quiet = cfg["quiet"]
    _set_threads(cfg["threads"])
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

    _check_network_fits(cfg, X_train.shape[1], units, cfg["batch_size"])
    with fork_rng(cfg["seed"]):
        model = build_model(cfg, X_train.shape[1], units, out_act)
    from chainrule import optim
    opt = optim.get(cfg["optimizer"], **({} if cfg["lr"] is None else {"lr": cfg["lr"]}))
    model.compile(optimizer=opt, loss=loss, metrics=metric_names)
    resolved = dict(cfg, output_activation=out_act, loss=loss, lr=float(opt.lr))

    history_csv = training.CSVLogger(os.devnull)
    folder = _RunFolder(cfg["out"], data.name, history_csv)
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
    nan = _StopOnNaN(cfg["stop_on_nan"])
    callbacks = [folder.callback, history_csv, snap.callback, nan.callback]
    early = None
    if cfg["early_stopping"]:
        early = training.EarlyStopping(monitor="val_loss", patience=cfg["early_stopping"],
                                       restore_best_weights=True, verbose=0 if quiet else 1)
        callbacks.append(early)
    info = {"chainrule_version": __version__, "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "config": resolved,
            "data": {"dataset": data.name, "task": data.task, "n_classes": data.n_classes,
                     "class_names": data.class_names, "target_encoding": encoding,
                     "n_train": int(len(X_train)), "n_validation": n_val, "n_test": int(len(data.X_test))},
            "preprocessing": data.preprocessing}
    try:
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", training.DivergenceWarning)  # reported below, as one message
            history = model.fit(X_train, y_train, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                validation_data=val, callbacks=callbacks, verbose=_verbosity(quiet),
                                seed=cfg["seed"])
    except KeyboardInterrupt:
        sys.stdout.flush()
        if snap.epoch is None:
            folder.remove()
            _err("interrupted before the first epoch finished; nothing was saved")
            return EXIT_INTERRUPTED
        snap.restore(model)
        run_dir = folder.path
        model.save(os.path.join(run_dir, "model.npz"))
        _write_json(os.path.join(run_dir, "metrics.json"),
                    {"status": "interrupted", "epochs_completed": snap.epoch, **info})
        _write_text(os.path.join(run_dir, "config.toml"), _config_toml(cfg))
        print(f"\nInterrupted: saved the model after epoch {snap.epoch} to {os.path.join(run_dir, 'model.npz')}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        if snap.epoch is None:
            folder.remove()
        raise

    status = "completed"
    if nan.at is not None:  # the run diverged: keep the last model whose loss was finite
        epoch, batch, value = nan.at
        if snap.epoch is None:
            folder.remove()
            raise RunError(f"training diverged: the loss became {value} at epoch {epoch}, batch {batch}, before any "
                           f"epoch ended with finite training and validation losses, so nothing was saved; "
                           f"{_lr_hint(resolved['lr'])}")
        if not (early is not None and early.best_state is not None):  # EarlyStopping restored its best
            snap.restore(model)
        status = "diverged"
    run_dir = folder.path
    model.save(os.path.join(run_dir, "model.npz"))
    with np.errstate(over="ignore", invalid="ignore"):
        results = {"train": model.evaluate(X_train, y_train, verbose=0, return_dict=True),
                   "validation": None if val is None else model.evaluate(*val, verbose=0, return_dict=True),
                   "test": model.evaluate(data.X_test, y_test, verbose=0, return_dict=True)}
    epochs_run = len(history.epoch)
    metrics = {**results, "status": status, "epochs_run": epochs_run,
               "stopped_early": epochs_run < cfg["epochs"],
               "train_time_s": round(time.perf_counter() - t_start, 3), **info}
    if status == "diverged":
        metrics["diverged_at"] = {"epoch": nan.at[0], "batch": nan.at[1]}
        metrics["model_epoch"] = (early.best_epoch + 1 if early is not None and early.best_state is not None
                                  else snap.epoch)
    _write_json(os.path.join(run_dir, "metrics.json"), metrics)
    _write_text(os.path.join(run_dir, "config.toml"), _config_toml(cfg))
    if status == "diverged":  # a failed run: no pictures, the history and the kept model say it all
        raise RunError(f"training diverged: the loss became {nan.at[2]} at epoch {nan.at[0]}, batch {nan.at[1]}; "
                       f"kept the model of epoch {metrics['model_epoch']}, the last with a finite loss, in "
                       f"{os.path.join(run_dir, 'model.npz')}; {_lr_hint(resolved['lr'])}")
    plots = _make_plots(run_dir, history, model, data, encoding, metric_names) if cfg["plots"] else []
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


def _lr_hint(lr):
    return (f"try a smaller learning rate, e.g. --lr {lr / 10:g} (this run used {lr:g}), or scale the inputs "
            f"(--no-stop-on-nan trains on regardless)")


# ---------------------------------------------------------------------- evaluate / predict
#: What evaluate and predict read from a run's metrics.json: (section, key, type(s)).
_RUN_KEYS = (("config", "dataset", str), ("data", "task", str), ("data", "target_encoding", str),
             ("data", "n_classes", (int, type(None))), ("preprocessing", "kind", str),
             ("preprocessing", "n_features", int))


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
    except (OSError, ValueError, RecursionError) as err:
        raise RunError(f"cannot read {mpath}: {str(err)[:300]}") from None
    for key in ("config", "data", "preprocessing"):
        if not isinstance(meta, dict) or not isinstance(meta.get(key), dict):
            raise RunError(f"{mpath} has no {key!r} section; it was not written by `chainrule train`")
    for section, key, types in _RUN_KEYS:
        if key not in meta[section]:
            raise RunError(f"{mpath} is damaged: its {section!r} section has no {key!r} key; train the model again "
                           f"or restore the file")
        value = meta[section][key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise RunError(f"{mpath} is damaged: {section}.{key} is {value!r}")
    pre = meta["preprocessing"]
    if pre["kind"] == "standardize":
        for key in ("mean", "scale"):
            v = pre.get(key)
            if not (isinstance(v, list) and len(v) == pre["n_features"]
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                            for x in v)):
                raise RunError(f"{mpath} is damaged: preprocessing.{key} must be {pre['n_features']} finite numbers")
    elif pre["kind"] == "scale":
        f = pre.get("factor")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f):
            raise RunError(f"{mpath} is damaged: preprocessing.factor is {f!r}")
    model_path = os.path.join(run_dir, "model.npz")
    try:
        model = load_model(model_path)
    except FileNotFoundError:
        raise RunError(f"{run_dir!r} has no model.npz (was training interrupted before the first epoch?)") \
            from None
    except ValueError as err:
        raise RunError(str(err)) from None
    if not _finite_weights(model):
        raise RunError(f"{model_path}: the model's weights hold NaN or infinite values (its training diverged), so it "
                       f"cannot predict; train it again with a smaller --lr")
    if meta.get("status") == "diverged":
        print(f"note: the training of {run_dir} diverged at epoch {meta.get('diverged_at', {}).get('epoch')}; its "
              f"model is the one of epoch {meta.get('model_epoch')}, the last with finite losses", file=sys.stderr)
    return model, meta


def _set_threads(n):
    """--threads N: limit NumPy's BLAS to N threads for this run (validated as a positive integer)."""
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"--threads: must be >= 1, got {n!r}")
    from chainrule.threads import set_num_threads
    set_num_threads(n)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``chainrule evaluate``: score a saved run's model on its data set's test split; returns the exit status."""
    from chainrule.datasets import DATASETS
    _set_threads(getattr(args, "threads", None))
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
        result = model.evaluate(Xp, yp, verbose=0, return_dict=True)
    except (ValueError, TypeError) as err:
        raise RunError(f"cannot evaluate the model of {args.run_dir!r} on {name}: {err}") from None
    names = list(result)
    print(f"{args.run_dir}: model trained on {cfg['dataset']}; evaluated on {what} ({len(Xp)} samples)")
    print(_fmt_table([(args.split if name == cfg["dataset"] else name, result)], names))
    return EXIT_OK


def _read_csv_text(path):
    """The text of a CSV file (or standard input for '-'): UTF-8, any line ending (\\n, \\r\\n, \\r),
    a byte-order mark (Excel's "CSV UTF-8") dropped."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8-sig", newline=None) as f:  # universal newlines
                text = f.read()
    except FileNotFoundError:
        raise RunError(f"no such input file {path!r}") from None
    except IsADirectoryError:
        raise RunError(f"{path!r} is a folder, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RunError(f"cannot read {path!r}: {err}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_float(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_csv_rows(path, quiet=False):
    """The numbers of a CSV file as a (rows, columns) float64 array, for ``predict``.

    Blank lines are skipped; the first row is taken as a header only when none of its fields is a
    number (and a note says so), so a typo in the first data row is an error, not a lost row.  Every
    error names the line (and the column) it is on.
    """
    text = _read_csv_text(path)
    reader = csv.reader(_io.StringIO(text))
    rows = []  # (line number, fields)
    try:
        for row in reader:
            if row and any(c.strip() for c in row):
                rows.append((reader.line_num, row))
    except csv.Error as err:
        limit = csv.field_size_limit()
        what = (f"a field is longer than {limit} characters; is it a CSV file of numbers?"
                if "field limit" in str(err) else str(err))
        raise RunError(f"{path!r}: line {reader.line_num}: {what}") from None
    if not rows:
        raise RunError(f"{path!r} has no rows to predict")
    line, first = rows[0]
    if not any(_is_float(c) for c in first):
        rows = rows[1:]
        if not quiet:
            shown = ",".join(first)
            print(f"note: line {line} of {path} is taken as a header (none of its fields is a number): "
                  f"{shown[:80] + ('...' if len(shown) > 80 else '')}", file=sys.stderr)
        if not rows:
            raise RunError(f"{path!r} has a header but no rows to predict")
    width_line, width = rows[0][0], len(rows[0][1])
    for line, row in rows:
        if len(row) != width:
            raise RunError(f"{path!r}: line {line} has {len(row)} columns, but line {width_line} (the first data "
                           f"row) has {width}")
    try:
        X = np.array([r for _, r in rows], dtype=np.float64)
    except ValueError:
        for line, row in rows:
            for j, c in enumerate(row, 1):
                if not _is_float(c):
                    raise RunError(f"{path!r}: line {line}, column {j}: {c!r} is not a number") from None
        raise  # pragma: no cover - NumPy and float() disagree
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = bad[0]
        raise RunError(f"{path!r}: line {rows[i][0]}, column {j + 1}: {rows[i][1][j].strip()!r} is not a finite "
                       f"number; predict needs every feature")
    return X


def cmd_predict(args: argparse.Namespace) -> int:
    """``chainrule predict``: a saved run's predictions for the rows of a CSV file; returns the exit status."""
    _set_threads(getattr(args, "threads", None))
    model, meta = _open_run(args.run_dir)
    dmeta, pre = meta["data"], meta["preprocessing"]
    X = _read_csv_rows(args.input)
    if X.shape[1] != int(pre["n_features"]):
        raise RunError(f"{args.input!r} has {X.shape[1]} columns but the model of {args.run_dir!r} expects "
                       f"{pre['n_features']} features (the raw inputs of {meta['config']['dataset']})")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(model.predict(apply_preprocessing(pre, X)))
    bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5] + 1
        raise RunError(f"the model of {args.run_dir!r} gives NaN or infinite outputs for {int(bad.sum())} of the "
                       f"{len(out)} rows (data rows {', '.join(map(str, rows))}{', ...' if bad.sum() > 5 else ''}); "
                       f"are they far outside the range it was trained on?")
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
def cmd_datasets(args: argparse.Namespace) -> int:
    """``chainrule datasets``: list the data sets, whether each is present and where; returns the exit status."""
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


def cmd_search(args: argparse.Namespace) -> int:
    """``chainrule search``: the hyperparameter search (:mod:`chainrule.cli.search`); returns the exit status."""
    from .search import cmd_search as run  # chainrule/cli/search.py
    return run(args)


# ---------------------------------------------------------------------------------- main
_COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "datasets": cmd_datasets,
             "search": cmd_search}


def main(argv: Sequence[str] | None = None) -> int:
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
    except MemoryError as err:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        _err(f"out of memory{': ' + str(err) if str(err) else ''}; use smaller --layers or --batch-size", prog)
        return EXIT_ERROR
    except (ValueError, TypeError, OSError, RecursionError) as err:  # from the library: one line, no traceback
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        _err(f"{type(err).__name__}: {err}", prog)
        return EXIT_ERROR
