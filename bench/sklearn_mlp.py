"""chainrule.sklearn.MLPClassifier vs sklearn.neural_network.MLPClassifier on the digits.

Same data (load_digits / 16, 80/20 split with random_state=0), same
hyperparameters, same random_state; prints fit time (best of ``--repeat``
runs, the two libraries interleaved), epochs run and test accuracy, and the
time ratio sklearn / chainrule (> 1 means chainrule is faster).

    python bench/sklearn_mlp.py [--repeat 3]

A benchmark prints figures; it is not a test.
"""
from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

from chainrule.sklearn import MLPClassifier as CrMLP

CONFIGS = [
    ("adam, (100,), relu", dict(hidden_layer_sizes=(100,))),
    ("adam, (64, 64), relu", dict(hidden_layer_sizes=(64, 64))),
    ("sgd nesterov, (100,), tanh", dict(hidden_layer_sizes=(100,), solver="sgd", learning_rate_init=0.05,
                                        activation="tanh")),
    ("lbfgs, (50,), logistic", dict(hidden_layer_sizes=(50,), solver="lbfgs", activation="logistic",
                                    max_iter=300)),
]


def timed_fit(cls, params, X, y):
    t0 = time.perf_counter()
    model = cls(**params).fit(X, y)
    return time.perf_counter() - t0, model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    print(f"digits: {len(X_train)} train / {len(X_test)} test; numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}, python {platform.python_version()}, best of {args.repeat}")
    header = f"{'configuration':32s} {'dtype':8s} {'sklearn s':>9s} {'chainrule s':>11s} {'ratio':>6s} " \
             f"{'epochs sk/cr':>12s} {'acc sklearn':>11s} {'acc chainrule':>13s} {'|diff|':>6s}"
    print(header)
    print("-" * len(header))
    for dtype in (np.float64, np.float32):
        Xtr, Xte = X_train.astype(dtype), X_test.astype(dtype)
        for name, cfg in CONFIGS:
            params = dict(random_state=args.seed, **cfg)
            times = {"sk": [], "cr": []}
            models = {}
            for _ in range(args.repeat):
                for key, cls in (("sk", SkMLP), ("cr", CrMLP)):
                    dt, models[key] = timed_fit(cls, params, Xtr, y_train)
                    times[key].append(dt)
            t_sk, t_cr = min(times["sk"]), min(times["cr"])
            acc_sk, acc_cr = models["sk"].score(Xte, y_test), models["cr"].score(Xte, y_test)
            print(f"{name:32s} {np.dtype(dtype).name:8s} {t_sk:9.3f} {t_cr:11.3f} {t_sk / t_cr:6.2f} "
                  f"{models['sk'].n_iter_:5d}/{models['cr'].n_iter_:<6d} {acc_sk:11.4f} {acc_cr:13.4f} "
                  f"{abs(acc_sk - acc_cr):6.4f}")


if __name__ == "__main__":
    main()
