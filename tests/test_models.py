"""Registry-wide architecture tests: every name in ``MODELS`` runs every applicable check,
so a newly registered architecture is tested the moment it is registered."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from mtl_core.config import ModelConfig
from mtl_core.errors import ConfigError
from mtl_core.models import MODELS, build_model
from mtl_core.models.base import FeatureEmbedding
from mtl_core.types import EncodedSplit, FeatureSpec, TaskInfo

torch.set_num_threads(1)

ARCHS = MODELS.names()
FEATURES = FeatureSpec(cat_names=["user", "item"], cat_cardinalities=[7, 12], num_names=["price", "age"])
TASKS = [
    TaskInfo("click", "binary", 1, ["0", "1"]),
    TaskInfo("buy", "binary", 1, ["0", "1"]),
    TaskInfo("rating", "regression", 1),
    TaskInfo("segment", "multiclass", 3, ["a", "b", "c"]),
]
SHAPES = {"click": (), "buy": (), "rating": (), "segment": (3,)}


def cfg(**kw) -> ModelConfig:
    base = dict(embed_dim=4, hidden=[16], tower_hidden=[8], n_experts=3, n_shared_experts=2,
                n_task_experts=1, levels=2, sk_max_iter=300)
    base.update(kw)
    return ModelConfig(**base)


def is_sklearn(name: str) -> bool:
    return bool(getattr(MODELS.get(name), "is_sklearn", False))


def torch_archs() -> list[str]:
    return [n for n in ARCHS if not is_sklearn(n)]


def make_data(n: int, seed: int = 0) -> EncodedSplit:
    """Planted signal: click/buy/rating/segment depend on field ``user`` and feature ``price``."""
    rng = np.random.default_rng(seed)
    w = np.array([-2.0, -1.5, -0.5, 0.0, 0.5, 1.5, 2.0])  # per user index (fixed across seeds)
    cat = np.stack([rng.integers(0, 7, n), rng.integers(0, 12, n)], axis=1).astype(np.int64)
    num = rng.normal(size=(n, 2)).astype(np.float32)
    score = w[cat[:, 0]] + 1.5 * num[:, 0]
    click = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(np.float32)
    buy = click * (rng.random(n) < 1 / (1 + np.exp(-(score - 0.5)))).astype(np.float32)
    rating = (score + 0.3 * rng.normal(size=n)).astype(np.float32)
    segment = np.digitize(score, [-1.0, 1.0]).astype(np.float32)
    rating[:20] = np.nan  # missing labels are masked
    return EncodedSplit(cat=cat, num=num, labels={"click": click, "buy": buy, "rating": rating,
                                                   "segment": segment}, index=np.arange(n))


def tensors(split: EncodedSplit):
    return torch.from_numpy(split.cat), torch.from_numpy(split.num)


def task_loss(out: dict, split: EncodedSplit, t: TaskInfo) -> torch.Tensor:
    """Masked loss of task ``t`` (BCE, MSE or cross-entropy over its labelled rows)."""
    y = torch.from_numpy(split.labels[t.name])
    m = ~torch.isnan(y)
    if t.kind == "binary":
        return torch.nn.functional.binary_cross_entropy_with_logits(out[t.name][m], y[m])
    if t.kind == "regression":
        return torch.nn.functional.mse_loss(out[t.name][m], y[m])
    return torch.nn.functional.cross_entropy(out[t.name][m], y[m].long())


def total_loss(out: dict, split: EncodedSplit) -> torch.Tensor:
    return sum(task_loss(out, split, t) for t in TASKS)


def build(name: str, seed: int = 0, **kw):
    torch.manual_seed(seed)
    return build_model(name, FEATURES, TASKS, cfg(**kw))


def test_registry_lists_every_documented_architecture():
    assert {"linear", "single", "shared_bottom", "mmoe", "ple", "esmm", "aitm", "cross_stitch", "sklearn"} <= set(ARCHS)


@pytest.mark.parametrize("name", ARCHS)
def test_outputs_every_task_with_the_right_shape(name):
    data = make_data(64)
    model = build(name)
    if is_sklearn(name):
        pred = model.fit(data).predict(data)
        assert model.shared_parameters() == []
        for t in TASKS:
            assert pred[t.name].shape == (64, *SHAPES[t.name])
            assert np.isfinite(pred[t.name]).all()
        assert np.allclose(pred["segment"].sum(1), 1.0)
        assert ((pred["click"] >= 0) & (pred["click"] <= 1)).all()
        return
    out = model(*tensors(data))
    assert set(out) == {t.name for t in TASKS}
    for t in TASKS:
        assert out[t.name].shape == (64, *SHAPES[t.name]), t.name
        assert torch.isfinite(out[t.name]).all()


@pytest.mark.parametrize("name", torch_archs())
def test_backpropagates_finite_gradients_to_every_parameter(name):
    data = make_data(64)
    model = build(name, dropout=0.1)
    total_loss(model(*tensors(data)), data).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: {pname} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"


@pytest.mark.parametrize("name", torch_archs())
def test_shared_and_task_parameters_partition_the_model(name):
    model = build(name)
    shared = {id(p) for p in model.shared_parameters()}
    specific = {id(p) for p in model.task_specific_parameters()}
    every = {id(p) for p in model.parameters()}
    assert not shared & specific
    assert shared | specific == every
    if name == "single":
        assert not shared
    if not shared:
        return
    # every shared parameter is reached by every task's output
    cat, num = tensors(make_data(32))
    out = model(cat, num)
    for t in TASKS:
        grads = torch.autograd.grad(out[t.name].sum(), model.shared_parameters(), retain_graph=True,
                                    allow_unused=True)
        assert all(g is not None for g in grads), f"{name}: a shared parameter is unused by {t.name}"


@pytest.mark.parametrize("name", ARCHS)
def test_learns_a_planted_signal(name):
    train, test = make_data(2000, seed=1), make_data(1000, seed=2)
    model = build(name)
    if is_sklearn(name):
        pred = model.fit(train).predict(test)
        p_click, p_buy, p_seg, r = pred["click"], pred["buy"], pred["segment"], pred["rating"]
    else:
        cat, num = tensors(train)
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        gen = torch.Generator().manual_seed(0)
        for _ in range(250):
            idx = torch.randint(0, len(train), (256,), generator=gen)
            batch = EncodedSplit(train.cat[idx], train.num[idx],
                                 {k: v[idx] for k, v in train.labels.items()}, idx.numpy())
            opt.zero_grad()
            total_loss(model(cat[idx], num[idx]), batch).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(*tensors(test))
        p_click, p_buy = torch.sigmoid(out["click"]).numpy(), torch.sigmoid(out["buy"]).numpy()
        p_seg = torch.softmax(out["segment"], -1).numpy()
        r = out["rating"].numpy()
    auc = roc_auc_score(test.labels["click"], p_click), roc_auc_score(test.labels["buy"], p_buy)
    assert min(auc) > 0.7, auc
    assert (p_seg.argmax(1) == test.labels["segment"]).mean() > 0.5  # chance is < 0.4
    ok = ~np.isnan(test.labels["rating"])
    assert np.corrcoef(r[ok], test.labels["rating"][ok])[0, 1] > 0.5


@pytest.mark.parametrize("name", [n for n in torch_archs() if MODELS.get(n).has_gates])
def test_gate_weights_are_distributions(name):
    model = build(name)
    cat, num = tensors(make_data(16))
    model(cat, num)
    assert model.gate_weights() == {}  # nothing recorded unless asked
    model.record_gates = True
    model(cat, num)
    gates = model.gate_weights()
    assert gates
    for t in TASKS:
        assert any(k == t.name or k.endswith("/" + t.name) for k in gates), t.name
    c = model.config
    width = c.n_experts if name == "mmoe" else c.n_task_experts + c.n_shared_experts if name == "ple" else None
    for key, w in gates.items():
        assert w.ndim == 2 and w.shape[0] == 16, key
        assert not w.requires_grad
        assert (w >= 0).all() and torch.allclose(w.sum(1), torch.ones(16), atol=1e-5)
        if width is not None:
            assert w.shape[1] == width
    if name == "ple":
        assert set(gates) == {f"level{l}/{t.name}" for l in range(c.levels) for t in TASKS}


@pytest.mark.parametrize("levels", [1, 3])
def test_ple_any_number_of_levels(levels):
    model = build("ple", levels=levels)
    data = make_data(8)
    total_loss(model(*tensors(data)), data).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert len(model.shared_gates) == levels - 1


@pytest.mark.parametrize("name", [n for n in torch_archs() if hasattr(MODELS.get(n), "conditional")])
def test_esmm_child_is_parent_times_conditional(name):
    model = build(name).eval()
    cat, num = tensors(make_data(50))
    with torch.no_grad():
        out, cond = model(cat, num), model.conditional(cat, num)
        assert set(cond) == {"buy"} and model.parent == "click"
        p_parent = torch.sigmoid(out["click"])
        assert torch.allclose(torch.sigmoid(out["buy"]), p_parent * cond["buy"], atol=1e-6)
    from mtl_core.models.esmm import logit_of_product

    a = torch.tensor([-60.0, -5.0, 0.0, 4.0, 30.0, 80.0], dtype=torch.float64)
    b = torch.tensor([-40.0, 3.0, 0.0, -2.0, 25.0, 80.0], dtype=torch.float64)
    got = torch.sigmoid(logit_of_product(a, b))
    assert torch.isfinite(logit_of_product(a.float(), b.float())).all()
    assert torch.allclose(got, torch.sigmoid(a) * torch.sigmoid(b), rtol=1e-6, atol=0)


def test_esmm_parent_choice_and_errors():
    assert build("esmm", esmm_parent="buy").parent == "buy"
    with pytest.raises(ConfigError, match="nope.*|click, buy"):
        build("esmm", esmm_parent="nope")
    with pytest.raises(ConfigError, match="rating"):
        build("esmm", esmm_parent="rating")
    with pytest.raises(ConfigError, match="two binary"):
        build_model("esmm", FEATURES, [TASKS[0], TASKS[2]], cfg())


@pytest.mark.parametrize("scheme", ["xavier", "kaiming"])
@pytest.mark.parametrize("name", torch_archs())
def test_init_schemes(name, scheme):
    default = build(name, seed=3, init="default", embed_init_std=0.05)
    model = build(name, seed=3, init=scheme, embed_init_std=0.05)
    changed = False
    for (_, m0), (_, m) in zip(default.named_modules(), model.named_modules()):
        if isinstance(m, torch.nn.Linear):
            fan_out, fan_in = m.weight.shape
            bound = (6 / (fan_in + fan_out)) ** 0.5 if scheme == "xavier" else (6 / fan_in) ** 0.5
            assert m.weight.abs().max() <= bound + 1e-6
            assert (m.bias == 0).all()
            changed |= not torch.equal(m.weight, m0.weight)
        if isinstance(m, FeatureEmbedding):
            std = m.table.weight.std().item()
            assert 0.03 < std < 0.07, std
    assert changed


@pytest.mark.parametrize("name", ARCHS)
def test_same_seed_same_outputs(name):
    data = make_data(40)
    if is_sklearn(name):
        a, b = build(name).fit(data).predict(data), build(name).fit(data).predict(data)
        assert all(np.array_equal(a[k], b[k]) for k in a)
        return
    a, b = build(name, seed=7).eval(), build(name, seed=7).eval()
    with torch.no_grad():
        oa, ob = a(*tensors(data)), b(*tensors(data))
    assert all(torch.equal(oa[k], ob[k]) for k in oa)
    c = build(name, seed=8).eval()
    with torch.no_grad():
        assert any(not torch.equal(oa[k], v) for k, v in c(*tensors(data)).items())


@pytest.mark.parametrize("name", [n for n in ARCHS if is_sklearn(n)])
def test_sklearn_state_round_trips_through_json(name):
    train, test = make_data(300, seed=4), make_data(100, seed=5)
    model = build(name).fit(train)
    state = json.loads(json.dumps(model.state_dict_json()))
    cls = MODELS.get(name)
    restored = cls.from_state_json(state)
    in_place = build(name).from_state_json(state)
    want = model.predict(test)
    for other in (restored, in_place):
        got = other.predict(test)
        assert all(np.allclose(want[k], got[k]) for k in want)
    with pytest.raises(RuntimeError):
        build(name).predict(test)


@pytest.mark.parametrize("name", [n for n in ARCHS if is_sklearn(n)])
def test_sklearn_handles_absent_classes_and_unseen_categories(name):
    train, test = make_data(200, seed=6), make_data(50, seed=7)
    train.labels["segment"][:] = np.where(train.labels["segment"] == 2, 0, train.labels["segment"])
    test.cat[:, 1] = 99  # index never seen in training
    pred = build(name).fit(train).predict(test)
    assert pred["segment"].shape == (50, 3) and (pred["segment"][:, 2] == 0).all()
    assert np.allclose(pred["segment"].sum(1), 1.0)


# --------------------------------------------------------------------------- what an architecture declares
#: the shape of the shared representation each architecture declares, for batch size B (cfg() sizes)
REPRESENTATION_SHAPES = {
    "linear": lambda B, c: (B, 2 * c.embed_dim + 2),
    "shared_bottom": lambda B, c: (B, c.hidden[-1]),
    "esmm": lambda B, c: (B, c.hidden[-1]),
    "mmoe": lambda B, c: (B, c.n_experts, c.hidden[-1]),
    "ple": lambda B, c: (B, c.n_shared_experts, c.hidden[-1]),
    "aitm": lambda B, c: (B, 2 * c.embed_dim + 2),
    "cross_stitch": lambda B, c: (B, len(TASKS), c.hidden[-1]),
}


@pytest.mark.parametrize("name", ARCHS)
def test_shared_representation_is_declared_and_read_by_every_task(name):
    cls = MODELS.get(name)
    model = build(name)
    assert model.shared_representation() == []  # nothing before a forward pass
    if is_sklearn(name):
        assert cls.representation is None
        return
    cat, num = tensors(make_data(16))
    out = model(cat, num)
    rep = model.shared_representation()
    if cls.representation is None:
        assert rep == [] and not model.shared_parameters(), f"{name} shares parameters but declares no representation"
        return
    assert rep and all(isinstance(h, torch.Tensor) and h.requires_grad for h in rep)
    if name in REPRESENTATION_SHAPES:  # a newly registered architecture still gets the checks below
        assert tuple(rep[0].shape) == REPRESENTATION_SHAPES[name](16, model.config)
    for t in TASKS:
        grads = torch.autograd.grad(out[t.name].sum(), rep, retain_graph=True, allow_unused=True)
        assert all(g is not None for g in grads), f"{name}: task {t.name} does not read the shared representation"
    with torch.no_grad():
        model(cat, num)
    assert model.shared_representation() == []  # inference records nothing
    model.record_representation = False
    model(cat, num)
    assert model.shared_representation() == []


def test_representation_without_a_learnable_shared_layer_still_has_a_gradient():
    features = FeatureSpec(cat_names=[], cat_cardinalities=[], num_names=["price", "age"])
    model = build_model("linear", features, TASKS, cfg())
    num = torch.randn(8, 2)
    out = model(torch.zeros(8, 0, dtype=torch.long), num)
    (h,) = model.shared_representation()
    assert torch.equal(h, num) and h.requires_grad
    assert torch.autograd.grad(out["click"].sum(), h)[0].abs().sum() > 0


@pytest.mark.parametrize("name", ARCHS)
def test_settings_name_config_fields_with_valid_defaults_that_change_the_model(name):
    import dataclasses

    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(ModelConfig)}
    for s in MODELS.info(name).settings:
        assert s.field in defaults, f"{name}: setting {s.field} is not a ModelConfig field"
        assert s.kind in ("int", "float", "layers", "task")
        if s.kind != "task":
            assert s.default == defaults[s.field], f"{name}: {s.field} default differs from ModelConfig's"
        if s.kind in ("int", "float"):
            assert s.lo <= s.default <= s.hi
            for v in (s.lo, s.hi):
                ModelConfig(arch=name, **{s.field: v}).validate()  # the range is admissible
        assert _setting_changes_the_model(name, s), f"{name}: setting {s.field} has no effect"


def _setting_changes_the_model(name: str, s) -> bool:
    """Build ``name`` with the setting at its default and at another value: the parameters'
    shapes, the parent task, (dropout) the training-mode outputs or the architecture's own
    loss terms (``extra_losses``, e.g. AITM's calibrator weight) differ."""
    other = {"int": s.hi, "float": s.hi, "layers": [5, 3], "task": "buy"}[s.kind]
    data = make_data(200)
    a, b = build(name, seed=1, **{s.field: s.default}), build(name, seed=1, **{s.field: other})
    if is_sklearn(name):
        pa, pb = a.fit(data).predict(data), b.fit(data).predict(data)
        return any(not np.allclose(pa[k], pb[k]) for k in pa)
    if s.kind == "task":
        return (a.parent, b.parent) == (TASKS[0].name, other)
    shapes = [tuple(p.shape) for p in a.state_dict().values()], [tuple(p.shape) for p in b.state_dict().values()]
    if shapes[0] != shapes[1]:
        return True
    torch.manual_seed(0)
    oa = a.train()(*tensors(data))
    torch.manual_seed(0)
    ob = b.train()(*tensors(data))
    if any(not torch.equal(oa[k], ob[k]) for k in oa):
        return True
    torch.manual_seed(0)
    noisy = {k: 3 * torch.randn_like(v) for k, v in oa.items()}  # outputs any loss term reacts to
    ea, eb = a.extra_losses(noisy), b.extra_losses(noisy)
    return ea.keys() != eb.keys() or any(not torch.equal(ea[k], eb[k]) for k in ea)


@pytest.mark.parametrize("name", ARCHS)
def test_every_architecture_describes_its_diagram(name):
    d = MODELS.get(name).diagram(TASKS, cfg())
    ids = [b.id for b in d.boxes]
    assert len(ids) == len(set(ids)) and d.title
    assert {b.task for b in d.boxes if b.kind == "output"} == {t.name for t in TASKS}
    assert all(a in ids and b in ids for a, b in d.arrows)
    assert bool(d.representation) == (MODELS.get(name).representation is not None)


def test_esmm_is_shared_bottom_plus_the_product():
    from mtl_core.models.esmm import ESMM
    from mtl_core.models.shared_bottom import SharedBottom

    assert issubclass(ESMM, SharedBottom)
    esmm, sb = build("esmm", seed=4), build("shared_bottom", seed=4)
    assert esmm.state_dict().keys() == sb.state_dict().keys()
    assert all(torch.equal(v, sb.state_dict()[k]) for k, v in esmm.state_dict().items())


@pytest.mark.parametrize("name", torch_archs())
def test_gradnorm_measures_the_declared_shared_representation(name):
    from mtl_core.config import TrainConfig
    from mtl_core.weighting import build_weighting

    model = build(name)
    data = make_data(64)
    out = model(*tensors(data))
    losses = {t.name: task_loss(out, data, t) for t in TASKS}
    names = list(losses)
    w = build_weighting("gradnorm", names, TrainConfig(), "cpu")
    if MODELS.get(name).representation is None:
        with pytest.warns(RuntimeWarning, match="shares none"):
            w.backward(losses, model)
        assert w.weights() == dict.fromkeys(names, 1.0) and w.last_grad_norms is None
        return
    rep = model.shared_representation()
    manual = torch.stack([torch.sqrt(sum((g ** 2).sum() for g in torch.autograd.grad(losses[t], rep, retain_graph=True)))
                          for t in names])
    w.backward(losses, model)  # the initial weights are 1, so G_t = n_t
    assert torch.allclose(w.last_grad_norms, manual, rtol=1e-5), (w.last_grad_norms, manual)
    assert w.weights() != dict.fromkeys(names, 1.0)  # the weights moved
    assert all(p.grad is not None for p in model.shared_parameters())
