"""Recurrent layers (chainrule/nn/recurrent.py, masking.py, chainrule/torch/nn/recurrent.py): Keras'
shapes and semantics, gradients through time, PyTorch and Keras 3 as oracles with weights copied."""
import os

import numpy as np
import pytest

import chainrule as cr
import chainrule.torch as ctorch
from chainrule import nn, ops, optim
from chainrule.io import load_model, save_model
from chainrule.nn.masking import get_mask

from .layer_checks import check_layer, keras_pair, same_as_keras, trains_as_keras


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """These products are small: they run fastest on one thread, and a test worker shares the cores
    with the others (OpenBLAS's threads stall badly on an oversubscribed machine)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield

CELLS = {"SimpleRNN": nn.SimpleRNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def _mask(N, T, rng):
    m = rng.random((N, T)) < 0.7
    m[:, -1] = True
    m[0, 0] = False
    return m


@pytest.mark.parametrize("name", list(CELLS))
def test_every_layer_passes_gradcheck_and_gradgradcheck(f64, name):
    cls, rng = CELLS[name], np.random.default_rng(0)
    x = lambda T: rng.standard_normal((2, T, 2))  # noqa: E731
    check_layer(cls(2, input_shape=(1, 2)), x(1))
    check_layer(cls(2, return_sequences=True, return_state=True, input_shape=(2, 2)), x(2))
    check_layer(cls(2, go_backwards=True, return_sequences=True, input_shape=(7, 2)), x(7), mask=_mask(2, 7, rng))
    check_layer(nn.Sequential([cls(2, return_sequences=True, input_shape=(2, 2)), cls(2)]), x(2))
    check_layer(nn.Bidirectional(cls(2, return_sequences=True), input_shape=(2, 2)), x(2), mask=_mask(2, 2, rng))
    if name == "GRU":
        check_layer(nn.GRU(2, reset_after=False, return_state=True, input_shape=(2, 2)), x(2))


def test_weights_have_keras_shapes_order_and_initializers():
    cr.manual_seed(0)
    lstm = nn.LSTM(5, input_shape=(None, 3))
    assert (lstm.kernel.shape, lstm.recurrent_kernel.shape, lstm.bias.shape) == ((3, 20), (5, 20), (20,))
    np.testing.assert_array_equal(lstm.bias.numpy(), np.r_[np.zeros(5), np.ones(5), np.zeros(10)])  # forget gate at 1
    U = lstm.recurrent_kernel.numpy().astype(np.float64)
    np.testing.assert_allclose(U @ U.T, np.eye(5), atol=1e-5)                   # orthogonal rows
    assert [n for n, _ in lstm.named_parameters()] == ["kernel", "recurrent_kernel", "bias"]
    assert nn.LSTM(5, unit_forget_bias=False, input_dim=3).bias.numpy().sum() == 0
    gru = nn.GRU(4, input_shape=(2, 3))
    assert gru.bias.shape == (2, 12) and gru.count_params() == 3 * (3 * 4 + 4 * 4 + 2 * 4)
    assert nn.GRU(4, reset_after=False, input_shape=(2, 3)).bias.shape == (12,)
    rnn = nn.SimpleRNN(4, input_shape=(2, 3), use_bias=False)
    assert rnn.count_params() == 3 * 4 + 4 * 4 and "bias" not in dict(rnn.named_parameters())
    k = rnn.kernel.numpy()
    assert np.abs(k).max() <= np.sqrt(6 / (3 + 4))                           # glorot_uniform
    assert rnn.output_shape == (None, 4)
    assert nn.LSTM(3, return_sequences=True, return_state=True, input_shape=(7, 2)).output_shape == \
        [(None, 7, 3), (None, 3), (None, 3)]


def test_stateful_over_two_batches_equals_one_long_sequence(f64):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 2))
    for cls in CELLS.values():
        cr.manual_seed(0)
        whole = cls(4, return_sequences=True, input_shape=(None, 2))
        stateful = cls(4, return_sequences=True, stateful=True, input_shape=(None, 2))
        stateful.load_state_dict(whole.state_dict())
        first, second = stateful(x[:, :4]), stateful(x[:, 4:])
        np.testing.assert_allclose(np.concatenate([first.data, second.data], axis=1), whole(x).data, atol=1e-12)
        stateful.reset_states()
        np.testing.assert_allclose(stateful(x[:, :4]).data, first.data, atol=1e-12)
        with pytest.raises(ValueError, match="every batch must have 3 samples, got 2"):
            stateful(x[:2])


def test_fit_keeps_a_stateful_model_in_order():
    cr.manual_seed(0)
    model = nn.Sequential([nn.LSTM(4, stateful=True, input_shape=(3, 1)), nn.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    X, y = np.random.default_rng(2).random((8, 3, 1)), np.zeros((8, 1))
    with pytest.raises(ValueError, match="stateful.*batches must stay in order; pass shuffle=False"):
        model.fit(X, y, batch_size=4, verbose=0)
    model.fit(X, y, batch_size=4, shuffle=False, epochs=2, verbose=0)
    assert model[0].states[0].shape == (4, 4) and np.abs(model[0].states[0]).sum() > 0
    with pytest.raises(ValueError, match="pass batch_size=4"):
        model.fit(X, y, batch_size=2, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="leave a last batch of 2"):
        model.fit(X[:6], y[:6], batch_size=4, shuffle=False, verbose=0)
    nn.recurrent.reset_states(model)                       # zeros, and free to start over with another size
    assert np.abs(model[0].states[0]).sum() == 0
    model.fit(X, y, batch_size=2, shuffle=False, verbose=0)
    assert model[0].states[0].shape == (2, 4)


def test_dropout_draws_one_mask_per_sequence_from_the_seed(f64):
    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((4, 5, 3)), requires_grad=True)
    layer = nn.LSTM(3, dropout=0.5, seed=7, return_sequences=True, input_shape=(5, 3))
    y = layer(x)
    y.sum().backward()
    dropped = np.all(x.grad == 0, axis=1)                 # (batch, features): dropped at every step or none
    assert dropped.any() and not dropped.all()
    assert np.all((x.grad == 0) == dropped[:, None, :])
    again = nn.LSTM(3, dropout=0.5, seed=7, return_sequences=True, input_shape=(5, 3))
    again.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(again(x).data, y.data)     # the same seed, the same masks
    layer.eval()
    plain = nn.LSTM(3, return_sequences=True, input_shape=(5, 3))
    plain.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(layer(x).data, plain(x).data)   # no dropout in evaluation
    rec = nn.GRU(3, recurrent_dropout=0.4, seed=1, input_shape=(5, 3))
    rec.load_state_dict(nn.GRU(3, input_shape=(5, 3)).state_dict())
    train_out = rec(x).data
    rec.eval()
    assert not np.allclose(train_out, rec(x).data)
    rec.train()
    twin = nn.GRU(3, recurrent_dropout=0.4, seed=1, input_shape=(5, 3))
    twin.load_state_dict(rec.state_dict())
    np.testing.assert_array_equal(twin(x).data, train_out)


@pytest.mark.parametrize("name", list(CELLS))
def test_masking_skips_padded_steps_as_keras(f64, name):
    """A padded sequence gives the outputs of the unpadded one: masked steps keep the states and
    repeat the previous output (zeros before the first real step)."""
    rng = np.random.default_rng(4)
    layer = CELLS[name](3, return_sequences=True, return_state=True, input_shape=(None, 2))
    x = rng.standard_normal((2, 5, 2))
    padded = x.copy()
    padded[0, 3:] = 0.0          # right padding: sample 0 is 3 steps long
    padded[1, :2] = 0.0          # left padding: sample 1 starts at step 2
    masked = nn.Masking(0.0)(padded)
    np.testing.assert_array_equal(get_mask(masked), [[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]])
    seq, *states = layer(masked)
    seq0, *states0 = layer(x[:1, :3])
    seq1, *_ = layer(x[1:, 2:])
    np.testing.assert_allclose(seq.data[0, :3], seq0.data[0], atol=1e-12)
    np.testing.assert_allclose(seq.data[0, 3:], np.repeat(seq0.data[:, 2], 2, axis=0), atol=1e-12)
    np.testing.assert_allclose(states[-1].data[0], states0[-1].data[0], atol=1e-12)
    np.testing.assert_array_equal(seq.data[1, :2], 0)
    np.testing.assert_allclose(seq.data[1, 2:], seq1.data[0], atol=1e-12)
    assert get_mask(seq) is not None          # return_sequences passes the mask on
    assert get_mask(layer(padded)[0]) is None  # no Masking, no mask


def test_initial_state_is_used_and_differentiated(f64):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 3))
    h0 = cr.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    c0 = cr.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    layer = nn.LSTM(5, input_shape=(4, 3))
    y = layer(x, initial_state=[h0, c0])
    np.testing.assert_allclose(y.data, ops.lstm(x, layer.kernel.data, layer.recurrent_kernel.data, layer.bias.data,
                                                initial_state=[h0.data, c0.data]), atol=1e-12)
    y.sum().backward()
    assert np.abs(h0.grad).sum() > 0 and np.abs(c0.grad).sum() > 0
    with pytest.raises(ValueError, match=r"initial_state must be a list of 2 states \[h, c\], got 1"):
        layer(x, initial_state=[h0])
    with pytest.raises(ValueError, match=r"shape \(batch, units\) = \(2, 5\), got \(3, 5\)"):
        layer(x, initial_state=[np.zeros((3, 5)), np.zeros((3, 5))])


def test_dense_on_sequences_acts_on_the_last_axis_and_stacks(f64):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 2))
    dense = nn.Dense(5, activation="relu")
    y = dense(x)
    assert y.shape == (3, 4, 5)
    np.testing.assert_allclose(y.data, np.maximum(x @ dense.kernel.data + dense.bias.data, 0), atol=1e-12)
    td = nn.TimeDistributed(nn.Dense(5, activation="relu"), input_shape=(4, 2))
    td.layer.load_state_dict(dense.state_dict())
    np.testing.assert_allclose(td(x).data, y.data, atol=1e-12)
    assert td.output_shape == (None, 4, 5)
    # the notes' dense-then-GRU network: Dense, Dense on (batch, 2, 1), two GRUs, Dense
    model = nn.Sequential([nn.Dense(6, activation="relu"), nn.Dense(6, activation="relu"),
                           nn.GRU(4, return_sequences=True), nn.GRU(4), nn.Dense(1)])
    out = model(rng.standard_normal((5, 2, 1)))
    assert out.shape == (5, 1)
    assert [layer.output_shape for layer in model] == [(None, 2, 6), (None, 2, 6), (None, 2, 4), (None, 4), (None, 1)]
    check_layer(nn.Sequential([nn.Dense(2, activation="tanh", input_dim=2), nn.SimpleRNN(2)]), x[:2, :2])


def test_summary_shows_keras_output_shapes_and_counts():
    model = nn.Sequential([nn.SimpleRNN(200, input_shape=(2, 1)), nn.Dense(1)])
    text = model.summary(print_fn=None)
    assert "(None, 200)" in text and "40,400" in text and "Total params: 40,601" in text
    bi = nn.Sequential([nn.Bidirectional(nn.LSTM(8, return_sequences=True), input_shape=(5, 3)),
                        nn.TimeDistributed(nn.Dense(2))])
    text = bi.summary(print_fn=None)
    assert "(None, 5, 16)" in text and "(None, 5, 2)" in text and f"{2 * 4 * (3 * 8 + 64 + 8):,}" in text


def test_every_new_layer_saves_and_loads(tmp_path):
    cr.manual_seed(0)
    rng = np.random.default_rng(7)
    model = nn.Sequential([
        nn.Masking(0.0, input_shape=(4, 3)),
        nn.Bidirectional(nn.LSTM(3, return_sequences=True, kernel_regularizer=nn.l2(1e-3)), merge_mode="sum"),
        nn.TimeDistributed(nn.Dense(4, activation="tanh")),
        nn.GRU(3, reset_after=False, return_sequences=True, go_backwards=True),
        nn.SimpleRNN(2, activation="relu", dropout=0.1, seed=3),
        nn.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mse")
    X = rng.standard_normal((6, 4, 3))
    X[0, 2:] = 0
    model.fit(X, rng.standard_normal((6, 1)), epochs=1, batch_size=3, verbose=0)
    path = save_model(model, tmp_path / "rnn")
    again = load_model(path)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert again.get_config() == model.get_config()
    lazy = nn.Sequential([nn.Dense(5, activation="relu"), nn.GRU(3, return_sequences=True), nn.LSTM(2), nn.Dense(1)])
    lazy(X[:1])
    np.testing.assert_array_equal(load_model(save_model(lazy, tmp_path / "lazy")).predict(X), lazy.predict(X))
    torch_style = ctorch.nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    reloaded = load_model(save_model(torch_style, tmp_path / "torch_gru"))
    assert type(reloaded) is ctorch.nn.GRU and repr(reloaded) == repr(torch_style)
    np.testing.assert_array_equal(reloaded(X.astype(np.float32))[0].data, torch_style(X.astype(np.float32))[0].data)


def test_training_runs_on_the_engine_with_gradient_clipping():
    cr.manual_seed(0)
    rng = np.random.default_rng(8)
    X = rng.random((32, 5, 1)).astype(np.float32)
    y = X.sum(axis=1)
    model = nn.Sequential([nn.LSTM(8, input_shape=(5, 1)), nn.Dense(1)])
    model.compile(optimizer=optim.Adam(lr=0.02, clipnorm=1.0), loss="mse")
    history = model.fit(X, y, epochs=30, batch_size=8, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.25 * history.history["loss"][0]
    # one clipped SGD step by hand: each gradient scaled to norm <= clipnorm, or entries clipped to clipvalue
    for clip in ({"clipnorm": 1e-3}, {"clipvalue": 1e-4}):
        layer = nn.GRU(3, input_shape=(5, 1))
        before = [p.data.copy() for p in layer.parameters()]
        opt = optim.SGD(layer.parameters(), lr=0.5, **clip)
        opt.zero_grad()
        (layer(X) ** 2).mean().backward()
        grads = [p.grad.copy() for p in layer.parameters()]
        opt.step()
        for p, w, g in zip(layer.parameters(), before, grads):
            if "clipnorm" in clip:
                g = g * min(1.0, 1e-3 / np.linalg.norm(g))
            else:
                g = np.clip(g, -1e-4, 1e-4)
            np.testing.assert_allclose(p.data, w - 0.5 * g, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
def test_nested_lists_are_read_as_arrays_and_strings_are_refused_by_name(layer):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    rnn = getattr(nn, layer)(5)
    want = rnn(x).numpy()
    # as Dense and Conv2D take lists (read as float64, as NumPy reads them, so equal to float32's rounding)
    np.testing.assert_allclose(rnn(x.tolist()).numpy(), want, rtol=1e-5, atol=1e-6)
    both = nn.Bidirectional(getattr(nn, layer)(2))
    np.testing.assert_allclose(both(x.tolist()).numpy(), both(x).numpy(), rtol=1e-5, atol=1e-6)
    op = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[layer]
    with pytest.raises(TypeError, match=rf"{op}: input 0 must hold numbers \(a float, integer or "
                                        r"boolean array\), got dtype <U1"):
        rnn(np.full((2, 3, 4), "a"))


def test_shape_and_argument_errors_say_what_to_do():
    lstm = nn.LSTM(4)
    with pytest.raises(ValueError, match=r"LSTM\(units=4\): expected input of rank 3 \(batch, time, features\), got "
                                         r"shape \(64, 4\); reshape it to \(batch, time, features\): "
                                         r"x.reshape\(64, 4, 1\)"):
        lstm(np.ones((64, 4), np.float32))
    lstm(np.ones((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"expected 5 features per time step, got input of shape \(2, 3, 4\)"):
        lstm(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="SimpleRNN: units must be a positive integer, got 0"):
        nn.SimpleRNN(0)
    with pytest.raises(ValueError, match=r"GRU: dropout must be a number in \[0, 1\), got 1.5"):
        nn.GRU(3, dropout=1.5)
    with pytest.raises(ValueError, match=r"input_shape must be \(timesteps, features\)"):
        nn.LSTM(3, input_shape=(5,))
    with pytest.raises(TypeError, match="Bidirectional: expected a recurrent layer"):
        nn.Bidirectional(nn.Dense(3))
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        nn.Bidirectional(nn.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match=r"TimeDistributed\(Dense\(units=2, activation='identity'\)\): expected "
                                         r"input of rank 3 or more"):
        nn.TimeDistributed(nn.Dense(2))(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"GRU\(reset_after=False\) has no PyTorch equivalent"):
        nn.GRU(3, reset_after=False, input_shape=(2, 2)).to_torch()
    with pytest.raises(ValueError, match=r"SimpleRNN\(activation='sigmoid'\) has no PyTorch equivalent"):
        nn.SimpleRNN(3, activation="sigmoid", input_shape=(2, 2)).to_torch()
    with pytest.raises(ValueError, match="proj_size > 0"):
        nn.LSTM.from_torch({"weight_ih_l0": np.ones((8, 2)), "weight_hh_l0": np.ones((8, 1)),
                            "weight_hr_l0": np.ones((1, 2))})
    with pytest.raises(ValueError, match="mask must have shape"):
        nn.SimpleRNN(2)(np.ones((2, 3, 1), np.float32), mask=np.ones((3, 2), bool))


def test_torch_named_modules_train_the_pytorch_way():
    cr.manual_seed(0)
    rng = np.random.default_rng(9)
    lstm, head = ctorch.nn.LSTM(1, 8, batch_first=True), nn.Linear(8, 1)
    X = rng.random((32, 5, 1)).astype(np.float32)
    y = X.sum(axis=1)
    opt = optim.Adam(lstm.parameters() + head.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        out, (h_n, c_n) = lstm(X)
        loss = cr.losses.mse(y, head(h_n[0]))
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.25 * losses[0]
    np.testing.assert_array_equal(out.data[:, -1], h_n.data[0])
    assert list(lstm.state_dict()) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert repr(ctorch.nn.GRU(3, 4, num_layers=2, bidirectional=True)) == "GRU(3, 4, num_layers=2, bidirectional=True)"
    out, h = ctorch.nn.GRU(3, 4)(np.ones((6, 3), np.float32))            # unbatched (time, features)
    assert out.shape == (6, 4) and h.shape == (1, 4)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_torch_modules_and_conversions_equal_pytorch(f64, name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(10)
    for batch_first, bidirectional in ((False, True), (True, False)):
        theirs = getattr(torch.nn, name)(3, 4, num_layers=2, batch_first=batch_first,
                                         bidirectional=bidirectional).double()
        ours = getattr(ctorch.nn, name)(3, 4, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
        ours.load_state_dict(theirs.state_dict())
        assert list(ours.state_dict()) == list(theirs.state_dict())
        x = rng.standard_normal((5, 6, 3))
        h0 = rng.standard_normal((4 if bidirectional else 2, 6 if not batch_first else 5, 4))
        hx = (h0, 0.5 * h0) if name == "LSTM" else h0
        t_out, t_h = theirs(torch.tensor(x), tuple(map(torch.tensor, hx)) if name == "LSTM" else torch.tensor(hx))
        c_out, c_h = ours(x, hx)
        np.testing.assert_allclose(c_out.data, t_out.detach().numpy(), atol=1e-12)
        for a, b in zip(c_h if name == "LSTM" else [c_h], t_h if name == "LSTM" else [t_h]):
            np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-12)
        (t_out ** 2).sum().backward()
        (c_out ** 2).sum().backward()
        for (n, p), q in zip(theirs.named_parameters(), ours.parameters()):
            np.testing.assert_allclose(q.grad, p.grad.numpy(), atol=1e-10, err_msg=n)
    # Keras layout <-> PyTorch layout, both ways, and a bidirectional module
    cell = {"RNN": "SimpleRNN"}.get(name, name)
    x = rng.standard_normal((2, 5, 3))
    tm = getattr(torch.nn, name)(3, 4, batch_first=True).double()
    keras_layer = CELLS[cell].from_torch(tm, return_sequences=True)
    np.testing.assert_allclose(keras_layer(x).data, tm(torch.tensor(x))[0].detach().numpy(), atol=1e-12)
    back = getattr(torch.nn, name)(3, 4, batch_first=True).double()
    back.load_state_dict({k: torch.from_numpy(v) for k, v in keras_layer.to_torch().items()})
    np.testing.assert_allclose(back(torch.tensor(x))[0].detach().numpy(), keras_layer(x).data, atol=1e-12)
    tb = getattr(torch.nn, name)(3, 4, batch_first=True, bidirectional=True).double()
    bi = nn.Bidirectional.from_torch(tb, return_sequences=True)
    np.testing.assert_allclose(bi(x).data, tb(torch.tensor(x))[0].detach().numpy(), atol=1e-12)


def test_layers_equal_keras_3_with_weights_copied():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[1, :2] = 0.0
    masked_input = nn.Masking(0.0)(x)

    def keras_model(layer, masked):
        inp = keras.Input((5, 2))
        return keras.Model(inp, layer(keras.layers.Masking(0.0)(inp) if masked else inp))

    def compare(ours, theirs, masked=False):
        model = keras_model(theirs, masked)
        theirs.set_weights([p.data for p in ours.parameters()])
        mine, ref = ours(masked_input if masked else x), model(x)
        mine, ref = (mine, ref) if isinstance(mine, list) else ([mine], [ref])
        for a, b in zip(mine, ref):
            np.testing.assert_allclose(a.data, keras.ops.convert_to_numpy(b), atol=2e-6)

    for name, extra in (("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})):
        for opts, masked in ((dict(), False), (dict(return_sequences=True, go_backwards=True), True),
                             (dict(return_state=True), True)):
            compare(CELLS[name](4, input_shape=(5, 2), **extra, **opts),
                    getattr(keras.layers, name)(4, **extra, **opts), masked)
    for mode in ("concat", "ave"):
        compare(nn.Bidirectional(nn.GRU(3, return_sequences=True), merge_mode=mode, input_shape=(5, 2)),
                keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), merge_mode=mode), True)
    # summary: output shapes and parameter counts of every layer
    layers = lambda m: [  # noqa: E731
        m.Dense(6, activation="relu"), m.GRU(5, return_sequences=True), m.Bidirectional(m.LSTM(4, return_sequences=True)),
        m.TimeDistributed(m.Dense(3)), m.SimpleRNN(7), m.Dense(1)]
    theirs = keras.Sequential([keras.Input((2, 1))] + layers(keras.layers))
    ours = nn.Sequential(layers(nn))
    ours(np.zeros((1, 2, 1), np.float32))
    assert [layer.output_shape for layer in ours] == [tuple(layer.output.shape) for layer in theirs.layers]
    assert [layer.count_params() for layer in ours] == [layer.count_params() for layer in theirs.layers]


def test_keras_arguments_that_choose_how_an_lstm_or_gru_computes():
    """implementation (1 or 2) and use_cudnn ('auto' or False) change nothing in what is computed: accepted as
    Keras accepts them; use_cudnn=True, which Keras refuses off a GPU, and bad values are refused by name."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    for cls in (nn.LSTM, nn.GRU):
        cr.manual_seed(0)
        ref = cls(5)(x).data
        for kw in ({"use_cudnn": False}, {"use_cudnn": "auto"}, {"implementation": 1}):
            cr.manual_seed(0)
            np.testing.assert_array_equal(cls(5, **kw)(x).data, ref)
        with pytest.raises(ValueError, match=r"use_cudnn=True\): chainrule runs on NumPy, without cuDNN"):
            cls(5, use_cudnn=True)
        with pytest.raises(ValueError, match="implementation must be 1 or 2"):
            cls(5, implementation=3)
    nn.LSTMCell(3, implementation=1)
    nn.GRUCell(3, implementation=2)
    with pytest.raises(TypeError, match="unrecognized keyword arguments"):
        nn.SimpleRNN(3, use_cudnn=False)          # Keras' SimpleRNN has no use_cudnn either


def test_repeat_vector_makes_the_encoder_decoder_of_keras_3(keras):
    """LSTM encoder -> RepeatVector -> LSTM decoder -> TimeDistributed(Dense), the sequence-to-sequence
    forecaster of Keras' tutorials: outputs and two epochs of Adam equal Keras 3's with the weights copied."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((16, 6, 2)).astype(np.float32)
    Y = rng.standard_normal((16, 3, 1)).astype(np.float32)
    ours = trains_as_keras(keras, lambda L: [L.LSTM(5), L.RepeatVector(3), L.LSTM(4, return_sequences=True),
                                             L.TimeDistributed(L.Dense(1))], (6, 2), X, Y, batch_size=8)
    assert ours.layers[1].output_shape == (None, 3, 5)


def test_repeat_vector_passes_gradcheck_and_names_its_input(f64):
    x = np.random.default_rng(0).standard_normal((2, 3))
    check_layer(nn.RepeatVector(4), x)
    with pytest.raises(ValueError, match=r"RepeatVector.*expected input of shape \(batch, features\)"):
        nn.RepeatVector(2)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        nn.RepeatVector(0)


def test_a_mask_passes_through_the_layers_that_act_on_each_step_as_in_keras_3(keras):
    """Embedding(mask_zero) -> Dense / Activation / Dropout / BatchNormalization / LayerNormalization -> LSTM:
    the LSTM skips the padding, as in Keras, where these layers support masking (the mask used to stop at
    them, silently changing the result); and an Embedding-Dense-LSTM model trains as in Keras 3."""
    rng = np.random.default_rng(6)
    X = rng.integers(1, 9, (8, 6))
    X[:3, 3:] = 0
    for make in (lambda L: L.Dense(4), lambda L: L.Activation("tanh"), lambda L: L.Dropout(0.3),
                 lambda L: L.BatchNormalization(), lambda L: L.LayerNormalization(), lambda L: L.SpatialDropout1D(0.2)):
        trains_as_keras(keras, lambda L: [L.Embedding(9, 4, mask_zero=True), make(L), L.LSTM(3)], (6,), X,
                        rng.standard_normal((8, 3)).astype(np.float32), batch_size=4, epochs=0)
    trains_as_keras(keras, lambda L: [L.Embedding(9, 4, mask_zero=True), L.Dense(5), L.LSTM(3), L.Dense(1)], (6,),
                    X, rng.standard_normal((8, 1)).astype(np.float32), batch_size=4)
    emb = nn.Embedding(9, 4, mask_zero=True)
    drop = nn.Dropout(0.5)
    drop.train()
    h = emb(X)
    np.testing.assert_array_equal(get_mask(drop(h)), X != 0)     # in training too, where a new array comes out
    assert get_mask(nn.Flatten()(h)) is None                     # a layer that mixes the steps ends the mask


def test_masks_merge_as_keras_3_merges_them(keras):
    """Add, Multiply and Concatenate (along features or time) of masked sequences hand the LSTM after them the
    mask Keras computes: the OR of the inputs' masks, or the masks side by side along time."""
    rng = np.random.default_rng(7)
    X = rng.integers(1, 9, (5, 6))
    X[:2, 4:] = 0
    X[3, :2] = 0

    def build(merge):
        def model(L, M):
            inp = L.Input(shape=(6,))
            h = L.Embedding(9, 4, mask_zero=True)(inp)
            a = L.LSTM(4, return_sequences=True)(h)
            b = L.Dense(4)(h)
            return M.Model(inp, L.Dense(1)(L.LSTM(3)(merge(L)([a, b]))))
        return model
    for merge in (lambda L: L.Add(), lambda L: L.Multiply(), lambda L: L.Concatenate(),
                  lambda L: L.Concatenate(axis=1)):
        same_as_keras(keras, build(merge), X, epochs=0, atol=2e-6)


def _padded_sequences(rng):
    """Four sequences of 5 steps, 2 features, padded with zeros at different places, with targets per step."""
    x = rng.standard_normal((4, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[2, :2] = 0.0
    x[3, 1] = 0.0
    return x, rng.standard_normal((4, 5, 1)).astype(np.float32)


def test_a_masked_sequence_output_leaves_its_padded_steps_out_of_the_loss_and_the_metrics():
    """Keras' rule for an output that carries a mask: a batch's loss and each metric are means over its
    unmasked steps only; the epoch's metric weighs each batch by the steps it counted, its loss by the batch
    size; evaluate averages over its own batches; and the padded steps' targets change nothing, gradients
    included."""
    rng = np.random.default_rng(3)
    x, y = _padded_sequences(rng)
    keep = np.any(x != 0, axis=-1)
    cr.manual_seed(0)
    model = nn.Sequential([nn.Masking(0.0), nn.SimpleRNN(3, return_sequences=True), nn.Dense(1)])
    model.compile(optimizer=optim.SGD(lr=0.1), loss="mse", metrics=["mae"])
    pred = model.predict(x, verbose=0)
    assert get_mask(pred) is None              # predict's arrays carry no mask, as Keras' do
    err = (pred - y)[..., 0]

    def masked(v, rows):
        k = keep[rows]
        return float((v[rows] * k).sum() / k.sum())
    loss, mae = model.evaluate(x, y, batch_size=4, verbose=0)
    assert loss == pytest.approx(masked(err ** 2, slice(None)), rel=1e-6)
    assert mae == pytest.approx(masked(np.abs(err), slice(None)), rel=1e-6)
    # batches of 3 and 1: the loss averages the batches' own means by batch size, the metric by counted steps
    loss, mae = model.evaluate(x, y, batch_size=3, verbose=0)
    assert loss == pytest.approx((3 * masked(err ** 2, slice(0, 3)) + masked(err ** 2, slice(3, 4))) / 4, rel=1e-6)
    assert mae == pytest.approx(masked(np.abs(err), slice(None)), rel=1e-6)
    # the padded steps' targets do not matter: the same loss and the same gradients with other ones there
    y2 = np.where(keep[..., None], y, 100.0).astype(np.float32)
    grads = []
    for targets in (y, y2):
        model.zero_grad()
        out = model(x)
        value = model.compute_loss(x, targets, out)
        value.backward()
        assert float(value) == pytest.approx(masked(err ** 2, slice(None)), rel=1e-6)
        grads.append([p.grad.copy() for p in model.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
    history = model.fit(x, y2, batch_size=3, epochs=1, shuffle=False, verbose=0).history
    assert history["mae"][0] < 10  # the targets of 100 at padded steps never entered the metric either
    # a batch whose every step is masked: loss 0 and no gradient, as Keras' divide_no_nan gives
    empty = np.zeros_like(x)
    model.zero_grad()
    value = model.compute_loss(empty, y, model(empty))
    value.backward()
    assert float(value) == 0.0 and all(not np.any(p.grad) for p in model.parameters())
    with pytest.raises(ValueError, match=r"targets of shape \(4, 3, 1\) do not fit the sequence output of shape "
                                         r"\(4, 5, 1\), whose steps are masked"):
        model.evaluate(x, y[:, :3], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4, 3\) does not fit the sequence output"):
        model.evaluate(x, y, sample_weight=np.ones((4, 3)), verbose=0)


def test_masked_sequence_outputs_train_and_evaluate_as_keras_3(keras):
    """Masking, a recurrent layer returning sequences, a Dense on each step; mse with mae as a metric and
    per-step sample weights: evaluate (batches of 3), the fit history and the trained weights equal Keras 3's."""
    rng = np.random.default_rng(5)
    x, y = _padded_sequences(rng)
    x = np.concatenate([x, x[::-1] * 0.5])
    y = np.concatenate([y, -y])
    weights = rng.uniform(0.0, 2.0, (8, 5)).astype(np.float32)
    def build(L, M, cell):
        model = M.Sequential([L.Input((5, 2)), L.Masking(0.0), getattr(L, cell)(3, return_sequences=True),
                              L.TimeDistributed(L.Dense(1))])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        return model
    for cell in ("SimpleRNN", "LSTM", "GRU"):
        ours, theirs = keras_pair(keras, lambda L, M: build(L, M, cell))
        for sw in (None, weights):
            np.testing.assert_allclose(ours.evaluate(x, y, sample_weight=sw, batch_size=3, verbose=0),
                                       theirs.evaluate(x, y, sample_weight=sw, batch_size=3, verbose=0), rtol=1e-5)
        h1 = ours.fit(x, y, sample_weight=weights, batch_size=3, epochs=2, shuffle=False, verbose=0).history
        h2 = theirs.fit(x, y, sample_weight=weights, batch_size=3, epochs=2, shuffle=False, verbose=0).history
        for key in ("loss", "mae"):
            np.testing.assert_allclose(h1[key], h2[key], rtol=1e-4, err_msg=f"{cell} {key}")
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _random_stack(r):
    """A random Keras model of recurrent layers (the layer options, stacking, Bidirectional, Masking,
    Dense before, Dense or TimeDistributed(Dense) after), as build(layers, models), and whether its output
    is a sequence."""
    masked, dense_first = r.random() < 0.5, r.random() < 0.3
    specs = []
    n_layers = r.randint(1, 2)
    for i in range(n_layers):
        cell = r.choice(["SimpleRNN", "LSTM", "GRU"])
        kw = {"units": r.randint(1, 4), "activation": r.choice(["tanh", "relu", "sigmoid", "linear", "softsign"]),
              "use_bias": r.random() < 0.8, "return_sequences": i < n_layers - 1 or r.random() < 0.5}
        if cell != "SimpleRNN":
            kw["recurrent_activation"] = r.choice(["sigmoid", "hard_sigmoid", "tanh"])
        if cell == "GRU":
            kw["reset_after"] = r.random() < 0.6
        if cell == "LSTM":
            kw["unit_forget_bias"] = r.random() < 0.7
        wrap = r.choice([None, None, "concat", "sum", "mul", "ave"])
        kw["go_backwards"] = wrap is None and r.random() < 0.3   # (Bidirectional refuses it, in Keras too)
        specs.append((cell, kw, wrap))
    seq = specs[-1][1]["return_sequences"]
    head_td = seq and r.random() < 0.5

    def build(L, M):
        layers = [L.Input(shape=(6, 3))] + ([L.Masking(0.0)] if masked else []) + \
            ([L.Dense(4, activation="tanh")] if dense_first else [])
        for cell, kw, wrap in specs:
            layer = getattr(L, cell)(**kw)
            layers.append(layer if wrap is None else L.Bidirectional(layer, merge_mode=wrap))
        layers.append(L.TimeDistributed(L.Dense(1)) if head_td else L.Dense(1))
        model = M.Sequential(layers)
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        return model
    return build, masked, seq


@pytest.mark.parametrize("seed", range(6))
def test_random_recurrent_stacks_train_as_keras_3(keras, seed):
    """Random stacks (see _random_stack) with weights copied from Keras 3: equal predictions, evaluate with
    sample weights (one per step for a sequence output) in batches of 3, fit history (loss and mae) and the
    weights after two epochs."""
    import random
    r = random.Random(seed)
    build, masked, seq = _random_stack(r)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 6, 3)).astype(np.float32)
    if masked:
        x[0, 4:], x[3, :2], x[5, 2:4] = 0.0, 0.0, 0.0
    y = rng.standard_normal((8, 6, 1) if seq else (8, 1)).astype(np.float32)
    w = rng.uniform(0.0, 2.0, (8, 6) if seq else 8).astype(np.float32)
    ours, theirs = keras_pair(keras, build)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=2e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, sample_weight=w, batch_size=3, verbose=0),
                               theirs.evaluate(x, y, sample_weight=w, batch_size=3, verbose=0), rtol=2e-5, atol=1e-6)
    h1 = ours.fit(x, y, sample_weight=w, epochs=2, batch_size=3, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, sample_weight=w, epochs=2, batch_size=3, shuffle=False, verbose=0).history
    for key in ("loss", "mae"):
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-4, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_sequence_labelling_with_padded_tokens_trains_as_keras_3(keras):
    """Embedding(mask_zero=True), a (bidirectional) LSTM returning sequences, a softmax per step, the sparse
    cross-entropy of one label per step and accuracy: Keras leaves the padding out of both, with and without
    per-step sample weights; evaluate, the fit history and the weights equal Keras 3's."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 9, (10, 7))
    for i, length in enumerate([7, 5, 3, 7, 2, 6, 4, 7, 1, 5]):
        tokens[i, length:] = 0
    labels = rng.integers(0, 4, (10, 7))
    weights = rng.uniform(0.0, 2.0, (10, 7)).astype(np.float32)
    for bidirectional in (False, True):
        def build(L, M):
            rnn = L.LSTM(5, return_sequences=True)
            model = M.Sequential([L.Input((7,)), L.Embedding(9, 4, mask_zero=True),
                                  L.Bidirectional(rnn) if bidirectional else rnn,
                                  L.TimeDistributed(L.Dense(4, activation="softmax"))])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
        ours, theirs = keras_pair(keras, build)
        for w in (None, weights):
            np.testing.assert_allclose(ours.evaluate(tokens, labels, sample_weight=w, batch_size=4, verbose=0),
                                       theirs.evaluate(tokens, labels, sample_weight=w, batch_size=4, verbose=0),
                                       rtol=1e-5)
        h1 = ours.fit(tokens, labels, epochs=2, batch_size=4, shuffle=False, verbose=0).history
        h2 = theirs.fit(tokens, labels, epochs=2, batch_size=4, shuffle=False, verbose=0).history
        for key in ("loss", "accuracy"):
            np.testing.assert_allclose(h1[key], h2[key], rtol=1e-4, err_msg=key)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_a_functional_model_builds_time_distributed_and_merges_masked_branches_as_keras_3(keras):
    """Model(inputs, outputs) builds the layer inside TimeDistributed on construction, as Keras does (its
    weights can be set at once); two masked recurrent branches merged (Concatenate, Add, Average) carry the
    combined mask to the loss and the metric, and train as in Keras 3."""
    from chainrule.keras import layers as L, models as M
    a = L.Input((5, 2))
    model = M.Model(a, L.TimeDistributed(L.Dense(1))(L.LSTM(3, return_sequences=True)(a)))
    (k, kernel), (b, bias) = list(model.named_parameters())[-2:]
    assert k.endswith(".layer.kernel") and b.endswith(".layer.bias") and (kernel.shape, bias.shape) == ((3, 1), (1,))
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((8, 5, 2)).astype(np.float32), rng.standard_normal((8, 5, 3)).astype(np.float32)
    x1[0, 3:], x1[2, :2], x2[1, 4:], x2[2, 1] = 0.0, 0.0, 0.0, 0.0
    y = rng.standard_normal((8, 5, 1)).astype(np.float32)
    for merge in ("Concatenate", "Add", "Average"):
        def build(L, M):
            a, b = L.Input((5, 2)), L.Input((5, 3))
            ha = L.GRU(3, return_sequences=True)(L.Masking(0.0)(a))
            hb = L.LSTM(3, return_sequences=True)(L.Masking(0.0)(b))
            model = M.Model([a, b], L.TimeDistributed(L.Dense(1))(getattr(L, merge)()([ha, hb])))
            model.compile(optimizer="adam", loss="mse", metrics=["mae"])
            return model
        ours, theirs = keras_pair(keras, build)
        np.testing.assert_allclose(ours.evaluate([x1, x2], y, batch_size=3, verbose=0),
                                   theirs.evaluate([x1, x2], y, batch_size=3, verbose=0), rtol=1e-5)
        h1 = ours.fit([x1, x2], y, epochs=2, batch_size=3, shuffle=False, verbose=0).history
        h2 = theirs.fit([x1, x2], y, epochs=2, batch_size=3, shuffle=False, verbose=0).history
        for key in ("loss", "mae"):
            np.testing.assert_allclose(h1[key], h2[key], rtol=1e-4, err_msg=f"{merge} {key}")


def test_evaluate_batches_a_model_whose_second_output_alone_is_masked_as_keras_3(keras):
    """Two outputs, the first pooled (its mask ends at the pooling), the second a masked sequence: evaluate
    averages Keras' batches for the masked one, whichever output carries the mask."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5, 2)).astype(np.float32)
    x[0, 3:], x[2, :2], x[5, 1:] = 0.0, 0.0, 0.0
    y1, y2 = rng.standard_normal((8, 1)).astype(np.float32), rng.standard_normal((8, 5, 1)).astype(np.float32)

    def build(L, M):
        a = L.Input((5, 2))
        h = L.Masking(0.0)(a)
        pooled = L.Dense(1, name="pooled")(L.GlobalAveragePooling1D()(h))
        steps = L.Dense(1, name="steps")(L.LSTM(3, return_sequences=True)(h))
        model = M.Model(a, [pooled, steps])
        model.compile(optimizer="adam", loss=["mse", "mse"], metrics=[["mae"], ["mae"]])
        return model
    ours, theirs = keras_pair(keras, build)
    np.testing.assert_allclose(ours.evaluate(x, [y1, y2], batch_size=3, verbose=0),
                               theirs.evaluate(x, [y1, y2], batch_size=3, verbose=0), rtol=1e-5)
