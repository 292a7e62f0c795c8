"""chainrule.nn.functional against torch.nn.functional: values and gradients (weights copied
across), gradcheck of each function, and PyTorch's argument order (input, target) for the losses."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

ACTIVATIONS = {
    "relu": {}, "relu6": {}, "leaky_relu": {"negative_slope": 0.2}, "elu": {"alpha": 0.7}, "selu": {},
    "celu": {"alpha": 1.3}, "gelu": {}, "gelu_tanh": {"approximate": "tanh"}, "silu": {}, "mish": {},
    "softplus": {}, "softplus_beta": {"beta": 2.0, "threshold": 3.0}, "softsign": {}, "sigmoid": {},
    "logsigmoid": {}, "tanh": {}, "hardtanh": {"min_val": -0.5, "max_val": 1.5}, "hardsigmoid": {},
    "hardswish": {}, "softmax": {"dim": 1}, "log_softmax": {"dim": 0},
}


def _x():
    x = np.linspace(-4.1, 4.3, 24).reshape(4, 6)
    return x + 0.013 * np.cos(np.arange(24)).reshape(4, 6)  # no entry at a kink (0, +-1, +-3, 6, ...)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_torch(name):
    kw = ACTIVATIONS[name]
    fn = name.split("_beta")[0].replace("gelu_tanh", "gelu")
    ours_f = getattr(F, fn)
    theirs_f = getattr(TF, fn)
    x = _x()
    t = cr.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    y, yt = ours_f(t, **kw), theirs_f(tt, **kw)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = np.sin(np.arange(24.0)).reshape(4, 6)
    (y * u).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    # PyTorch's celu and hardsigmoid backward use the float32 constants 1/alpha and 1/6 (relative error
    # 3e-8; chainrule's are exact, checked against the closed forms in test_functional_derivatives)
    rtol = 1e-7 if fn in ("celu", "hardsigmoid") else 1e-10
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=rtol, atol=1e-12)
    assert cr.gradcheck(lambda v: ours_f(v, **kw), x[:2, :3])


def test_functional_derivatives():
    x = np.array([-2.0, -0.5, 0.7, 2.5])
    np.testing.assert_allclose(cr.elementwise_grad(lambda t: F.celu(t, alpha=1.3))(x),
                               np.where(x > 0, 1.0, np.exp(x / 1.3)), rtol=1e-15)
    np.testing.assert_allclose(cr.elementwise_grad(F.hardsigmoid)(x), 1 / 6, rtol=1e-15)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(cr.elementwise_grad(F.silu)(x), s * (1 + x * (1 - s)), rtol=1e-14)


def _targets(kind, shape, rng):
    if kind == "prob":
        return rng.uniform(0.05, 0.95, shape)
    if kind == "binary":
        return (rng.uniform(size=shape) > 0.5).astype(float)
    return rng.normal(size=shape)


LOSSES = {
    "mse_loss": ({}, "real"), "l1_loss": ({}, "real"), "huber_loss": ({"delta": 0.8}, "real"),
    "smooth_l1_loss": ({"beta": 0.5}, "real"), "binary_cross_entropy": ({}, "prob_in"),
    "binary_cross_entropy_w": ({"weight": "w"}, "prob_in"), "binary_cross_entropy_with_logits": ({}, "prob"),
    "bce_logits_pos_weight": ({"pos_weight": "pw", "weight": "w"}, "prob"),
    "kl_div": ({}, "kl"), "kl_div_log_target": ({"log_target": True}, "kl_log"),
}
FN = {"binary_cross_entropy_w": "binary_cross_entropy", "bce_logits_pos_weight": "binary_cross_entropy_with_logits",
      "kl_div_log_target": "kl_div"}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")  # torch's kl_div note
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_match_torch(name, reduction):
    kw, kind = LOSSES[name]
    fn = FN.get(name, name)
    rng = np.random.default_rng(3)
    shape = (4, 3)
    if kind == "prob_in":
        x, y = rng.uniform(0.05, 0.95, shape), _targets("binary", shape, rng)
    elif kind.startswith("kl"):
        x, y = np.log(rng.dirichlet(np.ones(3), 4)), rng.dirichlet(np.ones(3), 4)
        y[0, 1] = 0.0  # a zero target contributes 0 (xlogy)
        if kind == "kl_log":
            y = np.log(rng.dirichlet(np.ones(3), 4))
    else:
        x, y = rng.normal(size=shape), _targets("prob" if kind == "prob" else "real", shape, rng)
    extra = {"w": rng.uniform(0.5, 2, shape), "pw": rng.uniform(0.5, 3, 3)}
    ours_kw = {k: extra[v] if isinstance(v, str) and v in extra else v for k, v in kw.items()}
    torch_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in ours_kw.items()}
    t = cr.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    loss = getattr(F, fn)(t, y, reduction=reduction, **ours_kw)
    loss_t = getattr(TF, fn)(tt, torch.tensor(y), reduction=reduction, **torch_kw)
    np.testing.assert_allclose(loss.numpy(), loss_t.detach().numpy(), rtol=1e-6 if "binary_cross" in fn else 1e-12)
    u = np.cos(np.arange(loss.size)).reshape(loss.shape)
    (loss * u).sum().backward()
    (loss_t * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-6 if "binary_cross" in fn else 1e-10, atol=1e-12)
    assert cr.gradcheck(lambda v: getattr(F, fn)(v, y, reduction=reduction, **ours_kw), x)


CE_CASES = {
    "indices": {}, "weight": {"weight": "w"}, "ignore_index": {"ignore_index": 2},
    "label_smoothing": {"label_smoothing": 0.1}, "smoothing_weight_ignore": {"label_smoothing": 0.2, "weight": "w",
                                                                            "ignore_index": 0},
    "probabilities": {"probs": True}, "probabilities_weight": {"probs": True, "weight": "w"},
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(CE_CASES))
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_cross_entropy_and_nll_match_torch(fn, case, reduction):
    kw = dict(CE_CASES[case])
    probs = kw.pop("probs", False)
    if fn == "nll_loss" and (probs or "label_smoothing" in kw):
        pytest.skip("nll_loss takes class indices and has no smoothing")
    rng = np.random.default_rng(5)
    z = rng.normal(size=(5, 4))
    target = rng.dirichlet(np.ones(4), 5) if probs else np.array([0, 2, 1, 2, 3])
    x = np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True)) if fn == "nll_loss" else z
    ours_kw = {k: rng.uniform(0.5, 2, 4) if v == "w" else v for k, v in kw.items()}
    torch_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in ours_kw.items()}
    t = cr.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    loss = getattr(F, fn)(t, target, reduction=reduction, **ours_kw)
    loss_t = getattr(TF, fn)(tt, torch.tensor(target), reduction=reduction, **torch_kw)
    np.testing.assert_allclose(loss.numpy(), loss_t.detach().numpy(), rtol=1e-12)
    u = np.cos(np.arange(loss.size)).reshape(loss.shape)
    (loss * u).sum().backward()
    (loss_t * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert cr.gradcheck(lambda v: getattr(F, fn)(v, target, reduction=reduction, **ours_kw), x)


def test_linear_is_pytorchs_layout():
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), rng.normal(size=2)
    np.testing.assert_allclose(F.linear(cr.tensor(x), W, b).numpy(),
                               TF.linear(torch.tensor(x), torch.tensor(W), torch.tensor(b)).numpy(), rtol=1e-12)
    assert cr.gradcheck(lambda a, w: F.linear(a, w, b), x, W)


def test_functional_errors():
    with pytest.raises(TypeError, match="softmax: give dim="):
        F.softmax(cr.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.huber_loss(cr.tensor(np.ones(3)), np.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match=r"nll_loss: class indices must lie in \[0, 2\]"):
        F.nll_loss(cr.tensor(np.zeros((2, 3))), np.array([0, 3]))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(cr.tensor(np.ones(2)), approximate="fast")
