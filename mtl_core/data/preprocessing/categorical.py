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
from ..keys import factorize_keys, key_counts, lookup


def fit_vocabulary(s: pd.Series, col: str, min_frequency: int, max_categories: int) -> tuple[list[str], dict[str, Any]]:
    """Known keys of a training column (most frequent first) and its report entry."""
    per_key = key_counts(s)
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


def encode(s: pd.Series, index: pd.Index) -> np.ndarray:
    """int64 index per row: 1 + position in the vocabulary ``index``, 0 when unknown or missing."""
    codes, keys = factorize_keys(s)
    return lookup(codes, keys, index) + 1


def missing(s: pd.Series) -> np.ndarray:
    """Rows without a value (NaN, None or empty text)."""
    codes, _ = factorize_keys(s)
    return codes < 0
