"""Learning-rate schedules: the rate per step (warm-up rises, cosine ends near 0, one-cycle
peaks at the configured rate), the configuration and flag, and a continued run that picks up
the parent's optimizer and schedule."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mtl_core.cli.options import config_from_args
from mtl_core.cli.main import build_parser
from mtl_core.config import RunConfig, TrainConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.errors import ConfigError
from mtl_core.pipeline import run_experiment
from mtl_core.predict import resume_config_for_frame
from mtl_core.runs import load_run
from mtl_core.training.optim import load_optimizer_state
from mtl_core.training.schedule import Schedule

LR = 0.01


def _optimizer(lr: float = LR, size: int = 3) -> torch.optim.Optimizer:
    p = torch.nn.Parameter(torch.zeros(size))
    p.grad = torch.ones(size)
    return torch.optim.Adam([p], lr=lr)


def _rates(schedule: Schedule, opt, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(schedule.lr)
        opt.step()
        schedule.step()
    return out


def test_constant_keeps_the_rate():
    opt = _optimizer()
    assert _rates(Schedule(opt, "constant", 10), opt, 10) == [LR] * 10


def test_cosine_warms_up_then_decays_to_near_zero():
    opt = _optimizer()
    lrs = np.array(_rates(Schedule(opt, "cosine", 100, warmup_steps=10), opt, 100))
    assert np.all(np.diff(lrs[:11]) > 0)  # linear warm-up rises...
    assert lrs[0] == pytest.approx(LR / 11)
    assert lrs[10] == pytest.approx(LR)  # ...to the configured rate
    assert np.all(np.diff(lrs[10:]) < 0)  # then only decreases
    assert lrs[-1] < LR * 0.01  # to about 0
    assert lrs[55] == pytest.approx(LR * 0.5 * (1 + np.cos(np.pi * 45 / 90)))  # cosine shape


def test_onecycle_peaks_at_the_rate():
    opt = _optimizer()
    lrs = np.array(_rates(Schedule(opt, "onecycle", 100), opt, 100))
    peak = int(lrs.argmax())
    assert lrs[peak] == pytest.approx(LR)
    assert 25 <= peak <= 32  # torch's 30 % rise
    assert lrs[0] == pytest.approx(LR / 25)
    assert lrs[-1] < LR * 1e-3


@pytest.mark.parametrize("name", ["cosine", "onecycle"])
def test_restored_schedule_continues_the_same_sequence(name):
    opt = _optimizer()
    full = _rates(Schedule(opt, name, 30, 5), opt, 30)
    opt = _optimizer()
    first = Schedule(opt, name, 30, 5)
    head = _rates(first, opt, 12)
    saved = {"optimizer": opt.state_dict(), "schedule": first.state_dict()}
    opt2 = _optimizer()
    assert load_optimizer_state(opt2, saved["optimizer"])
    tail = _rates(Schedule(opt2, name, 18, 5, saved["schedule"]), opt2, 18)
    np.testing.assert_allclose(head + tail, full, rtol=1e-12)
    assert opt2.state_dict()["state"][0]["step"] == 30  # Adam's moments carried on


def test_finished_schedule_restarts_over_the_new_budget():
    opt = _optimizer()
    first = Schedule(opt, "cosine", 10, 2)
    _rates(first, opt, 10)
    again = Schedule(opt, "cosine", 10, 2, first.state_dict())
    assert again.lr == pytest.approx(LR / 3)  # a new warm-up


def test_optimizer_state_of_another_shape_is_not_loaded():
    opt = _optimizer()
    opt.step()
    assert not load_optimizer_state(_optimizer(size=4), opt.state_dict())
    assert not load_optimizer_state(torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=LR), opt.state_dict())


def test_schedule_is_validated_and_a_flag():
    with pytest.raises(ConfigError, match="train.lr_schedule"):
        TrainConfig(lr_schedule="linear").validate()
    with pytest.raises(ConfigError, match="train.warmup_epochs"):
        TrainConfig(warmup_epochs=-1).validate()
    a = build_parser().parse_args(["train", "--data", "x.csv", "--task", "click", "--lr-schedule", "onecycle",
                                   "--warmup-epochs", "0.5"])
    cfg = config_from_args(a)
    assert (cfg.train.lr_schedule, cfg.train.warmup_epochs) == ("onecycle", 0.5)
    assert RunConfig.from_dict(cfg.to_dict()).train.lr_schedule == "onecycle"  # in config.json


def test_continued_run_carries_on_with_the_parents_schedule(tmp_path):
    """The parent is stopped after its first of three epochs; the continued run finishes the
    parent's schedule (same total) with Adam's step count carried on."""
    df = make_synthetic(rows=1200, seed=5)
    cfg = RunConfig()
    cfg.data.tasks = ["click", "purchase"]
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr_schedule = 3, 256, "cosine"
    cancel = __import__("threading").Event()

    def stop_after_first_epoch(ev):
        if ev.kind == "epoch":
            cancel.set()

    parent = run_experiment(cfg.validate(), df, callback=stop_after_first_epoch, cancel=cancel, runs_root=tmp_path)
    assert parent.status == "cancelled"
    pstate = load_run(parent.run_dir).optimizer_state()
    steps = pstate["schedule"]["total"] // 3
    assert pstate["schedule"]["done"] == steps and steps > 1
    child_cfg = resume_config_for_frame(load_run(parent.run_dir), epochs=2)
    child = run_experiment(child_cfg, df, runs_root=tmp_path)
    cstate = load_run(child.run_dir).optimizer_state()
    assert cstate["schedule"]["total"] == 3 * steps and cstate["schedule"]["done"] == 3 * steps
    adam_steps = {float(s["step"]) for s in cstate["optimizer"]["state"].values()}
    assert adam_steps == {3.0 * steps}
