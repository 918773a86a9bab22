"""Issue 11 "Real files, honest results": before/after on public files nobody here prepared.

"before" = the old behaviour: the first line is always a header, free text and timestamps give
no features (``text_dims=0``, ``time_features=False``); "after" = this branch's defaults. Both
runs use the same split, model (shared-bottom MLP, 3 epochs, seed 0) and test rows, and every
score is printed beside its baseline (binary: the training positive rate, AUC 0.5; regression:
the training mean) and, with user and item columns, catalogue Recall@10 beside the
most-popular-items ranking. A dataset whose file is absent is skipped.

Where the files are looked for, in order: ``$MTL_LAB_EXTRA_DATA``, ``../shared/data`` (next to
the repository), ``/work/shared/data``, ``/tmp/mtl_issue11_data``. Relative paths tried:

- ``census_kdd/census-income.test.gz``: UCI Census-Income (KDD) test split, headerless
  (drawbridge/keras-mmoe, ``data/census-income.test.gz``, MIT);
- ``rees46/2019-Oct-head.csv``: REES46 e-commerce event log; its header line is cut off here
  to make a headerless export;
- ``online_retail_ii/online_retail_ii_2009_2010.parquet``: UCI Online Retail II;
- ``womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv``: the public "Women's
  E-Commerce Clothing Reviews" table (Review Text, Rating, Recommended IND, Clothing ID; the
  copy used for README.md is the 1,499-row head committed in Littlerain09/660-BA-I at
  f9279dda, trailing blank rows dropped here);
- ``movielens/ratings.csv`` (+ ``movies.csv`` for titles and genres): MovieLens
  ml-latest-small (GroupLens, research use; e.g. stiigp/simple_recommender_system,
  ``ml-latest-small/``).

Do not commit these files (licences, size). Run from the repository root:
``python bench/issue11_before_after.py [--only NAME ...] [--sklearn]``; prints markdown.
Timings depend on the machine (the README numbers were taken on a shared 2-core machine).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mtl_core.config import ReadOptions, RunConfig  # noqa: E402
from mtl_core.data.events import build_funnel_table  # noqa: E402
from mtl_core.data.io import read_table  # noqa: E402
from mtl_core.data.schema import infer_schema, suggest_tasks  # noqa: E402
from mtl_core.errors import DataError  # noqa: E402
from mtl_core.pipeline import run_experiment  # noqa: E402

SEARCH = [Path(p) for p in (os.environ.get("MTL_LAB_EXTRA_DATA"),) if p] + [
    ROOT.parent / "shared" / "data", Path("/work/shared/data"), Path("/tmp/mtl_issue11_data")]


def locate(rel: str) -> Path:
    for d in SEARCH:
        if (d / rel).exists():
            return d / rel
    raise FileNotFoundError(f"{rel} not found under {', '.join(map(str, SEARCH))}")


def config(tasks, after: bool, arch: str = "shared_bottom", rows: int = 100_000, **data) -> RunConfig:
    """3 epochs of batches of 1,024 on large tables; small tables (under 20k rows) get 20
    epochs of 128 rows, so that both reach a few hundred optimiser steps."""
    small = rows < 20_000
    c = RunConfig()
    c.data.tasks = list(tasks)
    for k, v in data.items():
        setattr(c.data, k, v)
    c.model.arch = arch
    c.model.hidden = [64]
    c.model.tower_hidden = [32]
    c.train.epochs = 20 if small else 3
    c.train.batch_size = 128 if small else 1024
    c.train.lr = 3e-3
    c.train.lr_schedule = "constant"  # the setting its tables were measured with
    c.preprocess.numeric_encoding = "scalar"  # (the default before issue 16)
    c.train.diagnostics = False
    c.preprocess.text_dims = 16 if after else 0
    c.preprocess.time_features = after
    return c


def run(df: pd.DataFrame, tasks, after: bool, **kw) -> dict:
    return run_experiment(config(tasks, after, rows=len(df), **kw), df, save=False).metrics


# ---------------------------------------------------------------------------------- summaries
def _fmt(v, nd=3) -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{nd}f}"


def score_rows(name: str, before: dict, after: dict, extra: dict | None = None) -> list[str]:
    """One markdown row per task: headline metric before / after (/ extra) beside its baseline,
    catalogue Recall@10 beside popularity, and the task's warnings after."""
    rows = []
    for task, a in after["tasks"].items():
        b = before["tasks"].get(task, {})
        if a["kind"] == "binary":
            metric, base = "AUC", 0.5
            vals = [b.get("auc"), a.get("auc")] + ([extra["tasks"][task].get("auc")] if extra else [])
            ll = f" (prior); log loss {_fmt(a.get('logloss'))} vs {_fmt(a['baselines']['prior'].get('logloss'))}"
        elif a["kind"] == "multiclass":
            metric, base = "accuracy", a["baselines"]["majority"]["accuracy"]
            vals = [b.get("accuracy"), a.get("accuracy")] + ([extra["tasks"][task].get("accuracy")] if extra else [])
            ll = f" (majority class); macro-F1 {_fmt(a.get('macro_f1'))}"
        else:
            metric, base = "RMSE", a["baselines"]["mean"]["rmse"]
            vals = [b.get("rmse"), a.get("rmse")] + ([extra["tasks"][task].get("rmse")] if extra else [])
            ll = f" (mean); R² {_fmt(a.get('r2'))}"
        cat_a, cat_b = (after.get("catalog") or {}).get(task), (before.get("catalog") or {}).get(task)
        cat = "–"
        if cat_a:
            pop = cat_a["baselines"]["popularity"].get("recall@10")
            cat = (f"{_fmt(cat_b.get('recall@10') if cat_b else None)} → {_fmt(cat_a.get('recall@10'))} "
                   f"(popularity {_fmt(pop)}; {cat_a['users']} users)")
        warns = list(a.get("warnings") or []) + list((cat_a or {}).get("warnings") or [])
        warn = "; ".join(w if isinstance(w, str) else w.get("code", str(w)) for w in warns)
        shown = " / ".join(_fmt(v) for v in vals)
        rows.append(f"| {name} | {task} ({a.get('positive') or a['kind']}) | {metric} {shown} | {_fmt(base)}{ll} | "
                    f"{cat} | {warn or 'none'} |")
    return rows


def column_changes(before: dict, after: dict) -> str:
    """The columns whose use differs between the two runs, as 'col: before → after'."""
    out = []
    for col, a in after["columns"].items():
        b = before["columns"].get(col, {})
        if b.get("as") != a["as"]:
            out.append(f"`{col}`: {b.get('as', 'absent')} → {a['as']}")
    return "<br>".join(out) or "no change"


def column_uses(after: dict) -> str:
    """Every column and what it became in the 'after' run, shortly."""
    def short(u: dict) -> str:
        text = u["as"].removeprefix("feature: ").split(";")[0].split(" (")[0]
        return text.replace("time features: hour, weekday, month, days since user/item first seen", "time features")
    return "; ".join(f"`{c}` {short(u)}" for c, u in after["columns"].items())


def _before_read(source, **kw) -> str:
    try:
        df = read_table(source, ReadOptions(header=True), **kw)
        return f"{len(df):,} rows; the first record became the names ({', '.join(map(str, df.columns[:3]))}, …)"
    except DataError as exc:
        return f"refused: {str(exc)[:100]}"


# ---------------------------------------------------------------------------------- datasets
def census(out: dict) -> None:
    path = locate("census_kdd/census-income.test.gz")
    df = read_table(path)  # headerless: detected, generated names col_0..col_41
    df = df.sample(30_000, random_state=0).reset_index(drop=True)
    tasks = ["col_41:binary=50000+.", "col_7:binary=Never married"]
    out["census"] = dict(
        name="Census-Income KDD (labelled table, headerless; 30k of 99,762 rows)",
        reading=(_before_read(path), f"headerless detected: {df.shape[1]} columns col_0..col_41, no row lost"),
        before=None, after=run(df, tasks, True))


def rees46_log() -> tuple[bytes, pd.DataFrame]:
    """(the log's bytes without the header line, the log read from them: a headerless export)."""
    raw = locate("rees46/2019-Oct-head.csv").read_bytes()
    body = raw.split(b"\n", 1)[1]
    return body, read_table(body, filename="rees46.csv")


def rees46_funnel(log: pd.DataFrame, labels: str = "event") -> pd.DataFrame:
    """The user × product funnel table (view → cart → purchase) of the REES46 log."""
    return build_funnel_table(log, user_col="col_7", item_col="col_2", event_col="col_1", time_col="col_0",
                              funnel=["view", "cart", "purchase"], labels=labels)


def rees46(out: dict) -> None:
    body, log = rees46_log()
    roles = infer_schema(log)
    t = {lab: rees46_funnel(log, lab) for lab in ("reached", "event")}
    sch = infer_schema(t["event"])
    out["rees46"] = dict(
        name="REES46 event log (headerless export, 17,433 events → user×product funnel)",
        reading=(_before_read(body, filename="rees46.csv"),
                 f"{len(log):,} events; col_0 → {roles.role_of('col_0').value}; funnel table roles user={sch.user_col}, "
                 f"item={sch.item_col}, time={sch.time_col}; event labels: cart rate {t['event']['cart'].mean():.4f} "
                 f"(reached-or-later: {t['reached']['cart'].mean():.4f})"),
        before=run(t["event"], ["cart", "purchase"], False), after=run(t["event"], ["cart", "purchase"], True))


def retail_table(rows: int = 60_000) -> pd.DataFrame:
    """``rows`` seeded lines of Online Retail II with a customer and a positive quantity, by date."""
    df = pd.read_parquet(locate("online_retail_ii/online_retail_ii_2009_2010.parquet"))
    df = df[df["Customer ID"].notna() & (df["Quantity"] > 0)].sample(rows, random_state=0).sort_values("InvoiceDate")
    return df.drop(columns=["Invoice"]).reset_index(drop=True)


def retail(out: dict) -> None:
    df = retail_table()
    tasks = ["Quantity:binary>=12"]
    out["retail"] = dict(
        name="Online Retail II (transaction log, 60k rows; threshold label Quantity ≥ 12)",
        reading=("`Quantity:binary>=12` could not be written; suggested tasks: first binary columns",
                 f"suggested tasks {suggest_tasks(infer_schema(df))}; Customer ID 13085.0 → 13085"),
        before=run(df, tasks, False), after=run(df, tasks, True))


def reviews_table() -> tuple[pd.DataFrame, str]:
    """(the reviews without blank rows and index columns, the name of the 'Recommended IND' column)."""
    df = pd.read_csv(locate("womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv"))
    df = df.dropna(how="all", subset=[c for c in df.columns if not c.startswith("Unnamed")])
    df = df.drop(columns=[c for c in df.columns if c.startswith("Unnamed")]).reset_index(drop=True)
    return df, next(c for c in df.columns if c.replace(" ", "").lower() == "recommendedind")


def reviews(out: dict, sklearn: bool) -> None:
    df, rec = reviews_table()
    tasks = [rec, "Rating:binary>=4"]
    entry = dict(
        name=f"Women's clothing reviews (free text; {len(df):,} reviews)",
        reading=("text columns inferred as text, ticked, then ignored",
                 f"suggested tasks {suggest_tasks(infer_schema(df))}"),
        before=run(df, tasks, False), after=run(df, tasks, True))
    if sklearn:
        entry["sklearn"] = run(df, tasks, True, arch="sklearn")
    out["reviews"] = entry


def movielens_table() -> pd.DataFrame:
    """MovieLens ratings, with titles and genres where ``movies.csv`` is there."""
    ratings = pd.read_csv(locate("movielens/ratings.csv"))
    try:
        return ratings.merge(pd.read_csv(locate("movielens/movies.csv")), on="movieId", how="left")
    except FileNotFoundError:
        return ratings


def movielens(out: dict) -> None:
    ratings = movielens_table()
    tasks = ["rating:binary>=4"]
    s = infer_schema(ratings)
    out["movielens"] = dict(
        name=f"MovieLens ml-latest-small (user–item ratings; {len(ratings):,} ratings, Unix-seconds timestamps)",
        reading=("suggested tasks gender/like on ratings tables; `rating:binary=5` failed on 5.0",
                 f"roles user={s.user_col}, item={s.item_col}, time={s.time_col}; suggested {suggest_tasks(s)}"),
        before=run(ratings, tasks, False), after=run(ratings, tasks, True))


DATASETS = {"reviews": reviews, "census": census, "rees46": rees46, "retail": retail, "movielens": movielens}


def report(out: dict) -> str:
    lines = ["| data | reading before | reading after |", "|---|---|---|"]
    lines += [f"| {e['name']} | {e['reading'][0]} | {e['reading'][1]} |" for e in out.values()]
    lines += ["", "| data | columns whose use changed (before → after) |", "|---|---|"]
    lines += [f"| {e['name']} | {column_changes(e['before'], e['after']) if e['before'] else 'before: unreadable'} |"
              for e in out.values()]
    lines += ["", "| data | what each column became (after) |", "|---|---|"]
    lines += [f"| {e['name'].split(' (')[0]} | {column_uses(e['after'])} |" for e in out.values()]
    lines += ["", "| data | task (positive) | test metric before / after"
              + (" / scikit-learn" if any("sklearn" in e for e in out.values()) else "")
              + " | baseline | catalogue Recall@10 before → after (popularity) | warnings after |",
              "|---|---|---|---|---|---|"]
    for e in out.values():
        before = e["before"] or {"tasks": {}, "catalog": {}}
        lines += score_rows(e["name"].split(" (")[0], before, e["after"], e.get("sklearn"))
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=sorted(DATASETS), help="run only these datasets")
    ap.add_argument("--sklearn", action="store_true", help="also the scikit-learn baseline on the reviews")
    args = ap.parse_args()
    t0 = time.time()
    results: dict = {}
    for key in args.only or list(DATASETS):
        try:
            DATASETS[key](results, args.sklearn) if key == "reviews" else DATASETS[key](results)
        except FileNotFoundError as exc:
            print(f"skipped {key}: {exc}", file=sys.stderr)
    print(report(results))
    print(f"\n({time.time() - t0:.0f} s)")
