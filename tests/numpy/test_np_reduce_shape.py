"""chainrule.numpy's reductions, products and shape functions against HIPS autograd (PyTorch where
autograd lacks the function): gradcheck, gradgradcheck, value, gradient, Hessian and JVP."""
import numpy as onp
import pytest
import torch
from autograd.scipy.special import logsumexp as a_logsumexp
from hypothesis import given, strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy.special import logsumexp
from npcheck import FAST, check, values

AXES = [(None, False), (0, False), (1, True), (-1, False), ((0, 1), False)]

# name: (f(m, x, axis, keepdims), torch oracle (x, axis, keepdims) or None for autograd)
REDUCTIONS = {
    "sum": (lambda m, x, a, k: m.sum(x, axis=a, keepdims=k), None),
    "mean": (lambda m, x, a, k: m.mean(x, axis=a, keepdims=k), None),
    "prod": (lambda m, x, a, k: m.prod(x, axis=a, keepdims=k),
             lambda t, a, k: _t_reduce(torch.prod, t, a, k)),
    "var": (lambda m, x, a, k: m.var(x, axis=a, keepdims=k), None),
    "var_ddof1": (lambda m, x, a, k: m.var(x, axis=a, keepdims=k, ddof=1), None),
    "std": (lambda m, x, a, k: m.std(x, axis=a, keepdims=k), None),
    "std_ddof1": (lambda m, x, a, k: m.std(x, axis=a, keepdims=k, ddof=1), None),
    "max": (lambda m, x, a, k: m.max(x, axis=a, keepdims=k), None),
    "min": (lambda m, x, a, k: m.min(x, axis=a, keepdims=k), None),
    "amax": (lambda m, x, a, k: m.amax(x, axis=a, keepdims=k), None),
    "ptp": (lambda m, x, a, k: m.ptp(x, axis=a, keepdims=k),
            lambda t, a, k: torch.amax(t, dim=_dims(a, t), keepdim=k) - torch.amin(t, dim=_dims(a, t), keepdim=k)),
    "logsumexp": (lambda m, x, a, k: (logsumexp if m is cnp else a_logsumexp)(x, axis=a, keepdims=k), None),
    "logsumexp_b": (lambda m, x, a, k: (logsumexp if m is cnp else a_logsumexp)(
        x, axis=a, keepdims=k, b=onp.array([0.5, 2.0, 1.0, 3.0])), None),
}


def _dims(a, t):
    return tuple(range(t.ndim)) if a is None else a


def _t_reduce(fn, t, a, k):
    for d in sorted([d % t.ndim for d in ((a,) if isinstance(a, int) else _dims(a, t))], reverse=True):
        t = fn(t, dim=d, keepdim=True)
    if not k:
        t = t.reshape([n for i, n in enumerate(t.shape) if i not in [d % 2 for d in
                                                                        ((a,) if isinstance(a, int) else _dims(a, t))]])
    return t


@pytest.mark.parametrize("axis,keepdims", AXES, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, axis, keepdims):
    f, torch_fn = REDUCTIONS[name]

    @FAST
    @given(values((3, 4), 0.3, 2))
    def run(x):
        x = x + onp.arange(12).reshape(3, 4) * 0.01  # distinct entries: no ties for max/min/ptp
        g = lambda m, t: f(m, t, axis, keepdims)  # noqa: E731
        if torch_fn is None:
            check(g, g, x)
        else:
            check(g, lambda t: torch_fn(t, axis, keepdims), x, kind="torch")
    run()


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_running_sums_and_products(name, axis):
    @FAST
    @given(values((3, 4), 0.3, 2))
    def run(x):
        f = lambda m, t: getattr(m, name)(t, axis=axis)  # noqa: E731
        tf = getattr(torch, name)
        oracle = (lambda t: tf(t.reshape(-1), 0)) if axis is None else (lambda t: tf(t, axis))
        if name == "cumsum":
            check(f, f, x)
        else:
            check(f, oracle, x, kind="torch")
    run()


def test_average_with_weights():
    w = onp.array([0.5, 1.0, 2.5])
    x = onp.array([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]])
    check(lambda m, t: m.average(t, axis=1, weights=w),
          lambda t: (t * torch.tensor(w)).sum(1) / w.sum(), x, kind="torch")
    check(lambda m, t: m.average(t), lambda t: t.mean(), x, kind="torch")


PRODUCT_SHAPES = {
    "dot": [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 4))],
    "matmul": [((3,), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 4))],
    "inner": [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3))],
    "outer": [((3,), (2,)), ((1,), (3,))],
    "kron": [((2,), (3,)), ((2, 2), (1, 3)), ((2, 3), (2,))],
}


@pytest.mark.parametrize("name,sa,sb", [(n, a, b) for n, ps in PRODUCT_SHAPES.items() for a, b in ps], ids=str)
def test_products(name, sa, sb):
    @FAST
    @given(values(sa), values(sb))
    def run(a, b):
        f = lambda m, x, y: getattr(m, name)(x, y)  # noqa: E731
        check(f, f, a, b)
    run()


def test_vdot_and_tensordot():
    a = onp.linspace(-1, 1, 6).reshape(2, 3)
    b = onp.cos(onp.arange(12.0)).reshape(3, 2, 2)
    check(lambda m, x, y: m.vdot(x, y), lambda x, y: torch.dot(x.reshape(-1), y.reshape(-1)), a, a * 2, kind="torch")
    for axes in (1, ([1], [0]), ([0, 1], [1, 0])):
        y = b if axes != ([0, 1], [1, 0]) else b[:, :2, 0].copy()
        f = lambda m, s, t: m.tensordot(s, t, axes)  # noqa: E731
        check(f, f, a, y)


EINSUMS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 2)]), ("ij->", [(2, 3)]), ("ii->i", [(3, 3)]),
           ("ii", [(3, 3)]), ("i,i", [(3,), (3,)]), ("ij,j->i", [(2, 3), (3,)]), ("i,j->ij", [(2,), (3,)]),
           ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]), ("ij,ij->j", [(2, 3), (2, 3)]), ("bij,bjk,k->bi", [(2, 2, 3),
                                                                                                         (2, 3, 2), (2,)]),
           ("iij->j", [(2, 2, 3)]), ("ij,kl->ijkl", [(2, 1), (1, 2)])]


@pytest.mark.parametrize("spec,shapes", EINSUMS, ids=str)
def test_einsum(spec, shapes):
    @FAST
    @given(st.tuples(*[values(s) for s in shapes]))
    def run(xs):
        f = lambda m, *a: m.einsum(spec, *a)  # noqa: E731
        if any(len(set(s)) < len(s) for s in spec.split("->")[0].split(",")):  # a diagonal: autograd fails
            check(f, lambda *a: torch.einsum(spec, *a), *xs, kind="torch")
        else:
            check(f, f, *xs)
    run()
    xs = [onp.ones(s) for s in shapes]
    if spec in ("ij,jk->ik", "ij,j->i"):  # NumPy's interleaved form
        subs = [[0, 1], [1, 2]] if spec == "ij,jk->ik" else [[0, 1], [1]]
        args = [v for pair in zip(xs, subs) for v in pair]
        onp.testing.assert_allclose(cnp.einsum(*[cr.tensor(a) if isinstance(a, onp.ndarray) else a for a in args])
                                    .numpy(), onp.einsum(*args))


@pytest.mark.parametrize("dtype", [onp.float32, onp.float64])
@pytest.mark.parametrize("axis", [1, 0, None])
def test_logsumexp_infinite_nan_and_huge_slices_as_scipy(dtype, axis):
    """All -inf gives -inf, a +inf gives +inf, NaN stays NaN, finite values near the dtype's maximum
    stay finite: along rows (the batched-logits kernel, 12 rows of 4), columns and everything."""
    import scipy.special
    big = onp.finfo(dtype).max / 4
    x = onp.tile(onp.linspace(-1.0, 2.0, 4), (12, 1))
    x[1] = -onp.inf
    x[2, 1] = onp.inf
    x[3, 0] = onp.nan
    x[4] = big
    x[5, :2] = -onp.inf
    x = x.astype(dtype)
    with onp.errstate(divide="ignore", invalid="ignore"):
        want = scipy.special.logsumexp(x, axis=axis)
        got = cr.logsumexp(cr.tensor(x, requires_grad=True), axis=axis).numpy()
    onp.testing.assert_allclose(got, want, rtol=1e-6)
    clean = x[[0, 4, 5]]                                   # the finite answers, through the same kernel
    with onp.errstate(divide="ignore", invalid="ignore"):
        onp.testing.assert_allclose(cr.logsumexp(cr.tensor(onp.tile(clean, (4, 1))), axis=1).numpy(),
                                    onp.tile(scipy.special.logsumexp(clean, axis=1), 4), rtol=1e-6)


@pytest.mark.parametrize("dtype", [onp.float32, onp.float64])
def test_logsumexp_of_infinite_slices_warns_of_nothing_as_scipy(dtype):
    """An all -inf row is log 0 = -inf and a row with +inf (beside values whose exp overflows) is +inf,
    without a RuntimeWarning (SciPy gives none; the suite turns warnings into errors)."""
    import warnings
    import scipy.special
    big = onp.finfo(dtype).max / 2
    x = onp.array([[-onp.inf, -onp.inf, -onp.inf], [onp.inf, big, 1.0], [1.0, 2.0, 3.0]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cr.logsumexp(x, axis=1)
        want = scipy.special.logsumexp(x, axis=1)
    assert got[0] == -onp.inf and got[1] == onp.inf
    onp.testing.assert_allclose(got, want, rtol=1e-6)


def test_einsum_bad_operands_named_after_a_cached_call():
    """The parsed subscripts are reused across calls; operands that do not fit still get the message."""
    a, b = cr.tensor(onp.ones((2, 3)), requires_grad=True), cr.tensor(onp.ones((3, 4)))
    assert cnp.einsum("ij,jk->ik", a, b).shape == (2, 4)   # parsed and kept
    with pytest.raises(ValueError, match=r"subscripts 'ij,jk->ik' do not fit operands with \[2, 1\] dimensions"):
        cnp.einsum("ij,jk->ik", a, cr.tensor(onp.ones(3)))
    with pytest.raises(ValueError, match=r"the subscripts 'ij,jk->ik' name 2 operand\(s\), got 3"):
        cnp.einsum("ij,jk->ik", a, b, b)
    with pytest.raises(ValueError, match=r"einsum: cannot apply to inputs of shapes \(2, 3\) and \(4, 4\)"):
        cnp.einsum("ij,jk->ik", a, cr.tensor(onp.ones((4, 4))))
    cnp.einsum("ij,jk->ik", a, b).sum().backward()     # the cached path records the graph
    onp.testing.assert_allclose(a.grad, onp.full((2, 3), 4.0))
    u = cr.tensor(2.0, requires_grad=True)                # a list of Tensors is an operand too
    cnp.einsum("i,i->", [u, 3 * u], onp.array([1.0, 1.0])).backward()
    assert float(u.grad) == 4.0


# f(m, x) on a (3, 4) input, written once for both libraries; shape functions are linear, so each is
# applied to sin(x) to give the Hessian something to check.  Entries with a torch oracle: autograd lacks them.
SHAPE_FUNCTIONS = {
    "reshape": (lambda m, x: m.reshape(x, (4, 3)), None),
    "ravel": (lambda m, x: m.ravel(x), None),
    "squeeze": (lambda m, x: m.squeeze(m.reshape(x, (1, 3, 1, 4)), axis=(0, 2)), None),
    "expand_dims": (lambda m, x: m.expand_dims(x, 1), None),
    "transpose": (lambda m, x: m.transpose(x), None),
    "swapaxes": (lambda m, x: m.swapaxes(m.reshape(x, (3, 2, 2)), 0, 2), None),
    "moveaxis": (lambda m, x: m.moveaxis(m.reshape(x, (3, 2, 2)), 0, -1), None),
    "concatenate": (lambda m, x: m.concatenate([x, 2 * x[:1]], axis=0), None),
    "concatenate_none": (lambda m, x: m.concatenate([x, x[:, :2]], axis=None),
                         lambda t: torch.cat([t.reshape(-1), t[:, :2].reshape(-1)])),
    "stack": (lambda m, x: m.stack([x, x * x], axis=1), None),
    "hstack": (lambda m, x: m.hstack([x, x[:, :1]]), None),
    "vstack": (lambda m, x: m.vstack([x, x[0]]), None),
    "dstack": (lambda m, x: m.dstack([x, x]), lambda t: torch.dstack([t, t])),
    "column_stack": (lambda m, x: m.column_stack([x[0], x[1]]), None),
    "split": (lambda m, x: m.split(x, 2, axis=1)[1] * 3 + m.split(x, [1], axis=1)[0], None),
    "array_split": (lambda m, x: m.array_split(x, 3, axis=1)[0], None),
    "hsplit": (lambda m, x: m.hsplit(x, 2)[1], None),
    "flip": (lambda m, x: m.flip(x, 0) if m is not None else None, lambda t: torch.flip(t, (0,))),
    "flip_all": (lambda m, x: m.flip(x), lambda t: torch.flip(t, (0, 1))),
    "fliplr": (lambda m, x: m.fliplr(x), None),
    "flipud": (lambda m, x: m.flipud(x), None),
    "roll": (lambda m, x: m.roll(x, 1, axis=1), None),
    "roll_flat": (lambda m, x: m.roll(x, -5), None),
    "repeat": (lambda m, x: m.repeat(x, 2, axis=0), None),
    "repeat_flat": (lambda m, x: m.repeat(x, 2), None),
    "tile": (lambda m, x: m.tile(x, (2, 1, 2)), None),
    "pad": (lambda m, x: m.pad(x, ((1, 0), (2, 1)), mode="constant"), None),
    "pad_edge": (lambda m, x: m.pad(x, 2, mode="edge"), lambda t: _edge_pad(t)),
    "sort": (lambda m, x: m.sort(x[0]), None),
    "sort_2d": (lambda m, x: m.sort(x, axis=1), lambda t: torch.sort(t, dim=1).values),
    "take": (lambda m, x: m.take(x, [0, 5, 5, 11]), lambda t: torch.take(t, torch.tensor([0, 5, 5, 11]))),
    "take_along_axis": (lambda m, x: m.take_along_axis(x, onp.array([[0, 3], [1, 1], [2, 0]]), axis=1),
                        lambda t: torch.take_along_dim(t, torch.tensor([[0, 3], [1, 1], [2, 0]]), dim=1)),
    "broadcast_to": (lambda m, x: m.broadcast_to(x[:1], (2, 3, 4)), lambda t: torch.broadcast_to(t[:1], (2, 3, 4))),
    "append": (lambda m, x: m.append(x, x[0]), None),
    "diff": (lambda m, x: m.diff(x, n=2, axis=1), None),
    "trace": (lambda m, x: m.trace(x[:, :3], offset=1), None),
    "diag": (lambda m, x: m.diag(x[0], k=-1), None),
    "diag_of_matrix": (lambda m, x: m.diag(x[:, :3], k=1), None),
    "diagonal": (lambda m, x: m.diagonal(x, offset=1), lambda t: torch.diagonal(t, offset=1)),
    "tril": (lambda m, x: m.tril(x, -1), None),
    "triu": (lambda m, x: m.triu(x, 1), None),
    "index": (lambda m, x: x[1:, ::2], None),
    "index_fancy": (lambda m, x: x[[0, 0, 2], [1, 1, 3]], None),
    "index_mask": (lambda m, x: x[onp.arange(12).reshape(3, 4) % 3 == 0], None),
    "index_newaxis": (lambda m, x: x[None, :, 1], None),
    "array": (lambda m, x: m.array([x[0], [1.0, 2.0, 3.0, 4.0], x[2] * 2]), None),
}


def _edge_pad(t):
    rows = [0, 0] + list(range(3)) + [2, 2]
    cols = [0, 0] + list(range(4)) + [3, 3]
    return t[rows][:, cols]


@pytest.mark.parametrize("name", sorted(SHAPE_FUNCTIONS))
def test_shape_functions(name):
    f, torch_fn = SHAPE_FUNCTIONS[name]

    @FAST
    @given(values((3, 4), -2, 2))
    def run(x):
        if name.startswith("sort") and onp.min(onp.abs(onp.subtract.outer(x.ravel(), x.ravel()))
                                             + onp.eye(12)) < 0.05:
            return  # sorting is continuous, but not differentiable where two entries meet
        g = lambda m, t: f(m, m.sin(t))  # noqa: E731
        if torch_fn is None:
            check(g, g, x)
        else:
            check(g, lambda t: torch_fn(torch.sin(t)), x, kind="torch")
    run()


def test_sort_ties_keep_their_own_adjoints():
    x = cr.tensor(onp.array([3.0, 1.0, 3.0, 2.0]), requires_grad=True)
    (cnp.sort(x) * onp.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    onp.testing.assert_array_equal(x.grad, [3.0, 1.0, 4.0, 2.0])  # a stable sort: the first 3 comes first


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
def test_pad_modes_copy_entries(mode):
    x = onp.arange(1.0, 7.0).reshape(2, 3)
    y = cnp.pad(cr.tensor(x, requires_grad=True), ((1, 2), (2, 1)), mode=mode)
    onp.testing.assert_array_equal(y.numpy(), onp.pad(x, ((1, 2), (2, 1)), mode=mode))
    assert cr.gradcheck(lambda t: cnp.pad(t, ((1, 2), (2, 1)), mode=mode) ** 2, x)
    g = cr.grad(lambda t: cnp.sum(cnp.pad(t, 1, mode=mode)))(x)  # how often each entry was copied
    src = onp.pad(onp.arange(6).reshape(2, 3), 1, mode=mode)
    onp.testing.assert_array_equal(g.ravel(), onp.bincount(src.ravel(), minlength=6))
