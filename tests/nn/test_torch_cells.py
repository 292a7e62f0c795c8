"""PyTorch's nn.RNNCell, nn.LSTMCell and nn.GRUCell (chainrule/torch/nn/recurrent.py): one step of
the sequence modules' primitive, checked against PyTorch with its state_dict loaded, by gradcheck in
float64, and for what a hand-written loop over time steps needs (states fed back, gradients through them)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.torch as ctorch
from chainrule import ops, optim
from chainrule.io import load_model, save_model

CELLS = ("RNNCell", "LSTMCell", "GRUCell")


def _states(name, h):
    return tuple(h) if name == "LSTMCell" else (h,)


def _run_loop(cell, xs, hx, lstm):
    """The loop a PyTorch user writes: one cell call per time step, the state fed back; returns every h."""
    hs = []
    for x in xs:
        hx = cell(x, hx)
        hs.append(hx[0] if lstm else hx)
    return hs, hx


@pytest.mark.parametrize("name", CELLS)
def test_a_hand_written_loop_of_cells_equals_pytorch(f64, name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    lstm = name == "LSTMCell"
    extra = {"nonlinearity": "relu"} if name == "RNNCell" else {}
    for bias in (True, False):
        theirs = getattr(torch.nn, name)(3, 4, bias=bias, **extra).double()
        ours = getattr(ctorch.nn, name)(3, 4, bias=bias, **extra)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict(theirs.state_dict())
        xs = rng.standard_normal((5, 2, 3))
        h0 = rng.standard_normal((2, 4))
        hx = (h0, -0.5 * h0) if lstm else h0
        xt = [torch.tensor(x, requires_grad=True) for x in xs]
        ht = tuple(torch.tensor(h, requires_grad=True) for h in _states(name, hx))
        t_hs, t_last = _run_loop(theirs, xt, ht if lstm else ht[0], lstm)
        xc = [cr.tensor(x, requires_grad=True) for x in xs]
        hc = tuple(cr.tensor(h, requires_grad=True) for h in _states(name, hx))
        c_hs, c_last = _run_loop(ours, xc, hc if lstm else hc[0], lstm)
        for a, b in zip(c_hs, t_hs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-12)
        for a, b in zip(_states(name, c_last), _states(name, t_last)):
            np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-12)
        # gradients of a loss on every step's output and the last state, to weights, inputs and h_0 (c_0)
        w = np.cos(np.arange(8.0)).reshape(2, 4)
        (sum((h * torch.tensor(w)).sum() for h in t_hs) + (_states(name, t_last)[-1] ** 2).sum()).backward()
        (sum((h * w).sum() for h in c_hs) + (_states(name, c_last)[-1] ** 2).sum()).backward()
        for (n, p), q in zip(theirs.named_parameters(), ours.parameters()):
            np.testing.assert_allclose(q.grad, p.grad.numpy(), atol=1e-11, err_msg=n)
        for a, b in zip(xc + list(hc), xt + list(ht)):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=1e-11)
        # unbatched: (input_size,) in, (hidden_size,) out, with or without a state
        one = rng.standard_normal(3)
        h1 = tuple(torch.tensor(h[0]) for h in _states(name, hx))
        t1, c1 = theirs(torch.tensor(one), h1 if lstm else h1[0]), ours(one, tuple(h[0] for h in hx) if lstm
                                                                       else hx[0])
        for a, b in zip(_states(name, c1), _states(name, t1)):
            assert a.shape == (4,)
            np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-12)
        for a, b in zip(_states(name, ours(one)), _states(name, theirs(torch.tensor(one)))):
            np.testing.assert_allclose(a.data, b.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_cells_pass_gradcheck_and_gradgradcheck_through_two_steps(f64, name):
    cell = getattr(ctorch.nn, name)(2, 3)
    lstm = name == "LSTMCell"
    params = list(cell.named_parameters())
    rng = np.random.default_rng(4)

    def f(x0, x1, h0, *ws):
        saved = dict(cell._parameters)
        cell._parameters.update({n: w for (n, _), w in zip(params, ws)})
        try:
            hx = (h0, ops.mul(h0, 0.5)) if lstm else h0
            hx = cell(x1, cell(x0, hx))
            return ops.concatenate(list(hx), axis=1) if lstm else hx
        finally:
            cell._parameters.update(saved)
    args = [rng.standard_normal((2, 2)), rng.standard_normal((2, 2)), rng.standard_normal((2, 3))]
    args += [p.data.copy() for _, p in params]
    assert cr.gradcheck(f, *args)
    assert cr.gradgradcheck(f, *args)


def test_a_cell_loop_trains_saves_and_loads(tmp_path):
    cr.manual_seed(0)
    rng = np.random.default_rng(5)
    cell, head = ctorch.nn.GRUCell(1, 8), ctorch.nn.Linear(8, 1)
    X = rng.random((6, 32, 1)).astype(np.float32)          # (time, batch, features)
    y = X.sum(axis=0)
    opt = optim.Adam(cell.parameters() + head.parameters(), lr=0.03)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        h = None
        for x in X:
            h = cell(x, h)
        loss = cr.losses.mse(y, head(h))
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.2 * losses[0]
    again = load_model(save_model(cell, tmp_path / "cell"))
    assert type(again) is ctorch.nn.GRUCell and repr(again) == "GRUCell(1, 8)"
    np.testing.assert_array_equal(again(X[0], h).data, cell(X[0], h).data)
    relu = ctorch.nn.RNNCell(2, 3, nonlinearity="relu", bias=False)
    back = load_model(save_model(relu, tmp_path / "relu"))
    assert repr(back) == "RNNCell(2, 3, bias=False, nonlinearity=relu)"
    np.testing.assert_array_equal(back(np.ones((1, 2), np.float32)).data, relu(np.ones((1, 2), np.float32)).data)


def test_cell_input_errors_say_what_was_expected():
    lstm = ctorch.nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of shape \(batch, input_size\) or "
                                         r"\(input_size,\), got shape \(2, 5, 3\); a whole sequence goes "
                                         r"through nn.LSTM"):
        lstm(np.ones((2, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"LSTMCell\(input_size=3\): got input with 5 features"):
        lstm(np.ones((2, 5), np.float32))
    with pytest.raises(TypeError, match=r"LSTMCell: hx must be the pair \(h_0, c_0\), got ndarray"):
        lstm(np.ones((2, 3), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"GRUCell: expected each state of shape \(2, 4\)"):
        ctorch.nn.GRUCell(3, 4)(np.ones((2, 3), np.float32), np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="RNNCell: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        ctorch.nn.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="GRUCell: hidden_size must be a positive integer, got 0"):
        ctorch.nn.GRUCell(3, 0)
