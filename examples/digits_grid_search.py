"""Digits: the notes' grid search over the learning rate eta and the L2 penalty lambda.

Reproduces the notes' NumPy digits example: scikit-learn's 8x8 digits (raw
pixel values 0-16, flattened to 64 inputs), an 80/20 train/test split, the
notes' ``NeuralNetwork`` (one sigmoid hidden layer of 50 units, softmax
output, mini-batch gradient descent on the cross-entropy with an L2 term,
100 epochs of batches of 100), trained for every eta and lambda in
``logspace(-5, 1, 7)``.  The class is :class:`chainrule.ffnn.NeuralNetwork`,
which keeps the notes' semantics.

    python examples/digits_grid_search.py [--quick] [--out DIR] [--seed N]

Prints the test-accuracy grid and the best cell; writes
digits_grid_search_test.png and digits_grid_search_train.png (accuracy heatmaps).
"""
import argparse
import os

import numpy as np
from chainrule.datasets import load_digits, train_test_split
from chainrule.ffnn import NeuralNetwork
from chainrule.plot import plot_grid_search


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 3 x 3 grid and 20 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=args.seed)
    if args.quick:
        etas, lmbds, epochs = np.logspace(-3, -1, 3), np.logspace(-3, -1, 3), 20
    else:
        etas, lmbds, epochs = np.logspace(-5, 1, 7), np.logspace(-5, 1, 7), 100

    train_acc = np.full((len(etas), len(lmbds)), np.nan)
    test_acc = np.full((len(etas), len(lmbds)), np.nan)
    for i, eta in enumerate(etas):
        for j, lmbd in enumerate(lmbds):
            dnn = NeuralNetwork(X_train, y_train, n_hidden_neurons=50, n_categories=10, epochs=epochs,
                                batch_size=100, eta=eta, lmbd=lmbd, seed=args.seed)
            dnn.train()
            train_acc[i, j] = np.mean(dnn.predict(X_train) == y_train)
            test_acc[i, j] = np.mean(dnn.predict(X_test) == y_test)

    paths = []
    for scores, part in ((test_acc, "test"), (train_acc, "train")):
        paths.append(os.path.join(args.out, f"digits_grid_search_{part}.png"))
        plot_grid_search(scores, etas, lmbds, row_label=r"learning rate $\eta$", col_label=r"L2 penalty $\lambda$",
                         title=f"digits, {part} accuracy (50 sigmoid hidden units, {epochs} epochs)", fmt=".2f",
                         path=paths[-1])

    print(f"test accuracy, rows eta, columns lambda ({epochs} epochs, batch size 100, 50 hidden units):")
    print("eta \\ lambda " + "".join(f"{l:>9.0e}" for l in lmbds))
    for eta, row in zip(etas, test_acc):
        print(f"{eta:>12.0e} " + "".join(f"{a:>9.3f}" for a in row))
    i, j = np.unravel_index(np.nanargmax(test_acc), test_acc.shape)
    print(f"best: eta = {etas[i]:g}, lambda = {lmbds[j]:g}: test accuracy {test_acc[i, j]:.3f} "
          f"(train {train_acc[i, j]:.3f})")
    print(f"figures: {', '.join(paths)}")
    return {"best_test_accuracy": float(test_acc[i, j]), "eta": float(etas[i]), "lambda": float(lmbds[j])}


if __name__ == "__main__":
    main()
