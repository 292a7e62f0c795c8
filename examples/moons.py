"""Two moons: the notes' PyTorch classifier (2-20-40-20-1) and the small 2-4-1 network.

Reproduces the notes' moons example: scikit-learn's two interleaving half
circles, a network with three ReLU hidden layers of 20, 40 and 20 units and a
sigmoid output, binary cross-entropy, Adam with lr = 0.01, mini-batches of 10,
100 epochs.  Beside it the slides' "simpler two-layer NN" -- four sigmoid
hidden units -- whose hidden units are drawn over the input plane: each is a
logistic regression with its own separating line.

    python examples/moons.py [--quick] [--out DIR] [--seed N]

Prints train and test accuracy of both networks; writes
moons_decision_regions.png and moons_hidden_units.png.
"""
import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn, optim
from chainrule.datasets import make_moons, train_test_split
from chainrule.plot import plot_decision_regions, plot_hidden_units


def train(layers, X, y, epochs, seed, lr=0.01):
    cr.manual_seed(seed)
    model = nn.Sequential(layers)
    model.compile(optimizer=optim.Adam(lr=lr), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=10, verbose=0, seed=seed)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figures (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--noise", type=float, default=0.2)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = 20 if args.quick else 100

    X, y = make_moons(args.samples, noise=args.noise, seed=args.seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=args.seed, stratify=y)
    deep = train([nn.Dense(20, activation="relu", input_dim=2), nn.Dense(40, activation="relu"),
                  nn.Dense(20, activation="relu"), nn.Dense(1, activation="sigmoid")],
                 X_train, y_train, epochs, args.seed)
    small = train([nn.Dense(4, activation="sigmoid", input_dim=2), nn.Dense(1, activation="sigmoid")],
                  X_train, y_train, epochs, args.seed, lr=0.03)

    scores = {}
    fig = Figure(figsize=(12, 5), layout="constrained")
    for ax, (name, model) in zip(fig.subplots(1, 2), (("2-20-40-20-1 ReLU", deep), ("2-4-1 sigmoid", small))):
        scores[name] = (model.evaluate(X_train, y_train, verbose=0, return_dict=True)["accuracy"],
                        model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"])
        plot_decision_regions(lambda P, m=model: m.predict(P), X_test, y_test, ax=ax)
        ax.set_title(f"{name}: test accuracy {scores[name][1]:.3f}")
    regions = os.path.join(args.out, "moons_decision_regions.png")
    fig.savefig(regions, dpi=90)

    def hidden(P):
        with cr.no_grad():
            return small.layers[0](np.asarray(P, dtype=np.float32)).numpy()

    units = os.path.join(args.out, "moons_hidden_units.png")
    plot_hidden_units(hidden, X=X_train, path=units, title="moons: the 2-4-1 network's hidden units, training set")

    print(f"two moons, {args.samples} points, noise {args.noise}, {epochs} epochs (Adam, batch size 10):")
    for name, (tr, te) in scores.items():
        print(f"  {name:18} train accuracy {tr:.3f}  test accuracy {te:.3f}")
    print(f"figures: {regions}, {units}")
    return {name: te for name, (tr, te) in scores.items()}


if __name__ == "__main__":
    main()
