"""The catalogue, users and training interactions a run recommends from, computed column by
column from the training rows (``runs.save.item_user_tables`` is the entry point).

Performance (issue 15): nothing here copies the training frame. Each column is gathered at
the training positions only when a rule needs it; integer columns are used as their own value
codes (no hash table); which attributes are constant within an item or a user is first
decided on a subset of the rows, which can only prove a column *not* constant (adding rows
never makes a key constant again), so every answer is the one all the rows give.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.int_values import plain_ints, value_counts

#: an attribute is an item's (a user's) when it is constant within this share of items (users)
CONSTANT_SHARE = 0.95
#: row counts of the subsets tried before all rows (each can only reject a column)
_PROBES = (1 << 16, 1 << 19)


def take(df: pd.DataFrame, col: str, pos: np.ndarray):
    """The values of ``df[col]`` at row positions ``pos`` (a NumPy array, or the column's
    extension array), without building an index."""
    s = df[col]
    arr = s.to_numpy() if isinstance(s.dtype, np.dtype) else s.array
    return arr.take(pos)


def _dense_int_codes(v: np.ndarray) -> np.ndarray | None:
    """0..n_distinct-1 codes of a ``plain_ints`` array by value, without hashing (None when
    the range is too wide for a counting table, or the array is empty)."""
    counted = value_counts(v)
    if counted is None:
        return None
    lo, counts = counted
    return (np.cumsum(counts > 0) - 1)[np.subtract(v, lo, dtype=np.intp)]


def key_codes(values) -> tuple[np.ndarray, int | None]:
    """Codes of a key column (``pd.factorize(use_na_sentinel=False)``'s grouping, so a
    missing key is one key of its own) and the code of the missing key (None when none)."""
    if plain_ints(values) is not None:
        codes = _dense_int_codes(values)
        if codes is not None:
            return codes, None
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    na = np.flatnonzero(pd.isna(uniques))
    return codes.astype(np.int64, copy=False), (int(na[0]) if len(na) else None)


def _orderable(values) -> np.ndarray:
    """int64 or float64 values whose equality is the column's (NaN = missing)."""
    if plain_ints(values) is not None or (isinstance(values, np.ndarray) and values.dtype.kind == "b"):
        return values.astype(np.int64, copy=False)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values.astype(np.float64, copy=False)
    codes, _ = pd.factorize(values)  # text, dates, nullable types: value codes, -1 = missing
    out = codes.astype(np.float64)
    out[codes < 0] = np.nan
    return out


def _constant_share(keys: np.ndarray, n_keys: int, values) -> float:
    """Share of the ``n_keys`` keys holding at most one distinct non-missing value over these
    rows (``keys`` < 0: rows without a key, ignored)."""
    v = _orderable(values)
    if (keys < 0).any():
        keep = keys >= 0
        keys, v = keys[keep], v[keep]
    if v.dtype.kind == "f":
        lo, hi = np.full(n_keys, np.inf), np.full(n_keys, -np.inf)
        np.fmin.at(lo, keys, v)  # fmin/fmax skip NaN
        np.fmax.at(hi, keys, v)
    else:
        lo = np.full(n_keys, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(n_keys, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(lo, keys, v)
        np.maximum.at(hi, keys, v)
    return float((lo >= hi).mean())  # no value: lo > hi; one distinct value: lo == hi


def constant_within(df: pd.DataFrame, pos: np.ndarray, key: str, cols: list[str]) -> list[str]:
    """The columns of ``cols`` that hold one value per ``key`` for at least ``CONSTANT_SHARE``
    of the keys over the rows ``pos`` (a key whose values are all missing counts as constant;
    rows with a missing key are ignored)."""
    keys, na = key_codes(take(df, key, pos))
    if na is not None:
        keys = np.where(keys == na, -1, keys - (keys > na))
    n_keys = int(keys.max()) + 1 if len(keys) else 0
    if n_keys == 0:
        return []
    out = []
    probes = [p for p in _PROBES if p < len(pos) // 2]
    for c in cols:
        if any(_constant_share(keys[:p], n_keys, take(df, c, pos[:p])) < CONSTANT_SHARE for p in probes):
            continue  # already not constant on a subset of the rows: not constant on all of them
        if _constant_share(keys, n_keys, take(df, c, pos)) >= CONSTANT_SHARE:
            out.append(c)
    return out


def last_rows(df: pd.DataFrame, pos: np.ndarray, key: str) -> np.ndarray:
    """Positions (into ``pos``, ascending) of each key's last row: the rows
    ``drop_duplicates(key, keep="last")`` keeps."""
    codes, _ = key_codes(take(df, key, pos))
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    last = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    np.maximum.at(last, codes, np.arange(len(codes), dtype=np.int64))
    return np.sort(last[last >= 0])


def _mode_text(values) -> str:
    """``str(s.astype(str).mode().iloc[0])`` of the non-missing ``values`` (the most frequent
    text, ties: the smallest), counted on the distinct values instead of writing every row as
    text; integer columns are counted with a counting table."""
    x = plain_ints(values)
    counted = value_counts(x) if x is not None else None
    if counted is not None:
        lo, counts = counted
        return min(str(v) for v in np.flatnonzero(counts == counts.max()) + lo)
    codes, uniques = pd.factorize(values)
    counts = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)))
    per_text = counts.groupby(pd.Series(uniques).astype(str).to_numpy(dtype=object)).sum()
    return str(min(per_text.index[per_text.to_numpy() == per_text.max()]))


def context_defaults(df: pd.DataFrame, pos: np.ndarray, cols: list[str], num_cols: list[str]) -> dict:
    """Median (numeric) or most frequent value of each context column over the rows ``pos``,
    for scoring new pairs."""
    out = {}
    for c in cols:
        s = pd.Series(take(df, c, pos)).dropna()
        if s.empty:
            out[c] = None
        elif c in num_cols:
            out[c] = float(pd.to_numeric(s, errors="coerce").median())
        else:
            out[c] = _mode_text(s.to_numpy() if isinstance(s.dtype, np.dtype) else s.array)
    return out


def time_order(df: pd.DataFrame, pos: np.ndarray, time_col: str) -> np.ndarray:
    """``pos`` reordered by time (stable; rows without a readable time last), the order
    ``sort_values(kind="stable")`` gives the training rows."""
    t = pd.to_datetime(pd.Series(take(df, time_col, pos)), errors="coerce", format="mixed", utc=True)
    return pos[t.sort_values(kind="stable").index.to_numpy()]


def rows_of(df: pd.DataFrame, pos: np.ndarray, cols: list[str]) -> pd.DataFrame:
    """``df.iloc[pos][cols]`` without copying the other columns."""
    return df.iloc[pos, [df.columns.get_loc(c) for c in cols]]
