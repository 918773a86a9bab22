"""Choosing the training defaults by experiment (issue 16): learning rate, batch size,
embedding size, schedule and epoch budget, one factor at a time around a base setting.

Data sets: the bundled ``data/sample.csv`` (click, purchase) and Census-Income
(``../shared/data/census_kdd/census-income.test.gz``, income > 50K and never married, the
README's seeded 80/10/10 random split; ``--census-rows`` takes a seeded random subsample to
keep the cost down on a shared machine). Every setting trains MMoE (default sizes) with early
stopping on the mean validation loss (patience 3, best epoch kept) for each seed; the split
changes with the seed. Settings are compared on the VALIDATION AUC (mean over tasks and
seeds); the test AUC is printed beside it for the record.

    python bench/defaults_search.py [--seeds 0,1] [--census-rows 40000] [--out results.csv]

Prints one CSV line per (data set, seed, setting) as it goes and a Markdown table at the end.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# name -> TrainConfig / ModelConfig overrides; "before" is the defaults before issue 16
SETTINGS = {
    "before (lr 1e-3, batch 1024, embed 8, constant, 10 epochs)": {},
    "lr 3e-3": {"lr": 3e-3},
    "lr 1e-2": {"lr": 1e-2},
    "lr 3e-3, batch 256": {"lr": 3e-3, "batch_size": 256},
    "lr 3e-3, batch 4096": {"lr": 3e-3, "batch_size": 4096},
    "lr 3e-3, embed 16": {"lr": 3e-3, "embed_dim": 16},
    "lr 3e-3, cosine": {"lr": 3e-3, "lr_schedule": "cosine"},
    "lr 3e-3, onecycle": {"lr": 3e-3, "lr_schedule": "onecycle"},
    "lr 1e-2, cosine": {"lr": 1e-2, "lr_schedule": "cosine"},
    "lr 3e-3, 20 epochs": {"lr": 3e-3, "epochs": 20},
    "lr 3e-3, cosine, 20 epochs": {"lr": 3e-3, "lr_schedule": "cosine", "epochs": 20},
}
# round 2: around the best of round 1 (batch 256 with lr 3e-3 peaks at epoch 2-3 on the sample)
ROUND2 = {
    "lr 1e-3, batch 256": {"batch_size": 256},
    "lr 1e-3, batch 256, cosine": {"batch_size": 256, "lr_schedule": "cosine"},
    "lr 3e-3, batch 256, cosine": {"lr": 3e-3, "batch_size": 256, "lr_schedule": "cosine"},
    "lr 3e-3, batch 512": {"lr": 3e-3, "batch_size": 512},
    "lr 3e-3, batch 512, cosine": {"lr": 3e-3, "batch_size": 512, "lr_schedule": "cosine"},
}
BASE = {"lr": 1e-3, "batch_size": 1024, "epochs": 10, "lr_schedule": "constant", "patience": 3, "embed_dim": 8}


def datasets(census_rows: int, census: str = ""):
    """(name, DataFrame, tasks, drop) of each data set."""
    from census_weighting import DATA, NAMES, TASKS

    from mtl_core.config import ReadOptions
    from mtl_core.data.io import read_table

    yield "sample", read_table(ROOT / "data" / "sample.csv"), ["click", "purchase"], []
    CENSUS = Path(census) if census else DATA
    if CENSUS.exists():
        df = read_table(CENSUS, ReadOptions(header=False, names=NAMES))
        if census_rows and census_rows < len(df):
            df = df.sample(n=census_rows, random_state=0).reset_index(drop=True)
        yield "census", df, list(TASKS), ["instance_weight"]


def run_one(prep, overrides: dict, seed: int, threads: int):
    from mtl_core.config import ModelConfig, TrainConfig
    from mtl_core.lab import train_eval

    s = {**BASE, **overrides}
    model = ModelConfig(arch="mmoe", embed_dim=s.pop("embed_dim"))
    train = TrainConfig(**s, seed=seed, num_threads=threads, diagnostics=False).validate()
    t0 = time.perf_counter()
    val, test, res = train_eval(prep, prep.task_infos, model, train, "mmoe")
    return val, test, res, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--census-rows", type=int, default=40_000, help="seeded subsample of Census (0 = all rows)")
    ap.add_argument("--census", default="", help="path of census-income.test.gz (default ../shared/data/...)")
    ap.add_argument("--only", default="", help="comma-separated data sets (sample, census)")
    ap.add_argument("--round", type=int, default=1, choices=(1, 2), help="which table of settings (see ROUND2)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="", help="also append the CSV lines to this file")
    a = ap.parse_args(argv)

    import numpy as np
    import torch

    from mtl_core.config import DataConfig, RunConfig, SplitConfig
    from mtl_core.pipeline import prepare

    torch.set_num_threads(a.threads)
    seeds = [int(x) for x in a.seeds.split(",") if x.strip()]
    only = {x.strip() for x in a.only.split(",") if x.strip()}
    rows: list[dict] = []
    out = open(a.out, "a", encoding="utf-8") if a.out else None
    print("data,seed,setting,val_auc,test_auc,best_epoch,epochs_run,seconds", flush=True)
    for name, df, tasks, drop in datasets(a.census_rows, a.census):
        if only and name not in only:
            continue
        for seed in seeds:
            cfg = RunConfig(data=DataConfig(tasks=tasks, drop=drop),
                            split=SplitConfig(method="random", train=0.8, val=0.1, test=0.1, seed=seed))
            prep = prepare(cfg, df)
            for setting, overrides in (SETTINGS if a.round == 1 else ROUND2).items():
                val, test, res, secs = run_one(prep, overrides, seed, a.threads)
                row = {"data": name, "seed": seed, "setting": setting, "val": float(np.mean(list(val.values()))),
                       "test": float(np.mean(list(test.values()))), "best": res.best_epoch,
                       "run": res.epochs_run, "secs": secs}
                rows.append(row)
                line = (f"{name},{seed},\"{setting}\",{row['val']:.4f},{row['test']:.4f},{res.best_epoch},"
                        f"{res.epochs_run},{secs:.0f}")
                print(line, flush=True)
                if out:
                    out.write(line + "\n")
                    out.flush()
    print(markdown(rows))
    return 0


def markdown(rows: list[dict]) -> str:
    import pandas as pd

    if not rows:
        return ""
    df = pd.DataFrame(rows)
    g = df.groupby(["setting", "data"], sort=False).agg(val=("val", "mean"), test=("test", "mean"),
                                                        best=("best", "mean"), secs=("secs", "mean"))
    lines = ["| setting | " + " | ".join(f"{d} val AUC | {d} test AUC | {d} best epoch | {d} s"
                                         for d in df["data"].unique()) + " |"]
    lines.append("|---|" + "---|---|---|---|" * df["data"].nunique())
    for setting in dict.fromkeys(df["setting"]):
        cells = []
        for d in df["data"].unique():
            r = g.loc[(setting, d)] if (setting, d) in g.index else None
            cells.append("– | – | – | –" if r is None else
                         f"{r.val:.4f} | {r.test:.4f} | {r.best:.1f} | {r.secs:.0f}")
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
