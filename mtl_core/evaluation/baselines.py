"""Trivial predictors every test score is compared with, fitted on the run's training labels
and scored on exactly the test rows of the model's metrics.

- binary: ``prior``, the training positive rate as a constant probability (AUC 0.5, the
  prior's log loss, precision / recall / F1 at the run's threshold);
- regression: ``mean`` and ``median`` of the training target (original units);
- multiclass: ``majority``, the most frequent training class (its log loss uses the training
  class frequencies).
"""
from __future__ import annotations

import numpy as np

from .metrics import binary_metrics, multiclass_metrics, regression_metrics

__all__ = ["task_baselines", "BINARY_KEYS"]

BINARY_KEYS = ("auc", "average_precision", "logloss", "accuracy", "precision", "recall", "f1", "threshold")


def _clean(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    return y[np.isfinite(y)]


def binary_baselines(y_train, y_test, threshold: float) -> dict:
    tr = _clean(y_train)
    prior = float(np.mean(tr > 0.5)) if tr.size else 0.5
    yt = np.asarray(y_test, dtype=np.float64).reshape(-1)
    m = binary_metrics(yt, np.full(yt.size, prior), threshold)
    # a constant ranks nothing: AUC 0.5 by definition (scikit-learn agrees when both classes exist)
    m["auc"] = 0.5 if m.get("auc") is not None else None
    return {"prior": {"prediction": prior, **{k: m.get(k) for k in BINARY_KEYS}, "n": m["n"]}}


def regression_baselines(y_train, y_test) -> dict:
    tr = _clean(y_train)
    yt = np.asarray(y_test, dtype=np.float64).reshape(-1)
    out = {}
    for name, fn in (("mean", np.mean), ("median", np.median)):
        value = float(fn(tr)) if tr.size else 0.0
        out[name] = {"prediction": value, **regression_metrics(yt, np.full(yt.size, value))}
    return out


def multiclass_baselines(y_train, y_test, n_classes: int, classes=None) -> dict:
    tr = _clean(y_train).astype(np.int64)
    freq = np.bincount(tr, minlength=n_classes)[:n_classes].astype(np.float64) if tr.size else np.ones(n_classes)
    freq = freq / freq.sum()
    yt = np.asarray(y_test, dtype=np.float64).reshape(-1)
    # argmax of the class frequencies is the majority class (the first one on a tie)
    m = multiclass_metrics(yt, np.tile(freq, (yt.size, 1)), classes)
    majority = int(np.argmax(freq))
    cls = m["classes"][majority] if majority < len(m["classes"]) else str(majority)
    return {"majority": {"prediction": cls, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                         "logloss": m["logloss"], "n": m["n"]}}


def task_baselines(kind: str, y_train, y_test, *, threshold: float = 0.5, n_classes: int = 0,
                   classes=None) -> dict:
    """``{name: {metric: value}}`` for one task; ``y_test`` are the evaluated test rows only."""
    if kind == "binary":
        return binary_baselines(y_train, y_test, threshold)
    if kind == "regression":
        return regression_baselines(y_train, y_test)
    if kind == "multiclass":
        return multiclass_baselines(y_train, y_test, max(int(n_classes), 1), classes)
    return {}


def attach_baselines(metrics: dict, tasks, y_train: dict, y_test: dict, y_pred: dict) -> dict:
    """Fill ``metrics["tasks"][T]["baselines"]`` for every task, scored on the rows that
    ``evaluate`` used (a label and a finite prediction) at the task's threshold."""
    from .metrics import evaluated_rows

    for t in tasks:
        m = metrics.get("tasks", {}).get(t.name)
        if m is None:
            continue
        yt = np.asarray(y_test[t.name], dtype=np.float64).reshape(-1)
        rows = evaluated_rows(t.kind, yt, y_pred[t.name])
        m["baselines"] = task_baselines(
            t.kind, y_train[t.name], yt[rows], threshold=float(m.get("threshold") or 0.5),
            n_classes=len(t.classes or []), classes=t.classes or None)
    return metrics


_TABLE_METRICS = {
    "binary": ("auc", "logloss", "precision", "recall", "f1"),
    "regression": ("rmse", "mae", "r2"),
    "multiclass": ("accuracy", "macro_f1", "logloss"),
}


def baseline_table(metrics: dict, kind: str | None = None):
    """One row per task (of ``kind``, or all) and predictor (``model`` first, then each
    baseline; after ``gbm``, the row ``model − gbm``: the model's margin over gradient
    boosting, positive = the model is higher), one column per compared metric, and ``note``
    when a baseline was skipped (why): the Results page's "beside the baselines" table."""
    import pandas as pd

    rows = []
    for task, m in (metrics.get("tasks") or {}).items():
        if not isinstance(m, dict) or (kind is not None and m.get("kind") != kind):
            continue
        keys = _TABLE_METRICS.get(m.get("kind"), ())
        rows.append({"task": task, "predictor": "model", **{k: m.get(k) for k in keys}})
        for name, b in (m.get("baselines") or {}).items():
            rows.append({"task": task, "predictor": name, **{k: b.get(k) for k in keys}, "note": b.get("skipped")})
            if name == "gbm" and not b.get("skipped"):
                rows.append({"task": task, "predictor": "model − gbm", **{k: _minus(m.get(k), b.get(k)) for k in keys}})
    cols = ["task", "predictor"] + list(dict.fromkeys(k for ks in _TABLE_METRICS.values() for k in ks)) + ["note"]
    return pd.DataFrame(rows, columns=cols).dropna(axis=1, how="all")


def _minus(a, b):
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return float(a) - float(b) if ok else None
