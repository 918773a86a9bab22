"""Transaction log -> sales table: one row per (key, period) with next-period targets.

The key is any column (a product, a customer, a store, a country). For each key the table
has one row per period (day, week or month) from the key's first activity (any line, a
return included) to the last period of the data; periods without sales are zeros.

Returns and cancellations (documented rule)
    A line is a *return* when its quantity is negative or, with ``invoice_col``, its invoice
    starts with ``C`` (a cancelled invoice). Returns never count as sales: ``quantity``,
    ``revenue`` and ``orders`` are gross sales of non-return lines only, so the targets are
    never negative. The units returned in a period are a feature of their own
    (``returned_quantity``, a positive number). Lines with a negative price (accounting
    adjustments), a zero quantity, or a missing key, time, quantity or price are dropped, and
    so are the lines of a last period that the log does not cover to its last day (a log that
    ends on a Thursday would otherwise show a sales drop in its last week).
    :func:`build_sales_table` returns a report with every count.

Features of the row (key, t) use periods <= t only (no leakage):
    ``quantity``, ``revenue``, ``orders`` (distinct invoices, else lines),
    ``n_<count_col>`` (distinct customers/items), ``returned_quantity``; ``quantity_lag1``,
    ``quantity_lag2``, ``quantity_lag4`` (the value 1, 2, 4 periods ago; 0 before the key's
    first period), ``quantity_mean4``/``revenue_mean4`` (mean of the last 4 periods, fewer at
    the start), ``quantity_trend`` (mean of the last 2 periods minus mean of the 2 before),
    ``periods_since_sale`` (0 when it sold this period; periods since first activity + 1 when
    it never sold), ``periods_since_first``; calendar ``month``, ``quarter`` and
    ``week_of_year`` (week) or ``day_of_week`` (day); ``price`` (latest unit price seen) and
    the latest value of each ``attr_cols`` column (category, description...).
Targets at t + horizon: ``next_quantity``, ``next_revenue``, ``buys_next`` (1 when any sale).
    The last ``horizon`` periods have no target yet: ``to_forecast`` is 1 there (the set to
    forecast) and 0 elsewhere; training uses the rows with ``to_forecast == 0`` only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError
from ..validate import choice, number
from .keys import datetimes

PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}
FORECAST_COL = "to_forecast"
PERIOD_COL = "period"
TARGETS = ("next_quantity", "next_revenue", "buys_next")
# the history columns: numbers the schema inference could take for labels (0/1-like, counts)
NUMERIC_FEATURES = ("quantity", "revenue", "orders", "returned_quantity", "quantity_lag1", "quantity_lag2",
                    "quantity_lag4", "quantity_mean4", "revenue_mean4", "quantity_trend", "periods_since_sale",
                    "periods_since_first", "price", "week_of_year", "day_of_week")
# regression target -> (this period's value, mean of the last 4 periods): the naive forecasts
NAIVE = {"next_quantity": ("quantity", "quantity_mean4"), "next_revenue": ("revenue", "revenue_mean4")}


@dataclass
class SalesReport:
    lines_in: int = 0
    lines_used: int = 0
    return_lines: int = 0
    returned_quantity: float = 0.0
    dropped: dict = field(default_factory=dict)
    keys: int = 0
    periods: int = 0
    rows: int = 0
    zero_filled_rows: int = 0
    forecast_rows: int = 0
    data_end: str | None = None
    partial_period_dropped: str | None = None  # start of a last period the data covers only partly
    rule: str = ("returns (negative quantity or invoice starting with C) are not sales; "
                 "their units are the feature returned_quantity")

    @property
    def zero_filled_share(self) -> float:
        return self.zero_filled_rows / self.rows if self.rows else 0.0

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["zero_filled_share"] = round(self.zero_filled_share, 6)
        return d


def _check_cols(df: pd.DataFrame, cols: dict[str, str | None]) -> None:
    for what, c in cols.items():
        if c is not None and c not in df.columns:
            raise DataError(f"The {what} column {c!r} is not in the data; columns are: {', '.join(map(str, df.columns[:20]))}.")


def _period_index(t: pd.Series, period: str) -> tuple[np.ndarray, pd.Series]:
    """Integer period number and the period's start date of each timestamp."""
    start = t.dt.to_period(PERIODS[period]).dt.start_time
    if period == "month":
        idx = start.dt.year.to_numpy() * 12 + start.dt.month.to_numpy() - 1
    else:
        days = (start - pd.Timestamp("1970-01-05")).dt.days.to_numpy()  # 1970-01-05 is a Monday
        idx = days // 7 if period == "week" else days
    return idx.astype(np.int64), start


def _clean_lines(df, key_col, time_col, quantity_col, price_col, amount_col, invoice_col, report):
    n = len(df)
    t = datetimes(df[time_col], errors="coerce", format="mixed")
    q = pd.to_numeric(df[quantity_col], errors="coerce")
    if amount_col is not None:
        amount = pd.to_numeric(df[amount_col], errors="coerce")
        price = amount / q.where(q != 0)
    else:
        price = pd.to_numeric(df[price_col], errors="coerce")
        amount = q * price
    bad_key = df[key_col].isna().to_numpy()
    bad_time = t.isna().to_numpy()
    bad_num = (q.isna() | amount.isna()).to_numpy()
    zero_q = (q == 0).to_numpy()
    neg_price = (price < 0).to_numpy()
    drop = bad_key | bad_time | bad_num | zero_q | neg_price
    report.dropped = {"missing_key": int(bad_key.sum()), "bad_time": int((bad_time & ~bad_key).sum()),
                      "missing_quantity_or_price": int((bad_num & ~bad_key & ~bad_time).sum()),
                      "zero_quantity": int((zero_q & ~(bad_key | bad_time | bad_num)).sum()),
                      "negative_price": int((neg_price & ~(bad_key | bad_time | bad_num | zero_q)).sum())}
    keep = ~drop
    is_return = (q < 0).to_numpy().copy()
    if invoice_col is not None:
        is_return |= df[invoice_col].astype("string").str.strip().str.upper().str.startswith("C").fillna(False).to_numpy(bool)
    lines = pd.DataFrame({"key": df[key_col].to_numpy(), "t": t.to_numpy(), "q": q.abs().to_numpy(),
                          "amount": amount.abs().to_numpy(), "price": price.abs().to_numpy(),
                          "ret": is_return,
                          "inv": df[invoice_col].to_numpy() if invoice_col else np.arange(n)})
    lines = lines[keep].reset_index(drop=True)
    report.lines_in = n
    report.data_end = str(t.max()) if t.notna().any() else None
    report.lines_used = int(len(lines))
    report.return_lines = int(lines["ret"].sum())
    report.returned_quantity = float(lines.loc[lines["ret"], "q"].sum())
    return lines, keep


def _drop_partial_last_period(lines: pd.DataFrame, keep: np.ndarray, period: str, report: "SalesReport"):
    """A last period that the data does not cover to its last day (the log ends mid-week or
    mid-month) would look like a sales drop: its lines are dropped and reported."""
    last_p = int(lines["p"].max())
    end_day = pd.Timestamp(report.data_end).normalize()  # the log's last time, any line
    next_start = _period_starts(np.array([last_p + 1]), period).iloc[0]
    if end_day + pd.Timedelta(days=1) >= next_start or lines["p"].min() == last_p:
        return lines, keep
    partial = (lines["p"] == last_p).to_numpy()
    report.dropped["partial_last_period"] = int(partial.sum())
    report.partial_period_dropped = _period_starts(np.array([last_p]), period).iloc[0].strftime("%Y-%m-%d")
    keep = keep.copy()
    keep[np.flatnonzero(keep)[partial]] = False
    lines = lines[~partial].reset_index(drop=True)
    report.return_lines = int(lines["ret"].sum())
    report.returned_quantity = float(lines.loc[lines["ret"], "q"].sum())
    report.lines_used = int(len(lines))
    return lines, keep


def _aggregate(lines: pd.DataFrame, count_col_values, count_name: str | None) -> pd.DataFrame:
    sales = lines[~lines["ret"]]
    g = sales.groupby(["key", "p"], sort=False)
    agg = pd.DataFrame({"quantity": g["q"].sum(), "revenue": g["amount"].sum(), "orders": g["inv"].nunique()})
    if count_name is not None:
        agg[count_name] = sales.assign(c=count_col_values[~lines["ret"].to_numpy()]).groupby(["key", "p"], sort=False)["c"].nunique()
    ret = lines[lines["ret"]].groupby(["key", "p"], sort=False)["q"].sum().rename("returned_quantity")
    agg = agg.join(ret, how="outer")
    # latest unit price (of sales lines) per (key, period)
    last = sales.sort_values("t", kind="stable").groupby(["key", "p"], sort=False)["price"].last().rename("price")
    return agg.join(last, how="left")


def _grid(lines: pd.DataFrame, last_p: int) -> pd.DataFrame:
    """Every (key, period) from the key's first activity to the last period (vectorised)."""
    first = lines.groupby("key", sort=True)["p"].min()
    n = (last_p - first.to_numpy() + 1).astype(np.int64)
    keys = np.repeat(first.index.to_numpy(), n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return pd.DataFrame({"key": keys, "p": np.repeat(first.to_numpy(), n) + offs,
                         "first": np.repeat(first.to_numpy(), n)})


def _history_features(tab: pd.DataFrame) -> None:
    g = tab.groupby("key", sort=False)
    q = tab["quantity"]
    lags = {k: g["quantity"].shift(k).fillna(0.0) for k in (1, 2, 3, 4)}
    for k in (1, 2, 4):
        tab[f"quantity_lag{k}"] = lags[k]
    since_first = tab["p"] - tab["first"]
    n4 = np.minimum(since_first + 1, 4)
    tab["quantity_mean4"] = (q + lags[1] + lags[2] + lags[3]) / n4
    r = g["revenue"]
    tab["revenue_mean4"] = (tab["revenue"] + r.shift(1).fillna(0.0) + r.shift(2).fillna(0.0) + r.shift(3).fillna(0.0)) / n4
    tab["quantity_trend"] = (q + lags[1]) / 2 - (lags[2] + lags[3]) / 2
    last_sale = tab["p"].where(q > 0).groupby(tab["key"], sort=False).ffill()
    tab["periods_since_sale"] = (tab["p"] - last_sale).fillna(since_first + 1)
    tab["periods_since_first"] = since_first


def _calendar(tab: pd.DataFrame, start: pd.Series, period: str) -> None:
    tab["month"] = start.dt.month.to_numpy()
    tab["quarter"] = start.dt.quarter.to_numpy()
    if period == "week":
        tab["week_of_year"] = start.dt.isocalendar().week.astype(np.int64).to_numpy()
    elif period == "day":
        tab["day_of_week"] = start.dt.dayofweek.to_numpy()


def _period_starts(p: np.ndarray, period: str) -> pd.Series:
    p = np.asarray(p, dtype=np.int64)
    if period == "month":
        return pd.Series(pd.to_datetime({"year": p // 12, "month": p % 12 + 1, "day": 1}))
    step = 7 if period == "week" else 1
    return pd.Series(pd.Timestamp("1970-01-05") + pd.to_timedelta(p * step, unit="D"))


def _attributes(df: pd.DataFrame, keep: np.ndarray, lines: pd.DataFrame, attr_cols: list[str]) -> pd.DataFrame:
    """Latest value of each attribute column per (key, period) of activity."""
    vals = df.loc[keep, attr_cols].reset_index(drop=True)
    frame = pd.concat([lines[["key", "p", "t"]], vals], axis=1).sort_values("t", kind="stable")
    return frame.groupby(["key", "p"], sort=False)[attr_cols].last()


def build_sales_table(df: pd.DataFrame, key_col: str, time_col: str, quantity_col: str,
                      price_col: str | None = None, amount_col: str | None = None, period: str = "week",
                      invoice_col: str | None = None, count_col: str | None = None,
                      attr_cols: list[str] | tuple = (), horizon: int = 1) -> tuple[pd.DataFrame, SalesReport]:
    """The sales table and a report of what was counted and dropped (see the module doc)."""
    choice("period", period, tuple(PERIODS))
    number("horizon", horizon, lo=1, integer=True)
    if (price_col is None) == (amount_col is None):
        raise DataError("Give exactly one of a price column (unit price) or an amount column (line total).")
    _check_cols(df, {"key": key_col, "time": time_col, "quantity": quantity_col, "price": price_col,
                     "amount": amount_col, "invoice": invoice_col, "count": count_col,
                     **{f"attribute {c!r}": c for c in attr_cols}})
    attr_cols = [c for c in dict.fromkeys(attr_cols) if c not in (key_col, time_col)]
    report = SalesReport()
    lines, keep = _clean_lines(df, key_col, time_col, quantity_col, price_col, amount_col, invoice_col, report)
    if lines.empty:
        raise DataError("No usable transaction lines: every line lacks a key, a time, a quantity or a price.")
    lines["p"], _ = _period_index(lines["t"], period)
    lines, keep = _drop_partial_last_period(lines, keep, period, report)
    count_name = f"n_{count_col}" if count_col else None
    counts = df.loc[keep, count_col].to_numpy() if count_col else None
    agg = _aggregate(lines, counts, count_name)
    last_p = int(lines["p"].max())
    tab = _grid(lines, last_p).merge(agg.reset_index(), on=["key", "p"], how="left")
    cols = ["quantity", "revenue", "orders", "returned_quantity"] + ([count_name] if count_name else [])
    tab[cols] = tab[cols].fillna(0.0)
    zero = tab["quantity"] == 0  # no sale in the period (a return-only period included)
    if attr_cols:
        tab = tab.merge(_attributes(df, keep, lines, attr_cols).reset_index(), on=["key", "p"], how="left")
    g = tab.groupby("key", sort=False)
    tab[["price"] + attr_cols] = g[["price"] + attr_cols].ffill()
    _history_features(tab)
    start = _period_starts(tab["p"].to_numpy(), period)
    _calendar(tab, start, period)
    tab["next_quantity"] = g["quantity"].shift(-horizon)
    tab["next_revenue"] = g["revenue"].shift(-horizon)
    tab["buys_next"] = (tab["next_quantity"] > 0).astype(float).where(tab["next_quantity"].notna())
    tab[FORECAST_COL] = tab["next_quantity"].isna().astype(np.int64)
    tab[PERIOD_COL] = start.dt.strftime("%Y-%m-%d").to_numpy()
    tab = tab.rename(columns={"key": key_col})
    out_cols = [key_col, PERIOD_COL] + cols + [c for c in tab.columns if c not in cols and c not in (
        key_col, PERIOD_COL, "p", "first", *TARGETS, FORECAST_COL, *attr_cols, "price")]
    out = tab[out_cols + ["price"] + attr_cols + list(TARGETS) + [FORECAST_COL]].reset_index(drop=True)
    report.keys = int(out[key_col].nunique())
    report.periods = int(last_p - lines["p"].min() + 1)
    report.rows = int(len(out))
    report.zero_filled_rows = int(zero.sum())
    report.forecast_rows = int(out[FORECAST_COL].sum())
    return out, report


def is_sales_table(columns) -> bool:
    cols = set(columns)
    return FORECAST_COL in cols and PERIOD_COL in cols and any(c in cols for c in TARGETS)


def adapt_for_training(df: pd.DataFrame, config) -> tuple[pd.DataFrame, list[str]]:
    """A sales table read for training: rows still to forecast are set aside, the target
    columns that are not tasks and the marker never become features, the key is an id
    and the split is temporal by period (a random split would train on the future).
    Mutates ``config`` so that its saved JSON says what was done; returns notes."""
    if not is_sales_table(df.columns):
        return df, []
    d = config.data
    notes = []
    n = int((df[FORECAST_COL] == 1).sum())
    df = df[df[FORECAST_COL] != 1].reset_index(drop=True)
    notes.append(f"sales table: {n:,} rows still to forecast (no target yet) set aside")
    d.drop = list(dict.fromkeys(list(d.drop) + [c for c in (*TARGETS, FORECAST_COL) if c in df.columns]))
    from ..types import TaskSpec
    from .schema import parse_task_spec

    tasks = [parse_task_spec(t) if isinstance(t, str) else TaskSpec.from_dict(t) for t in d.tasks]
    taken = set(d.roles) | {t.column for t in tasks} | set(d.drop)
    roles = {c: "numeric" for c in df.columns if (c in NUMERIC_FEATURES or str(c).startswith("n_")) and c not in taken}
    key = str(df.columns[0])
    if key not in taken and key not in (d.user_col, d.item_col):
        roles[key] = "categorical"
    d.roles = {**d.roles, **roles}
    if not d.time_col:
        d.time_col = PERIOD_COL
    if config.split.method == "random":
        config.split.method = "temporal"
        notes.append("sales table: split temporal by period (a random split would train on the future)")
    return df, notes
