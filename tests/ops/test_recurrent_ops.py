"""The recurrent primitives (chainrule/ops/recurrent.py) against a step-by-step NumPy reference of
the documented equations, against their composed versions, and by gradcheck / gradgradcheck."""
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import recurrent as R


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """These products are small: they run fastest on one thread, and a test worker shares the cores
    with the others (OpenBLAS's threads stall badly on an oversubscribed machine)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture(autouse=True)
def f64():
    cr.set_default_dtype("float64")
    yield
    cr.set_default_dtype("float32")


def sigma(z):
    return 1.0 / (1.0 + np.exp(-z))


# ----------------------------------------------------------------- the equations, in plain NumPy
def numpy_rnn(cell, x, W, U, b, h0, c0=None, mask=None, go_backwards=False, reset_after=True, b_rec=None):
    """Every output and the final states, looping over steps exactly as the docstrings write the cells:
    SimpleRNN h = tanh(x W + b + h U); LSTM gates (i, f, c, o); GRU gates (z, r, h); masked steps
    keep the previous states and repeat the previous output."""
    N, T, _ = x.shape
    u = U.shape[0]
    h = h0.copy()
    c = None if c0 is None else c0.copy()
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    outs = []
    for t in steps:
        xt = x[:, t]
        if cell == "rnn":
            hn, cn = np.tanh(xt @ W + b + h @ U), None
        elif cell == "lstm":
            z = xt @ W + b + h @ U
            i, f, g, o = sigma(z[:, :u]), sigma(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigma(z[:, 3 * u:])
            cn = f * c + i * g
            hn = o * np.tanh(cn)
        else:
            a = xt @ W + b
            if reset_after:
                m = h @ U + b_rec
                zg, r = sigma(a[:, :u] + m[:, :u]), sigma(a[:, u:2 * u] + m[:, u:2 * u])
                hh = np.tanh(a[:, 2 * u:] + r * m[:, 2 * u:])
            else:
                m = h @ U[:, :2 * u]
                zg, r = sigma(a[:, :u] + m[:, :u]), sigma(a[:, u:2 * u] + m[:, u:2 * u])
                hh = np.tanh(a[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
            hn, cn = zg * h + (1 - zg) * hh, None
        if mask is not None:
            k = mask[:, t, None]
            hn = np.where(k, hn, h)
            cn = None if cn is None else np.where(k, cn, c)
        h, c = hn, cn
        outs.append(h)
    return np.stack(outs, axis=1), h, c


def _weights(cell, F, u, rng, scale=0.6):
    k = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    return (rng.standard_normal((F, k * u)) * scale, rng.standard_normal((u, k * u)) * scale,
            rng.standard_normal(k * u) * 0.3)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("T", [1, 2, 7])
def test_fused_sequence_equals_the_numpy_equations(cell, T):
    rng = np.random.default_rng(T)
    N, F, u = 3, 2, 4
    x = rng.standard_normal((N, T, F))
    W, U, b = _weights(cell, F, u, rng)
    h0, c0 = rng.standard_normal((N, u)), rng.standard_normal((N, u))
    b_rec = rng.standard_normal(3 * u) * 0.3
    mask = rng.random((N, T)) < 0.7
    for go_backwards, masked, reset_after in itertools.product([False, True], [False, True],
                                                               [True, False] if cell == "gru" else [True]):
        m = mask if masked else None
        ref_seq, ref_h, ref_c = numpy_rnn(cell, x, W, U, b, h0, c0 if cell == "lstm" else None, m, go_backwards,
                                          reset_after, b_rec)
        opts = dict(mask=m, go_backwards=go_backwards, return_sequences=True, return_state=True)
        if cell == "rnn":
            seq, h = R.simple_rnn(x, W, U, b, initial_state=h0, **opts)
        elif cell == "lstm":
            seq, h, c = R.lstm(x, W, U, b, initial_state=[h0, c0], **opts)
            np.testing.assert_allclose(c, ref_c, rtol=0, atol=1e-10)
        else:
            seq, h = R.gru(x, W, U, b, b_rec if reset_after else None, initial_state=h0, reset_after=reset_after,
                           **opts)
        np.testing.assert_allclose(seq, ref_seq, rtol=0, atol=1e-10)
        np.testing.assert_allclose(h, ref_h, rtol=0, atol=1e-10)
        last = {"rnn": R.simple_rnn, "lstm": R.lstm, "gru": R.gru}[cell]
        args = (x, W, U, b) + ((b_rec if reset_after else None,) if cell == "gru" else ())
        init = [h0, c0] if cell == "lstm" else h0
        extra = {"reset_after": reset_after} if cell == "gru" else {}
        np.testing.assert_allclose(last(*args, initial_state=init, mask=m, go_backwards=go_backwards, **extra),
                                   ref_seq[:, -1], rtol=0, atol=1e-10)


def test_masked_steps_repeat_the_previous_output_and_zero_output_gives_zeros():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3))
    W, U, b = _weights("lstm", 3, 2, rng)
    mask = np.array([[True, False, True, False], [False, True, True, True]])
    seq = R.lstm(x, W, U, b, mask=mask, return_sequences=True)
    np.testing.assert_array_equal(seq[0, 1], seq[0, 0])            # step 1 of sample 0 is skipped
    np.testing.assert_array_equal(seq[1, 0], 0)                      # nothing before the first step: zeros
    zero = R.lstm(x, W, U, b, mask=mask, return_sequences=True, zero_output_for_mask=True)
    np.testing.assert_array_equal(zero[~mask], 0)
    np.testing.assert_array_equal(zero[mask], seq[mask])


CASES = [dict(), dict(return_sequences=True), dict(return_state=True),
         dict(return_sequences=True, return_state=True, go_backwards=True),
         dict(go_backwards=True, keep_time_order=True, return_sequences=True, masked=True),
         dict(masked=True, zero_output_for_mask=True, return_sequences=True, return_state=True),
         dict(time_major=True, return_sequences=True, return_state=True, rec=True, masked=True)]


def _call(cell, opts, rng, N=3, T=4, F=2, u=2):
    """(the primitive's class, its input arrays, its keyword options) for a case of CASES."""
    opts = dict(opts)
    masked, rec = opts.pop("masked", False), opts.pop("rec", False)
    x = rng.standard_normal((T, N, F) if opts.get("time_major") else (N, T, F))
    W, U, b = _weights(cell, F, u, rng)
    h0 = rng.standard_normal((N, u)) * 0.5
    if masked:
        m = rng.random((N, T)) < 0.6
        m[0, :4] = [True, False, True, False][:T]
        opts["mask"] = m
    if rec:
        opts["recurrent_mask"] = (rng.random((N, u)) < 0.7) / 0.7
    if cell == "rnn":
        return R.SimpleRNNSequence, [x, W, U, b, h0], opts
    if cell == "lstm":
        return R.LSTMSequence, [x, W, U, b, h0, rng.standard_normal((N, u)) * 0.5], opts
    return R.GRUSequence, [x, W, U, b, rng.standard_normal(3 * u) * 0.3, h0], opts


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_matches_the_composed_version_in_value_vjp_and_jvp(cell):
    """The fused primitive against its composition of primitives (chainrule's own oracle), for every
    output layout and option: values, the VJP of every input, the JVP."""
    rng = np.random.default_rng(2)
    for opts in CASES:
        variants = [{}] + ([{"reset_after": False}, {"gate_order": "rzh"}] if cell == "gru" else [])
        for variant in variants:
            C, args, kw = _call(cell, opts, rng)
            kw.update(variant)
            if variant.get("reset_after") is False:
                args[4] = None
            y = C.apply(*args, **kw)
            np.testing.assert_allclose(y, C.reference(*args, **kw), atol=1e-12)
            seed = rng.standard_normal(y.shape)
            fused = [None if a is None else cr.tensor(a, requires_grad=True) for a in args]
            comp = [None if a is None else cr.tensor(a, requires_grad=True) for a in args]
            C.apply(*fused, **kw).backward(seed)
            C.reference(*comp, **kw).backward(seed)
            for a, b_ in zip(fused, comp):
                if a is not None:
                    np.testing.assert_allclose(a.grad, b_.grad, atol=1e-11)
            present = [a for a in args if a is not None]
            tangents = tuple(rng.standard_normal(a.shape) for a in present)

            def pack(fn):
                def f(*xs):
                    it = iter(xs)
                    return fn(*[None if a is None else next(it) for a in args], **kw)
                return f
            _, t1 = cr.jvp(pack(C.apply), tuple(present), tangents)
            _, t2 = cr.jvp(pack(C.reference), tuple(present), tangents)
            np.testing.assert_allclose(t1, t2, atol=1e-11)


def test_lstm_vjp_over_several_blocks_of_steps_matches_the_composed_version():
    """The LSTM's VJP runs block by block (R._BLOCK steps at a time, last block first): over two
    whole blocks and a partial one, with every option of CASES (masks and the recurrent mask, both
    directions, states in and out), its gradients equal the composed version's."""
    rng = np.random.default_rng(5)
    T = 2 * R._BLOCK + 3
    for opts in CASES:
        C, args, kw = _call("lstm", opts, rng, T=T)
        fused = [cr.tensor(a, requires_grad=True) for a in args]
        comp = [cr.tensor(a, requires_grad=True) for a in args]
        y = C.apply(*fused, **kw)
        np.testing.assert_allclose(y.data, C.reference(*args, **kw), atol=1e-12)
        seed = rng.standard_normal(y.shape)
        y.backward(seed)
        C.reference(*comp, **kw).backward(seed)
        for a, b_ in zip(fused, comp):
            np.testing.assert_allclose(a.grad, b_.grad, atol=1e-10, err_msg=str(opts))


@pytest.mark.parametrize("F, rec", [(1, False), (3, True)])
def test_lstm_without_bias_or_with_one_feature_matches_the_composed_version(F, rec):
    """The LSTM multiplies the state augmented with x_t (and a 1 when there is a bias): without a
    bias the extra row is absent, and Ubar, Wbar (and bbar) come out of one product."""
    rng = np.random.default_rng(11 + F)
    N, T, u = 3, 5, 3
    x = rng.standard_normal((N, T, F))
    W, U, b = _weights("lstm", F, u, rng)
    kw = {"return_sequences": True, "return_state": True}
    if rec:
        kw["recurrent_mask"] = (rng.random((N, u)) < 0.7) / 0.7
    for bias in (None, b):
        args = [x, W, U, bias, rng.standard_normal((N, u)), None]
        y = R.LSTMSequence.apply(*args, **kw)
        np.testing.assert_allclose(y, R.LSTMSequence.reference(*args, **kw), atol=1e-12)
        seed = rng.standard_normal(y.shape)
        fused = [None if a is None else cr.tensor(a, requires_grad=True) for a in args]
        comp = [None if a is None else cr.tensor(a, requires_grad=True) for a in args]
        R.LSTMSequence.apply(*fused, **kw).backward(seed)
        R.LSTMSequence.reference(*comp, **kw).backward(seed)
        for a, c in zip(fused, comp):
            if a is not None:
                np.testing.assert_allclose(a.grad, c.grad, atol=1e-11)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("case", [0, 3, 4, 6])
def test_primitives_pass_gradcheck_and_gradgradcheck(cell, case):
    rng = np.random.default_rng(3)
    C, args, kw = _call(cell, CASES[case], rng, N=2, T=3, F=2, u=2)

    def f(*xs):
        return C.apply(*xs, **kw)
    cr.gradcheck(f, *args)
    cr.gradgradcheck(f, *args)


def test_second_derivatives_when_one_initial_state_is_computed_from_another():
    """The VJP is differentiated through fresh nodes of each input: c0 = 0.5 h0 must not count the
    path through h0 twice (gradients() returns total derivatives)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 2))
    W, U, b = _weights("lstm", 2, 2, rng)
    cr.gradgradcheck(lambda x, h0: R.LSTMSequence.apply(x, W, U, b, h0, h0 * 0.5), x, rng.standard_normal((2, 2)))


def test_a_custom_activation_runs_through_the_composed_version():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 2))
    W, U, b = _weights("rnn", 2, 3, rng)
    y = R.simple_rnn(x, W, U, b, activation=lambda z: cr.tanh(z) * 0.5)
    h = np.zeros((2, 3))
    for t in range(3):
        h = 0.5 * np.tanh(x[:, t] @ W + b + h @ U)
    np.testing.assert_allclose(y, h, atol=1e-12)
    np.testing.assert_allclose(R.simple_rnn(x, W, U, b, activation="softplus"),
                               R.simple_rnn_reference(x, W, U, b, activation="softplus"), atol=1e-12)


def test_float32_stays_float32():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    W, U, b = (a.astype(np.float32) for a in _weights("gru", 2, 2, rng))
    Wt = cr.tensor(W, requires_grad=True)
    y = R.gru(x, Wt, U, b, b, return_sequences=True)
    y.sum().backward()
    assert y.dtype == np.float32 and Wt.grad.dtype == np.float32


def test_errors_name_what_was_expected():
    rng = np.random.default_rng(7)
    W, U, b = _weights("lstm", 2, 3, rng)
    with pytest.raises(ValueError, match=r"lstm: .*rank 3 \(batch, time, features\), got shape \(4, 2\)"):
        R.lstm(np.ones((4, 2)), W, U, b)
    with pytest.raises(ValueError, match=r"the kernel must have shape \(5, 12\), got \(2, 12\)"):
        R.lstm(np.ones((4, 3, 5)), W, U, b)
    with pytest.raises(ValueError, match=r"the mask must have shape \(batch, time\) = \(4, 3\), got \(3, 4\)"):
        R.lstm(np.ones((4, 3, 2)), W, U, b, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"expected 2 initial states \(\[h, c\]\), got 1"):
        R.lstm(np.ones((4, 3, 2)), W, U, b, initial_state=[np.zeros((4, 3))])
    with pytest.raises(ValueError, match="at least one time step"):
        R.lstm(np.ones((4, 0, 2)), W, U, b)
    with pytest.raises(ValueError, match="gate_order must be 'zrh'"):
        R.gru(np.ones((4, 3, 2)), *_weights("gru", 2, 3, rng), gate_order="zr")


def test_the_fused_primitive_refuses_an_activation_it_cannot_fuse():
    rng = np.random.default_rng(8)
    W, U, b = _weights("rnn", 2, 2, rng)
    with pytest.raises(ValueError, match=r"activation='softplus' cannot run inside the fused cell.*composed"):
        R.SimpleRNNSequence.apply(np.ones((1, 2, 2)), W, U, b, activation="softplus")


# ----------------------------------------------------------------- the LSTM's one-pass gate kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_tanh_kernel_gives_the_table_values_from_one_tanh(dtype):
    from chainrule.ops.elementwise import Sigmoid, sigmoid_tanh_from_tanh_ as sigmoid_tanh_
    tol = 2 * np.finfo(dtype).eps   # two formulas, each within about an epsilon near 1 (a million values here: 1 eps)
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((2, 7, 5)) * 4).astype(dtype)
    x[0, 0, :3] = [100.0, -100.0, 0.0]                      # the limits 1, 0 and the middle 1/2, no nan
    x[0, 5, :3] = [1e4, -1e4, 1e-30]
    x[1, 1, :2] = [-np.inf, np.inf]
    w = x * np.array([0.5, 0.5, 0.5, 0.5, 1, 1, 1], dtype)[:, None]
    with np.errstate(over="ignore"):
        s = Sigmoid.f_(x[..., :4, :], np.empty_like(x[..., :4, :]))
    with np.errstate(all="raise"):                         # nothing overflows, nothing is invalid
        y = sigmoid_tanh_(w.copy(), 4, np.empty_like(x))
        y4 = sigmoid_tanh_(w[..., :4, :].copy(), 4, np.empty_like(s))
        t = sigmoid_tanh_(x.copy(), 0, np.empty_like(x))    # n = 0: every row tanh
    assert y.dtype == dtype and np.isfinite(y).all()
    # the sigmoid rows: within two units of epsilon of Sigmoid's own values, absolutely (not relatively:
    # a value below about eps / 4 comes out as 0)
    np.testing.assert_allclose(y[..., :4, :], s, rtol=0, atol=tol)
    assert y[0, 0, 0] == 1 and y[0, 0, 1] == 0 and y[0, 0, 2] == 0.5 and y[1, 1, 0] == 0 and y[1, 1, 1] == 1
    np.testing.assert_array_equal(y[..., 4:, :], np.tanh(x[..., 4:, :]))   # the tanh rows are np.tanh's
    assert y[0, 5, 0] == 1 and y[0, 5, 1] == -1
    np.testing.assert_array_equal(y4, y[..., :4, :])
    np.testing.assert_array_equal(t, np.tanh(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_tanh_kernel_gives_the_table_values_from_one_exp(dtype):
    from chainrule.ops.elementwise import Sigmoid, sigmoid_tanh_from_exp_
    eps = np.finfo(dtype).eps
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((2, 7, 5)) * 4).astype(dtype)
    x[0, 0, :3] = [100.0, -100.0, 0.0]                      # the limits 1, 0 (exp overflows) and 1/2
    x[0, 5, :3] = [1e4, -1e4, 1e-30]
    x[1, 1, :2] = [-np.inf, np.inf]
    x[1, 6, :2] = [np.inf, -np.inf]
    w = x * np.array([-1, -1, -1, -1, -2, -2, -2], dtype)[:, None]
    with np.errstate(over="ignore"):
        s = Sigmoid.f_(x[..., :4, :], np.empty_like(x[..., :4, :]))
    with np.errstate(over="ignore", invalid="raise", divide="raise"):   # inf from exp is the limit, no nan
        y = sigmoid_tanh_from_exp_(w.copy(), 4, np.empty_like(x))
        y4 = sigmoid_tanh_from_exp_(w[..., :4, :].copy(), 4, np.empty_like(s))
        t = sigmoid_tanh_from_exp_(-2 * x, 0, np.empty_like(x))     # n = 0: every row tanh
    assert y.dtype == dtype and np.isfinite(y).all()
    np.testing.assert_array_equal(y[..., :4, :], s)        # the sigmoid rows are Sigmoid.f_'s own formula
    assert y[0, 0, 0] == 1 and 0 <= y[0, 0, 1] < 4e-44 and y[0, 0, 2] == 0.5 and y[1, 1, 0] == 0 and y[1, 1, 1] == 1
    # the tanh rows: 2 sigma(2x) - 1, within two units of epsilon of np.tanh absolutely (a million
    # values: 1.5), with the limits exact
    np.testing.assert_allclose(y[..., 4:, :], np.tanh(x[..., 4:, :]), rtol=0, atol=2 * eps)
    assert y[0, 5, 0] == 1 and y[0, 5, 1] == -1 and y[1, 6, 0] == 1 and y[1, 6, 1] == -1
    np.testing.assert_array_equal(y4, y[..., :4, :])
    np.testing.assert_allclose(t, np.tanh(x), rtol=0, atol=2 * eps)


def test_the_gate_kernel_follows_numpys_own_dispatch_of_float32_tanh():
    """The one-tanh form is taken exactly where NumPy's table (read whole, unfiltered) runs float32
    tanh on its AVX-512 loop; a filtered query that matched nothing once made every machine take the
    exp form."""
    introspect = pytest.importorskip("numpy.lib.introspect")
    from chainrule.ops import elementwise as E
    entry = introspect.opt_func_info().get("tanh", {}).get("ff")      # absent: the exp form
    wide = entry is not None and ("AVX512" in entry["current"] or "X86_V4" in entry["current"])
    assert E._tanh_has_wide_simd() is wide
    assert E.sigmoid_tanh_ is (E.sigmoid_tanh_from_tanh_ if wide else E.sigmoid_tanh_from_exp_)


@pytest.mark.parametrize("form", ["tanh", "exp"])
def test_lstm_runs_the_same_equations_through_either_gate_kernel(form, monkeypatch):
    """The cell takes whichever kernel this machine's NumPy runs faster; both give the equations'
    values, and the cell scales its weights for the one it takes."""
    from chainrule.ops import elementwise as E
    from chainrule.ops import recurrent as ops_recurrent
    kernel = {"tanh": E.sigmoid_tanh_from_tanh_, "exp": E.sigmoid_tanh_from_exp_}[form]
    monkeypatch.setattr(ops_recurrent, "sigmoid_tanh_", kernel)   # the kernel carries the scales it takes
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 6, 2))
    W, U, b = _weights("lstm", 2, 4, rng)
    y = R.lstm(x, W, U, b, return_sequences=True)
    np.testing.assert_allclose(y, R.lstm_reference(x, W, U, b, return_sequences=True), rtol=0, atol=1e-14)
    y32 = R.lstm(*(a.astype(np.float32) for a in (x, W, U, b)), return_sequences=True)
    np.testing.assert_allclose(y32, y, rtol=0, atol=2e-6)


def test_lstm_in_float32_matches_the_float64_equations():
    """The default gates run through the one-tanh kernel (sigma as (1 + tanh(x / 2)) / 2): in float32
    the outputs and gradients stay within float32 rounding of the float64 composed version."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 9, 3))
    W, U, b = _weights("lstm", 3, 5, rng)
    y32 = R.lstm(x.astype(np.float32), W.astype(np.float32), U.astype(np.float32), b.astype(np.float32),
                 return_sequences=True)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, R.lstm_reference(x, W, U, b, return_sequences=True), rtol=0, atol=2e-6)


def test_lstm_with_other_table_activations_takes_the_per_gate_kernels():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 2))
    W, U, b = _weights("lstm", 2, 3, rng)
    kw = dict(activation="relu", recurrent_activation="tanh", return_sequences=True)
    fused = [cr.tensor(a, requires_grad=True) for a in (W, U, b)]
    comp = [cr.tensor(a, requires_grad=True) for a in (W, U, b)]
    y = R.LSTMSequence.apply(x, *fused, **kw)
    np.testing.assert_allclose(y.data, R.lstm_reference(x, *comp, **kw).data, atol=1e-12)
    seed = rng.standard_normal(y.shape)
    y.backward(seed)
    R.lstm_reference(x, *comp, **kw).backward(seed)
    for a, c in zip(fused, comp):
        np.testing.assert_allclose(a.grad, c.grad, atol=1e-11)
