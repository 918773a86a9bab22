"""A budgeted, seeded random search over a run's settings (issue 16).

``tune(config, n)`` trains ``n`` trials (``space.sample_trials``; trial 1 is ``config``
itself), each a complete run written by the pipeline (``mtl_core.runs``) and tagged in its
``metrics.json`` with ``tags: {tuning, trial, trials}``. Trials are compared on the
VALIDATION split only: the score of the early-stopping metric (``train.early_stopping_metric``,
e.g. ``loss`` or ``auc:click``) at the trial's kept epoch. The test metrics of the chosen
trial are reported once, at the end; those of the other trials play no part.

``time_budget_s`` bounds the session's wall-clock time: once it is spent, no further trial
starts (the running one finishes), the status is ``budget`` and the report says how many
trials ran. Every drawn trial's model costs at most ``max_cost`` times the base model per
row (``space``: the cost bound), so a trial cannot be many times dearer than the defaults.

``cancel`` (a ``threading.Event``) stops between trials or, through the trainer, inside one:
finished trials are kept and the best of them is reported; a trial stopped half-way is saved
as a cancelled run but never chosen. The session's summary (every trial's settings and
validation score, the best trial, its test metrics) is saved with the lab results under
``<runs root>/tuning/<session id>``.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..config import RunConfig
from ..errors import ConfigError, MTLError
from ..validate import number
from .space import MAX_COST, apply, describe, model_cost, sample_trials

MAX_TRIALS = 500
DEFAULT_TRIALS = 10  # the Train page's starting value


@dataclass
class Trial:
    number: int
    params: dict
    status: str = "pending"  # finished | cancelled | failed
    val_score: float | None = None
    best_epoch: int = 0
    run_dir: str | None = None
    message: str = ""


@dataclass
class TuneEvent:
    """What the tuner reports between trials (``kind`` ``trial``); ``tuning`` is the state a
    progress panel shows (``progress_text``)."""

    kind: str
    tuning: dict = field(default_factory=dict)
    message: str = ""


@dataclass
class TuneResult:
    session_id: str
    metric: str
    trials: list[Trial]
    best: Trial | None
    status: str  # completed | cancelled | budget (the time budget ended the search)
    metrics: dict = field(default_factory=dict)  # the best trial's test metrics (metrics.json)
    summary_dir: Path | None = None
    requested: int = 0  # the number of trials asked for
    time_budget_s: float | None = None
    elapsed_s: float = 0.0

    @property
    def run_dir(self) -> str | None:  # what a job's panel links to: the best trial's run
        return self.best.run_dir if self.best else None

    def report(self) -> str:
        return report_text(self)


def _val_score(history: pd.DataFrame, best_epoch: int, metric: str) -> tuple[float | None, bool]:
    """(score, higher is better) of ``metric`` on the validation split at ``best_epoch``."""
    from ..training.early_stopping import score
    from ..training.epoch_metrics import HIGHER_IS_BETTER

    higher = metric.partition(":")[0] in HIGHER_IS_BETTER
    if history is None or history.empty or "split" not in history:
        return None, higher
    rows = history[(history["split"] == "val") & (history["epoch"] == best_epoch)]
    val_loss = {r["task"]: float(r["loss"]) for _, r in rows.iterrows()}
    val_metrics = {r["task"]: {k: float(v) for k, v in r.items() if k not in ("epoch", "split", "task", "loss")
                               and pd.notna(v)} for _, r in rows.iterrows()}
    value, higher = score(metric, val_loss, val_metrics)
    return (value if value is not None and math.isfinite(value) else None), higher


def best_trial(trials: list[Trial], higher_is_better: bool) -> Trial | None:
    """The finished trial with the best validation score (the earliest on a tie)."""
    scored = [t for t in trials if t.status == "finished" and t.val_score is not None]
    if not scored:
        return None
    key = (lambda t: -t.val_score) if higher_is_better else (lambda t: t.val_score)
    return min(scored, key=lambda t: (key(t), t.number))


def _check(config: RunConfig, n: int, time_budget_s: float | None) -> None:
    from ..models import MODELS

    number("--tune (the number of trials)", n, lo=1, hi=MAX_TRIALS, integer=True)
    if time_budget_s is not None:
        number("--tune-time (the tuning time budget in seconds, 0 = none)", time_budget_s, lo=0)
    if config.split.val <= 0:
        raise ConfigError("Tuning compares trials on the validation split; set a validation share above 0.")
    if config.parent:
        raise ConfigError("A continued run (--resume) cannot be tuned; tune a fresh run on the data.")
    if getattr(MODELS.get(config.model.arch), "is_sklearn", False) and config.train.early_stopping_metric.startswith("loss"):
        raise ConfigError("Tuning the scikit-learn baseline needs a validation metric, not the loss: set "
                          "--early-stopping-metric auc (or rmse, accuracy).")


def tune(config: RunConfig, n: int, df: pd.DataFrame | None = None, runs_root: str | Path | None = None,
         callback: Callable | None = None, cancel=None, background: bool = False,
         session_id: str | None = None, time_budget_s: float | None = None, max_cost: float = MAX_COST) -> TuneResult:
    """Train up to ``n`` trials of ``config`` (see the module) and return the best by validation.
    ``time_budget_s`` (seconds; None or 0: none) starts no trial once spent; ``max_cost`` bounds
    a trial's model cost per row, times the base model's."""
    from ..pipeline import load_data, prepare, run_experiment
    from ..runs import new_run_id

    config.validate()
    _check(config, n, time_budget_s)
    budget = float(time_budget_s) if time_budget_s else None
    t0 = time.monotonic()
    df = load_data(config) if df is None else df
    prep = prepare(config, df)  # read, split and preprocessed once; the boosting reference fitted once
    sid = session_id or new_run_id("tune")
    metric = config.train.early_stopping_metric
    draws = sample_trials(config, n, config.train.seed, cost=model_cost(prep.features, prep.task_infos),
                          max_cost=max_cost)
    trials = [Trial(k + 1, p) for k, p in enumerate(draws)]
    higher, status = False, "completed"
    for trial in trials:
        if budget is not None and trial.number > 1 and time.monotonic() - t0 >= budget:
            status = "budget"
            break
        best = best_trial(trials, higher)
        if callback is not None:
            state = _state(trial, n, best, metric) | {"time_budget_s": budget, "elapsed_s": time.monotonic() - t0}
            callback(TuneEvent("trial", state, f"trial {trial.number}/{n}"))
        if cancel is not None and cancel.is_set():
            status = "cancelled"
            break
        cfg = apply(config, trial.params)
        cfg.name = f"{config.name + ' · ' if config.name else ''}tuning {sid[-6:]} · trial {trial.number}/{n}"
        try:
            res = run_experiment(cfg, df, callback=callback, cancel=cancel, runs_root=runs_root, background=background,
                                 tags={"tuning": sid, "trial": trial.number, "trials": n},
                                 prepared=prep if same_preparation(config, cfg) else None)
        except MTLError as exc:
            trial.status, trial.message = ("cancelled" if cancel is not None and cancel.is_set() else "failed"), str(exc)
            continue
        higher = _record(trial, res, metric)
    if cancel is not None and cancel.is_set():
        status = "cancelled"
    best = best_trial(trials, higher)
    result = TuneResult(sid, metric, [t for t in trials if t.status != "pending"], best, status,
                        _test_metrics(best), requested=n, time_budget_s=budget, elapsed_s=time.monotonic() - t0)
    result.summary_dir = _save(result, runs_root, config)
    return result


def _record(trial: Trial, res, metric: str) -> bool:
    """Set a finished (or stopped) trial's run, kept epoch and validation score; whether a
    higher score is better."""
    trial.run_dir = str(res.run_dir) if res.run_dir else None
    trial.best_epoch = int(res.metrics.get("train", {}).get("best_epoch") or 0)
    trial.val_score, higher = _val_score(res.history, trial.best_epoch, metric)
    trial.status = "cancelled" if res.status == "cancelled" else "finished"
    trial.message = res.message
    return higher


def same_preparation(a: RunConfig, b: RunConfig) -> bool:
    """Whether ``b`` prepares the data as ``a`` does: only its model and training settings (what
    the search space draws) differ, so a trial can reuse ``a``'s ``Prepared``."""
    return all(getattr(a, s) == getattr(b, s) for s in ("data", "preprocess", "split", "evaluation", "limits"))


def _state(trial: Trial, n: int, best: Trial | None, metric: str) -> dict:
    return {"trial": trial.number, "trials": n, "metric": metric, "best_trial": best.number if best else None,
            "best_score": best.val_score if best else None, "best_params": describe(best.params) if best else ""}


def _test_metrics(best: Trial | None) -> dict:
    if best is None or not best.run_dir:
        return {}
    from ..runs import load_run

    return load_run(best.run_dir).metrics


def _save(result: TuneResult, runs_root, config: RunConfig) -> Path | None:
    from ..runs import save_result

    table = pd.DataFrame([{"trial": t.number, "status": t.status, "val_score": t.val_score, "best_epoch": t.best_epoch,
                           "settings": describe(t.params), "run_dir": t.run_dir} for t in result.trials])
    summary = {"session": result.session_id, "metric": result.metric, "status": result.status,
               "requested": result.requested, "time_budget_s": result.time_budget_s,
               "elapsed_s": round(result.elapsed_s, 1), "trials": [asdict(t) for t in result.trials], "best": asdict(result.best) if result.best else None,
               "best_test": (result.metrics or {}).get("tasks", {}), "base_config": config.to_dict()}
    from ..values import json_safe

    return save_result(runs_root, "tuning", {"tuning.json": json_safe(summary), "trials.csv": table},
                       result_id=result.session_id)


def progress_text(state: dict) -> str:
    """'Trial 3/10 · best so far: trial 2, validation auc 0.8123 (lr 0.003, ...)'."""
    if not state:
        return ""
    text = f"Trial {state['trial']}/{state['trials']}"
    if state.get("best_trial"):
        text += (f" · best so far: trial {state['best_trial']}, validation {state['metric']} "
                 f"{state['best_score']:.4f} ({state['best_params']})")
    if state.get("time_budget_s"):
        text += f" · time budget {state['time_budget_s'] / 60:g} min"
    return text


def report_text(result: TuneResult) -> str:
    """The session in a few lines: trials, the best trial's settings and validation score, and
    its test metrics (the only test metrics the tuner reports)."""
    from ..evaluation import headline_value

    done = sum(t.status == "finished" for t in result.trials)
    ran = len(result.trials)
    why = {"cancelled": " (stopped by the user)",
           "budget": f"; the time budget ({result.time_budget_s or 0:g} s) ended the search after {result.elapsed_s:.0f} s"}
    lines = [f"Tuning {result.session_id}: {ran}{f' of {result.requested}' if result.requested > ran else ''} trial(s), "
             f"{done} finished{why.get(result.status, '')}; chosen on the validation {result.metric}."]
    b = result.best
    if b is None:
        return "\n".join(lines + ["No trial finished, so there is no best trial."])
    lines.append(f"Best: trial {b.number} — {describe(b.params)} — validation {result.metric} {b.val_score:.4f} "
                 f"(epoch {b.best_epoch}).")
    tests = []
    for task, m in (result.metrics.get("tasks") or {}).items():
        name, value = headline_value(m)
        if value is not None:
            tests.append(f"{task} {name.upper()} {value:.4f}")
    lines.append("Its test metrics: " + (", ".join(tests) or "none") + f". Run: {b.run_dir}")
    return "\n".join(lines)
