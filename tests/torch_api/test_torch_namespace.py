"""chainrule.torch: PyTorch's names with PyTorch's semantics (compared with torch itself in
tests/test_keras_torch_oracles.py)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.torch as torch
import chainrule.torch.nn as nn
import chainrule.torch.nn.functional as F
import chainrule.torch.optim as optim
from chainrule.torch.optim import lr_scheduler
from chainrule.torch.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from chainrule.torch.vision import datasets, transforms


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


# ------------------------------------------------------------------ tensors and the top level
def test_dtypes_and_creation():
    assert torch.float32 == np.float32 and torch.long == np.int64 and torch.int64 is torch.long
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.dtype == torch.float32 and torch.tensor([1, 2]).dtype == torch.int64
    assert torch.tensor(np.zeros(2)).dtype == torch.float64            # NumPy arrays keep their dtype
    a = np.arange(3.0)
    t = torch.from_numpy(a)
    a[0] = 9.0
    assert t[0].item() == 9.0                                           # shares memory
    c = torch.tensor(a)
    a[1] = 7.0
    assert c[1].item() == 1.0                                           # torch.tensor copies
    assert torch.arange(12).reshape(4, 3).dtype == torch.int64 and torch.arange(0, 1, 0.5).tolist() == [0, 0.5]
    assert torch.linspace(0, 1, 5).shape == (5,) and torch.zeros(2, 3).shape == (2, 3) == torch.ones((2, 3)).shape
    assert torch.FloatTensor([[1, 2]]).dtype == torch.float32 and torch.LongTensor([1.0]).dtype == torch.int64
    assert torch.FloatTensor(2, 3).shape == (2, 3) and torch.full((2,), 3).dtype == torch.int64
    torch.manual_seed(1)
    r1 = torch.randn(3)
    torch.manual_seed(1)
    assert torch.equal(r1, torch.randn(3)) and torch.rand(4).numpy().max() < 1
    assert torch.randint(0, 5, (10,)).dtype == torch.int64 and sorted(torch.randperm(4).tolist()) == [0, 1, 2, 3]
    g = torch.Generator().manual_seed(3)
    assert torch.equal(torch.randn(2, generator=g), torch.randn(2, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(RuntimeError, match="no GPU"):
        torch.zeros(2, device="cuda")
    assert not torch.cuda.is_available() and str(torch.device("cpu")) == "cpu"
    assert repr(torch.arange(3)) == "tensor([0, 1, 2])"


def test_tensor_methods_pytorch_programs_use():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    assert x.size(0) == 2 and x.size(-1) == 3 and x.size() == (2, 3) and x.shape == (2, 3) and x.size == 6
    assert x.unsqueeze(1).shape == (2, 1, 3) and x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.cpu() is x and x.to("cpu") is x and x.to(torch.float64).dtype == torch.float64
    assert x.detach().numpy().tolist() == [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]] and x[1, 0].item() == 7.0
    assert x.long().dtype == torch.int64 and x.double().dtype == np.float64 and x.type() == "torch.float32"
    with pytest.raises(RuntimeError, match=r"to\('cuda'\): chainrule runs on the CPU"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="no GPU"):
        x.cuda()
    with pytest.raises(IndexError, match="out of range"):
        x.size(2)
    mask = x > 2.0
    assert isinstance(mask, cr.Tensor) and mask.dtype == np.bool_ and not mask.requires_grad
    assert (mask.float().mean()).item() == pytest.approx(0.5) and x[mask].tolist() == [5.0, 7.0, 3.0]
    assert ((x > 1) & (x < 6)).sum().item() == 3 and (~mask).any().item()


def test_max_min_with_dim_give_values_and_indices_and_the_top_level_stays_numpy():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    values, indices = torch.max(x, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == torch.int64
    assert torch.max(x, dim=0, keepdim=True).values.shape == (1, 3) and torch.min(x, 1).indices.tolist() == [0, 1]
    assert torch.max(x).item() == 7.0 and torch.max(x, torch.full((2, 3), 4.0)).tolist()[0] == [4.0, 5.0, 4.0]
    values.sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert cr.max(x, axis=1).tolist() == [5.0, 7.0]                 # NumPy's max: values only
    _, predicted = torch.max(x.data, 1)                             # the notes pass output.data (an array)
    assert predicted.tolist() == [1, 0] and torch.argmax(x, dim=1).tolist() == [1, 0] and torch.argmax(x).item() == 3
    assert torch.var(torch.tensor([1.0, 2.0, 3.0, 4.0])).item() == pytest.approx(5 / 3)       # n - 1
    assert torch.std(torch.tensor([1.0, 3.0]), unbiased=False).item() == pytest.approx(1.0)
    assert torch.sum(torch.tensor([True, True, False])).item() == 2


def test_cat_stack_no_grad_and_shapes():
    a, b = torch.ones(2, 3), torch.zeros(2, 3)
    assert torch.cat([a, b]).shape == (4, 3) and torch.cat((a, b), dim=1).shape == (2, 6)
    assert torch.stack([a, b]).shape == (2, 2, 3) and torch.stack([a, b], dim=2).shape == (2, 3, 2)
    w = torch.tensor([1.0], requires_grad=True)
    with torch.no_grad():
        y = w * 2
    assert not y.requires_grad and (w * 2).requires_grad

    @torch.no_grad()
    def infer(v):
        return v * 3
    assert not infer(w).requires_grad
    with torch.set_grad_enabled(False):
        assert not (w + 1).requires_grad
    assert torch.transpose(torch.zeros(2, 3, 4), 0, 2).shape == (4, 3, 2) and torch.flatten(torch.zeros(2, 3)).shape \
        == (6,)
    assert [t.shape for t in torch.split(torch.arange(5), 2)] == [(2,), (2,), (1,)]
    (gx,) = torch.autograd.grad((w ** 3).sum(), w)
    assert gx.tolist() == [3.0]


def test_save_and_load_state_dicts_without_pickle(tmp_path):
    model = nn.Linear(3, 2)
    torch.save(model.state_dict(), tmp_path / "m.pth")
    other = nn.Linear(3, 2)
    other.load_state_dict(torch.load(tmp_path / "m.pth"))
    np.testing.assert_array_equal(other.kernel.data, model.kernel.data)
    torch.save(torch.arange(3), tmp_path / "t.pt")
    assert torch.load(tmp_path / "t.pt").tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="never"):
        torch.save({"model": model}, tmp_path / "x.pt")


# ------------------------------------------------------------------ torch.nn
def test_print_model_in_pytorchs_format():
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(784, 100)
            self.act = nn.LeakyReLU()
            self.drop = nn.Dropout(0.2)
            self.fc2 = nn.Linear(100, 10, bias=False)
            self.out = nn.Softmax(dim=1)

        def forward(self, x):
            return self.out(self.fc2(self.drop(self.act(self.fc1(self.flatten(x))))))
    assert repr(Net()) == ("Net(\n  (flatten): Flatten(start_dim=1, end_dim=-1)\n"
                           "  (fc1): Linear(in_features=784, out_features=100, bias=True)\n"
                           "  (act): LeakyReLU(negative_slope=0.01)\n  (drop): Dropout(p=0.2, inplace=False)\n"
                           "  (fc2): Linear(in_features=100, out_features=10, bias=False)\n  (out): Softmax(dim=1)\n)")
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Identity())
    assert repr(seq).splitlines()[2:5] == ["  (1): ReLU()", "  (2): Sigmoid()", "  (3): Tanh()"]


def test_linear_weight_is_pytorchs_layout_over_the_kernel():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.in_features == 3 and layer.out_features == 2
    layer.weight.data[...] = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.kernel.data, np.arange(6.0).reshape(2, 3).T)
    nn.init.constant_(layer.weight, 0.5)
    assert np.all(layer.kernel.data == 0.5)
    out = layer(torch.ones(4, 3)).sum()
    out.backward()
    np.testing.assert_allclose(layer.weight.grad, np.full((2, 3), 4.0))
    opt = optim.SGD([layer.weight], lr=0.1)
    opt.step()
    np.testing.assert_allclose(layer.kernel.data, 0.5 - 0.4)


def test_containers():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    blocks.append(nn.Linear(2, 1))
    assert len(blocks) == 4 and len(list(blocks.parameters())) == 8 and isinstance(blocks[-1], nn.Linear)
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.ReLU()})
    heads["c"] = nn.Tanh()
    assert list(heads.keys()) == ["a", "b", "c"] and "a" in heads and len(heads.parameters()) == 2
    from collections import OrderedDict
    seq = nn.Sequential(OrderedDict([("fc1", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in seq.named_parameters()] == ["fc1.kernel", "fc1.bias"] and "(fc1): Linear" in repr(seq)
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        blocks(torch.ones(1, 2))
    bn = nn.BatchNorm1d(3)
    y = bn(torch.tensor(np.random.default_rng(0).standard_normal((8, 3))))
    assert y.numpy().mean(0) == pytest.approx(np.zeros(3), abs=1e-6)


def test_losses_against_their_formulas():
    a = torch.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
    y = torch.tensor([[0.0, 0.0], [0.0, 0.5]])
    d = a.numpy() - y.numpy()
    assert nn.L1Loss()(a, y).item() == pytest.approx(np.abs(d).mean())
    assert nn.MSELoss(reduction="sum")(a, y).item() == pytest.approx((d ** 2).sum())
    huber = np.where(np.abs(d) < 1, d ** 2 / 2, np.abs(d) - 0.5)
    assert nn.HuberLoss()(a, y).item() == pytest.approx(huber.mean())
    assert nn.SmoothL1Loss(beta=2.0)(a, y).item() == pytest.approx(np.where(np.abs(d) < 2, d ** 2 / 4,
                                                                              np.abs(d) - 1).mean())
    logp = F.log_softmax(a, dim=1)
    t = torch.tensor([1, 0])
    assert nn.NLLLoss()(logp, t).item() == pytest.approx(-(logp.numpy()[0, 1] + logp.numpy()[1, 0]) / 2)
    assert nn.CrossEntropyLoss()(a, t).item() == pytest.approx(nn.NLLLoss()(logp, t).item())
    w = np.array([1.0, 3.0])
    assert nn.CrossEntropyLoss(weight=w)(a, t).item() == pytest.approx(
        -(3 * logp.numpy()[0, 1] + logp.numpy()[1, 0]) / 4)
    p = torch.tensor([0.9, 0.2])
    assert nn.BCELoss()(p, torch.tensor([1.0, 0.0])).item() == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    assert repr(nn.BCELoss()) == "BCELoss()"


def test_init_uses_pytorchs_fans_and_gains():
    w = cr.nn.Parameter(np.zeros((200, 300)))        # (out, in)
    nn.init.xavier_uniform_(w)
    assert np.abs(w.data).max() <= np.sqrt(6 / 500) and w.data.std() == pytest.approx(np.sqrt(2 / 500), rel=0.05)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(np.sqrt(2 / 300), rel=0.05)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.data.std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))
    nn.init.orthogonal_(w)
    np.testing.assert_allclose(w.data @ w.data.T, np.eye(200), atol=1e-10)
    nn.init.zeros_(w)
    assert not w.data.any()


def test_functional():
    z = torch.tensor([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(F.softmax(z, dim=1).numpy().sum(), 1.0, rtol=1e-6)
    assert F.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
    assert F.one_hot(torch.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert np.array_equal(F.dropout(z, 0.5, training=False).numpy(), z.numpy())
    kept = F.dropout(torch.ones(1000), 0.5).numpy()
    assert set(np.unique(kept)) <= {0.0, 2.0} and kept.mean() == pytest.approx(1.0, abs=0.15)
    with pytest.raises(NotImplementedError, match="torch.nn.functional.conv2d"):
        F.conv2d(z, z)


# ------------------------------------------------------------------ torch.optim and the schedulers
def test_optimizers_have_pytorchs_defaults():
    p = cr.nn.Parameter(np.ones(2))
    assert optim.RMSprop([p]).defaults["lr"] == 0.01 and optim.RMSprop([p]).defaults["rho"] == 0.99
    assert optim.Adagrad([p]).defaults["eps"] == 1e-10 and optim.SGD([p]).lr == 0.001
    # Adam's weight_decay: g + lambda theta before the moments (one step moves by about lr)
    opt = optim.Adam([p], lr=0.1, weight_decay=1.0)
    p.grad = np.array([0.0, -5.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, 1.1], rtol=1e-6)
    assert p.grad.tolist() == [0.0, -5.0]                              # .grad is left as it was
    with pytest.raises(NotImplementedError, match="amsgrad"):
        optim.Adam([p], amsgrad=True)


def test_lr_schedulers():
    p = cr.nn.Parameter(np.ones(1))

    def rates(make, n=6, metric=None):
        opt = optim.SGD([p], lr=1.0)
        sched = make(opt)
        out = []
        for epoch in range(n):
            out.append(opt.lr)
            sched.step() if metric is None else sched.step(metric[epoch])
        return out
    assert rates(lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5)) == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert rates(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.5), 3) == [1, 0.5, 0.25]
    cos = rates(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4), 5)
    np.testing.assert_allclose(cos, [1, (1 + np.cos(np.pi / 4)) / 2, 0.5, (1 + np.cos(3 * np.pi / 4)) / 2, 0])
    assert rates(lambda o: lr_scheduler.LambdaLR(o, lambda e: 1 / (e + 1)), 3) == [1, 0.5, 1 / 3]
    assert rates(lambda o: lr_scheduler.MultiStepLR(o, [1, 3], 0.1), 4) == pytest.approx([1, 0.1, 0.1, 0.01])
    plateau = rates(lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1), 6, [3, 2, 2, 2, 2, 2])
    assert plateau == [1, 1, 1, 1, 0.5, 0.5]
    opt = optim.SGD([p], lr=1.0)
    s = lr_scheduler.StepLR(opt, 1)
    s.step()
    assert s.get_last_lr() == [0.1]


# ------------------------------------------------------------------ torch.utils.data
def test_dataloader_random_split_and_subset():
    X, y = torch.arange(20.0).reshape(10, 2), torch.arange(10)
    ds = TensorDataset(X, y)
    loader = DataLoader(ds)                                             # batch_size=1, as PyTorch's default
    assert len(loader) == 10 and [b.shape for b in next(iter(loader))] == [(1, 2), (1,)]
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert sorted(np.concatenate([yb.numpy() for _, yb in batches]).tolist()) == list(range(10))
    a, b = random_split(ds, [7, 3], generator=torch.Generator().manual_seed(1))
    assert len(a) == 7 and len(b) == 3 and not set(a.indices) & set(b.indices)
    assert [len(s) for s in random_split(ds, [0.5, 0.3, 0.2])] == [5, 3, 2]
    sub = Subset(ds, [4, 2])
    assert sub[0][1].item() == 4 and [t.tolist() for t in next(iter(DataLoader(sub, batch_size=2)))][1] == [4, 2]
    pairs = DataLoader(ds, batch_size=5, collate_fn=lambda items: len(items))
    assert list(pairs) == [5, 5]

    class Squares(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i
    (xb, yb), = list(DataLoader(Squares(), batch_size=3))
    assert xb.tolist() == [[0, 0], [1, 1], [2, 4]] and yb.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="do not sum"):
        random_split(ds, [3, 3])


# ------------------------------------------------------------------ chainrule.torch.vision
def test_vision_datasets_and_transforms(tmp_path, monkeypatch):
    from chainrule.datasets import write_idx
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28)).astype(np.uint8)
    for split, n in (("train", 6), ("t10k", 2)):
        write_idx(raw / f"{split}-images-idx3-ubyte", images[:n])
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.25,))])
    train = datasets.FashionMNIST(str(tmp_path), train=True, download=True, transform=transform)
    img, label = train[1]
    assert len(train) == 6 and img.shape == (1, 28, 28) and img.dtype == torch.float32 and label == 1
    np.testing.assert_allclose(img.numpy()[0], (images[1] / 255 - 0.5) / 0.25, atol=1e-6)
    xb, yb = next(iter(DataLoader(train, batch_size=4)))               # the transforms run on the batch
    assert xb.shape == (4, 1, 28, 28) and yb.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(xb.numpy()[1], img.numpy(), rtol=1e-6)
    assert train.data.shape == (6, 28, 28) and train.targets.dtype == torch.int64 and train.classes[9] == "Ankle boot"
    assert transforms.ToTensor()(np.zeros((4, 5, 3), np.uint8)).shape == (3, 4, 5)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("chainrule.datasets.files.DEBIAN_DATA_DIR", tmp_path / "debian")
    with pytest.raises(FileNotFoundError, match="(?s)CIFAR-10.*not found. Looked for.*cifar-10-binary"):
        datasets.CIFAR10(str(tmp_path))
    with pytest.raises(NotImplementedError, match="torchvision.transforms.Resize"):
        transforms.Resize(32)


def test_missing_features_name_themselves():
    with pytest.raises(NotImplementedError, match="torch.nn.Conv3d"):
        nn.Conv3d(3, 2, 3)
    with pytest.raises(NotImplementedError, match="torch.optim.LBFGS is not implemented"):
        optim.LBFGS([], lr=1)
    with pytest.raises(NotImplementedError, match="torch.jit.script is not implemented in chainrule; chainrule runs"):
        torch.jit.script(nn.Linear(2, 1))
    with pytest.raises(NotImplementedError, match="torch.nn.functional.no_such_function is not implemented"):
        nn.functional.no_such_function
    assert "not implemented" in repr(torch.jit)
    import chainrule
    assert chainrule.torch is torch
