"""Safe model files: one ``.npz`` archive of plain arrays plus a JSON description, never pickle.

A model file written by :func:`save_model` is an ordinary NumPy ``.npz`` (a zip
of ``.npy`` arrays) holding

* ``__meta__``: UTF-8 JSON text stored as a ``uint8`` array -- the format name
  and version, the chainrule version, the architecture (``class_name`` and
  ``get_config()``), the compile settings (loss, metrics), the optimizer's
  config and the names of every array below;
* ``param/<dotted name>``: each parameter, e.g. ``param/0.kernel``;
* ``buffer/<dotted name>``: each buffer, e.g. ``buffer/1.moving_mean``;
* ``optim/<k>/<slot>``: the optimizer's state for the k-th parameter (when the
  model is compiled), e.g. Adam's first and second moments.

Reading never unpickles or executes a byte of the file (``allow_pickle=False``), and
what a file may make the loader do is bounded before it is done, as safetensors and
Keras' ``safe_mode`` bound it: every array's size is read from the zip directory and
its ``.npy`` header and checked against the file and a size limit (``max_bytes``,
default :data:`MAX_BYTES`) before anything is inflated; the JSON description is bounded
in size and nesting depth; the architecture is rebuilt under an allocation limit of the
weights the file holds, and the weights' declared shapes are compared with it before they
are read.  So a model file from a stranger is as safe to open as a CSV file.  Every
problem with a file -- not a zip, truncated, a missing or unexpected array, a wrong shape
or dtype, a size beyond the limits, a newer format -- raises :class:`ModelFileError`
(a ``ValueError``) naming the file and what is wrong.

Writing is atomic: a crash mid-save leaves the previous file intact, and the temporary
file a killed save leaves behind is removed by the next save to the same place.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> from chainrule.io import save_model, load_model
>>> model = nn.Sequential([nn.Dense(3, activation='relu', input_dim=2), nn.Dense(1)])
>>> with tempfile.TemporaryDirectory() as folder:
...     path = save_model(model, os.path.join(folder, 'tiny'))  # '.npz' is appended
...     again = load_model(path)
>>> os.path.basename(path)
'tiny.npz'
>>> X = np.ones((4, 2), dtype=np.float32)
>>> bool(np.array_equal(again(X).numpy(), model(X).numpy()))
True
"""
from __future__ import annotations

import json
import math
import os
import re
import warnings
import zipfile
from collections import OrderedDict
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from chainrule import _atomic
from chainrule import optim as _optim
from chainrule import parameter as _parameter
from chainrule._version import __version__

if TYPE_CHECKING:
    from chainrule._typing import Any, Optional, PathLike
    from chainrule.nn.module import Module

_T = TypeVar("_T")

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "read_metadata", "write_text_atomic",
           "register_serializable", "SERIALIZABLE", "ModelFileError", "FORMAT", "WEIGHTS_FORMAT", "FORMAT_VERSION",
           "MAX_BYTES"]

FORMAT = "chainrule-model"
WEIGHTS_FORMAT = "chainrule-weights"
FORMAT_VERSION = 1
_META = "__meta__"


class ModelFileError(ValueError):
    """A model or weights file that cannot be read: corrupt, foreign, newer, or not matching the model."""


#: class name -> class of everything a saved architecture may name (every Module subclass registers
#: itself when it is defined, as Keras' ``register_keras_serializable`` does); load_model rebuilds
#: models from here, so this module needs no layer class.
SERIALIZABLE = {}


def register_serializable(cls: type[_T]) -> type[_T]:
    """Make ``cls`` known by its name to :func:`load_model` (``Module`` subclasses are, automatically)."""
    SERIALIZABLE[cls.__name__] = cls
    return cls


# ------------------------------------------------------------------ atomic writes
# (chainrule._atomic: a temporary file beside the target, renamed onto it; the temporaries of
# interrupted writes to the same target are removed by the next write)
_atomic_write = _atomic.write_atomic


def write_text_atomic(path: PathLike, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically: readers see the old file or the new one, never half.

    Returns the path.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     p = pathlib.Path(folder) / 'log.csv'
    ...     _ = write_text_atomic(p, 'epoch,loss\\n1,0.5\\n')
    ...     p.read_text()
    'epoch,loss\\n1,0.5\\n'
    """
    return _atomic_write(path, lambda f: f.write(text), binary=False)


def _with_npz_suffix(path):
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON-serializable")


def _meta_array(meta, what):
    try:
        text = json.dumps(meta, default=_json_default)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what}: the model's description cannot be written as JSON ({err}); get_config() and "
                        f"the optimizer's config must hold only numbers, strings, lists, dicts and None") from None
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _check_saveable(name, arr, what):
    arr = np.asarray(arr)
    if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
        raise TypeError(f"{what}: {name} has dtype {arr.dtype}; only numeric arrays can be saved")
    return arr


def _write_npz(path, arrays, what):
    for name, arr in arrays.items():
        _check_saveable(name, arr, what)
    return _atomic_write(path, lambda f: np.savez(f, **arrays))


# ---------------------------------------------------------------------- saving
def _optimizer_section(model, weights):
    """(config, iterations, groups, state list or None) of a compiled model's optimizer, or None."""
    compiled = getattr(model, "_compiled", None)
    if not compiled:
        return None
    opt = compiled.get("optimizer")
    if opt is None:
        return None
    if not (hasattr(opt, "get_config") and hasattr(opt, "state_dict")):
        raise TypeError(f"save_model: the model's optimizer {type(opt).__name__} has no get_config()/state_dict(); "
                        f"use a chainrule.optim optimizer or save the weights only (save_weights)")
    config = opt.get_config()
    bound = getattr(opt, "params", None) or []
    params = [p for _, p in model.named_parameters()]
    if [id(p) for p in bound] == [id(p) for p in params] and bound:
        sd = opt.state_dict()
    else:  # not bound to this model's parameters yet (e.g. lazy layers before the first fit): config only
        sd = getattr(opt, "_pending", None)
    if sd is None:
        return config, None, None, None
    state = list(sd["state"])
    if len(state) != len(weights):
        raise ValueError(f"save_model: the optimizer holds state for {len(state)} parameters but the model has "
                         f"{len(weights)}")
    return config, int(sd.get("iterations", 0)), sd.get("groups"), state


def save_model(model: Module, path: PathLike) -> str:
    """Write ``model`` -- architecture, weights, buffers, compile settings, optimizer state -- to one ``.npz``.

    Parameters
    ----------
    model : Module
        A built model whose class (and every layer's) defines ``get_config()``:
        ``Sequential``, the built-in layers, or your own Module subclass with
        ``get_config`` / ``from_config``.  For a Module without them use
        :func:`save_weights`.
    path : str or os.PathLike
        Where to write; ``.npz`` is appended when missing (as ``np.savez`` does).

    Returns
    -------
    str
        The path written.  The write is atomic: on any error an existing file
        at ``path`` is left as it was.
    """
    what = f"save_model({type(model).__name__})"
    weights, arrays = [], OrderedDict()
    for name, p in model.named_parameters():
        weights.append(name)
        arrays[f"param/{name}"] = p.data
    buffers = []
    for name, b in model.named_buffers():
        buffers.append(name)
        arrays[f"buffer/{name}"] = np.asarray(b)
    architecture = {"class_name": type(model).__name__, "config": model.get_config()}

    compiled = getattr(model, "_compiled", None)
    compile_cfg = None
    if compiled:
        compile_cfg = dict(compiled.get("config") or {})
        compile_cfg.setdefault("metrics", list(compiled.get("metrics") or []))
        compile_cfg.setdefault("loss", None)
    opt_cfg = opt_iterations = opt_groups = opt_keys = None
    section = _optimizer_section(model, weights)
    if section is not None:
        opt_cfg, opt_iterations, opt_groups, state = section
        if state is not None:
            opt_keys = []
            for k, entry in enumerate(state):
                opt_keys.append(list(entry))
                for key, value in entry.items():
                    arrays[f"optim/{k}/{key}"] = np.asarray(value)

    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "chainrule_version": __version__,
        "architecture": architecture, "compile": compile_cfg,
        "weights": weights, "buffers": buffers,
        "optimizer": opt_cfg, "optimizer_iterations": opt_iterations, "optimizer_groups": opt_groups,
        "optimizer_state_keys": opt_keys,
        "rng_states": _rng_states(model),
    }
    arrays[_META] = _meta_array(meta, what)
    return _write_npz(_with_npz_suffix(path), arrays, what)


def _is_safetensors(path):
    return os.fspath(path).endswith(".safetensors")


def save_weights(model: Module, path: str | os.PathLike) -> str:
    """Write only ``model.state_dict()`` (parameters and buffers); for any Module, get_config or not.

    Parameters
    ----------
    model : Module
    path : str or os.PathLike
        A name ending in ``.safetensors`` writes the `safetensors <https://huggingface.co/docs/safetensors>`_
        format (the optional ``safetensors`` package; tensors named as in ``state_dict()``, readable by
        PyTorch's and Keras' tools); any other name writes a ``.npz`` (``.npz`` appended when missing).

    Returns
    -------
    str
        The path written; the write is atomic.  Read it back into a model of the same structure
        with :func:`load_weights` (or ``model.load_weights(path)``).
    """
    what = f"save_weights({type(model).__name__})"
    weights = [name for name, _ in model.named_parameters()]
    buffers = [name for name, _ in model.named_buffers()]
    state = model.state_dict()
    meta = {"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "chainrule_version": __version__,
            "class_name": type(model).__name__, "weights": weights, "buffers": buffers}
    if _is_safetensors(path):
        return _write_safetensors(os.fspath(path), state, meta, what)
    arrays = OrderedDict()
    for name, arr in state.items():
        arrays[(f"param/{name}" if name in weights else f"buffer/{name}")] = arr
    arrays[_META] = _meta_array(meta, what)
    return _write_npz(_with_npz_suffix(path), arrays, what)


def _safetensors_numpy(what):
    try:
        from safetensors import numpy as st
    except ImportError:
        raise ImportError(f"{what}: .safetensors files need the safetensors package: pip install "
                          f"'chainrule[safetensors]' (or save to a .npz file)") from None
    return st


def _write_safetensors(path, state, meta, what):
    st = _safetensors_numpy(what)
    tensors = {name: np.ascontiguousarray(_check_saveable(name, arr, what)) for name, arr in state.items()}
    header = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()}
    blob = st.save(tensors, metadata=header)
    return _atomic_write(path, lambda f: f.write(blob))


#: safetensors' dtype names -> NumPy's (the others, BF16 and the F8 kinds, have no NumPy dtype)
_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
              "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


class _StEntry:
    """One tensor of a safetensors file as its header declares it (nothing read yet)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype

    @property
    def size(self):
        return math.prod(self.shape)


def _read_safetensors(path, what, max_bytes=None):
    """(meta, entries, read) of a .safetensors weights file, in the .npz reader's shape: entries
    ``param/...``/``buffer/...`` with their declared shapes and dtypes, and ``read(names)`` giving
    the arrays.

    Only the header is read first (safetensors checks it against the file: offsets, sizes); the
    declared sizes are checked against ``max_bytes`` (default :data:`MAX_BYTES`) and the caller
    compares the shapes with the model before ``read`` copies a byte of data."""
    _safetensors_numpy(what)
    import safetensors
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise ValueError(f"{what}: max_bytes must be a non-negative integer, got {max_bytes!r}")

    def failed(err):
        if isinstance(err, OSError):
            return ModelFileError(f"{what}: {path!r} cannot be read ({type(err).__name__}: {err})")
        return ModelFileError(f"{what}: {path!r} is not a readable safetensors file ({type(err).__name__}: {err})")

    try:
        with safetensors.safe_open(path, framework="numpy") as f:
            header = f.metadata() or {}
            declared = OrderedDict()
            for name in f.keys():
                sl = f.get_slice(name)
                kind = sl.get_dtype()
                if kind not in _ST_DTYPES:
                    raise ModelFileError(f"{what}: {path!r}: tensor {name!r} has dtype {kind}, which NumPy has no "
                                         f"type for; save it as float32 (tensor.float()) before writing the file")
                declared[name] = _StEntry(sl.get_shape(), np.dtype(_ST_DTYPES[kind]))
    except ModelFileError:
        raise
    except Exception as err:  # SafetensorError (a damaged or hostile header), OSError
        raise failed(err) from err
    if len(declared) > MAX_ENTRIES:
        raise ModelFileError(f"{what}: {path!r} has {len(declared)} tensors, more than the {MAX_ENTRIES} a weights "
                             f"file may hold")
    total = sum(e.size * e.dtype.itemsize for e in declared.values())
    if total > limit:
        raise ModelFileError(f"{what}: {path!r} declares {_size(total)} of tensors, more than the limit of "
                             f"{_size(limit)} (max_bytes=); refused before reading them")
    meta = {}
    for key, value in header.items():
        if _json_depth(value) > MAX_JSON_DEPTH:
            raise ModelFileError(f"{what}: {path!r}: its metadata {key!r} is nested deeper than {MAX_JSON_DEPTH}")
        try:
            meta[key] = json.loads(value) if key != "format" and key != "class_name" and \
                key != "chainrule_version" else value
        except (ValueError, RecursionError):
            meta[key] = value
    if "weights" not in meta:  # a foreign safetensors file: every tensor a weight, as named
        meta.update({"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "weights": list(declared),
                     "buffers": []})
    weights = meta.get("weights") if isinstance(meta.get("weights"), list) else []
    key_of = OrderedDict((f"param/{n}" if n in weights else f"buffer/{n}", n) for n in declared)
    entries = OrderedDict((k, declared[n]) for k, n in key_of.items())

    def read(names):
        try:
            with safetensors.safe_open(path, framework="numpy") as f:
                out = OrderedDict((k, f.get_tensor(key_of[k])) for k in names)
        except Exception as err:
            raise failed(err) from err
        for k, arr in out.items():
            if arr.shape != entries[k].shape or arr.dtype != entries[k].dtype:
                raise ModelFileError(f"{what}: {path!r} changed while it was read (tensor {key_of[k]!r})")
        return out

    return meta, entries, read


def _rng_states(model):
    """The state of each layer's private random generator (e.g. ``Dropout(seed=...)``), by module and attribute."""
    states = {}
    for mname, m in model.named_modules():
        for attr, value in vars(m).items():
            if isinstance(value, np.random.Generator):
                st = value.bit_generator.state
                try:
                    json.dumps(st)
                except (TypeError, ValueError):
                    continue  # a bit generator whose state is not plain JSON (MT19937's key array): skip
                states.setdefault(mname, {})[attr] = st
    return states


# --------------------------------------------------------------------- reading
# Limits on what a file may make the loader do.  Every size is checked from the zip directory and
# the .npy headers before a byte of data is inflated or an array allocated (as safetensors checks
# its header first); a file that exceeds one is refused with a ModelFileError naming the file.

#: Default for ``max_bytes``: the most bytes of arrays a model file may hold (4 GiB: far above any
#: model of the course, far below what would exhaust a machine).  Pass ``max_bytes=`` to the readers
#: for one file, or set ``chainrule.io.MAX_BYTES`` for the program.
MAX_BYTES = 4 * 2 ** 30
#: The most bytes of the JSON description (``__meta__``).
MAX_META_BYTES = 64 * 2 ** 20
#: The deepest nesting of lists and objects accepted in the JSON description (Python's parser would
#: otherwise end in a RecursionError).
MAX_JSON_DEPTH = 64
#: The most arrays a file may hold.
MAX_ENTRIES = 100_000
#: Extra numbers a rebuilt architecture may allocate beyond the weights its file holds (layers that
#: keep something the file does not): architectures are rebuilt under an allocation limit
#: (:func:`chainrule.parameter.allocation_limit`) of the file's own weights plus this.
ALLOCATION_SLACK = 1 << 16


def _resolve(path, what):
    path = os.fspath(path)
    if not os.path.exists(path) and not path.endswith(".npz") and os.path.exists(path + ".npz"):
        path += ".npz"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file {path!r}")
    return path


def _size(n):
    """A byte count for people: '1.5 GB'."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_depth(text):
    """The deepest nesting of [ and { outside strings (vectorized: the text may be megabytes)."""
    b = np.frombuffer(_STRING.sub('""', text).encode("utf-8"), dtype=np.uint8)
    if b.size == 0:
        return 0
    step = (b == ord("[")).astype(np.int32) + (b == ord("{")) - (b == ord("]")) - (b == ord("}"))
    return int(np.cumsum(step).max())


class _Entry:
    """One array of the archive as its directory and .npy header declare it (nothing read yet)."""

    __slots__ = ("name", "info", "shape", "dtype", "fortran", "nbytes")

    @property
    def size(self):
        return math.prod(self.shape)


class _Archive:
    """A model file opened for reading: its entries checked from the zip directory and the .npy
    headers, its JSON description decoded, the arrays read only when asked for (``read``)."""

    def __init__(self, path, what, max_bytes, meta=True, kind="chainrule model file"):
        self.path, self.what, self._want_meta, self.kind = path, what, meta, kind
        self.max_bytes = MAX_BYTES if max_bytes is None else max_bytes
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, (int, np.integer)) \
                or self.max_bytes < 0:
            raise ValueError(f"{what}: max_bytes must be a non-negative integer, got {max_bytes!r}")
        self._fh = self._zip = None
        self._own = not hasattr(path, "read")  # a path (opened and closed here) or an open binary file
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def bad(self, msg):
        return ModelFileError(f"{self.what}: {self.path!r} {msg}")

    def close(self):
        for f in (self._zip, self._fh if self._own else None):
            if f is not None:
                try:
                    f.close()
                except Exception:  # pragma: no cover - closing a damaged archive
                    pass
        self._fh = self._zip = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -------------------------------------------------------------- the directory
    def _open(self):
        try:
            self._fh = fh = open(self.path, "rb") if self._own else self.path
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.what}: no such file {self.path!r}") from None
        except OSError as err:
            raise self.bad(f"cannot be read ({type(err).__name__}: {err})") from err
        head = fh.read(6)
        fh.seek(0)
        if not head:
            raise self.bad(f"is empty (0 bytes), not a {self.kind}")
        if head.startswith(b"\x93NUMPY"):
            raise self.bad(f"is a single .npy array, not a {self.kind} (.npz archive)")
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise self.bad(f"is not a {self.kind}: not an .npz (zip) archive (it starts with {head[:6]!r})")
        try:
            self._zip = zipfile.ZipFile(fh)
            infos = self._zip.infolist()
        except Exception as err:  # BadZipFile, OSError, EOFError, ValueError, ...
            raise self.bad(f"is a damaged or truncated .npz archive, not a readable {self.kind} "
                           f"({type(err).__name__}: {err})") from err
        if len(infos) > MAX_ENTRIES:
            raise self.bad(f"has {len(infos)} entries, more than the {MAX_ENTRIES} a model file may hold")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise self.bad("has duplicate entries; the archive is corrupt or was tampered with")
        total = sum(i.file_size for i in infos)
        if total > self.max_bytes + MAX_META_BYTES:
            raise self.bad(f"would inflate to {_size(total)}, more than the limit of {_size(self.max_bytes)} "
                           f"(max_bytes=); refused before reading it")
        self.entries = OrderedDict()
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise self.bad(f"has an entry {info.filename!r} that is not a NumPy array; not a {self.kind}")
            e = self._header(info)
            self.entries[e.name] = e
        declared = sum(e.nbytes for k, e in self.entries.items() if k != _META)
        if declared > self.max_bytes:
            raise self.bad(f"declares {_size(declared)} of arrays, more than the limit of {_size(self.max_bytes)} "
                           f"(max_bytes=); refused before reading them")
        self.meta = self._read_meta() if self._want_meta else None

    def _header(self, info):
        """The entry's declared shape and dtype, from its .npy header alone, checked against its size."""
        name = info.filename[:-4]
        try:
            with self._zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f".npy format version {version} is not one chainrule writes")
                offset = f.tell()
        except Exception as err:  # a damaged header, a CRC or zip error, truncation
            raise self.bad(f"is damaged or unsafe: the header of entry {name!r} cannot be read "
                           f"({type(err).__name__}: {err})") from err
        if dtype.hasobject or dtype.fields is not None or dtype.kind not in ("biufcU" if name == _META else "biufc"):
            raise self.bad(f"is damaged or unsafe: entry {name!r} has dtype {dtype}; only plain numeric arrays "
                           f"are read (nothing is unpickled)")
        if any(s < 0 for s in shape):
            raise self.bad(f"has an entry {name!r} with an invalid shape {shape}")
        e = _Entry()
        e.name, e.info, e.shape, e.dtype, e.fortran = name, info, tuple(shape), dtype, fortran
        e.nbytes = math.prod(shape) * dtype.itemsize
        if offset + e.nbytes != info.file_size:
            raise self.bad(f"has an entry {name!r} that declares shape {e.shape} of {dtype} ({_size(e.nbytes)}) but "
                           f"holds {_size(max(info.file_size - offset, 0))}; the file is damaged or hostile")
        return e

    def _read_meta(self):
        e = self.entries.get(_META)
        if e is None:
            raise self.bad(f"has no {_META!r} entry, so it is not a chainrule model file; found entries "
                           f"{sorted(self.entries)[:10]}")
        if not ((e.dtype == np.uint8 and len(e.shape) == 1) or (e.dtype.kind == "U" and e.shape == ())):
            raise self.bad(f"has a {_META!r} entry of dtype {e.dtype} and shape {e.shape}; expected UTF-8 JSON "
                           f"as a 1-D uint8 array")
        if e.nbytes > MAX_META_BYTES:
            raise self.bad(f"has a {_META!r} entry of {_size(e.nbytes)}, more than the {_size(MAX_META_BYTES)} a "
                           f"model's description may take")
        raw = self.read(_META)
        try:
            text = raw.tobytes().decode("utf-8") if raw.dtype == np.uint8 else str(raw[()])
        except UnicodeDecodeError as err:
            raise self.bad(f"has a {_META!r} entry that is not valid UTF-8 JSON ({err})") from err
        depth = _json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise self.bad(f"has a {_META!r} entry nested {depth} levels deep, more than the {MAX_JSON_DEPTH} a "
                           f"model's description may take")
        try:
            meta = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise self.bad(f"has a {_META!r} entry that is not valid UTF-8 JSON ({err})") from err
        if not isinstance(meta, dict):
            raise self.bad(f"has a {_META!r} entry that is JSON {type(meta).__name__}, expected an object")
        return meta

    # ----------------------------------------------------------------- the arrays
    def read(self, name):
        """The array of entry ``name``, read (and inflated) now: its size was checked when opened."""
        e = self.entries[name]
        try:
            with self._zip.open(e.info) as f:
                arr = np.lib.format.read_array(f, allow_pickle=False)
        except MemoryError:
            raise self.bad(f"holds an entry {name!r} of {_size(e.nbytes)}, more than this machine has memory for") \
                from None
        except Exception as err:  # CRC errors (BadZipFile), truncation (EOFError, ValueError)
            raise self.bad(f"is damaged: reading entry {name!r} failed ({type(err).__name__}: {err})") from err
        if arr.shape != e.shape or arr.dtype != e.dtype:  # pragma: no cover - the header was read twice
            raise self.bad(f"changed while it was read (entry {name!r})")
        return arr

    def read_all(self, names):
        return OrderedDict((n, self.read(n)) for n in names)


def _check_header(meta, path, what, expected):
    fmt = meta.get("format")
    if fmt != expected:
        hint = ""
        if fmt == FORMAT and expected == WEIGHTS_FORMAT:
            hint = "; it is a full model file: open it with chainrule.load_model"
        elif fmt == WEIGHTS_FORMAT and expected == FORMAT:
            hint = "; it holds weights only: build the model and call chainrule.io.load_weights(model, path)"
        raise ModelFileError(f"{what}: {path!r} has format {fmt!r}, expected {expected!r}{hint}")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{what}: {path!r} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{what}: {path!r} has format_version {version}, newer than the version "
                             f"{FORMAT_VERSION} this chainrule ({__version__}) reads; it was written by chainrule "
                             f"{meta.get('chainrule_version')!r}: upgrade chainrule to read it")


def _names(meta, key, path, what):
    names = meta.get(key)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelFileError(f"{what}: {path!r} has an invalid {key!r} list in {_META!r}: {str(names)[:200]}")
    if len(set(names)) != len(names):
        raise ModelFileError(f"{what}: {path!r} lists duplicate names in {key!r}")
    return names


def _check_entries(entries, expected, path, what):
    missing = [k for k in expected if k not in entries]
    extra = [k for k in entries if k not in expected and k != _META]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing arrays {missing[:20]}")
        if extra:
            parts.append(f"unexpected arrays {extra[:20]}")
        raise ModelFileError(f"{what}: {path!r} does not match its own description: " + ", ".join(parts))


def _check_dtypes(entries, weights, buffers, path, what):
    for name in weights:
        dt = entries[f"param/{name}"].dtype
        if dt.kind != "f":
            raise ModelFileError(f"{what}: {path!r}: weight {name!r} has dtype {dt}; parameters must be "
                                 f"floating point")
    for name in buffers:
        dt = entries[f"buffer/{name}"].dtype
        if dt.kind not in "biuf":
            raise ModelFileError(f"{what}: {path!r}: buffer {name!r} has dtype {dt}; expected numbers")


def _check_shapes(model, entries, weights, buffers, path, what):
    """Compare a built model's weight and buffer shapes with those the file declares, before any array
    of the file is read; a model with unbuilt (lazy) layers is built from the arrays themselves."""
    try:
        own = [(n, p.data.shape) for n, p in model.named_parameters()]
        own += [(n, np.shape(b)) for n, b in model.named_buffers()]
    except ValueError:
        return  # lazy layers: load_state_dict builds them from the saved shapes
    declared = {n: entries[f"param/{n}"].shape for n in weights}
    declared.update((n, entries[f"buffer/{n}"].shape) for n in buffers)
    for n, shape in own:
        if n in declared and tuple(declared[n]) != tuple(shape):
            raise ModelFileError(f"{what}: {path!r} does not fit the model: {n} has shape {tuple(shape)} in the "
                                 f"model but {tuple(declared[n])} in the file")


def read_metadata(path: PathLike, max_bytes: Optional[int] = None) -> dict[str, Any]:
    """The JSON description stored in a model or weights file (validated header), without building anything.

    Raises :class:`ModelFileError` for a damaged, foreign or newer file (no array but the
    description is read).
    """
    what = "read_metadata"
    path = _resolve(path, what)
    with _guarded(path, what), _Archive(path, what, max_bytes) as archive:
        meta = archive.meta
    fmt = meta.get("format")
    _check_header(meta, path, what, fmt if fmt in (FORMAT, WEIGHTS_FORMAT) else FORMAT)
    return meta


@contextmanager
def _guarded(path, what):
    """Turn what a hostile file may still provoke deep inside (a RecursionError from a pathological
    config, a MemoryError) into the loader's own error, naming the file."""
    try:
        yield
    except RecursionError:
        raise ModelFileError(f"{what}: {path!r} describes a structure nested too deeply to rebuild") from None
    except MemoryError:
        raise ModelFileError(f"{what}: {path!r} needs more memory than this machine has; if it is a real "
                             f"model, load it on a larger machine") from None


def _model_names(model, path, what):
    """Parameter and buffer names of a model, turning a not-yet-built model into a file error."""
    try:
        return [n for n, _ in model.named_parameters()], [n for n, _ in model.named_buffers()]
    except ValueError as err:
        raise ModelFileError(f"{what}: {path!r}: the rebuilt model is not built ({err})") from err


def _load_state(model, state, path, what):
    """model.load_state_dict(state) with its errors (shape, names) reported as file errors."""
    try:
        model.load_state_dict(state, strict=True)
    except ValueError as err:
        raise ModelFileError(f"{what}: {path!r} does not fit the model: {err}") from err


def load_model(path: PathLike, compile: bool = True, max_bytes: Optional[int] = None) -> Module:
    """Rebuild a model saved by :func:`save_model` (or ``model.save``), safely: nothing is unpickled.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file (``.npz`` is appended if ``path`` does not exist without it).
    compile : bool
        Also restore the compile step -- optimizer (with its state, so training
        resumes exactly where it stopped), loss and metrics -- when the model
        was compiled when saved.
    max_bytes : int, optional
        The most bytes of arrays the file may hold (default :data:`MAX_BYTES`, 4 GiB).

    Returns
    -------
    Module
        The model, with bit-identical weights and buffers, in training mode
        (call ``.eval()`` or ``predict`` for inference).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError (a ValueError)
        The file is not a chainrule model file, is damaged, newer than this
        chainrule, larger than ``max_bytes``, or does not match the architecture
        it describes.

    Notes
    -----
    What a file may make the loader do is bounded before it is done: the declared size of every
    array (zip directory and ``.npy`` header) is checked against the file and ``max_bytes``
    before anything is inflated; the JSON description is bounded in size and depth; the
    architecture is rebuilt under an allocation limit of the weights the file holds (a
    1 KB file describing a 20000 x 20000 layer is refused before it allocates); and the
    weights' declared shapes are compared with the architecture before they are read.

    Custom Module subclasses must define ``get_config`` (and ``from_config`` if
    ``cls(**config)`` does not rebuild them), and their module must be imported
    before loading, so that the class is known by name.
    """
    what = "load_model"
    path = _resolve(path, what)
    with _guarded(path, what), _Archive(path, what, max_bytes) as archive:
        return _load_model(archive, path, what, compile)


def _load_model(archive, path, what, compile):
    meta, entries = archive.meta, archive.entries
    _check_header(meta, path, what, FORMAT)
    arch = meta.get("architecture")
    if not (isinstance(arch, dict) and isinstance(arch.get("class_name"), str)
            and isinstance(arch.get("config"), dict)):
        raise ModelFileError(f"{what}: {path!r} has no valid 'architecture' ({{'class_name', 'config'}}) in "
                             f"{_META!r}")
    weights = _names(meta, "weights", path, what)
    buffers = _names(meta, "buffers", path, what)
    opt_keys = meta.get("optimizer_state_keys")
    expected = [f"param/{n}" for n in weights] + [f"buffer/{n}" for n in buffers]
    if opt_keys is not None:
        if not (isinstance(opt_keys, list) and len(opt_keys) == len(weights)
                and all(isinstance(ks, list) and all(isinstance(k, str) for k in ks) for ks in opt_keys)):
            raise ModelFileError(f"{what}: {path!r} has an invalid 'optimizer_state_keys' in {_META!r}: expected "
                                 f"one list of names per weight ({len(weights)})")
        expected += [f"optim/{k}/{key}" for k, ks in enumerate(opt_keys) for key in ks]
    _check_entries(entries, expected, path, what)
    _check_dtypes(entries, weights, buffers, path, what)

    class_name = arch["class_name"]
    cls = SERIALIZABLE.get(class_name)
    if cls is None:
        raise ModelFileError(f"{what}: {path!r} holds a {class_name!r} model, a class chainrule does not know; "
                             f"import the module that defines it (a Module subclass) before loading")
    held = sum(entries[f"param/{n}"].size for n in weights) + sum(entries[f"buffer/{n}"].size for n in buffers)
    try:
        with _parameter.allocation_limit(held + ALLOCATION_SLACK):
            model = cls.from_config(arch["config"])
    except _parameter.AllocationLimitError as err:
        raise ModelFileError(f"{what}: {path!r} describes an architecture with a weight of shape {err.shape} "
                             f"({err.n} numbers), more than the {held} numbers of weights the file holds; the "
                             f"architecture does not match the weights (a damaged or hostile file)") from None
    except (RecursionError, MemoryError):
        raise
    except Exception as err:
        raise ModelFileError(f"{what}: {path!r}: cannot rebuild {class_name} from its saved config "
                             f"({type(err).__name__}: {str(err)[:500]})") from err
    _check_shapes(model, entries, weights, buffers, path, what)

    state = archive.read_all([f"param/{n}" for n in weights] + [f"buffer/{n}" for n in buffers])
    state = OrderedDict((k.split("/", 1)[1], v) for k, v in state.items())
    _load_state(model, state, path, what)
    own_weights, own_buffers = _model_names(model, path, what)
    # The file's dtypes win: layers built under another default dtype get exactly the saved arrays.
    params = dict(model.named_parameters())
    for n in weights:
        if params[n].data.dtype != state[n].dtype:
            params[n].data = np.array(state[n], copy=True)
    for mname, m in model.named_modules():
        for bname in list(m._buffers):
            full = f"{mname}.{bname}" if mname else bname
            if m._buffers[bname].dtype != state[full].dtype:
                m._buffers[bname] = np.array(state[full], copy=True)
    _restore_rngs(model, meta.get("rng_states"), path, what)

    if compile and meta.get("compile") is not None:
        optim_arrays = archive.read_all([k for k in expected if k.startswith("optim/")])
        _restore_compile(model, meta, optim_arrays, weights, own_weights, path, what)
    return model


def _restore_rngs(model, states, path, what):
    if not isinstance(states, dict):
        return
    modules = dict(model.named_modules())
    for mname, attrs in states.items():
        m = modules.get(mname)
        if m is None or not isinstance(attrs, dict):
            continue
        for attr, st in attrs.items():
            gen = vars(m).get(attr)
            if isinstance(gen, np.random.Generator):
                kind = type(gen.bit_generator).__name__
                if not (isinstance(st, dict) and st.get("bit_generator") == kind):
                    continue  # another bit generator: keep the fresh one
                try:
                    gen.bit_generator.state = st
                except (TypeError, ValueError, KeyError, OverflowError) as err:
                    raise ModelFileError(f"{what}: {path!r} holds an invalid {kind} state for {mname or 'the model'}"
                                         f".{attr} ({type(err).__name__}: {err})") from None


def _restore_compile(model, meta, arrays, weights, own_weights, path, what):
    comp = meta["compile"]
    if not isinstance(comp, dict):
        raise ModelFileError(f"{what}: {path!r} has an invalid 'compile' section in {_META!r}: {comp!r}")
    loss = comp.get("loss")
    metrics = comp.get("metrics") or []
    opt_cfg = meta.get("optimizer")
    if loss is None:
        warnings.warn(f"{what}: {path!r} was compiled with a loss that has no saved form (a custom function); "
                      f"the model is returned uncompiled: call model.compile(optimizer=..., loss=...) again",
                      UserWarning, stacklevel=3)
        return
    try:
        opt = _optim.from_config(opt_cfg) if opt_cfg is not None else "adam"
    except Exception as err:
        raise ModelFileError(f"{what}: {path!r}: cannot rebuild the optimizer from {opt_cfg!r} "
                             f"({type(err).__name__}: {err})") from err
    try:
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    except (TypeError, ValueError) as err:
        warnings.warn(f"{what}: {path!r}: cannot restore the compile settings (loss={loss!r}, metrics={metrics!r}: "
                      f"{err}); the model is returned uncompiled: call model.compile(...) again",
                      UserWarning, stacklevel=3)
        model.__dict__.pop("_compiled", None)
        return
    opt_keys = meta.get("optimizer_state_keys")
    if opt_keys is None:
        return
    if opt_cfg is None:
        raise ModelFileError(f"{what}: {path!r} holds optimizer state ('optimizer_state_keys') but no 'optimizer' "
                             f"config to restore it into; the file is damaged")
    iterations = meta.get("optimizer_iterations")
    groups = meta.get("optimizer_groups")
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
        raise ModelFileError(f"{what}: {path!r} has an invalid 'optimizer_iterations' {iterations!r}")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, dict) for g in groups)):
        raise ModelFileError(f"{what}: {path!r} has an invalid 'optimizer_groups' {groups!r}")
    by_name = {n: k for k, n in enumerate(weights)}
    state = [{key: arrays[f"optim/{by_name[n]}/{key}"] for key in opt_keys[by_name[n]]} for n in own_weights]
    sd = {"config": opt_cfg, "iterations": iterations, "state": state}
    if groups is not None:
        sd["groups"] = groups
    try:
        opt.load_state_dict(sd)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{what}: {path!r}: the saved optimizer state does not fit the model "
                             f"({type(err).__name__}: {err})") from err


def _weights_to_load(model, meta, entries, read, path, what):
    """The state a weights (or model) file gives ``model``: its header, names, dtypes and declared
    shapes checked first, then the arrays read (``read(names)``)."""
    fmt = meta.get("format")
    _check_header(meta, path, what, fmt if fmt in (FORMAT, WEIGHTS_FORMAT) else WEIGHTS_FORMAT)
    weights = _names(meta, "weights", path, what)
    buffers = _names(meta, "buffers", path, what)
    expected = [f"param/{n}" for n in weights] + [f"buffer/{n}" for n in buffers]
    if fmt == FORMAT:  # a full model file: take its weights, ignore the optimizer state
        entries = OrderedDict((k, v) for k, v in entries.items() if not k.startswith("optim/"))
    _check_entries(entries, expected, path, what)
    _check_dtypes(entries, weights, buffers, path, what)
    _check_shapes(model, entries, weights, buffers, path, what)
    arrays = read(expected)
    return OrderedDict((k.split("/", 1)[1], arrays[k]) for k in expected)


def load_weights(model: Module, path: str | os.PathLike, max_bytes: Optional[int] = None) -> Module:
    """Load a file written by :func:`save_weights` (or :func:`save_model`) into ``model``, in place.

    ``.safetensors`` files are read with the safetensors package (a file written elsewhere is taken
    as weights named as in ``model.state_dict()``); anything else as chainrule's ``.npz``.  The names
    and shapes must match ``model.state_dict()`` exactly; on any mismatch a :class:`ModelFileError`
    is raised and the model is unchanged.  The declared shapes are compared with a built model's
    before the arrays are read, and the file may hold at most ``max_bytes`` of arrays (default
    :data:`MAX_BYTES`).  Nothing is unpickled.  Returns the model.
    """
    what = f"load_weights({type(model).__name__})"
    if _is_safetensors(path):
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{what}: no such file {path!r}")
        with _guarded(path, what):
            meta, entries, read = _read_safetensors(path, what, max_bytes)
            state = _weights_to_load(model, meta, entries, read, path, what)
    else:
        path = _resolve(path, what)
        with _guarded(path, what), _Archive(path, what, max_bytes) as archive:
            state = _weights_to_load(model, archive.meta, archive.entries, archive.read_all, path, what)
    try:
        before = model.state_dict()
    except ValueError:  # lazy layers not built yet: nothing to lose
        before = None
    try:
        _load_state(model, state, path, what)
    except ModelFileError:
        if before is not None:
            model.load_state_dict(before)
        raise
    return model
