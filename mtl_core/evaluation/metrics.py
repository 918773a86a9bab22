"""Evaluation metrics for multi-task models, computed with scikit-learn.

This module is imported only after training (by the pipeline and the result pages), so
``sklearn.metrics`` is imported at module top. Everything returned is JSON-safe: plain
``float``/``int``/``str``/``list``/``dict``/``None`` (never numpy scalars, never NaN/inf).

Conventions
-----------
- Binary predictions are probabilities of the positive class; a row is predicted positive
  when ``p >= threshold`` (the same convention as ``sklearn.metrics.precision_recall_curve``,
  so ``best_f1_threshold`` reproduces the F1 read off the curve).
- Regression values are in original units (the caller inverts the target scaling).
- Multiclass predictions are probabilities ``[n, K]``; labels are class indices.
- NaN labels are excluded per task; rows whose prediction is not finite are excluded too and
  counted in ``nonfinite_predictions``.
- Ranking metrics (per user: GAUC, NDCG@k, Hit@k) live in ``evaluation.ranking`` and are
  re-exported here; ``evaluate`` adds them for binary tasks when user ids are given.
- ``HEADLINE`` / ``headline(kind)`` (``evaluation.headline``, re-exported): the one headline
  metric per task kind.
"""
from __future__ import annotations

import csv
import io
import re
import math
from typing import Any, Iterable

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..values import finite as _f
from ..values import json_safe
from . import binary_curve as bc
from .common import as_1d, binary_labels
from .headline import HEADLINE, headline, headline_value
from .ranking import ranking_metrics

__all__ = [
    "HEADLINE",
    "headline",
    "headline_value",
    "binary_at_threshold",
    "binary_metrics",
    "best_f1_threshold",
    "curves",
    "regression_metrics",
    "multiclass_metrics",
    "ranking_metrics",
    "evaluate",
    "evaluated_rows",
    "metrics_table",
    "escape_csv_cell",
    "to_safe_csv",
    "json_safe",
]

_EPS = 1e-7  # probability clipping for log loss (float32 predictions)
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- helpers
def _downsampled(max_points: int, **arrays: np.ndarray) -> dict[str, list[float]]:
    """The (equally long) arrays at most ``max_points`` evenly spaced indices, always keeping
    both ends, as lists of floats."""
    n = len(next(iter(arrays.values())))
    idx = np.arange(n)
    if n > max_points:
        idx = np.unique(np.round(np.linspace(0, n - 1, max(int(max_points), 2))).astype(np.int64))
    return {name: [float(v) for v in a[idx]] for name, a in arrays.items()}


# --------------------------------------------------------------------------- binary
def _at_threshold(yt: np.ndarray, pp: np.ndarray, threshold: float) -> dict:
    tn, fp, fn, tp = bc.counts_at(yt, pp, float(threshold))
    n = tn + fp + fn + tp

    def ratio(a: int, b: int) -> float:
        return a / b if b else 0.0  # scikit-learn's zero_division=0

    return {
        "accuracy": _f((tp + tn) / n) if n else None,
        "precision": _f(ratio(tp, tp + fp)),
        "recall": _f(ratio(tp, tp + fn)),
        "f1": _f(ratio(2 * tp, 2 * tp + fp + fn)),
        "threshold": float(threshold),
        "confusion": [[tn, fp], [fn, tp]],
        "support": tp + fn,
    }


def binary_at_threshold(y: Any, p: Any, threshold: float = 0.5) -> dict:
    """Accuracy/precision/recall/F1 and the 2×2 confusion ``[[tn, fp], [fn, tp]]`` at ``p >= threshold``.

    ``support`` is the number of positive rows. (Counted directly: the same numbers as
    scikit-learn's ``confusion_matrix`` and ``*_score(zero_division=0)``.)
    """
    return _at_threshold(binary_labels(y), as_1d(p), threshold)


def binary_metrics(y: Any, p: Any, threshold: float = 0.5) -> dict:
    """``binary_at_threshold`` plus ``auc`` (None with one class), ``logloss``, ``positive_rate``, ``n``.

    Performance: AUC and average precision come from one sort of the scores
    (``evaluation.binary_curve``; equal to ``roc_auc_score`` / ``average_precision_score``)."""
    yt = binary_labels(y)
    pp = as_1d(p)
    out = _at_threshold(yt, pp, threshold)
    n = int(yt.size)
    both = n > 0 and 0 < int(yt.sum()) < n
    curve = bc.binary_curve(yt, pp) if both else None
    out["auc"] = _f(curve.auc()) if both else None
    out["average_precision"] = _f(curve.average_precision()) if both else None
    out["logloss"] = _f(bc.log_loss(yt, np.clip(pp, _EPS, 1 - _EPS))) if n else None
    out["positive_rate"] = _f(yt.mean()) if n else None
    out["mean_prediction"] = _f(pp.mean()) if n else None
    out["n"] = n
    return out


def best_f1_threshold(y: Any, p: Any) -> float:
    """Threshold maximising F1 on the precision–recall curve (choose it on validation data).

    Returns 0.5 when there is no positive (F1 is undefined).
    """
    yt = binary_labels(y)
    pp = as_1d(p)
    if yt.size == 0 or yt.sum() == 0:
        return 0.5
    precision, recall, thresholds = bc.binary_curve(yt, pp).pr()
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(thresholds[int(np.argmax(f1))])


def _calibration(yt: np.ndarray, pp: np.ndarray, n_bins: int = 10) -> dict:
    """Uniform-bin reliability curve, like ``sklearn.calibration.calibration_curve`` plus counts."""
    bins = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(bins[1:-1], np.clip(pp, 0.0, 1.0), side="right")
    sums = np.bincount(ids, weights=pp, minlength=n_bins)
    trues = np.bincount(ids, weights=yt, minlength=n_bins)
    counts = np.bincount(ids, minlength=n_bins)
    nz = counts > 0
    return {
        "prob_pred": [float(v) for v in sums[nz] / counts[nz]],
        "prob_true": [float(v) for v in trues[nz] / counts[nz]],
        "count": [int(v) for v in counts[nz]],
    }


def curves(y: Any, p: Any, max_points: int = 200) -> dict:
    """ROC, precision–recall and calibration curves as JSON-safe lists (≤ ``max_points`` each).

    ROC's first threshold (``inf`` in scikit-learn) becomes 1.0. PR ``thresholds`` are aligned
    with ``precision``/``recall`` (same length); the final point (recall 0), which scikit-learn
    gives no threshold, gets 1.0. ``roc["auc"]`` and ``pr["ap"]`` hold the areas (None with one
    class). With one class the ROC/PR lists are empty.
    """
    yt = binary_labels(y)
    pp = as_1d(p)
    n_pos = int(yt.sum())
    both = yt.size > 0 and 0 < n_pos < yt.size
    roc: dict = {"fpr": [], "tpr": [], "thresholds": [], "auc": None}
    pr: dict = {"precision": [], "recall": [], "thresholds": [], "ap": None}
    if both:
        curve = bc.binary_curve(yt, pp)  # one sort for both curves
        fpr, tpr, thr = curve.roc()
        thr[~np.isfinite(thr)] = 1.0
        roc = {**_downsampled(max_points, fpr=fpr, tpr=tpr, thresholds=thr), "auc": _f(curve.auc())}
        precision, recall, pthr = curve.pr()
        pthr = np.append(pthr.astype(np.float64), 1.0)
        pr = {**_downsampled(max_points, precision=precision, recall=recall, thresholds=pthr),
              "ap": _f(curve.average_precision())}
    calib = _calibration(yt.astype(np.float64), pp) if yt.size else {
        "prob_pred": [], "prob_true": [], "count": []
    }
    return {"roc": roc, "pr": pr, "calibration": calib}


# --------------------------------------------------------------------------- regression / multiclass
def regression_metrics(y: Any, yhat: Any) -> dict:
    """RMSE, MAE, R² and n (values in the caller's units). R² is None with fewer than 2 rows."""
    yt, yp = as_1d(y), as_1d(yhat)
    n = int(yt.size)
    if n == 0:
        return {"rmse": None, "mae": None, "r2": None, "n": 0}
    return {
        "rmse": _f(math.sqrt(skm.mean_squared_error(yt, yp))),
        "mae": _f(skm.mean_absolute_error(yt, yp)),
        "r2": _f(skm.r2_score(yt, yp)) if n >= 2 else None,
        "n": n,
    }


def multiclass_metrics(y_idx: Any, proba: Any, classes: Iterable | None = None, *, logloss: bool = True) -> dict:
    """Accuracy, macro-F1, K×K confusion (rows = actual, labels ``range(K)``), classes, logloss."""
    yt = as_1d(y_idx).astype(np.int64)
    pr = np.asarray(proba, dtype=np.float64)
    if pr.ndim == 1:
        pr = pr.reshape(-1, 1)
    k = int(pr.shape[1])
    cls = [str(c) for c in classes] if classes is not None else []
    if len(cls) != k:
        cls = [str(i) for i in range(k)]
    labels = list(range(k))
    n = int(yt.size)
    out: dict = {"classes": cls, "n": n}
    if n == 0:
        out.update(accuracy=None, macro_f1=None, confusion=[[0] * k for _ in range(k)], logloss=None)
        return out
    yhat = pr.argmax(axis=1)
    out["accuracy"] = _f(skm.accuracy_score(yt, yhat))
    out["macro_f1"] = _f(skm.f1_score(yt, yhat, labels=labels, average="macro", zero_division=0))
    out["confusion"] = [[int(v) for v in row] for row in skm.confusion_matrix(yt, yhat, labels=labels).tolist()]
    if logloss and k >= 2:
        q = np.clip(pr, _EPS, 1.0)
        q = q / q.sum(axis=1, keepdims=True)
        out["logloss"] = _f(skm.log_loss(yt, q, labels=labels))
    else:
        out["logloss"] = None
    return out


# --------------------------------------------------------------------------- evaluate
def evaluated_rows(kind: str, y: Any, p: Any) -> np.ndarray:
    """Boolean mask of the rows a task's metrics use: a label and a finite prediction.
    Baselines are scored on exactly these rows."""
    yt = as_1d(y)
    pp = np.asarray(p, dtype=np.float64)
    finite = np.isfinite(pp.reshape(yt.size, -1)).all(axis=1) if kind == "multiclass" else np.isfinite(pp.reshape(-1))
    return np.isfinite(yt) & finite


def _get(obj: Any, name: str, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def evaluate(
    tasks: list,
    y_true: dict,
    y_pred: dict,
    *,
    thresholds: dict | None = None,
    user_ids: Any = None,
    k: int = 10,
) -> dict:
    """Metrics for every task: ``{"tasks": {name: {"kind", ...}}, "ranking": {name: {...}}}``.

    ``ranking`` covers binary tasks and is filled only when ``user_ids`` is given. NaN labels
    (and non-finite predictions) are excluded per task. The result is JSON-safe.
    """
    thresholds = thresholds or {}
    out: dict = {"tasks": {}, "ranking": {}}
    uids = None if user_ids is None else np.asarray(user_ids).reshape(-1)
    for t in tasks:
        name, kind = _get(t, "name"), _get(t, "kind")
        if name not in y_true or name not in y_pred:
            continue
        yt = as_1d(y_true[name])
        yp = np.asarray(y_pred[name], dtype=np.float64)
        yp2 = yp.reshape(yt.size, -1) if kind == "multiclass" else yp.reshape(-1)
        mask = evaluated_rows(kind, yt, yp2)
        bad = int((np.isfinite(yt) & ~mask).sum())
        if kind == "binary":
            thr = float(thresholds.get(name, 0.5))
            m = binary_metrics(yt[mask], yp2[mask], thr)
            if uids is not None and uids.size == yt.size:
                out["ranking"][name] = ranking_metrics(uids[mask], yt[mask], yp2[mask], k=k)
        elif kind == "regression":
            m = regression_metrics(yt[mask], yp2[mask])
        elif kind == "multiclass":
            m = multiclass_metrics(yt[mask], yp2[mask], _get(t, "classes") or None)
        else:
            continue
        m = {"kind": kind, **m, "nonfinite_predictions": bad}
        out["tasks"][name] = m
    return json_safe(out)


# --------------------------------------------------------------------------- tables / CSV
_TABLE_ORDER = [
    "kind", "n", "auc", "average_precision", "logloss", "accuracy", "precision", "recall", "f1",
    "threshold", "positive_rate", "mean_prediction", "support", "rmse", "mae", "r2", "macro_f1",
]


def metrics_table(metrics: dict) -> pd.DataFrame:
    """One row per task (column ``task``), one column per scalar metric; ranking metrics merged in.

    Accepts the output of ``evaluate`` (or a bare ``{task: {...}}`` dict). List-valued entries
    (confusion matrices, classes) are left out.
    """
    per_task = metrics.get("tasks", metrics) if isinstance(metrics, dict) else {}
    ranking = metrics.get("ranking", {}) if isinstance(metrics, dict) and "tasks" in metrics else {}
    rows = []
    for name, m in per_task.items():
        if not isinstance(m, dict):
            continue
        row: dict = {"task": name}
        for key, val in m.items():
            if isinstance(val, (list, tuple, dict)):
                continue
            row[key] = val
        for key, val in (ranking.get(name) or {}).items():
            if key in ("k",) or isinstance(val, (list, tuple, dict)):
                continue
            row[key if key.startswith(("gauc", "ndcg", "hit")) else f"ranking_{key}"] = val
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["task"])
    df = pd.DataFrame(rows)
    cols = ["task"] + [c for c in _TABLE_ORDER if c in df.columns]
    cols += [c for c in df.columns if c not in cols]
    return df[cols].reset_index(drop=True)


_CSV_INNER_TRIGGER = re.compile(r"([\r\n])(?=[=+\-@\t\r])")


def escape_csv_cell(value: Any) -> Any:
    """OWASP CSV-injection guard: a string starting with ``= + - @``, tab or CR gets a leading ``'``.

    Non-strings (numbers, including negative ones, None, bools) are returned unchanged.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(_CSV_TRIGGERS):
        value = "'" + value
    # a line break inside a cell starts a new line for some readers: guard those lines too
    return _CSV_INNER_TRIGGER.sub(r"\1'", value)


def to_safe_csv(df: pd.DataFrame) -> str:
    """CSV text of ``df`` with every string cell (and header) passed through ``escape_csv_cell``.

    A non-default index is written as regular column(s).
    """
    frame = df
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    frame = frame.copy()
    frame.columns = [escape_csv_cell(str(c)) for c in frame.columns]
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        frame[col] = s.astype(object).map(escape_csv_cell)
    buf = io.StringIO()
    # QUOTE_NONNUMERIC: every text cell is quoted, so embedded CR/LF stay inside their cell
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    return buf.getvalue()
