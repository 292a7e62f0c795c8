"""Sine regression: one hidden layer of 32 sigmoid units fits sin(2 pi x) down to the noise floor.

Reproduces the notes' regression exercise: 100 training points
x ~ U(0, 1), y = sin(2 pi x) + N(0, 0.1^2); a network with 32 sigmoid hidden
units and a linear output, mean squared error, Adam.  No model can beat the
noise: on fresh test data the best possible mean squared error is the noise
variance, 0.1^2 = 0.01 (exactly: the mean of the squared noise draws of the
test set, printed as the noise floor).  The script trains full-batch and
reports the test MSE against that floor.

    python examples/sine_regression.py [--quick] [--out DIR] [--seed N]

Prints train / test MSE and the noise floor; writes sine_regression.png
(data, true function and fit; loss curve).
"""
import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn, optim
from chainrule.datasets import noisy_sine

NOISE = 0.1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="accepted for uniformity; the full run takes ~2 s")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = 3000

    x_train, y_train = noisy_sine(100, noise=NOISE, seed=args.seed)
    x_test, y_test = noisy_sine(2000, noise=NOISE, seed=args.seed + 1)
    floor = float(np.mean((y_test - np.sin(2 * np.pi * x_test)) ** 2))

    cr.manual_seed(args.seed)
    model = nn.Sequential([nn.Dense(32, activation="sigmoid", input_dim=1), nn.Dense(1)])
    model.compile(optimizer=optim.Adam(lr=0.03), loss="mse", metrics=["r2"])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=len(x_train), verbose=0, seed=args.seed)
    train = model.evaluate(x_train, y_train, verbose=0, return_dict=True)
    test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    xs = np.linspace(0, 1, 400).reshape(-1, 1)
    fit = model.predict(xs)
    fit_err = float(np.mean((model.predict(x_test) - np.sin(2 * np.pi * x_test)) ** 2))

    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    ax.plot(x_train[:, 0], y_train[:, 0], "o", ms=4, alpha=0.7, label="training data")
    ax.plot(xs[:, 0], np.sin(2 * np.pi * xs[:, 0]), "k--", lw=1.5, label=r"$\sin(2\pi x)$")
    ax.plot(xs[:, 0], fit[:, 0], "C3", lw=2, label="network (32 sigmoid units)")
    ax.set(xlabel="x", ylabel="y", title=f"test MSE {test['loss']:.4f}, noise floor {floor:.4f}")
    ax.legend()
    ax2.semilogy(np.arange(1, epochs + 1), history.history["loss"], label="training MSE")
    ax2.axhline(NOISE ** 2, color="k", ls=":", label=r"noise variance $0.1^2$")
    ax2.set(xlabel="epoch", ylabel="mean squared error", title="training loss")
    ax2.legend()
    path = os.path.join(args.out, "sine_regression.png")
    fig.savefig(path, dpi=90)

    print(f"sine regression, 100 training points, noise sigma {NOISE}, {epochs} full-batch epochs of Adam:")
    print(f"  train MSE {train['loss']:.4f} (R2 {train['r2']:.3f})")
    print(f"  test MSE {test['loss']:.4f} (R2 {test['r2']:.3f}) vs noise floor {floor:.4f}: "
          f"ratio {test['loss'] / floor:.3f}")
    print(f"  distance to the true function: mean squared error {fit_err:.5f}")
    print(f"figure: {path}")
    return {"test_mse": test["loss"], "noise_floor": floor}


if __name__ == "__main__":
    main()
