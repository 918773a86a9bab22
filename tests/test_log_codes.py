"""Event logs and transaction logs are built on codes: each distinct event type is stripped
and matched once, each distinct timestamp text parsed once; the tables are the same as
parsing and stripping row by row."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.data import events, sales
from mtl_core.data.events import build_funnel_table
from mtl_core.data.keys import datetimes
from mtl_core.data.sales import build_sales_table
from mtl_core.errors import DataError


def _log(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kinds = np.array([" view", "view ", "cart", "purchase", "other"], dtype=object)
    ev = kinds[rng.integers(0, len(kinds), n)]
    ev[rng.random(n) < 0.02] = None
    base = pd.Timestamp("2024-01-01")
    secs = rng.integers(0, 20 * 86400, n) // 3600 * 3600  # repeated times (hours)
    times = [(base + pd.Timedelta(seconds=int(s))).strftime("%Y-%m-%d %H:%M:%S") for s in secs]
    return pd.DataFrame({"user": rng.integers(0, 80, n), "item": rng.integers(0, 40, n), "event": ev, "ts": times})


@pytest.mark.parametrize("values", [
    ["2024-01-01 10:00:00", "2024-01-02 11:30:00", None, "not a time"] * 400,
    ["2024-01-01", "01/02/2024 10:00", "2024-01-03T10:00:00+02:00", None] * 400,
    ["2024-01-01 10:00:00+01:00", "2024-01-01 10:00:00-05:00"] * 700,
])
def test_datetimes_by_value_equal_row_by_row(values):
    s = pd.Series(values, name="ts")
    for kw in ({"errors": "coerce", "format": "mixed"}, {"errors": "coerce", "format": "mixed", "utc": True}):
        try:
            expected = pd.to_datetime(s, **kw)
        except ValueError as exc:  # mixed offsets without utc: the same refusal
            with pytest.raises(type(exc)):
                datetimes(s, **kw)
            continue
        pd.testing.assert_series_equal(datetimes(s, **kw), expected)


def test_funnel_on_codes_matches_a_row_by_row_reference(monkeypatch):
    log = _log()
    got = build_funnel_table(log, user_col="user", item_col="item", event_col="event", funnel=["view", "cart", "purchase"],
                             time_col="ts", labels="event")
    monkeypatch.setattr(events, "datetimes", pd.to_datetime)
    pd.testing.assert_frame_equal(got, build_funnel_table(log, user_col="user", item_col="item", event_col="event",
                                                          funnel=["view", "cart", "purchase"], time_col="ts", labels="event"))
    stages = {"view": 0, "cart": 1, "purchase": 2}
    had: dict = {}
    for u, i, e in zip(log["user"], log["item"], log["event"]):
        if isinstance(e, str) and e.strip() in stages:
            had.setdefault((u, i), set()).add(e.strip())
    assert len(got) == len(had)
    for row in got.itertuples(index=False):
        assert row.cart == int("cart" in had[(row.user, row.item)])
        assert row.purchase == int("purchase" in had[(row.user, row.item)])


def test_missing_stage_message_names_the_stripped_values():
    with pytest.raises(DataError) as exc:
        build_funnel_table(_log(), user_col="user", item_col="item", event_col="event", funnel=["view", "buy"])
    assert "'buy'" in str(exc.value) and "'view'" in str(exc.value) and "' view'" not in str(exc.value)


def test_sales_table_with_repeated_times_is_unchanged(monkeypatch):
    rng = np.random.default_rng(1)
    n = 4000
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, n), unit="D")
    tx = pd.DataFrame({"sku": rng.integers(0, 30, n), "when": days.strftime("%d/%m/%Y 09:00").to_numpy(),
                       "qty": rng.integers(-2, 6, n), "price": rng.uniform(1, 9, n).round(2)})
    got, report = build_sales_table(tx, "sku", "when", "qty", price_col="price", period="week")
    monkeypatch.setattr(sales, "datetimes", pd.to_datetime)
    ref, ref_report = build_sales_table(tx, "sku", "when", "qty", price_col="price", period="week")
    pd.testing.assert_frame_equal(got, ref)
    assert report.to_dict() == ref_report.to_dict() and report.rows > 0
