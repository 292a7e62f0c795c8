"""Digits: the notes' grid search over the learning rate eta and the L2 penalty lambda.

Reproduces the notes' NumPy digits example: scikit-learn's 8x8 digits (raw
pixel values 0-16, flattened to 64 inputs), an 80/20 train/test split, one
sigmoid hidden layer of 50 units and a softmax output trained by mini-batch
gradient descent on the cross-entropy with an L2 term (the gradient summed over
each batch plus lambda W, as the notes' ``NeuralNetwork`` does), 100 epochs of
batches of about 100, for every eta and lambda in ``logspace(-5, 1, 7)``; then
the notes' heatmaps of train and test accuracy.  The network is the notes'
:class:`chainrule.ffnn.FFNN` with its ``Constant(eta)`` scheduler, and the 49
trainings are one :func:`chainrule.search.grid_search`, on all cores with
``--jobs -1`` or on a Dask cluster with ``--scheduler tcp://host:8786``.

    python examples/digits_grid_search.py [--quick] [--out DIR] [--seed N] [--jobs N]
        [--scheduler ADDRESS] [--journal FILE.jsonl [--resume]]

With ``--journal`` every finished training is kept in that file as it finishes;
after an interruption (Ctrl-C, a lost cluster) ``--resume`` runs only the rest.

Prints the test-accuracy grid and the best cell; writes digits_grid_search_test.png,
digits_grid_search_train.png (accuracy heatmaps) and digits_grid_search.csv (every candidate).
"""
import argparse
import os

import numpy as np
from chainrule.datasets import load_digits, train_test_split
from chainrule.ffnn import FFNN, Constant, CostCrossEntropy, sigmoid, softmax
from chainrule.search import grid_search


def build(params):
    """The notes' digits network for one (eta, lambda): 64-50-10, sigmoid hidden units, softmax output."""
    net = FFNN((64, 50, 10), hidden_func=sigmoid, output_func=softmax, cost_func=CostCrossEntropy)
    return net, Constant(eta=params["eta"]), {"lam": params["lmbd"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 3 x 3 grid and 20 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figures (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (-1: all cores)")
    ap.add_argument("--scheduler", help="the address of a Dask scheduler to run the trainings on")
    ap.add_argument("--journal", help="keep every finished training in this JSON-lines file")
    ap.add_argument("--resume", action="store_true", help="continue the search in --journal")
    args = ap.parse_args(argv)
    if args.resume and not args.journal:
        ap.error("--resume continues the search kept in --journal FILE")
    os.makedirs(args.out, exist_ok=True)

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=args.seed)
    if args.quick:
        etas, lmbds, epochs = np.logspace(-3, -1, 3), np.logspace(-3, -1, 3), 20
    else:
        etas, lmbds, epochs = np.logspace(-5, 1, 7), np.logspace(-5, 1, 7), 100
    batches = len(X_train) // 100   # the notes' iterations per epoch: n_inputs // batch_size

    # every candidate is scored on the test part, as the notes' heatmaps are
    result = grid_search(build, {"eta": etas, "lmbd": lmbds}, X_train, y_train, validation=(X_test, y_test),
                         fit_kwargs={"epochs": epochs, "batches": batches}, seed=args.seed, n_jobs=args.jobs,
                         scheduler=args.scheduler, journal=args.journal, resume=args.resume)

    labels = {"eta": r"learning rate $\eta$", "lmbd": r"L2 penalty $\lambda$"}
    paths = []
    for part, name in (("test", "test"), ("train", "train")):
        paths.append(os.path.join(args.out, f"digits_grid_search_{name}.png"))
        result.plot(which=part, labels=labels, path=paths[-1],
                    title=f"digits, {name} accuracy (50 sigmoid hidden units, {epochs} epochs)")
    paths.append(result.to_csv(os.path.join(args.out, "digits_grid_search.csv")))

    test_acc, _, _, _ = result.grid(("eta", "lmbd"), "test")
    train_acc, _, _, _ = result.grid(("eta", "lmbd"), "train")
    print(f"test accuracy, rows eta, columns lambda ({epochs} epochs, {batches} batches, 50 hidden units):")
    print("eta \\ lambda " + "".join(f"{l:>9.0e}" for l in lmbds))
    for eta, row in zip(etas, test_acc):
        print(f"{eta:>12.0e} " + "".join("  diverged" if not np.isfinite(a) else f"{a:>9.3f}" for a in row))
    i, j = np.unravel_index(np.nanargmax(test_acc), test_acc.shape)
    print(f"best: eta = {etas[i]:g}, lambda = {lmbds[j]:g}: test accuracy {test_acc[i, j]:.3f} "
          f"(train {train_acc[i, j]:.3f})")
    if result.n_diverged:
        print(f"{result.n_diverged} of {len(etas) * len(lmbds)} trainings diverged (the network's output "
              f"overflowed): blank cells")
    print(f"figures: {', '.join(paths)}")
    return {"best_test_accuracy": float(test_acc[i, j]), "eta": float(etas[i]), "lambda": float(lmbds[j])}


if __name__ == "__main__":
    main()
