"""Convolution and pooling primitives (chainrule/ops/conv.py).

Three independent checks of the values (a direct nested-loop reference written here, PyTorch's
functional ops with the weights transposed, the fused node against its composition), gradcheck
and gradgradcheck in float64 (reverse mode = forward mode = finite differences, one order up
too) over strides, paddings, dilations, groups, odd and even sizes and channel counts, and the
tie rule of max pooling.
"""
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
import chainrule.ops.conv as C


# ------------------------------------------------------------------ the direct reference
def ref_conv2d(x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """z[n, i, j, f] = sum_{p, q, c} xpad[n, s_h i + d_h p, s_w j + d_w q, group(f) C/G + c] w[p, q, c, f] + b[f],
    one output entry at a time."""
    n_img, h, wd, c_in = x.shape
    kh, kw, cg, f_out = w.shape
    fg = f_out // groups
    (pt, pb), (pl, pr) = pads
    xp = np.zeros((n_img, h + pt + pb, wd + pl + pr, c_in))
    xp[:, pt:pt + h, pl:pl + wd, :] = x
    rows = [i for i in range(0, xp.shape[1]) if i + dilation[0] * (kh - 1) < xp.shape[1]][::strides[0]]
    cols = [j for j in range(0, xp.shape[2]) if j + dilation[1] * (kw - 1) < xp.shape[2]][::strides[1]]
    y = np.zeros((n_img, len(rows), len(cols), f_out))
    for n in range(n_img):
        for a, i in enumerate(rows):
            for bb, j in enumerate(cols):
                for f in range(f_out):
                    g = f // fg
                    s = 0.0
                    for p in range(kh):
                        for q in range(kw):
                            for c in range(cg):
                                s += xp[n, i + dilation[0] * p, j + dilation[1] * q, g * cg + c] * w[p, q, c, f]
                    y[n, a, bb, f] = s + (0.0 if b is None else b[f])
    return y


def ref_pool2d(x, size, strides, pads, kind):
    """Max or mean over each window, one output entry at a time (padding ignored: TensorFlow's 'same')."""
    n_img, h, wd, c_in = x.shape
    (pt, pb), (pl, pr) = pads
    out_h = (h + pt + pb - size[0]) // strides[0] + 1
    out_w = (wd + pl + pr - size[1]) // strides[1] + 1
    y = np.zeros((n_img, out_h, out_w, c_in))
    for n, i, j, c in itertools.product(range(n_img), range(out_h), range(out_w), range(c_in)):
        vals = [x[n, r, s, c] for r in range(i * strides[0] - pt, i * strides[0] - pt + size[0])
                for s in range(j * strides[1] - pl, j * strides[1] - pl + size[1]) if 0 <= r < h and 0 <= s < wd]
        y[n, i, j, c] = max(vals) if kind == "max" else sum(vals) / len(vals)
    return y


def value_and_grads(f, *arrays):
    """f's value and its gradient with respect to every argument, by one backward pass."""
    ts = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = f(*ts)
    out.backward()
    return out.item(), [t.grad for t in ts]


def _pads(padding, shape, k, s, d):
    return C.conv_padding(padding, shape[1:3], k, s, d)


PADDINGS = ["valid", "same", ((1, 0), (2, 1))]
# (groups, channels): one channel, several, two groups of two; the image is odd by even (5 x 6), and
# stride 2 meets both parities
GRID = [(s, p, d, g, (5, 6), c) for s, p, d, (g, c) in itertools.product([1, 2], PADDINGS, [1, 2],
                                                                         [(1, 1), (1, 3), (2, 4)])]


@pytest.mark.parametrize("stride,padding,dilation,groups,hw,channels", GRID)
def test_conv2d_equals_the_nested_loop_reference(stride, padding, dilation, groups, hw, channels):
    rng = np.random.default_rng(stride * 7 + dilation * 3 + groups + channels)
    x = rng.standard_normal((2, *hw, channels))
    w = rng.standard_normal((3, 2, channels // groups, 4))
    b = rng.standard_normal(4)
    y = ops.conv2d(x, w, b, strides=stride, padding=padding, dilation=dilation, groups=groups)
    pads = _pads(padding, x.shape, (3, 2), (stride, stride), (dilation, dilation))
    ref = ref_conv2d(x, w, b, (stride, stride), pads, (dilation, dilation), groups)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)


def test_same_padding_is_tensorflows_including_the_asymmetric_case():
    # stride 2 on an even size: 3 taps need 1 extra row in total, and TensorFlow puts it at the bottom/right
    assert C.conv_padding("same", (28, 28), (3, 3), strides=2) == ((0, 1), (0, 1))
    assert C.conv_padding("same", (27, 28), (3, 3), strides=2) == ((1, 1), (0, 1))
    assert C.conv_padding("same", (8,), (4,), strides=1) == ((1, 2),)
    assert C.conv_padding("same", (7, 7), (3, 3), dilation=2) == ((2, 2), (2, 2))
    y = ops.conv2d(np.ones((1, 28, 28, 1)), np.ones((3, 3, 1, 1)), strides=2, padding="same")
    assert y.shape == (1, 14, 14, 1)
    assert y[0, 0, 0, 0] == 9 and y[0, -1, -1, 0] == 4  # top-left: no padding; bottom-right: one padded row and column


# ----------------------------------------------------------------- gradients, float64
GRAD_GRID = [  # stride, padding, dilation, groups, (h, w), channels
    (1, "valid", 1, 1, (5, 6), 1), (2, "same", 1, 1, (6, 5), 2), (1, "same", 2, 1, (5, 5), 1),
    (2, ((1, 0), (0, 2)), 2, 1, (6, 6), 2), (1, "valid", 1, 2, (4, 5), 4), (2, "same", 2, 2, (5, 6), 2),
    (1, ((0, 1), (1, 1)), 1, 2, (5, 4), 2), (2, "valid", 1, 1, (7, 6), 3),
]


@pytest.mark.parametrize("stride,padding,dilation,groups,hw,channels", GRAD_GRID)
def test_conv2d_gradcheck_and_gradgradcheck(stride, padding, dilation, groups, hw, channels):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *hw, channels))
    w = rng.standard_normal((2, 3, channels // groups, 2)) * 0.5
    b = rng.standard_normal(2)

    def f(x, w, b):
        return ops.conv2d(x, w, b, strides=stride, padding=padding, dilation=dilation, groups=groups)
    assert cr.gradcheck(f, x, w, b)
    assert cr.gradgradcheck(f, x, w, b)


@pytest.mark.parametrize("act", ["tanh", "elu"])
def test_fused_activation_and_pool_gradcheck_and_gradgradcheck(act):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 7, 6, 2))
    w = rng.standard_normal((3, 3, 2, 3)) * 0.5
    b = rng.standard_normal(3) * 0.1

    def f(x, w, b):
        return ops.conv2d(x, w, b, activation=act, max_pool=2)
    assert cr.gradcheck(f, x, w, b)
    assert cr.gradgradcheck(f, x, w, b)


@pytest.mark.parametrize("act", [None, "relu", "tanh", "leaky_relu", "selu", "relu6", "hard_sigmoid", "softsign"])
@pytest.mark.parametrize("pool", [None, 2, ((3, 3), (2, 2))])
def test_fused_node_equals_its_composition(act, pool):
    """y = f(maxpool(conv(x, w)) + b) in one node is max_pool(f(conv(x, w) + b)), value and gradients."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 9, 8, 2))
    w = rng.standard_normal((3, 3, 2, 4))
    b = rng.standard_normal(4)
    u = rng.standard_normal(ops.conv2d(x, w, b, max_pool=pool).shape)

    def fused(x, w, b):
        return (ops.conv2d(x, w, b, activation=act, max_pool=pool) * u).sum()

    def composed(x, w, b):
        z = ops.conv2d(x, w) + b
        a = z if act is None else getattr(ops, act)(z)
        if pool is not None:
            size, s = (pool, pool) if isinstance(pool, int) else pool
            a = ops.max_pool2d(a, size, s)
        return (a * u).sum()
    v1, g1 = value_and_grads(fused, x, w, b)
    v2, g2 = value_and_grads(composed, x, w, b)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_conv1d_gradcheck_causal_and_dilated():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 2))
    w = rng.standard_normal((3, 2, 3)) * 0.5
    for kw in ({"padding": "causal", "dilation": 2}, {"padding": "same", "strides": 2}, {"padding": "valid"}):
        assert cr.gradcheck(lambda x, w: ops.conv1d(x, w, **kw), x, w)
    assert cr.gradgradcheck(lambda x, w: ops.conv1d(x, w, padding="causal", dilation=2), x, w)
    # causal: output t sees only inputs up to t
    y = ops.conv1d(x, w, padding="causal", dilation=2)
    x2 = x.copy()
    x2[:, 5:] += 1.0
    np.testing.assert_array_equal(ops.conv1d(x2, w, padding="causal", dilation=2)[:, :5], y[:, :5])


def test_tiling_under_a_small_column_cap_gives_the_same_values_and_gradients():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 6, 6, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    b = rng.standard_normal(3)

    def run(pool):
        xt, wt, bt = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
        y = ops.conv2d(xt, wt, bt, padding="same", activation="tanh", max_pool=pool)
        (y * np.cos(np.arange(y.size)).reshape(y.shape)).sum().backward()
        return [y.numpy(), xt.grad, wt.grad, bt.grad]
    for pool in (None, 2):
        whole = run(pool)
        with C.column_memory_limit(8 * 6 * 6 * 9 * 2 * 2):   # two images per tile
            tiled = run(pool)
        for a, c in zip(whole, tiled):
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


# -------------------------------------------------------------------------------- pooling
POOL_GRID = [((2, 2), None, "valid", (6, 6)), ((2, 2), None, "valid", (7, 5)), ((3, 3), (2, 2), "valid", (7, 8)),
             ((2, 2), None, "same", (5, 7)), ((3, 2), (1, 2), "same", (6, 5)), ((2, 2), (1, 1), "valid", (4, 4))]


@pytest.mark.parametrize("size,strides,padding,hw", POOL_GRID)
def test_pooling_equals_the_reference_and_gradchecks(size, strides, padding, hw):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, *hw, 2))
    s = size if strides is None else strides
    pads = C.pool_padding(padding, hw, size, s)
    np.testing.assert_allclose(ops.max_pool2d(x, size, strides, padding), ref_pool2d(x, size, s, pads, "max"),
                               rtol=1e-12)
    np.testing.assert_allclose(ops.avg_pool2d(x, size, strides, padding), ref_pool2d(x, size, s, pads, "mean"),
                               rtol=1e-12)
    for fn in (ops.max_pool2d, ops.avg_pool2d):
        assert cr.gradcheck(lambda t: fn(t, size, strides, padding), x)
        assert cr.gradgradcheck(lambda t: fn(t, size, strides, padding), x)


def test_max_pool_gives_the_gradient_to_the_first_maximum_of_each_window():
    x = np.array([[0., 0., 5., 1.],
                  [0., 0., 5., 5.],
                  [2., 7., 3., 3.],
                  [7., 7., 3., 3.]]).reshape(1, 4, 4, 1)
    g = cr.grad(lambda t: ops.max_pool2d(t, 2).sum())(x)[0, :, :, 0]
    np.testing.assert_array_equal(g, [[1, 0, 1, 0],
                                      [0, 0, 0, 0],
                                      [0, 1, 1, 0],
                                      [0, 0, 0, 0]])
    # one gradient per window, however many ties: the sum of the gradient is the number of windows
    z = np.zeros((2, 6, 6, 3))
    assert cr.grad(lambda t: ops.max_pool2d(t, 3, 1).sum())(z).sum() == 2 * 4 * 4 * 3
    # the fused conv + pool obeys the same rule on ties (zero images, zero bias: every entry ties)
    w = np.ones((1, 1, 1, 1))
    gx = cr.grad(lambda t: ops.conv2d(t, w, np.zeros(1), activation="identity", max_pool=2).sum())(np.zeros((1, 4, 4, 1)))
    np.testing.assert_array_equal(gx[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])


def test_max_pool_jvp_follows_the_recorded_maxima():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 6, 3))
    v = rng.standard_normal(x.shape)
    y, ydot = cr.jvp(lambda t: ops.max_pool2d(t, 2), (x,), (v,))
    # the JVP of a max is the tangent of the winning entry: a finite difference of a small step agrees
    np.testing.assert_allclose(ydot, (ops.max_pool2d(x + 1e-7 * v, 2) - y) / 1e-7, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------ PyTorch as oracle
torch = None


def _torch():
    global torch
    torch = pytest.importorskip("torch")
    return torch


def _to_torch(a, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, "valid", 1, 1), (2, "same", 1, 1), (1, "same", 2, 2),
                                                            (2, ((2, 0), (1, 1)), 2, 2), (1, 1, 1, 4)])
def test_conv2d_equals_torch_values_and_gradients(stride, padding, dilation, groups):
    _torch()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 9, 8, 4))
    w = rng.standard_normal((3, 3, 4 // groups, 8))
    b = rng.standard_normal(8)
    u = rng.standard_normal(ops.conv2d(x, w, b, stride, padding, dilation, groups).shape)
    val, grads = value_and_grads(lambda x, w, b: (ops.conv2d(x, w, b, stride, padding, dilation, groups) * u).sum(),
                                 x, w, b)
    (pt, pb), (pl, pr) = C.conv_padding(padding, (9, 8), (3, 3), stride, dilation)
    tx, tw, tb = _to_torch(x.transpose(0, 3, 1, 2), True), _to_torch(w.transpose(3, 2, 0, 1), True), _to_torch(b, True)
    ty = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (pl, pr, pt, pb)), tw, tb, stride=stride,
                                    dilation=dilation, groups=groups)
    tl = (ty * _to_torch(u.transpose(0, 3, 1, 2))).sum()
    tl.backward()
    np.testing.assert_allclose(val, tl.item(), rtol=1e-12)
    np.testing.assert_allclose(grads[0], tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grads[1], tw.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grads[2], tb.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv1d_equals_torch():
    _torch()
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 11, 3))
    w = rng.standard_normal((4, 3, 5))
    ours = ops.conv1d(x, w, strides=2, dilation=2)
    theirs = torch.nn.functional.conv1d(_to_torch(x.transpose(0, 2, 1)), _to_torch(w.transpose(2, 1, 0)), stride=2,
                                        dilation=2)
    np.testing.assert_allclose(ours, theirs.numpy().transpose(0, 2, 1), rtol=1e-10)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
def test_pooling_equals_torch_with_ties(ties, kernel, stride, padding):
    _torch()
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 7, 6, 3))
    if ties:  # integer values and zero backgrounds: ties in nearly every window
        x = np.maximum(np.round(x), 0)
    u = rng.standard_normal(ops.max_pool2d(x, kernel, stride, padding).shape)
    for kind in ("max", "avg", "avg_incl"):
        if kind == "max":
            f = lambda t: ops.max_pool2d(t, kernel, stride, padding)  # noqa: E731
            tf = lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding)  # noqa: E731
        else:
            incl = kind == "avg_incl"
            f = lambda t: ops.avg_pool2d(t, kernel, stride, padding, count_include_pad=incl)  # noqa: E731
            tf = lambda t: torch.nn.functional.avg_pool2d(t, kernel, stride, padding, count_include_pad=incl)  # noqa
        _, (g,) = value_and_grads(lambda t: (f(t) * u).sum(), x)
        tx = _to_torch(x.transpose(0, 3, 1, 2), True)
        ty = tf(tx)
        np.testing.assert_allclose(f(x), ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
        (ty * _to_torch(u.transpose(0, 3, 1, 2))).sum().backward()
        np.testing.assert_allclose(g, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)


def test_fused_conv_relu_pool_equals_torch_on_images_with_zero_backgrounds():
    """Fashion-MNIST-like inputs: zero borders make the pre-activation tie everywhere."""
    _torch()
    rng = np.random.default_rng(10)
    x = np.zeros((4, 10, 10, 1))
    x[:, 3:7, 2:8, 0] = rng.random((4, 4, 6))
    w = rng.standard_normal((3, 3, 1, 5))
    b = rng.standard_normal(5)
    y = ops.conv2d(x, w, b, activation="relu", max_pool=2)
    u = rng.standard_normal(y.shape)
    _, grads = value_and_grads(lambda x, w, b: (ops.conv2d(x, w, b, activation="relu", max_pool=2) * u).sum(),
                               x, w, b)
    tx, tw, tb = _to_torch(x.transpose(0, 3, 1, 2), True), _to_torch(w.transpose(3, 2, 0, 1), True), _to_torch(b, True)
    ty = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(tx, tw, tb)), 2)
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12)
    (ty * _to_torch(u.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(grads[1], tw.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[2], tb.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[0], tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------ engine and dtypes
def test_float32_in_float32_out_and_weight_gradient_in_the_offered_buffer():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 6, 6, 2)).astype(np.float32)
    w = cr.nn.Parameter(rng.standard_normal((3, 3, 2, 3)).astype(np.float32))
    b = cr.nn.Parameter(np.zeros(3, np.float32))
    opt = cr.optim.SGD([w, b], lr=0.1)
    y = ops.conv2d(x, w, b, activation="relu")
    assert y.dtype == np.float32
    opt.zero_grad()
    y.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == w.shape
    ref = cr.grad(lambda w: ops.relu(ops.conv2d(x.astype(np.float64), w, b.numpy().astype(np.float64))).sum())(
        w.numpy().astype(np.float64))
    np.testing.assert_allclose(w.grad, ref, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------- errors
def test_errors_say_what_was_expected_and_what_to_do():
    with pytest.raises(ValueError, match=r"conv2d: expected input of rank 4 \(batch, height, width, channels\), "
                                         r"got shape \(64, 784\)"):
        ops.conv2d(np.ones((64, 784)), np.ones((3, 3, 1, 8)))
    with pytest.raises(ValueError, match=r"kernel .* is larger than the padded input 2x2.*padding='same'"):
        ops.conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)))
    with pytest.raises(ValueError, match=r"the input has 3 channels but the kernel of shape \(3, 3, 1, 4\) expects 1"):
        ops.conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 1, 4)))
    with pytest.raises(ValueError, match=r"groups=2 must divide both the 3 input channels"):
        ops.conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 1, 4)), groups=2)
    with pytest.raises(ValueError, match=r"padding must be 'valid', 'same'"):
        ops.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding="full")
    with pytest.raises(ValueError, match=r"strides must be a positive int"):
        ops.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=0)
    with pytest.raises(ValueError, match=r"pooling window 3x3 is larger than the padded input 2x2"):
        ops.max_pool2d(np.ones((1, 2, 2, 1)), 3)
    with pytest.raises(ValueError, match=r"activation 'softmax' cannot be fused"):
        ops.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), activation="softmax")
    with pytest.raises(ValueError, match=r"padding='causal' is for 1-D"):
        ops.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding="causal")
    with pytest.raises(ValueError, match=r"set_column_memory_limit: expected a positive number"):
        C.set_column_memory_limit(0)
