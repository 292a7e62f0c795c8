"""Fashion-MNIST: the notes' MNIST network, 784-100-10 (sigmoid hidden layer, softmax output), Adam.

Reproduces the notes' "Simple MNIST Neural Network" on Zalando's
Fashion-MNIST (the same 28x28 format, ten kinds of clothing, harder than
digits): images flattened to 784 inputs and scaled to [0, 1], 100 sigmoid
hidden units, a softmax output, cross-entropy, Adam, mini-batches of 100,
30 epochs, the test accuracy measured after every epoch.

The data is not bundled: ``apt-get install dataset-fashion-mnist``, or put the
four IDX files in a folder given by ``--data-dir`` / ``$CHAINRULE_DATA``.
Without them the script says so and exits with status 0.

    python examples/fashion_mnist_mlp.py [--quick] [--out DIR] [--seed N] [--data-dir DIR]

Prints the final train and test accuracy; writes fashion_mnist_history.png
(loss and accuracy per epoch) and fashion_mnist_samples.png (test images with
their predicted class, wrong ones in red).
"""
import argparse
import os
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.datasets import FASHION_MNIST_CLASSES, DatasetNotFoundError, load_fashion_mnist
from chainrule.plot import plot_history, plot_images


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6000 training images, 3 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figures (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--data-dir", default=None, help="folder holding the four IDX files")
    args = ap.parse_args(argv)

    try:
        (X_train, y_train), (X_test, y_test) = load_fashion_mnist(path=args.data_dir)
    except DatasetNotFoundError as err:
        print(f"skipped: Fashion-MNIST is not present on this machine.\n{err}")
        return None
    os.makedirs(args.out, exist_ok=True)
    epochs = args.epochs
    if args.quick:
        X_train, y_train, X_test, y_test, epochs = X_train[:6000], y_train[:6000], X_test[:1000], y_test[:1000], 3
    X_train = X_train.reshape(len(X_train), -1).astype(np.float32) / 255.0
    X_test_img = X_test
    X_test = X_test.reshape(len(X_test), -1).astype(np.float32) / 255.0

    cr.manual_seed(args.seed)
    model = nn.Sequential([nn.Dense(100, activation="sigmoid", input_dim=784),
                           nn.Dense(10, activation="softmax")])
    model.compile(optimizer=optim.Adam(lr=1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=100, validation_data=(X_test, y_test),
                        verbose=2, seed=args.seed)
    seconds = time.perf_counter() - t0
    train = model.evaluate(X_train, y_train, verbose=0, return_dict=True)
    test = model.evaluate(X_test, y_test, verbose=0, return_dict=True)

    curves = os.path.join(args.out, "fashion_mnist_history.png")
    plot_history(history, path=curves, title="Fashion-MNIST: training vs test set")
    pred = model.predict(X_test[:32]).argmax(axis=1)
    samples = os.path.join(args.out, "fashion_mnist_samples.png")
    plot_images(X_test_img[:32], labels=y_test[:32], predictions=pred, class_names=FASHION_MNIST_CLASSES,
                ncols=8, path=samples, title="Fashion-MNIST test set")

    print(f"Fashion-MNIST, 784-100-10 (sigmoid, softmax), Adam, batch size 100, {epochs} epochs "
          f"on {len(X_train)} images in {seconds:.1f} s:")
    print(f"  train accuracy {train['accuracy']:.4f}  test accuracy {test['accuracy']:.4f} "
          f"(best epoch: test accuracy {max(history.history['val_accuracy']):.4f})")
    print("  (the 'val_' curves in the history figure are the test set, measured after every epoch)")
    print(f"figures: {curves}, {samples}")
    return {"train_accuracy": train["accuracy"], "test_accuracy": test["accuracy"]}


if __name__ == "__main__":
    main()
