"""Batching: every sample once per epoch, reshuffled each epoch, reproducible from a seed."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor
from chainrule.data import DataLoader, Dataset, TensorDataset, batches, default_collate


def _arrays(n=10, dtype=np.float32):
    X = np.arange(n * 3, dtype=dtype).reshape(n, 3)
    y = np.arange(n)  # int labels: y[i] == i identifies the sample
    return X, y


def _epoch(loader):
    return [tuple(t.numpy().copy() for t in batch) for batch in loader]


# ----------------------------------------------------------------- TensorDataset
def test_tensor_dataset_indexing_and_length():
    X, y = _arrays()
    ds = TensorDataset(cr.tensor(X), y)
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, X[3])
    assert yi == 3
    xs, ys = ds[[1, 4]]
    assert xs.shape == (2, 3) and ys.tolist() == [1, 4]
    assert ds.tensors[0] is X  # a Tensor is unwrapped, not copied


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"same number of samples.*lengths \[10, 9\]"):
        TensorDataset(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="array 1 is a scalar"):
        TensorDataset(np.zeros(3), np.float32(1.0))
    with pytest.raises(TypeError, match="dtype object"):
        TensorDataset(np.array([{}, {}], dtype=object))


# -------------------------------------------------------------------- DataLoader
def test_batch_shapes_dtypes_and_last_partial_batch():
    X, y = _arrays(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    assert len(loader) == 3
    out = list(loader)
    assert [(xb.shape, yb.shape) for xb, yb in out] == [((4, 3), (4,)), ((4, 3), (4,)), ((2, 3), (2,))]
    for xb, yb in out:
        assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
        assert xb.dtype == np.float32 and yb.dtype == y.dtype
        assert not xb.requires_grad and not yb.requires_grad
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in out]), X)  # in order without shuffle


def test_float64_stays_float64():
    X, y = _arrays(5, np.float64)
    (xb, yb), = DataLoader(TensorDataset(X, y), batch_size=8)
    assert xb.dtype == np.float64 and xb.shape == (5, 3)


def test_drop_last():
    X, y = _arrays(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].shape for b in loader] == [(4, 3), (4, 3)]
    shuffled = DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True, shuffle=True, seed=0)
    assert [b[1].shape for b in shuffled] == [(4,), (4,)]
    assert len(DataLoader(TensorDataset(X, y), batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(TensorDataset(X, y), batch_size=11, drop_last=True)) == 0
    assert list(DataLoader(TensorDataset(X, y), batch_size=11, drop_last=True)) == []


def test_every_sample_once_per_epoch_and_reshuffled_between_epochs():
    X, y = _arrays(37)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, seed=123)
    orders = []
    for _ in range(3):
        batches_ = _epoch(loader)
        assert len(batches_) == len(loader) == 5
        ids = np.concatenate([yb for _, yb in batches_])
        assert sorted(ids.tolist()) == list(range(37))  # each sample exactly once
        for xb, yb in batches_:  # the rows stay paired with their labels
            np.testing.assert_array_equal(xb, X[yb])
        orders.append(ids.tolist())
    assert orders[0] != list(range(37))
    assert orders[0] != orders[1] != orders[2]


def test_same_seed_same_order_and_different_seed_different_order():
    X, y = _arrays(50)

    def run(seed):
        loader = DataLoader(TensorDataset(X, y), batch_size=7, shuffle=True, seed=seed)
        return [np.concatenate([yb.numpy() for _, yb in loader]).tolist() for _ in range(2)]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_without_seed_follows_the_global_generator():
    X, y = _arrays(30)
    loader = DataLoader(TensorDataset(X, y), batch_size=30, shuffle=True)
    cr.manual_seed(9)
    first = next(iter(loader))[1].numpy().tolist()
    cr.manual_seed(9)
    assert next(iter(loader))[1].numpy().tolist() == first
    assert next(iter(loader))[1].numpy().tolist() != first


def test_each_iter_draws_its_order_immediately():
    X, y = _arrays(20)
    loader = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True, seed=0)
    it1, it2 = iter(loader), iter(loader)  # drawn in this order, whatever order they are consumed in
    second = next(it2)[1].numpy().tolist()
    first = next(it1)[1].numpy().tolist()
    fresh = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True, seed=0)
    assert [b[1].numpy().tolist() for b in (next(iter(fresh)), next(iter(fresh)))] == [first, second]


class Squares(Dataset):
    """A generic map-style dataset: sample i is (a vector, a Python float, an int)."""

    def __init__(self, n):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        self.calls += 1
        return np.full(2, i, dtype=np.float64), float(i * i), i


def test_generic_dataset_path_stacks_samples():
    ds = Squares(7)
    loader = DataLoader(ds, batch_size=3, shuffle=True, seed=1)
    seen = []
    for vec, sq, idx in loader:
        assert vec.dtype == np.float64 and vec.shape[1:] == (2,)
        assert sq.dtype == cr.get_default_dtype()  # Python floats take chainrule's default dtype
        np.testing.assert_array_equal(sq.numpy(), idx.numpy() ** 2)
        np.testing.assert_array_equal(vec.numpy()[:, 0], idx.numpy())
        seen += idx.numpy().tolist()
    assert sorted(seen) == list(range(7)) and ds.calls == 7


def test_tensor_dataset_uses_whole_array_indexing(monkeypatch):
    X, y = _arrays(12)
    ds = TensorDataset(X, y)
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, i: pytest.fail("per-sample __getitem__"))
    assert sum(len(yb.numpy()) for _, yb in DataLoader(ds, batch_size=5, shuffle=True, seed=0)) == 12
    assert sum(len(yb.numpy()) for _, yb in DataLoader(ds, batch_size=5)) == 12


def test_default_collate_dicts_and_single_arrays():
    batch = default_collate([{"x": np.zeros(2), "y": 1}, {"x": np.ones(2), "y": 0}])
    assert set(batch) == {"x", "y"} and batch["x"].shape == (2, 2) and batch["y"].numpy().tolist() == [1, 0]
    single = default_collate([np.zeros(3), np.ones(3)])
    assert isinstance(single, Tensor) and single.shape == (2, 3)


def test_loader_errors():
    ds = TensorDataset(*_arrays(4))
    for bad in (0, -1, 2.5, True, None):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(ValueError, match=r"cannot stack.*shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="tuple of 2 items"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate(["a", "b"])


# ----------------------------------------------------------------------- batches
def test_batches_helper():
    assert [b.tolist() for b in batches(7, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in batches(7, 3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert list(batches(0, 3)) == []
    a = np.concatenate(list(batches(20, 6, shuffle=True, rng=np.random.default_rng(0))))
    b = np.concatenate(list(batches(20, 6, shuffle=True, rng=np.random.default_rng(0))))
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(20)) and a.tolist() != list(range(20))
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        batches(-1, 2)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        batches(5, 0)
