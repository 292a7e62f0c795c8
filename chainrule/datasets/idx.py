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
import io
import math
import os
import stat
import zlib
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from chainrule._atomic import write_atomic

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, Optional, PathLike, Union

__all__ = ["read_idx", "write_idx", "IDX_TYPE_CODES", "DatasetFileError", "MAX_BYTES"]

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


class DatasetFileError(ValueError):
    """A data set file that cannot be read: damaged, foreign, or larger than the reader's limit.

    The message names the file and what is wrong with it.
    """


#: Default for ``max_bytes``: the most bytes of data an IDX or CIFAR file may declare (4 GiB: the
#: largest of these sets, Fashion-MNIST's training images, is 47 MB).  Pass ``max_bytes=`` to a
#: reader, or set ``chainrule.datasets.idx.MAX_BYTES`` for the program.
MAX_BYTES = 4 * 2 ** 30

_CHUNK = 1 << 20
_TRAILING_CAP = 1 << 20  # trailing bytes counted for the message, at most


def _describe_source(source) -> str:
    if isinstance(source, (str, bytes, os.PathLike)):
        return os.fsdecode(source)
    name = getattr(source, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    return f"<{type(source).__name__} object>"


def _check_limit(max_bytes, who):
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise ValueError(f"{who}: max_bytes must be a non-negative integer, got {max_bytes!r}")
    return int(limit)


def _size(n):
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000


class _Raw:
    """Reads of a binary file object, as many bytes as asked for or up to its end."""

    def __init__(self, fh, name, first=b""):
        self.fh, self.name, self.first = fh, name, first

    def read(self, n):
        parts, got = [], 0
        if self.first:
            part, self.first = self.first[:n], self.first[n:]
            parts.append(part)
            got = len(part)
        while got < n:
            part = self.fh.read(min(n - got, 64 * _CHUNK))
            if isinstance(part, str):
                raise TypeError(f"read_idx needs a binary file object, but {self.name} was opened in text mode")
            if not part:
                break
            parts.append(bytes(part))
            got += len(part)
        return b"".join(parts)


class _Gunzip(_Raw):
    """Reads of the gzip stream in a binary file object, decompressing no more than is asked for:
    a header that declares 5 bytes never makes it inflate 500 MB.  Multi-member streams (and zero
    padding after the last member, as gzip allows) are read as one."""

    def __init__(self, fh, name, first):
        super().__init__(fh, name)
        self.dec = zlib.decompressobj(wbits=31)
        self.pending = first

    def _input(self):
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        data = self.fh.read(_CHUNK)
        if isinstance(data, str):
            raise TypeError(f"read_idx needs a binary file object, but {self.name} was opened in text mode")
        return bytes(data)

    def read(self, n):
        parts, got = [], 0
        try:
            while got < n:
                if self.dec.eof:
                    rest = self.dec.unused_data.lstrip(b"\0") or self._input().lstrip(b"\0")
                    while not rest:
                        more = self._input()
                        if not more:
                            return b"".join(parts)  # the end of the last member
                        rest = more.lstrip(b"\0")
                    if rest[:2] != _GZIP_MAGIC[:len(rest[:2])]:
                        raise DatasetFileError(f"{self.name}: corrupt or truncated gzip data (bytes after the end "
                                               f"of the gzip stream that start no new member)")
                    self.dec = zlib.decompressobj(wbits=31)
                    data = rest
                elif self.dec.unconsumed_tail:
                    data = self.dec.unconsumed_tail
                else:
                    data = self._input()
                    if not data:
                        raise DatasetFileError(f"{self.name}: truncated gzip data (stream ends before its end marker)")
                part = self.dec.decompress(data, n - got)
                parts.append(part)
                got += len(part)
        except zlib.error as exc:
            raise DatasetFileError(f"{self.name}: corrupt or truncated gzip data ({exc})") from None
        return b"".join(parts)


def _count_rest(stream, cap):
    """How many bytes are left in ``stream`` (read and dropped in chunks), stopping past ``cap``."""
    n = 0
    while n <= cap:
        part = stream.read(_CHUNK)
        if not part:
            break
        n += len(part)
    return n


def _open_source(source):
    """(binary file object, whether to close it, name) of a path or a binary file object."""
    name = _describe_source(source)
    if isinstance(source, (str, bytes, os.PathLike)):
        return open(source, "rb"), True, name
    if getattr(source, "read", None) is None:
        raise TypeError(
            "read_idx expected a path (str or os.PathLike) or a binary file object, "
            f"got {type(source).__name__}"
        )
    return source, False, name


def _remaining_size(fh):
    """Bytes from the current position to the end of a regular file, or None when unknown."""
    try:
        st = os.fstat(fh.fileno())
        return st.st_size - fh.tell() if stat.S_ISREG(st.st_mode) else None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def read_idx(source: Union[PathLike, BinaryIO], max_bytes: Optional[int] = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        The file to read. Gzip compression is detected from the first two
        bytes, so the file name does not matter.
    max_bytes : int, optional
        The most bytes of data the header may declare (default :data:`MAX_BYTES`,
        4 GiB).  The header is read and checked first; a compressed file is
        then decompressed only as far as the declared data goes (plus one byte,
        to detect trailing data), so a small file cannot inflate to gigabytes.

    Returns
    -------
    numpy.ndarray
        A writable array in native byte order with the shape stored in the
        header (``uint8`` for type code ``0x08``, ``int8``, ``int16``,
        ``int32``, ``float32`` or ``float64`` for the others).

    Raises
    ------
    DatasetFileError (a ValueError)
        If the data is not a well-formed IDX file: bad gzip stream, wrong
        magic number, unknown type code, zero dimensions, a header cut short,
        a declared size beyond ``max_bytes``, or a data section whose length
        is not the product of the dimensions times the element size. The
        message names the file.
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
    limit = _check_limit(max_bytes, "read_idx")
    fh, close, name = _open_source(source)
    try:
        return _read_idx(fh, name, limit)
    finally:
        if close:
            fh.close()


def _read_idx(fh, name, limit):
    first = fh.read(2)
    if isinstance(first, str):
        raise TypeError(f"read_idx needs a binary file object, but {name} was opened in text mode")
    first = bytes(first)
    compressed = first == _GZIP_MAGIC
    size = None if compressed else _remaining_size(fh)
    stream = _Gunzip(fh, name, first) if compressed else _Raw(fh, name, first)

    head = stream.read(4)
    if len(head) < 4:
        raise DatasetFileError(
            f"{name}: not an IDX file: expected a 4-byte magic number, "
            f"got only {len(head)} byte(s)"
        )
    zero0, zero1, code, ndim = head[0], head[1], head[2], head[3]
    if zero0 != 0 or zero1 != 0:
        raise DatasetFileError(
            f"{name}: not an IDX file: expected magic number starting with two zero "
            f"bytes, got 0x{head.hex()}"
        )
    if code not in IDX_TYPE_CODES:
        valid = ", ".join(f"0x{c:02X} ({_TYPE_NAMES[c]})" for c in IDX_TYPE_CODES)
        raise DatasetFileError(
            f"{name}: unknown IDX type code 0x{code:02X} in magic number 0x{head.hex()}; "
            f"expected one of {valid}"
        )
    if ndim == 0:
        raise DatasetFileError(f"{name}: IDX header declares 0 dimensions; expected at least 1")

    header_len = 4 + 4 * ndim
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DatasetFileError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_len} header bytes, "
            f"got {4 + len(dims)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(dims, dtype=">u4"))
    dtype = IDX_TYPE_CODES[code]
    n_items = math.prod(shape)
    expected = n_items * dtype.itemsize
    if expected > limit:
        raise DatasetFileError(
            f"{name}: the IDX header declares shape {shape} of {_TYPE_NAMES[code]} ({_size(expected)}), more "
            f"than the limit of {_size(limit)} (max_bytes=); refused before reading it"
        )
    if size is not None and size + len(first) - header_len != expected:  # a plain file: its size tells first
        got = size + len(first) - header_len
        what = "truncated IDX data" if got < expected else "trailing bytes after IDX data"
        raise DatasetFileError(
            f"{name}: {what}: shape {shape} of {_TYPE_NAMES[code]} needs {expected} data bytes, got {got}"
        )
    data = stream.read(expected)
    if len(data) < expected:
        raise DatasetFileError(
            f"{name}: truncated IDX data: shape {shape} of {_TYPE_NAMES[code]} needs {expected} data bytes, "
            f"got {len(data)}"
        )
    extra = _count_rest(stream, _TRAILING_CAP)
    if extra:
        got = f"{expected + extra}" if extra <= _TRAILING_CAP else f"more than {expected + _TRAILING_CAP}"
        raise DatasetFileError(
            f"{name}: trailing bytes after IDX data: shape {shape} of {_TYPE_NAMES[code]} needs {expected} "
            f"data bytes, got {got}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=n_items).reshape(shape)
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
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``
    (:mod:`chainrule._atomic`: the temporaries of interrupted writes are removed by the next one)."""
    write_atomic(os.fspath(path), lambda fh: fh.write(data), suffix=".part")


def write_idx(target: Union[PathLike, BinaryIO], array: ArrayLike, compress: bool | None = None) -> None:
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
