"""What the lab's experiments share: progress reporting, seeds, and training one model on a
prepared split and scoring it with the headline metric of each task."""
from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from typing import Callable

import pandas as pd

from ..config import RunConfig
from ..errors import TrainingError
from ..evaluation.headline import headline
from ..validate import number_list
from ..values import finite

COMPLETE, CANCELLED = "complete", "cancelled"


class Reporter:
    """Turns trainer events and finished units into progress dicts for ``callback``: ``stage``,
    ``done``, ``total``, ``fraction`` (0..1), ``message`` and ``elapsed_s``."""

    def __init__(self, stage: str, total: int, callback: Callable | None) -> None:
        self.stage, self.total, self.callback = stage, max(1, int(total)), callback
        self.done = 0
        self.label = ""
        self.t0 = time.perf_counter()

    def emit(self, message: str, inner: float = 0.0) -> None:
        if self.callback is None:
            return
        frac = min(1.0, (self.done + max(0.0, min(1.0, inner))) / self.total)
        self.callback({"stage": self.stage, "done": self.done, "total": self.total, "fraction": frac,
                       "message": message, "elapsed_s": time.perf_counter() - self.t0})

    def start(self, label: str) -> None:
        self.label = label
        self.emit(f"{self.done + 1}/{self.total}: {label}")

    def finish(self) -> None:
        self.done += 1
        self.emit(f"{self.done}/{self.total} finished" + (f" ({self.label})" if self.label else ""))

    def close(self, status: str) -> None:
        """The last progress dict of an experiment that ended with ``status``."""
        self.emit("Finished." if status == COMPLETE else "Stopped by the user.", 0.0)

    def seconds(self) -> float:
        return round(time.perf_counter() - self.t0, 2)

    def on_train_event(self, ev) -> None:
        kind = getattr(ev, "kind", "")
        epochs = max(1, int(getattr(ev, "epochs", 0) or 1))
        epoch = int(getattr(ev, "epoch", 0) or 0)
        if kind == "epoch":
            inner = epoch / epochs
        elif kind == "batch":
            steps = max(1, int(getattr(ev, "steps", 0) or 1))
            inner = (epoch - 1 + int(getattr(ev, "step", 0) or 0) / steps) / epochs
        else:
            return
        self.emit(f"{self.done + 1}/{self.total}: {self.label} · epoch {max(epoch, 1)}/{epochs}", inner)


def cancelled(cancel) -> bool:
    return cancel is not None and cancel.is_set()


def created() -> str:
    """Now, as the ``created`` stamp of a saved result (UTC, ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_seeds(seeds) -> list[int]:
    return number_list(seeds, "seeds", int, "0,1,2", lo=0, distinct=True)


def load_df(config: RunConfig, df: pd.DataFrame | None) -> pd.DataFrame:
    """``df``, or the config's data file read; the config records the table's provenance
    (``data.source``) when it has none yet."""
    from ..data.provenance import source_of

    if df is None:
        from ..pipeline import load_data

        df = load_data(config)
    if not config.data.source:
        config.data.source = source_of(df)
    return df


def with_seed(config: RunConfig, seed: int) -> RunConfig:
    """A copy of ``config`` whose split and training use ``seed``."""
    cfg = copy.deepcopy(config)
    cfg.train.seed = int(seed)
    cfg.split.seed = int(seed)
    return cfg


def split_metrics(prep, model, tasks, split: str, device) -> dict[str, float | None]:
    """Headline metric per task on one split (original units for regression)."""
    from ..pipeline import predict_split

    if len(prep.encoded[split]) == 0:
        return {t.name: None for t in tasks}
    true, pred = predict_split(prep, model, split, tasks, device)
    return headline_scores(tasks, true, pred)


def headline_scores(tasks, true: dict, pred: dict) -> dict[str, float | None]:
    """Headline metric per task of predictions ``pred`` against labels ``true``."""
    from ..evaluation.metrics import evaluate

    m = evaluate(tasks, true, pred)["tasks"]
    return {t.name: finite((m.get(t.name) or {}).get(headline(t.kind)[0])) for t in tasks}


def gbm_test_scores(prep) -> dict[str, float | None]:
    """Headline test metric per task of the gradient-boosting reference (``evaluation.gbm``),
    ``{}`` when it is switched off or past its row limit."""
    from ..evaluation.common import original_units
    from ..evaluation.gbm import fit_predict_gbm, gbm_skip_reason

    tasks = prep.task_infos
    if gbm_skip_reason(prep.config, len(prep.encoded["train"])) or not len(prep.encoded["test"]):
        return {}
    pred = fit_predict_gbm(prep, tasks, splits=("test",))["test"]
    return headline_scores(tasks, original_units(prep.preprocessor, tasks, prep.encoded["test"].labels), pred)


def train_eval(prep, tasks, model_cfg, train_cfg, arch: str, reporter: Reporter | None = None, cancel=None):
    """Train ``arch`` on ``tasks`` (a subset of the prepared tasks) and return
    (val metrics, test metrics, TrainResult); None when cancelled."""
    import torch

    from ..models import build_model
    from ..training.trainer import Trainer

    torch.manual_seed(train_cfg.seed)
    model = build_model(arch, prep.features, tasks, model_cfg)
    trainer = Trainer(model, tasks, train_cfg, inverse_target=prep.preprocessor.inverse_target)
    cb = reporter.on_train_event if reporter is not None else None
    result = trainer.fit(prep.encoded["train"], prep.encoded["val"], callback=cb, cancel=cancel)
    if cancelled(cancel) or result.stopped == "cancelled":
        return None
    if result.epochs_run == 0:
        raise TrainingError(result.message or f"Training of {arch} stopped before the first epoch finished.")
    val = split_metrics(prep, trainer.model, tasks, "val", trainer.device)
    test = split_metrics(prep, trainer.model, tasks, "test", trainer.device)
    return val, test, result


def single_train_config(train_cfg, task):
    """The multi-task run's budget (epochs, batch size, lr, optimizer, patience, seed) for a
    single-task model of ``task`` (TaskInfo): plain loss, early stopping on a metric of this
    task or the loss."""
    from ..training.early_stopping import metric_for_tasks

    t = copy.deepcopy(train_cfg)
    t.weighting = "fixed"
    t.task_weights = {}
    t.weighting_params = {}
    t.diagnostics = False
    t.early_stopping_metric = metric_for_tasks(t.early_stopping_metric, [task])
    return t
