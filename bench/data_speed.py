"""Speed of the data layer on synthetic inputs (moved here from the tests, which no longer
time themselves). Prints seconds per step next to the target the tests used to assert:

    read_table        300k-row CSV                      target < 5 s
    build_funnel_table  1M events (user, item, type, time)  target < 10 s
    Preprocessor      200k rows, 50k-category column, fit + transform   target < 5 s

    python bench/data_speed.py
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mtl_core.config import PreprocessConfig  # noqa: E402
from mtl_core.data.events import build_funnel_table  # noqa: E402
from mtl_core.data.io import read_table  # noqa: E402
from mtl_core.data.preprocessing import Preprocessor  # noqa: E402
from mtl_core.types import TaskSpec  # noqa: E402


def timed(name: str, target: float, fn) -> None:
    t = time.perf_counter()
    fn()
    s = time.perf_counter() - t
    print(f"{name:<20} {s:6.2f} s   (target < {target:g} s){'' if s < target else '   SLOW'}", flush=True)


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        n = 300_000
        path = Path(tmp) / "big.csv"
        pd.DataFrame({"u": rng.integers(0, 10_000, n), "i": rng.integers(0, 5_000, n),
                      "c": rng.choice(["a ", " b", "c"], n), "x": rng.random(n)}).to_csv(path, index=False)
        timed("read_table", 5, lambda: read_table(path))
    n = 1_000_000
    log = pd.DataFrame({
        "user": rng.integers(0, 100_000, n), "item": rng.integers(0, 20_000, n),
        "ev": rng.choice(np.array(["view", "cart", "purchase"]), n, p=[0.9, 0.06, 0.04]),
        "ts": rng.integers(0, 10**9, n), "price": rng.random(n),
    })
    timed("build_funnel_table", 10, lambda: build_funnel_table(
        log, user_col="user", item_col="item", event_col="ev", funnel=["view", "cart", "purchase"], time_col="ts"))
    n = 200_000
    df = pd.DataFrame({"cat": rng.integers(0, 50_000, n).astype(str), "x": rng.normal(size=n),
                       "click": rng.integers(0, 2, n), "price_paid": rng.normal(size=n)})
    df.loc[::10, "x"] = np.inf
    pre = Preprocessor(PreprocessConfig(), ["cat"], ["x"], [TaskSpec("click"), TaskSpec("price_paid", "regression")])
    timed("Preprocessor", 5, lambda: pre.fit(df).transform(df))


if __name__ == "__main__":
    main()
