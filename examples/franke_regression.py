"""Franke regression: a 2-50-50-1 tanh network fits Franke's function from 800 noisy samples.

The course's standard two-dimensional regression test: Franke's function on
the unit square, sampled at 1000 uniform random points with Gaussian noise
(sigma = 0.05), split 80/20.  Two tanh hidden layers of 50 units and a linear
output, mean squared error, Adam (lr = 0.003), batches of 32.  As for the sine,
the best reachable test MSE is the noise variance (printed as the noise floor).

    python examples/franke_regression.py [--quick] [--out DIR] [--seed N]

Prints train / test MSE and R2; writes franke_regression.png (contours of the
true function, the network and their difference).
"""
import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn, optim
from chainrule.datasets import franke, franke_function, train_test_split

NOISE = 0.05


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="150 epochs instead of 1000 (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = 150 if args.quick else 1000

    X, y = franke(1000, noise=NOISE, seed=args.seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y.reshape(-1, 1), test_size=0.2, seed=args.seed)
    floor = float(np.mean((y_test[:, 0] - franke_function(X_test[:, 0], X_test[:, 1])) ** 2))

    cr.manual_seed(args.seed)
    model = nn.Sequential([nn.Dense(50, activation="tanh", input_dim=2), nn.Dense(50, activation="tanh"),
                           nn.Dense(1)])
    model.compile(optimizer=optim.Adam(lr=0.003), loss="mse", metrics=["r2"])
    model.fit(X_train, y_train, epochs=epochs, batch_size=32, verbose=0, seed=args.seed)
    train = model.evaluate(X_train, y_train, verbose=0, return_dict=True)
    test = model.evaluate(X_test, y_test, verbose=0, return_dict=True)

    g = np.linspace(0, 1, 101)
    gx, gy = np.meshgrid(g, g)
    true = franke_function(gx, gy)
    pred = model.predict(np.column_stack([gx.ravel(), gy.ravel()]))[:, 0].reshape(gx.shape)
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    levels = np.linspace(min(true.min(), pred.min()), max(true.max(), pred.max()), 21)
    for ax, Z, title in ((axes[0], true, "Franke's function"), (axes[1], pred, "network 2-50-50-1 (tanh)")):
        cs = ax.contourf(gx, gy, Z, levels=levels, cmap="viridis")
        ax.set(title=title, xlabel="x", ylabel="y", aspect="equal")
    axes[0].plot(X_train[:, 0], X_train[:, 1], "w.", ms=2, alpha=0.6)
    fig.colorbar(cs, ax=axes[:2], shrink=0.9)
    err = axes[2].contourf(gx, gy, pred - true, levels=21, cmap="RdBu_r")
    axes[2].set(title=f"network - true (test MSE {test['loss']:.4f})", xlabel="x", ylabel="y", aspect="equal")
    fig.colorbar(err, ax=axes[2], shrink=0.9)
    path = os.path.join(args.out, "franke_regression.png")
    fig.savefig(path, dpi=80)

    print(f"Franke regression, 800 training points, noise sigma {NOISE}, {epochs} epochs of Adam:")
    print(f"  train MSE {train['loss']:.5f} (R2 {train['r2']:.3f})")
    print(f"  test MSE {test['loss']:.5f} (R2 {test['r2']:.3f}) vs noise floor {floor:.5f}: "
          f"ratio {test['loss'] / floor:.3f}")
    print(f"  distance to the true function on a 101 x 101 grid: MSE {float(np.mean((pred - true) ** 2)):.5f}")
    print(f"figure: {path}")
    return {"test_mse": test["loss"], "test_r2": test["r2"], "noise_floor": floor}


if __name__ == "__main__":
    main()
