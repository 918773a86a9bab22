"""The cheap validation metrics computed after every epoch, and their names.

``EPOCH_METRICS`` is the one list of what an epoch reports per task kind; the early-stopping
metric is checked against it (``early_stopping.check_metric``). No torch here: the config
validation imports this module.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..types import TaskInfo

#: task kind -> the validation metric computed for it after every epoch
EPOCH_METRICS: dict[str, str] = {"binary": "auc", "regression": "rmse", "multiclass": "accuracy"}

#: metrics where larger is better (everything else, e.g. loss/rmse, is minimised)
HIGHER_IS_BETTER = {"auc", "accuracy", "f1", "r2", "gauc", "macro_f1", "precision", "recall"}


def quick_metrics(tasks: list[TaskInfo], y: np.ndarray, mask: np.ndarray, preds: dict[str, np.ndarray],
                  inverse_target: Callable | None = None) -> dict[str, dict[str, float]]:
    """Cheap per-epoch validation metrics: AUC (binary), RMSE (regression, original units
    when ``inverse_target`` is given), accuracy (multiclass)."""
    from ..evaluation.binary_curve import binary_curve  # roc_auc_score without its input checks

    out: dict[str, dict[str, float]] = {}
    for j, t in enumerate(tasks):
        m = mask[:, j]
        yt, p = y[m, j], preds[t.name][m]
        if yt.size == 0:
            continue
        name = EPOCH_METRICS[t.kind]
        if t.kind == "binary":
            if np.unique(yt).size == 2 and np.all(np.isfinite(p)):
                out[t.name] = {name: binary_curve(yt, np.asarray(p, dtype=np.float64)).auc()}
        elif t.kind == "regression":
            if inverse_target is not None:
                yt, p = inverse_target(t.name, yt), inverse_target(t.name, p)
            out[t.name] = {name: float(np.sqrt(np.mean((yt - p) ** 2)))}
        else:
            out[t.name] = {name: float(np.mean(p.argmax(-1) == yt.astype(np.int64)))}
    return out
