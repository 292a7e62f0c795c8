"""Tensor construction, dtype rules, graph recording, and the errors backward() gives."""
import numpy as np
import pytest

import chainrule as cr


def test_default_dtype_and_float64_inputs():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(np.array([1.0, 2.0])).dtype == np.float64  # float64 inputs stay float64
    assert cr.tensor([1, 2]).dtype.kind == "i"
    cr.set_default_dtype("float64")
    try:
        assert cr.tensor([1.0]).dtype == np.float64
    finally:
        cr.set_default_dtype("float32")
    with pytest.raises(ValueError, match="expected 'float32' or 'float64', got 'int8'"):
        cr.set_default_dtype("int8")


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got dtype int64"):
        cr.tensor([1, 2], requires_grad=True)


def test_backward_accumulates_and_detach_cuts_the_graph():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()  # accumulates like PyTorch: 3 + 2x
    np.testing.assert_allclose(x.grad, [5.0, -1.0])
    y = x.detach()
    assert not y.requires_grad and y.numpy() is x.numpy()


def test_shared_subexpression_gets_summed_adjoints():
    # f = a*b + a with a used twice: df/da = b + 1
    a = cr.tensor(np.array(3.0), requires_grad=True)
    b = cr.tensor(np.array(4.0), requires_grad=True)
    (a * b + a).backward()
    assert a.grad == 5.0 and b.grad == 3.0


def test_leaves_never_share_a_grad_array():
    a = cr.tensor(np.ones(3), requires_grad=True)
    b = cr.tensor(np.ones(3), requires_grad=True)
    ((a + b) * 2).sum().backward()
    assert a.grad is not b.grad
    a.grad *= 0  # in-place edits of one must not change the other
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])


def test_primitive_outputs_are_built_like_tensor_make():
    """Function.apply builds its output Tensor inline (no call to Tensor._make): every slot is set,
    to what _make would set, with and without the graph recorded."""
    from chainrule.tensor import Tensor
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    slots = [s for s in Tensor.__slots__ if s != "__weakref__"]
    for y, made in ((cr.sin(x), Tensor._make(np.sin(x.data), True, None)),
                    (cr.sin(x.detach()), Tensor._make(np.sin(x.data), False, None))):
        for s in slots:
            if s not in ("data", "_ctx"):
                assert getattr(y, s) == getattr(made, s), s
        np.testing.assert_array_equal(y.data, made.data)
        assert (y._ctx is not None) == y.requires_grad


def test_no_grad_records_nothing():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
    assert not y.requires_grad and y._ctx is None
    assert cr.is_grad_enabled()


def test_numpy_style_methods():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.sum(axis=0).shape == (3,)
    assert x.mean(axis=1, keepdims=True).shape == (2, 1)
    assert float(x.max()) == 5.0 and float(x.min()) == 0.0
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.T.shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    y = (np.ones((3,)) * x).sum()  # ndarray on the left defers to Tensor
    assert isinstance(y, cr.Tensor)
    y.backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_numpy_copies_a_tensor_as_it_copies_an_array():
    # np.array copies, np.asarray shares, copy=False refuses to copy (NumPy 2's __array__ protocol);
    # np.array(t) once shared the values, so writing into the "copy" changed the tensor
    x = cr.tensor(np.array([1.0, 2.0]))
    a = np.array(x)
    a[0] = 9.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    assert np.asarray(x) is x.data and np.asarray(x, copy=False) is x.data
    b = np.array(x, dtype=np.float32)
    assert b.dtype == np.float32 and not np.shares_memory(b, x.data)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="values are float64; giving them as float32 needs a copy"):
        np.asarray(x, dtype=np.float32, copy=False)


def test_indexing_scatters_gradient_back():
    x = cr.tensor(np.arange(5.0), requires_grad=True)
    (x[[0, 0, 3]] * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0, 0, 3.0, 0])


def test_backward_on_non_scalar_needs_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"output has shape \(2,\), not a single value; pass gradient="):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 0.5]))
    np.testing.assert_allclose(x.grad, [2.0, 1.0])


def test_backward_gradient_of_wrong_shape():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient must have the output's shape \(2,\), got shape \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        cr.tensor([1.0]).sum().backward()


@pytest.mark.parametrize("op,msg", [
    (lambda a, b: a + b, r"add: cannot apply to inputs of shapes \(2, 3\) and \(4,\)"),
    (lambda a, b: a * b, r"mul: cannot apply to inputs of shapes \(2, 3\) and \(4,\)"),
    (lambda a, b: a @ b, r"matmul: inner dimensions differ: \(2, 3\) @ \(4,\)"),
])
def test_shape_mismatch_names_op_and_shapes(op, msg):
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=msg):
        op(a, np.ones(4))


def test_reshape_and_concatenate_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape an input of shape \(2, 3\) \(6 values\) into"):
        cr.tensor(np.ones((2, 3))).reshape(4, 2)
    with pytest.raises(ValueError, match=r"concatenate: .* got shapes \[\(2, 3\), \(2, 4\)\]"):
        cr.concatenate([np.ones((2, 3)), np.ones((2, 4))])


def test_manual_seed_is_reproducible():
    from chainrule.tensor import get_rng
    cr.manual_seed(7)
    a = get_rng().standard_normal(3)
    cr.manual_seed(7)
    np.testing.assert_array_equal(a, get_rng().standard_normal(3))
    with pytest.raises(TypeError, match="non-negative int"):
        cr.manual_seed(-1)


def test_numpy_functions_on_tensors_record_or_refuse_never_drop_the_graph():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = np.exp(x)  # NumPy hands its ufunc to chainrule.numpy: recorded
    assert isinstance(y, cr.Tensor) and y.requires_grad
    np.sum(y * np.array([1.0, 0.5])).backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]) * [1.0, 0.5])
    with pytest.raises(TypeError, match=r"numpy\.fft\.fft was called on a Tensor that requires grad"):
        np.fft.fft(x)


# ------------------------------------------------------------ PyTorch-style methods, against PyTorch
def _torch_pair(x):
    import torch
    return cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


TORCH_METHODS = {
    "view": (lambda t: t.view(3, 4), lambda t: t.view(3, 4)),
    "view_tuple": (lambda t: t.view((2, -1)), lambda t: t.view((2, -1))),
    "unsqueeze": (lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1)),
    "squeeze": (lambda t: t.unsqueeze(0).squeeze(dim=0), lambda t: t.unsqueeze(0).squeeze(dim=0)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "transpose_two": (lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "flatten": (lambda t: t.flatten(), lambda t: t.flatten()),
    "flatten_dims": (lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "flatten_range": (lambda t: t.flatten(0, 1), lambda t: t.flatten(0, 1)),
    "clone": (lambda t: t.clone() * t, lambda t: t.clone() * t),
    "pow": (lambda t: t.pow(3), lambda t: t.pow(3)),
    "mm": (lambda t: t.reshape(6, 2).mm(t.reshape(2, 6)), lambda t: t.reshape(6, 2).mm(t.reshape(2, 6))),
    "matmul": (lambda t: t.matmul(t.transpose(1, 2)), lambda t: t.matmul(t.transpose(1, 2))),
    "norm": (lambda t: t.norm(), lambda t: t.norm()),
    "norm_dim": (lambda t: t.norm(dim=1), lambda t: t.norm(dim=1)),
    "norm_p1": (lambda t: t.norm(p=1, dim=2, keepdim=True), lambda t: t.norm(p=1, dim=2, keepdim=True)),
    "norm_nuc": (lambda t: t[0].norm(p="nuc"), lambda t: t[0].norm(p="nuc")),
    "std_unbiased": (lambda t: t.std(dim=1, unbiased=True), lambda t: t.std(dim=1)),
    "std_correction0": (lambda t: t.std(dim=0, correction=0, keepdim=True),
                        lambda t: t.std(dim=0, correction=0, keepdim=True)),
    "var_unbiased": (lambda t: t.var(dim=(0, 2), unbiased=True), lambda t: t.var(dim=(0, 2))),
    "prod": (lambda t: t.prod(dim=2), lambda t: t.prod(dim=2)),
    "cumsum": (lambda t: t.cumsum(dim=1), lambda t: t.cumsum(dim=1)),
    "sum_keepdim": (lambda t: t.sum(dim=1, keepdim=True), lambda t: t.sum(dim=1, keepdim=True)),
    "mean_dims": (lambda t: t.mean(dim=(0, 1)), lambda t: t.mean(dim=(0, 1))),
    "max_dim": (lambda t: t.max(dim=2), lambda t: t.max(dim=2).values),
    "expand": (lambda t: t[:, :1].expand(2, 3, 2), lambda t: t[:, :1].expand(2, 3, 2)),
    "expand_new": (lambda t: t[0].expand(4, -1, -1), lambda t: t[0].expand(4, -1, -1)),
    "repeat": (lambda t: t.repeat(1, 2, 3), lambda t: t.repeat(1, 2, 3)),
    "repeat_interleave": (lambda t: t.repeat_interleave(2, dim=1), lambda t: t.repeat_interleave(2, dim=1)),
    "flip": (lambda t: t.flip((0, 2)), lambda t: t.flip((0, 2))),
    "gather": (lambda t: t.gather(2, np.array([[[1, 0], [0, 0], [1, 1]]] * 2)),
               lambda t: t.gather(2, __import__("torch").tensor([[[1, 0], [0, 0], [1, 1]]] * 2))),
    "masked_fill": (lambda t: t.masked_fill(t.numpy() > 0.5, 0.0), lambda t: t.masked_fill(t > 0.5, 0.0)),
    "clamp": (lambda t: t.clamp(min=-0.5, max=0.5), lambda t: t.clamp(min=-0.5, max=0.5)),
    "softmax_dim": (lambda t: t.softmax(dim=1), lambda t: t.softmax(dim=1)),
}


@pytest.mark.parametrize("name", sorted(TORCH_METHODS))
def test_pytorch_style_methods_match_pytorch(name):
    ours_f, torch_f = TORCH_METHODS[name]
    x = np.sin(np.arange(12.0) * 1.3).reshape(2, 3, 2) + 0.1  # no ties, no entry at a kink
    t, tt = _torch_pair(x)
    y, yt = ours_f(t), torch_f(tt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    u = np.cos(np.arange(y.size)).reshape(y.shape)
    (y * u).sum().backward()
    import torch
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_pytorch_style_scalars_and_indices():
    t = cr.tensor(np.array([[0.5, -1.0, 2.0], [3.0, 0.1, -0.2]]), requires_grad=True)
    assert t.argmax() == 3 and t.argmax(dim=1).tolist() == [2, 0] and t.argmin(axis=0, keepdims=True).shape == (1, 3)
    assert t[1, 0].item() == 3.0 and t.tolist()[0] == [0.5, -1.0, 2.0]
    assert t.dim() == 2 and t.numel() == 6
    with pytest.raises(TypeError, match="give axis= or dim=, not both"):
        t.sum(axis=0, dim=1)
    with pytest.raises(ValueError, match="Tensor.mm: expected two matrices"):
        t.mm(np.ones(3))
    with pytest.raises(ValueError, match="Tensor.repeat: give at least one count per dimension"):
        t.repeat(2)
    # NumPy's defaults where PyTorch's differ: var/std are the population ones unless asked
    np.testing.assert_allclose(t.var().numpy(), t.numpy().var())
    np.testing.assert_allclose(t.std(ddof=1).numpy(), t.numpy().std(ddof=1))
    y = t % 0.7   # the ufunc operators: %, and // (a step function: constant)
    np.testing.assert_allclose(y.numpy(), t.numpy() % 0.7)
    assert not (t // 0.7).requires_grad
