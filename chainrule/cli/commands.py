"""The ``chainrule`` commands: train, evaluate, predict, datasets, and :func:`main`, which dispatches them."""
from __future__ import annotations

import csv
import datetime as _dt
import io as _io
import json
import os
import sys
import time

import numpy as np

from .config import (_GATES, _GENERATED, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, RunError,
                     UsageError, _config_toml, _version_text, build_parser, resolve_config)
from .data import _choose_head, _encode_targets, _load_raw, _split_validation, apply_preprocessing, prepare_data

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
    results = {"train": model.evaluate(X_train, y_train, verbose=0, return_dict=True),
               "validation": None if val is None else model.evaluate(*val, verbose=0, return_dict=True),
               "test": model.evaluate(data.X_test, y_test, verbose=0, return_dict=True)}
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
        result = model.evaluate(Xp, yp, verbose=0, return_dict=True)
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
