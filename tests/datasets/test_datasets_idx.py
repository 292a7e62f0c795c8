import gzip
import io

import numpy as np
import pytest

from chainrule.datasets import read_idx, write_idx


def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


@pytest.mark.parametrize(
    "dtype",
    [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64],
)
def test_roundtrip_every_type(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype is np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / "a.idx"
    write_idx(p, arr)
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype)
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_hand_built_big_endian_int32_file(tmp_path):
    # 0x0C = int32, 1 dim of size 3, big-endian values 1, 256, -2
    raw = _header(0x0C, [3]) + np.array([1, 256, -2], dtype=">i4").tobytes()
    p = tmp_path / "ints"
    p.write_bytes(raw)
    np.testing.assert_array_equal(read_idx(p), [1, 256, -2])
    # the written form of the same data is byte-identical
    buf = io.BytesIO()
    write_idx(buf, np.array([1, 256, -2], dtype=np.int32))
    assert buf.getvalue() == raw


def test_gzip_detected_by_magic_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    buf = io.BytesIO()
    write_idx(buf, arr)
    p = tmp_path / "looks-raw.idx"  # no .gz suffix, but gzip content
    p.write_bytes(gzip.compress(buf.getvalue()))
    np.testing.assert_array_equal(read_idx(p), arr)
    # .gz suffix but raw content also works
    q = tmp_path / "looks-compressed.gz"
    q.write_bytes(buf.getvalue())
    np.testing.assert_array_equal(read_idx(q), arr)


def test_write_gz_suffix_compresses(tmp_path):
    p = tmp_path / "x-idx1-ubyte.gz"
    write_idx(p, np.array([5, 6], dtype=np.uint8))
    assert p.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(p), [5, 6])
    # no temporary files are left behind
    assert [f.name for f in tmp_path.iterdir()] == ["x-idx1-ubyte.gz"]


def test_read_from_file_object_and_bytesio(tmp_path):
    p = tmp_path / "f.idx"
    write_idx(p, np.array([[1.5, -2.0]], dtype=np.float32))
    with open(p, "rb") as fh:
        np.testing.assert_array_equal(read_idx(fh), [[1.5, -2.0]])
    np.testing.assert_array_equal(read_idx(io.BytesIO(p.read_bytes())), [[1.5, -2.0]])


def test_multi_member_gzip(tmp_path):
    buf = io.BytesIO()
    write_idx(buf, np.arange(10, dtype=np.uint8))
    raw = buf.getvalue()
    p = tmp_path / "multi"
    p.write_bytes(gzip.compress(raw[:7]) + gzip.compress(raw[7:]))
    np.testing.assert_array_equal(read_idx(p), np.arange(10))


def test_truncated_data(tmp_path):
    p = tmp_path / "trunc-idx3-ubyte"
    p.write_bytes(_header(0x08, [2, 2, 2]) + bytes(5))
    with pytest.raises(ValueError, match=r"trunc-idx3-ubyte: truncated IDX data.*needs 8 data bytes, got 5"):
        read_idx(p)


def test_trailing_bytes(tmp_path):
    p = tmp_path / "long"
    p.write_bytes(_header(0x08, [2]) + bytes(3))
    with pytest.raises(ValueError, match=r"trailing bytes.*needs 2 data bytes, got 3"):
        read_idx(p)


def test_truncated_header(tmp_path):
    p = tmp_path / "hdr"
    p.write_bytes(bytes([0, 0, 8, 3]) + bytes(6))
    with pytest.raises(ValueError, match=r"hdr: truncated IDX header: 3 dimensions need 16 header bytes, got 10"):
        read_idx(p)


def test_too_short_for_magic(tmp_path):
    p = tmp_path / "tiny"
    p.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match=r"tiny: not an IDX file.*got only 2 byte"):
        read_idx(p)


def test_truncated_gzip(tmp_path):
    buf = io.BytesIO()
    write_idx(buf, np.arange(200, dtype=np.uint8))
    blob = gzip.compress(buf.getvalue())
    p = tmp_path / "cut.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz: .*truncated gzip"):
        read_idx(p)


def test_corrupt_gzip(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(b"\x1f\x8b" + b"\xff" * 30)
    with pytest.raises(ValueError, match=r"bad\.gz: corrupt or truncated gzip"):
        read_idx(p)


def test_foreign_file_wrong_magic(tmp_path):
    p = tmp_path / "picture.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(ValueError, match=r"picture\.png: not an IDX file.*two zero bytes, got 0x89504e47"):
        read_idx(p)


def test_unknown_type_code(tmp_path):
    p = tmp_path / "code"
    p.write_bytes(bytes([0, 0, 0x07, 1]) + np.array([1], ">u4").tobytes() + b"\x00")
    with pytest.raises(ValueError, match=r"unknown IDX type code 0x07.*0x08 \(unsigned byte\)"):
        read_idx(p)


def test_zero_dimensions(tmp_path):
    p = tmp_path / "nodims"
    p.write_bytes(bytes([0, 0, 0x08, 0]))
    with pytest.raises(ValueError, match=r"0 dimensions; expected at least 1"):
        read_idx(p)


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"path .* or a binary file object, got int"):
        read_idx(42)
    with pytest.raises(TypeError, match=r"supports dtypes .* got bool"):
        write_idx(io.BytesIO(), np.array([True]))
    with pytest.raises(TypeError, match=r"got complex128"):
        write_idx(io.BytesIO(), np.array([1j]))
    with pytest.raises(ValueError, match=r"1 to 255 dimensions, got 0"):
        write_idx(io.BytesIO(), np.uint8(3))
    with pytest.raises(TypeError, match=r"got text mode|opened in text mode"):
        read_idx(io.StringIO("abc"))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    import os

    p = tmp_path / "keep.idx"
    write_idx(p, np.array([1], dtype=np.uint8))

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_idx(p, np.array([2, 3], dtype=np.uint8))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_idx(p), [1])
    assert [f.name for f in tmp_path.iterdir()] == ["keep.idx"]
