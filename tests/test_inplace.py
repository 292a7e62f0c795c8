"""In-place changes: PyTorch's trailing-underscore methods, and the version counter that makes backward
refuse a node whose input or output was changed after it was recorded (as PyTorch does)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

CHANGED = r"backward: input {} of {} \(a {} of shape \({}\)\) was changed in place after {} recorded it"


def test_in_place_methods_change_the_values_and_return_the_tensor():
    t = cr.tensor([1.0, 2.0, 3.0])
    v0 = t._version
    assert t.add_(1) is t and t.tolist() == [2, 3, 4]
    assert t.sub_(cr.tensor([1.0, 1.0, 1.0]), alpha=2).tolist() == [0, 1, 2]
    assert t.mul_(3).tolist() == [0, 3, 6] and t.div_(3).tolist() == [0, 1, 2]
    assert t.clamp_(min=0.5, max=1.5).tolist() == [0.5, 1, 1.5]
    assert t.copy_(np.array([7.0, 8.0, 9.0])).tolist() == [7, 8, 9]
    assert t.fill_(4).tolist() == [4, 4, 4] and t.zero_().tolist() == [0, 0, 0]
    t[1] = 5.0
    assert t.tolist() == [0, 5, 0] and t.dtype == np.float32
    assert t._version > v0  # each change advanced it
    with pytest.raises(ValueError, match=r"Tensor.add_: cannot apply \(2,\) to a tensor of shape \(3,\)"):
        t.add_(np.ones(2))


def test_in_place_on_a_tensor_that_requires_grad_needs_no_grad():
    w = nn.Parameter(np.ones(3, np.float32))
    with pytest.raises(RuntimeError, match=r"Tensor.add_: a leaf tensor that requires grad cannot be changed in "
                                           r"place while gradients are recorded; update it under `with "
                                           r"chainrule.no_grad\(\):`"):
        w.add_(1)
    with cr.no_grad():
        w.sub_(0.5)
    assert w.tolist() == [0.5, 0.5, 0.5]
    y = w * 2
    with pytest.raises(RuntimeError, match=r"Tensor.mul_: chainrule does not record in-place operations"):
        y.mul_(2)
    with pytest.raises(RuntimeError, match="the other operand requires grad"):
        cr.tensor([1.0, 1.0, 1.0]).add_(w)
    ro = cr.tensor(np.ones(2))
    ro.data.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ro.zero_()


def test_backward_refuses_a_leaf_changed_after_it_was_recorded():
    w = nn.Parameter(np.array([1.0, 2.0, 3.0], np.float32))
    x = cr.tensor([1.0, 1.0, 1.0])
    loss = (w * x).sum()
    with cr.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match=CHANGED.format(0, "mul", "Parameter", "3,", "mul")):
        loss.backward()
    # a constant input too: its gradient for w would be read from the new x
    loss = (w * x).sum()
    x.mul_(2)
    with pytest.raises(RuntimeError, match=CHANGED.format(1, "mul", "Tensor", "3,", "mul")):
        loss.backward()
    # recorded after the change: fine, and gradients use the values the forward pass saw
    loss = (w * x).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2, 2, 2])


def test_backward_refuses_a_changed_output():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = cr.exp(x)  # its VJP reads its own output
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"the output of exp \(a Tensor of shape \(2,\)\) was changed in place"):
        y.backward(np.ones(2, np.float32))
    # through a later node, the first node that reads it refuses
    y = cr.exp(x)
    z = y.sum()
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"input 0 of sum .* was changed in place"):
        z.backward()


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    model = nn.Sequential([nn.Dense(3, activation="tanh", input_dim=2), nn.Dense(1)])
    opt = optim.SGD(model.parameters(), lr=0.1)
    X = np.ones((4, 2), np.float32)
    loss = (model(X) ** 2).mean()
    loss.backward()
    opt.step()
    stale = (model(X) ** 2).mean()
    opt.step()  # the weights stale recorded have changed
    with pytest.raises(RuntimeError, match=r"was changed in place after dense_stack recorded it \(by an optimizer "
                                           r"step"):
        stale.backward()
    # the usual loop never trips it: forward, backward, step, again
    for _ in range(3):
        opt.zero_grad()
        (model(X) ** 2).mean().backward()
        opt.step()
    model.compile(optimizer="adam", loss="mse")
    h = model.fit(X, np.zeros((4, 1)), epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3


def test_load_state_dict_after_the_forward_pass_is_caught():
    model = nn.Sequential([nn.Dense(2, input_dim=2)])
    state = model.state_dict()
    out = model(np.ones((1, 2), np.float32)).sum()
    model.load_state_dict(state)
    with pytest.raises(RuntimeError, match="changed in place"):
        out.backward()


def test_gradients_and_higher_order_check_too():
    x = cr.tensor([1.0, 2.0], requires_grad=True, dtype="float64")
    c = cr.tensor([3.0, 4.0], dtype="float64")
    y = (x * x * c).sum()
    c.add_(1)
    with pytest.raises(RuntimeError, match="changed in place"):
        cr.gradients(y, x)
    with pytest.raises(RuntimeError, match="changed in place"):
        cr.gradients(y, x, create_graph=True)
    # an unrelated change does not disturb a graph
    y = (x * x * c).sum()
    cr.tensor([0.0]).add_(1)
    (g,) = cr.gradients(y, x)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() * c.numpy())


def test_pytorch_refuses_the_same_misuse():
    torch = pytest.importorskip("torch")
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()  # mul saves its inputs
    with torch.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    wc = nn.Parameter(np.array([1.0, 2.0, 3.0], np.float32))
    yc = (wc * wc).sum()
    with cr.no_grad():
        wc.add_(1)
    with pytest.raises(RuntimeError, match="changed in place"):
        yc.backward()
