import numpy as np
import pandas as pd
import pytest

from mtl_core.config import SplitConfig
from mtl_core.errors import DataError
from mtl_core.data.split import split_indices, split_report


def _frame(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    t = start + rng.integers(0, 30 * 86400, n).astype("timedelta64[s]")
    return pd.DataFrame({
        "user": rng.integers(0, 150, n).astype(str),
        "ts": pd.Series(t).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "y": (rng.random(n) < 0.2).astype(float),
        "x": rng.normal(size=n),
    })


def _check_partition(sp, n):
    allidx = np.concatenate([sp["train"], sp["val"], sp["test"]])
    assert len(allidx) == n and len(np.unique(allidx)) == n
    for v in sp.values():
        assert v.dtype == np.int64
        assert (np.diff(v) > 0).all()


@pytest.mark.parametrize("method", ["random", "stratified", "temporal", "user"])
def test_partition_fractions_and_determinism(method):
    df = _frame()
    cfg = SplitConfig(method=method, train=0.7, val=0.15, test=0.15, seed=3)
    kw = dict(time_col="ts", user_col="user", stratify=df["y"].to_numpy())
    sp = split_indices(df, cfg, **kw)
    _check_partition(sp, len(df))
    tol = 0.06 if method == "user" else 0.002
    assert abs(len(sp["train"]) / len(df) - 0.7) <= tol
    assert abs(len(sp["val"]) / len(df) - 0.15) <= tol
    sp2 = split_indices(df, cfg, **kw)
    for k in sp:
        np.testing.assert_array_equal(sp[k], sp2[k])
    if method != "temporal":
        sp3 = split_indices(df, SplitConfig(method=method, train=0.7, val=0.15, test=0.15, seed=4), **kw)
        assert not np.array_equal(sp["test"], sp3["test"])


def test_temporal_order():
    df = _frame()
    sp = split_indices(df, SplitConfig(method="temporal"), time_col="ts")
    t = pd.to_datetime(df["ts"])
    assert t.iloc[sp["train"]].max() <= t.iloc[sp["val"]].min()
    assert t.iloc[sp["val"]].max() <= t.iloc[sp["test"]].min()


def test_temporal_ties_same_side_and_numeric_time():
    df = pd.DataFrame({"t": np.repeat(np.arange(20), 10), "y": 0})  # 200 rows, 10 per time
    df = df.sample(frac=1, random_state=0).reset_index(drop=True)
    sp = split_indices(df, SplitConfig(method="temporal"), time_col="t")
    _check_partition(sp, 200)
    tt = df["t"].to_numpy()
    assert tt[sp["train"]].max() < tt[sp["val"]].min()
    assert tt[sp["val"]].max() < tt[sp["test"]].min()


def test_temporal_mixed_formats_and_bad_times():
    df = pd.DataFrame({"t": ["2024-01-01", "2024/01/03", "2024-01-02 10:00", "Jan 5 2024"] * 5})
    sp = split_indices(df, SplitConfig(method="temporal", train=0.6, val=0.2, test=0.2), time_col="t")
    t = pd.to_datetime(df["t"], format="mixed")
    assert t.iloc[sp["train"]].max() <= t.iloc[sp["test"]].min()
    bad = pd.DataFrame({"t": ["2024-01-01", "not a date", "2024-01-02", "??"] * 5})
    with pytest.raises(DataError, match="10 row"):
        split_indices(bad, SplitConfig(method="temporal"), time_col="t")


def test_user_split_no_shared_users():
    df = _frame()
    sp = split_indices(df, SplitConfig(method="user", seed=1), user_col="user")
    users = {k: set(df["user"].iloc[v]) for k, v in sp.items()}
    assert not users["train"] & users["val"]
    assert not users["train"] & users["test"]
    assert not users["val"] & users["test"]


def test_stratified_rates_equal_with_nan_stratum():
    df = _frame(3000)
    y = df["y"].to_numpy().copy()
    y[::7] = np.nan
    sp = split_indices(df, SplitConfig(method="stratified", seed=2), stratify=y)
    rep = split_report(sp, {"y": y})
    rates = rep["label_rates"]
    assert abs(rates["train"]["y"] - rates["test"]["y"]) < 0.01
    assert abs(rates["train"]["y"] - rates["val"]["y"]) < 0.01
    nan_share = {k: np.isnan(y[v]).mean() for k, v in sp.items()}
    assert abs(nan_share["train"] - nan_share["test"]) < 0.01
    assert rep["sizes"] == {"train": 2400, "val": 300, "test": 300}


def test_split_report_rates():
    sp = {"train": np.array([0, 1, 2]), "val": np.array([3]), "test": np.array([4])}
    y = np.array([1, 0, np.nan, 1, np.nan])
    rep = split_report(sp, {"click": y})
    assert rep["sizes"] == {"train": 3, "val": 1, "test": 1}
    assert rep["label_rates"]["train"]["click"] == 0.5
    assert rep["label_rates"]["val"]["click"] == 1.0
    assert rep["label_rates"]["test"]["click"] is None


def test_errors():
    df = _frame(100)
    with pytest.raises(DataError, match="time column"):
        split_indices(df, SplitConfig(method="temporal"))
    with pytest.raises(DataError, match="user"):
        split_indices(df, SplitConfig(method="user"))
    with pytest.raises(DataError):
        split_indices(df.iloc[:2], SplitConfig())
    same_time = pd.DataFrame({"t": [5] * 50})
    with pytest.raises(DataError, match="empty"):
        split_indices(same_time, SplitConfig(method="temporal"), time_col="t")
    with pytest.raises(DataError, match="users"):
        split_indices(pd.DataFrame({"u": ["a", "b"] * 10}), SplitConfig(method="user"), user_col="u")
    with pytest.raises(DataError, match="stratif"):
        split_indices(df, SplitConfig(method="stratified"))
