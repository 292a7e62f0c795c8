"""One BLAS thread or several?  Times one epoch of the notes' Fashion-MNIST network (784-100-10,
sigmoid, softmax, Adam, batches of 100) under ``chainrule.num_threads(n)`` for each n, interleaved
round by round in one process, and prints the median and range of seconds per epoch.

    python bench/threads.py                 # n = 1 and 2, 3 rounds
    python bench/threads.py --threads 1 2 4 --rounds 5
"""
import argparse
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.datasets import DatasetNotFoundError, load_fashion_mnist


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--samples", type=int, default=60000, help="training images per epoch")
    args = p.parse_args()
    try:
        (X, y), _ = load_fashion_mnist()
        X = X.reshape(len(X), -1)[: args.samples].astype(np.float32) / 255.0
        y = y[: args.samples]
        what = f"Fashion-MNIST, {len(X)} images"
    except DatasetNotFoundError:
        rng = np.random.default_rng(0)
        X = rng.random((args.samples, 784), dtype=np.float32)
        y = rng.integers(0, 10, args.samples)
        what = f"synthetic data (Fashion-MNIST not found), {len(X)} samples"
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-7)
    times = {n: [] for n in args.threads}
    for _ in range(args.rounds):
        for n in args.threads:
            cr.manual_seed(0)
            model = nn.Sequential([nn.Dense(100, activation="sigmoid", input_dim=784),
                                   nn.Dense(10, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            with cr.num_threads(n):
                t0 = time.perf_counter()
                model.fit(X, y, epochs=1, batch_size=100, verbose=0, seed=0)
                times[n].append(time.perf_counter() - t0)
    print(f"one epoch of 784-100-10 on {what}, batch 100, {args.rounds} interleaved rounds:")
    base = statistics.median(times[args.threads[0]])
    for n, ts in times.items():
        med = statistics.median(ts)
        print(f"  {n} thread{'s' if n > 1 else ' '}: median {med:.3f} s/epoch (range {min(ts):.3f} to {max(ts):.3f}),"
              f" {med / base:.2f}x the {args.threads[0]}-thread time")


if __name__ == "__main__":
    main()
