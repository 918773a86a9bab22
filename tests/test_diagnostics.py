"""Gradient diagnostics and gate utilisation."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from mtl_core.config import ModelConfig
from mtl_core.models import MODELS, build_model
from mtl_core.training.diagnostics import cosine_matrix, gate_utilisation, task_gradient_stats
from mtl_core.types import FeatureSpec, TaskInfo

torch.set_num_threads(1)
FEATURES = FeatureSpec(["u"], [5], ["x"])
TASKS = [TaskInfo("a", "binary"), TaskInfo("b", "binary"), TaskInfo("c", "regression")]


class Shared(nn.Module):
    """A shared tanh layer (its output is the shared representation) and one head."""

    def __init__(self, shared: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Linear(4, 3)
        self.head = nn.Linear(3, 1)
        self.representation = "tanh(body(x))" if shared else None
        self.rep = []

    def forward(self, x):
        h = torch.tanh(self.body(x))
        self.rep = [h] if self.representation else []
        return self.head(h).squeeze(-1)

    def shared_representation(self):
        return self.rep


def _x():
    return torch.randn(16, 4, generator=torch.Generator().manual_seed(1))


def test_identical_tasks_have_cosine_one():
    m = Shared()
    y = m(_x())
    loss = (y ** 2).mean()
    s = task_gradient_stats(m, {"a": loss, "b": loss * 1.0}, ["a", "b"])
    assert s["cosine"]["a|b"] == pytest.approx(1.0, abs=1e-5)


def test_opposite_tasks_have_cosine_minus_one():
    m = Shared()
    loss = (m(_x()) ** 2).mean()
    s = task_gradient_stats(m, {"a": loss, "b": -2.0 * loss}, ["a", "b"])
    assert s["cosine"]["a|b"] == pytest.approx(-1.0, abs=1e-5)


def test_grad_norms_are_taken_on_the_shared_representation_and_leave_grads_alone():
    m = Shared()
    out = m(_x())
    losses = {"a": (out ** 2).mean(), "b": (out - 1).abs().mean(), "c": out.mean()}
    s = task_gradient_stats(m, losses, ["a", "b", "c"])
    assert set(s["cosine"]) == {"a|b", "a|c", "b|c"}
    for t, loss in losses.items():
        (g,) = torch.autograd.grad(loss, m.rep, retain_graph=True)
        assert s["grad_norm"][t] == pytest.approx(float(g.norm()), rel=1e-5)
    assert all(p.grad is None for p in m.parameters())


def test_no_shared_representation_gives_empty_stats():
    m = Shared(shared=False)
    loss = m(_x()).mean()
    assert task_gradient_stats(m, {"a": loss}, ["a"]) == {"grad_norm": {}, "cosine": {}}


@pytest.mark.parametrize("name", MODELS.names())
def test_stats_on_every_registered_architecture(name):
    model = build_model(name, FEATURES, TASKS, ModelConfig(n_experts=3, levels=2))
    if getattr(model, "is_sklearn", False):
        assert model.shared_representation() == [] and model.representation is None
        return
    cat, num = torch.randint(0, 5, (6, 1)), torch.randn(6, 1)
    out = model(cat, num)
    losses = {"a": out["a"].sigmoid().mean(), "b": -out["b"].sigmoid().mean(), "c": ((out["c"] - 1) ** 2).mean()}
    s = task_gradient_stats(model, losses, ["a", "b", "c"])
    if model.representation is None:
        assert s == {"grad_norm": {}, "cosine": {}}
        return
    assert set(s["grad_norm"]) == {"a", "b", "c"} and all(v > 0 for v in s["grad_norm"].values())
    assert set(s["cosine"]) == {"a|b", "a|c", "b|c"} and all(-1.0 <= v <= 1.0 for v in s["cosine"].values())


def test_cosine_matrix_matches_manual():
    G = torch.randn(3, 7, generator=torch.Generator().manual_seed(2))
    C = cosine_matrix(G)
    assert C.shape == (3, 3)
    assert torch.allclose(C.diagonal(), torch.ones(3), atol=1e-6)
    manual = float(G[0] @ G[2] / (G[0].norm() * G[2].norm()))
    assert float(C[0, 2]) == pytest.approx(manual, abs=1e-6)
    assert torch.allclose(C, C.T)


class Gated(nn.Module):
    """Two tasks, three experts, softmax gates; gates stored when ``record_gates``."""

    has_gates = True

    def __init__(self) -> None:
        super().__init__()
        self.gates = nn.ModuleDict({t: nn.Linear(2, 3) for t in ("a", "b")})
        self.record_gates = False
        self.last_gates = {}

    def forward(self, cat, num):
        out = {}
        for t, g in self.gates.items():
            w = torch.softmax(g(num), dim=-1)  # [B, 3]
            if self.record_gates:
                self.last_gates[t] = w.detach()
            out[t] = w.sum(-1)
        return out

    def gate_weights(self):
        return dict(self.last_gates)


def test_gate_utilisation_rows_sum_to_one_and_state_restored():
    m = Gated().train()
    cat = torch.zeros(8, 0, dtype=torch.long)
    num = torch.randn(8, 2)
    u = gate_utilisation(m, cat, num)
    assert set(u) == {"a", "b"}
    for row in u.values():
        assert len(row) == 3 and sum(row) == pytest.approx(1.0, abs=1e-5)
    assert m.training and m.record_gates is False


def test_gate_utilisation_empty_for_gateless_model():
    assert gate_utilisation(Shared(), torch.zeros(2, 0), torch.randn(2, 4)) == {}


@pytest.mark.parametrize("name", [n for n in MODELS.names() if MODELS.get(n).has_gates])
def test_gate_utilisation_on_registered_gated_models(name):
    model = build_model(name, FEATURES, TASKS, ModelConfig(n_experts=3, levels=2))
    u = gate_utilisation(model, torch.randint(0, 5, (6, 1)), torch.randn(6, 1))
    assert u and all(sum(r) == pytest.approx(1.0, abs=1e-5) for r in u.values())
    assert model.training and model.record_gates is False
