"""Collaborative features with and without, same seed, on two user-item datasets.

    python bench/collab_features.py [--epochs 8] [--customers 1500] [--out docs/collab_features.json]

- REES46 (../shared/data/rees46/2019-Oct-head.csv): the event builder's funnel table, one
  row per (user, product), tasks cart and purchase.
- Online Retail II (2009-2010 sheet): one row per (customer, product) bought before
  2010-06-01 (a seeded sample of ``--customers`` customers), features from that history
  (invoices, quantity, mean price, country), tasks ``repeat`` (the customer buys the product
  again from 2010-06-01 on) and ``later_quantity`` (regression, how many).

Each table is trained with MMoE and preprocess.collab = [], [mf], [graph], [mf, graph]
(same seed, same split) and reports each binary task's test AUC, GAUC and catalogue
Recall@10 (metrics.json ``catalog.<task>``). Timings are not reported.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.data.events import build_funnel_table  # noqa: E402
from mtl_core.pipeline import run_experiment  # noqa: E402

SHARED = Path(os.environ.get("MTL_LAB_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
VARIANTS = {"none": [], "mf": ["mf"], "graph": ["graph"], "mf+graph": ["mf", "graph"]}


def rees46() -> tuple[pd.DataFrame, list[str], dict]:
    raw = pd.read_csv(SHARED / "rees46" / "2019-Oct-head.csv")
    table = build_funnel_table(raw, user_col="user_id", item_col="product_id", event_col="event_type",
                               funnel=["view", "cart", "purchase"], time_col="event_time")
    if isinstance(table, tuple):
        table = table[0]
    return table, ["cart", "purchase"], {"user_col": "user_id", "item_col": "product_id", "time_col": "event_time"}


def online_retail(customers: int, seed: int = 0) -> tuple[pd.DataFrame, list[str], dict]:
    raw = pd.read_parquet(SHARED / "online_retail_ii" / "online_retail_ii_2009_2010.parquet")
    raw = raw[raw["Customer ID"].notna() & (raw["Quantity"] > 0)].copy()
    raw["customer"] = raw["Customer ID"].astype(np.int64).astype(str)
    raw["InvoiceDate"] = pd.to_datetime(raw["InvoiceDate"])
    keep = pd.Series(raw["customer"].unique()).sample(customers, random_state=seed)
    raw = raw[raw["customer"].isin(set(keep))]
    cut = pd.Timestamp("2010-06-01")
    before, after = raw[raw["InvoiceDate"] < cut], raw[raw["InvoiceDate"] >= cut]
    keys = ["customer", "StockCode"]
    table = before.groupby(keys).agg(invoices=("Invoice", "nunique"), quantity=("Quantity", "sum"),
                                     price=("Price", "mean"), country=("Country", "last")).reset_index()
    later = after.groupby(keys)["Quantity"].sum().rename("later_quantity")
    table = table.join(later, on=keys)
    table["repeat"] = table["later_quantity"].notna().astype(int)
    table["later_quantity"] = table["later_quantity"].fillna(0.0)
    return table, ["repeat", "later_quantity:regression"], {"user_col": "customer", "item_col": "StockCode"}


def train(table: pd.DataFrame, tasks: list[str], cols: dict, collab: list[str], epochs: int, root: str) -> dict:
    cfg = RunConfig()
    cfg.data.tasks = list(tasks)
    for k, v in cols.items():
        setattr(cfg.data, k, v)
    cfg.model.arch = "mmoe"
    cfg.train.epochs = epochs
    cfg.train.batch_size = 512
    cfg.train.num_threads = 1
    cfg.preprocess.collab = list(collab)
    res = run_experiment(cfg.validate(), df=table, runs_root=root)
    out = {}
    for t, m in res.metrics["tasks"].items():
        if m.get("kind") != "binary":
            continue
        cat = res.metrics.get("catalog", {}).get(t, {})
        out[t] = {"auc": m.get("auc"), "gauc": res.metrics.get("ranking", {}).get(t, {}).get("gauc"),
                  "recall@10": cat.get("recall@10"), "popularity_recall@10":
                  cat.get("baselines", {}).get("popularity", {}).get("recall@10")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as root:
        for name, (table, tasks, cols) in {"REES46 funnel": rees46(),
                                           "Online Retail II customer-product": online_retail(a.customers)}.items():
            print(f"{name}: {len(table):,} rows", flush=True)
            results[name] = {"rows": len(table)}
            for variant, collab in VARIANTS.items():
                results[name][variant] = r = train(table, tasks, cols, collab, a.epochs, root)
                print(f"  {variant:9s}", json.dumps(r), flush=True)
    print("\n| dataset | collab | task | AUC | GAUC | catalogue Recall@10 |\n|---|---|---|---|---|---|")
    fmt = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
    for name, res in results.items():
        for variant in VARIANTS:
            for t, m in res[variant].items():
                print(f"| {name} | {variant} | {t} | {fmt(m['auc'])} | {fmt(m['gauc'])} | {fmt(m['recall@10'])} |")
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
