"""Optimizers: every update rule against an independent NumPy transcription of its formula,
hand-computed steps, convergence on a quadratic, in-place updates, clipping, state round trips
and error messages."""
import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import Parameter
from chainrule.optim import (SGD, Adagrad, AdagradMomentum, Adam, AdamW, Constant, ExponentialDecay, Momentum,
                             Optimizer, RMSprop, StepDecay, clip_grad_norm_, clip_grad_value_, from_config, get)

SHAPES = [(3, 4), (4,), (2, 1)]


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.normal(size=s).astype(dtype)) for s in SHAPES]


def grad_sequence(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in SHAPES] for _ in range(n_steps)]


# ---------------------------------------------------------------------------------------------------
# Independent reference implementations: the update rule of each docstring, written out plainly
# (new arrays every step, float64, bias corrections computed the textbook way).
# ---------------------------------------------------------------------------------------------------
def ref_constant(lr):
    def step(theta, g, s, t):
        return theta - lr * g
    return step


def ref_momentum(lr, momentum):
    def step(theta, g, s, t):
        s["v"] = momentum * s.get("v", 0.0) + lr * g
        return theta - s["v"]
    return step


def ref_adagrad_momentum(lr, momentum, eps):
    def step(theta, g, s, t):
        s["G"] = s.get("G", 0.0) + g ** 2
        s["v"] = momentum * s.get("v", 0.0) + lr * g / (eps + np.sqrt(s["G"]))
        return theta - s["v"]
    return step


def ref_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    def step(theta, g, s, t):
        g = g + weight_decay * theta
        if momentum:
            s["b"] = momentum * s.get("b", 0.0) + g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return theta - lr * g
    return step


def ref_adagrad(lr, eps, initial_accumulator_value=0.0):
    def step(theta, g, s, t):
        s["G"] = s.get("G", initial_accumulator_value) + g * g
        return theta - lr * g / (np.sqrt(s["G"]) + eps)
    return step


def ref_rmsprop(lr, rho, eps, momentum=0.0):
    def step(theta, g, s, t):
        s["sq"] = rho * s.get("sq", 0.0) + (1 - rho) * g * g
        u = g / (np.sqrt(s["sq"]) + eps)
        if momentum:
            s["b"] = momentum * s.get("b", 0.0) + u
            u = s["b"]
        return theta - lr * u
    return step


def ref_adam(lr, b1, b2, eps, weight_decay=0.0):
    """PyTorch's formula: theta -= lr * m_hat / (sqrt(v_hat) + eps) (AdamW: decay first)."""
    def step(theta, g, s, t):
        theta = theta * (1 - lr * weight_decay)
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g ** 2
        m_hat = s["m"] / (1 - b1 ** t)
        v_hat = s["v"] / (1 - b2 ** t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return step


def run_reference(ref, thetas, grads):
    thetas = [np.array(th, dtype=np.float64) for th in thetas]
    states = [{} for _ in thetas]
    for t, gs in enumerate(grads, start=1):
        thetas = [ref(th, g, s, t) for th, g, s in zip(thetas, gs, states)]
    return thetas


CASES = [
    (lambda ps: Constant(ps, lr=0.1), ref_constant(0.1)),
    (lambda ps: Momentum(ps, lr=0.1, momentum=0.8), ref_momentum(0.1, 0.8)),
    (lambda ps: AdagradMomentum(ps, lr=0.1, momentum=0.7, eps=1e-8), ref_adagrad_momentum(0.1, 0.7, 1e-8)),
    (lambda ps: SGD(ps, lr=0.1), ref_sgd(0.1)),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9), ref_sgd(0.1, 0.9)),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     ref_sgd(0.1, 0.9, True, 0.01)),
    (lambda ps: Adagrad(ps, lr=0.5, eps=1e-10, initial_accumulator_value=0.1), ref_adagrad(0.5, 1e-10, 0.1)),
    (lambda ps: RMSprop(ps, lr=0.01, rho=0.95, eps=1e-8), ref_rmsprop(0.01, 0.95, 1e-8)),
    (lambda ps: RMSprop(ps, lr=0.01, rho=0.9, eps=1e-8, momentum=0.5), ref_rmsprop(0.01, 0.9, 1e-8, 0.5)),
    (lambda ps: Adam(ps, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8), ref_adam(0.01, 0.8, 0.99, 1e-8)),
    (lambda ps: AdamW(ps, lr=0.01, betas=(0.9, 0.999), weight_decay=0.1), ref_adam(0.01, 0.9, 0.999, 1e-8, 0.1)),
]
CASE_IDS = ["constant", "momentum", "adagrad_momentum", "sgd", "sgd_momentum", "sgd_nesterov_wd", "adagrad",
            "rmsprop", "rmsprop_momentum", "adam", "adamw"]


@pytest.mark.parametrize("make,ref", CASES, ids=CASE_IDS)
def test_update_matches_reference_rule(make, ref):
    params = make_params()
    start = [p.data.copy() for p in params]
    grads = grad_sequence(6)
    opt = make(params)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.copy()
        opt.step()
    expected = run_reference(ref, start, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-12, atol=1e-14)
    assert opt.iterations == len(grads)


def test_sgd_one_step_by_hand():
    # theta = [1, -2], g = [0.5, 1], eta = 0.1:  theta - eta g = [1 - 0.05, -2 - 0.1] = [0.95, -2.1]
    p = Parameter(np.array([1.0, -2.0]))
    opt = SGD([p], lr=0.1)
    p.grad = np.array([0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, -2.1], rtol=0, atol=1e-15)


def test_momentum_two_steps_by_hand():
    # PyTorch-style SGD momentum, gamma = 0.9, eta = 0.1, theta_0 = 1, g = 2 both steps:
    #   v1 = 2,               theta1 = 1 - 0.1 * 2 = 0.8
    #   v2 = 0.9 * 2 + 2 = 3.8, theta2 = 0.8 - 0.38 = 0.42
    # The notes' Momentum, same numbers: change1 = 0.1 * 2 = 0.2, theta1 = 0.8;
    #   change2 = 0.9 * 0.2 + 0.2 = 0.38, theta2 = 0.42.
    # Nesterov: v1 = 2, d1 = 2 + 0.9 * 2 = 3.8, theta1 = 1 - 0.38 = 0.62;
    #   v2 = 3.8, d2 = 2 + 0.9 * 3.8 = 5.42, theta2 = 0.62 - 0.542 = 0.078
    for make, expected in [(lambda ps: SGD(ps, lr=0.1, momentum=0.9), [0.8, 0.42]),
                           (lambda ps: Momentum(ps, lr=0.1, momentum=0.9), [0.8, 0.42]),
                           (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True), [0.62, 0.078])]:
        p = Parameter(np.array([1.0]))
        opt = make([p])
        got = []
        for _ in range(2):
            p.grad = np.array([2.0])
            opt.step()
            got.append(p.data[0])
        np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_adam_one_step_by_hand():
    # t = 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2, so theta -= lr * g / (|g| + eps) ~ lr sign(g)
    p = Parameter(np.array([1.0, 1.0]))
    opt = Adam([p], lr=0.01, eps=0.0)
    p.grad = np.array([4.0, -0.5])
    opt.step()
    np.testing.assert_allclose(p.data, [0.99, 1.01], rtol=1e-14)


# float32: after 20 steps of lr 0.05 each parameter carries ~20 roundings of a 0.05 step (about 3e-9
# each), so the comparison is absolute at 1e-6 (the largest error over 20 seeds is 5e-7)
@pytest.mark.parametrize("dtype,rtol,atol", [(np.float64, 1e-12, 0.0), (np.float32, 1e-6, 1e-6)])
def test_adam_equals_pytorch_formula_over_20_steps(dtype, rtol, atol):
    params = make_params(dtype)
    start = [p.data.astype(np.float64) for p in params]
    grads = grad_sequence(20, seed=7)
    opt = Adam(params, lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8)
    ref = ref_adam(0.05, 0.9, 0.999, 1e-8)
    thetas, states = start, [{} for _ in params]
    for t, gs in enumerate(grads, start=1):
        for p, g in zip(params, gs):
            p.grad = g.astype(dtype)
        opt.step()
        thetas = [ref(th, g.astype(dtype).astype(np.float64), s, t) for th, g, s in zip(thetas, gs, states)]
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.data, th, rtol=rtol, atol=atol)


def test_adam_float32_state_is_m_and_v_and_survives_new_betas():
    # float32 Adam keeps M = m / (1 - beta1) and V = v / (1 - beta2); state_dict must still give m
    # and v, a state_dict must load back bit for bit, and betas changed between steps must rescale
    params = make_params(np.float32)
    grads = grad_sequence(10, seed=11)
    opt = Adam(params, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    ref = ref_adam(0.01, 0.9, 0.999, 1e-8)
    thetas = [p.data.astype(np.float64) for p in params]
    states = [{} for _ in params]
    for t, gs in enumerate(grads[:5], start=1):
        for p, g in zip(params, gs):
            p.grad = g.astype(np.float32)
        opt.step()
        thetas = [ref(th, g.astype(np.float32).astype(np.float64), s, t) for th, g, s in zip(thetas, gs, states)]
    sd = opt.state_dict()
    for entry, s in zip(sd["state"], states):
        assert entry["m"].dtype == np.float64
        np.testing.assert_allclose(entry["m"], s["m"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(entry["v"], s["v"], rtol=1e-5, atol=1e-9)
    # round trip into a fresh optimizer: the float32 slots come back bit for bit
    twin = Adam([Parameter(p.data.copy()) for p in params], lr=0.01)
    twin.load_state_dict(sd)
    for b1, b2 in zip(opt._buckets[0], twin._buckets[0]):
        for f1, f2 in zip(b1.flats[2:], b2.flats[2:]):
            np.testing.assert_array_equal(f1, f2)
    # new betas from step 6 on: the moments carry over as m and v (PyTorch's meaning)
    opt.param_groups[0]["beta1"], opt.param_groups[0]["beta2"] = 0.5, 0.9
    ref2 = ref_adam(0.01, 0.5, 0.9, 1e-8)
    for t, gs in enumerate(grads[5:], start=6):
        for p, g in zip(params, gs):
            p.grad = g.astype(np.float32)
        opt.step()
        thetas = [ref2(th, g.astype(np.float32).astype(np.float64), s, t) for th, g, s in zip(thetas, gs, states)]
    for p, th in zip(params, thetas):
        np.testing.assert_allclose(p.data, th, rtol=1e-5, atol=1e-6)
    for entry, s in zip(opt.state_dict()["state"], states):
        np.testing.assert_allclose(entry["v"], s["v"], rtol=1e-5, atol=1e-9)
    # a state saved with float32 m and v (as before the moments were scaled) loads too
    old = {**sd, "state": [{k: (a.astype(np.float32) if k != "step" else a) for k, a in e.items()}
                           for e in sd["state"]]}
    twin.load_state_dict(old)
    for e1, e2 in zip(sd["state"], twin.state_dict()["state"]):
        np.testing.assert_allclose(e2["m"], e1["m"], rtol=1e-6)


@pytest.mark.skipif(not os.environ.get("CHAINRULE_TORCH_TESTS"),
                    reason="importing torch takes seconds; set CHAINRULE_TORCH_TESTS=1 to compare with torch.optim")
def test_against_torch():
    torch = pytest.importorskip("torch")
    grads = grad_sequence(5, seed=3)
    pairs = [
        (lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
        (lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1), lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        (lambda ps: RMSprop(ps, lr=0.01, rho=0.9, eps=1e-8, momentum=0.5),
         lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5)),
        (lambda ps: Adagrad(ps, lr=0.1, eps=1e-10), lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-10)),
    ]
    for ours, theirs in pairs:
        params = make_params()
        tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
        opt, topt = ours(params), theirs(tparams)
        for gs in grads:
            for p, tp, g in zip(params, tparams, gs):
                p.grad = g.copy()
                tp.grad = torch.tensor(g.copy())
            opt.step()
            topt.step()
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------------
# Every optimizer minimises f(theta) = sum((theta - 3)^2)
# ---------------------------------------------------------------------------------------------------
QUADRATIC = [
    (lambda ps: Constant(ps, lr=0.1), 100),
    (lambda ps: Momentum(ps, lr=0.05, momentum=0.5), 200),
    (lambda ps: AdagradMomentum(ps, lr=0.3, momentum=0.5), 400),
    (lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True), 200),
    (lambda ps: Adagrad(ps, lr=1.0), 300),
    (lambda ps: RMSprop(ps, lr=ExponentialDecay(0.1, 0.5, 50), momentum=0.5), 500),
    (lambda ps: Adam(ps, lr=ExponentialDecay(0.3, 0.5, 50)), 500),
    (lambda ps: AdamW(ps, lr=ExponentialDecay(0.3, 0.5, 50), weight_decay=1e-4), 500),
]


@pytest.mark.parametrize("make,steps", QUADRATIC, ids=["constant", "momentum", "adagrad_momentum", "sgd",
                                                       "adagrad", "rmsprop", "adam", "adamw"])
def test_minimises_quadratic(make, steps):
    theta = Parameter(np.array([0.0, -1.0, 5.0]))
    opt = make([theta])
    for _ in range(steps):
        theta.grad = 2.0 * (theta.data - 3.0)          # d/dtheta sum((theta - 3)^2)
        opt.step()
    np.testing.assert_allclose(theta.data, 3.0, atol=1e-3)


def test_training_loop_with_backward():
    # PyTorch style with chainrule's engine computing the gradient
    w = Parameter(np.zeros(3))
    opt = Adam([w], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        loss = ((w - 3.0) * (w - 3.0)).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, 3.0, atol=1e-3)


# ---------------------------------------------------------------------------------------------------
# In place, dtypes, skipped parameters, gradients left untouched
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "constant", "momentum",
                                  "adagrad_momentum"])
def test_updates_in_place_and_keep_float32(name):
    params = make_params(np.float32)
    ids = [id(p.data) for p in params]
    opt = get(name, momentum=0.9) if name in ("sgd", "momentum") else get(name)
    opt.bind(params)
    before = [p.data.copy() for p in params]
    for _ in range(2):
        for p in params:
            p.grad = np.ones(p.shape, np.float32)
        opt.step()
    for p, i, b in zip(params, ids, before):
        assert id(p.data) == i
        assert p.data.dtype == np.float32
        assert not np.array_equal(p.data, b)
    for buckets in opt._buckets:  # the state itself stays float32
        for b in buckets:
            assert all(f.dtype == np.float32 for f in b.flats)
    # state_dict gives it in float32, except Adam's moments: float64, as they are kept scaled
    # (m / (1 - beta1), v / (1 - beta2)) and must come back bit for bit
    for entry in opt.state_dict()["state"]:
        for key, arr in entry.items():
            if key != "step":
                assert arr.dtype == (np.float64 if name in ("adam", "adamw") else np.float32)


def test_mixed_dtypes():
    a = Parameter(np.ones(3, np.float32))
    b = Parameter(np.ones(2, np.float64))
    opt = SGD([a, b], lr=0.5)
    a.grad, b.grad = np.ones(3, np.float32), np.ones(2)
    opt.step()
    assert a.data.dtype == np.float32 and b.data.dtype == np.float64
    np.testing.assert_array_equal(a.data, 0.5)
    np.testing.assert_array_equal(b.data, 0.5)


def test_grad_is_never_modified():
    params = make_params()
    grads = [np.full(p.shape, 10.0) for p in params]
    for opt in [SGD(params, lr=0.1, weight_decay=0.1, clipnorm=1.0), Adam(params, clipvalue=0.5),
                RMSprop(params, global_clipnorm=0.1)]:
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        for p, g in zip(params, grads):
            assert p.grad is g
            np.testing.assert_array_equal(g, 10.0)


def test_parameters_without_grad_are_skipped():
    a, b = Parameter(np.array([1.0, 2.0])), Parameter(np.array([5.0]))
    opt = Adam([a, b], lr=0.1)
    a.grad, b.grad = np.array([1.0, -1.0]), None
    opt.step()
    np.testing.assert_array_equal(b.data, [5.0])
    state = opt.state_dict()["state"]
    np.testing.assert_array_equal(state[1]["m"], [0.0])
    assert int(state[0]["step"]) == 1 and int(state[1]["step"]) == 0
    # next step both have grads: b's bias correction uses its own step count 1 (like PyTorch)
    a.grad, b.grad = np.array([1.0, -1.0]), np.array([2.0])
    opt.step()
    np.testing.assert_allclose(b.data, [5.0 - 0.1 * 2.0 / (2.0 + 1e-8)], rtol=1e-14)
    ref = run_reference(ref_adam(0.1, 0.9, 0.999, 1e-8), [np.array([1.0, 2.0])],
                        [[np.array([1.0, -1.0])], [np.array([1.0, -1.0])]])
    np.testing.assert_allclose(a.data, ref[0], rtol=1e-14)
    # a step where nobody has a gradient changes nothing but the iteration count
    opt.zero_grad()
    before = [a.data.copy(), b.data.copy()]
    opt.step()
    np.testing.assert_array_equal(a.data, before[0])
    np.testing.assert_array_equal(b.data, before[1])
    assert opt.iterations == 3


def test_zero_grad():
    a = Parameter(np.ones(2))
    opt = SGD([a])
    a.grad = np.ones(2)
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g
    np.testing.assert_array_equal(g, 0.0)
    opt.zero_grad()
    assert a.grad is None


def test_generator_and_duplicates():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(1))
    opt = SGD((p for p in [a, b, a]), lr=1.0)
    assert opt.params == [a, b]
    a.grad, b.grad = np.ones(2), np.ones(1)
    opt.step()
    np.testing.assert_array_equal(a.data, [0.0, 0.0])   # updated once, not twice


def test_param_groups():
    a, b = Parameter(np.ones(1)), Parameter(np.ones(1))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    for _ in range(2):
        a.grad, b.grad = np.ones(1), np.ones(1)
        opt.step()
    np.testing.assert_allclose(a.data, [1 - 0.1 - 0.1])
    np.testing.assert_allclose(b.data, [1 - 0.5 * 1 - 0.5 * 1.9])
    opt.lr = 0.01                                   # sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    with pytest.raises(ValueError, match=r"unknown keys \['betas'\]"):
        SGD([{"params": [a], "betas": (0.9, 0.99)}])


# ---------------------------------------------------------------------------------------------------
# Binding later (Keras), lr and iterations, schedules
# ---------------------------------------------------------------------------------------------------
def test_bind_later_and_rebind():
    opt = Adam(learning_rate=0.01)
    assert opt.lr == 0.01 and opt.iterations == 0
    a = Parameter(np.ones(2))
    assert opt.bind([a]) is opt
    a.grad = np.ones(2)
    opt.step()
    m = opt.state_dict()["state"][0]["m"]
    opt.bind([a])                                   # same parameters: state kept
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["m"], m)
    assert opt.iterations == 1
    opt.bind([Parameter(np.ones(3))])               # other parameters: fresh state
    assert opt.iterations == 0
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["m"], 0.0)


def test_lr_is_settable_and_schedules_are_followed():
    p = Parameter(np.zeros(1))
    opt = Constant([p], lr=StepDecay(1.0, drop=0.5, every=2))
    seen = []
    for _ in range(5):
        p.grad = np.ones(1)
        seen.append(opt.lr)
        before = p.data[0]
        opt.step()
        assert before - p.data[0] == pytest.approx(seen[-1])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]
    with pytest.raises(TypeError, match="learning rate is a schedule"):
        opt.lr = 0.1
    plain = SGD([p], lr=0.1)
    plain.lr = 0.02
    p.grad = np.ones(1)
    before = p.data[0]
    plain.step()
    assert before - p.data[0] == pytest.approx(0.02)
    with pytest.raises(ValueError, match=r"SGD: lr must be >= 0, got -1.0"):
        plain.lr = -1.0


# ---------------------------------------------------------------------------------------------------
# Clipping
# ---------------------------------------------------------------------------------------------------
def _applied_gradient(opt_kwargs, grads):
    """With SGD(lr=1) the change of each parameter is minus the (clipped) gradient it used."""
    params = [Parameter(np.zeros(len(g))) for g in grads]
    opt = SGD(params, lr=1.0, **opt_kwargs)
    for p, g in zip(params, grads):
        p.grad = np.array(g, dtype=float)
    opt.step()
    return [(-p.data).tolist() for p in params]


def test_clipvalue():
    assert _applied_gradient({"clipvalue": 1.0}, [[-5.0, 0.5, 2.0]]) == [[-1.0, 0.5, 1.0]]


def test_clipnorm_per_parameter():
    # [3, 4] has norm 5 -> scaled to norm 1: [0.6, 0.8]; [0.3, 0.4] (norm 0.5) is left alone
    got = _applied_gradient({"clipnorm": 1.0}, [[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(got[0], [0.6, 0.8], rtol=1e-15)
    np.testing.assert_allclose(got[1], [0.3, 0.4], rtol=1e-15)


def test_global_clipnorm():
    # global norm of ([3], [4]) is 5 -> everything times 1/5
    got = _applied_gradient({"global_clipnorm": 1.0}, [[3.0], [4.0]])
    np.testing.assert_allclose(got, [[0.6], [0.8]], rtol=1e-15)
    got = _applied_gradient({"global_clipnorm": 10.0}, [[3.0], [4.0]])
    np.testing.assert_allclose(got, [[3.0], [4.0]], rtol=1e-15)


def test_clipping_with_a_skipped_parameter():
    a, b, c = (Parameter(np.zeros(1)) for _ in range(3))
    opt = SGD([a, b, c], lr=1.0, global_clipnorm=1.0)
    a.grad, b.grad, c.grad = np.array([3.0]), None, np.array([4.0])
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0], c.data[0]], [-0.6, 0.0, -0.8], rtol=1e-15)


def test_standalone_clipping_functions():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    total = clip_grad_norm_([a, b], max_norm=2.5)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [1.5, 0.0, 2.0], rtol=1e-6)
    a.grad = np.array([3.0, -7.0])
    assert clip_grad_norm_(a, max_norm=100.0, norm_type=float("inf")) == 7.0
    np.testing.assert_array_equal(a.grad, [3.0, -7.0])              # below max_norm: unchanged
    clip_grad_value_(iter([a]), 2.0)
    np.testing.assert_array_equal(a.grad, [2.0, -2.0])
    with pytest.raises(ValueError, match=r"clip_grad_value_: clip_value must be >= 0, got -1.0"):
        clip_grad_value_([a], -1)


# ---------------------------------------------------------------------------------------------------
# Config, get, state_dict
# ---------------------------------------------------------------------------------------------------
def test_get_names():
    for name, cls in [("sgd", SGD), ("ADAM", Adam), ("AdamW", AdamW), ("rmsprop", RMSprop), ("adagrad", Adagrad),
                      ("constant", Constant), ("momentum", Momentum), ("adagrad_momentum", AdagradMomentum),
                      ("AdagradMomentum", AdagradMomentum)]:
        opt = get(name)
        assert type(opt) is cls and opt.params == []
    assert get("sgd", lr=0.3).lr == 0.3
    a = Adam()
    assert get(a) is a
    assert type(get(SGD)) is SGD
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamax'; valid names are 'sgd', 'adam'"):
        get("adamax")


def test_config_round_trip_with_nested_schedule():
    opt = Adam(lr=ExponentialDecay(0.1, 0.5, 10), betas=(0.8, 0.9), eps=1e-7, clipnorm=2.0)
    cfg = json.loads(json.dumps(opt.get_config()))
    assert cfg["class_name"] == "Adam"
    assert cfg["lr"] == {"class_name": "ExponentialDecay", "initial_lr": 0.1, "decay_rate": 0.5,
                         "decay_steps": 10, "staircase": False}
    again = from_config(cfg)
    assert type(again) is Adam and again.get_config() == opt.get_config()
    assert Optimizer.from_config(cfg).get_config() == cfg
    with pytest.raises(ValueError, match="config is for Adam"):
        SGD.from_config(cfg)


@pytest.mark.parametrize("make", [
    lambda ps: Adam(ps, lr=ExponentialDecay(0.01, 0.9, 3)),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: AdagradMomentum(ps, lr=0.1),
    lambda ps: RMSprop(ps, momentum=0.5, clipnorm=0.3),
], ids=["adam_schedule", "sgd_nesterov", "adagrad_momentum", "rmsprop_clip"])
def test_state_dict_round_trip_continues_bit_identically(make):
    grads = grad_sequence(10, seed=5)
    params = make_params(np.float32)
    opt = make(params)

    def train(opt, params, gs_list, skip_last=False):
        for k, gs in enumerate(gs_list):
            for j, (p, g) in enumerate(zip(params, gs)):
                p.grad = None if (skip_last and k == 0 and j == 2) else g.astype(np.float32)
            opt.step()

    train(opt, params, grads[:5], skip_last=True)        # one parameter skipped once: its own step count
    sd = opt.state_dict()
    saved = [{k: v.copy() for k, v in e.items()} for e in sd["state"]]
    sd_json = json.loads(json.dumps({k: sd[k] for k in ("config", "iterations", "groups")}))

    clone_params = [Parameter(p.data.copy()) for p in params]
    clone = from_config(sd_json["config"])                 # Keras: rebuild from config, bind at compile
    clone.load_state_dict({**sd_json, "state": sd["state"]})  # before binding: applied at bind
    clone.bind(clone_params)

    train(opt, params, grads[5:])
    for e, s in zip(sd["state"], saved):                   # the saved arrays are copies
        for k in e:
            np.testing.assert_array_equal(e[k], s[k])
    train(clone, clone_params, grads[5:])
    for p, q in zip(params, clone_params):
        np.testing.assert_array_equal(p.data, q.data)
    assert clone.iterations == opt.iterations == 10


def test_load_state_dict_errors():
    opt = Adam(make_params())
    with pytest.raises(ValueError, match="the state is of a SGD optimizer"):
        opt.load_state_dict(SGD(make_params()).state_dict())
    with pytest.raises(ValueError, match="the state has 1 parameters, the optimizer has 3 bound"):
        opt.load_state_dict(Adam([Parameter(np.ones(2))]).state_dict())
    other = Adam([Parameter(np.ones(s[::-1])) for s in SHAPES])
    with pytest.raises(ValueError, match=r"state 'm' of parameter 0 has shape \(4, 3\)"):
        opt.load_state_dict(other.state_dict())


# ---------------------------------------------------------------------------------------------------
# Errors that say what to do
# ---------------------------------------------------------------------------------------------------
def test_unbound_optimizer_errors():
    opt = Adam(lr=0.1)
    with pytest.raises(RuntimeError, match=r"Adam.step\(\): no parameters are bound.*compile a model"):
        opt.step()
    with pytest.raises(RuntimeError, match=r"Adam.zero_grad\(\): no parameters are bound.*Adam\(model.parameters"):
        opt.zero_grad()


def test_bad_params_errors():
    with pytest.raises(TypeError, match=r"SGD: params must be chainrule.nn.Parameter objects, got ndarray at "
                                        r"position 1"):
        SGD([Parameter(np.ones(1)), np.ones(2)])
    with pytest.raises(TypeError, match="got Tensor at position 0"):
        SGD([cr.tensor([1.0], requires_grad=True)])
    with pytest.raises(TypeError, match="only floating-point parameters can be optimized, got dtype int64"):
        SGD([Parameter(np.arange(3), requires_grad=False)])
    with pytest.raises(TypeError, match=r"did you mean Adam\(lr=0.01\)"):
        Adam(0.01)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="params must be an iterable"):
        SGD(42j)


def test_hyperparameter_errors():
    with pytest.raises(TypeError, match="got both lr=0.1 and learning_rate=0.2"):
        Adam(lr=0.1, learning_rate=0.2)
    with pytest.raises(TypeError, match="got both betas"):
        Adam(beta1=0.5, betas=(0.9, 0.99))
    with pytest.raises(ValueError, match=r"Adam: lr must be >= 0, got -0.1"):
        Adam(lr=-0.1)
    with pytest.raises(ValueError, match=r"Adam: beta1 must be in \[0, 1\), got 1.0"):
        Adam(beta1=1.0)
    with pytest.raises(ValueError, match=r"AdamW: beta2 must be in \[0, 1\), got -0.5"):
        AdamW(betas=(0.9, -0.5))
    with pytest.raises(ValueError, match=r"RMSprop: rho must be in \[0, 1\), got 1.5"):
        RMSprop(rho=1.5)
    with pytest.raises(ValueError, match=r"SGD: momentum must be in \[0, 1\), got -0.9"):
        SGD(momentum=-0.9)
    with pytest.raises(ValueError, match="nesterov=True needs momentum"):
        SGD(nesterov=True)
    with pytest.raises(ValueError, match=r"AdamW: weight_decay must be >= 0, got -1.0"):
        AdamW(weight_decay=-1)
    with pytest.raises(ValueError, match=r"Adagrad: eps must be >= 0, got -1e-08"):
        Adagrad(eps=-1e-8)
    with pytest.raises(ValueError, match=r"clipnorm must be > 0, got 0.0"):
        SGD(clipnorm=0.0)
    with pytest.raises(ValueError, match="at most one of clipvalue, clipnorm, global_clipnorm"):
        SGD(clipvalue=1.0, clipnorm=1.0)
    with pytest.raises(TypeError, match=r"Adam: lr must be a real number, got 'fast' \(str\)"):
        Adam(lr="fast")


def test_gradient_shape_mismatch():
    p = Parameter(np.ones((2, 2)))
    opt = SGD([p])
    p.grad = np.ones(4)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(2, 2\) but its gradient has shape \(4,\)"):
        opt.step()


# ---- gradients written into the optimizer's flat buffer (Parameter._grad_out)
RNG = np.random.default_rng(7)

def _dense_step(model, opt, X, y, zero=True):
    from chainrule import losses
    if zero:
        opt.zero_grad()
    losses.sparse_categorical_crossentropy(y, model(X)).backward()


def _two_models(clipnorm=None):
    """The same Dense network twice, each with its Adam: one writing gradients into the
    optimizer's buffer, one whose parameters were told not to (plain arrays, copied by step)."""
    from chainrule import nn
    out = []
    for storage in (True, False):
        cr.manual_seed(0)
        model = nn.Sequential([nn.Dense(5, "tanh", input_dim=4), nn.Dense(3, "softmax")])
        opt = Adam(model.parameters(), lr=0.05, clipnorm=clipnorm)
        if not storage:
            for p in model.parameters():
                p._grad_out = None
        out.append((model, opt))
    return out


def test_backward_writes_gradients_into_the_optimizers_buffer_with_the_same_results():
    X, y = RNG.normal(size=(6, 4)).astype("float32"), np.array([0, 1, 2, 0, 1, 2])
    (m1, o1), (m2, o2) = _two_models()
    b = o1._buckets[0][0]
    for _ in range(5):
        _dense_step(m1, o1, X, y)
        _dense_step(m2, o2, X, y)
        for p, views in zip(b.params, b.views):
            assert p.grad is views[0]  # in place: step() copies nothing
        for p in m2.parameters():
            assert p._grad_out is None and not np.shares_memory(p.grad, o2._buckets[0][0].flats[0])
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_array_equal(p.grad, q.grad)
        o1.step()
        o2.step()
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_buffer_is_not_offered_where_it_would_lose_a_gradient():
    X, y = RNG.normal(size=(6, 4)).astype("float32"), np.array([0, 1, 2, 0, 1, 2])
    (m1, o1), (m2, o2) = _two_models()
    # two backward passes (two batches) without zero_grad accumulate: the second cannot
    # overwrite the first
    X2 = RNG.normal(size=(6, 4)).astype("float32")
    for batch in (X, X2):
        _dense_step(m1, o1, batch, y, zero=False)
        _dense_step(m2, o2, batch, y, zero=False)
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)
    # zero_grad(set_to_none=False) zeroes the buffer in place; the next pass adds to it
    o1.zero_grad(set_to_none=False)
    o2.zero_grad(set_to_none=False)
    _dense_step(m1, o1, X, y, zero=False)
    _dense_step(m2, o2, X, y, zero=False)
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-6)
    # one weight used twice: each use adds its share, and the sum is a new array
    W = m1[0].kernel
    o1.zero_grad()
    x2 = RNG.normal(size=(6, 4)).astype("float32")
    cr.sum(cr.ops.linear(X, W) * cr.ops.linear(x2, W)).backward()
    Wd = W.data.astype(np.float64)
    expected = X.T @ (x2 @ Wd) + x2.T @ (X @ Wd)
    np.testing.assert_allclose(W.grad, expected, rtol=1e-5)
    # gradients() hands out values, never the optimizer's storage
    loss = cr.sum(cr.ops.linear(X, W))
    (g,) = cr.gradients(loss, W)
    assert not np.shares_memory(g.numpy(), o1._buckets[0][0].flats[0])
    np.testing.assert_allclose(g.numpy(), np.broadcast_to(X.sum(0)[:, None], W.shape), rtol=1e-6)


def test_clipping_optimizer_takes_gradients_as_plain_arrays():
    (m1, o1), _ = _two_models()
    assert all(p._grad_out is not None for p in m1.parameters())
    clipping = Adam(m1.parameters(), clipvalue=1e-3)  # binding it withdraws the first one's storage
    assert all(p._grad_out is None for p in m1.parameters())
    X, y = RNG.normal(size=(6, 4)).astype("float32"), np.array([0, 1, 2, 0, 1, 2])
    _dense_step(m1, clipping, X, y)
    grads = [p.grad.copy() for p in m1.parameters()]
    clipping.step()
    for p, g in zip(m1.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)


def test_a_parameter_resized_after_binding_gets_a_fresh_gradient_and_a_clear_error():
    (m1, o1), _ = _two_models()
    W = m1[0].kernel
    W.data = np.ones((4, 7), dtype=np.float32)  # no longer the shape the optimizer bound
    m1[0].units = 7
    cr.sum(cr.ops.linear(np.ones((2, 4), np.float32), W)).backward()
    np.testing.assert_array_equal(W.grad, np.full((4, 7), 2.0))
    with pytest.raises(ValueError, match=r"parameter 0 was bound with shape \(4, 5\) but its data now has"):
        o1.step()


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, weight_decay=0.1),
                                  lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
                                  lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1)])
def test_weight_decay_leaves_grad_as_back_propagation_wrote_it(make):
    """SGD adds lambda theta to its gradient buffer; when .grad is that buffer it must keep the gradient."""
    from chainrule import nn
    X, y = RNG.normal(size=(6, 4)).astype("float32"), np.array([0, 1, 2, 0, 1, 2])
    runs = []
    for storage in (True, False):
        cr.manual_seed(0)
        model = nn.Sequential([nn.Dense(5, "tanh", input_dim=4), nn.Dense(3, "softmax")])
        opt = make(model.parameters())
        if not storage:
            for p in model.parameters():
                p._grad_out = None
        for _ in range(3):
            _dense_step(model, opt, X, y)
            grads = [p.grad.copy() for p in model.parameters()]
            opt.step()
            for p, g in zip(model.parameters(), grads):
                np.testing.assert_array_equal(p.grad, g)
        runs.append(model)
    for p, q in zip(runs[0].parameters(), runs[1].parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_keras_sgd_momentum_keeps_the_learning_rate_in_its_velocity():
    """Keras' SGD: m = mu m - eta_t g, theta += m (Nesterov: theta += mu m - eta_t g). While eta is constant
    that is PyTorch's rule rewritten; once a schedule changes eta the two part, and Keras' is the one kept."""
    from chainrule.optim.keras_rules import KerasSGD
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((5, 3))
    rates = [0.1, 0.05, 0.2, 0.01, 0.1]
    for nesterov in (False, True):
        p = Parameter(np.ones(3))
        opt = KerasSGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov)
        opt.bind([p])
        theta, m = np.ones(3), np.zeros(3)
        for g, eta in zip(grads, rates):
            opt.lr = eta
            p.grad = g.copy()
            opt.step()
            m = 0.9 * m - eta * g
            theta = theta + (0.9 * m - eta * g if nesterov else m)
            np.testing.assert_allclose(p.data, theta, rtol=1e-12)
        np.testing.assert_allclose(opt.state_dict()["state"][0]["momentum"], m, rtol=1e-12)
    # PyTorch's buffer means something else: a state that holds it is refused by name, not misread
    state = SGD([Parameter(np.ones(3))], lr=0.1, momentum=0.9).state_dict()
    state["config"]["class_name"] = "KerasSGD"
    fresh = KerasSGD(momentum=0.9)
    fresh.bind([Parameter(np.ones(3))])
    with pytest.raises(ValueError, match=r"the state of parameter 0 has no 'momentum' \(it holds "
                                         r"\['momentum_buffer'\]\): it was saved by another optimizer"):
        fresh.load_state_dict(state)


def test_keras_sgd_with_momentum_under_a_schedule_equals_keras_3(keras):
    import chainrule.keras as ck
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((12, 3)).astype(np.float32), rng.standard_normal((12, 1)).astype(np.float32)
    for nesterov in (False, True):
        models = []
        for L, M, O, C in ((ck.layers, ck.models, ck.optimizers, ck.callbacks),
                           (keras.layers, keras.models, keras.optimizers, keras.callbacks)):
            m = M.Sequential([L.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(1)])
            m.compile(optimizer=O.SGD(0.05, momentum=0.9, nesterov=nesterov), loss="mse")
            models.append((m, C))
        (ours, C1), (theirs, C2) = models
        ours.set_weights(theirs.get_weights())
        h1 = ours.fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                      callbacks=[C1.LearningRateScheduler(lambda e, lr: lr * 0.5)]).history["loss"]
        h2 = theirs.fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                        callbacks=[C2.LearningRateScheduler(lambda e, lr: lr * 0.5)]).history["loss"]
        np.testing.assert_allclose(h1, h2, rtol=1e-5)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
