"""Task labels fitted on the training rows, on the rules of :mod:`mtl_core.data.targets`.

Binary: 1/0 (NaN = missing); the positive class is the task's given (or resolved) positive
value, else the one :func:`~mtl_core.data.targets.positive_class` picks on the training
rows. Regression: optionally ``log1p`` first (``log_target``: ``on``, ``off``, or ``auto``
when the training values are non-negative and strongly skewed; predictions are capped at
the training maximum before ``expm1``), then standardised with scikit-learn's
``StandardScaler`` fitted on the training values when ``scale_targets`` (its mean and scale
are the JSON state; :func:`inverse` undoes both). Multiclass: the class index (classes from train; an unseen
class -> NaN).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from ...errors import DataError
from ...types import TaskInfo, TaskSpec
from .. import targets


def _use_log1p(mode: str, y: np.ndarray, task: str) -> bool:
    from ...evaluation.forecast import wants_log1p

    if mode == "on" and y.size and y.min() < 0:
        raise DataError(f"task {task!r} has negative values, so it cannot be trained on log1p; set preprocess.log_target to off.")
    return mode == "on" or (mode == "auto" and wants_log1p(y))


def fit_task(s: pd.Series, t: TaskSpec, scale_targets: bool, log_target: str = "off") -> tuple[TaskInfo, dict[str, Any]]:
    """The task as the model sees it, and its JSON state, from the training column ``s``."""
    kind = t.kind
    if kind is None:  # one class in the training rows is a split problem, reported as binary
        few = len(targets.distinct_classes(s)) <= 2
        kind = "binary" if few or t.positive is not None else targets.resolve_kind(s, None, None, t.key, t.column)
    if kind == "binary":
        neg, pos = targets.binary_classes(s, t.positive, t.key, t.column)
        info = TaskInfo(name=t.key, kind="binary", n_outputs=1, classes=[neg, pos], column=t.column, positive=pos)
        return info, {"explicit_positive": t.positive is not None}
    if kind == "regression":
        y = targets.numbers(s, t.column, strict=True)
        y = y[np.isfinite(y)]
        if len(y) == 0:
            raise DataError(f"task {t.key!r} has no numeric values in the training split.")
        log_max = None  # log1p targets: predictions are capped at the training maximum
        if _use_log1p(log_target, y, t.key):
            y = np.log1p(y)
            log_max = float(y.max())
        mean, scale = 0.0, 1.0
        if scale_targets:
            sc = StandardScaler().fit(y.reshape(-1, 1))
            mean, scale = float(sc.mean_[0]), float(sc.scale_[0])
        info = TaskInfo(name=t.key, kind="regression", n_outputs=1, classes=[], column=t.column, positive=None)
        ok = scale > 0 and math.isfinite(scale) and math.isfinite(mean)
        return info, {"mean": mean if ok else 0.0, "scale": scale if ok else 1.0,
                      "log1p": log_max is not None, "log_max": log_max}
    if kind == "multiclass":
        classes = targets.distinct_classes(s)
        if len(classes) < 2:
            raise DataError(
                f"task {t.key!r} has only one class ({classes[0] if classes else 'none'}) in the training split; "
                f"use more data, another split, or another task."
            )
        info = TaskInfo(name=t.key, kind="multiclass", n_outputs=len(classes), classes=classes,
                        column=t.column, positive=None)
        return info, {}
    raise DataError(f"task {t.key!r} has an unknown kind {kind!r}; use binary, regression or multiclass.")


def target_scaler(st: dict[str, Any]) -> StandardScaler:
    """The regression target's ``StandardScaler`` with its fitted mean and scale."""
    sc = StandardScaler()
    sc.mean_ = np.array([float(st["mean"])])
    sc.scale_ = np.array([float(st["scale"])])
    sc.var_ = sc.scale_ ** 2
    sc.n_features_in_, sc.n_samples_seen_ = 1, 1
    return sc


def encode(df: pd.DataFrame, info: TaskInfo, st: dict[str, Any]) -> np.ndarray:
    """float32 labels of ``info`` for the rows of ``df`` (all NaN without its column)."""
    if info.column not in df.columns:
        return np.full(len(df), np.nan, dtype=np.float32)
    s = df[info.column]
    if info.kind == "binary":
        if st.get("explicit_positive"):  # one value against all others
            return targets.binary_labels(s, info.positive)
        return targets.class_index(s, list(info.classes))
    if info.kind == "regression":
        y = targets.numbers(s, info.column)
        if st.get("log1p"):
            y = np.log1p(np.maximum(y, 0.0))
        if len(y):
            y = target_scaler(st).transform(y.reshape(-1, 1))[:, 0]
        return y.astype(np.float32)
    return targets.class_index(s, list(info.classes))


def inverse(info: TaskInfo, st: dict[str, Any], values: Any) -> np.ndarray:
    """Regression values back to the original units (other kinds unchanged)."""
    v = np.asarray(values, dtype=np.float64)
    if info.kind != "regression" or v.size == 0:
        return v
    inf = np.isinf(v)  # scikit-learn refuses infinities; a positive scale keeps their sign
    out = target_scaler(st).inverse_transform(np.where(inf, 0.0, v).reshape(-1, 1)).reshape(v.shape)
    out = np.where(inf, v, out)
    return np.expm1(np.minimum(out, st.get("log_max") or 700.0)) if st.get("log1p") else out
