"""AITM and cross-stitch specifics (the registry-wide checks are in test_models.py)."""
from __future__ import annotations

import pytest
import torch

from mtl_core.errors import ConfigError
from mtl_core.models import build_model
from mtl_core.models.base import Towers
from test_models import FEATURES, TASKS, build, cfg, make_data, tensors

torch.set_num_threads(1)


def test_cross_stitch_units_start_near_the_identity_and_rows_sum_to_one():
    model = build("cross_stitch", hidden=[16, 8])
    assert len(model.stitches) == 2
    for unit in model.stitches:
        a = unit.alpha.detach()
        assert a.shape == (len(TASKS), len(TASKS))
        assert torch.allclose(a.diagonal(), torch.full((len(TASKS),), 0.9))
        off = a[~torch.eye(len(TASKS), dtype=torch.bool)]
        assert (off > 0).all() and (off < 0.1).all()
        assert torch.allclose(a.sum(1), torch.ones(len(TASKS)))


def test_cross_stitch_with_identity_units_is_separate_columns():
    """With α = I the task columns do not talk: a task's output ignores the other columns."""
    model = build("cross_stitch", hidden=[16, 8]).eval()
    with torch.no_grad():
        for unit in model.stitches:
            unit.alpha.copy_(torch.eye(len(TASKS)))
    cat, num = tensors(make_data(8))
    out = model(cat, num)
    other = model.columns["buy"][0][0].weight
    (g,) = torch.autograd.grad(out["click"].sum(), other, allow_unused=True)
    assert g is None or g.abs().sum() == 0
    with torch.no_grad():
        for unit in model.stitches:
            unit.alpha.fill_(0.25)
    out = model(cat, num)
    assert torch.autograd.grad(out["click"].sum(), other)[0].abs().sum() > 0


def test_aitm_calibrator_is_zero_when_the_funnel_is_monotone_and_positive_otherwise():
    model = build("aitm", aitm_calibrator=0.6)
    assert model.funnel == ["click", "buy"]
    monotone = {"click": torch.tensor([2.0, 0.0, -1.0]), "buy": torch.tensor([1.0, -3.0, -1.0])}
    (term,) = model.extra_losses(monotone).values()
    assert float(term) == 0.0
    broken = {"click": torch.tensor([-2.0, 0.0]), "buy": torch.tensor([2.0, 0.0])}
    extra = model.extra_losses(broken)
    gap = torch.sigmoid(torch.tensor(2.0)) - torch.sigmoid(torch.tensor(-2.0))
    assert set(extra) == {"buy"}
    assert torch.isclose(extra["buy"], 0.6 * gap / 2)
    assert build("aitm", aitm_calibrator=0.0).extra_losses(broken) == {}


def test_aitm_funnel_follows_the_config_order_and_transfers_along_it():
    tasks = [TASKS[1], TASKS[2], TASKS[0]]  # buy, rating, click: the binary order is buy -> click
    torch.manual_seed(0)
    model = build_model("aitm", FEATURES, tasks, cfg())
    assert model.funnel == ["buy", "click"]
    cat, num = tensors(make_data(16))
    model.record_gates = True
    out = model(cat, num)
    w = model.last_attention["click"]
    assert w.shape == (16, 2) and torch.allclose(w.sum(1), torch.ones(16))
    # click reads buy's tower through the transfer; buy never reads click's
    g = torch.autograd.grad(out["click"].sum(), list(model.bottoms["buy"].parameters()), allow_unused=True)
    assert any(x is not None and x.abs().sum() > 0 for x in g)
    g = torch.autograd.grad(out["buy"].sum(), list(model.bottoms["click"].parameters()), allow_unused=True)
    assert all(x is None or x.abs().sum() == 0 for x in g)


@pytest.mark.parametrize("tasks", [[TASKS[0], TASKS[2]], [TASKS[2], TASKS[3]]])
def test_aitm_needs_two_binary_tasks(tasks):
    with pytest.raises(ConfigError, match="aitm architecture needs at least two binary tasks"):
        build_model("aitm", FEATURES, tasks, cfg())


def test_trainer_adds_the_architectures_extra_loss():
    """The calibrator reaches the gradient through the generic hook (no name check): with a
    huge weight, training pushes p(buy) below p(click) on every row."""
    from mtl_core.config import TrainConfig
    from mtl_core.training.trainer import Trainer

    data = make_data(400, seed=3)
    data.labels["buy"] = 1.0 - data.labels["click"]  # labels that break the funnel
    tasks = TASKS[:2]
    gaps = {}
    for weight in (0.0, 10.0):
        torch.manual_seed(0)
        model = build_model("aitm", FEATURES, tasks, cfg(aitm_calibrator=weight))
        Trainer(model, tasks, TrainConfig(epochs=15, batch_size=64, lr=0.02, patience=0, diagnostics=False,
                                          device="cpu")).fit(data)
        with torch.no_grad():
            out = model.eval()(*tensors(data))
        gaps[weight] = torch.relu(torch.sigmoid(out["buy"]) - torch.sigmoid(out["click"])).mean().item()
    assert gaps[10.0] < 0.5 * gaps[0.0], gaps


def test_towers_are_shared_building_blocks():
    assert isinstance(build("aitm").towers, Towers) and isinstance(build("cross_stitch").towers, Towers)
