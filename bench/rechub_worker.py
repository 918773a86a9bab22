"""One torch-rechub 0.9.0 measurement in a fresh process (run with bench/.venv-rechub's
python; see setup_rechub.sh). Trains torch_rechub.models.multi_task.MMOE with its own
``MTLTrainer.fit`` and its own ``DataGenerator`` data loaders, then prints one JSON line
(samples/s of ``MTLTrainer.train_one_epoch``, test AUC per task, peak RSS).

What was matched to MTL Lab's MMoE (read from torch_rechub/basic/layers.py,
models/multi_task/mmoe.py, trainers/mtl_trainer.py):

- embeddings: one ``SparseFeature`` per field, ``embed_dim=4``, initializer
  ``RandomNormal(0, 0.01)`` (rechub's default is N(0, 1e-4); MTL Lab's is N(0, 0.01));
  8 ``DenseFeature``s (concatenated after the embeddings, as in MTL Lab).
- experts: ``expert_params={"dims": [16]}`` -> Linear(d,16)+BatchNorm1d+ReLU+Dropout(0);
  gates: rechub builds ``MLP(d, dims=[8], activation="softmax")`` -> Linear+BatchNorm1d+Softmax;
  towers: ``{"dims": [8]}`` -> Linear(16,8)+BatchNorm1d+ReLU+Dropout(0)+Linear(8,1), then
  sigmoid. rechub's MLP has no switch for batchnorm; MTL Lab's has none, so by default
  every ``nn.BatchNorm1d`` is replaced by ``nn.Identity`` after construction (which only
  makes rechub faster); ``--keep-batchnorm`` runs rechub's stock layers instead.
  The towers' final bias is zeroed as in MTL Lab.
- loss: MTLTrainer's ``sum(BCELoss per task) / n_task`` (MTL Lab runs with task weights
  0.5/0.5 to match); Adam(lr 1e-3, weight_decay 1e-4); batch 1024; one epoch; seed 0;
  DataLoader(shuffle=True, num_workers=0) as built by ``DataGenerator``; seed --seed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--keep-batchnorm", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="model init / shuffling seed (the split is fixed)")
    a = ap.parse_args()

    import torch
    from torch import nn
    from torch_rechub.basic.features import DenseFeature, SparseFeature
    from torch_rechub.basic.initializers import RandomNormal
    from torch_rechub.models.multi_task import MMOE
    from torch_rechub.trainers import MTLTrainer
    from torch_rechub.utils.data import DataGenerator

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    d = np.load(a.data)
    tr, te = d["train_idx"], d["test_idx"]
    cat_names = [str(c) for c in d["cat_names"]]
    num_names = [str(c) for c in d["num_names"]]

    def xdict(idx):
        x = {n: d["cat"][idx, j] for j, n in enumerate(cat_names)}
        x.update({n: d["num"][idx, j] for j, n in enumerate(num_names)})
        return x

    features = [SparseFeature(n, vocab_size=int(v), embed_dim=4, initializer=RandomNormal(0, 0.01))
                for n, v in zip(cat_names, d["vocab"])] + [DenseFeature(n) for n in num_names]
    model = MMOE(features, task_types=["classification", "classification"], n_expert=8,
                 expert_params={"dims": [16], "dropout": 0.0},
                 tower_params_list=[{"dims": [8], "dropout": 0.0}, {"dims": [8], "dropout": 0.0}])
    if not a.keep_batchnorm:
        def strip_bn(mod: nn.Module) -> None:
            for name, child in mod.named_children():
                if isinstance(child, nn.BatchNorm1d):
                    setattr(mod, name, nn.Identity())
                else:
                    strip_bn(child)
        strip_bn(model)
    for tower in model.towers:
        nn.init.zeros_(tower.mlp[-1].bias)

    y = d["y"]
    dg = DataGenerator(xdict(tr), y[tr])
    train_dl, _, test_dl = dg.generate_dataloader(x_val=xdict(te), y_val=y[te], x_test=xdict(te), y_test=y[te],
                                                  batch_size=a.batch)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = MTLTrainer(model, task_types=["classification", "classification"],
                             optimizer_params={"lr": 1e-3, "weight_decay": 1e-4}, n_epoch=a.epochs,
                             earlystop_patience=10, device=a.device, model_path=tmp)
        times: list[float] = []
        orig = trainer.train_one_epoch

        def timed(loader):
            t0 = time.perf_counter()
            out = orig(loader)
            times.append(time.perf_counter() - t0)
            return out

        trainer.train_one_epoch = timed
        stdout = sys.stdout
        sys.stdout = open(os.devnull, "w")  # rechub prints per epoch; keep our stdout one JSON line
        try:
            # validation loader = the test split: with one epoch, fit's per-epoch
            # evaluation is exactly the test AUC (early stopping cannot change anything)
            log = trainer.fit(train_dl, test_dl)
        finally:
            sys.stdout.close()
            sys.stdout = stdout
    secs = sum(times)
    last = log[-1]
    print(json.dumps({"side": "rechub", "batch": a.batch, "samples_per_s": len(tr) * a.epochs / secs,
                      "train_seconds": secs, "device": a.device, "batchnorm": a.keep_batchnorm, "seed": a.seed,
                      "auc": {"click": float(last[2]), "purchase": float(last[3])},
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}), flush=True)


if __name__ == "__main__":
    main()
