"""Train/validation/test splits on the raw frame (positional indices).

Methods (``SplitConfig.method``):

- ``random``: a seeded permutation cut by the fractions.
- ``stratified``: scikit-learn ``train_test_split`` twice with ``stratify``; a missing (NaN)
  label is its own stratum.
- ``temporal``: rows ordered by time (``pd.to_datetime(format="mixed")`` or numeric); the
  past trains, the future tests. Every train time <= every val time <= every test time;
  rows sharing a timestamp at a boundary all go to the same side.
- ``user``: whole users are assigned to one split (no user on two sides); fractions are met
  approximately by rows.

All index arrays are sorted ``int64`` positions into ``df``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import SplitConfig
from ..errors import DataError
from .keys import time_numbers

SPLITS = ("train", "val", "test")


def _counts(n: int, config: SplitConfig) -> tuple[int, int, int]:
    n_test = int(round(n * config.test))
    n_val = int(round(n * config.val))
    n_test = max(n_test, 1) if config.test > 0 else 0
    n_val = max(n_val, 1) if config.val > 0 else 0
    n_train = n - n_val - n_test
    return n_train, n_val, n_test


def _check_sizes(out: dict[str, np.ndarray], n: int, config: SplitConfig) -> None:
    for name in SPLITS:
        frac = getattr(config, name)
        if frac > 0 and len(out[name]) == 0:
            raise DataError(
                f"The {name} split would be empty ({n} rows with {config.method} split "
                f"{config.train:g}/{config.val:g}/{config.test:g}); use more rows or larger fractions."
            )


def _finish(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.sort(np.asarray(out[k], dtype=np.int64)) for k in SPLITS}


def _random(n: int, config: SplitConfig) -> dict[str, np.ndarray]:
    perm = np.random.default_rng(config.seed).permutation(n)
    n_train, n_val, _ = _counts(n, config)
    if n_train <= 0:
        raise DataError(f"Too few rows ({n}) to split into train, validation and test; use more rows.")
    return {"train": perm[:n_train], "val": perm[n_train:n_train + n_val], "test": perm[n_train + n_val:]}


def _strata(labels: np.ndarray) -> np.ndarray:
    lab = pd.Series(np.asarray(labels).ravel())
    codes, _ = pd.factorize(lab.astype("string").fillna("<missing>"), sort=True)
    return codes.astype(np.int64)


def _stratified(n: int, config: SplitConfig, stratify: np.ndarray | None) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split

    if stratify is None:
        raise DataError("A stratified split needs a label to stratify on (a binary or multiclass task).")
    y = _strata(stratify)
    if len(y) != n:
        raise DataError(f"The stratify labels have {len(y)} values but the table has {n} rows.")
    n_train, n_val, n_test = _counts(n, config)
    if n_train <= 0:
        raise DataError(f"Too few rows ({n}) to split into train, validation and test; use more rows.")
    # strata with a single row cannot be split by sklearn: fold them into the largest stratum
    counts = np.bincount(y)
    if (counts < 2).any():
        y = np.where(counts[y] < 2, int(np.argmax(counts)), y)
    idx = np.arange(n)
    try:
        rest, test = train_test_split(idx, test_size=n_test, stratify=y, random_state=config.seed)
        if n_val > 0:
            y_rest = y[rest]
            c = np.bincount(y_rest)
            if (c[np.unique(y_rest)] < 2).any():
                y_rest = np.where(c[y_rest] < 2, int(np.argmax(c)), y_rest)
            train, val = train_test_split(rest, test_size=n_val, stratify=y_rest, random_state=config.seed)
        else:
            train, val = rest, np.array([], dtype=np.int64)
    except ValueError as exc:
        raise DataError(
            f"Cannot make a stratified split of {n} rows ({exc}); use a random split or more rows."
        ) from None
    return {"train": train, "val": val, "test": test}


def _time_values(df: pd.DataFrame, time_col: str) -> np.ndarray:
    if time_col not in df.columns:
        raise DataError(f"The time column {time_col!r} is not in the table.")
    s = df[time_col]
    v = time_numbers(s)
    bad = ~np.isfinite(v)
    if bad.any():
        nbad = int(bad.sum())
        example = s[bad].iloc[0]
        raise DataError(
            f"{nbad} row(s) of the time column {time_col!r} cannot be read as a time (e.g. {example!r}); "
            f"clean or drop them, or use another split."
        )
    return v


def _temporal(df: pd.DataFrame, config: SplitConfig, time_col: str | None) -> dict[str, np.ndarray]:
    if not time_col:
        raise DataError("A temporal split needs a time column; choose one or use another split method.")
    n = len(df)
    t = _time_values(df, time_col)
    order = np.argsort(t, kind="stable")
    ts = t[order]
    n_train, n_val, _ = _counts(n, config)
    if n_train <= 0:
        raise DataError(f"Too few rows ({n}) to split into train, validation and test; use more rows.")

    def snap(k: int) -> int:
        # move a cut so that rows with equal timestamps stay on the same side: to the first
        # row of the tie group, or past it when that would empty the earlier split
        if k <= 0 or k >= n:
            return k
        v = ts[k - 1]
        if ts[k] != v:
            return k
        lo = int(np.searchsorted(ts, v, side="left"))
        hi = int(np.searchsorted(ts, v, side="right"))
        return lo if lo > 0 and (k - lo) <= (hi - k) else hi

    c1 = snap(n_train)
    c2 = snap(max(c1, n_train + n_val)) if n_val > 0 else c1
    c2 = max(c2, c1)
    return {"train": order[:c1], "val": order[c1:c2], "test": order[c2:]}


def _user(df: pd.DataFrame, config: SplitConfig, user_col: str | None) -> dict[str, np.ndarray]:
    if not user_col:
        raise DataError("A user split needs a user id column; choose one or use another split method.")
    if user_col not in df.columns:
        raise DataError(f"The user column {user_col!r} is not in the table.")
    n = len(df)
    codes, _ = pd.factorize(df[user_col].astype("string").str.strip(), use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():  # rows without a user id form one shared group
        codes = np.where(codes < 0, codes.max() + 1, codes)
    n_groups = int(codes.max()) + 1 if n else 0
    if n_groups < 3:
        raise DataError(
            f"A user split needs at least 3 distinct users in {user_col!r}; found {n_groups}. Use another split method."
        )
    sizes = np.bincount(codes, minlength=n_groups)
    perm = np.random.default_rng(config.seed).permutation(n_groups)
    cum = np.cumsum(sizes[perm])
    n_train, n_val, _ = _counts(n, config)
    # number of groups whose cumulative rows reach the targets
    g1 = int(np.searchsorted(cum, n_train, side="left")) + 1
    g1 = min(max(g1, 1), n_groups - (2 if config.val > 0 else 1))
    if config.val > 0:
        g2 = int(np.searchsorted(cum, n_train + n_val, side="left")) + 1
        g2 = min(max(g2, g1 + 1), n_groups - 1)
    else:
        g2 = g1
    side = np.empty(n_groups, dtype=np.int8)
    side[perm[:g1]] = 0
    side[perm[g1:g2]] = 1
    side[perm[g2:]] = 2
    row_side = side[codes]
    return {name: np.flatnonzero(row_side == i) for i, name in enumerate(SPLITS)}


def split_indices(df: pd.DataFrame, config: SplitConfig, *, time_col: str | None = None,
                  user_col: str | None = None, stratify: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Positional, sorted ``int64`` indices of ``df`` for ``train``, ``val`` and ``test``."""
    config.validate()
    n = len(df)
    if n < 3:
        raise DataError(f"The table has {n} row(s); at least 3 are needed to split into train, validation and test.")
    method = config.method
    if method == "random":
        out = _random(n, config)
    elif method == "stratified":
        out = _stratified(n, config, stratify)
    elif method == "temporal":
        out = _temporal(df, config, time_col)
    elif method == "user":
        out = _user(df, config, user_col)
    else:  # pragma: no cover - validate() rejects it
        raise DataError(f"Unknown split method {method!r}.")
    out = _finish(out)
    _check_sizes(out, n, config)
    return out


def split_report(splits: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict:
    """Sizes of the splits and, per task, the rate of 1s among non-missing labels (binary)
    or the mean (other numeric labels). ``None`` where a split has no labelled rows."""
    sizes = {k: int(len(v)) for k, v in splits.items()}
    rates: dict[str, dict[str, float | None]] = {}
    for name, idx in splits.items():
        rates[name] = {}
        for task, y in labels.items():
            yy = np.asarray(y, dtype=np.float64)[np.asarray(idx, dtype=np.int64)]
            yy = yy[np.isfinite(yy)]
            rates[name][task] = float(yy.mean()) if len(yy) else None
    return {"sizes": sizes, "label_rates": rates}
