"""Labels: the one owner of task kinds, positive classes and label encoding.

Schema resolution (:func:`mtl_core.data.schema.resolve_tasks`), the preprocessor's target
encoding, the Data page's label balance and the recommender's "already bought" test all
call this module, so they agree on every label. Values are compared by key
(:mod:`mtl_core.data.keys`): stripped text, ``1`` = ``1.0`` = ``"1"``.

**Kind of a task** (when not given):

- a positive value is given, or the column has exactly 2 distinct values -> ``binary``;
- numbers (a numeric, non-boolean column): whole numbers with at most 20 distinct values ->
  ``multiclass``, any other numbers -> ``regression``. The dtype does not matter, so an
  integer column with one missing value (read as floats) keeps its kind;
- text with at most 100 distinct values -> ``multiclass``; more -> ``DataError`` asking for
  a kind; fewer than 2 distinct values -> ``DataError``.

**Positive class of a two-valued label** (when not given), the first rule that applies:

1. a yes/no word: ``true``, ``yes``, ``y``, ``t``, ``positive``, ``pos`` (any case) against
   ``false``, ``no``, ``n``, ``f``, ``negative``, ``neg`` -> the yes word;
2. one value negates the other (``X`` against ``not X``, ``no X``, ``non-X``) -> ``X``;
3. two numbers -> the larger (``1`` against ``0`` or ``-1``, ``7`` against ``3``);
4. otherwise -> the rarer value, the event one usually predicts (``Churned`` among
   ``active``, ``50000+.`` among ``- 50000.``); on a tie the later one in
   case-insensitive order.

Rule 4 depends on the counts, so :func:`~mtl_core.data.schema.resolve_tasks` decides the
positive once on the whole table and writes it into the task spec: the preprocessor
(fitted on the training rows only) and every page then use that same value.

**Threshold labels**: a positive written ``>=4`` (also ``>``, ``<=``, ``<``) makes a binary
label of a numeric column: 1 where the number passes the test, 0 where it does not,
missing where the value is missing (``rating:binary>=4``).

**Encoding**: binary 1/0 (NaN = missing), multiclass the class index (NaN = missing or a
class not seen in training), regression a float (NaN = missing or unreadable).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

import operator
import re

from ..errors import DataError
from .keys import factorize_keys, key, key_counts, lookup, to_float

YES_WORDS = frozenset({"true", "yes", "y", "t", "positive", "pos"})
NO_WORDS = frozenset({"false", "no", "n", "f", "negative", "neg"})
_NEGATIONS = ("not ", "not_", "not-", "no ", "no_", "no-", "non ", "non_", "non-", "non")
MAX_MULTICLASS_NUMBERS = 20
MAX_MULTICLASS_TEXT = 100
_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_NOT = {">=": "<", ">": "<=", "<=": ">", "<": ">="}


# --------------------------------------------------------------------------- thresholds
def threshold(positive) -> tuple[str, float] | None:
    """``(operator, number)`` of a threshold positive such as ``">=4"``; None for a value."""
    m = _THRESHOLD.match(str(positive)) if positive is not None else None
    return (m.group(1), float(m.group(2))) if m else None


def _threshold_text(op: str, v: float) -> str:
    return f"{op}{key(v)}"


def _passes(series: pd.Series, test: tuple[str, float]) -> np.ndarray:
    """float64 1/0 per row for a threshold test, NaN where the value is missing or not a number."""
    x, _ = to_float(series, str(series.name), strict=False)
    ok = np.isfinite(x)
    out = np.full(len(x), np.nan)
    out[ok] = _OPS[test[0]](x[ok], test[1]).astype(np.float64)
    return out


# --------------------------------------------------------------------------- classes
def _number(k: str) -> float | None:
    try:
        v = float(k)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def class_order(keys) -> list[str]:
    """Class keys in display order: numerically when all are numbers, else as text."""
    keys = list(keys)
    if all(_number(k) is not None for k in keys):
        return sorted(keys, key=lambda k: (_number(k), k))
    return sorted(keys)


def distinct_classes(series: pd.Series) -> list[str]:
    """The distinct non-missing keys of ``series`` in :func:`class_order`."""
    return class_order(key_counts(series).index.tolist())


def positive_key(positive, keys) -> str:
    """The key of a given positive value among a column's ``keys``: as written, else (a
    number such as ``1.0``) as the column writes that number (``1``)."""
    k = key(positive)
    keys = set(keys)
    if k not in keys:
        v = _number(k)
        if v is not None and key(v) in keys:
            return key(v)
    return k


def _is_numbers(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def _preview(counts: pd.Series, k: int = 5) -> str:
    """The most frequent keys, quoted, for messages."""
    return ", ".join(repr(v) for v in counts.sort_values(ascending=False, kind="stable").index[:k])


# --------------------------------------------------------------------------- kinds
def _infer(series: pd.Series, counts: pd.Series, column: str) -> str:
    n = len(counts)
    if n == 2:
        return "binary"
    if n <= 1:
        if n == 0:
            raise DataError(f"Task column {column!r} has no values (all missing); choose another label column.")
        raise DataError(_one_class(series, column, column))
    if _is_numbers(series):
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        x = x[np.isfinite(x)]
        whole = bool(len(x)) and bool(np.all(x == np.round(x)))
        return "multiclass" if whole and n <= MAX_MULTICLASS_NUMBERS else "regression"
    if n <= MAX_MULTICLASS_TEXT:
        return "multiclass"
    raise DataError(
        f"Task column {column!r} has {n} distinct non-numeric values; give it a kind, e.g. '{column}:binary=VALUE'."
    )


def infer_kind(series: pd.Series, column: str = "") -> str:
    """The kind of an unlabelled task on ``series`` (rules in the module docstring)."""
    return _infer(series, key_counts(series), column or str(series.name))


def suggest_kind(series: pd.Series) -> str | None:
    """:func:`infer_kind`, or None where it would refuse the column (for schema hints)."""
    try:
        return infer_kind(series)
    except DataError:
        return None


def resolve_kind(series: pd.Series, kind: str | None, positive: str | None, task: str, column: str) -> str:
    """The task's kind (given or inferred), checked against the column; ``DataError`` otherwise."""
    counts = key_counts(series)
    if len(counts) == 0:
        raise DataError(f"Task column {column!r} has no values (all missing); choose another label column.")
    if kind is None:
        kind = "binary" if positive is not None else _infer(series, counts, column)
    n = len(counts)
    if kind == "regression" and not _is_numbers(series):
        raise DataError(
            f"Task {task!r} is a regression but column {column!r} is not numeric (values like {_preview(counts, 3)}); "
            f"use ':binary=VALUE' or ':multiclass'."
        )
    if kind == "binary" and threshold(positive) is not None:
        _check_threshold(series, positive, task, column)
    elif kind == "binary":
        if positive is not None:
            if positive_key(positive, counts.index) not in set(counts.index):
                raise DataError(
                    f"Positive value {positive!r} does not occur in column {column!r}; existing values include {_preview(counts)}."
                )
            if len(counts) == 1:
                raise DataError(_one_class(series, column, task))
        elif n == 1:
            raise DataError(_one_class(series, column, task))
        elif n != 2:
            raise DataError(
                f"Binary task {task!r} needs exactly 2 distinct values but column {column!r} has {n} "
                f"({_preview(counts)}); name the positive one, e.g. '{column}=VALUE'."
            )
    if kind == "regression":
        y = numbers(series, column)
        y = y[np.isfinite(y)]
        if len(y) and np.all(y == y[0]):
            raise DataError(
                f"Regression task {task!r} has a constant target: every value of {column!r} is {key(y[0])}; "
                f"there is nothing to learn, choose another label column."
            )
    if kind == "multiclass" and n < 2:
        raise DataError(f"Multiclass task {task!r} needs at least 2 classes but column {column!r} has {n}.")
    if kind not in ("binary", "regression", "multiclass"):
        raise DataError(f"Task {task!r} has an unknown kind {kind!r}; use binary, regression or multiclass.")
    return kind


def _one_class(series: pd.Series, column: str, task: str) -> str:
    n_missing = int(series.isna().sum())
    only = _preview(key_counts(series), 1)
    if n_missing:
        return (f"Task {task!r}: column {column!r} holds only the value {only} and {n_missing:,} missing values, so the "
                f"label has one class; if a missing value means 'no', fill those cells with 0 before training.")
    return f"Task {task!r}: column {column!r} holds a single value ({only}); a label needs two classes."


def _check_threshold(series: pd.Series, positive: str, task: str, column: str) -> None:
    if not _is_numbers(series):
        x, n_bad = to_float(series, column, strict=False)
        if n_bad * 2 > int(series.notna().sum()):
            raise DataError(
                f"Task {task!r} compares {column!r} with a number ({positive}) but the column holds text "
                f"(values like {_preview(key_counts(series), 3)}); use '{column}:binary=VALUE' instead."
            )
    y = _passes(series, threshold(positive))
    if not ((y == 1).any() and (y == 0).any()):
        side = "passes" if (y == 1).any() else "fails"
        raise DataError(
            f"Every value of {column!r} {side} the test {positive}, so task {task!r} would have one class; "
            f"choose another threshold (values range from {np.nanmin(to_float(series, column, strict=False)[0]):g} "
            f"to {np.nanmax(to_float(series, column, strict=False)[0]):g})."
        )


# --------------------------------------------------------------------------- positives
def _negates(a: str, b: str) -> bool:
    """``a`` is ``b`` negated ("not b", "no b", "non-b"), case-insensitively."""
    return any(a == p + b for p in _NEGATIONS)


def positive_class(counts: pd.Series) -> str | None:
    """The positive key of a label given its key counts (index: keys): see the module
    docstring. One key: itself when it is a yes word or a number > 0, else None."""
    keys = [str(k) for k in counts.index]
    if len(keys) == 1:
        v = _number(keys[0])
        return keys[0] if keys[0].lower() in YES_WORDS or (v is not None and v > 0) else None
    if len(keys) != 2:
        raise ValueError(f"positive_class needs one or two classes, got {len(keys)}")
    a, b = keys
    la, lb = a.lower(), b.lower()
    if la in YES_WORDS and lb in NO_WORDS:
        return a
    if lb in YES_WORDS and la in NO_WORDS:
        return b
    if _negates(la, lb) or _negates(lb, la):
        return b if _negates(la, lb) else a
    va, vb = _number(a), _number(b)
    if va is not None and vb is not None:
        return a if va > vb else b
    ca, cb = int(counts.iloc[0]), int(counts.iloc[1])
    if ca != cb:
        return a if ca < cb else b
    return max(a, b, key=lambda k: (k.lower(), k))


def resolve_positive(series: pd.Series, positive: str | None) -> str | None:
    """The positive key of a binary task on the whole column: the given value as the column
    writes it, else :func:`positive_class` (None for a column of more than two values)."""
    test = threshold(positive)
    if test is not None:
        return _threshold_text(*test)
    counts = key_counts(series)
    if positive is not None:
        return positive_key(positive, counts.index)
    return positive_class(counts) if 1 <= len(counts) <= 2 else None


def binary_classes(series: pd.Series, positive: str | None, task: str, column: str) -> tuple[str, str]:
    """(negative, positive) display names of a binary task on ``series`` (the training
    rows); ``DataError`` when it has one class or, without a positive, more than two."""
    test = threshold(positive)
    if test is not None:
        y = _passes(series, test)
        if (y == 1).any() and (y == 0).any():
            return _threshold_text(_NOT[test[0]], test[1]), _threshold_text(*test)
        side = "passes" if (y == 1).any() else "fails"
        raise DataError(
            f"task {task!r}: every value of {column!r} in the training split {side} the test {positive}, so the label "
            f"has one class there; choose another threshold."
        )
    counts = key_counts(series)
    distinct = class_order(counts.index.tolist())
    if positive is not None:
        pos = positive_key(positive, distinct)
        others = [k for k in distinct if k != pos]
        if pos in distinct and others:
            return (others[0] if len(others) == 1 else f"not {pos}"), pos
    elif len(distinct) == 2:
        pos = positive_class(counts)
        return next(k for k in distinct if k != pos), pos
    if len(distinct) > 2:
        raise DataError(
            f"task {task!r} is binary but column {column!r} has {len(distinct)} values "
            f"(e.g. {', '.join(distinct[:3])}); give the positive value as {column}:binary=VALUE."
        )
    raise DataError(
        f"task {task!r} has only one class ({distinct[0] if distinct else 'none'}) in the training split; "
        f"use more data, another split, or another task."
    )


def _hits(codes: np.ndarray, keys: np.ndarray, positive: str | None) -> np.ndarray:
    if positive is None:
        return np.zeros(len(codes), dtype=bool)
    return lookup(codes, keys, pd.Index([positive_key(positive, keys)], dtype=object)) == 0


def is_positive(series: pd.Series, positive: str | None) -> np.ndarray:
    """Boolean per row: the value is the positive class (missing values are not)."""
    test = threshold(positive)
    if test is not None:
        return _passes(series, test) == 1
    return _hits(*factorize_keys(series), positive)


# --------------------------------------------------------------------------- encoding
def binary_labels(series: pd.Series, positive: str | None) -> np.ndarray:
    """float32 1 where the value is ``positive``, 0 for other values, NaN where missing;
    without a positive, the one :func:`positive_class` picks."""
    test = threshold(positive)
    if test is not None:
        return _passes(series, test).astype(np.float32)
    codes, keys = factorize_keys(series)
    if positive is None:
        counts = key_counts(series)
        if len(counts) > 2:
            raise DataError(
                f"Binary task {str(series.name)!r} needs 2 distinct values but has {len(counts)}; name the positive value."
            )
        positive = positive_class(counts) if len(counts) else None
    out = _hits(codes, keys, positive).astype(np.float32)
    out[codes < 0] = np.nan
    return out


def class_index(series: pd.Series, classes: list[str]) -> np.ndarray:
    """float32 index of each row's class in ``classes`` (NaN: missing or unseen)."""
    codes, keys = factorize_keys(series)
    pos = lookup(codes, keys, pd.Index(list(classes), dtype=object))
    return np.where(pos < 0, np.nan, pos.astype(np.float64)).astype(np.float32)


def class_keys(series: pd.Series) -> np.ndarray:
    """Each row's class key (object array; NaN where missing)."""
    codes, keys = factorize_keys(series)
    out = np.full(len(series), np.nan, dtype=object)
    out[codes >= 0] = keys[codes[codes >= 0]]
    return out


def numbers(series: pd.Series, column: str, strict: bool = False) -> np.ndarray:
    """float64 regression values (NaN where missing, non-finite or unreadable)."""
    y, _ = to_float(series, column, what="numbers (a regression target)", strict=strict)
    return np.where(np.isfinite(y), y, np.nan)
