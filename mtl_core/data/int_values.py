"""Integer columns counted by value: a counting table (``np.bincount``) instead of a hash
table, linear in the rows, where the values span a narrow range. Schema inference
(``column_counts``), vocabularies (``preprocessing.categorical``) and the recommendation
tables (``runs.tables``) count id columns of millions of rows this way; every caller falls
back to hashing (pandas) for other columns, with the same answer."""
from __future__ import annotations

import numpy as np
import pandas as pd

#: a counting table is used while the values span at most 4x the rows plus this many
_SLACK = 4096


def plain_ints(values) -> np.ndarray | None:
    """The values as a NumPy array when they are a plain NumPy integer array (or Series) whose
    values all fit int64 (no missing value, no uint64), else None."""
    if isinstance(values, pd.Series):
        if not isinstance(values.dtype, np.dtype):
            return None
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and (values.dtype.kind == "i" or (values.dtype.kind == "u" and values.dtype.itemsize < 8)):
        return values
    return None


def value_counts(x: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(the smallest value, rows per value from it up: ``np.bincount``) of a ``plain_ints``
    array; None when it is empty or its values span more than 4x its rows (plus ``_SLACK``)."""
    if not len(x):
        return None
    lo, hi = int(x.min()), int(x.max())
    if hi - lo > 4 * len(x) + _SLACK:
        return None
    return lo, np.bincount(np.subtract(x, lo, dtype=np.intp))
