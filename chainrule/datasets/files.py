"""File-based image data sets: MNIST, Fashion-MNIST (IDX) and CIFAR-10 (binary).

Nothing here is bundled. Each loader looks for the standard file names in, in
order:

1. the ``path`` argument (the folder itself, then a subfolder named after the
   data set),
2. ``$CHAINRULE_DATA`` (likewise the folder itself, then the subfolder),
3. the user cache, ``$XDG_CACHE_HOME/chainrule/<name>`` (default
   ``~/.cache/chainrule/<name>``, e.g. ``fashion-mnist``, ``mnist``, ``cifar10``),
4. the Debian package location ``/usr/share/datasets/<name>``
   (``apt-get install dataset-fashion-mnist`` provides Fashion-MNIST).

If none holds a complete set, :class:`DatasetNotFoundError` lists every folder
it looked in and how to get the files. Only MNIST can be downloaded
(``load_mnist(download=True)``), with SHA-256 verification.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from . import idx as _idx
from .idx import DatasetFileError, _atomic_write_bytes, read_idx

if TYPE_CHECKING:
    from chainrule._typing import Optional, PathLike, Union

__all__ = [
    "DatasetNotFoundError",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "read_cifar10_batch",
    "download_mnist",
    "locate",
    "search_dirs",
    "cache_dir",
    "MNIST_SHA256",
    "MNIST_MIRRORS",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

#: Root of the Debian ``dataset-*`` packages.
DEBIAN_DATA_DIR = Path("/usr/share/datasets")

#: Mirrors of the original MNIST files, tried in order by :func:`download_mnist`.
MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

#: SHA-256 of the four official gzip-compressed MNIST files.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

_IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_CIFAR_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
_CIFAR_RECORD = 1 + 32 * 32 * 3


class DatasetNotFoundError(FileNotFoundError):
    """A file-based data set is not present in any of the searched folders."""


@dataclass(frozen=True)
class _Spec:
    name: str                 # registry name (also searched as a cache subfolder)
    title: str                # human-readable name
    subdirs: tuple            # subfolder names tried under each base folder
    files: tuple              # required file names (IDX: stems, .gz optional)
    gz_ok: bool               # whether "<file>.gz" also counts
    how_to_get: tuple         # lines for the not-found message


_SPECS = {
    "fashion_mnist": _Spec(
        "fashion_mnist", "Fashion-MNIST", ("fashion-mnist", "fashion_mnist"), _IDX_STEMS, True,
        ("install the Debian package: apt-get install dataset-fashion-mnist "
         "(it puts the files in /usr/share/datasets/fashion-mnist)",),
    ),
    "mnist": _Spec(
        "mnist", "MNIST", ("mnist",), _IDX_STEMS, True,
        ("call load_mnist(download=True) to fetch the official files into the cache "
         "(SHA-256 verified)",),
    ),
    "cifar10": _Spec(
        "cifar10", "CIFAR-10 (binary version)",
        ("cifar10", "cifar-10-batches-bin", "cifar10/cifar-10-batches-bin"), _CIFAR_FILES, False,
        ("download the binary version, cifar-10-binary.tar.gz, from "
         "https://www.cs.toronto.edu/~kriz/cifar.html and extract it; it unpacks to "
         "cifar-10-batches-bin/",),
    ),
}


def _spec(name: str) -> _Spec:
    try:
        return _SPECS[name]
    except KeyError:
        raise ValueError(
            f"unknown file-based data set {name!r}; expected one of {', '.join(map(repr, _SPECS))}"
        ) from None


def cache_dir() -> Path:
    """The chainrule cache folder: ``$XDG_CACHE_HOME/chainrule`` or ``~/.cache/chainrule``.

    Examples
    --------
    >>> cache_dir().name
    'chainrule'
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "chainrule"


def search_dirs(name: str, path: Optional[PathLike] = None) -> list[Path]:
    """The folders searched for a file-based data set, in order.

    Parameters
    ----------
    name : {'mnist', 'fashion_mnist', 'cifar10'}
    path : str or os.PathLike, optional
        An extra folder searched first.

    Returns
    -------
    list of pathlib.Path

    Examples
    --------
    >>> dirs = search_dirs("fashion_mnist")
    >>> str(dirs[-1])
    '/usr/share/datasets/fashion-mnist'
    """
    spec = _spec(name)
    dirs = []

    def add_with_subdirs(base):
        base = Path(base).expanduser()
        dirs.append(base)
        dirs.extend(base / sub for sub in spec.subdirs)

    if path is not None:
        add_with_subdirs(path)
    env = os.environ.get("CHAINRULE_DATA", "")
    if env:
        add_with_subdirs(env)
    cache = cache_dir()
    dirs.extend(cache / sub for sub in spec.subdirs + (spec.name,))
    dirs.append(DEBIAN_DATA_DIR / spec.subdirs[0])

    seen, unique = set(), []
    for d in dirs:
        key = os.path.normpath(str(d))
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def _files_in(spec: _Spec, folder: Path):
    """Map required name -> existing path in ``folder``, and the list of missing names."""
    found, missing = {}, []
    for fname in spec.files:
        candidates = [folder / fname] + ([folder / (fname + ".gz")] if spec.gz_ok else [])
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            missing.append(fname + ("[.gz]" if spec.gz_ok else ""))
        else:
            found[fname] = hit
    return found, missing


def locate(name: str, path: Optional[PathLike] = None) -> Optional[Path]:
    """The first folder holding a complete copy of a file-based data set, or None.

    Nothing is read beyond checking that the files exist.

    Parameters
    ----------
    name : {'mnist', 'fashion_mnist', 'cifar10'}
    path : str or os.PathLike, optional
        An extra folder searched first.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    ...         Path(d, name).touch()
    ...     locate("cifar10", path=d) == Path(d)
    True
    """
    spec = _spec(name)
    for folder in search_dirs(name, path):
        found, missing = _files_in(spec, folder)
        if not missing:
            return folder
    return None


def _find_or_raise(spec: _Spec, path):
    report = []
    for folder in search_dirs(spec.name, path):
        found, missing = _files_in(spec, folder)
        if not missing:
            return found
        if not folder.is_dir():
            report.append(f"  {folder}  (no such folder)")
        elif found:
            report.append(f"  {folder}  (incomplete: missing {', '.join(missing)})")
        else:
            report.append(f"  {folder}  (none of the files)")
    names = ", ".join(f + ("[.gz]" if spec.gz_ok else "") for f in spec.files)
    ways = [f"  - {line}" for line in spec.how_to_get]
    ways.append(
        "  - or put the files in a folder and set CHAINRULE_DATA to it (or to its parent, "
        f"with a '{spec.subdirs[0]}' subfolder), or pass path=... to the loader"
    )
    ways.append(f"  - or copy them into the cache folder {cache_dir() / spec.subdirs[0]}")
    message = (
        f"{spec.title} not found. Looked for {names} in:\n"
        + "\n".join(report)
        + "\nTo get it:\n"
        + "\n".join(ways)
    )
    raise DatasetNotFoundError(message)


def _load_idx_split(files: dict, images_stem: str, labels_stem: str, n_classes: int = 10):
    images_path, labels_path = files[images_stem], files[labels_stem]
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DatasetFileError(
            f"{images_path}: expected unsigned-byte images of shape (n, rows, cols), "
            f"got dtype {images.dtype} with shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetFileError(
            f"{labels_path}: expected unsigned-byte labels of shape (n,), "
            f"got dtype {labels.dtype} with shape {labels.shape}"
        )
    if labels.shape[0] != images.shape[0]:
        raise DatasetFileError(
            f"label/image count mismatch: {labels_path} has {labels.shape[0]} labels but "
            f"{images_path} has {images.shape[0]} images"
        )
    if labels.size and int(labels.max()) >= n_classes:
        raise DatasetFileError(
            f"{labels_path}: labels must be in 0 .. {n_classes - 1}, found {int(labels.max())}"
        )
    return images, labels.astype(np.int64)


def _load_idx_dataset(files: dict):
    train = _load_idx_split(files, _IDX_STEMS[0], _IDX_STEMS[1])
    test = _load_idx_split(files, _IDX_STEMS[2], _IDX_STEMS[3])
    return train, test


def load_fashion_mnist(path: Optional[PathLike] = None) -> tuple[tuple[np.ndarray, np.ndarray],
                       tuple[np.ndarray, np.ndarray]]:
    """Zalando's Fashion-MNIST: 70,000 28x28 grey-scale images of clothing in 10 classes.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder searched first for the four IDX files (raw or ``.gz``); see the
        module docs for the rest of the search order.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        ``uint8`` images of shape ``(60000, 28, 28)`` and ``(10000, 28, 28)``
        and ``int64`` labels in ``0..9`` (names in
        :data:`FASHION_MNIST_CLASSES`).

    Raises
    ------
    DatasetNotFoundError
        If no searched folder holds all four files. The message lists the
        folders and how to get the data
        (``apt-get install dataset-fashion-mnist``).
    ValueError
        If a file is malformed or label and image counts differ.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from chainrule.datasets import write_idx
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for split, n in (("train", 3), ("t10k", 2)):
    ...         write_idx(f"{d}/{split}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
    ...         write_idx(f"{d}/{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
    ...     (X, y), (X_test, y_test) = load_fashion_mnist(path=d)
    >>> X.shape, y.tolist(), X_test.shape
    ((3, 28, 28), [0, 1, 2], (2, 28, 28))
    """
    return _load_idx_dataset(_find_or_raise(_SPECS["fashion_mnist"], path))


def _fetch(url: str, timeout: float = 60.0) -> bytes:
    """Download ``url`` (HTTPS) and return its body."""
    if not url.startswith("https://"):
        raise ValueError(f"refusing to download over a non-HTTPS URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https only)
        return response.read()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_mnist(dest: Optional[PathLike] = None) -> Path:
    """Download the four MNIST files and verify their SHA-256 before keeping them.

    Files already present in ``dest`` with the right checksum are kept. Each
    file is tried from every mirror in :data:`MNIST_MIRRORS`; a body whose
    SHA-256 differs from :data:`MNIST_SHA256` is discarded, and files are
    written atomically, so a failed download leaves nothing half-written.

    Parameters
    ----------
    dest : str or os.PathLike, optional
        Target folder; defaults to ``cache_dir() / "mnist"``.

    Returns
    -------
    pathlib.Path
        The folder holding the files.

    Raises
    ------
    ValueError
        If every mirror served a file with the wrong checksum (some did).
    OSError
        If no mirror could be reached for a file.
    """
    dest = Path(dest) if dest is not None else cache_dir() / "mnist"
    dest.mkdir(parents=True, exist_ok=True)
    for fname, expected in MNIST_SHA256.items():
        target = dest / fname
        if target.is_file() and _sha256_file(target) == expected:
            continue
        problems, mismatch = [], False
        for mirror in MNIST_MIRRORS:
            url = mirror + fname
            try:
                body = _fetch(url)
            except (OSError, http.client.HTTPException) as exc:
                problems.append(f"{url}: {exc}")
                continue
            got = hashlib.sha256(body).hexdigest()
            if got != expected:
                mismatch = True
                problems.append(f"{url}: SHA-256 mismatch: expected {expected}, got {got}")
                continue
            _atomic_write_bytes(target, body)
            break
        else:
            detail = "\n  ".join(problems)
            if mismatch:
                raise ValueError(f"could not get a verified copy of {fname}:\n  {detail}")
            raise OSError(f"could not download {fname}:\n  {detail}")
    return dest


def load_mnist(path: Optional[PathLike] = None, download: bool = False) -> tuple[tuple[np.ndarray, np.ndarray],
               tuple[np.ndarray, np.ndarray]]:
    """The MNIST handwritten digits: 70,000 28x28 grey-scale images of digits 0-9.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder searched first for the four IDX files (raw or ``.gz``); see the
        module docs for the rest of the search order.
    download : bool, default False
        If the files are found nowhere, fetch them over HTTPS into
        ``cache_dir() / "mnist"`` (see :func:`download_mnist`).

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        ``uint8`` images of shape ``(60000, 28, 28)`` and ``(10000, 28, 28)``
        and ``int64`` labels in ``0..9``.

    Raises
    ------
    DatasetNotFoundError
        If the files are absent and ``download`` is False.
    ValueError
        If a file is malformed, a download fails verification, or label and
        image counts differ.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from chainrule.datasets import write_idx
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for split, n in (("train", 4), ("t10k", 1)):
    ...         write_idx(f"{d}/{split}-images-idx3-ubyte", np.ones((n, 28, 28), np.uint8))
    ...         write_idx(f"{d}/{split}-labels-idx1-ubyte", np.full(n, 7, np.uint8))
    ...     (X, y), (X_test, y_test) = load_mnist(path=d)
    >>> X.shape, y.dtype, y_test.tolist()
    ((4, 28, 28), dtype('int64'), [7])
    """
    spec = _SPECS["mnist"]
    try:
        files = _find_or_raise(spec, path)
    except DatasetNotFoundError:
        if not download:
            raise
        folder = download_mnist()
        files, missing = _files_in(spec, folder)
        if missing:  # pragma: no cover - download_mnist raises first
            raise
    return _load_idx_dataset(files)


def read_cifar10_batch(source: Union[PathLike, BinaryIO], max_bytes: Optional[int] = None) -> tuple[np.ndarray,
                       np.ndarray]:
    """Read one CIFAR-10 binary batch (``data_batch_1.bin`` ...): records of 1 label byte + 3072 pixels.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
    max_bytes : int, optional
        The most bytes the file may hold (default ``chainrule.datasets.idx.MAX_BYTES``, 4 GiB; a
        batch of the distribution is 30 MB).  A file's size is checked before it is read; a file
        object is read no further than the limit.

    Returns
    -------
    images : ndarray of uint8, shape (n, 32, 32, 3)
        Channels last (stored as three 32x32 planes R, G, B).
    labels : ndarray of int64, shape (n,)

    Raises
    ------
    DatasetFileError (a ValueError)
        A size that is not a positive multiple of 3073 bytes or beyond ``max_bytes``, or a
        label above 9; the message names the file.

    Examples
    --------
    >>> import io, numpy as np
    >>> record = np.repeat([7, 10, 20, 30], [1, 1024, 1024, 1024]).astype(np.uint8)  # label, R, G, B planes
    >>> X, y = read_cifar10_batch(io.BytesIO(record.tobytes()))
    >>> X.shape, y.tolist(), X[0, 5, 9].tolist()
    ((1, 32, 32, 3), [7], [10, 20, 30])
    """
    limit = _idx._check_limit(max_bytes, "read_cifar10_batch")
    fh, close, name = _idx._open_source(source)
    try:
        size = _idx._remaining_size(fh)
        if size is not None and size > limit:
            raise DatasetFileError(f"{name}: {_idx._size(size)}, more than the limit of {_idx._size(limit)} "
                                   f"(max_bytes=); refused before reading it")
        raw = fh.read(limit + 1)
        if isinstance(raw, str):
            raise TypeError(f"read_cifar10_batch needs a binary file object, but {name} was opened in text mode")
    finally:
        if close:
            fh.close()
    if len(raw) > limit:
        raise DatasetFileError(f"{name}: more than the limit of {_idx._size(limit)} (max_bytes=)")
    size = len(raw)
    if size == 0 or size % _CIFAR_RECORD:
        raise DatasetFileError(
            f"{name}: size {size} bytes is not a positive multiple of the CIFAR-10 record size "
            f"{_CIFAR_RECORD} (1 label byte + 3072 pixel bytes); "
            f"{size % _CIFAR_RECORD} byte(s) left over"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetFileError(f"{name}: CIFAR-10 labels must be in 0 .. 9, found {int(labels.max())}")
    # stored as 3 planes of 32x32 (R, G, B); return channels last
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


_read_cifar_batch = read_cifar10_batch


def load_cifar10(path: Optional[PathLike] = None) -> tuple[tuple[np.ndarray, np.ndarray],
                 tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 from its binary distribution (``cifar-10-batches-bin``).

    The pickled "python version" is deliberately not supported: unpickling
    downloaded files can run arbitrary code.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder searched first for ``data_batch_1.bin`` .. ``data_batch_5.bin``
        and ``test_batch.bin`` (also in a ``cifar-10-batches-bin`` subfolder).

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        ``uint8`` images of shape ``(50000, 32, 32, 3)`` and
        ``(10000, 32, 32, 3)`` (channels last) and ``int64`` labels in
        ``0..9`` (names in :data:`CIFAR10_CLASSES`).

    Raises
    ------
    DatasetNotFoundError
        If no searched folder holds all six files.
    ValueError
        If a file's size is not a multiple of 3073 bytes or a label exceeds 9.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    ...         record = np.concatenate([[3], np.full(3072, 9)]).astype(np.uint8)
    ...         record.tofile(f"{d}/{name}")
    ...     (X, y), (X_test, y_test) = load_cifar10(path=d)
    >>> X.shape, y.tolist(), X_test.shape
    ((5, 32, 32, 3), [3, 3, 3, 3, 3], (1, 32, 32, 3))
    """
    files = _find_or_raise(_SPECS["cifar10"], path)
    train = [_read_cifar_batch(files[f"data_batch_{i}.bin"]) for i in range(1, 6)]
    X_train = np.concatenate([b[0] for b in train])
    y_train = np.concatenate([b[1] for b in train])
    X_test, y_test = _read_cifar_batch(files["test_batch.bin"])
    return (X_train, y_train), (X_test, y_test)
