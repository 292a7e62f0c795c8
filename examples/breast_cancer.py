"""Breast cancer: the notes' Keras network, a grid over hidden-layer width and learning rate.

Reproduces "The Breast Cancer Data, now with Keras": the Wisconsin data from
scikit-learn reduced to the notes' four features (mean texture, mean
perimeter, mean compactness, mean concave points -- columns 1, 2, 5, 8), a
90/10 train/test split, two ReLU hidden layers with an L2 penalty of 0.01,
a two-unit softmax output with categorical cross-entropy on one-hot targets,
plain SGD, 100 epochs of batches of 100, for every width in (1, 10, 100, 1000)
and learning rate in (0.001, 0.01, 0.1).  Unlike the notes the features are
standardized with the training set's statistics (SGD on the raw perimeter
values, which reach 190, diverges).  As a reference the script also trains
on all 30 features.

    python examples/breast_cancer.py [--quick] [--out DIR] [--seed N]

Prints the test-accuracy grid and writes breast_cancer_grid.png.
"""
import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.datasets import load_breast_cancer, one_hot, standardize, train_test_split
from chainrule.plot import plot_grid_search

FEATURES = [1, 2, 5, 8]


def network(n_inputs, width, lam):
    return nn.Sequential([nn.Dense(width, activation="relu", kernel_regularizer=nn.l2(lam), input_dim=n_inputs),
                          nn.Dense(width, activation="relu", kernel_regularizer=nn.l2(lam)),
                          nn.Dense(2, activation="softmax")])


def fit_and_score(X_train, Y_train, X_test, Y_test, width, eta, epochs, seed, lam=0.01):
    cr.manual_seed(seed)
    model = network(X_train.shape[1], width, lam)
    model.compile(optimizer=optim.SGD(lr=eta), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, Y_train, epochs=epochs, batch_size=100, verbose=0, seed=seed)
    train = model.evaluate(X_train, Y_train, verbose=0, return_dict=True)
    test = model.evaluate(X_test, Y_test, verbose=0, return_dict=True)
    return train["accuracy"], test["accuracy"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 2 x 2 grid and 30 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X_all, y = load_breast_cancer()
    Xa_train, Xa_test, y_train, y_test = train_test_split(X_all, y, test_size=0.1, seed=args.seed, stratify=y)
    Y_train, Y_test = one_hot(y_train, 2), one_hot(y_test, 2)
    X_train, X_test = standardize(Xa_train[:, FEATURES], Xa_test[:, FEATURES])
    if args.quick:
        widths, etas, epochs = (10, 100), (0.01, 0.1), 30
    else:
        widths, etas, epochs = (1, 10, 100, 1000), (0.001, 0.01, 0.1), 100

    train_acc = np.zeros((len(widths), len(etas)))
    test_acc = np.zeros((len(widths), len(etas)))
    for i, width in enumerate(widths):
        for j, eta in enumerate(etas):
            train_acc[i, j], test_acc[i, j] = fit_and_score(X_train, Y_train, X_test, Y_test, width, eta, epochs,
                                                            args.seed)
    path = os.path.join(args.out, "breast_cancer_grid.png")
    plot_grid_search(test_acc, widths, etas, row_label="hidden neurons per layer", col_label="learning rate",
                     title=f"breast cancer, 4 features: test accuracy ({epochs} epochs of SGD)", fmt=".3f",
                     path=path)
    Xf_train, Xf_test = standardize(Xa_train, Xa_test)
    full_train, full_test = fit_and_score(Xf_train, Y_train, Xf_test, Y_test, 10 if args.quick else 100, 0.1,
                                          epochs, args.seed)

    print(f"test accuracy on the notes' 4 features ({len(y_test)} test samples), rows width, columns eta:")
    print("width \\ eta " + "".join(f"{e:>8g}" for e in etas))
    for w, row in zip(widths, test_acc):
        print(f"{w:>11d} " + "".join(f"{a:>8.3f}" for a in row))
    i, j = np.unravel_index(np.argmax(test_acc), test_acc.shape)
    print(f"best on 4 features: width {widths[i]}, eta {etas[j]:g}: test accuracy {test_acc[i, j]:.3f} "
          f"(train {train_acc[i, j]:.3f})")
    print(f"all 30 features, width {10 if args.quick else 100}, eta 0.1: test accuracy {full_test:.3f} "
          f"(train {full_train:.3f})")
    print(f"figure: {path}")
    return {"best_test_accuracy": float(test_acc[i, j]), "all_features_test_accuracy": float(full_test)}


if __name__ == "__main__":
    main()
