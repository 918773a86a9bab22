"""Some rows of a frame, read one column at a time (no copy of the frame's rows).

``df.iloc[positions]`` copies every column of those rows at once: at 10 M rows the training
split's copy is ~0.9 GB, alive while the preprocessing is fitted and its encoded arrays are
built. A :class:`Rows` takes a column's rows only when the preprocessing reads that column,
and the copy is freed as soon as the column is encoded. It offers what the column-wise
preprocessing reads (``len``, ``columns``, ``rows[col]`` -> a Series like
``df.iloc[positions][col]``, ``rows[mask]`` -> fewer rows); derived features that need a
frame (text, time, collaborative) get ``df.iloc[positions]`` instead (:func:`take`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


class Rows:
    """The rows ``positions`` of ``df``; see the module docstring."""

    def __init__(self, df: pd.DataFrame, positions: np.ndarray) -> None:
        self._df = df
        self._positions = np.asarray(positions, dtype=np.int64)

    @property
    def columns(self) -> pd.Index:
        return self._df.columns

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, key):
        if isinstance(key, np.ndarray) and key.dtype == bool:  # a row mask -> those rows
            return Rows(self._df, self._positions[key])
        return self._df[key].iloc[self._positions]


def take(df: pd.DataFrame, positions: np.ndarray, frame: bool) -> pd.DataFrame | Rows:
    """``df.iloc[positions]`` when ``frame`` (the preprocessing needs a real frame), else a
    :class:`Rows` over them."""
    return df.iloc[positions] if frame else Rows(df, positions)
