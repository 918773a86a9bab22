"""What every lesson shares: its description, its result, the verdict of its check, and
training one small model on generated data (``fit``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..lab.common import CANCELLED, COMPLETE, Reporter, cancelled, check_seeds


@dataclass(frozen=True)
class Verdict:
    passed: bool
    evidence: str  # the numbers the check read, in one sentence


@dataclass(frozen=True)
class Lesson:
    """One guided experiment. ``pinned`` lists the settings it fixes (shown on the page);
    ``units(seeds)`` counts its trainings (for progress); ``run`` returns one observation
    dict per seed; ``check`` reads them."""

    id: str
    title: str
    question: str
    pinned: dict[str, Any]
    notice: str
    expected: str
    robustness: str
    units: Callable[[list[int]], int]
    run: Callable[[int, Reporter, Any], dict | None]
    check: Callable[[pd.DataFrame], Verdict]
    default_seeds: tuple[int, ...] = (0, 1, 2)


@dataclass
class LessonResult:
    lesson: str
    seeds: list[int]
    observations: pd.DataFrame  # one row per seed
    verdict: Verdict | None
    status: str = COMPLETE
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def run_lesson(lesson: Lesson, seeds=None, callback: Callable | None = None, cancel=None) -> LessonResult:
    """Run ``lesson`` once per seed and check the observations (cancelled: the seeds done)."""
    seeds = check_seeds(list(lesson.default_seeds) if seeds is None else seeds)
    rep = Reporter(f"lesson:{lesson.id}", lesson.units(seeds), callback)
    rows, status = [], COMPLETE
    for seed in seeds:
        obs = lesson.run(seed, rep, cancel)
        if obs is None or cancelled(cancel):
            status = CANCELLED
            break
        rows.append({"seed": seed, **obs})
    table = pd.DataFrame(rows)
    verdict = lesson.check(table) if status == COMPLETE and len(table) else None
    rep.close(status)
    return LessonResult(lesson.id, seeds, table, verdict, status, rep.seconds())


def fit(cfg, df: pd.DataFrame, rep: Reporter, label: str, cancel, predict: bool = False) -> dict | None:
    """Train ``cfg`` on ``df``: ``{"test": {task: headline metric}, "result": TrainResult}``
    and, with ``predict``, ``"pred"`` (test predictions per task); None when cancelled."""
    import torch

    from ..lab.common import split_metrics
    from ..models import build_model
    from ..pipeline import predict_split, prepare
    from ..training.trainer import Trainer

    rep.start(label)
    prep = prepare(cfg, df)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model.arch, prep.features, prep.task_infos, cfg.model)
    trainer = Trainer(model, prep.task_infos, cfg.train, inverse_target=prep.preprocessor.inverse_target)
    result = trainer.fit(prep.encoded["train"], prep.encoded["val"], callback=rep.on_train_event, cancel=cancel)
    if cancelled(cancel) or result.stopped == "cancelled":
        return None
    out = {"test": split_metrics(prep, trainer.model, prep.task_infos, "test", trainer.device), "result": result}
    if predict:
        out["pred"] = predict_split(prep, trainer.model, "test", prep.task_infos, trainer.device)[1]
    rep.finish()
    return out


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error of finite values (SE 0 for fewer than two)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
