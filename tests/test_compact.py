"""Narrow dtypes through preparation: id/categorical columns and 0/1 labels are narrowed in
place with the same values, counts are not, and training sees the same encoded rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mtl_core.config import RunConfig, SplitConfig
from mtl_core.data.compact import narrow_ints, narrowest_int
from mtl_core.pipeline import prepare


def test_narrowest_int_holds_every_value():
    assert narrowest_int(np.array([0, 127], dtype=np.int64)) == np.int8
    assert narrowest_int(np.array([-129, 5], dtype=np.int64)) == np.int16
    assert narrowest_int(np.array([0, 2**31 - 1], dtype=np.int64)) == np.int32
    assert narrowest_int(np.array([0, 2**31], dtype=np.int64)) is None
    assert narrowest_int(np.array([1, 2], dtype=np.int8)) is None  # nothing narrower


def test_narrow_ints_keeps_values_and_skips_counts_and_floats():
    df = pd.DataFrame({"shop_id": np.arange(1000, dtype=np.int64) * 1000, "click": np.tile([0, 1], 500),
                       "qty": np.arange(1000), "price": np.linspace(0, 1, 1000)})
    before = df.copy()
    done = narrow_ints(df, ["shop_id", "price"], ["click", "qty"])
    assert done == ["shop_id", "click"]
    assert df["shop_id"].dtype == np.int32 and df["click"].dtype == np.int8
    assert df["qty"].dtype == np.int64 and df["price"].dtype == np.float64  # arithmetic columns untouched
    pd.testing.assert_frame_equal(df, before, check_dtype=False)


def _frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user_id": rng.integers(0, 50, n), "item_id": rng.integers(100_000, 100_300, n),
                         "x": rng.normal(size=n), "click": rng.integers(0, 2, n)})


def test_prepare_narrows_the_frame_and_encodes_the_same_rows():
    cfg = RunConfig()
    cfg.data.tasks = ["click"]
    cfg.split = SplitConfig(method="random", train=0.6, val=0.2, test=0.2, seed=0)
    df = _frame()
    wide = prepare(cfg, df.astype({"item_id": np.float64}))  # float ids: never narrowed
    prep = prepare(cfg, df)
    assert prep.df is df and df["user_id"].dtype == np.int8 and df["item_id"].dtype == np.int32
    assert df["click"].dtype == np.int8 and df["x"].dtype == np.float64
    for name in ("train", "val", "test"):
        a, b = prep.encoded[name], wide.encoded[name]
        assert a.cat.dtype == np.int32
        np.testing.assert_array_equal(a.cat, b.cat)
        np.testing.assert_array_equal(a.num, b.num)
        np.testing.assert_array_equal(a.labels["click"], b.labels["click"])
