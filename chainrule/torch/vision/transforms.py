"""torchvision's ``transforms``: ``Compose``, ``ToTensor``, ``Normalize``, ``Lambda``.

``ToTensor`` turns an image, (H, W) or (H, W, C) of uint8 (a NumPy array or a PIL image), into a
float32 Tensor (C, H, W) with values x / 255 in [0, 1]; ``Normalize(mean, std)`` maps each channel
c to (x_c - mean_c) / std_c.  Each transform also works on a whole batch at once
(:meth:`batch`), which the datasets of :mod:`chainrule.torch.vision.datasets` use so that a
DataLoader batch costs one NumPy pass instead of a Python loop over its images.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._unsupported import missing
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, TensorLike

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Compose:
    """Apply the transforms in order."""

    def __init__(self, transforms: Iterable[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def batch(self, images: np.ndarray) -> np.ndarray | None:
        """The transforms applied to a stack of images (batch axis first), or None if one cannot do that."""
        for t in self.transforms:
            fn = getattr(t, "batch", None)
            if fn is None:
                return None
            images = fn(images)
            if images is None:
                return None
        return images

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class ToTensor:
    """uint8 (H, W) or (H, W, C) -> float32 (C, H, W) / 255 (float images are only moved to (C, H, W))."""

    def __call__(self, pic: ArrayLike) -> Tensor:
        a = _array(pic)
        return Tensor(self._convert(a[None] if a.ndim in (2, 3) else a)[0])

    def batch(self, images: ArrayLike) -> np.ndarray:
        """Convert a stack of images at once, as the per-image call does (batch axis first)."""
        return self._convert(_array(images))

    @staticmethod
    def _convert(a):
        if a.ndim == 3:
            a = a[..., None]                       # (N, H, W) -> (N, H, W, 1)
        if a.ndim != 4:
            raise ValueError(f"ToTensor: expected images (H, W) or (H, W, C), got shape {a.shape[1:]}")
        out = np.ascontiguousarray(a.transpose(0, 3, 1, 2), dtype=np.float32)
        if a.dtype == np.uint8:
            out /= np.float32(255)
        return out

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """x_c -> (x_c - mean_c) / std_c per channel of a (C, H, W) tensor."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must not contain zeros, got {std!r}")

    def _apply(self, a, channel_axis):
        c = a.shape[channel_axis]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"Normalize: {len(self.mean)} means for {c} channels")
        shape = [1] * a.ndim
        shape[channel_axis] = -1
        return ((a - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(np.float32)

    def __call__(self, tensor: TensorLike) -> Tensor:
        a = _array(tensor)
        if a.ndim != 3:
            raise ValueError(f"Normalize: expected a (C, H, W) tensor (after ToTensor), got shape {a.shape}")
        return Tensor(self._apply(a, 0))

    def batch(self, images: ArrayLike) -> np.ndarray:
        """Normalize a stack of (C, H, W) images at once, channel by channel (batch axis first)."""
        return self._apply(_array(images), 1)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Lambda:
    """A function as a transform."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


__getattr__ = missing(__name__, "torchvision.transforms", {
    n: "chainrule.torch.vision has Compose, ToTensor, Normalize and Lambda" for n in
    ("Resize", "RandomCrop", "CenterCrop", "RandomHorizontalFlip", "RandomRotation", "ColorJitter", "Grayscale",
     "RandomResizedCrop", "ToPILImage", "PILToTensor", "ConvertImageDtype")})
