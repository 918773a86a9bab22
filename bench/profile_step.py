"""Where one training step's time goes, before and after the trainer/model changes.

    python bench/profile_step.py                 # 1 and 2 threads, batch 1024, 200k-row data
    python bench/profile_step.py --table         # + torch.profiler op tables

"before" = the formulation MTL Lab used before (the same as the plain loop in
mtl_worker.py): nn.Embedding call, 8 expert Linears + stack, per-task gate Linear +
torch.softmax + bmm, per-task masked losses, torch.optim.Adam with default (for-loop)
implementation. "after" = MTL Lab's current MMoE + ``trainer.masked_loss_sums`` +
``trainer.make_optimizer`` (fused Adam). Same weights, same batch. Blocks of steps are
interleaved (A B A B ...) so that load from other processes hits both alike; medians of
per-block ms/step are printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import make_data  # noqa: E402
from mtl_core.config import ModelConfig, TrainConfig  # noqa: E402
from mtl_core.models import build_model  # noqa: E402
from mtl_core.training.trainer import make_optimizer, masked_loss_sums  # noqa: E402
from mtl_core.types import FeatureSpec, TaskInfo  # noqa: E402

TASKS = [TaskInfo("click", "binary"), TaskInfo("purchase", "binary")]


def before_forward(m, cat, num):
    """MTL Lab's MMoE forward as it was (module calls per expert / gate, softmax, bmm)."""
    x = torch.cat([m.embedding.table(cat + m.embedding.offsets).flatten(1), num], 1)
    experts = torch.stack([e(x) for e in m.experts.experts], 1)
    mixed = {}
    for name in m.task_names:
        w = torch.softmax(m.gates[name](x), -1)
        mixed[name] = torch.bmm(w.unsqueeze(1), experts).squeeze(1)
    return m.towers(mixed)


def before_losses(out, y, mask):
    losses = {}
    for j, t in enumerate(TASKS):
        raw = F.binary_cross_entropy_with_logits(out[t.name], y[:, j], reduction="none")
        mf = mask[:, j].to(raw.dtype)
        losses[t.name] = (raw * mf).sum() / mf.sum().clamp(min=1.0)
    return losses


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args()
    d = np.load(make_data.ensure(a.rows, 0))
    feats = FeatureSpec([str(c) for c in d["cat_names"]], [int(v) for v in d["vocab"]], [str(c) for c in d["num_names"]])
    mcfg = ModelConfig(arch="mmoe", embed_dim=4, hidden=[16], tower_hidden=[8], n_experts=8)
    torch.manual_seed(0)
    m_before = build_model("mmoe", feats, TASKS, mcfg)
    m_after = build_model("mmoe", feats, TASKS, mcfg)
    m_after.load_state_dict(m_before.state_dict())
    opt_before = torch.optim.Adam(m_before.parameters(), lr=1e-3, weight_decay=1e-4)
    opt_after = make_optimizer(m_after.parameters(), TrainConfig(lr=1e-3, weight_decay=1e-4))
    B = a.batch
    cat, num = torch.from_numpy(d["cat"]), torch.from_numpy(d["num"])
    y = torch.from_numpy(d["y"])
    mask = torch.ones_like(y, dtype=torch.bool)
    pos = {"i": 0}

    def batch():
        i = pos["i"]
        pos["i"] = (i + B) % (len(y) - B)
        return cat[i:i + B], num[i:i + B], y[i:i + B], mask[i:i + B]

    def step_before():
        c, x, yy, mm = batch()
        losses = before_losses(before_forward(m_before, c, x), yy, mm)
        opt_before.zero_grad(set_to_none=True)
        torch.stack(list(losses.values())).sum().backward()
        opt_before.step()

    def step_after():
        c, x, yy, mm = batch()
        sums, counts = masked_loss_sums(m_after(c, x), yy, mm, TASKS)
        opt_after.zero_grad(set_to_none=True)
        (sums / counts.clamp(min=1.0)).sum().backward()
        opt_after.step()

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"batch {B}, load average {load}")
    for th in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(th)
        for f in (step_before, step_after):
            for _ in range(3):
                f()
        res = {"before": [], "after": []}
        for _ in range(a.blocks):
            for name, f in (("before", step_before), ("after", step_after)):
                t0 = time.perf_counter()
                for _ in range(a.steps):
                    f()
                res[name].append((time.perf_counter() - t0) / a.steps * 1e3)
        mb, ma = statistics.median(res["before"]), statistics.median(res["after"])
        print(f"threads {th}: before {mb:6.2f} ms/step ({B / mb * 1e3:9,.0f} samples/s)  "
              f"after {ma:6.2f} ms/step ({B / ma * 1e3:9,.0f} samples/s)  speed-up {mb / ma:.2f}x")
        if a.table:
            from torch.profiler import ProfilerActivity, profile

            for name, f in (("before", step_before), ("after", step_after)):
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    for _ in range(20):
                        f()
                print(f"--- {name}, {th} thread(s), 20 steps")
                print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
