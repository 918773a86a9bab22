"""The catalogue / users / interactions tables built column by column (runs.tables) equal the
frame-based definition: sort the training rows by time, an attribute belongs to an item (a
user) when it has one distinct value for >= 95 % of them, the latest row per key, medians and
modes of the context columns."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mtl_core.runs import tables
from mtl_core.runs.save import _item_user_tables
from mtl_core.types import TaskSpec


def _reference(prep, pos):
    """The definition, on a copy of the training rows (what the tables meant before issue 15)."""
    df = prep.df
    feats = [c for c in prep.cat_cols + prep.num_cols if c not in (prep.user_col, prep.item_col)]
    train = df.iloc[pos]
    if prep.time_col:
        order = pd.to_datetime(train[prep.time_col], errors="coerce", format="mixed", utc=True)
        train = train.assign(_t=order).sort_values("_t", kind="stable").drop(columns="_t")

    def constant(key, cols):
        return [c for c in cols if (train.groupby(key)[c].nunique() <= 1).mean() >= 0.95]

    item_cols = constant(prep.item_col, feats)
    user_cols = constant(prep.user_col, [c for c in feats if c not in item_cols])
    context = [c for c in feats if c not in item_cols and c not in user_cols]
    defaults = {}
    for c in context:
        s = train[c].dropna()
        defaults[c] = (None if s.empty else float(s.median()) if c in prep.num_cols
                       else str(s.astype(str).mode().iloc[0]))
    catalog = train.drop_duplicates(prep.item_col, keep="last")[[prep.item_col] + item_cols]
    users = train.drop_duplicates(prep.user_col, keep="last")[[prep.user_col] + user_cols + context]
    inter = train[[prep.user_col, prep.item_col, prep.time_col, "click"]]
    return catalog, users, inter, {"item_cols": item_cols, "user_cols": user_cols, "context_cols": context,
                                   "context_defaults": defaults}


def _log(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    item = rng.integers(0, 3000, n)
    user = rng.integers(0, 20_000, n)
    n_items = 3000
    brand = rng.integers(0, 50, n_items)
    noisy = np.where(rng.random(n) < 0.0003, rng.integers(0, 50, n), brand[item])  # constant for most items
    price = np.round(rng.gamma(2.0, 10.0, n_items), 2)[item]
    price[rng.random(n) < 0.1] = np.nan  # gaps do not break constancy
    colour = np.array(["red", "green", "blue", None], dtype=object)[rng.integers(0, 4, n_items)][item]
    late = brand[item].copy()
    late[n // 2:] = rng.integers(0, 50, n - n // 2)  # constant in the first rows only: all rows decide
    df = pd.DataFrame({
        "user": user.astype(np.int32), "item": item.astype(np.float64), "brand": brand[item].astype(np.int16),
        "noisy": noisy, "late": late, "price": price, "colour": colour,
        "age": rng.integers(18, 80, 20_000)[user].astype(np.int8),  # a user attribute
        "device": rng.choice(["ios", "android", "web"], n),  # context
        "hour": rng.integers(0, 24, n).astype(np.float64),  # numeric context
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        "click": (rng.random(n) < 0.1).astype(np.int8),
    })
    df.loc[rng.random(n) < 0.001, "item"] = np.nan  # rows without an item
    df["when"] = df["when"].astype(str)
    df.loc[rng.random(n) < 0.001, "when"] = "not a date"
    return df


@pytest.mark.parametrize("n", [3_000, 300_000])
def test_tables_equal_the_frame_definition(n):
    df = _log(n)
    pos = np.sort(np.random.default_rng(1).choice(n, int(n * 0.8), replace=False))
    prep = SimpleNamespace(df=df, cat_cols=["user", "item", "brand", "noisy", "late", "colour", "age", "device"],
                           num_cols=["price", "hour"], user_col="user", item_col="item", time_col="when",
                           tasks=[TaskSpec("click")])
    got = _item_user_tables(prep, pos)
    want = _reference(prep, pos)
    assert got[3] == want[3]
    if n == 300_000:  # the planted roles (the small frame has too few rows per key to show them)
        assert got[3]["item_cols"] == ["brand", "noisy", "colour", "price"]
        assert got[3]["user_cols"] == ["age"]
        assert "late" in got[3]["context_cols"]
    for g, w in zip(got[:3], want[:3]):
        pd.testing.assert_frame_equal(g, w)


def test_key_codes_group_like_factorize():
    v = np.array([5, -3, 5, 7, -3], dtype=np.int8)
    codes, na = tables.key_codes(v)
    assert na is None and len(set(codes.tolist())) == 3
    assert (codes[0] == codes[2]) and (codes[1] == codes[4]) and codes[0] != codes[3]
    codes, na = tables.key_codes(np.array(["a", None, "b", None], dtype=object))
    assert codes[1] == codes[3] == na and codes[0] != codes[2]


def test_mode_text_of_integers_breaks_ties_by_text():
    # 9 and 10 both twice: "10" < "9" as text, as str(s.astype(str).mode()) says
    assert tables._mode_text(np.array([9, 10, 9, 10, 3], dtype=np.int64)) == "10"
    assert tables._mode_text(np.array([-5, -5, 2], dtype=np.int8)) == "-5"
