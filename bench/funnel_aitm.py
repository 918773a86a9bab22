"""AITM vs ESMM vs shared-bottom on a conversion funnel: REES46 cart -> purchase.

Builds the funnel table from the REES46 event log head
(``../shared/data/rees46/2019-Oct-head.csv``, 17,435 events) with the event/funnel builder
(``data.events.build_funnel_table``: one row per user-item pair, ``cart`` and ``purchase``
labels, features from events before the pair's first event), then trains each architecture
on the same prepared split per seed (tasks in funnel order: cart, then purchase). Prints a
Markdown table of test AUC per task, mean ± std over seeds.

    python bench/funnel_aitm.py [--epochs 10] [--seeds 0,1,2,3,4] [--archs aitm,esmm,shared_bottom]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "rees46" / "2019-Oct-head.csv"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--archs", default="aitm,esmm,shared_bottom")
    ap.add_argument("--data", default=str(DATA), help="REES46 events CSV (or an already built funnel table)")
    a = ap.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch

    from mtl_core.config import DataConfig, RunConfig, TrainConfig
    from mtl_core.data.events import build_funnel_table
    from mtl_core.lab import train_eval
    from mtl_core.lab.common import with_seed
    from mtl_core.pipeline import prepare

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    events = pd.read_csv(a.data)
    table = build_funnel_table(events, user_col="user_id", item_col="product_id", event_col="event_type",
                               funnel=["view", "cart", "purchase"], time_col="event_time",
                               session_col="user_session")
    print(f"funnel table: {len(table):,} rows; cart {table['cart'].mean():.4f}, purchase "
          f"{table['purchase'].mean():.4f}", file=sys.stderr)
    base = RunConfig(data=DataConfig(tasks=["cart", "purchase"], user_col="user_id", item_col="product_id",
                                     time_col="event_time"),
                     train=TrainConfig(epochs=a.epochs, patience=3, num_threads=1, diagnostics=False))
    archs = [x for x in a.archs.split(",") if x]
    scores = {arch: [] for arch in archs}
    for seed in [int(x) for x in a.seeds.split(",") if x.strip()]:
        cfg = with_seed(base, seed)
        prep = prepare(cfg, table)
        for arch in archs:
            model = dataclasses.replace(cfg.model, arch=arch)
            _, test, _ = train_eval(prep, prep.task_infos, model, cfg.train, arch)
            scores[arch].append([test["cart"], test["purchase"]])
            print(f"seed {seed} {arch}: cart {test['cart']:.4f} purchase {test['purchase']:.4f}", file=sys.stderr)
    print("| architecture | test AUC cart | test AUC purchase |\n|---|---|---|")
    for arch, s in scores.items():
        m, sd = np.mean(s, 0), np.std(s, 0, ddof=1) if len(s) > 1 else np.zeros(2)
        print(f"| `{arch}` | {m[0]:.4f} ± {sd[0]:.4f} | {m[1]:.4f} ± {sd[1]:.4f} |")
    print(f"\n{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
