"""Fashion-MNIST with a convolutional network: CONV-POOL-CONV-POOL-FC, the notes' CIFAR-10 pattern on 28x28 images.

The network (``chainrule.nn.conv.fashion_mnist_cnn``): Conv2D 32 filters 3x3 ReLU -> MaxPooling 2x2 ->
Conv2D 64 filters 3x3 ReLU -> MaxPooling 2x2 -> Flatten (5 x 5 x 64 = 1600) -> Dense 128 ReLU ->
Dense 10 softmax, 225,034 parameters; images scaled to [0, 1] with a channel axis, (N, 28, 28, 1);
cross-entropy, Adam (learning rate 1e-3), mini-batches of 64, 10 epochs, trained by ``model.fit`` on
chainrule's engine (each convolution, with its ReLU and the pooling after it, is one graph node).

The data is not bundled: ``apt-get install dataset-fashion-mnist``, or put the four IDX files in a folder
given by ``--data-dir`` / ``$CHAINRULE_DATA``.  Without them the script says so and exits with status 0.

    python examples/fashion_mnist_cnn.py [--quick] [--epochs N] [--out DIR] [--seed N] [--data-dir DIR]

Prints the train and test accuracy (a full run, seed 0: test accuracy 0.9140 after 10 epochs, train
0.9586); writes fashion_mnist_cnn_history.png (loss and accuracy per
epoch, test set as validation), fashion_mnist_cnn_confusion.png, fashion_mnist_cnn_samples.png (test
images with their predicted class, wrong ones in red) and fashion_mnist_cnn_filters.png (the 32
learned first-layer 3x3 filters).
"""
import argparse
import os
import time

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.datasets import FASHION_MNIST_CLASSES, DatasetNotFoundError, load_fashion_mnist
from chainrule.nn.conv import fashion_mnist_cnn
from chainrule.plot import plot_confusion_matrix, plot_history, plot_images


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3000 training images, 2 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figures (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
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
        X_train, y_train, X_test, y_test, epochs = X_train[:3000], y_train[:3000], X_test[:1000], y_test[:1000], 2
    X_train = (X_train.astype(np.float32) / 255.0)[..., None]   # (N, 28, 28, 1): channels last
    X_test = (X_test.astype(np.float32) / 255.0)[..., None]

    cr.manual_seed(args.seed)
    model = fashion_mnist_cnn()
    model.summary()
    model.compile(optimizer=optim.Adam(lr=1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=args.batch_size,
                        validation_data=(X_test, y_test), verbose=2, seed=args.seed)
    seconds = time.perf_counter() - t0
    train = model.evaluate(X_train, y_train, batch_size=1000, verbose=0, return_dict=True)
    test = model.evaluate(X_test, y_test, batch_size=1000, verbose=0, return_dict=True)
    pred = model.predict(X_test, batch_size=1000).argmax(axis=1)

    files = {name: os.path.join(args.out, f"fashion_mnist_cnn_{name}.png")
             for name in ("history", "confusion", "samples", "filters")}
    plot_history(history, path=files["history"], title="Fashion-MNIST: training vs test set")
    plot_confusion_matrix(y_test, pred, labels=FASHION_MNIST_CLASSES, path=files["confusion"],
                          title="Fashion-MNIST, test set")
    plot_images(X_test[:32, :, :, 0], labels=y_test[:32], predictions=pred[:32], class_names=FASHION_MNIST_CLASSES,
                ncols=8, path=files["samples"], title="Fashion-MNIST test set")
    filters = model[0].kernel.numpy()[:, :, 0, :].transpose(2, 0, 1)   # (32, 3, 3): one image per filter
    plot_images(filters, ncols=8, path=files["filters"], cmap="RdBu_r")

    print(f"Fashion-MNIST CNN (conv 32 - pool - conv 64 - pool - dense 128 - dense 10), Adam, batch size "
          f"{args.batch_size}, {epochs} epochs on {len(X_train)} images in {seconds:.1f} s "
          f"({seconds / max(epochs, 1):.1f} s per epoch):")
    print(f"  train accuracy {train['accuracy']:.4f}  test accuracy {test['accuracy']:.4f} "
          f"(best epoch: test accuracy {max(history.history['val_accuracy']):.4f})")
    print("  (the 'val_' curves in the history figure are the test set, measured after every epoch)")
    print("figures: " + ", ".join(files.values()))
    return {"train_accuracy": train["accuracy"], "test_accuracy": test["accuracy"], "seconds": seconds}


if __name__ == "__main__":
    main()
