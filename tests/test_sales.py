"""Transactions -> sales table: against a brute-force computation, no leakage, returns rule."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.data.sales import build_sales_table, is_sales_table
from mtl_core.errors import DataError


def _log() -> pd.DataFrame:
    """Three products over 8 weeks: gaps, returns (negative and C-invoices), a late starter."""
    rows = [
        # invoice, product, qty, price, customer, date, category
        ("1", "A", 5, 2.0, "u1", "2024-01-01 10:00", "toys"),
        ("1", "B", 1, 10.0, "u1", "2024-01-01 10:00", "home"),
        ("2", "A", 3, 2.5, "u2", "2024-01-03 12:00", "toys"),
        ("C3", "A", -2, 2.5, "u2", "2024-01-04 09:00", "toys"),   # cancelled invoice
        ("4", "B", 2, 10.0, "u3", "2024-01-09 08:00", "home"),
        # week of 2024-01-15: nothing for A (gap), B has a return without a C invoice
        ("5", "B", -1, 10.0, "u3", "2024-01-16 08:00", "home"),
        ("6", "A", 4, 3.0, "u1", "2024-01-24 08:00", "toys2"),
        ("7", "C", 7, 1.0, "u4", "2024-02-06 08:00", "food"),   # late starter
        ("7", "A", 1, 3.0, "u4", "2024-02-06 08:00", "toys2"),
        ("8", "C", 2, 1.0, "u1", "2024-02-14 08:00", "food"),
        ("9", "B", 6, 9.0, "u2", "2024-02-20 08:00", "home"),
        ("10", "B", 1, -5.0, "u2", "2024-02-25 09:00", "home"),  # adjustment: dropped (on the Sunday:
        # the last week is covered to its end)
    ]
    return pd.DataFrame(rows, columns=["invoice", "product", "qty", "price", "customer", "date", "cat"])


def _build(df, **kw):
    args = dict(key_col="product", time_col="date", quantity_col="qty", price_col="price",
                invoice_col="invoice", count_col="customer", attr_cols=["cat"], period="week")
    args.update(kw)
    return build_sales_table(df, **args)


def _brute(df: pd.DataFrame, horizon: int = 1) -> pd.DataFrame:
    """Row by row, straight from the rules in the module docstring."""
    d = df.copy()
    d["t"] = pd.to_datetime(d["date"])
    d = d[d["price"] >= 0]
    d["ret"] = (d["qty"] < 0) | d["invoice"].str.startswith("C")
    d["wk"] = d["t"].dt.to_period("W-SUN").dt.start_time
    weeks = pd.date_range(d["wk"].min(), d["wk"].max(), freq="7D")
    out = []
    for key in sorted(d["product"].unique()):
        k = d[d["product"] == key]
        first = k["wk"].min()
        series = []
        for w in weeks[weeks >= first]:
            s = k[(k["wk"] == w) & ~k["ret"]]
            series.append(dict(product=key, period=w.strftime("%Y-%m-%d"), quantity=float(s["qty"].sum()),
                               revenue=float((s["qty"] * s["price"]).sum()), orders=float(s["invoice"].nunique()),
                               returned_quantity=float(k[(k["wk"] == w) & k["ret"]]["qty"].abs().sum()),
                               n_customer=float(s["customer"].nunique()),
                               seen=k[k["wk"] <= w].sort_values("t"), sold=k[(k["wk"] <= w) & ~k["ret"]].sort_values("t")))
        for i, r in enumerate(series):
            q = [series[i - j]["quantity"] if i - j >= 0 else 0.0 for j in range(5)]
            rv = [series[i - j]["revenue"] if i - j >= 0 else 0.0 for j in range(4)]
            n4 = min(i + 1, 4)
            sold_idx = [j for j in range(i + 1) if series[j]["quantity"] > 0]
            nxt = series[i + horizon] if i + horizon < len(series) else None
            out.append(dict(
                product=r["product"], period=r["period"], quantity=r["quantity"], revenue=r["revenue"],
                orders=r["orders"], returned_quantity=r["returned_quantity"], n_customer=r["n_customer"],
                quantity_lag1=q[1], quantity_lag2=q[2], quantity_lag4=q[4],
                quantity_mean4=sum(q[:4]) / n4, revenue_mean4=sum(rv) / n4,
                quantity_trend=(q[0] + q[1]) / 2 - (q[2] + q[3]) / 2,
                periods_since_sale=float(i - sold_idx[-1]) if sold_idx else float(i + 1),
                periods_since_first=i,
                price=float(r["sold"]["price"].iloc[-1]) if len(r["sold"]) else np.nan,
                cat=r["seen"]["cat"].iloc[-1],
                next_quantity=nxt["quantity"] if nxt else np.nan,
                next_revenue=nxt["revenue"] if nxt else np.nan,
                buys_next=float(nxt["quantity"] > 0) if nxt else np.nan,
                to_forecast=int(nxt is None)))
    return pd.DataFrame(out)


@pytest.mark.parametrize("horizon", [1, 2])
def test_matches_brute_force(horizon):
    df = _log()
    table, report = _build(df, horizon=horizon)
    want = _brute(df, horizon)
    got = table.sort_values(["product", "period"]).reset_index(drop=True)
    assert list(got["product"]) == list(want["product"])
    assert list(got["period"]) == list(want["period"])
    for col in want.columns:
        if col in ("product", "period", "cat"):
            assert list(got[col]) == list(want[col]), col
        else:
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), err_msg=col)
    # C starts late: its first row is its first week, not the start of the data
    assert got[got["product"] == "C"]["period"].min() == "2024-02-05"
    assert report.return_lines == 2 and report.returned_quantity == 3
    assert report.dropped["negative_price"] == 1
    assert report.forecast_rows == 3 * horizon
    assert report.zero_filled_rows == int((want["quantity"] == 0).sum()) > 0
    assert is_sales_table(table.columns)


def test_no_leakage_future_changes_do_not_change_features():
    df = _log()
    table, _ = _build(df)
    cut = pd.Timestamp("2024-01-22")  # features of periods before this week
    changed = df.copy()
    future = pd.to_datetime(changed["date"]) >= cut
    rng = np.random.default_rng(0)
    changed.loc[future, "qty"] = rng.integers(1, 50, future.sum())
    changed.loc[future, "price"] = rng.uniform(1, 9, future.sum())
    changed.loc[future, "cat"] = "other"
    extra = pd.DataFrame([("99", "A", 9, 1.0, "u9", "2024-02-27 10:00", "x")], columns=df.columns)
    table2, _ = _build(pd.concat([changed, extra], ignore_index=True))
    targets = ["next_quantity", "next_revenue", "buys_next", "to_forecast"]
    before = table[table["period"] < "2024-01-22"].drop(columns=targets).reset_index(drop=True)
    before2 = table2[table2["period"] < "2024-01-22"].drop(columns=targets).reset_index(drop=True)
    pd.testing.assert_frame_equal(before, before2)
    # ...but the targets of the last week before the cut do see the change
    last = table[table["period"] == "2024-01-15"]["next_quantity"].to_numpy()
    last2 = table2[table2["period"] == "2024-01-15"]["next_quantity"].to_numpy()
    assert not np.array_equal(last, last2)


def test_amount_column_and_month_period():
    df = _log()
    df["amount"] = df["qty"] * df["price"]
    by_price, _ = _build(df, period="month")
    by_amount, _ = _build(df.drop(columns="price"), price_col=None, amount_col="amount", period="month")
    pd.testing.assert_frame_equal(by_price, by_amount)
    # the log ends on 25 February: February is partial, its lines are dropped and reported
    assert list(by_price[by_price["product"] == "A"]["period"]) == ["2024-01-01"]
    assert by_price[by_price["product"] == "A"]["quantity"].tolist() == [12.0]
    assert "C" not in set(by_price["product"])
    _, report = _build(df, period="month")
    assert report.partial_period_dropped == "2024-02-01" and report.dropped["partial_last_period"] == 4
    full, report = _build(pd.concat([df, df.iloc[[0]].assign(date="2024-02-29 23:00")]), period="month")
    assert report.partial_period_dropped is None
    assert full[full["product"] == "A"]["quantity"].tolist() == [12.0, 6.0]


def test_errors_are_one_sentence():
    df = _log()
    with pytest.raises(DataError, match="'nope'"):
        _build(df, key_col="nope")
    with pytest.raises(DataError, match="exactly one"):
        _build(df, amount_col="qty")
    with pytest.raises(Exception, match="period"):
        _build(df, period="year")
