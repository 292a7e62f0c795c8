"""Data preparation for the ``chainrule`` commands: loading, splitting, preprocessing, target encoding.

The preprocessing is described by a JSON-able dict (stored in a run's ``metrics.json``) so
that ``evaluate`` and ``predict`` apply exactly the transformation the run was trained with.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import _GATES, _GENERATED, _IMAGES, RunError, UsageError

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike

_BREAST_CANCER_CLASSES = ("malignant", "benign")


# -------------------------------------------------------------------------------- data
class Data:
    """The prepared splits of one data set, plus what is needed to redo the preprocessing."""

    def __init__(self, **kw: Any) -> None:
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
    from chainrule.datasets import DATASETS, DatasetFileError, DatasetNotFoundError, train_test_split
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
    except DatasetFileError as err:  # a damaged, foreign or oversized data file: one line, naming it
        raise RunError(str(err)) from None
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


def apply_preprocessing(pre: Mapping[str, Any], X: ArrayLike) -> np.ndarray:
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
    with np.errstate(over="ignore"):
        out = out.astype(np.float32)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5] + 1
        raise RunError(f"{int(bad.sum())} of the {len(out)} samples (rows {', '.join(map(str, rows))}"
                       f"{', ...' if bad.sum() > 5 else ''}) are beyond float32's range (+-3.4e38) after the "
                       f"run's preprocessing; are their values far outside those it was trained on?")
    return out


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


def prepare_data(cfg: Mapping[str, Any]) -> Data:
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
