"""Logic gates: a 2-4-1 network learns XOR, AND and OR; logistic regression (2-1) cannot learn XOR.

Reproduces the notes' "Testing the XOR gate and other gates": the four points
(0,0), (0,1), (1,0), (1,1), a logistic-regression "network" without a hidden
layer trained with Adam (eta = 0.1) for 1000 epochs, and a network with one
hidden layer of four sigmoid units.  XOR is not linearly separable, so the
2-1 model gets at most 3 of the 4 points right; one hidden layer fixes that.

    python examples/logic_gates.py [--quick] [--out DIR] [--seed N]

Prints the accuracy table and writes logic_gates.png (decision regions).
"""
import argparse
import os

from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn, optim
from chainrule.datasets import logic_gate
from chainrule.plot import plot_decision_regions

GATES = ("xor", "and", "or")


def train(X, y, hidden, epochs, seed):
    """Binary classifier: sigmoid output, binary cross-entropy, Adam(eta=0.1), full batch."""
    cr.manual_seed(seed)
    if hidden:
        model = nn.Sequential([nn.Dense(hidden, activation="sigmoid", input_dim=2),
                               nn.Dense(1, activation="sigmoid")])
    else:
        model = nn.Sequential([nn.Dense(1, activation="sigmoid", input_dim=2)])
    model.compile(optimizer=optim.Adam(lr=0.1), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=4, verbose=0, seed=seed)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    epochs = 400 if args.quick else 1000
    os.makedirs(args.out, exist_ok=True)

    fig = Figure(figsize=(12, 7.5), layout="constrained")
    axes = fig.subplots(2, 3)
    results = {}
    for j, gate in enumerate(GATES):
        X, y = logic_gate(gate)
        for i, (hidden, label) in enumerate(((0, "logistic 2-1"), (4, "network 2-4-1"))):
            model = train(X, y, hidden, epochs, args.seed)
            acc = model.evaluate(X, y, verbose=0, return_dict=True)["accuracy"]
            results[gate, label] = acc
            plot_decision_regions(lambda P, m=model: m.predict(P), X, y, ax=axes[i, j], resolution=150)
            axes[i, j].set_title(f"{gate.upper()}, {label}: accuracy {acc:.2f}")
    path = os.path.join(args.out, "logic_gates.png")
    fig.savefig(path, dpi=90)

    print(f"accuracy on the four points after {epochs} epochs of Adam (eta = 0.1):")
    print(f"{'gate':6}{'logistic 2-1':>14}{'network 2-4-1':>15}")
    for gate in GATES:
        print(f"{gate.upper():6}{results[gate, 'logistic 2-1']:>14.2f}{results[gate, 'network 2-4-1']:>15.2f}")
    print(f"figure: {path}")
    return results


if __name__ == "__main__":
    main()
