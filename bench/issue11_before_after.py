"""Issue 11, reading/roles/features half: before/after on public files in ../shared/data.

"before" = the old behaviour (header assumed, no text/time features); "after" = this branch's
defaults. Prints a markdown table. Run from the repo root: python bench/issue11_before_after.py
"""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mtl_core.config import ReadOptions, RunConfig  # noqa: E402
from mtl_core.data.events import build_funnel_table  # noqa: E402
from mtl_core.data.io import read_table  # noqa: E402
from mtl_core.data.schema import infer_schema, suggest_tasks  # noqa: E402
from mtl_core.pipeline import run_experiment  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")


def _cfg(tasks, text_dims=16, time_features=True, epochs=3) -> RunConfig:
    c = RunConfig()
    c.data.tasks = list(tasks)
    c.model.arch = "shared_bottom"
    c.model.hidden = [64]
    c.model.tower_hidden = [32]
    c.train.epochs = epochs
    c.train.batch_size = 1024
    c.train.lr = 3e-3
    c.train.lr_schedule = "constant"  # the setting its tables were measured with
    c.train.diagnostics = False
    c.preprocess.text_dims = text_dims
    c.preprocess.time_features = time_features
    return c


def _before(source, **kw) -> str:
    from mtl_core.errors import DataError

    try:
        df = read_table(source, ReadOptions(header=True), **kw)
        return f"{len(df):,} rows, the first record's values as names ({', '.join(map(str, df.columns[:3]))}...)"
    except DataError as exc:
        return f"refused: {str(exc)[:100]}"


def _scores(df, tasks, **kw) -> dict:
    m = run_experiment(_cfg(tasks, **kw), df, save=False).metrics
    return {t: round(v.get("auc", v.get("rmse", np.nan)), 3) for t, v in m["tasks"].items()}


def rees46() -> list[str]:
    raw = (DATA / "rees46" / "2019-Oct-head.csv").read_bytes()
    body = raw.split(b"\n", 1)[1]  # the same log without its header line: a headerless export
    after = read_table(body, filename="rees46.csv")
    s = infer_schema(after)
    rows = [f"| REES46 log, header removed | {_before(body, filename='rees46.csv')} | "
            f"rows read {len(after):,}, names col_0..col_8; col_0 role {s.role_of('col_0').value} |"]
    out = {}
    for labels in ("reached", "event"):
        t = build_funnel_table(after, user_col="col_7", item_col="col_2", event_col="col_1", time_col="col_0",
                               funnel=["view", "cart", "purchase"], labels=labels)
        out[labels] = t
    t = out["event"]
    sch = infer_schema(t)
    rows.append(f"| REES46 funnel (event labels) | roles lost | user={sch.user_col}, item={sch.item_col}, time={sch.time_col};"
                f" cart rate {t['cart'].mean():.4f} (reached: {out['reached']['cart'].mean():.4f}) |")
    b = _scores(t, ["cart", "purchase"], time_features=False)
    a = _scores(t, ["cart", "purchase"])
    rows.append(f"| REES46 funnel, test AUC | no time features: {b} | with time features: {a} |")
    return rows


def census() -> list[str]:
    path = DATA / "census_kdd" / "census-income.test.gz"
    was = _before(path)
    after = read_table(path)
    return [f"| Census KDD (headerless) | {was} | {len(after):,} rows, col_0..col_{after.shape[1] - 1} |"]


def retail() -> list[str]:
    df = pd.read_parquet(DATA / "online_retail_ii" / "online_retail_ii_2009_2010.parquet")
    df = df[df["Customer ID"].notna() & (df["Quantity"] > 0)].sample(60_000, random_state=0).sort_values("InvoiceDate")
    df = df.drop(columns=["Invoice"]).reset_index(drop=True)
    s = infer_schema(df)
    rows = [f"| Online Retail II (60k rows) | suggested tasks (old rule: first binary/any label) | "
            f"{suggest_tasks(s)}; user id 13085.0 -> shown/typed as 13085 |"]
    b = _scores(df, ["Quantity:binary>=12"], time_features=False)
    a = _scores(df, ["Quantity:binary>=12"])
    rows.append(f"| Online Retail II, threshold task Quantity>=12, test AUC | before: the threshold could not be written; "
                f"no time features {b} | with time features {a} |")
    return rows


if __name__ == "__main__":
    t0 = time.time()
    lines = ["| data | before | after |", "|---|---|---|"]
    for f in (census, rees46, retail):
        try:
            lines += f()
        except FileNotFoundError as exc:
            lines.append(f"| {f.__name__} | skipped ({exc}) | |")
    print("\n".join(lines))
    print(f"\n({time.time() - t0:.0f} s)")
