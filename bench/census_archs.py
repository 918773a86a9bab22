"""Architectures on the MMoE paper's Census-Income task pair, with the README's settings.

Trains each architecture on ``census-income.test.gz`` (tasks and columns as in
``census_weighting.py``) with the README's Census command's settings: default ``ModelConfig``
sizes, 10 epochs, default ``TrainConfig`` (Adam 1e-3, batch 1024, patience 3 on validation
loss), seeded 80/10/10 random split; each seed changes split and initialisation. Every
architecture of a seed uses the same prepared split. Prints a Markdown table of test AUC per
task (mean ± std over seeds).

    python bench/census_archs.py [--archs aitm,cross_stitch] [--seeds 0,1,2] [--data PATH]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from census_weighting import DATA, NAMES, TASKS, cell


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default="aitm,cross_stitch")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=str(DATA))
    a = ap.parse_args(argv)

    import numpy as np

    from mtl_core.config import DataConfig, ModelConfig, ReadOptions, RunConfig, SplitConfig, TrainConfig
    from mtl_core.data.io import read_table
    from mtl_core.lab import train_eval
    from mtl_core.pipeline import prepare

    t0 = time.perf_counter()
    read = ReadOptions(header=False, names=NAMES)
    df = read_table(a.data, read)
    archs = [x for x in a.archs.split(",") if x]
    scores: dict[str, list] = {arch: [] for arch in archs}
    names: list[str] = []
    for seed in [int(x) for x in a.seeds.split(",") if x.strip()]:
        cfg = RunConfig(data=DataConfig(path=a.data, read=read, tasks=list(TASKS), drop=["instance_weight"]),
                        split=SplitConfig(seed=seed),
                        train=TrainConfig(epochs=a.epochs, seed=seed, num_threads=a.threads, diagnostics=False))
        prep = prepare(cfg, df)
        names = [t.name for t in prep.task_infos]
        for arch in archs:
            t1 = time.perf_counter()
            model = dataclasses.replace(ModelConfig(), arch=arch)
            _, test, res = train_eval(prep, prep.task_infos, model, cfg.train, arch)
            scores[arch].append((test, res.best_epoch, time.perf_counter() - t1))
            print(f"seed {seed} {arch}: {test} best epoch {res.best_epoch} ({scores[arch][-1][2]:.0f} s)",
                  file=sys.stderr, flush=True)

    print(f"| architecture | test AUC {names[0]} | test AUC {names[1]} | best epoch | seconds per run |")
    print("|---|---|---|---|---|")
    for arch, s in scores.items():
        print(f"| `{arch}` | {cell([t[names[0]] for t, _, _ in s])} | {cell([t[names[1]] for t, _, _ in s])} "
              f"| {', '.join(str(b) for _, b, _ in s)} | {np.mean([x for _, _, x in s]):.0f} |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s, {a.threads} thread(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
