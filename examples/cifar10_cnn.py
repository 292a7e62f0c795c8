"""CIFAR-10: the notes' convolutional network for 32x32 colour images, trained on chainrule's engine.

The notes' Keras program, with its imports changed to chainrule: a convolutional base of
Conv2D 32 3x3 ReLU -> MaxPooling 2x2 -> Conv2D 64 3x3 ReLU -> MaxPooling 2x2 -> Conv2D 64 3x3 ReLU
(output 4 x 4 x 64), then Flatten (1024) -> Dense 64 ReLU -> Dense 10 (logits), 122,570 parameters;
pixels divided by 255; Adam, ``SparseCategoricalCrossentropy(from_logits=True)``, 10 epochs, the
test set as validation data.

The data is not bundled and not downloaded: get the *binary version* of CIFAR-10,
cifar-10-binary.tar.gz, from https://www.cs.toronto.edu/~kriz/cifar.html, extract it (it unpacks to
cifar-10-batches-bin/) and pass that folder with ``--data-dir`` or put it under ``$CHAINRULE_DATA``
or ``~/.cache/chainrule/cifar10``.  (The pickled "python version" is refused: unpickling a
download can run code.)  Without the files the script says so and exits with status 0.

    python examples/cifar10_cnn.py [--quick] [--epochs N] [--out DIR] [--seed N] [--data-dir DIR]

Prints the model summary and the train and test accuracy; writes cifar10_cnn_history.png,
cifar10_cnn_samples.png (test images with their predicted class) and cifar10_cnn_confusion.png.
"""
import argparse
import os
import time

import numpy as np

import chainrule as cr
from chainrule import losses, nn, optim
from chainrule.datasets import CIFAR10_CLASSES, DatasetNotFoundError, load_cifar10
from chainrule.plot import plot_confusion_matrix, plot_history, plot_images


def notes_cifar10_cnn():
    """The notes' CIFAR-10 network (logits out)."""
    return nn.Sequential([nn.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)), nn.MaxPooling2D((2, 2)),
                          nn.Conv2D(64, (3, 3), activation="relu"), nn.MaxPooling2D((2, 2)),
                          nn.Conv2D(64, (3, 3), activation="relu"), nn.Flatten(), nn.Dense(64, activation="relu"),
                          nn.Dense(10)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5000 training images, 1 epoch (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figures (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32, help="Keras' default, as in the notes")
    ap.add_argument("--data-dir", default=None, help="the cifar-10-batches-bin folder")
    args = ap.parse_args(argv)

    try:
        (X_train, y_train), (X_test, y_test) = load_cifar10(path=args.data_dir)
    except DatasetNotFoundError as err:
        print(f"skipped: CIFAR-10 is not present on this machine.\n{err}")
        return None
    os.makedirs(args.out, exist_ok=True)
    epochs = args.epochs
    if args.quick:
        X_train, y_train, X_test, y_test, epochs = X_train[:5000], y_train[:5000], X_test[:1000], y_test[:1000], 1
    X_train, X_test = X_train.astype(np.float32) / 255.0, X_test.astype(np.float32) / 255.0

    cr.manual_seed(args.seed)
    model = notes_cifar10_cnn()
    model.summary()
    model.compile(optimizer=optim.Adam(), loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=args.batch_size,
                        validation_data=(X_test, y_test), verbose=2, seed=args.seed)
    seconds = time.perf_counter() - t0
    train = model.evaluate(X_train, y_train, batch_size=1000, verbose=0, return_dict=True)
    test = model.evaluate(X_test, y_test, batch_size=1000, verbose=0, return_dict=True)
    pred = model.predict(X_test, batch_size=1000).argmax(axis=1)

    files = {name: os.path.join(args.out, f"cifar10_cnn_{name}.png") for name in ("history", "samples", "confusion")}
    plot_history(history, path=files["history"], title="CIFAR-10: training vs test set")
    plot_images(X_test[:25], labels=y_test[:25], predictions=pred[:25], class_names=CIFAR10_CLASSES, ncols=5,
                path=files["samples"], title="CIFAR-10 test set")
    plot_confusion_matrix(y_test, pred, labels=CIFAR10_CLASSES, path=files["confusion"], title="CIFAR-10, test set")
    print(f"CIFAR-10, the notes' CNN, Adam, batch size {args.batch_size}, {epochs} epochs on {len(X_train)} images "
          f"in {seconds:.1f} s:")
    print(f"  train accuracy {train['accuracy']:.4f}  test accuracy {test['accuracy']:.4f}")
    print("figures: " + ", ".join(files.values()))
    return {"train_accuracy": train["accuracy"], "test_accuracy": test["accuracy"]}


if __name__ == "__main__":
    main()
