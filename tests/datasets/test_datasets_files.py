import hashlib
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import chainrule.datasets.files as files
from chainrule.datasets import (
    DATASETS,
    DatasetNotFoundError,
    available,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    locate,
    search_dirs,
    write_idx,
)

STEMS = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data anywhere: empty env var, cache and Debian folder under tmp_path."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(files, "DEBIAN_DATA_DIR", tmp_path / "debian")

    def no_network(url, timeout=60.0):
        raise AssertionError(f"tests must not download: {url}")

    monkeypatch.setattr(files, "_fetch", no_network)
    return tmp_path


def make_idx_set(folder, n_train=6, n_test=3, gz=True, size=28, seed=0):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = {
        "train_x": rng.integers(0, 256, size=(n_train, size, size), dtype=np.uint8),
        "train_y": (np.arange(n_train) % 10).astype(np.uint8),
        "test_x": rng.integers(0, 256, size=(n_test, size, size), dtype=np.uint8),
        "test_y": (9 - np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, arr in data.items():
        write_idx(folder / (STEMS[key] + (".gz" if gz else "")), arr)
    return data


def test_load_fashion_mnist_from_path(isolated):
    data = make_idx_set(isolated / "fm")
    (X, y), (Xt, yt) = load_fashion_mnist(path=isolated / "fm")
    assert X.dtype == np.uint8 and X.shape == (6, 28, 28)
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_array_equal(X, data["train_x"])
    np.testing.assert_array_equal(Xt, data["test_x"])
    assert yt.tolist() == [9, 8, 7]


def test_raw_uncompressed_files_and_dataset_subfolder(isolated):
    data = make_idx_set(isolated / "root" / "mnist", gz=False)
    (X, y), _ = load_mnist(path=isolated / "root")
    np.testing.assert_array_equal(X, data["train_x"])


def test_search_order_env_then_cache_then_debian(isolated, monkeypatch):
    deb = make_idx_set(isolated / "debian" / "fashion-mnist", n_train=1)
    assert len(load_fashion_mnist()[0][1]) == 1
    cache = make_idx_set(isolated / "xdg" / "chainrule" / "fashion_mnist", n_train=2)
    assert len(load_fashion_mnist()[0][1]) == 2
    make_idx_set(isolated / "env" / "fashion-mnist", n_train=3)
    monkeypatch.setenv("CHAINRULE_DATA", str(isolated / "env"))
    assert len(load_fashion_mnist()[0][1]) == 3
    make_idx_set(isolated / "arg", n_train=4)
    assert len(load_fashion_mnist(path=isolated / "arg")[0][1]) == 4
    assert locate("fashion_mnist") == isolated / "env" / "fashion-mnist"
    dirs = search_dirs("fashion_mnist", path=isolated / "arg")
    assert dirs[0] == isolated / "arg"
    assert dirs.index(isolated / "env") < dirs.index(isolated / "xdg" / "chainrule" / "fashion_mnist")
    assert dirs[-1] == isolated / "debian" / "fashion-mnist"
    assert deb and cache  # built


def test_cache_dir_honours_xdg(isolated, monkeypatch):
    assert files.cache_dir() == isolated / "xdg" / "chainrule"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert files.cache_dir() == Path.home() / ".cache" / "chainrule"


def test_not_found_message_lists_every_folder(isolated, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(isolated / "envdir"))
    partial = isolated / "partial"
    partial.mkdir()
    write_idx(partial / "train-images-idx3-ubyte.gz", np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist(path=partial)
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for folder in search_dirs("fashion_mnist", path=partial):
        assert str(folder) in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "CHAINRULE_DATA" in msg
    assert f"{partial}  (incomplete: missing train-labels-idx1-ubyte[.gz]" in msg
    assert "train-images-idx3-ubyte[.gz]" in msg

    with pytest.raises(DatasetNotFoundError, match=r"download=True"):
        load_mnist()
    with pytest.raises(DatasetNotFoundError, match=r"cifar-10-binary\.tar\.gz"):
        load_cifar10()


def test_label_image_count_mismatch(isolated):
    folder = isolated / "bad"
    make_idx_set(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"5 labels but .*train-images-idx3-ubyte\.gz has 6 images"):
        load_fashion_mnist(path=folder)


def test_wrong_dims_and_types(isolated):
    folder = isolated / "dims"
    make_idx_set(folder)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((3, 784), np.uint8))
    with pytest.raises(ValueError, match=r"expected unsigned-byte images of shape \(n, rows, cols\), got dtype uint8 with shape \(3, 784\)"):
        load_fashion_mnist(path=folder)
    make_idx_set(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(6, np.int32))
    with pytest.raises(ValueError, match=r"expected unsigned-byte labels of shape \(n,\), got dtype int32"):
        load_fashion_mnist(path=folder)
    make_idx_set(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(6, 12, np.uint8))
    with pytest.raises(ValueError, match=r"labels must be in 0 .. 9, found 12"):
        load_fashion_mnist(path=folder)


def test_truncated_file_in_dataset(isolated):
    folder = isolated / "trunc"
    make_idx_set(folder, gz=False)
    p = folder / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: truncated IDX data"):
        load_mnist(path=folder)


# ---------------------------------------------------------------- download


def _fake_mnist_payloads():
    import gzip
    import io

    payloads = {}
    arrays = {
        "train-images-idx3-ubyte.gz": np.full((4, 28, 28), 1, np.uint8),
        "train-labels-idx1-ubyte.gz": np.array([1, 2, 3, 4], np.uint8),
        "t10k-images-idx3-ubyte.gz": np.full((2, 28, 28), 2, np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([5, 6], np.uint8),
    }
    for name, arr in arrays.items():
        buf = io.BytesIO()
        write_idx(buf, arr)
        payloads[name] = gzip.compress(buf.getvalue(), mtime=0)
    return payloads


def test_download_verifies_and_writes_into_cache(isolated, monkeypatch):
    payloads = _fake_mnist_payloads()
    monkeypatch.setattr(
        files, "MNIST_SHA256", {k: hashlib.sha256(v).hexdigest() for k, v in payloads.items()}
    )
    calls = []

    def fake_fetch(url, timeout=60.0):
        calls.append(url)
        assert url.startswith("https://")
        return payloads[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(files, "_fetch", fake_fetch)
    (X, y), (Xt, yt) = load_mnist(download=True)
    assert y.tolist() == [1, 2, 3, 4] and yt.tolist() == [5, 6]
    assert X.shape == (4, 28, 28) and int(Xt[0, 0, 0]) == 2
    cache = isolated / "xdg" / "chainrule" / "mnist"
    assert sorted(os.listdir(cache)) == sorted(payloads)
    assert len(calls) == 4
    # second call finds the cached files and fetches nothing
    load_mnist(download=True)
    assert len(calls) == 4


def test_download_rejects_bad_checksum_and_keeps_nothing(isolated, monkeypatch):
    payloads = _fake_mnist_payloads()
    # real constants stay in place; the fake bodies cannot match them
    seen = []

    def fake_fetch(url, timeout=60.0):
        seen.append(url)
        return payloads[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(files, "_fetch", fake_fetch)
    with pytest.raises(ValueError, match=r"SHA-256 mismatch: expected 440fcabf.*, got [0-9a-f]{64}"):
        load_mnist(download=True)
    assert len(seen) == len(files.MNIST_MIRRORS)  # every mirror tried for the first file
    cache = isolated / "xdg" / "chainrule" / "mnist"
    assert list(cache.iterdir()) == []


def test_download_falls_back_to_next_mirror(isolated, monkeypatch):
    payloads = _fake_mnist_payloads()
    monkeypatch.setattr(
        files, "MNIST_SHA256", {k: hashlib.sha256(v).hexdigest() for k, v in payloads.items()}
    )

    def flaky(url, timeout=60.0):
        if url.startswith(files.MNIST_MIRRORS[0]):
            raise urllib.error.URLError("unreachable")
        return payloads[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(files, "_fetch", flaky)
    (_, y), _ = load_mnist(download=True)
    assert y.tolist() == [1, 2, 3, 4]


def test_download_network_failure_is_oserror(isolated, monkeypatch):
    def down(url, timeout=60.0):
        raise urllib.error.URLError("no route")

    monkeypatch.setattr(files, "_fetch", down)
    with pytest.raises(OSError, match=r"(?s)could not download train-images-idx3-ubyte\.gz.*no route"):
        files.download_mnist()


def test_fetch_refuses_plain_http():
    with pytest.raises(ValueError, match="non-HTTPS"):
        files._fetch("http://example.invalid/x")


def test_real_mnist_constants_are_well_formed():
    assert sorted(files.MNIST_SHA256) == sorted(s + ".gz" for s in STEMS.values())
    for digest in files.MNIST_SHA256.values():
        assert len(digest) == 64 and int(digest, 16) >= 0
    assert all(m.startswith("https://") and m.endswith("/") for m in files.MNIST_MIRRORS)


# ---------------------------------------------------------------- CIFAR-10


def make_cifar(folder, counts=(2, 1, 1, 1, 1), n_test=2):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    label = 0
    for i, n in enumerate(counts, start=1):
        recs = []
        for _ in range(n):
            img = np.zeros((3, 32, 32), np.uint8)
            img[0] = label  # red plane = label, green = 100, blue = 200
            img[1] = 100
            img[2] = 200
            img[0, 0, 1] = 7  # a marker at row 0, column 1 of the red plane
            recs.append(np.concatenate([[label], img.ravel()]).astype(np.uint8))
            label = (label + 1) % 10
        np.concatenate(recs).tofile(folder / f"data_batch_{i}.bin")
    recs = [np.concatenate([[9], np.full(3072, 50)]).astype(np.uint8) for _ in range(n_test)]
    np.concatenate(recs).tofile(folder / "test_batch.bin")


def test_load_cifar10_layout(isolated):
    make_cifar(isolated / "c" / "cifar-10-batches-bin")
    (X, y), (Xt, yt) = load_cifar10(path=isolated / "c")
    assert X.shape == (6, 32, 32, 3) and X.dtype == np.uint8
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 4, 5]
    # channels last: pixel (r, c) is (R, G, B)
    assert X[3, 5, 5].tolist() == [3, 100, 200]
    assert X[3, 0, 1, 0] == 7 and X[3, 1, 0, 0] == 3
    assert Xt.shape == (2, 32, 32, 3) and yt.tolist() == [9, 9]
    assert X.flags.c_contiguous


def test_cifar_bad_size(isolated):
    folder = isolated / "c"
    make_cifar(folder)
    with open(folder / "data_batch_3.bin", "ab") as fh:
        fh.write(b"\x00" * 10)
    with pytest.raises(ValueError, match=r"data_batch_3\.bin: size 3083 bytes is not a positive multiple of .* 3073.*10 byte\(s\) left over"):
        load_cifar10(path=folder)
    (folder / "data_batch_3.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"size 0 bytes"):
        load_cifar10(path=folder)


def test_cifar_bad_label(isolated):
    folder = isolated / "c"
    make_cifar(folder)
    rec = np.concatenate([[10], np.zeros(3072)]).astype(np.uint8)
    rec.tofile(folder / "test_batch.bin")
    with pytest.raises(ValueError, match=r"test_batch\.bin: CIFAR-10 labels must be in 0 .. 9, found 10"):
        load_cifar10(path=folder)


# ---------------------------------------------------------------- registry


def test_registry_entries():
    expected = {"digits", "breast_cancer", "moons", "xor", "and", "or", "franke", "sine",
                "fashion_mnist", "mnist", "cifar10"}
    assert set(DATASETS) == expected
    for name, info in DATASETS.items():
        assert info.name == name
        assert info.task in ("classification", "regression")
        assert info.description and "\n" not in info.description
        assert callable(info.loader)
    assert DATASETS["franke"].task == "regression" and DATASETS["sine"].task == "regression"
    X, y = DATASETS["xor"].load()
    assert y.tolist() == [0, 1, 1, 0]
    X, y = DATASETS["sine"].load(n=5, seed=0)
    assert X.shape == (5, 1)
    assert DATASETS["mnist"].presplit and not DATASETS["moons"].presplit


def test_available_without_loading(isolated, monkeypatch):
    folder = isolated / "debian" / "fashion-mnist"
    folder.mkdir(parents=True)
    for stem in STEMS.values():  # empty files: available() must not read them
        (folder / (stem + ".gz")).touch()
    status = available()
    assert status["fashion_mnist"].present is True
    assert status["fashion_mnist"].location == str(folder)
    assert status["mnist"] == (False, None)
    assert status["cifar10"] == (False, None)
    assert status["digits"] == (True, None)
    present, where = status["moons"]
    assert present and where is None
    assert DATASETS["fashion_mnist"].locate() == folder
    assert DATASETS["digits"].locate() is None


# ---------------------------------------------------------------- real data (optional)

REAL = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (REAL / "train-images-idx3-ubyte.gz").is_file(),
                    reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_if_installed(monkeypatch):
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    (X, y), (Xt, yt) = load_fashion_mnist(path=REAL)
    assert X.shape == (60000, 28, 28) and Xt.shape == (10000, 28, 28)
    assert X.dtype == np.uint8
    assert np.bincount(y).tolist() == [6000] * 10
    assert np.bincount(yt).tolist() == [1000] * 10
