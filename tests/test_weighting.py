"""Weighting methods: a registry-wide contract suite (every registered method is trained on
a toy 2-task model) plus one behaviour test per paper."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from mtl_core.config import TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.weighting import WEIGHTINGS, build_weighting

torch.set_num_threads(1)
TASKS = ["a", "b"]


# --------------------------------------------------------------------------- toy models
class Toy(nn.Module):
    """Shared tanh layer + one linear head per task; ``shared=False`` makes both heads read
    the input directly (no shared parameters, no shared representation)."""

    def __init__(self, d_in: int = 8, hidden: int = 16, tasks=TASKS, shared: bool = True) -> None:
        super().__init__()
        self.has_shared = shared
        self.representation = "tanh layer output" if shared else None
        self.shared = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh())
        d = hidden if shared else d_in
        self.heads = nn.ModuleDict({t: nn.Linear(d, 1) for t in tasks})
        self.rep = []

    def forward(self, x):
        z = self.shared(x) if self.has_shared else x
        self.rep = [z] if self.has_shared else []
        return {t: h(z).squeeze(-1) for t, h in self.heads.items()}

    def shared_parameters(self):
        return list(self.shared.parameters()) if self.has_shared else []

    def shared_representation(self):
        return self.rep

    def task_specific_parameters(self):
        return list(self.heads.parameters())


class Linear2(nn.Module):
    """Losses linear in a shared vector: task gradients on ``theta`` are set by hand."""

    def __init__(self, g: dict[str, torch.Tensor]) -> None:
        super().__init__()
        P = len(next(iter(g.values())))
        self.theta = nn.Parameter(torch.zeros(P))
        self.head = nn.ParameterDict({t: nn.Parameter(torch.ones(1)) for t in g})
        self.g = g

    def losses(self):
        return {t: g @ self.theta + (self.head[t] ** 2).sum() for t, g in self.g.items()}

    def shared_parameters(self):
        return [self.theta]

    def task_specific_parameters(self):
        return list(self.head.parameters())


def make_optimizer(model, weighting, lr, weight_decay=0.0):
    """As the trainer builds it: the model's parameters (with the run's weight decay) plus
    the weighting method's own parameter groups."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    for group in weighting.param_groups():
        opt.add_param_group(group)
    return opt


def make_data(n=256, d=8, seed=0, noise=(0.1, 0.1)):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen)
    u, v = torch.randn(d, generator=gen), torch.randn(d, generator=gen)
    ya = torch.tanh(x @ u / 3) * 2 + noise[0] * torch.randn(n, generator=gen)
    yb = torch.tanh(x @ v / 3) * 2 + noise[1] * torch.randn(n, generator=gen)
    return x, {"a": ya, "b": yb}


def mse_losses(model, x, y, scale=None):
    out = model(x)
    scale = scale or {}
    return {t: scale.get(t, 1.0) * ((out[t] - y[t]) ** 2).mean() for t in y}


def train(name, steps=150, lr=0.01, params=None, model=None, data=None, scale=None, epoch_every=10, seed=0, hook=None):
    torch.manual_seed(seed)
    model = model or Toy()
    x, y = data or make_data()
    w = build_weighting(name, list(y), TrainConfig(weighting=name, weighting_params=params or {}), "cpu")
    opt = make_optimizer(model, w, lr)
    first, totals, epoch, acc = None, [], 0, {t: 0.0 for t in y}
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        losses = mse_losses(model, x, y, scale)
        if first is None:
            first = {t: float(l.detach()) for t, l in losses.items()}
        totals.append(w.backward(losses, model))
        if hook:
            hook(step, w, model)
        opt.step()
        for t in y:
            acc[t] += float(losses[t].detach()) / epoch_every
        if (step + 1) % epoch_every == 0:
            w.on_epoch_end(epoch, acc)
            epoch, acc = epoch + 1, {t: 0.0 for t in y}
    last = {t: float(l.detach()) for t, l in mse_losses(model, x, y, scale).items()}
    return w, model, first, last, totals


# --------------------------------------------------------------------------- registry-wide
@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_method_trains_toy_model(name):
    w, _, first, last, totals = train(name)
    assert set(w.weights()) == set(TASKS)
    assert all(math.isfinite(v) for v in w.weights().values())
    assert all(torch.isfinite(t) and t.dim() == 0 and not t.requires_grad for t in totals)
    for t in TASKS:
        assert last[t] < 0.5 * first[t], (name, t, first, last)
    assert all(g.get("weight_decay") == 0.0 for g in w.param_groups())
    assert w.parameters() == [p for g in w.param_groups() for p in g["params"]]


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_method_without_shared_parameters(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w, _, first, last, _ = train(name, steps=60, model=Toy(shared=False))
    for t in TASKS:
        assert last[t] < first[t]
    said = [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)]
    if name == "gradnorm":  # nothing to balance: fixed weights, said once
        assert len(said) == 1 and "shares none" in said[0] and w.fallback == said[0]
        assert w.weights() == {"a": 1.0, "b": 1.0}
    else:
        assert not said


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_setting_is_a_parameter_the_method_reads(name):
    settings = WEIGHTINGS.info(name).settings
    w = build_weighting(name, TASKS, TrainConfig(), "cpu")
    assert w.hparams == {s.field: s.default for s in settings}
    for s in settings:
        assert s.kind in ("int", "float") and s.lo <= s.default <= s.hi
        assert build_weighting(name, TASKS, TrainConfig(weighting_params={s.field: s.hi}), "cpu").hparams[s.field] == s.hi
        with pytest.raises(ConfigError, match=s.field):
            build_weighting(name, TASKS, TrainConfig(weighting_params={s.field: s.hi + 1}), "cpu")
        if s.kind == "int":
            with pytest.raises(ConfigError, match="whole number"):
                build_weighting(name, TASKS, TrainConfig(weighting_params={s.field: s.lo + 0.5}), "cpu")


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_method_tolerates_a_task_without_gradient(name):
    model = Toy()
    x, y = make_data(n=32)
    w = build_weighting(name, TASKS, TrainConfig(weighting=name), "cpu")
    losses = mse_losses(model, x, y)
    losses["b"] = torch.zeros(())  # e.g. no labelled row of task b in this batch
    total = w.backward(losses, model)
    assert torch.isfinite(total)
    assert model.heads["a"].weight.grad is not None


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_method_has_paper_docstring(name):
    import sys

    cls = WEIGHTINGS.get(name)
    doc = sys.modules[cls.__module__].__doc__ or ""
    assert len(doc.strip()) > 40, f"{name}: module docstring should name the paper and the method"


@pytest.mark.parametrize("name,param", [("gradnorm", "alpha"), ("dwa", "temperature"), ("cagrad", "c")])
def test_invalid_hyper_parameter_names_itself(name, param):
    with pytest.raises(ConfigError, match=param):
        build_weighting(name, TASKS, TrainConfig(weighting_params={param: -1.0}), "cpu")


# --------------------------------------------------------------------------- PCGrad
def _run_linear(name, g, params=None):
    model = Linear2(g)
    w = build_weighting(name, list(g), TrainConfig(weighting_params=params or {}), "cpu")
    w.backward(model.losses(), model)
    return w, model


def test_pcgrad_projects_conflicting_gradients():
    ga, gb = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([-1.0, 1.0, -0.5])
    assert ga @ gb < 0
    _, model = _run_linear("pcgrad", {"a": ga, "b": gb})
    pa = ga - (ga @ gb) / (gb @ gb) * gb
    pb = gb - (gb @ ga) / (ga @ ga) * ga
    assert torch.allclose(model.theta.grad, pa + pb, atol=1e-6)
    # projected gradients do not conflict with the other task; the sum does not conflict
    assert pa @ gb >= -1e-6 and pb @ ga >= -1e-6
    assert model.theta.grad @ ga >= -1e-6 and model.theta.grad @ gb >= -1e-6
    # heads get their ordinary gradient d(head^2)/dhead = 2
    assert torch.allclose(model.head["a"].grad, torch.tensor([2.0]))


def test_pcgrad_keeps_agreeing_gradients():
    ga, gb = torch.tensor([1.0, 0.5, 0.0]), torch.tensor([0.5, 1.0, 1.0])
    _, model = _run_linear("pcgrad", {"a": ga, "b": gb})
    assert torch.allclose(model.theta.grad, ga + gb)


# --------------------------------------------------------------------------- MGDA
def test_mgda_two_tasks_closed_form():
    ga, gb = torch.tensor([1.0, 0.0]), torch.tensor([-0.5, 1.0])
    w, model = _run_linear("mgda", {"a": ga, "b": gb})
    gamma = float(((gb - ga) @ gb) / ((ga - gb) @ (ga - gb)))
    assert 0 < gamma < 1
    assert w.weights() == pytest.approx({"a": gamma, "b": 1 - gamma}, abs=1e-6)
    d = gamma * ga + (1 - gamma) * gb
    assert torch.allclose(model.theta.grad, d, atol=1e-6)
    # min-norm point: orthogonal to the segment between the two gradients
    assert abs(float(d @ (ga - gb))) < 1e-5


def test_mgda_dominated_gradient_picks_the_smaller():
    w, model = _run_linear("mgda", {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([3.0, 0.0])})
    assert w.weights() == pytest.approx({"a": 1.0, "b": 0.0}, abs=1e-6)


def test_mgda_frank_wolfe_matches_grid_for_three_tasks():
    from mtl_core.weighting.mgda import min_norm_weights

    G = torch.tensor([[1.0, 0.2, 0.0], [-0.4, 1.0, 0.3], [0.1, -0.6, 1.0]])
    lam = min_norm_weights(G @ G.T, iters=200)
    assert float(lam.sum()) == pytest.approx(1.0, abs=1e-5) and float(lam.min()) >= -1e-6
    best = min(float(((torch.tensor([i, j, 100 - i - j]) / 100.0) @ G).norm())
               for i in range(101) for j in range(101 - i))
    assert float((lam @ G).norm()) <= best + 1e-3


# --------------------------------------------------------------------------- CAGrad
def test_cagrad_with_c_zero_is_the_average_gradient():
    ga, gb = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([-1.0, 1.0, -0.5])
    _, model = _run_linear("cagrad", {"a": ga, "b": gb}, {"c": 0.0})
    assert torch.allclose(model.theta.grad, (ga + gb) / 2, atol=1e-6)


def test_cagrad_improves_the_worst_task():
    from mtl_core.weighting.cagrad import cagrad_combine

    G = torch.tensor([[1.0, 0.0], [-0.8, 0.3]])
    g0 = G.mean(0)
    assert float((G @ g0).min()) < 0  # the average hurts task b
    d = cagrad_combine(G, c=0.5) * (1 + 0.5 ** 2)  # undo the rescale: direction within the ball
    assert float((d - g0).norm()) <= 0.5 * float(g0.norm()) + 1e-5
    assert float((G @ d).min()) > float((G @ g0).min())


def test_cagrad_dual_matches_grid():
    from mtl_core.weighting.cagrad import cagrad_dual

    G = torch.tensor([[1.0, 0.0, 0.5], [-0.7, 0.4, 0.1]])
    c = 0.5
    g0 = G.mean(0)

    def F(x):
        gw = x @ G
        return float(gw @ g0 + c * g0.norm() * gw.norm())

    x = cagrad_dual(G @ G.T, c, iters=200)
    grid = min(F(torch.tensor([i / 1000, 1 - i / 1000])) for i in range(1001))
    assert F(x) <= grid + 1e-3


# --------------------------------------------------------------------------- GradNorm
def test_gradnorm_balances_weighted_gradient_norms():
    scale = {"a": 1.0, "b": 10.0}
    spreads = []
    w, *_ = train("gradnorm", steps=200, lr=0.005, scale=scale,
                  hook=lambda s, w, m: spreads.append(float(w.last_grad_norms.max() / w.last_grad_norms.min())))
    assert spreads[0] > 5  # the 10x loss scale shows in the gradient norms at the start
    assert spreads[-1] < 0.5 * spreads[0]
    assert w.weights()["a"] > w.weights()["b"]
    assert sum(w.weights().values()) == pytest.approx(2.0, abs=1e-4)

    # Fixed weights on the same problem keep the spread
    from mtl_core.weighting.base import Weighting
    fixed_spread = []

    def fixed_hook(step, wf, model):
        if step == 199:
            x, y = make_data()
            n = Weighting.representation_gradients(mse_losses(model, x, y, scale), TASKS, model).norm(dim=1)
            fixed_spread.append(float(n.max() / n.min()))

    train("fixed", steps=200, lr=0.005, scale=scale, hook=fixed_hook)
    assert spreads[-1] < fixed_spread[0]


def test_gradnorm_has_no_trainer_parameters_and_default_alpha():
    w = build_weighting("gradnorm", TASKS, TrainConfig(), "cpu")
    assert w.param_groups() == [] and w.parameters() == [] and w.alpha == 1.5
    assert w.weights() == {"a": 1.0, "b": 1.0}


def test_gradnorm_refuses_losses_from_an_older_forward_pass():
    from mtl_core.errors import TrainingError

    model = Toy()
    x, y = make_data(n=32)
    losses = mse_losses(model, x, y)
    with torch.no_grad():
        model(x)  # a later forward pass replaces the recorded representation
    model.rep = [torch.zeros(32, 16, requires_grad=True)]
    with pytest.raises(TrainingError, match="last forward pass"):
        build_weighting("gradnorm", TASKS, TrainConfig(), "cpu").backward(losses, model)


# --------------------------------------------------------------------------- Uncertainty
def test_uncertainty_learns_noise_variances():
    data = make_data(n=2048, noise=(0.1, 1.0), seed=1)
    w, _, _, last, _ = train("uncertainty", steps=400, lr=0.03, data=data)
    var = {t: 1.0 / v for t, v in w.weights().items()}  # exp(s_t)
    assert var["b"] > 10 * var["a"]  # noisier task -> larger variance
    assert 0.5 < var["b"] < 2.0  # ~ noise variance 1.0
    for t in TASKS:  # optimum of exp(-s) L + s is exp(s) = L
        assert 0.5 < var[t] / last[t] < 2.0
    assert w.weights()["a"] > w.weights()["b"]
    assert w.parameters() == [w.log_vars]


def test_uncertainty_log_variances_get_no_weight_decay():
    """The optimum of exp(-s) L + s is s = log L; the model's weight decay must not pull s to 0."""
    model = Toy()
    w = build_weighting("uncertainty", TASKS, TrainConfig(weight_decay=1.0), "cpu")
    opt = make_optimizer(model, w, lr=0.05, weight_decay=1.0)
    assert [g["weight_decay"] for g in opt.param_groups] == [1.0, 0.0]
    target = {"a": 4.0, "b": 0.25}
    for _ in range(600):
        opt.zero_grad(set_to_none=True)
        z = sum(p.sum() for p in model.parameters()) * 0.0  # constant losses that still reach the model
        w.backward({t: v + z for t, v in target.items()}, model)
        opt.step()
    s = dict(zip(TASKS, w.log_vars.detach().tolist()))
    assert s == pytest.approx({t: math.log(v) for t, v in target.items()}, abs=0.05)


# --------------------------------------------------------------------------- DWA
def test_dwa_weights_follow_loss_descent_rate():
    w = build_weighting("dwa", TASKS, TrainConfig(), "cpu")
    assert w.weights() == {"a": 1.0, "b": 1.0}
    w.on_epoch_end(0, {"a": 1.0, "b": 1.0})
    assert w.weights() == {"a": 1.0, "b": 1.0}  # equal for the first two epochs
    w.on_epoch_end(1, {"a": 0.5, "b": 0.9})  # a falls faster than b
    wt = w.weights()
    assert wt["b"] > wt["a"]
    ea, eb = math.exp(0.5 / 2), math.exp(0.9 / 2)
    assert wt == pytest.approx({"a": 2 * ea / (ea + eb), "b": 2 * eb / (ea + eb)}, rel=1e-5)
    # the loss uses those weights
    total = w.combine({"a": torch.tensor(1.0), "b": torch.tensor(1.0)})
    assert float(total) == pytest.approx(2.0, rel=1e-5)
