"""The test report of a run: metrics at each binary task's one threshold, baselines on the
same rows and the warnings, from labels and predictions (no model, no data frame)."""
from __future__ import annotations

from .baselines import attach_baselines
from .metrics import evaluate
from .task_warnings import attach_warnings
from .thresholds import choose_threshold

__all__ = ["build_report"]


def build_report(tasks, y_test: dict, pred_test: dict, y_train: dict, y_val: dict | None = None,
                pred_val: dict | None = None, *, threshold="f1", user_ids=None, k: int = 10) -> dict:
    """``evaluate`` at the thresholds chosen by ``threshold`` (``"f1"``: F1-best on the
    validation labels/predictions; a number: that value), each binary task's
    ``threshold_source``, ``baselines`` and ``warnings``. Labels and predictions in original
    units (validation predictions in any monotone scale of probabilities)."""
    pred_val = pred_val or {}
    chosen = {t.name: choose_threshold(threshold, (y_val or {}).get(t.name) if pred_val else None,
                                       pred_val.get(t.name))
              for t in tasks if t.kind == "binary"}
    metrics = evaluate(tasks, y_test, pred_test, thresholds={n: c[0] for n, c in chosen.items()},
                       user_ids=user_ids, k=k)
    for name, (_, source) in chosen.items():
        if name in metrics["tasks"]:
            metrics["tasks"][name]["threshold_source"] = source
    attach_baselines(metrics, tasks, y_train, y_test, pred_test)
    return attach_warnings(metrics)
