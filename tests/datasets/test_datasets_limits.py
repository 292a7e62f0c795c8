"""Hostile IDX and CIFAR files: the header is checked against the declared total before anything is
decompressed beyond it, every failure is a DatasetFileError naming the file, memory stays bounded."""
import gzip
import io
import os
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest

from chainrule import cli
from chainrule.datasets import DatasetFileError, read_cifar10_batch, read_idx, write_idx
from chainrule.datasets import idx as idx_module

BUDGET = 16 * 2 ** 20


def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


def _gzip_stream(path, head, zeros):
    """A gzip file of ``head`` followed by ``zeros`` zero bytes, compressed in chunks (little memory)."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    chunk = bytes(2 ** 20)
    with open(path, "wb") as f:
        f.write(c.compress(head))
        for _ in range(zeros // len(chunk)):
            f.write(c.compress(chunk))
        f.write(c.flush())
    return path


def _within_budget(call, match, error=DatasetFileError):
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BUDGET, f"refusing the file cost {peak / 2 ** 20:.0f} MB"


def test_a_gzip_whose_header_says_5_bytes_is_not_inflated_further(tmp_path):
    # 5 bytes of labels followed by 32 MB of zeros, about 32 KB compressed
    p = _gzip_stream(tmp_path / "labels-idx1-ubyte.gz", _header(0x08, [5]) + bytes(5), 32 * 2 ** 20)
    assert os.path.getsize(p) < 2 ** 20
    _within_budget(lambda: read_idx(p), r"labels-idx1-ubyte\.gz: trailing bytes after IDX data: shape \(5,\) of "
                                        r"unsigned byte needs 5 data bytes, got more than 1048581")


def test_a_declared_size_beyond_the_limit_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(_header(0x08, [2 ** 31, 2, 2]) + bytes(100)))
    _within_budget(lambda: read_idx(p), r"huge-idx3-ubyte\.gz: the IDX header declares shape \(2147483648, 2, 2\) "
                                        r"of unsigned byte \(8\.6 GB\), more than the limit of 4\.3 GB")
    # a raw file: its size is compared with the header before the data is read
    q = tmp_path / "raw-idx1-ubyte"
    q.write_bytes(_header(0x08, [10 ** 9]) + bytes(10))
    _within_budget(lambda: read_idx(q), r"raw-idx1-ubyte: truncated IDX data: .* needs 1000000000 data bytes, got 10")


def test_the_limit_is_configurable(tmp_path):
    p = tmp_path / "a.gz"
    write_idx(p, np.arange(100, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(p, max_bytes=100), np.arange(100))
    with pytest.raises(DatasetFileError, match=r"a\.gz: .*\(100 bytes\), more than the limit of 99 bytes"):
        read_idx(p, max_bytes=99)
    old = idx_module.MAX_BYTES
    idx_module.MAX_BYTES = 50
    try:
        with pytest.raises(DatasetFileError, match="limit of 50 bytes"):
            read_idx(p)
    finally:
        idx_module.MAX_BYTES = old
    with pytest.raises(ValueError, match="max_bytes must be a non-negative integer"):
        read_idx(p, max_bytes=-5)


def test_streams_and_pipes_are_read_within_the_limit(tmp_path):
    raw = _header(0x08, [3]) + bytes([1, 2, 3])
    np.testing.assert_array_equal(read_idx(io.BytesIO(gzip.compress(raw))), [1, 2, 3])
    np.testing.assert_array_equal(read_idx(io.BytesIO(raw)), [1, 2, 3])
    with pytest.raises(DatasetFileError, match=r"trailing bytes.*needs 3 data bytes, got 5"):
        read_idx(io.BytesIO(raw + b"xy"))
    # zero padding after the last gzip member is allowed, as gzip allows it; garbage is not
    np.testing.assert_array_equal(read_idx(io.BytesIO(gzip.compress(raw) + bytes(7))), [1, 2, 3])
    with pytest.raises(DatasetFileError, match="corrupt or truncated gzip"):
        read_idx(io.BytesIO(gzip.compress(raw) + b"junk"))
    r, w = os.pipe()
    os.write(w, raw)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        np.testing.assert_array_equal(read_idx(f), [1, 2, 3])


def test_every_idx_failure_is_a_dataset_file_error(tmp_path):
    cases = {"empty": b"", "magic": b"\x01\x02\x08\x01", "code": bytes([0, 0, 7, 1, 0, 0, 0, 1, 0]),
             "dims": bytes([0, 0, 8, 3, 0, 0]), "gz": b"\x1f\x8b" + b"\xff" * 20,
             "cut": gzip.compress(_header(0x08, [100]) + bytes(100))[:30]}
    for name, blob in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        with pytest.raises(DatasetFileError, match=rf"{name}: "):
            read_idx(p)


def test_cifar_batches_are_bounded_and_named(tmp_path):
    record = np.concatenate([[3], np.zeros(3072)]).astype(np.uint8).tobytes()
    p = tmp_path / "data_batch_1.bin"
    p.write_bytes(record * 4)
    X, y = read_cifar10_batch(p)
    assert X.shape == (4, 32, 32, 3) and y.tolist() == [3, 3, 3, 3]
    _within_budget(lambda: read_cifar10_batch(p, max_bytes=3 * 3073),
                   r"data_batch_1\.bin: 12\.3 KB, more than the limit of 9\.2 KB")
    _within_budget(lambda: read_cifar10_batch(io.BytesIO(record * 4), max_bytes=3 * 3073), "more than the limit")
    with pytest.raises(DatasetFileError, match=r"left over"):
        read_cifar10_batch(io.BytesIO(record[:-1]))
    with pytest.raises(DatasetFileError, match=r"labels must be in 0 \.\. 9, found 200"):
        read_cifar10_batch(io.BytesIO(bytes([200]) + record[1:]))


def test_interrupted_writes_leave_nothing_behind(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".x-idx1-ubyte.gz.{dead}.k2j4h5g6.part"
    stale.write_bytes(bytes(100))
    write_idx(tmp_path / "x-idx1-ubyte.gz", np.arange(3, dtype=np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["x-idx1-ubyte.gz"]


def test_the_cli_reports_a_damaged_data_file_in_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for split, n in (("train", 20), ("t10k", 5)):
        write_idx(data / f"{split}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
        write_idx(data / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    _gzip_stream(data / "t10k-labels-idx1-ubyte.gz", _header(0x08, [5]) + bytes(5), 4 * 2 ** 20)
    code = cli.main(["train", "--dataset", "mnist", "--data-dir", str(data), "--epochs", "1", "--quiet",
                     "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "\n" not in err and "Traceback" not in err
    assert "t10k-labels-idx1-ubyte.gz: trailing bytes after IDX data" in err
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")
