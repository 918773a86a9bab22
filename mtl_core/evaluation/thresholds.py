"""The one decision threshold of a binary task: chosen on the validation split (F1-best, by
default) or fixed in ``evaluation.threshold``; the scores table, the bar chart, the CLI
summary and the Results-page sliders all use it."""
from __future__ import annotations

import numpy as np

from .metrics import best_f1_threshold

__all__ = ["choose_threshold", "describe_threshold"]


def choose_threshold(setting, y_val=None, p_val=None) -> tuple[float, str]:
    """``(threshold, source)``; ``source`` is ``"validation_f1"``, ``"fixed"`` or
    ``"default"`` (F1-best was asked for but the validation split has only one class)."""
    if not isinstance(setting, str):
        return float(setting), "fixed"
    if y_val is None or p_val is None:
        return 0.5, "default"
    y = np.asarray(y_val, dtype=np.float64).reshape(-1)
    p = np.asarray(p_val, dtype=np.float64).reshape(-1)
    ok = np.isfinite(y) & np.isfinite(p)
    if not ok.any() or np.unique(y[ok] > 0.5).size < 2:
        return 0.5, "default"
    return float(best_f1_threshold(y[ok], p[ok])), "validation_f1"


_WORDS = {
    "validation_f1": "the F1-best threshold on the validation split",
    "fixed": "the threshold set in the run's configuration",
    "default": "0.5, since the validation split has a single class",
}


def describe_threshold(task_metrics: dict) -> str:
    """``"0.37 (the F1-best threshold on the validation split)"`` for a task's metrics."""
    thr = task_metrics.get("threshold")
    if thr is None:
        return "–"
    words = _WORDS.get(task_metrics.get("threshold_source") or "", "")
    return f"{float(thr):.2f}" + (f" ({words})" if words else "")
