"""For ``examples/notes_programs.py --oracle`` only: torchvision-like datasets for the real PyTorch
(torchvision is not installed here), read with chainrule's file readers, returning torch tensors."""
import numpy as np
import torch

from chainrule.datasets import files


class transforms:  # noqa: N801
    class Compose(list):
        def __init__(self, ts):
            super().__init__(ts)

    class ToTensor:
        pass

    class Normalize:
        def __init__(self, mean, std):
            self.mean, self.std = float(mean[0]), float(std[0])


class _Images(torch.utils.data.TensorDataset):
    loader = None

    def __init__(self, root, train=True, download=False, transform=None):
        (x, y), (xt, yt) = self.loader()
        x, y = (x, y) if train else (xt, yt)
        x = x.astype(np.float32)[:, None] / 255.0
        for t in transform or []:
            if isinstance(t, transforms.Normalize):
                x = (x - t.mean) / t.std
        super().__init__(torch.tensor(x), torch.tensor(y, dtype=torch.int64))


class datasets:  # noqa: N801
    class MNIST(_Images):
        loader = staticmethod(files.load_mnist)

    class FashionMNIST(_Images):
        loader = staticmethod(files.load_fashion_mnist)
