"""Plain-words warnings about degenerate or useless task models, each with what to try.

``task_warnings`` reads one task's test metrics (with ``baselines`` filled in) and returns
``[{"code", "message"}]``; codes: ``no_better_than_baseline``, ``single_class``, ``low_auc``,
``r2_not_positive``. Shown on the Results page and in the CLI summary.
"""
from __future__ import annotations

__all__ = ["task_warnings", "AUC_FLOOR", "MARGIN"]

AUC_FLOOR = 0.55
MARGIN = 1e-3  # a model must beat its baseline by more than this to count as better

# metric -> True when higher is better; the metrics compared with the baselines per kind
_COMPARED = {
    "binary": {"f1": True, "logloss": False},
    "regression": {"rmse": False, "mae": False},
    "multiclass": {"accuracy": True},
}
_NAMES = {"f1": "F1", "logloss": "log loss", "rmse": "RMSE", "mae": "MAE", "accuracy": "accuracy"}
_BASELINE_WORDS = {
    "prior": "always predicting the training positive rate",
    "mean": "always predicting the training mean",
    "median": "always predicting the training median",
    "majority": "always predicting the most frequent training class",
}
_TRY = {
    "binary": "Try more epochs or a higher learning rate, a task weight or another weighting method, "
              "or more informative feature columns; check that the label can be predicted from the features.",
    "regression": "Try more epochs or another learning rate, the huber loss, target scaling, "
                  "or more informative feature columns.",
    "multiclass": "Try more epochs or another learning rate, a larger model, or more informative feature columns.",
}


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _best_baseline(baselines: dict, metric: str, higher: bool) -> tuple[str, float] | None:
    # the trivial predictors only: a strong reference (gbm) has its own margin, not this warning
    vals = [(name, _num(b.get(metric))) for name, b in baselines.items() if isinstance(b, dict) and name != "gbm"]
    vals = [(n, v) for n, v in vals if v is not None]
    if not vals:
        return None
    return max(vals, key=lambda x: x[1]) if higher else min(vals, key=lambda x: x[1])


def _not_better(task: str, kind: str, m: dict) -> list[dict]:
    baselines = m.get("baselines") or {}
    lost, used = [], set()
    for metric, higher in _COMPARED.get(kind, {}).items():
        mine = _num(m.get(metric))
        best = _best_baseline(baselines, metric, higher)
        if mine is None or best is None:
            continue
        name, ref = best
        better = mine > ref + MARGIN if higher else mine < ref - MARGIN
        if not better:
            lost.append(f"{_NAMES[metric]} {mine:.3f} vs {ref:.3f}")
            used.add(name)
    if not lost:
        return []
    who = " / ".join(_BASELINE_WORDS.get(n, n) for n in sorted(used))
    return [{"code": "no_better_than_baseline",
             "message": f"{task} does not beat its baseline ({who}): {'; '.join(lost)}. {_TRY.get(kind, '')}"}]


def _single_class(task: str, kind: str, m: dict) -> list[dict]:
    cm = m.get("confusion")
    if not isinstance(cm, list) or not cm or m.get("n", 0) in (0, None):
        return []
    cols = [sum(row[j] for row in cm) for j in range(len(cm[0]))]
    predicted = [j for j, c in enumerate(cols) if c > 0]
    actual = [i for i, row in enumerate(cm) if sum(row) > 0]
    if len(predicted) != 1 or len(actual) < 2:
        return []
    if kind == "binary":
        which = "positive" if predicted[0] == 1 else "negative"
        thr = _num(m.get("threshold"))
        at = f" at threshold {thr:.2f}" if thr is not None else ""
        return [{"code": "single_class",
                 "message": f"{task} predicts {which} for every test row{at}, so its accuracy, precision, "
                            "recall and F1 only reflect the class balance. Try the validation F1-best "
                            "threshold, a larger weight for this task, or more training."}]
    classes = m.get("classes") or []
    cls = classes[predicted[0]] if predicted[0] < len(classes) else str(predicted[0])
    return [{"code": "single_class",
             "message": f"{task} predicts the class {cls!r} for every test row. Try more epochs, a larger "
                        "model, or more informative feature columns."}]


def task_warnings(task: str, m: dict) -> list[dict]:
    """Warnings for one task's metrics dict (``kind``, metrics, ``baselines``)."""
    kind = m.get("kind")
    out = _not_better(task, kind, m)
    if kind in ("binary", "multiclass"):
        out += _single_class(task, kind, m)
    auc = _num(m.get("auc"))
    if kind == "binary" and auc is not None and auc <= AUC_FLOOR:
        out.append({"code": "low_auc",
                    "message": f"{task} ranks positives barely better than chance (AUC {auc:.3f} ≤ {AUC_FLOOR}). "
                               + _TRY["binary"]})
    r2 = _num(m.get("r2"))
    if kind == "regression" and r2 is not None and r2 <= 0:
        out.append({"code": "r2_not_positive",
                    "message": f"{task} explains none of the variance (R² {r2:.3f} ≤ 0): a constant would do "
                               "as well. " + _TRY["regression"]})
    return out


def attach_warnings(metrics: dict) -> dict:
    """``metrics["tasks"][T]["warnings"]`` for every task (an empty list when all is well)."""
    for name, m in (metrics.get("tasks") or {}).items():
        if isinstance(m, dict):
            m["warnings"] = task_warnings(name, m)
    return metrics


def catalog_warnings(catalog: dict) -> dict:
    """``{task: [warning]}`` for catalogue rankings no better than the popularity baseline."""
    out: dict = {}
    for task, c in (catalog or {}).items():
        k = c.get("k", 10)
        mine = _num(c.get(f"recall@{k}"))
        pop = _num(((c.get("baselines") or {}).get("popularity") or {}).get(f"recall@{k}"))
        if mine is None or pop is None or mine > pop + MARGIN:
            continue
        out[task] = [{"code": "below_popularity",
                      "message": f"{task} ranks the catalogue no better than recommending the most popular items "
                                 f"(Recall@{k} {mine:.3f} vs {pop:.3f}). Try more epochs, the item id and item "
                                 "features as columns, or a larger embedding size; with few interactions per "
                                 "user, popularity is hard to beat."}]
    return out
