"""Learning-rate schedules (values at given steps, configs, argument checks) and ReduceLROnPlateau."""
import json
import math

import numpy as np
import pytest

from chainrule.nn import Parameter
from chainrule.optim import (SGD, Adam, CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRateSchedule,
                             ReduceLROnPlateau, StepDecay, from_config)


def test_step_decay_values():
    s = StepDecay(0.1, drop=0.5, every=10)
    assert [s(t) for t in (0, 9, 10, 19, 20, 35)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.0125])


def test_exponential_decay_values():
    s = ExponentialDecay(2.0, decay_rate=0.1, decay_steps=4)
    assert [s(t) for t in (0, 2, 4, 8)] == pytest.approx([2.0, 2.0 * 0.1 ** 0.5, 0.2, 0.02])
    stair = ExponentialDecay(2.0, 0.1, 4, staircase=True)
    assert [stair(t) for t in (0, 3, 4, 7, 8)] == pytest.approx([2.0, 2.0, 0.2, 0.2, 0.02])


def test_inverse_time_decay_is_the_notes_t0_over_t_plus_t1():
    t0, t1 = 5.0, 50.0
    s = InverseTimeDecay(t0, t1)
    for t in (0, 1, 10, 1000):
        assert s(t) == pytest.approx(t0 / (t + t1))
    assert s(0) == pytest.approx(0.1) and s(950) == pytest.approx(0.005)


def test_cosine_decay_values():
    s = CosineDecay(1.0, decay_steps=100)
    assert [s(t) for t in (0, 25, 50, 100, 500)] == pytest.approx([1.0, (1 + math.sqrt(0.5)) / 2, 0.5, 0.0, 0.0],
                                                                  abs=1e-12)
    s = CosineDecay(0.2, decay_steps=10, alpha=0.5)
    assert [s(0), s(5), s(10), s(11)] == pytest.approx([0.2, 0.15, 0.1, 0.1])


@pytest.mark.parametrize("schedule", [StepDecay(0.1, 0.5, 3), ExponentialDecay(0.1, 0.9, 7, staircase=True),
                                      InverseTimeDecay(1.0, 10.0), CosineDecay(0.3, 100, alpha=0.1)])
def test_schedule_config_round_trip(schedule):
    cfg = json.loads(json.dumps(schedule.get_config()))
    assert cfg["class_name"] == type(schedule).__name__
    again = from_config(cfg)
    assert again == schedule and again is not schedule
    assert LearningRateSchedule.from_config(cfg) == schedule
    assert [again(t) for t in range(0, 300, 17)] == [schedule(t) for t in range(0, 300, 17)]


def test_optimizer_evaluates_schedule_at_iterations():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=InverseTimeDecay(1.0, 2.0))
    for t in range(4):
        assert opt.lr == pytest.approx(1.0 / (t + 2.0))
        p.grad = np.ones(1)
        before = p.data[0]
        opt.step()
        assert before - p.data[0] == pytest.approx(1.0 / (t + 2.0))


def test_schedule_argument_errors():
    with pytest.raises(ValueError, match=r"StepDecay: drop must be in \(0, 1\], got 1.5"):
        StepDecay(0.1, drop=1.5, every=2)
    with pytest.raises(ValueError, match=r"StepDecay: every must be an integer >= 1, got 0"):
        StepDecay(0.1, drop=0.5, every=0)
    with pytest.raises(ValueError, match=r"ExponentialDecay: initial_lr must be >= 0, got -1.0"):
        ExponentialDecay(-1.0, 0.5, 10)
    with pytest.raises(ValueError, match=r"ExponentialDecay: decay_rate must be > 0, got 0.0"):
        ExponentialDecay(1.0, 0.0, 10)
    with pytest.raises(ValueError, match=r"InverseTimeDecay: t1 must be > 0, got 0.0"):
        InverseTimeDecay(1.0, 0.0)
    with pytest.raises(ValueError, match=r"CosineDecay: alpha must be in \[0, 1\], got 2.0"):
        CosineDecay(1.0, 10, alpha=2.0)
    with pytest.raises(ValueError, match="unknown schedule 'Warmup'"):
        LearningRateSchedule.from_config({"class_name": "Warmup"})
    with pytest.raises(ValueError, match="unknown optimizer class 'Warmup'"):
        from_config({"class_name": "Warmup"})


# ---------------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ---------------------------------------------------------------------------------------------------
def _opt(lr=1.0):
    return SGD([Parameter(np.zeros(1))], lr=lr)


def test_plateau_reduces_after_patience():
    opt = _opt()
    plateau = ReduceLROnPlateau(opt, factor=0.1, patience=2)
    lrs = []
    for loss in [1.0, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4]:
        plateau.step(loss)
        lrs.append(opt.lr)
    # epochs 3 and 4 are the first two without improvement (tolerated), epoch 5 the third: reduce;
    # 0.4 improves, then 3 more flat epochs reduce again
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1, 0.01])


def test_plateau_min_delta_min_lr_cooldown_and_max_mode():
    opt = _opt(0.1)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=0, min_lr=0.03, min_delta=0.1, cooldown=1)
    lrs = []
    for loss in [1.0, 0.95, 0.9, 0.85, 0.8, 0.79]:   # improvements smaller than min_delta do not count
        plateau.step(loss)
        lrs.append(opt.lr)
    # 0.95: not below best - min_delta = 0.9 -> bad, reduce to 0.05, cooldown 1; 0.9: bad but in cooldown;
    # 0.85 < 0.9: improvement, best = 0.85; 0.8: bad -> max(0.025, min_lr) = 0.03; 0.79: cooldown
    assert lrs == pytest.approx([0.1, 0.05, 0.05, 0.05, 0.03, 0.03])

    opt = _opt(1.0)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=1, mode="max")
    for acc in [0.5, 0.6, 0.7, 0.7, 0.7]:
        plateau.step(acc)
    assert opt.lr == 0.5


def test_plateau_relative_threshold_and_groups():
    a, b = Parameter(np.zeros(1)), Parameter(np.zeros(1))
    opt = Adam([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}])
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=0, min_delta=0.01, threshold_mode="rel")
    plateau.step(100.0)
    plateau.step(99.5)           # 0.5% better: not an improvement in 'rel' mode with 1%
    assert [opt.group_lr(0), opt.group_lr(1)] == [0.5, 0.05]


def test_plateau_state_and_errors():
    opt = _opt()
    plateau = ReduceLROnPlateau(opt, patience=3)
    plateau.step(1.0)
    plateau.step(2.0)
    again = ReduceLROnPlateau(opt, patience=3)
    again.load_state_dict(plateau.state_dict())
    assert again.best == 1.0 and again.num_bad_epochs == 1
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor must be in \(0, 1\), got 1.0"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'up'"):
        ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match=r"patience must be an integer >= 0, got -1"):
        ReduceLROnPlateau(opt, patience=-1)
    with pytest.raises(TypeError, match="expected a chainrule.optim.Optimizer, got str"):
        ReduceLROnPlateau("adam")
    scheduled = SGD([Parameter(np.zeros(1))], lr=StepDecay(1.0, 0.5, 10))
    plateau = ReduceLROnPlateau(scheduled, patience=0)
    plateau.step(1.0)
    with pytest.raises(TypeError, match="learning rate is a schedule"):
        plateau.step(2.0)
