"""``keras.datasets`` on chainrule: ``mnist``, ``fashion_mnist`` and ``cifar10``, each with ``load_data()``.

They read the files :mod:`chainrule.datasets` finds (its search path: ``$CHAINRULE_DATA``, the
cache folder, ``/usr/share/datasets``; nothing is downloaded) and return Keras' arrays:
``(x_train, y_train), (x_test, y_test)``, uint8 images (60000, 28, 28) and uint8 labels (60000,)
for MNIST and Fashion-MNIST, uint8 images (50000, 32, 32, 3) and uint8 labels (50000, 1) for
CIFAR-10.  When the files are absent the error lists every folder looked in and how to get them.
"""
from chainrule._unsupported import missing
from chainrule.keras.datasets import cifar10, fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist", "cifar10"]

__getattr__ = missing(__name__, "keras.datasets", {n: "chainrule reads mnist, fashion_mnist and cifar10" for n in
                                                  ("cifar100", "imdb", "reuters", "boston_housing",
                                                   "california_housing")})
