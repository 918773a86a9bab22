"""schema: roles, inference on real data, task specs, targets."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.errors import ConfigError, DataError
from mtl_core.data.io import read_table
from mtl_core.data.schema import (
    Role, Schema, check_features_vs_tasks, infer_schema, parse_task_spec, resolve_tasks, task_target,
)
from mtl_core.types import TaskSpec


def _frame() -> pd.DataFrame:
    n = 200
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "userid": rng.integers(0, 50, n),
        "sku": rng.integers(0, 30, n).astype(str),
        "session": rng.integers(0, 80, n).astype(str),
        "ts": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
        "price": rng.random(n) * 100,
        "color": rng.choice(["red", "blue", "green"], n),
        "review": [f"this is a rather long free text review number {i}" for i in range(n)],
        "click": rng.integers(0, 2, n),
        "rating": rng.integers(1, 6, n).astype(float) + rng.random(n).round(1),
        "status": rng.choice([" active", "churned ", "paused"], n),
        "const": 1,
    })


def test_infer_synthetic():
    sc = infer_schema(_frame())
    assert sc.user_col == "userid" and sc.item_col == "sku" and sc.session_col == "session"
    assert sc.time_col == "ts"
    assert sc.role_of("price") == Role.numeric
    assert sc.role_of("color") == Role.categorical
    assert sc.role_of("review") == Role.text
    assert sc.role_of("click") == Role.label
    info = {c.name: c for c in sc.columns}
    assert info["click"].label_kind == "binary" and info["rating"].label_kind == "regression"
    assert info["color"].cardinality == 3 and info["price"].missing_share == 0
    assert sc.role_of("const") == Role.ignore


def test_roundtrip_and_overrides():
    sc = infer_schema(_frame(), overrides={"color": "ignore"})
    assert sc.role_of("color") == Role.ignore
    assert Schema.from_dict(sc.to_dict()) == sc
    sc2 = sc.with_roles({"price": Role.label, "session": " categorical"})
    assert sc2.role_of("price") == Role.label and sc2.session_col is None
    assert sc.role_of("price") == Role.numeric  # original untouched
    with pytest.raises(ConfigError, match="'boss'"):
        sc.with_roles({"price": "boss"})
    with pytest.raises(DataError, match="'prize'.*'price'"):
        sc.with_roles({"prize": "label"})
    assert sc.columns_with("user_id") == ["userid"]


def test_rees46_schema(shared_data):
    path = shared_data / "rees46" / "2019-Oct-head.csv"
    if not path.exists():
        pytest.skip("rees46 absent")
    sc = infer_schema(read_table(path))
    assert sc.role_of("user_id") == Role.user_id
    assert sc.role_of("product_id") == Role.item_id
    assert sc.role_of("user_session") == Role.session_id
    assert sc.role_of("event_time") == Role.timestamp
    assert sc.role_of("category_id") == Role.categorical
    assert sc.role_of("price") == Role.numeric


def test_online_retail_schema(shared_data):
    path = shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.parquet"
    if not path.exists():
        pytest.skip("online retail absent")
    df = pd.read_parquet(path).iloc[:20000]
    sc = infer_schema(df)
    assert sc.user_col == "Customer ID" and sc.item_col == "StockCode"
    assert sc.time_col == "InvoiceDate"
    assert {c.name: c for c in sc.columns}["Quantity"].label_kind == "regression"


def test_parse_task_spec():
    assert parse_task_spec("click") == TaskSpec("click")
    assert parse_task_spec("rating:regression") == TaskSpec("rating", "regression")
    assert parse_task_spec(" Customer ID :multiclass") == TaskSpec("Customer ID", "multiclass")
    assert parse_task_spec("income_50k=  50000+. ") == TaskSpec("income_50k", "binary", "50000+.")
    assert parse_task_spec("marital stat:binary=Never married") == TaskSpec("marital stat", "binary", "Never married")
    with pytest.raises(ConfigError, match="'binar'"):
        parse_task_spec("click:binar")
    with pytest.raises(ConfigError):
        parse_task_spec("  ")
    with pytest.raises(ConfigError):
        parse_task_spec("rating:regression=5")


def test_resolve_tasks():
    df = _frame()
    out = resolve_tasks(df, [TaskSpec("click"), TaskSpec("rating"), TaskSpec("color"), TaskSpec("status", positive="active")])
    assert [t.kind for t in out] == ["binary", "regression", "multiclass", "binary"]
    with pytest.raises(DataError, match="'clik'.*'click'"):
        resolve_tasks(df, [TaskSpec("clik")])
    with pytest.raises(DataError, match="regression"):
        resolve_tasks(df, [TaskSpec("color", "regression")])
    with pytest.raises(DataError, match="'gone'.*'active'"):
        resolve_tasks(df, [TaskSpec("status", "binary", "gone")])
    with pytest.raises(DataError, match="twice"):
        resolve_tasks(df, [TaskSpec("click"), TaskSpec("click")])
    with pytest.raises(DataError, match="exactly 2"):
        resolve_tasks(df, [TaskSpec("color", "binary")])
    df["empty"] = np.nan
    with pytest.raises(DataError, match="all missing"):
        resolve_tasks(df, [TaskSpec("empty")])


def test_check_features_vs_tasks():
    check_features_vs_tasks(["price", "color"], [TaskSpec("click")])
    with pytest.raises(DataError, match="'click'"):
        check_features_vs_tasks(["price", "click"], [TaskSpec("click")])


def test_targets():
    nan = np.nan
    t = task_target(pd.Series([" yes", "no", None, "yes"]), TaskSpec("x", "binary", "yes"))
    np.testing.assert_array_equal(t, np.array([1, 0, nan, 1], dtype=np.float32))
    assert t.dtype == np.float32
    np.testing.assert_array_equal(task_target(pd.Series(["no", "yes", None]), TaskSpec("x")), [0, 1, nan])
    np.testing.assert_array_equal(task_target(pd.Series([0, 1, 1]), TaskSpec("x")), [0, 1, 1])
    np.testing.assert_array_equal(task_target(pd.Series([True, False]), TaskSpec("x")), [1, 0])
    np.testing.assert_array_equal(task_target(pd.Series(["False", "True"]), TaskSpec("x")), [0, 1])
    np.testing.assert_array_equal(task_target(pd.Series(["- 50000.", "50000+.", "- 50000."]), TaskSpec("x")), [0, 1, 0])
    np.testing.assert_array_equal(task_target(pd.Series([3.0, 7.0, nan]), TaskSpec("x")), [0, 1, nan])
    r = task_target(pd.Series([1.5, None, 3]), TaskSpec("r", "regression"))
    assert np.isnan(r[1]) and r[0] == 1.5
    m = task_target(pd.Series([1.0, 2.0, None]), TaskSpec("m", "multiclass"))
    assert m[0] == "1" and m[1] == "2" and pd.isna(m[2])


def test_resolve_tasks_writes_the_positive_it_decided():
    df = _frame()
    out = resolve_tasks(df, [TaskSpec("click"), TaskSpec("status", positive=" active"), TaskSpec("rating")])
    assert [t.positive for t in out] == ["1", "active", None]
    df["flag"] = [1.0, 0.0] * 100
    assert resolve_tasks(df, [TaskSpec("flag", positive="1.0")])[0].positive == "1"  # as the column writes 1


def test_time_roles_from_values():
    rng = np.random.default_rng(0)
    secs = 1_511_544_070 + rng.integers(0, 10_000_000, 200)
    df = pd.DataFrame({"col_0": secs, "col_1": secs * 1000, "col_2": pd.Series(secs).astype(float),
                       "when": pd.to_datetime(secs, unit="s").strftime("%Y-%m-%d %H:%M:%S"),
                       "price": rng.uniform(1, 500, 200), "item_id": secs, "constant": 1_511_544_070})
    roles = {c.name: c.role.value for c in infer_schema(df).columns}
    assert roles["col_0"] == roles["col_1"] == roles["col_2"] == roles["when"] == "timestamp"
    assert roles["price"] == "numeric" and roles["item_id"] == "item_id" and roles["constant"] == "ignore"


def test_canonical_ids():
    from mtl_core.data.keys import canonical_ids, same_key
    from mtl_core.data.schema import id_like_columns

    df = pd.DataFrame({"user_id": [14911.0, np.nan, 3.0], "price": [1.0, 2.0, 3.0], "shop_id": [1.5, 2.0, 3.0]})
    out = canonical_ids(df, id_like_columns(infer_schema(df)))
    assert out["user_id"].tolist()[0] == "14911" and pd.isna(out["user_id"].iloc[1])
    assert out["price"].dtype == float and out["shop_id"].tolist() == [1.5, 2.0, 3.0]  # not ids / not whole
    assert df["user_id"].dtype == float  # the input is not changed
    assert same_key(df["user_id"], "14911").tolist() == [True, False, False]
    assert same_key(out["user_id"], 14911.0).tolist() == [True, False, False]


def test_a_long_table_gets_the_roles_of_all_its_rows_from_a_sample(monkeypatch):
    """Past SAMPLE_ROWS rows the value rules read a seeded sample: same roles, kinds and missing
    shares as reading every row, exact distinct counts except for a continuous column's (an
    estimate), and a rare value outside the sample still counts."""
    import mtl_core.data.schema as schema_mod

    n = 30_000
    rng = np.random.default_rng(5)
    df = pd.DataFrame({
        "user_id": rng.integers(0, 3000, n), "item_id": rng.integers(0, 800, n).astype(str),
        "ts": pd.date_range("2024-01-01", periods=n, freq="min").astype(str),
        "epoch": rng.integers(1_600_000_000, 1_700_000_000, n),
        "price": np.round(rng.gamma(2.0, 10.0, n), 2), "level": rng.integers(0, 5, n),
        "flag": np.where(rng.random(n) < 0.5, 1.5, 2.5), "colour": rng.choice(["red", "blue", None], n),
        "note": [f"a fairly long free text note about the row number {i}" for i in range(n)],
        "click": rng.integers(0, 2, n), "amount": rng.random(n), "const": 7.0,
    })
    df.loc[rng.random(n) < 0.05, "price"] = np.nan
    df.loc[n - 1, "flag"] = 9.0  # a third value, in (almost surely) no sample: not a binary column
    whole = infer_schema(df)
    monkeypatch.setattr(schema_mod, "SAMPLE_ROWS", 2_000)
    sampled = infer_schema(df)
    for a, b in zip(whole.columns, sampled.columns):
        assert (a.name, a.role, a.dtype, a.missing_share, a.label_kind) == (b.name, b.role, b.dtype, b.missing_share,
                                                                             b.label_kind)
        if a.name != "amount" and a.name != "price":
            assert a.cardinality == b.cardinality, a.name
    info = {c.name: c for c in sampled.columns}
    assert info["flag"].cardinality == 3 and info["flag"].label_kind is None
    assert info["epoch"].role == Role.timestamp and info["note"].role == Role.text
    # continuous columns: the distinct count is estimated, within a factor of two here
    for c in ("amount", "price"):
        assert 0.5 < info[c].cardinality / whole.columns[whole.names.index(c)].cardinality < 2.0


def test_uint64_ids_beyond_int64_are_counted_without_overflow():
    """Ids above 2**63 (pyarrow reads them as uint64) are counted by hashing, not by the
    counting table (which works in int64): the schema is inferred and the distinct count is exact."""
    from mtl_core.data.int_values import plain_ints, value_counts

    big = np.array([2**64 - 1, 2**64 - 2, 2**64 - 1, 2**63 + 5], dtype=np.uint64)
    df = pd.DataFrame({"user_id": big, "x": [1.0, 2.0, 3.0, 4.0]})
    col = {c.name: c for c in infer_schema(df).columns}["user_id"]
    assert col.cardinality == 3
    assert plain_ints(big) is None and plain_ints(pd.Series([1, 2], dtype="Int64")) is None
    lo, counts = value_counts(np.array([7, 9, 9, -2], dtype=np.int32))
    assert lo == -2 and counts.tolist() == [1] + [0] * 8 + [1, 0, 2]
    assert value_counts(np.array([0, 10**9])) is None and value_counts(np.zeros(0, np.int64)) is None
