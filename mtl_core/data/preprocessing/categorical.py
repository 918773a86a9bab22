"""Categorical and id columns -> integer indices, with vocabularies learnt on train.

Index 0 is reserved for unknown / missing / rare values (seen fewer than ``min_frequency``
times in train); 1.. are the known values, most frequent first (ties in text order).
Values are compared by key (:mod:`mtl_core.data.keys`: ``1``, ``1.0`` and ``" 1"`` are one
category).

Why not scikit-learn's ``OrdinalEncoder``: it looks values up with a Python dict per value
and finds ``min_frequency`` by counting every row. Measured on the 1M-row benchmark
(``bench/e2e_csv.py``: 23 id columns, 253k distinct values, fit on 800k rows and encode
the three splits), the lookup here (``pd.factorize`` per column + one ``Index.get_indexer``
on the distinct values) took 1.8-2.0 s; ``OrdinalEncoder`` with explicit categories applied
to the distinct values only took 4.6-5.3 s, and fitting ``OrdinalEncoder(min_frequency=2)``
on the rows took 2.3 s for a single column (about 50 s for all 23).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...errors import DataError
from ..int_values import plain_ints, value_counts
from ..keys import factorize_keys, key_counts, keys_of, lookup

#: a vocabulary's integer keys spanning fewer than this many values (or 4x their count) are looked
#: up through a table indexed by value; wider ones by sorted search
_SPAN = 1 << 22
#: a canonical integer key (what an integer value's key looks like: no sign on 0, no leading 0)
_INT_KEY = r"0|-?[1-9]\d{0,18}"


def _int64(keys: pd.Series, ok: np.ndarray) -> np.ndarray:
    """The int64 values of the keys ``ok`` marks; keys beyond int64 are unmarked in ``ok``."""
    try:
        return keys[ok].astype(np.int64).to_numpy() if ok.any() else np.zeros(0, np.int64)
    except (OverflowError, ValueError):
        big = [int(k) for k in keys[ok]]
        fits = np.array([-(2**63) <= v < 2**63 for v in big], dtype=bool)
        ok[np.flatnonzero(ok)[~fits]] = False
        return np.array([v for v, f in zip(big, fits) if f], dtype=np.int64)


def _narrow_span(lo: int, hi: int, n: int) -> bool:
    return hi - lo < max(_SPAN, 4 * n)


def _per_key(s: pd.Series) -> pd.Series:
    """Rows per key, missing values left out (``keys.key_counts``; an integer column of a
    narrow span is counted with ``np.bincount`` instead of being hashed: same counts)."""
    x = plain_ints(s)
    counted = value_counts(x) if x is not None else None
    if counted is None:
        return key_counts(s)
    lo, counts = counted
    vals = np.flatnonzero(counts)
    return pd.Series(counts[vals], index=pd.Index(keys_of(vals + lo), dtype=object))


def fit_vocabulary(s: pd.Series, col: str, min_frequency: int, max_categories: int) -> tuple[list[str], dict[str, Any]]:
    """Known keys of a training column (most frequent first) and its report entry."""
    per_key = _per_key(s)
    kept = per_key[per_key >= min_frequency]
    order = np.lexsort((kept.index.to_numpy(dtype=object).astype(str), -kept.to_numpy()))
    vocab = [str(k) for k in kept.index.to_numpy(dtype=object)[order]]
    if len(vocab) + 1 > max_categories:
        raise DataError(
            f"column {col!r} has {len(vocab)} categories, more than limits.max_categories="
            f"{max_categories}; raise the limit, raise min_frequency or drop the column."
        )
    report = {"cardinality": len(vocab) + 1, "missing": int(len(s) - per_key.sum()),
              "rare": int(per_key[per_key < min_frequency].sum())}
    return vocab, report


class Lookup:
    """A fitted vocabulary's row lookup: 1 + the key's position, 0 when unknown or missing.
    Rows of an integer column are looked up by value (a table over the vocabulary's integer
    keys), without building their text keys: the same codes, 10-50x faster."""

    def __init__(self, vocab: list[str]) -> None:
        self.index = pd.Index(vocab, dtype=object)
        self._ints: tuple[np.ndarray, np.ndarray] | None = None
        self._table: tuple[int, np.ndarray] | None = None

    def _int_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """(the vocabulary's integer keys as int64, ascending; their codes)."""
        if self._ints is None:
            keys = pd.Series(self.index.to_numpy(), dtype=object)
            ok = np.array(keys.astype(str).str.fullmatch(_INT_KEY), dtype=bool) if len(keys) else np.zeros(0, bool)
            vals = _int64(keys, ok)
            order = np.argsort(vals, kind="stable")
            self._ints = vals[order], (np.flatnonzero(ok)[order] + 1).astype(np.int32)
            if len(vals) and _narrow_span(int(vals[order][0]), int(vals[order][-1]), len(vals)):
                lo = int(vals[order][0])
                table = np.zeros(int(vals[order][-1]) - lo + 1, dtype=np.int32)
                table[vals[order] - lo] = self._ints[1]
                self._table = lo, table
        return self._ints

    def encode(self, s: pd.Series) -> np.ndarray:
        """Integer code per row (see the class docstring)."""
        x = plain_ints(s)
        if x is None:
            codes, keys = factorize_keys(s)
            return lookup(codes, keys, self.index) + 1
        vals, codes = self._int_keys()
        if len(vals) == 0 or len(x) == 0:
            return np.zeros(len(x), dtype=np.int32)
        if self._table is not None:
            lo, table = self._table
            xi = np.subtract(x, lo, dtype=np.intp)
            inside = (xi >= 0) & (xi < len(table))
            if inside.all():
                return table[xi]
            return np.where(inside, table[np.where(inside, xi, 0)], 0).astype(np.int32, copy=False)
        pos = np.minimum(np.searchsorted(vals, x), len(vals) - 1)
        return np.where(vals[pos] == x, codes[pos], 0).astype(np.int32, copy=False)


def missing(s: pd.Series) -> np.ndarray:
    """Rows without a value (NaN, None or empty text)."""
    if plain_ints(s) is not None:
        return np.zeros(len(s), dtype=bool)
    codes, _ = factorize_keys(s)
    return codes < 0
