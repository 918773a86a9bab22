"""events.build_funnel_table: labels equal a direct computation; features do not leak."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import ReadOptions
from mtl_core.errors import DataError
from mtl_core.data.events import build_funnel_table
from mtl_core.data.io import read_table

FUNNEL = ["view", "cart", "purchase"]


@pytest.fixture(scope="module")
def rees46(shared_data):
    path = shared_data / "rees46" / "2019-Oct-head.csv"
    if not path.exists():
        pytest.skip("rees46 absent")
    return read_table(path)


def _pairs(df, key, stages):
    sub = df[df["event_type"].isin(stages)]
    return set(zip(sub[key], sub["product_id"]))


@pytest.mark.parametrize("by, key", [("user", "user_id"), ("session", "user_session")])
def test_rees46_labels_match_direct(rees46, by, key):
    ft = build_funnel_table(rees46, user_col="user_id", item_col="product_id", event_col="event_type",
                            funnel=FUNNEL, time_col="event_time", session_col="user_session", by=by)
    assert len(ft) == rees46.groupby([key, "product_id"]).ngroups
    assert not ft.duplicated([key, "product_id"]).any()
    got_cart = set(zip(ft.loc[ft["cart"] == 1, key], ft.loc[ft["cart"] == 1, "product_id"]))
    got_buy = set(zip(ft.loc[ft["purchase"] == 1, key], ft.loc[ft["purchase"] == 1, "product_id"]))
    assert got_cart == _pairs(rees46, key, ["cart", "purchase"])
    assert got_buy == _pairs(rees46, key, ["purchase"])
    assert set(ft[["cart", "purchase"]].stack().unique()) <= {0, 1}
    assert (ft["purchase"] <= ft["cart"]).all()
    for col in ("price", "brand", "category_code", "event_time", "user_n_view", "item_n_view"):
        assert col in ft.columns
    assert "event_type" not in ft.columns
    # first event time of the pair
    first = pd.to_datetime(rees46["event_time"], utc=True).groupby([rees46[key], rees46["product_id"]]).min()
    idx = pd.MultiIndex.from_frame(ft[[key, "product_id"]])
    assert (ft["event_time"].to_numpy() == first.reindex(idx).to_numpy()).all()


def test_counts_are_strictly_before_pair_start():
    log = pd.DataFrame({
        "u": ["a", "a", "a", "b", "b", "c"],
        "i": [1, 2, 2, 1, 1, 1],
        "e": ["view", "view", "buy", "buy", "view", "view"],
        "t": [1, 2, 3, 4, 5, 6],
        "price": [10.0, 20.0, 21.0, 10.0, 11.0, 12.0],
    })
    ft = build_funnel_table(log, user_col="u", item_col="i", event_col="e", funnel=["view", "buy"], time_col="t",
                            item_attr_cols=["price"])
    ft = ft.set_index(["u", "i"])
    assert ft.loc[("a", 2), "buy"] == 1 and ft.loc[("a", 1), "buy"] == 0 and ft.loc[("b", 1), "buy"] == 1
    assert ft.loc[("a", 2), "user_n_view"] == 1  # a viewed item 1 at t=1 before t=2
    assert ft.loc[("b", 1), "user_n_view"] == 0  # b's view came after its first event
    assert ft.loc[("c", 1), "item_n_view"] == 2  # views of item 1 at t=1 and t=5
    assert ft.loc[("a", 2), "price"] == 21.0  # latest value
    assert ft.loc[("b", 1), "t"] == 4


def test_headerless_log_via_read_table(tmp_path):
    rows = ["u1,i1,pv,100,3.5", "u1,i1,fav,101,3.5", "u2,i1,pv,102,3.5", "u2,i2,pv,103,9",
            "u2,i2,cart,104,9", "u2,i2,buy,105,9", "u3,i2,buy,106,9", "u3,i3,other,107,1"]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    log = read_table(path, ReadOptions(header=False, names=["user", "item", "behavior", "ts", "price"]))
    ft = build_funnel_table(log, user_col="user", item_col="item", event_col="behavior",
                            funnel=["pv", "fav", "cart", "buy"], time_col="ts")
    ft = ft.set_index(["user", "item"]).sort_index()
    assert ft.index.tolist() == [("u1", "i1"), ("u2", "i1"), ("u2", "i2"), ("u3", "i2")]  # "other" ignored
    assert ft["fav"].tolist() == [1, 0, 1, 1]
    assert ft["cart"].tolist() == [0, 0, 1, 1]
    assert ft["buy"].tolist() == [0, 0, 1, 1]
    assert ft["price"].tolist() == [3.5, 3.5, 9, 9]


def test_without_time_counts_exclude_own_pair():
    log = pd.DataFrame({"u": ["a", "a", "b"], "i": [1, 2, 1], "e": ["view", "cart", "view"]})
    ft = build_funnel_table(log, user_col="u", item_col="i", event_col="e", funnel=["view", "cart"]).set_index(["u", "i"])
    assert ft.loc[("a", 1), "user_n_view"] == 0 and ft.loc[("a", 2), "user_n_view"] == 1
    assert ft.loc[("b", 1), "item_n_view"] == 1


def test_errors():
    log = pd.DataFrame({"u": [1, 2], "i": [1, 1], "e": ["view", "cart"]})
    with pytest.raises(DataError, match="'purchase'.*'view'"):
        build_funnel_table(log, user_col="u", item_col="i", event_col="e", funnel=["view", "purchase"])
    with pytest.raises(DataError, match="'itm'"):
        build_funnel_table(log, user_col="u", item_col="itm", event_col="e", funnel=["view", "cart"])
    with pytest.raises(DataError, match="session"):
        build_funnel_table(log, user_col="u", item_col="i", event_col="e", funnel=["view", "cart"], by="session")
    with pytest.raises(DataError, match="two"):
        build_funnel_table(log, user_col="u", item_col="i", event_col="e", funnel=["view"])


def test_many_events_one_row_per_pair():
    """Speed lives in bench/data_speed.py; here only the result on a larger log."""
    n = 50_000
    rng = np.random.default_rng(0)
    log = pd.DataFrame({
        "user": rng.integers(0, 5_000, n), "item": rng.integers(0, 1_000, n),
        "ev": rng.choice(np.array(["view", "cart", "purchase"]), n, p=[0.9, 0.06, 0.04]),
        "ts": rng.integers(0, 10**9, n), "price": rng.random(n),
    })
    ft = build_funnel_table(log, user_col="user", item_col="item", event_col="ev", funnel=FUNNEL, time_col="ts")
    assert len(ft) == log.groupby(["user", "item"]).ngroups


def _pv_fav_log() -> pd.DataFrame:
    return pd.DataFrame({"col_0": [1, 1, 1, 2, 2, 3], "col_1": [10, 10, 11, 10, 12, 11],
                         "col_2": ["pv", "buy", "pv", "fav", "pv", "cart"],
                         "col_3": [1511544070 + i for i in range(6)]})


def test_event_labels_versus_reached_labels():
    kw = dict(user_col="col_0", item_col="col_1", event_col="col_2", time_col="col_3", funnel=["pv", "fav", "cart", "buy"])
    reached = build_funnel_table(_pv_fav_log(), **kw).set_index(["col_0", "col_1"])
    event = build_funnel_table(_pv_fav_log(), labels="event", **kw).set_index(["col_0", "col_1"])
    # user 1 bought item 10 without a fav or a cart: reached all of them, but only 'buy' happened
    assert reached.loc[(1, 10), ["fav", "cart", "buy"]].tolist() == [1, 1, 1]
    assert event.loc[(1, 10), ["fav", "cart", "buy"]].tolist() == [0, 0, 1]
    assert event.loc[(3, 11), ["fav", "cart", "buy"]].tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="labels"):
        build_funnel_table(_pv_fav_log(), labels="sometimes", **kw)


def test_funnel_choices_become_roles_of_the_table():
    from mtl_core.data.schema import infer_schema

    log = _pv_fav_log().assign(user=7)  # a column whose name says "user" but is not the chosen one
    t = build_funnel_table(log, user_col="col_0", item_col="col_1", event_col="col_2", time_col="col_3",
                           funnel=["pv", "buy"], item_attr_cols=[])
    schema = infer_schema(t)
    assert (schema.user_col, schema.item_col, schema.time_col) == ("col_0", "col_1", "col_3")
    assert infer_schema(log).user_col == "user"  # without the builder, names decide
