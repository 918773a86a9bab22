"""How cell values compare: one rule for "the same value", for "a number" and for "a time".

A value's *key* is its text, stripped; integral floats print as integers, so ``1``, ``1.0``,
``"1"`` and ``" 1 "`` of one column are the same key, and ``True`` is ``"True"``. Missing
values (NaN, None, the empty string) have no key. Categorical vocabularies, label classes
and positive values are all compared by key (:mod:`mtl_core.data.preprocessing`,
:mod:`mtl_core.data.targets`).

Everything is vectorised: a column is factorised once (``pd.factorize``) and only its
distinct values are turned into keys.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError

#: a date or date-time string (ISO-like, with optional time and zone)
DATE_RE = re.compile(r"^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?\s*$"
                     r"|^\s*\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?\s*$")


def keys_of(uniques: Any) -> np.ndarray:
    """Distinct values -> stripped string keys (object array). Only called on distinct values."""
    idx = pd.Index(uniques)
    if len(idx) == 0:
        return np.array([], dtype=object)
    if pd.api.types.is_bool_dtype(idx.dtype) or pd.api.types.is_integer_dtype(idx.dtype):
        return np.asarray(idx.astype(str), dtype=object)
    if pd.api.types.is_float_dtype(idx.dtype):
        arr = idx.to_numpy(dtype=np.float64)
        out = np.asarray(idx.astype(str), dtype=object)
        integral = np.isfinite(arr) & (np.abs(arr) < 2**53)
        integral &= arr == np.round(np.where(integral, arr, 0))
        if integral.any():
            out[integral] = arr[integral].astype(np.int64).astype(str).astype(object)
        return out
    if isinstance(idx.dtype, pd.StringDtype) or idx.inferred_type == "string":
        try:
            return np.asarray(idx.astype(object).str.strip(), dtype=object)
        except (AttributeError, TypeError):
            pass
    return np.array([key(v) for v in idx], dtype=object)


def key(v: Any) -> str:
    """The key of one value (see the module docstring)."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer() and abs(v) < 2**53:
        return str(int(v))
    return str(v).strip()


def integral_floats(s: pd.Series) -> bool:
    """True for a float column whose non-missing values are all whole numbers (ids read as
    ``14911.0`` because the column has a missing value)."""
    if not pd.api.types.is_float_dtype(s.dtype):
        return False
    x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[~np.isnan(x)]
    return bool(len(x)) and bool(np.all(np.isfinite(x) & (np.abs(x) < 2**53) & (x == np.round(x))))


def canonical_ids(df: pd.DataFrame, cols) -> pd.DataFrame:
    """``df`` with each of ``cols`` that holds whole numbers as floats written as its keys
    (``"14911"``, missing kept), so training, recommendations, typed ids and tables all show
    and compare ``14911``; other columns untouched (a copy only when something changes)."""
    todo = [c for c in dict.fromkeys(cols) if c is not None and c in df.columns and integral_floats(df[c])]
    if not todo:
        return df
    out = df.copy()
    for c in todo:
        codes, keys = factorize_keys(out[c])
        vals = np.full(len(out), np.nan, dtype=object)
        vals[codes >= 0] = keys[codes[codes >= 0]]
        out[c] = pd.Series(vals, index=out.index, dtype=object)
    return out


def same_key(s: pd.Series, value: Any) -> np.ndarray:
    """Boolean per row: the row's key equals ``value``'s key (``14911`` matches ``14911.0``)."""
    codes, keys = factorize_keys(s)
    return lookup(codes, keys, pd.Index([key(value)], dtype=object)) == 0


def factorize_keys(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, keys): ``keys[codes[i]]`` is row i's key; code -1 = missing (NaN/None or an
    empty string). Two codes may share a key (e.g. 1 and "1" in an object column)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    keys = keys_of(uniques)
    empty = keys == ""
    if empty.any():
        remap = np.arange(len(keys), dtype=np.int64)
        remap[empty] = -1
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return codes, keys


def key_counts(s: pd.Series) -> pd.Series:
    """Rows per key (index: keys, sorted), missing values left out."""
    codes, keys = factorize_keys(s)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(keys)) if len(keys) else np.zeros(0, np.int64)
    return pd.Series(counts, index=pd.Index(keys, dtype=object)).groupby(level=0, sort=True).sum()


def lookup(codes: np.ndarray, keys: np.ndarray, index: pd.Index) -> np.ndarray:
    """Position of each row's key in ``index`` (-1 when absent or missing)."""
    if len(keys) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    pos = np.asarray(index.get_indexer(pd.Index(keys, dtype=object)), dtype=np.int64)
    return np.where(codes >= 0, pos[np.maximum(codes, 0)], -1)


def to_float(s: pd.Series, col: str, what: str = "numbers", strict: bool = True) -> tuple[np.ndarray, int]:
    """A column as float64 (NaN = missing, inf kept) and the number of text values coerced
    to missing. When fitting (``strict``), more than half of the non-missing values
    unreadable -> DataError; when transforming new rows, unreadable values become missing
    (the column was learnt as numeric on the training rows)."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan), 0
    codes, keys = factorize_keys(s)
    if len(keys) == 0:
        return np.full(len(s), np.nan), 0
    text = pd.Series(pd.Index(keys, dtype=object))
    vals = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad_key = np.isnan(vals) & ~text.str.lower().isin(["nan"]).to_numpy()
    out = np.where(codes >= 0, vals[np.maximum(codes, 0)], np.nan)
    present = codes >= 0
    n_present = int(present.sum())
    n_bad = int((present & bad_key[np.maximum(codes, 0)]).sum())
    if strict and n_present and n_bad * 2 > n_present:
        example = keys[np.flatnonzero(bad_key)[0]]
        raise DataError(
            f"column {col!r} has text like {example!r} where {what} are needed; "
            f"mark it categorical or clean it."
        )
    return out, n_bad


def datetimes(s: pd.Series, **kw: Any) -> pd.Series:
    """``pd.to_datetime(s, **kw)`` parsing each distinct value once: logs repeat their
    timestamps (every line of an invoice, events of one second), and text parsing, row by row
    with ``format="mixed"``, is the slow part. The first value, from which pandas infers the
    format, stays first, so the result is the same."""
    if len(s) < 1000 or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.to_datetime(s, **kw)
    codes, uniques = pd.factorize(s)
    if len(uniques) > 0.5 * len(s):
        return pd.to_datetime(s, **kw)
    parsed = pd.to_datetime(pd.Series(uniques, dtype=s.dtype), **kw)
    if not isinstance(parsed, pd.Series) or not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
        return pd.to_datetime(s, **kw)
    return pd.Series(parsed.array.take(codes, allow_fill=True), index=s.index, name=s.name)


def time_numbers(s: pd.Series) -> np.ndarray:
    """A time column as float64 (NaN where unreadable): numbers as they are (also numbers
    written as text), datetimes and date text as nanoseconds since 1970 in UTC (mixed
    formats and offsets allowed). The temporal split and interpolation both order rows by it."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce")
        if s.notna().sum() > 0 and num.notna().sum() == s.notna().sum():
            return num.to_numpy(dtype=np.float64, na_value=np.nan)
        s = datetimes(s, format="mixed", errors="coerce", utc=True)  # utc: mixed offsets
    try:
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    except (AttributeError, TypeError):
        pass
    t = s.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
    t[s.isna().to_numpy()] = np.nan
    return t
