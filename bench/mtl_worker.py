"""One benchmark measurement in a fresh process: MTL Lab's Trainer, or the minimal
plain-PyTorch loop (the "hardware ceiling"), on the dataset made by ``make_data.py``.

Prints one JSON line: side, batch, samples_per_s (training loop only: the per-epoch
permutation + all batches; evaluation excluded), train_seconds, test AUC per task, peak RSS.

    python bench/mtl_worker.py --side mtl   --data bench/out/aliccp_1000000_s0.npz --batch 1024
    python bench/mtl_worker.py --side plain --data bench/out/aliccp_1000000_s0.npz --batch 1024

The model is the same on both sides (and in ``rechub_worker.py``): MMoE, embedding dim 4
per field (one table, N(0, 0.01) init), 8 experts Linear(d,16)+ReLU, a softmax gate per
task Linear(d,8), towers Linear(16,8)+ReLU+Linear(8,1) (final bias 0), no dropout/batchnorm,
loss = mean of the two BCE losses, Adam(lr 1e-3, weight_decay 1e-4), one epoch, seed --seed.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EMBED_DIM, N_EXPERTS, EXPERT_HIDDEN, TOWER_HIDDEN = 4, 8, 16, 8
LR, WEIGHT_DECAY, EMBED_STD = 1e-3, 1e-4, 0.01


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def load(path: str):
    d = np.load(path)
    tr, te = d["train_idx"], d["test_idx"]
    return d, tr, te


def auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


# --------------------------------------------------------------------------- MTL Lab
def run_mtl(path: str, batch: int, epochs: int, device: str, amp: bool, seed: int = 0) -> dict:
    import torch

    from mtl_core.config import ModelConfig, TrainConfig
    from mtl_core.models import build_model
    from mtl_core.training.trainer import Trainer, predict
    from mtl_core.types import EncodedSplit, FeatureSpec, TaskInfo

    d, tr, te = load(path)
    names = [str(c) for c in d["cat_names"]]
    feats = FeatureSpec(names, [int(v) for v in d["vocab"]], [str(c) for c in d["num_names"]])
    tasks = [TaskInfo("click", "binary", 1, ["0", "1"], "click"), TaskInfo("purchase", "binary", 1, ["0", "1"], "purchase")]

    def split(idx):
        return EncodedSplit(d["cat"][idx], d["num"][idx], {"click": d["y"][idx, 0], "purchase": d["y"][idx, 1]},
                            np.arange(len(idx)))

    train, test = split(tr), split(te)
    mcfg = ModelConfig(arch="mmoe", embed_dim=EMBED_DIM, hidden=[EXPERT_HIDDEN], tower_hidden=[TOWER_HIDDEN],
                       n_experts=N_EXPERTS, dropout=0.0, init="default", embed_init_std=EMBED_STD)
    kw = dict(epochs=epochs, lr=LR, lr_schedule="constant", optimizer="adam", weight_decay=WEIGHT_DECAY,
              # torch-rechub's MTLTrainer minimises the MEAN of the task losses
              task_weights={"click": 0.5, "purchase": 0.5}, patience=0, device=device,
              diagnostics=False, seed=seed)
    if batch:
        kw["batch_size"] = batch
    if amp:
        kw["amp"] = True
    tcfg = TrainConfig(**kw).validate()
    torch.manual_seed(seed)
    model = build_model("mmoe", feats, tasks, mcfg)
    trainer = Trainer(model, tasks, tcfg)
    res = trainer.fit(train, None)
    preds = predict(trainer.model, test, tasks, trainer.device)
    return {"side": "mtl", "batch": tcfg.batch_size, "samples_per_s": res.samples_per_s,
            "train_seconds": len(train) * epochs / res.samples_per_s, "device": res.device,
            "auc": {t.name: auc(test.labels[t.name], preds[t.name]) for t in tasks}}


# --------------------------------------------------------------------------- plain loop
def run_plain(path: str, batch: int, epochs: int, device: str, amp: bool, seed: int = 0) -> dict:
    import torch
    from torch import nn
    import torch.nn.functional as F

    class PlainMMoE(nn.Module):
        """The same MMoE written the obvious way."""

        def __init__(self, vocab, n_num):
            super().__init__()
            self.register_buffer("offsets", torch.tensor(np.concatenate([[0], np.cumsum(vocab)[:-1]])))
            self.table = nn.Embedding(int(np.sum(vocab)), EMBED_DIM)
            nn.init.normal_(self.table.weight, 0.0, EMBED_STD)
            d = len(vocab) * EMBED_DIM + n_num
            self.experts = nn.ModuleList(nn.Sequential(nn.Linear(d, EXPERT_HIDDEN), nn.ReLU()) for _ in range(N_EXPERTS))
            self.gates = nn.ModuleList(nn.Linear(d, N_EXPERTS) for _ in range(2))
            self.towers = nn.ModuleList(nn.Sequential(nn.Linear(EXPERT_HIDDEN, TOWER_HIDDEN), nn.ReLU(),
                                                      nn.Linear(TOWER_HIDDEN, 1)) for _ in range(2))
            for t in self.towers:
                nn.init.zeros_(t[-1].bias)

        def forward(self, cat, num):
            x = torch.cat([self.table(cat + self.offsets).flatten(1), num], 1)
            e = torch.stack([m(x) for m in self.experts], 1)  # [B, E, H]
            outs = []
            for g, t in zip(self.gates, self.towers):
                w = torch.softmax(g(x), -1).unsqueeze(1)  # [B, 1, E]
                outs.append(t(torch.bmm(w, e).squeeze(1)))
            return torch.cat(outs, 1)  # [B, 2] logits

    d, tr, te = load(path)
    dev = torch.device(device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    model = PlainMMoE(d["vocab"], d["num"].shape[1]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    cat = torch.from_numpy(d["cat"][tr]).to(dev)
    num = torch.from_numpy(d["num"][tr]).to(dev)
    y = torch.from_numpy(d["y"][tr]).to(dev)
    n = len(tr)
    gen = torch.Generator().manual_seed(seed)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(dev)
        c, x, yy = cat[perm], num[perm], y[perm]
        for i in range(0, n, batch):
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                out = model(c[i:i + batch], x[i:i + batch])
            loss = F.binary_cross_entropy_with_logits(out.float(), yy[i:i + batch])  # mean over both tasks
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    model.eval()
    with torch.inference_mode():
        p = torch.cat([torch.sigmoid(model(torch.from_numpy(d["cat"][te[i:i + 65536]]).to(dev),
                                           torch.from_numpy(d["num"][te[i:i + 65536]]).to(dev)).float()).cpu()
                       for i in range(0, len(te), 65536)]).numpy()
    yt = d["y"][te]
    return {"side": "plain", "batch": batch, "samples_per_s": n * epochs / secs, "train_seconds": secs,
            "device": dev.type, "auc": {"click": auc(yt[:, 0], p[:, 0]), "purchase": auc(yt[:, 1], p[:, 1])}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=["mtl", "plain"], required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=0, help="0 = MTL Lab's default batch size")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast")
    ap.add_argument("--seed", type=int, default=0, help="model init / shuffling seed (the split is fixed)")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    fn = run_mtl if a.side == "mtl" else run_plain
    out = fn(a.data, a.batch or (0 if a.side == "mtl" else 1024), a.epochs, a.device, a.amp, a.seed)
    out["amp"] = a.amp
    out["seed"] = a.seed
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
