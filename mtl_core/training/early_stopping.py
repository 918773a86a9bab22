"""Early stopping on a validation metric, with the best epoch's weights kept.

The metric is ``loss`` (mean validation loss over tasks), ``METRIC`` (mean over the tasks
that report it) or ``METRIC:TASK`` / ``loss:TASK``; ``METRIC`` is one of the per-epoch
metrics (``epoch_metrics.EPOCH_METRICS``). The name is checked by ``TrainConfig.validate``
(``check_metric_name``) and the task part as soon as the tasks are known, before training
(``check_metric``). No torch here.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError
from .epoch_metrics import EPOCH_METRICS, HIGHER_IS_BETTER

FIELD = "train.early_stopping_metric"


def metric_names() -> list[str]:
    return ["loss", *dict.fromkeys(EPOCH_METRICS.values())]


def check_metric_name(spec: Any) -> str:
    """``spec``'s metric part is ``loss`` or a per-epoch metric; returns ``spec``."""
    names = metric_names()
    example = f"e.g. 'loss' or '{names[1]}:click'"
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"{FIELD} must be one of {', '.join(names)}, optionally followed by ':TASK' "
                          f"({example}); got {spec!r}.")
    name, colon, task = spec.partition(":")
    if name not in names:
        raise ConfigError(f"{FIELD} must start with one of {', '.join(names)} ({example}); got {spec!r}.")
    if colon and not task:
        raise ConfigError(f"{FIELD} names no task after ':' ({example}); got {spec!r}.")
    return spec


def check_metric(spec: str, tasks) -> str:
    """``spec`` is valid for these tasks (``TaskInfo``s): the task exists and reports the
    metric, or (no task) at least one task reports it. Raises ``ConfigError`` naming the
    bad value and the choices."""
    check_metric_name(spec)
    name, _, task = spec.partition(":")
    kinds = {t.name: t.kind for t in tasks}
    if task and task not in kinds:
        raise ConfigError(f"{FIELD} {spec!r} names the task {task!r}, which is not one of this run's tasks "
                          f"({', '.join(kinds)}).")
    if name == "loss":
        return spec
    reported = [t for t, k in kinds.items() if EPOCH_METRICS[k] == name]
    choices = ", ".join(["loss"] + [f"{EPOCH_METRICS[k]}:{t}" for t, k in kinds.items()])
    if task and task not in reported:
        raise ConfigError(f"{FIELD} {spec!r}: {name} is not computed for the {kinds[task]} task {task!r}; "
                          f"choose one of {choices}.")
    if not reported:
        raise ConfigError(f"{FIELD} {spec!r}: no task of this run reports {name}; choose one of {choices}.")
    return spec


def metric_for_tasks(spec: str, tasks) -> str:
    """The metric for a run on a subset of the tasks (e.g. a single-task reference model):
    ``spec`` when it applies to them, else ``loss``."""
    try:
        return check_metric(spec, tasks)
    except ConfigError:
        return "loss"


def score(spec: str, val_loss: dict[str, float], val_metrics: dict[str, dict]) -> tuple[float | None, bool]:
    """(score, higher_is_better) of the metric ``spec`` this epoch; None when not available."""
    name, _, task = spec.partition(":")
    if name == "loss":
        vals = [val_loss[task]] if task else list(val_loss.values())
        return (float(np.mean(vals)) if vals else None), False
    higher = name in HIGHER_IS_BETTER
    if task:
        v = val_metrics.get(task, {}).get(name)
        return (float(v) if v is not None else None), higher
    vals = [m[name] for m in val_metrics.values() if m.get(name) is not None]
    return (float(np.mean(vals)) if vals else None), higher


class Decision(NamedTuple):
    improved: bool
    stop: bool


class EarlyStopping:
    """Tracks the best epoch of ``metric`` and stops after ``patience`` epochs without an
    improvement (``patience`` 0: never stops). Without a validation value for the metric
    (no validation split, or e.g. a single-class AUC) the epoch is scored by its mean
    training loss. ``best_state`` is the state passed with the best epoch."""

    def __init__(self, metric: str = "loss", patience: int = 0) -> None:
        self.metric = check_metric_name(metric)
        self.patience = int(patience)
        self.best_score: float | None = None
        self.best_epoch = 0
        self.best_state: Any = None
        self.bad_epochs = 0

    def update(self, epoch: int, val_loss: dict[str, float], val_metrics: dict[str, dict],
               train_loss: dict[str, float] | None = None, state: Any = None) -> Decision:
        value, higher = score(self.metric, val_loss, val_metrics) if val_loss else (None, False)
        if value is None or not math.isfinite(value):
            value, higher = -float(np.mean(list((train_loss or {}).values()) or [math.inf])), True
        improved = self.best_score is None or (value > self.best_score if higher else value < self.best_score)
        if improved:
            self.best_score, self.best_epoch, self.bad_epochs = value, epoch, 0
            self.best_state = state
        else:
            self.bad_epochs += 1
        return Decision(improved, bool(self.patience) and self.bad_epochs >= self.patience)

    @property
    def message(self) -> str:
        return f"early stopping: no improvement of {self.metric} for {self.patience} epochs"
