"""Trainer: masking, reproducibility, early stopping, cancel, divergence, optimizers,
full-batch gradient descent."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mtl_core.config import ModelConfig, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.models import build_model
from mtl_core.training.early_stopping import EarlyStopping, check_metric, metric_for_tasks
from mtl_core.training.optim import make_optimizer, training_parameters
from mtl_core.training.trainer import Trainer, predict, task_losses, to_tensors
from mtl_core.types import EncodedSplit, FeatureSpec, TaskInfo

torch.set_num_threads(1)

FEATURES = FeatureSpec(cat_names=["u", "i"], cat_cardinalities=[21, 31], num_names=["x0", "x1"])
TASKS = [TaskInfo("click", "binary"), TaskInfo("buy", "binary"), TaskInfo("amount", "regression")]


def make_split(n: int, seed: int, missing: float = 0.0) -> EncodedSplit:
    rng = np.random.default_rng(seed)
    cat = np.stack([rng.integers(1, 21, n), rng.integers(1, 31, n)], axis=1)
    num = rng.normal(size=(n, 2)).astype(np.float32)
    u_eff = np.linspace(-2, 2, 21)[cat[:, 0]]
    s = u_eff + 1.5 * num[:, 0]
    click = (rng.random(n) < 1 / (1 + np.exp(-s))).astype(np.float32)
    buy = (click * (rng.random(n) < 1 / (1 + np.exp(-(s - 1))))).astype(np.float32)
    amount = (2 * num[:, 1] + u_eff + rng.normal(scale=0.1, size=n)).astype(np.float32)
    labels = {"click": click, "buy": buy, "amount": amount}
    if missing:
        for k in labels:
            labels[k] = labels[k].copy()
            labels[k][rng.random(n) < missing] = np.nan
    return EncodedSplit(cat=cat, num=num, labels=labels, index=np.arange(n))


def fit(arch="shared_bottom", n=1500, epochs=3, seed=0, cb=None, cancel=None, **train_kw):
    torch.manual_seed(seed)
    model = build_model(arch, FEATURES, TASKS, ModelConfig(arch=arch, hidden=[16], tower_hidden=[8]))
    kw = {"batch_size": 256, "lr": 0.01, "lr_schedule": "constant", **train_kw}
    cfg = TrainConfig(epochs=epochs, seed=seed, device="cpu", **kw)
    tr = Trainer(model, TASKS, cfg)
    res = tr.fit(make_split(n, 1), make_split(400, 2), callback=cb, cancel=cancel)
    return tr, res


def test_masked_loss_ignores_missing_labels():
    out = {"click": torch.tensor([0.0, 5.0, -5.0]), "buy": torch.zeros(3), "amount": torch.tensor([1.0, 2.0, 3.0])}
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 100.0], [0.0, 0.0, 3.0]])
    mask = torch.tensor([[True, True, True], [False, True, False], [True, True, True]])
    losses = task_losses(out, y, mask, TASKS)
    ref_click = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([0.0, -5.0]), torch.tensor([1.0, 0.0]))
    assert torch.allclose(losses["click"], ref_click)
    # the row with amount label 100 is masked: only rows 0 and 2 count
    assert torch.allclose(losses["amount"], torch.tensor(((1 - 1) ** 2 + (3 - 3) ** 2) / 2.0))


def test_training_learns_and_reports_history():
    events = []
    tr, res = fit(epochs=4, cb=events.append)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == res.epochs_run == 4
    val = [h for h in res.history if h["split"] == "val" and h["task"] == "click"]
    assert val[-1]["auc"] > 0.75
    tr_loss = [h["loss"] for h in res.history if h["split"] == "train" and h["task"] == "amount"]
    assert tr_loss[-1] < tr_loss[0]
    assert res.samples_per_s > 0 and res.device == "cpu"


def test_same_seed_same_numbers_on_cpu():
    _, a = fit(seed=3)
    _, b = fit(seed=3)
    assert a.history == b.history
    _, c = fit(seed=4)
    assert a.history != c.history


def test_missing_labels_train_without_nan():
    torch.manual_seed(0)
    model = build_model("mmoe", FEATURES, TASKS, ModelConfig(arch="mmoe", hidden=[8], tower_hidden=[4]))
    res = Trainer(model, TASKS, TrainConfig(epochs=2, batch_size=128, device="cpu")).fit(
        make_split(800, 1, missing=0.4), make_split(200, 2, missing=0.4))
    assert res.stopped == "completed"
    assert all(np.isfinite(h["loss"]) for h in res.history)


def test_cancel_stops_between_batches_and_keeps_weights():
    cancel = threading.Event()

    def cb(ev):
        if ev.kind == "epoch" and ev.epoch == 1:
            cancel.set()

    tr, res = fit(epochs=10, cb=cb, cancel=cancel)
    assert res.stopped == "cancelled" and res.epochs_run == 1
    p = predict(tr.model, make_split(50, 5), TASKS)
    assert np.isfinite(p["click"]).all()


def test_early_stopping_restores_best_weights():
    # lr far too high for SGD on a regression target: validation loss gets worse quickly
    tr, res = fit(epochs=30, patience=2, early_stopping_metric="loss")
    assert res.stopped in ("early_stopping", "completed")
    val = {}
    for h in res.history:
        if h["split"] == "val":
            val.setdefault(h["epoch"], []).append(h["loss"])
    means = {e: np.mean(v) for e, v in val.items()}
    assert res.best_epoch == min(means, key=means.get)
    if res.stopped == "early_stopping":
        assert res.epochs_run == res.best_epoch + 2


def test_auc_early_stopping_direction():
    _, res = fit(epochs=5, patience=0, early_stopping_metric="auc:click")
    aucs = {h["epoch"]: h["auc"] for h in res.history if h["split"] == "val" and h["task"] == "click"}
    assert res.best_epoch == max(aucs, key=aucs.get)


def test_divergence_names_task_and_keeps_last_good_weights():
    _, res = fit(epochs=5, optimizer="sgd", lr=5.0, patience=0)
    if res.stopped != "diverged":  # some seeds survive; force with a larger rate
        _, res = fit(epochs=5, optimizer="sgd", lr=1e6, patience=0)
    assert res.stopped == "diverged"
    assert "NaN or infinite" in res.message and "epoch" in res.message and "learning rate" in res.message


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "adamw"])
def test_every_optimizer_trains(opt):
    _, res = fit(epochs=2, optimizer=opt, lr=0.05 if opt.startswith(("sgd", "mom")) else 0.01)
    assert res.stopped == "completed"


def test_full_batch_is_gradient_descent():
    """With the whole training set in one batch, an SGD epoch is exactly one gradient step
    on the full training loss: theta - lr * grad(sum_t mean loss_t over all rows)."""
    torch.manual_seed(0)
    model = build_model("shared_bottom", FEATURES, TASKS, ModelConfig(arch="shared_bottom", hidden=[16], tower_hidden=[8]))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    train = make_split(700, 1, missing=0.2)
    cfg = TrainConfig(epochs=1, batch_size=10**6, optimizer="sgd", lr=0.5, device="cpu", patience=0, seed=0)
    events = []
    res = Trainer(model, TASKS, cfg).fit(train, make_split(100, 2), callback=events.append)
    assert [e.steps for e in events if e.kind == "epoch"] == [1]

    ref = build_model("shared_bottom", FEATURES, TASKS, ModelConfig(arch="shared_bottom", hidden=[16], tower_hidden=[8]))
    ref.load_state_dict(start)
    t = to_tensors(train, [t.name for t in TASKS], torch.device("cpu"))
    losses = task_losses(ref(t.cat, t.num), t.y, t.mask, TASKS)
    sum(losses.values()).backward()
    with torch.no_grad():
        expected = {k: p - 0.5 * p.grad for k, p in ref.named_parameters()}
    got = dict(model.named_parameters())
    moved = 0
    for k, p in expected.items():
        assert torch.allclose(got[k], p, atol=1e-6, rtol=1e-5), k
        moved += not torch.allclose(p, start[k])
    assert moved > 0  # the step did change the weights
    # the epoch's reported training loss is the full-batch loss before the step
    train_loss = {h["task"]: h["loss"] for h in res.history if h["split"] == "train"}
    assert train_loss == pytest.approx({k: float(v.detach()) for k, v in losses.items()}, rel=1e-5)


# --------------------------------------------------------------------------- early stopping
def test_early_stopping_object_tracks_the_best_epoch_and_stops_after_patience():
    es = EarlyStopping("auc:click", patience=2)
    val_loss = {"click": 0.5}
    decisions = [es.update(e, val_loss, {"click": {"auc": auc}}, state=f"state{e}")
                 for e, auc in enumerate([0.70, 0.75, 0.74, 0.75, 0.73], start=1)]
    assert [d.improved for d in decisions] == [True, True, False, False, False]
    assert [d.stop for d in decisions] == [False, False, False, True, True]
    assert es.best_epoch == 2 and es.best_state == "state2" and es.best_score == 0.75
    # a loss is minimised; patience 0 never stops
    es = EarlyStopping("loss", patience=0)
    for e, loss in enumerate([0.9, 0.8, 0.85, 0.95, 0.99], start=1):
        assert not es.update(e, {"a": loss, "b": loss}, {}).stop
    assert es.best_epoch == 2
    # without a validation value the epoch is scored by the training loss
    es = EarlyStopping("auc", patience=1)
    assert es.update(1, {}, {}, train_loss={"a": 0.5}).improved
    assert es.update(2, {}, {}, train_loss={"a": 0.4}).improved
    assert es.update(3, {}, {}, train_loss={"a": 0.45}).stop


@pytest.mark.parametrize("metric,needles", [
    ("aucc", ["aucc", "loss, auc, rmse, accuracy"]),
    ("auc:", ["auc:"]),
    ("loss:nope", ["nope", "click, buy, amount"]),
    ("auc:nope", ["nope", "click, buy, amount"]),
    ("auc:amount", ["auc:amount", "regression", "rmse:amount"]),
    ("accuracy", ["accuracy", "auc:click", "rmse:amount"]),
])
def test_bad_early_stopping_metric_is_a_config_error_before_training(metric, needles):
    model = build_model("shared_bottom", FEATURES, TASKS, ModelConfig(arch="shared_bottom", hidden=[8], tower_hidden=[4]))
    with pytest.raises(ConfigError) as exc:
        Trainer(model, TASKS, TrainConfig(epochs=1, device="cpu", early_stopping_metric=metric).validate())
    for n in needles:
        assert n in str(exc.value), (n, str(exc.value))
    assert "train.early_stopping_metric" in str(exc.value)


@pytest.mark.parametrize("metric", ["loss", "loss:amount", "auc", "auc:buy", "rmse", "rmse:amount"])
def test_good_early_stopping_metrics_are_accepted(metric):
    TrainConfig(early_stopping_metric=metric).validate()
    check_metric(metric, TASKS)


def test_metric_for_a_subset_of_the_tasks_falls_back_to_the_loss():
    """Single-task reference models (the lab) keep the run's metric when it applies to
    their task and use the validation loss otherwise, instead of failing."""
    click, buy, amount = TASKS
    assert metric_for_tasks("auc:click", [click]) == "auc:click"
    assert metric_for_tasks("auc", [buy]) == "auc"
    assert metric_for_tasks("auc:click", [buy]) == "loss"
    assert metric_for_tasks("auc", [amount]) == "loss"
    assert metric_for_tasks("rmse:amount", [amount]) == "rmse:amount"


# --------------------------------------------------------------------------- optimizer
class _GroupedWeighting:
    """A weighting method exposing parameter groups (as uncertainty weighting may)."""

    def __init__(self):
        self.log_vars = torch.nn.Parameter(torch.zeros(3))

    def parameters(self):
        raise AssertionError("param_groups() takes precedence over parameters()")

    def param_groups(self):
        return [{"params": [self.log_vars], "weight_decay": 0.0}]


class _PlainWeighting:
    def __init__(self):
        self.log_vars = torch.nn.Parameter(torch.zeros(3))

    def parameters(self):
        return [self.log_vars]


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "adamw"])
def test_optimizer_takes_the_weighting_methods_parameter_groups(opt):
    model = build_model("shared_bottom", FEATURES, TASKS, ModelConfig(arch="shared_bottom", hidden=[8], tower_hidden=[4]))
    cfg = TrainConfig(optimizer=opt, weight_decay=0.1)
    w = _GroupedWeighting()
    optim = make_optimizer(training_parameters(model, w), cfg)
    decay = {id(p): g["weight_decay"] for g in optim.param_groups for p in g["params"]}
    assert decay[id(w.log_vars)] == 0.0
    assert all(decay[id(p)] == 0.1 for p in model.parameters())
    assert len(decay) == len(list(model.parameters())) + 1
    # without param_groups(): one group, the config's weight decay for everything
    plain = _PlainWeighting()
    optim = make_optimizer(training_parameters(model, plain), cfg)
    assert len(optim.param_groups) == 1 and optim.param_groups[0]["weight_decay"] == 0.1
    assert any(p is plain.log_vars for p in optim.param_groups[0]["params"])


def test_to_tensors_masks_nan():
    s = make_split(10, 0, missing=0.5)
    t = to_tensors(s, ["click", "buy", "amount"], torch.device("cpu"))
    assert torch.equal(t.mask, torch.from_numpy(~np.isnan(s.label_matrix(["click", "buy", "amount"]))))
    assert torch.isfinite(t.y).all()
