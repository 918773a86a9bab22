"""Issue 16 on public data: MTL Lab vs logistic regression vs gradient boosting.

For each public data set below (the files, where they come from and where they are looked
for are those of ``bench/issue11_before_after.py``, whose loaders this reuses; an absent file is
skipped with a message) and each task, the test metric (binary: AUC; regression: RMSE, R²
beside it) of

- ``lr``: the ``sklearn`` architecture (one L2 logistic regression per binary task, a linear
  model for regression) on the same encoded features;
- ``gbm``: the per-task gradient-boosting reference every run computes (``baselines.gbm``:
  scikit-learn's histogram gradient boosting at default settings, same rows);
- ``before``: MMoE with the defaults before issue 16 (lr 1e-3 constant, batch 1,024, scalar
  numeric features; as now: 10 epochs with early stopping, patience 3, embed 8);
- ``after``: MMoE with today's defaults (``RunConfig()``) — trial 1 of the tuning session, which
  is the base configuration itself, trained on the same prepared data;
- ``tuned``: ``tune(config, N)`` (``--tune N``; seeded random search, each drawn model at most
  the tuner's cost bound times the defaults' cost per row, chosen on the validation loss), the
  chosen trial's test metrics, reported once; every trial's validation score and settings are
  kept in the JSON (``tuned_trials``). A "tuned" run also stores its trial 1 (``after_in_tuning``)
  and its boosting reference (``gbm_tuned``): equal to ``after`` and ``gbm`` when the rows match.

All runs share the split (random 80/10/10, seed 0) and therefore the test rows. Data sets
(``rows`` caps keep the cost down on a shared 2-core machine):

- ``reviews``: Women's clothing reviews (1,499 rows, free text): Recommended IND, Rating ≥ 4;
- ``rees46``: REES46 event log → user × product funnel (12,107 pairs): cart, purchase;
- ``retail``: Online Retail II, 20,000 seeded lines with a customer: Quantity ≥ 12 (a large
  line) and ``log_quantity`` = log(1 + Quantity) (regression);
- ``movielens``: MovieLens ml-latest-small, 20,000 seeded ratings: ``rating`` (regression) and
  ``liked`` = rating ≥ 4.

    python bench/issue16_public.py [--only NAME ...] [--columns lr,gbm,before,after,tuned]
                                   [--trials 4] [--json results.json] [--threads N] [--tune-time S]

With ``--json`` the results are merged into that file (so the columns can be run at different
times, e.g. before and after a change of the defaults) and the table printed is the file's
(``--columns ''`` only prints it).
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import issue11_before_after as i11  # noqa: E402

from mtl_core.config import RunConfig  # noqa: E402

COLUMNS = ("lr", "gbm", "before", "after", "tuned")


def reviews():
    df, rec = i11.reviews_table()
    return "Women's clothing reviews", df, [rec, "Rating:binary>=4"]


def rees46():
    return "REES46 funnel", i11.rees46_funnel(i11.rees46_log()[1]), ["cart", "purchase"]


def retail(rows: int = 20_000):
    df = i11.retail_table(rows)
    df["log_quantity"] = np.log1p(df["Quantity"].astype(float))  # a task column: never a feature
    return "Online Retail II", df, ["Quantity:binary>=12", "log_quantity:regression"]


def movielens(rows: int = 20_000):
    df = i11.movielens_table().sample(rows, random_state=0).reset_index(drop=True)
    df["liked"] = (df["rating"] >= 4).astype(int)  # a task column: never a feature
    return "MovieLens", df, ["rating:regression", "liked"]


DATASETS = {"reviews": reviews, "rees46": rees46, "retail": retail, "movielens": movielens}


THREADS = 0  # --threads: torch threads of every run (0 = choose for this machine)
TUNE_TIME = None  # --tune-time: the tuner's time budget in seconds (None: none)


def config(tasks, before: bool = False, arch: str = "mmoe") -> RunConfig:
    c = RunConfig()
    c.data.tasks = list(tasks)
    c.model.arch = arch
    c.train.diagnostics = False
    c.train.num_threads = THREADS
    if before:  # the defaults before issue 16
        c.train.lr, c.train.lr_schedule, c.train.batch_size = 1e-3, "constant", 1024
        c.preprocess.numeric_encoding = "scalar"
    if arch == "sklearn":
        c.train.early_stopping_metric = "auc"  # a metric the scikit-learn models report
    return c.validate()


def scores(metrics: dict) -> dict:
    """{task: {"kind", "value" (AUC or RMSE), "r2"}} of a run's metrics, and the same for its
    gradient-boosting reference under the key ``gbm``."""
    out: dict = {"model": {}, "gbm": {}}
    for task, m in metrics["tasks"].items():
        for key, src in (("model", m), ("gbm", (m.get("baselines") or {}).get("gbm") or {})):
            value = src.get("auc") if m["kind"] == "binary" else src.get("rmse")
            out[key][task] = {"kind": m["kind"], "value": value, "r2": src.get("r2")}
    return out


def run_columns(name: str, df: pd.DataFrame, tasks: list, columns: set, trials: int) -> dict:
    from mtl_core.pipeline import run_experiment
    from mtl_core.runs import load_run
    from mtl_core.tuning import tune
    from mtl_core.tuning.space import describe

    res: dict = {}
    t0, cpu0 = time.perf_counter(), time.process_time()
    if columns & {"lr", "gbm"}:
        s = scores(run_experiment(config(tasks, arch="sklearn"), df, save=False).metrics)
        res.update({k: s[v] for k, v in (("lr", "model"), ("gbm", "gbm")) if k in columns})
    if "before" in columns:
        res["before"] = scores(run_experiment(config(tasks, before=True), df, save=False).metrics)["model"]
    if columns & {"after", "tuned"}:
        n = trials if "tuned" in columns else 1  # "after" alone: trial 1 only (the defaults)
        with tempfile.TemporaryDirectory() as root:
            t = tune(config(tasks), n, df, runs_root=root, time_budget_s=TUNE_TIME)
            first = scores(load_run(t.trials[0].run_dir).metrics)
            # trial 1: the defaults; a tuned-only run keeps its own trial 1 apart (to compare, not to overwrite)
            res["after" if "after" in columns else "after_in_tuning"] = first["model"]
            res["gbm_" + "_".join(sorted(columns & {"after", "tuned"}))] = first["gbm"]  # same rows as "gbm"?
            if "tuned" in columns:
                res["tuned"] = scores(t.metrics)["model"]
                ran = f" ({len(t.trials)} of {n} trials ran, status {t.status})" if len(t.trials) < n else ""
                res["tuned_trial"] = f"trial {t.best.number}/{n}{ran}: {describe(t.best.params) or 'the defaults'}"
                res["tuned_trials"] = [{"trial": x.number, "status": x.status, "val": x.val_score,
                                        "settings": describe(x.params)} for x in t.trials]
                res["tuned_metric"] = t.metric
    key = "_".join(sorted(columns))
    res["seconds_" + key] = round(time.perf_counter() - t0)
    res["cpu_seconds_" + key] = round(time.process_time() - cpu0)
    res["load_" + key] = [round(x, 2) for x in os.getloadavg()]  # 1, 5, 15 min at the end
    print(f"{name}: {sorted(columns)} in {res['seconds_' + key]} s ({res['cpu_seconds_' + key]} CPU s, "
          f"load {res['load_' + key]})", file=sys.stderr)
    return res


def _fmt(v) -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.4f}"


def table(results: dict) -> str:
    lines = ["| data (rows) | task | metric | logistic / linear | gradient boosting | MTL Lab before | "
             "MTL Lab after (defaults) | MTL Lab tuned |", "|---|---|---|---|---|---|---|---|"]
    for entry in results.values():
        cols = entry["columns"]
        tasks = next(iter(c for c in cols.values() if isinstance(c, dict)), {})
        for task in tasks:
            kind = tasks[task]["kind"]
            vals = {k: (cols.get(k) or {}).get(task, {}).get("value") for k in COLUMNS}
            known = [v for v in vals.values() if v is not None]
            best = (max(known) if kind == "binary" else min(known)) if known else None
            shown = [f"**{_fmt(v)}**" if v is not None and v == best else _fmt(v) for v in vals.values()]
            metric = "AUC" if kind == "binary" else "RMSE"
            lines.append(f"| {entry['name']} ({entry['rows']:,}) | {task} | {metric} | " + " | ".join(shown) + " |")
    tuned = [f"{e['name']}: {e['columns']['tuned_trial']}" for e in results.values() if "tuned_trial" in e["columns"]]
    return "\n".join(lines + ([""] + [f"- tuned: {t}" for t in tuned] if tuned else []))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=sorted(DATASETS), help="run only these data sets")
    ap.add_argument("--columns", default=",".join(COLUMNS), help="which columns to compute: " + ",".join(COLUMNS))
    ap.add_argument("--trials", type=int, default=4, help="tuning trials (--tune N)")
    ap.add_argument("--json", help="merge the results into this JSON file and print its table")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per run (0 = choose for this machine)")
    ap.add_argument("--tune-time", type=float, help="tuned: the tuner's time budget in seconds (default none)")
    args = ap.parse_args(argv)
    global THREADS, TUNE_TIME
    THREADS, TUNE_TIME = args.threads, args.tune_time
    columns = {c.strip() for c in args.columns.split(",") if c.strip()}
    unknown = columns - set(COLUMNS)
    if unknown:
        ap.error(f"unknown column(s) {', '.join(sorted(unknown))}; choose from {', '.join(COLUMNS)}")
    path = Path(args.json) if args.json else None
    results = json.loads(path.read_text()) if path and path.exists() else {}
    for key in (args.only or list(DATASETS)) if columns else []:  # --columns '': print the file's table
        try:
            name, df, tasks = DATASETS[key]()
        except FileNotFoundError as exc:
            print(f"skipped {key}: {exc}", file=sys.stderr)
            continue
        entry = results.setdefault(key, {"name": name, "rows": len(df), "tasks": tasks, "columns": {}})
        entry["columns"].update(run_columns(name, df, tasks, columns, args.trials))
        if path:
            path.write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
