"""Fuzz targets for the readers of untrusted files, shared by the short run in the test suite
(tests/fuzz/test_fuzz.py) and the long one with atheris (tests/fuzz/fuzz.py, ``make fuzz``).

Each target takes arbitrary bytes and must either succeed or raise the reader's own error type
(a ValueError subclass naming the file): anything else -- a KeyError, a RecursionError, a
MemoryError, a numpy traceback -- is a finding.  ``seeds(name)`` gives valid files to mutate, and
``mutate`` the deterministic mutations the short run applies to them.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import random
import tempfile
import warnings

import numpy as np

#: What each target may raise (besides succeeding).
ALLOWED = {}
_TMP = tempfile.mkdtemp(prefix="chainrule-fuzz-")


def _temp_file(data, name):
    path = os.path.join(_TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ------------------------------------------------------------------------------- targets
def model_loader(data: bytes):
    from chainrule.io import load_model, read_metadata
    path = _temp_file(data, "model.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_metadata(path)
        load_model(path)


def idx_reader(data: bytes):
    from chainrule.datasets import read_idx
    read_idx(io.BytesIO(data), max_bytes=1 << 24)


def cifar_reader(data: bytes):
    from chainrule.datasets import read_cifar10_batch
    read_cifar10_batch(io.BytesIO(data), max_bytes=1 << 24)


def csv_reader(data: bytes):
    from chainrule.cli.commands import _read_csv_rows
    _read_csv_rows(_temp_file(data, "input.csv"), quiet=True)


def _weights_model():
    from chainrule import nn
    return nn.Sequential([nn.Dense(3, input_dim=2), nn.BatchNormalization(), nn.Dense(1)])  # built: input_dim


def safetensors_reader(data: bytes):
    from chainrule.io import load_weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_weights(_weights_model(), _temp_file(data, "weights.safetensors"), max_bytes=1 << 24)


def torch_loader(data: bytes):
    import chainrule.torch as torch
    torch.load(_temp_file(data, "state.pt"), max_bytes=1 << 24)


TARGETS = {"model": model_loader, "idx": idx_reader, "cifar": cifar_reader, "csv": csv_reader,
           "safetensors": safetensors_reader, "torch": torch_loader}


def allowed(name):
    """The exception types target ``name`` may raise."""
    if not ALLOWED:
        from chainrule.cli.config import RunError
        from chainrule.datasets import DatasetFileError
        from chainrule.io import ModelFileError
        ALLOWED.update(model=(ModelFileError,), idx=(DatasetFileError,), cifar=(DatasetFileError,),
                       csv=(RunError,), safetensors=(ModelFileError,), torch=(ModelFileError,))
    return ALLOWED[name]


def run_one(name, data):
    """Run target ``name`` on ``data``; return None, or the unexpected exception it raised."""
    try:
        TARGETS[name](data)
    except allowed(name):
        return None
    except Exception as err:  # noqa: BLE001 - a finding
        return err
    return None


# --------------------------------------------------------------------------------- seeds
def _model_file(model, compile_with=None):
    from chainrule.io import save_model
    if compile_with:
        model.compile(optimizer=compile_with, loss="mse")
        model.fit(np.ones((4, model.layers[0].kernel.shape[0]), np.float32), np.zeros((4, 1)), epochs=1,
                  verbose=0)
    buf_path = os.path.join(_TMP, "seed.npz")
    save_model(model, buf_path)
    with open(buf_path, "rb") as f:
        return f.read()


def _with_meta(blob, edit):
    """The model file ``blob`` with its JSON description changed by ``edit(meta)`` (a valid archive)."""
    with np.load(io.BytesIO(blob)) as f:
        arrays = dict(f)
    meta = json.loads(arrays["__meta__"].tobytes().decode())
    edit(meta)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def seeds(name):
    """Valid inputs for target ``name`` (the starting points of mutation)."""
    if name == "model":
        import chainrule as cr
        from chainrule import nn
        cr.manual_seed(0)
        plain = _model_file(nn.Sequential([nn.Dense(3, activation="tanh", input_dim=2), nn.Dense(1)]))
        bn = _model_file(nn.Sequential([nn.Dense(3, input_dim=2), nn.BatchNormalization(), nn.Dropout(0.2, seed=1),
                                        nn.Dense(1)]), compile_with="adam")
        inp = nn.Input(shape=(2,))  # a functional graph: its config names layers and nodes
        a = nn.Dense(3, activation="relu")(inp)
        graph = nn.Model(inp, nn.Dense(1)(nn.Concatenate()([a, nn.Add()([a, nn.Dense(3)(inp)])])))
        graph.compile(optimizer="adam", loss="mse")
        graph.fit(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32), epochs=1, verbose=0)
        return [plain, bn, _model_file(graph)]
    if name == "idx":
        from chainrule.datasets import write_idx
        out = []
        for arr in (np.arange(12, dtype=np.uint8).reshape(3, 4), np.array([1.5, -2.0], np.float32)):
            buf = io.BytesIO()
            write_idx(buf, arr)
            out += [buf.getvalue(), gzip.compress(buf.getvalue(), mtime=0)]
        return out
    if name == "cifar":
        rec = np.concatenate([[3], np.arange(3072) % 256]).astype(np.uint8).tobytes()
        return [rec, rec * 2]
    if name == "safetensors":
        from chainrule.io import save_weights
        path = save_weights(_weights_model(), os.path.join(_TMP, "seed.safetensors"))
        with open(path, "rb") as f:
            ours = f.read()
        from safetensors.numpy import save
        foreign = save({k: np.ascontiguousarray(v) for k, v in _weights_model().state_dict().items()})  # no metadata
        return [ours, foreign]
    if name == "torch":
        import chainrule.torch as torch
        path = os.path.join(_TMP, "seed.pt")
        torch.save(_weights_model().state_dict(), path)
        with open(path, "rb") as f:
            state = f.read()
        torch.save(torch.arange(3), path)
        with open(path, "rb") as f:
            return [state, f.read()]
    if name == "csv":
        return [b"1,2\n3,4\n", b"x,y\r\n1.5,-2e3\r\n\r\n3,4\r\n", b"\xef\xbb\xbfa\n1\n2\n", b'"1","2"\n3,4\n']
    raise KeyError(name)


# ------------------------------------------------------------------------------ mutation
_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, ord("["), ord("{"), ord('"'), ord(","), ord("\r"), ord("\n"))
_VALUES = (None, -1, 0, 1e308, float("inf"), 10 ** 12, "x", [], {}, True, [[[]]], "nan", -0.5, 2 ** 31)


def _mutate_bytes(data, rng):
    b = bytearray(data)
    kind = rng.randrange(6)
    if not b or kind == 0:  # insert
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = bytes(rng.choice(_INTERESTING) for _ in range(rng.randint(1, 8)))
    elif kind == 1:  # flip bits
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 2:  # interesting bytes
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.choice(_INTERESTING)
    elif kind == 3:  # truncate
        del b[rng.randrange(len(b)):]
    elif kind == 4:  # duplicate a chunk
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 64))
        b[i:i] = b[i:j]
    else:  # a 32-bit field set to an extreme (sizes, counts, dimensions)
        if len(b) >= 4:
            i = rng.randrange(len(b) - 3)
            b[i:i + 4] = rng.choice((b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00",
                                     b"\x00\x00\x01\x00"))
    return bytes(b)


def _mutate_json(meta, rng):
    """Replace one random leaf (or container) of the JSON description by a hostile value."""
    paths = []

    def walk(node, trail):
        paths.append(trail)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, trail + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, trail + [i])
    walk(meta, [])
    trail = rng.choice(paths[1:])
    node = meta
    for k in trail[:-1]:
        node = node[k]
    node[trail[-1]] = rng.choice(_VALUES)


def mutate(name, seed, rng):
    """One mutation of ``seed`` for target ``name``: of its bytes, or (for model files) of its JSON."""
    if name == "model" and rng.random() < 0.6:
        try:
            return _with_meta(seed, lambda meta: _mutate_json(meta, rng))
        except Exception:  # noqa: BLE001 - not a readable archive any more: mutate its bytes
            pass
    return _mutate_bytes(seed, rng)


def corpus(name, n, seed=0):
    """The seeds of target ``name`` and ``n`` deterministic mutations of them."""
    rng = random.Random(seed)
    base = seeds(name)
    out = list(base)
    for _ in range(n):
        data = rng.choice(base)
        for _ in range(rng.randint(1, 3)):
            data = mutate(name, data, rng)
        out.append(data)
    return out
