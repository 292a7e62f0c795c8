"""Reading and writing the IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a tiny header followed by raw big-endian array data:

* bytes 0-1: always zero,
* byte 2: a type code (``0x08`` unsigned byte, ``0x09`` signed byte,
  ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64),
* byte 3: the number of dimensions ``d``,
* ``d`` big-endian unsigned 32-bit sizes, one per dimension,
* the array elements in C order, big-endian.

The distributed files are usually gzip-compressed; :func:`read_idx` detects
compression from the gzip magic bytes (``1f 8b``), never from the file name.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx", "IDX_TYPE_CODES"]

#: Map of IDX type code -> big-endian NumPy dtype.
IDX_TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}

# (kind, itemsize) -> type code, for writing
_CODE_FOR_DTYPE = {(dt.kind, dt.itemsize): code for code, dt in IDX_TYPE_CODES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


def _describe_source(source) -> str:
    if isinstance(source, (str, bytes, os.PathLike)):
        return os.fsdecode(source)
    name = getattr(source, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    return f"<{type(source).__name__} object>"


def _read_all(source) -> tuple[bytes, str]:
    """Return the raw bytes of a path or binary file object, and a name for messages."""
    name = _describe_source(source)
    if isinstance(source, (str, bytes, os.PathLike)):
        with open(source, "rb") as fh:
            return fh.read(), name
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(
            "read_idx expected a path (str or os.PathLike) or a binary file object, "
            f"got {type(source).__name__}"
        )
    data = read()
    if isinstance(data, str):
        raise TypeError(f"read_idx needs a binary file object, but {name} was opened in text mode")
    return bytes(data), name


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        # zlib directly is a little faster than gzip.decompress for the common
        # single-member file; fall back to gzip for multi-member streams.
        dec = zlib.decompressobj(wbits=31)
        out = dec.decompress(data)
        if not dec.eof:
            raise ValueError(f"{name}: truncated gzip data (stream ends before its end marker)")
        if dec.unused_data:
            out = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{name}: corrupt or truncated gzip data ({exc})") from None
    return out


def read_idx(source) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        The file to read. Gzip compression is detected from the first two
        bytes, so the file name does not matter.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order with the shape stored in the
        header (``uint8`` for type code ``0x08``, ``int8``, ``int16``,
        ``int32``, ``float32`` or ``float64`` for the others).

    Raises
    ------
    ValueError
        If the data is not a well-formed IDX file: bad gzip stream, wrong
        magic number, unknown type code, zero dimensions, a header cut short,
        or a data section whose length is not the product of the dimensions
        times the element size. The message names the file.
    TypeError
        If ``source`` is neither a path nor a binary file object.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> buf = io.BytesIO()
    >>> write_idx(buf, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> _ = buf.seek(0)
    >>> read_idx(buf)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    data, name = _read_all(source)

    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, name)

    if len(data) < 4:
        raise ValueError(
            f"{name}: not an IDX file: expected a 4-byte magic number, "
            f"got only {len(data)} byte(s)"
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{name}: not an IDX file: expected magic number starting with two zero "
            f"bytes, got 0x{data[:4].hex()}"
        )
    if code not in IDX_TYPE_CODES:
        valid = ", ".join(f"0x{c:02X} ({_TYPE_NAMES[c]})" for c in IDX_TYPE_CODES)
        raise ValueError(
            f"{name}: unknown IDX type code 0x{code:02X} in magic number 0x{data[:4].hex()}; "
            f"expected one of {valid}"
        )
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions; expected at least 1")

    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_len} header bytes, "
            f"got {len(data)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPE_CODES[code]
    n_items = 1
    for s in shape:
        n_items *= s
    expected = n_items * dtype.itemsize
    got = len(data) - header_len
    if got != expected:
        what = "truncated IDX data" if got < expected else "trailing bytes after IDX data"
        raise ValueError(
            f"{name}: {what}: shape {shape} of {_TYPE_NAMES[code]} needs {expected} data bytes, "
            f"got {got}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=n_items, offset=header_len).reshape(shape)
    # astype copies, giving a writable array in native byte order.
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _encode_idx(array) -> bytes:
    arr = np.asarray(array)
    code = _CODE_FOR_DTYPE.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        supported = ", ".join(str(dt.newbyteorder("=")) for dt in IDX_TYPE_CODES.values())
        raise TypeError(f"write_idx supports dtypes {supported}; got {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx needs an array with 1 to 255 dimensions, got {arr.ndim}")
    if any(s >= 2**32 for s in arr.shape):
        raise ValueError(f"write_idx: every dimension must be < 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(arr, dtype=IDX_TYPE_CODES[code]).tobytes()
    return header + body


def _atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_idx(target, array, compress: bool | None = None) -> None:
    """Write an array as an IDX file.

    Parameters
    ----------
    target : str, os.PathLike or binary file object
        Destination. A path is written atomically (a temporary file in the
        same folder, then :func:`os.replace`), so readers never see a partial
        file.
    array : array_like
        Data of dtype ``uint8``, ``int8``, ``int16``, ``int32``, ``float32``
        or ``float64`` with 1 to 255 dimensions.
    compress : bool, optional
        Gzip the output. By default a path ending in ``.gz`` is compressed
        and anything else is not.

    Raises
    ------
    TypeError
        If the dtype has no IDX type code.
    ValueError
        If the array has 0 or more than 255 dimensions.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "labels-idx1-ubyte.gz")
    ...     write_idx(p, np.array([3, 1, 4], dtype=np.uint8))
    ...     read_idx(p)
    array([3, 1, 4], dtype=uint8)
    """
    payload = _encode_idx(array)
    is_path = isinstance(target, (str, bytes, os.PathLike))
    if compress is None:
        compress = is_path and os.fsdecode(target).endswith(".gz")
    if compress:
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    if is_path:
        _atomic_write_bytes(os.fsdecode(target), payload)
    elif hasattr(target, "write"):
        target.write(payload)
    else:
        raise TypeError(
            "write_idx expected a path (str or os.PathLike) or a binary file object, "
            f"got {type(target).__name__}"
        )
