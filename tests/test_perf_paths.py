"""Performance code paths that must stay correct (and are exercised here on CPU because
CI has no GPU): bf16 autocast, no host sync per batch, tensors on the requested device,
fused optimizer, the fused expert/gate/embedding forms matching the plain formulas, and
the Ali-CCP-shaped benchmark generator."""
from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_core.config import ModelConfig, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.models import build_model
from mtl_core.weighting import WEIGHTINGS
from mtl_core.training.trainer import Trainer, make_optimizer, masked_loss_sums, task_losses, to_tensors
from mtl_core.types import EncodedSplit, FeatureSpec, TaskInfo

torch.set_num_threads(1)

FEATURES = FeatureSpec(cat_names=["u", "i", "c"], cat_cardinalities=[21, 31, 5], num_names=["x0", "x1"])
TASKS = [TaskInfo("click", "binary"), TaskInfo("buy", "binary")]


def make_split(n: int, seed: int) -> EncodedSplit:
    rng = np.random.default_rng(seed)
    cat = np.stack([rng.integers(0, 21, n), rng.integers(0, 31, n), rng.integers(0, 5, n)], axis=1)
    num = rng.normal(size=(n, 2)).astype(np.float32)
    s = np.linspace(-2, 2, 21)[cat[:, 0]] + 1.5 * num[:, 0]
    click = (rng.random(n) < 1 / (1 + np.exp(-s))).astype(np.float32)
    buy = (click * (rng.random(n) < 0.4)).astype(np.float32)
    return EncodedSplit(cat=cat, num=num, labels={"click": click, "buy": buy}, index=np.arange(n))


def mmoe(seed=0, **kw):
    torch.manual_seed(seed)
    cfg = ModelConfig(arch="mmoe", embed_dim=4, hidden=[8], tower_hidden=[4], n_experts=3, **kw)
    return build_model("mmoe", FEATURES, TASKS, cfg)


def test_amp_config_is_validated():
    assert TrainConfig(amp=True).validate().amp is True
    with pytest.raises(ConfigError, match="train.amp"):
        TrainConfig(amp="yes").validate()


def test_bf16_autocast_path_trains_on_cpu():
    cfg = TrainConfig(epochs=1, batch_size=128, lr=0.01, device="cpu", amp=True, diagnostics=False, patience=0)
    model = mmoe()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = Trainer(model, TASKS, cfg).fit(make_split(600, 1), make_split(200, 2))
    assert res.stopped == "completed" and res.epochs_run == 1
    losses = [h["loss"] for h in res.history if h["split"] == "train"]
    assert losses and all(np.isfinite(losses))
    # parameters stay float32 (autocast only changes the compute dtype) and were updated
    assert all(v.dtype == before[k].dtype for k, v in model.state_dict().items())
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_losses_are_float32_under_autocast():
    model = mmoe()
    t = to_tensors(make_split(64, 3), ["click", "buy"], torch.device("cpu"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(t.cat, t.num)
    sums, counts = masked_loss_sums(out, t.y, t.mask, TASKS)
    assert sums.dtype == torch.float32 and counts.tolist() == [64.0, 64.0]


class _SyncCounter:
    """Counts Python-level host reads of tensors (``.item()``, ``.tolist()``, ``float(t)``,
    ``bool(t)``...) per call site, leaving out the reads of tensors that live on the host by
    design whatever the training device: torch's optimizers' step counters (``torch/optim``)
    and PCGrad's CPU-generator permutation of the task order."""

    NAMES = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "numpy", "cpu")
    HOST_ONLY = (f"torch{os.sep}optim{os.sep}", f"weighting{os.sep}pcgrad.py")

    def __init__(self, monkeypatch):
        self.sites: Counter = Counter()
        for name in self.NAMES:
            orig = getattr(torch.Tensor, name)

            def wrapped(t, *a, _orig=orig, **k):
                caller = traceback.extract_stack(limit=2)[0]
                if not any(h in caller.filename for h in self.HOST_ONLY):
                    self.sites[f"{caller.filename}:{caller.lineno}"] += 1
                return _orig(t, *a, **k)

            monkeypatch.setattr(torch.Tensor, name, wrapped)


def _syncs_for(monkeypatch, n_rows: int, batch: int, weighting: str = "fixed", amp: bool = False) -> Counter:
    cfg = TrainConfig(epochs=1, batch_size=batch, lr=0.01, device="cpu", diagnostics=False, patience=0,
                      weighting=weighting, amp=amp, grad_clip=1.0, lr_schedule="cosine", warmup_epochs=0.5)
    trainer = Trainer(mmoe(), TASKS, cfg)
    train = make_split(n_rows, 1)
    with monkeypatch.context() as m, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counter = _SyncCounter(m)
        trainer.fit(train, None)
    return counter.sites


@pytest.mark.parametrize("weighting,amp", [(w, False) for w in WEIGHTINGS.names()] + [("fixed", True)])
def test_batches_never_sync_with_the_host(monkeypatch, weighting, amp):
    """The host reads of an epoch do not grow with its number of batches, for every weighting
    method, with gradient clipping, a warm-up schedule and bf16: no ``.item()`` (or any other
    device->host read) per batch, so a CUDA step never waits for the device."""
    few = _syncs_for(monkeypatch, 512, 256, weighting, amp)  # 2 batches
    many = _syncs_for(monkeypatch, 512, 16, weighting, amp)  # 32 batches
    grown = {site: n - few[site] for site, n in many.items() if n > few[site]}
    assert not grown, f"host reads per batch: {grown}"


def test_to_tensors_puts_everything_on_the_device():
    dev = torch.device("meta")  # any device other than the arrays' host memory
    t = to_tensors(make_split(10, 0), ["click", "buy"], dev)
    for x in (t.cat, t.num, t.y, t.mask):
        assert x.device == dev
    assert t.cat.dtype == torch.int32 and t.num.dtype == torch.float32 and t.mask.dtype == torch.bool
    cpu = to_tensors(make_split(10, 0), ["click", "buy"], torch.device("cpu"))
    assert all(x.device.type == "cpu" for x in (cpu.cat, cpu.num, cpu.y, cpu.mask))


def test_adam_is_fused_on_cpu_and_matches_the_reference_update():
    model = mmoe()
    cfg = TrainConfig(lr=0.01, weight_decay=1e-4)
    opt = make_optimizer(model.parameters(), cfg)
    assert opt.defaults.get("fused") is True
    ref_model = mmoe()
    ref = torch.optim.Adam(ref_model.parameters(), lr=0.01, weight_decay=1e-4)
    t = to_tensors(make_split(128, 4), ["click", "buy"], torch.device("cpu"))
    for m, o in ((model, opt), (ref_model, ref)):
        for _ in range(3):
            o.zero_grad(set_to_none=True)
            sum(task_losses(m(t.cat, t.num), t.y, t.mask, TASKS).values()).backward()
            o.step()
    for (k, a), (_, b) in zip(model.state_dict().items(), ref_model.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-5), k


def test_fused_mmoe_forward_matches_the_plain_formula():
    model = mmoe(dropout=0.0).eval()
    t = to_tensors(make_split(50, 5), ["click", "buy"], torch.device("cpu"))
    out = model(t.cat, t.num)
    x = torch.cat([model.embedding.table(t.cat + model.embedding.offsets).flatten(1), t.num], 1)
    experts = torch.stack([e(x) for e in model.experts.experts], 1)
    for name in ("click", "buy"):
        w = torch.softmax(model.gates[name](x), -1)
        mixed = torch.bmm(w.unsqueeze(1), experts).squeeze(1)
        ref = model.towers.heads[name](mixed).squeeze(-1)
        assert torch.allclose(out[name], ref, atol=1e-5)


def test_deep_experts_and_ple_still_work():
    torch.manual_seed(0)
    for arch in ("mmoe", "ple"):
        cfg = ModelConfig(arch=arch, embed_dim=4, hidden=[8, 6], tower_hidden=[4], n_experts=3, dropout=0.1)
        model = build_model(arch, FEATURES, TASKS, cfg)
        t = to_tensors(make_split(20, 6), ["click", "buy"], torch.device("cpu"))
        out = model(t.cat, t.num)
        assert out["click"].shape == (20,)
        sum(o.sum() for o in out.values()).backward()
        assert all(p.grad is not None for p in model.parameters())


def test_benchmark_data_generator_is_seeded_and_shaped():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import make_data

    a, b = make_data.make(3000, seed=1), make_data.make(3000, seed=1)
    assert np.array_equal(a["cat"], b["cat"]) and np.array_equal(a["y"], b["y"])
    assert a["cat"].shape == (3000, 23) and a["num"].shape == (3000, 8)
    assert (a["cat"] < a["vocab"]).all() and (a["cat"] >= 0).all()
    assert (a["y"][:, 1] <= a["y"][:, 0]).all()  # purchase => click
    assert 0 < a["y"][:, 1].mean() < a["y"][:, 0].mean() < 0.5
    assert sorted(np.concatenate([a["train_idx"], a["test_idx"]]).tolist()) == list(range(3000))


def test_gpu_benchmark_plan_covers_both_batches_with_and_without_bf16():
    """``bench/run_bench.py --device cuda`` (the GPU figure's command) measures batch 1024 and
    8192, each with bf16 autocast on and off; ``--batches`` / ``--bf16`` choose explicitly."""
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import run_bench

    def plan(**kw):
        a = argparse.Namespace(**{"device": "cpu", "batches": "", "big_batch": 0, "bf16": "auto", **kw})
        return {(kind, batch, amp) for _, kind, batch, amp in run_bench.plan(a, 1024, have_rechub=False)}

    gpu = plan(device="cuda")
    assert gpu == {(k, b, amp) for k in ("mtl", "plain") for b in (1024, 8192) for amp in (False, True)}
    assert plan() == {("mtl", 1024, False), ("plain", 1024, False)}  # CPU: no bf16 rows unless asked
    assert plan(batches="512,4096", bf16="on") == {(k, b, True) for k in ("mtl", "plain") for b in (512, 4096)}


def test_scale_benchmark_runs_end_to_end_and_prints_its_table(tmp_path):
    """``bench/e2e_csv.py --table`` (issue 15's scale table) runs every stage on a small CSV in a
    fresh process and prints one Markdown row per size with the training settings it used
    (batch 2048, lr 3e-3, cosine with a 5 % warm-up unless told otherwise)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(root / "bench" / "e2e_csv.py"), "--table", "20000", "--threads", "1"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    row = next(line for line in lines if line.startswith("| 0.02 M |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 13 and all(cells), row
    total, stage_sum = float(cells[8]), sum(float(cells[i]) for i in (2, 4, 5, 6, 7))
    assert 0 < stage_sum <= total  # the stages happen inside the total (it also counts torch's import)
    aucs = [float(v) for v in cells[11].split(" / ")]
    assert len(aucs) == 2 and all(0 <= v <= 1 for v in aucs)
    assert "batch 2048, Adam lr 0.003 (cosine, warm-up 0.05 epoch)" in done.stdout
