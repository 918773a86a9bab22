"""The headline metric: the one number that summarises a task of each kind, and whether
larger is better. The lab's comparisons, the runs table and the Train page's summary all read
it from here. Light on purpose (no scikit-learn): the runs listing imports it at start-up."""
from __future__ import annotations

from ..values import finite

#: task kind -> (metric name, larger is better)
HEADLINE = {"binary": ("auc", True), "regression": ("rmse", False), "multiclass": ("accuracy", True)}


def headline(kind: str | None) -> tuple[str, bool]:
    """(metric name, larger is better) of the headline metric of a task kind (AUC for an
    unknown kind)."""
    return HEADLINE.get(kind or "", HEADLINE["binary"])


def headline_value(task_metrics: dict) -> tuple[str, float | None]:
    """(metric name, finite value or None) of the headline metric in one task's entry of
    ``evaluate()["tasks"]``; an entry without ``kind`` is read by the metric it holds."""
    kind = task_metrics.get("kind")
    if kind not in HEADLINE:
        kind = next((k for k, (name, _) in HEADLINE.items() if name in task_metrics), None)
    name, _ = headline(kind)
    return name, finite(task_metrics.get(name))
