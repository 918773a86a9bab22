"""Time of the catalogue ranking (evaluation/catalog.py): U test users × I items scored by an
(untrained) MMoE, top-K by np.partition, Recall/NDCG/Hit@10 and the popularity baseline.

    python bench/catalog_timing.py --users 100000 --items 100
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--rows-per-user", type=int, default=4)
    ap.add_argument("--max-pairs", type=int, default=20_000_000)
    ap.add_argument("--batch", type=int, default=262_144)
    a = ap.parse_args()
    import torch

    from mtl_core.config import RunConfig
    from mtl_core.evaluation.catalog import catalog_ranking
    from mtl_core.pipeline import _item_user_tables, build_run_model, prepare

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    n = a.users * a.rows_per_user
    u = rng.integers(0, a.users, n)
    i = rng.integers(0, a.items, n)
    df = pd.DataFrame({"user_id": [f"u{x}" for x in u], "item_id": [f"i{x}" for x in i],
                       "age": (u % 50 + 18).astype(float), "category": [f"c{x % 7}" for x in i],
                       "click": (rng.random(n) < 0.2).astype(int)})
    df["purchase"] = df["click"] * (rng.random(n) < 0.3)
    cfg = RunConfig()
    cfg.data.tasks = ["click", "purchase"]
    cfg.data.user_col, cfg.data.item_col = "user_id", "item_id"
    cfg.split.train, cfg.split.val, cfg.split.test = 0.5, 0.0, 0.5
    t0 = time.perf_counter()
    prep = prepare(cfg, df)
    model = build_run_model(prep)
    catalog, users, _, layout = _item_user_tables(prep, prep.encoded["train"].index)
    t1 = time.perf_counter()
    out = catalog_ranking(model, prep.preprocessor, prep.task_infos, prep.df, prep.encoded, catalog, users,
                          {"user_col": "user_id", "item_col": "item_id", **layout}, max_pairs=a.max_pairs,
                          batch_size=a.batch, device="cpu")
    t2 = time.perf_counter()
    c = out["click"]
    print(f"prepare {t1 - t0:.1f} s; catalogue ranking {t2 - t1:.1f} s for {c['users']:,} users with targets "
          f"({c['test_users']:,} test users, sampled={c['sampled']}) × {c['items']} items; "
          f"recall@10 {c['recall@10']:.3f}, popularity {c['baselines']['popularity']['recall@10']:.3f}")


if __name__ == "__main__":
    main()
