"""The multi-task trade-off lab: what sharing between tasks wins and costs.

Four experiments, plain Python (no Streamlit), each usable from the CLI and the app:

- ``negative_transfer``: the multi-task model against one ``single``-architecture model per
  task (same split, seed, epochs, batch size and learning rate), per task and seed, with a
  verdict that only calls a difference a transfer when it is larger than the noise.
- ``pareto_sweep``: a grid of fixed loss weights ``(w_a, 1 - w_a)`` for two tasks (other
  tasks keep weight 1), plus learned weightings and the single-task reference, with the
  Pareto front of the multi-task points.
- ``correlation_lab``: the synthetic experiment of the MMoE paper (Ma et al., KDD 2018):
  shared-bottom, MMoE and single-task models on data whose two task scores have a
  controlled correlation ρ (``synth.make_synthetic(task_correlation=ρ)``).
- ``compare_runs``: metrics, differing configuration values and histories of saved runs.

Long operations take ``callback(progress: dict)`` and ``cancel: threading.Event``. Progress
dicts have ``stage``, ``done``, ``total``, ``fraction`` (0..1) and ``message``. On cancel an
operation stops after (or inside) the current training, drops the unfinished point and
returns what was finished, with status ``cancelled``. Results are saved like runs: written
to ``<runs_root>/<kind>/.tmp-<id>`` and renamed into ``<runs_root>/<kind>/<id>``, where kind
is ``transfer``, ``sweeps`` or ``corrlab``.
"""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..errors import ConfigError, DataError, TrainingError

#: headline metric per task kind and whether larger is better
HEADLINE = {"binary": ("auc", True), "regression": ("rmse", False), "multiclass": ("accuracy", True)}
#: with one seed, a difference counts as a transfer only beyond this (AUC / accuracy points,
#: and for RMSE this fraction of the single-task RMSE)
DEFAULT_TOLERANCE = {"auc": 0.005, "accuracy": 0.005, "rmse": 0.01}
CORRELATION_TASKS = ["click", "rating:regression"]
#: the paper's set-up: two dense regression targets driven directly by the task scores
#: (``make_synthetic(engagement_targets=True)``); pass ``tasks=ENGAGEMENT_TASKS`` to the lab
ENGAGEMENT_TASKS = ["dwell_time:regression", "basket_value:regression"]
_ENGAGEMENT_COLUMNS = ("dwell_time", "basket_value")
#: data sets of the correlation lab: ``ecommerce`` (``synth.make_synthetic``: click / rating on
#: a shop table whose latent vector mostly comes from id embeddings) and ``paper`` (the MMoE
#: paper's own data, ``synth.make_mmoe_paper_data``: x ∈ R^100 observed directly, two
#: regression targets)
CORRELATION_DATASETS = ("ecommerce", "paper")
PAPER_TASKS = ["task_a:regression", "task_b:regression"]
#: spread of the sinusoids' frequencies α on the paper data. The paper's N(0, 0.01) (sd 0.1)
#: makes both targets almost linear in w_k^T x; sd 1 makes some seeds' targets oscillate so fast
#: that no model learns them; sd 0.5 is in between (see docs/LAB.md)
PAPER_ALPHA_STD = 0.5
#: default epochs of the correlation lab per data set
CORRELATION_EPOCHS = {"ecommerce": 12, "paper": 15}

VERDICT_NEGATIVE = "negative transfer"
VERDICT_POSITIVE = "positive transfer"
VERDICT_NOISE = "within run-to-run variation"


# --------------------------------------------------------------------------- helpers
class _Reporter:
    """Turns trainer events and finished units into progress dicts for ``callback``."""

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


def _cancelled(cancel) -> bool:
    return cancel is not None and cancel.is_set()


def _new_id(kind: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{kind}-{uuid.uuid4().hex[:6]}"


def _root(runs_root) -> Path:
    from ..runs import default_runs_root

    return Path(runs_root) if runs_root is not None else default_runs_root()


def _save_dir(runs_root, kind: str, files: dict[str, Any], lab_id: str | None = None) -> Path:
    """Write ``files`` (name -> dict for JSON or DataFrame for CSV) atomically under
    ``<runs_root>/<kind>/<id>``."""
    from ..runs import write_json

    base = _root(runs_root) / kind
    base.mkdir(parents=True, exist_ok=True)
    lab_id = lab_id or _new_id(kind)
    tmp, final = base / f".tmp-{lab_id}", base / lab_id
    tmp.mkdir(parents=True, exist_ok=False)
    try:
        for name, obj in files.items():
            if isinstance(obj, pd.DataFrame):
                obj.to_csv(tmp / name, index=False)
            else:
                write_json(tmp / name, obj)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _list_dirs(runs_root, kind: str, meta_file: str) -> list[dict]:
    from ..runs import read_json

    base = _root(runs_root) / kind
    if not base.is_dir():
        return []
    out = []
    for p in base.iterdir():
        if not p.is_dir() or p.name.startswith(".") or not (p / meta_file).exists():
            continue
        try:
            meta = read_json(p / meta_file)
        except (OSError, ValueError):
            continue
        out.append({**meta, "id": p.name, "path": p})
    out.sort(key=lambda d: (str(d.get("created", "")), d["id"]), reverse=True)
    return out


def _load_df(config: RunConfig, df: pd.DataFrame | None) -> pd.DataFrame:
    if df is not None:
        return df
    from ..pipeline import load_data

    return load_data(config)


def _with_seed(config: RunConfig, seed: int) -> RunConfig:
    cfg = copy.deepcopy(config)
    cfg.train.seed = int(seed)
    cfg.split.seed = int(seed)
    return cfg


def _task_metric(info) -> tuple[str, bool]:
    return HEADLINE.get(info.kind, ("auc", True))


def _split_metrics(prep, model, tasks, split: str, device) -> dict[str, float | None]:
    """Headline metric per task on one split (original units for regression)."""
    from ..evaluation.metrics import evaluate
    from ..pipeline import _predictions_original_units, _true_original_units
    from ..training.trainer import predict

    enc = prep.encoded[split]
    if len(enc) == 0:
        return {t.name: None for t in tasks}
    pred = _predictions_original_units(prep.preprocessor, tasks,
                                       predict(model, enc, tasks, device, prep.config.train.eval_batch_size))
    true = _true_original_units(prep.preprocessor, tasks, enc)
    m = evaluate(tasks, true, pred)["tasks"]
    out = {}
    for t in tasks:
        name, _ = _task_metric(t)
        v = (m.get(t.name) or {}).get(name)
        out[t.name] = float(v) if v is not None and math.isfinite(float(v)) else None
    return out


def _train_eval(prep, tasks, model_cfg, train_cfg, arch: str, reporter: _Reporter | None, cancel):
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
    if _cancelled(cancel) or result.stopped == "cancelled":
        return None
    if result.epochs_run == 0:
        raise TrainingError(result.message or f"Training of {arch} stopped before the first epoch finished.")
    val = _split_metrics(prep, trainer.model, tasks, "val", trainer.device)
    test = _split_metrics(prep, trainer.model, tasks, "test", trainer.device)
    return val, test, result


def _single_train_config(train_cfg, task):
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


def _check_seeds(seeds) -> list[int]:
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise ConfigError(f"seeds must be whole numbers >= 0, e.g. 0,1,2; got {seeds!r}.") from None
    if not out or any(s < 0 for s in out) or len(set(out)) != len(out):
        raise ConfigError(f"seeds must be one or more distinct whole numbers >= 0; got {seeds!r}.")
    return out


# --------------------------------------------------------------------------- negative transfer
def transfer_verdict(diffs: Sequence[float], metric: str = "auc", tolerance: float | None = None,
                     reference: float | None = None) -> tuple[str, str]:
    """(verdict, explanation) for signed differences multi-task − single-task (positive =
    multi-task better), one per seed.

    With ≥ 2 seeds a difference is real when ``|mean| > 2 · std / sqrt(n)`` (two standard
    errors of the paired differences). With one seed the noise cannot be measured: the
    difference counts only beyond ``tolerance`` (default ``DEFAULT_TOLERANCE[metric]``; for
    RMSE a fraction of ``reference``, the single-task RMSE) and the text says so.
    """
    d = np.asarray([x for x in diffs if x is not None and math.isfinite(x)], dtype=np.float64)
    if d.size == 0:
        return VERDICT_NOISE, "No finished pair of runs to compare."
    mean = float(d.mean())
    if d.size >= 2:
        se = float(d.std(ddof=1)) / math.sqrt(d.size)
        bound = 2.0 * se
        if abs(mean) > bound:
            verdict = VERDICT_NEGATIVE if mean < 0 else VERDICT_POSITIVE
            text = (f"The multi-task model is {'worse' if mean < 0 else 'better'} by {abs(mean):.4g} {metric}, "
                    f"more than two standard errors ({bound:.2g}) over {d.size} seeds.")
        else:
            verdict = VERDICT_NOISE
            text = (f"The difference ({mean:+.4g} {metric}) is within two standard errors ({bound:.2g}) "
                    f"over {d.size} seeds.")
        return verdict, text
    tol = tolerance
    if tol is None:
        tol = DEFAULT_TOLERANCE.get(metric, 0.005)
        if metric == "rmse":
            tol = tol * abs(reference) if reference is not None and math.isfinite(reference) else 0.0
    one_seed = " One seed cannot separate noise from a real difference: run 3 or more seeds."
    if abs(mean) > tol:
        verdict = VERDICT_NEGATIVE if mean < 0 else VERDICT_POSITIVE
        text = (f"The multi-task model is {'worse' if mean < 0 else 'better'} by {abs(mean):.4g} {metric} "
                f"(beyond the default tolerance of {tol:.3g})." + one_seed)
    else:
        verdict = VERDICT_NOISE
        text = f"The difference ({mean:+.4g} {metric}) is below the default tolerance of {tol:.3g}." + one_seed
    return verdict, text


TRANSFER_COLUMNS = ["task", "metric", "higher_is_better", "mt_mean", "st_mean", "diff", "std",
                    "n_seeds", "verdict", "explanation"]


def negative_transfer(config: RunConfig, df: pd.DataFrame | None = None, seeds: Iterable[int] = (0,),
                      callback: Callable | None = None, cancel=None, runs_root=None,
                      save: bool = True, background: bool = False) -> pd.DataFrame:
    """Multi-task model vs one single-task model per task, per seed (see the module doc).

    Returns one row per task: ``task, metric, higher_is_better, mt_mean, st_mean, diff``
    (mean of the signed differences, positive = multi-task better), ``std`` (of the
    differences across seeds; None with one seed), ``n_seeds``, ``verdict``, ``explanation``.
    ``df.attrs`` holds ``status`` (complete | cancelled), ``per_seed`` (a frame) and ``path``.
    """
    from ..training.device import set_threads
    from ..pipeline import prepare

    seeds = _check_seeds(seeds)
    config.validate()
    set_threads(config.train.num_threads, background=background)
    data = _load_df(config, df)
    n_tasks = len(config.data.tasks)
    rep = _Reporter("negative_transfer", len(seeds) * (1 + n_tasks), callback)
    rows: list[dict] = []
    status = "complete"
    infos = []
    for seed in seeds:
        cfg = _with_seed(config, seed)
        prep = prepare(cfg, data)
        infos = prep.task_infos
        rep.start(f"seed {seed}: {cfg.model.arch} on {', '.join(t.name for t in infos)}")
        mt = _train_eval(prep, infos, cfg.model, cfg.train, cfg.model.arch, rep, cancel)
        if mt is None:
            status = "cancelled"
            break
        rep.finish()
        st: dict[str, float | None] = {}
        for t in infos:
            rep.start(f"seed {seed}: single-task model for {t.name}")
            res = _train_eval(prep, [t], cfg.model, _single_train_config(cfg.train, t), "single", rep, cancel)
            if res is None:
                status = "cancelled"
                break
            st[t.name] = res[1][t.name]
            rep.finish()
        if status == "cancelled":
            break
        for t in infos:
            metric, higher = _task_metric(t)
            m, s = mt[1][t.name], st[t.name]
            diff = None if m is None or s is None else ((m - s) if higher else (s - m))
            rows.append({"seed": seed, "task": t.name, "metric": metric, "higher_is_better": higher,
                         "mt": m, "st": s, "diff": diff})
    per_seed = pd.DataFrame(rows, columns=["seed", "task", "metric", "higher_is_better", "mt", "st", "diff"])
    table = summarise_transfer(per_seed)
    table.attrs["status"] = status
    table.attrs["per_seed"] = per_seed
    if save and len(per_seed):
        path = _save_dir(runs_root, "transfer", {
            "transfer.json": {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "status": status, "seeds": seeds, "arch": config.model.arch,
                              "tasks": list(per_seed["task"].unique()), "config": config.to_dict(),
                              "note": "Test-split metrics; diff > 0 means the multi-task model is better."},
            "summary.csv": table, "per_seed.csv": per_seed})
        table.attrs["path"] = str(path)
    rep.emit("Finished." if status == "complete" else "Stopped by the user.", 0.0)
    return table


def summarise_transfer(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows (seed, task, metric, higher_is_better, mt, st, diff) -> one row per task
    with the verdict (see ``transfer_verdict``)."""
    out = []
    if per_seed is None or per_seed.empty:
        return pd.DataFrame(columns=TRANSFER_COLUMNS)
    for task, g in per_seed.groupby("task", sort=False):
        metric = str(g["metric"].iloc[0])
        diffs = [float(x) for x in g["diff"] if pd.notna(x)]
        mt = pd.to_numeric(g["mt"], errors="coerce")
        st = pd.to_numeric(g["st"], errors="coerce")
        verdict, text = transfer_verdict(diffs, metric, reference=float(st.mean()) if st.notna().any() else None)
        out.append({
            "task": task, "metric": metric, "higher_is_better": bool(g["higher_is_better"].iloc[0]),
            "mt_mean": float(mt.mean()) if mt.notna().any() else None,
            "st_mean": float(st.mean()) if st.notna().any() else None,
            "diff": float(np.mean(diffs)) if diffs else None,
            "std": float(np.std(diffs, ddof=1)) if len(diffs) >= 2 else None,
            "n_seeds": len(diffs), "verdict": verdict, "explanation": text,
        })
    return pd.DataFrame(out, columns=TRANSFER_COLUMNS)


def list_transfers(root=None) -> list[dict]:
    return _list_dirs(root, "transfer", "transfer.json")


# --------------------------------------------------------------------------- Pareto sweep
POINT_COLUMNS = ["label", "kind", "method", "weight_a", "weight_b", "val_a", "val_b", "test_a", "test_b",
                 "x", "y", "pareto", "epochs", "seconds"]


@dataclass
class SweepResult:
    """A finished (or cancelled) sweep. ``points`` has one row per trained point with the
    validation and test metric of both tasks; ``x`` / ``y`` (plotted) are the test metrics
    and ``pareto`` marks the non-dominated multi-task points (sweep + learned)."""

    id: str
    task_a: str
    task_b: str
    metric_a: str
    metric_b: str
    maximize: tuple[bool, bool]
    points: pd.DataFrame
    status: str = "complete"
    path: Path | None = None
    created: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def axis_a(self) -> str:
        return f"{self.metric_a.upper()} {self.task_a} (test)"

    @property
    def axis_b(self) -> str:
        return f"{self.metric_b.upper()} {self.task_b} (test)"


def sweep_weights(n_points: int) -> list[float]:
    """``n_points`` weights for task A strictly between 0 and 1 (B gets ``1 - w_a``)."""
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or not 1 <= n_points <= 50:
        raise ConfigError(f"n_points must be a whole number between 1 and 50; got {n_points!r}.")
    return [round(float(w), 4) for w in np.linspace(0.0, 1.0, int(n_points) + 2)[1:-1]]


def mark_front(points: pd.DataFrame, maximize: tuple[bool, bool]) -> pd.DataFrame:
    """Set ``pareto`` on the multi-task points (kinds sweep and learned) that no other
    multi-task point dominates on (x, y); single-task points are references, never on it."""
    from .front import pareto_front

    p = points.copy()
    p["pareto"] = False
    mt = p["kind"].isin(["sweep", "learned"]).to_numpy()
    if mt.any():
        mask = pareto_front(p.loc[mt, "x"].astype(float), p.loc[mt, "y"].astype(float), maximize)
        p.loc[mt, "pareto"] = mask
    p["pareto"] = p["pareto"].astype(bool)
    return p


def pareto_sweep(config: RunConfig, df: pd.DataFrame | None, task_a: str, task_b: str, n_points: int = 5,
                 learned: Iterable[str] = ("uncertainty", "gradnorm"), include_single: bool = True,
                 callback: Callable | None = None, cancel=None, runs_root=None, save: bool = True,
                 background: bool = False) -> SweepResult:
    """Fixed weights ``(w_a, 1 - w_a)`` for tasks A and B over ``sweep_weights(n_points)``
    (other tasks of the config keep weight 1), each learned weighting method in ``learned``,
    and (``include_single``) one single-task model per task. Every point uses the same
    prepared split; validation and test metrics are recorded, the plot uses test."""
    from ..training.device import set_threads
    from ..pipeline import prepare
    from ..weighting import WEIGHTINGS

    weights = sweep_weights(n_points)
    learned = [str(m) for m in learned]
    for m in learned:
        WEIGHTINGS.get(m)
    config.validate()
    set_threads(config.train.num_threads, background=background)
    prep = prepare(config, _load_df(config, df))
    infos = {t.name: t for t in prep.task_infos}
    for name in (task_a, task_b):
        if name not in infos:
            raise ConfigError(f"Task {name!r} is not a task of this configuration; tasks are {', '.join(infos)}.")
    if task_a == task_b:
        raise ConfigError("Choose two different tasks for the sweep.")
    (metric_a, hi_a), (metric_b, hi_b) = _task_metric(infos[task_a]), _task_metric(infos[task_b])
    tasks = prep.task_infos
    plan: list[dict] = []
    for w in weights:
        tw = {t.name: 1.0 for t in tasks}
        tw.update({task_a: w, task_b: round(1.0 - w, 4)})
        plan.append({"label": f"fixed {w:.2f} / {1 - w:.2f}", "kind": "sweep", "method": "fixed",
                     "weight_a": w, "weight_b": round(1.0 - w, 4), "task_weights": tw})
    for m in learned:
        plan.append({"label": m, "kind": "learned", "method": m, "weight_a": None, "weight_b": None,
                     "task_weights": {}})
    n_units = len(plan) + (2 if include_single else 0)
    rep = _Reporter("pareto_sweep", n_units, callback)
    rows: list[dict] = []
    status = "complete"
    for p in plan:
        if _cancelled(cancel):
            status = "cancelled"
            break
        tcfg = copy.deepcopy(config.train)
        tcfg.weighting = p["method"]
        tcfg.task_weights = p["task_weights"]
        rep.start(p["label"])
        t0 = time.perf_counter()
        res = _train_eval(prep, tasks, config.model, tcfg, config.model.arch, rep, cancel)
        if res is None:
            status = "cancelled"
            break
        val, test, tr = res
        rows.append({"label": p["label"], "kind": p["kind"], "method": p["method"],
                     "weight_a": p["weight_a"], "weight_b": p["weight_b"],
                     "val_a": val[task_a], "val_b": val[task_b], "test_a": test[task_a], "test_b": test[task_b],
                     "epochs": tr.epochs_run, "seconds": round(time.perf_counter() - t0, 3)})
        rep.finish()
    if include_single and status == "complete":
        single: dict[str, tuple] = {}
        t0 = time.perf_counter()
        for name in (task_a, task_b):
            rep.start(f"single-task {name}")
            res = _train_eval(prep, [infos[name]], config.model, _single_train_config(config.train, infos[name]),
                              "single", rep, cancel)
            if res is None:
                status = "cancelled"
                break
            single[name] = (res[0][name], res[1][name], res[2].epochs_run)
            rep.finish()
        if status == "complete":
            rows.append({"label": "single-task (two models)", "kind": "single", "method": "single",
                         "weight_a": None, "weight_b": None,
                         "val_a": single[task_a][0], "val_b": single[task_b][0],
                         "test_a": single[task_a][1], "test_b": single[task_b][1],
                         "epochs": max(single[task_a][2], single[task_b][2]),
                         "seconds": round(time.perf_counter() - t0, 3)})
    points = pd.DataFrame(rows, columns=[c for c in POINT_COLUMNS if c not in ("x", "y", "pareto")])
    points["x"] = pd.to_numeric(points["test_a"], errors="coerce")
    points["y"] = pd.to_numeric(points["test_b"], errors="coerce")
    points = mark_front(points, (hi_a, hi_b))[POINT_COLUMNS]
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    sid = _new_id("sweep")
    meta = {"created": created, "status": status, "task_a": task_a, "task_b": task_b,
            "metric_a": metric_a, "metric_b": metric_b, "maximize": [hi_a, hi_b], "n_points": int(n_points),
            "learned": learned, "include_single": bool(include_single), "arch": config.model.arch,
            "tasks": [t.name for t in tasks], "config": config.to_dict(),
            "note": ("x / y are test-split metrics (plotted); val_a / val_b are validation metrics, the ones "
                     "to choose a weighting by. The Pareto front covers the multi-task points only.")}
    result = SweepResult(sid, task_a, task_b, metric_a, metric_b, (hi_a, hi_b), points, status,
                         created=created, meta=meta)
    if save and len(points):
        result.path = _save_dir(runs_root, "sweeps", {"sweep.json": meta, "points.csv": points}, sid)
    rep.emit("Finished." if status == "complete" else "Stopped by the user.", 0.0)
    return result


def list_sweeps(root=None) -> list[dict]:
    """Saved sweeps under ``<root>/sweeps``, newest first (their sweep.json plus id and path)."""
    return _list_dirs(root, "sweeps", "sweep.json")


def load_sweep(path) -> SweepResult:
    from ..runs import read_json

    p = Path(path)
    if not (p / "sweep.json").exists() or not (p / "points.csv").exists():
        raise DataError(f"{p} is not a saved sweep (sweep.json / points.csv missing).")
    meta = read_json(p / "sweep.json")
    points = pd.read_csv(p / "points.csv")
    points["pareto"] = points["pareto"].astype(str).str.lower().eq("true")
    mx = meta.get("maximize") or [True, True]
    return SweepResult(p.name, meta["task_a"], meta["task_b"], meta["metric_a"], meta["metric_b"],
                       (bool(mx[0]), bool(mx[1])), points, meta.get("status", "complete"), p,
                       meta.get("created", ""), meta)


# --------------------------------------------------------------------------- correlation lab
CORRELATION_COLUMNS = ["correlation", "model", "task", "metric", "value", "std", "vs_single", "vs_single_std",
                       "vs_single_se", "n_seeds"]


def _check_dataset(dataset) -> str:
    if dataset not in CORRELATION_DATASETS:
        raise ConfigError(f"dataset must be one of {', '.join(CORRELATION_DATASETS)}; got {dataset!r}.")
    return str(dataset)


def correlation_config(arch: str, epochs: int, seed: int, tasks: Sequence[str] | None = None,
                       dataset: str = "ecommerce") -> RunConfig:
    """The small model used by the correlation lab (the same for every architecture).

    ``ecommerce``: ``tasks`` defaults to ``CORRELATION_TASKS``; the engagement columns of the
    generated table that are not tasks are dropped (they are affine in the task scores, so as
    features they would leak the labels).

    ``paper``: ``tasks`` defaults to ``PAPER_TASKS``; the 100 numeric columns are the features
    and the sizes follow the paper's comparison of models of similar size: shared bottom [113]
    vs MMoE 8 experts × [16], towers [8]; single-task nets [16] + [8] per task."""
    from ..config import DataConfig, ModelConfig, SplitConfig, TrainConfig
    from ..data.schema import parse_task_spec

    dataset = _check_dataset(dataset)
    if dataset == "paper":
        tasks = list(tasks) if tasks is not None else list(PAPER_TASKS)
        return RunConfig(
            data=DataConfig(tasks=tasks),
            split=SplitConfig(method="random", seed=int(seed)),
            model=ModelConfig(arch=arch, hidden=[113] if arch == "shared_bottom" else [16], tower_hidden=[8],
                              n_experts=8),
            train=TrainConfig(epochs=int(epochs), batch_size=128, lr=3e-3, patience=0, diagnostics=False,
                              seed=int(seed), num_threads=1),
            name=f"corrlab-paper-{arch}",
        )
    tasks = list(tasks) if tasks is not None else list(CORRELATION_TASKS)
    keys = {parse_task_spec(t).key for t in tasks}
    return RunConfig(
        data=DataConfig(tasks=tasks, user_col="user_id", item_col="item_id", time_col="timestamp",
                        drop=[c for c in _ENGAGEMENT_COLUMNS if c not in keys]),
        split=SplitConfig(method="random", seed=int(seed)),
        # MMoE as in the paper's synthetic study: 8 small experts; shared bottom and single-task
        # nets use one expert-sized bottom ([16]) before their towers
        model=ModelConfig(arch=arch, embed_dim=8, hidden=[16], tower_hidden=[16], n_experts=8),
        train=TrainConfig(epochs=int(epochs), batch_size=256, lr=3e-3, patience=0, diagnostics=False,
                          seed=int(seed), num_threads=1),  # small nets: one thread is fastest
        name=f"corrlab-{arch}",
    )


def correlation_lab(correlations: Iterable[float] = (0.0, 0.5, 0.9, 1.0),
                    archs: Iterable[str] = ("shared_bottom", "mmoe", "single"),
                    rows: int = 8000, epochs: int | None = None, seeds: Iterable[int] = (0, 1, 2),
                    callback: Callable | None = None, cancel=None, runs_root=None, save: bool = True,
                    background: bool = False, tasks: Sequence[str] | None = None,
                    dataset: str = "ecommerce") -> pd.DataFrame:
    """The MMoE paper's synthetic experiment.

    ``dataset="paper"``: the paper's own data (``synth.make_mmoe_paper_data``, x ∈ R^100
    observed directly, α sd ``PAPER_ALPHA_STD``), two regression tasks ``task_a`` / ``task_b``
    (RMSE), shared bottom [113] vs MMoE 8 × [16] (``correlation_config``).

    ``dataset="ecommerce"``: ``make_synthetic``; for each task
    correlation ρ and seed (data, split and initialisation), train each architecture on the
    tasks ``click`` (driven by score a; AUC) and ``rating`` (regression driven by score b,
    observed after a click; RMSE) and record their test metrics. ``tasks`` replaces the two
    tasks, e.g. ``ENGAGEMENT_TASKS`` (``dwell_time`` / ``basket_value``: dense regression
    targets affine in scores a / b, the paper's own set-up).

    Returns ``correlation, model, task, metric, value`` (mean over seeds), ``std`` (across
    seeds; None with one), ``vs_single`` (mean paired difference to the single-task model of
    the same data and seed, positive = better; None without ``single`` in ``archs``),
    ``vs_single_std``, ``vs_single_se`` (its standard error, std / √n) and ``n_seeds``. The
    data of one seed differ between ρ only through the second task's weight vector, so the
    paired difference removes most of the seed-to-seed spread. ``epochs`` defaults to
    ``CORRELATION_EPOCHS[dataset]``.
    """
    from ..training.device import set_threads
    from ..models import MODELS
    from ..pipeline import prepare
    from ..data.synth import make_mmoe_paper_data, make_synthetic

    dataset = _check_dataset(dataset)
    if epochs is None:
        epochs = CORRELATION_EPOCHS[dataset]

    try:
        corrs = [float(c) for c in correlations]
    except (TypeError, ValueError):
        raise ConfigError(f"correlations must be numbers between -1 and 1; got {correlations!r}.") from None
    if not corrs or any(not math.isfinite(c) or not -1 <= c <= 1 for c in corrs):
        raise ConfigError(f"correlations must be one or more numbers between -1 and 1; got {correlations!r}.")
    archs = [str(a) for a in archs]
    if not archs:
        raise ConfigError("archs must name at least one architecture, e.g. shared_bottom, mmoe, single.")
    for a in archs:
        MODELS.get(a)
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or not 200 <= rows <= 2_000_000:
        raise ConfigError(f"rows must be a whole number between 200 and 2,000,000; got {rows!r}.")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= 200:
        raise ConfigError(f"epochs must be a whole number between 1 and 200; got {epochs!r}.")
    seeds = _check_seeds(seeds)
    default_tasks = PAPER_TASKS if dataset == "paper" else CORRELATION_TASKS
    tasks = list(default_tasks) if tasks is None else [str(t) for t in tasks]
    if not tasks:
        raise ConfigError(f"tasks must name at least one task, e.g. {' and '.join(default_tasks)}.")
    cfg0 = correlation_config(archs[0], epochs, seeds[0], tasks, dataset).validate()
    set_threads(cfg0.train.num_threads, background=background)
    rep = _Reporter("correlation_lab", len(corrs) * len(seeds) * len(archs), callback)
    raw: list[dict] = []
    status = "complete"
    for rho in corrs:
        for seed in seeds:
            if dataset == "paper":
                data = make_mmoe_paper_data(rows=int(rows), task_correlation=rho, seed=seed,
                                            alpha_std=PAPER_ALPHA_STD)
            else:
                data = make_synthetic(rows=int(rows), task_correlation=rho, seed=seed, engagement_targets=True)
            prep = prepare(correlation_config(archs[0], epochs, seed, tasks, dataset), data)
            for arch in archs:
                cfg = correlation_config(arch, epochs, seed, tasks, dataset)
                rep.start(f"ρ={rho:g}, seed {seed}: {arch}")
                res = _train_eval(prep, prep.task_infos, cfg.model, cfg.train, arch, rep, cancel)
                if res is None:
                    status = "cancelled"
                    break
                for t in prep.task_infos:
                    metric, higher = _task_metric(t)
                    raw.append({"correlation": rho, "seed": seed, "model": arch, "task": t.name,
                                "metric": metric, "higher": higher, "value": res[1][t.name]})
                rep.finish()
            if status == "cancelled":
                break
        if status == "cancelled":
            break
    table = summarise_correlation(pd.DataFrame(raw, columns=["correlation", "seed", "model", "task", "metric",
                                                             "higher", "value"]))
    table.attrs["status"] = status
    if save and len(table):
        meta = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "status": status,
                "correlations": corrs, "archs": archs, "rows": int(rows), "epochs": int(epochs), "seeds": seeds,
                "tasks": list(tasks), "dataset": dataset,
                "seconds": round(time.perf_counter() - rep.t0, 2),
                "note": "Test-split metrics; vs_single > 0 means better than the single-task model."}
        table.attrs["path"] = str(_save_dir(runs_root, "corrlab", {"corrlab.json": meta, "results.csv": table,
                                                                   "per_seed.csv": pd.DataFrame(raw)}))
    rep.emit("Finished." if status == "complete" else "Stopped by the user.", 0.0)
    return table


def summarise_correlation(raw: pd.DataFrame) -> pd.DataFrame:
    if raw is None or raw.empty:
        return pd.DataFrame(columns=CORRELATION_COLUMNS)
    raw = raw.copy()
    raw["value"] = pd.to_numeric(raw["value"], errors="coerce")
    single = raw[raw["model"] == "single"].set_index(["correlation", "seed", "task"])["value"]
    if len(single):
        ref = raw.set_index(["correlation", "seed", "task"]).index.map(lambda k: single.get(k, np.nan))
        sign = np.where(raw["higher"].astype(bool), 1.0, -1.0)
        raw["gap"] = (raw["value"].to_numpy() - np.asarray(ref, dtype=float)) * sign
    else:
        raw["gap"] = np.nan
    out = []
    for (rho, model, task), g in raw.groupby(["correlation", "model", "task"], sort=False):
        v = g["value"].dropna()
        gap = g["gap"].dropna()
        out.append({"correlation": float(rho), "model": model, "task": task, "metric": g["metric"].iloc[0],
                    "value": float(v.mean()) if len(v) else None,
                    "std": float(v.std(ddof=1)) if len(v) >= 2 else None,
                    "vs_single": float(gap.mean()) if len(gap) else None,
                    "vs_single_std": float(gap.std(ddof=1)) if len(gap) >= 2 else None,
                    "vs_single_se": float(gap.std(ddof=1) / math.sqrt(len(gap))) if len(gap) >= 2 else None,
                    "n_seeds": int(len(v))})
    return pd.DataFrame(out, columns=CORRELATION_COLUMNS)


def list_correlation_labs(root=None) -> list[dict]:
    return _list_dirs(root, "corrlab", "corrlab.json")


def load_correlation_lab(path) -> pd.DataFrame:
    p = Path(path)
    if not (p / "results.csv").exists():
        raise DataError(f"{p} is not a saved correlation lab (results.csv missing).")
    return pd.read_csv(p / "results.csv")


# --------------------------------------------------------------------------- run comparison
_COMPARE_METRICS = ("auc", "logloss", "f1", "accuracy", "macro_f1", "rmse", "mae", "r2")


def flatten_config(d: dict, prefix: str = "") -> dict[str, Any]:
    """Nested config dict -> ``{"model.arch": "mmoe", "train.task_weights.click": 1.0, ...}``;
    lists become JSON text so that they compare and display as one value."""
    out: dict[str, Any] = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if v:
                out.update(flatten_config(v, key + "."))
            else:
                out[key] = "{}"
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(list(v))
        else:
            out[key] = v
    return out


def compare_runs(paths: Iterable) -> dict:
    """``metrics``: one row per run (index = run id) and one column per ``task:metric`` plus
    ``arch``, ``weighting``, ``epochs``, ``seconds``; ``config_diff``: one row per flattened
    config key whose values differ between the runs (columns = run ids); ``histories``:
    run id -> history frame."""
    from ..runs import load_run

    runs = [load_run(p) for p in paths]
    if not runs:
        empty = pd.DataFrame()
        return {"metrics": empty, "config_diff": empty, "histories": {}}
    mrows, flat, hist = {}, {}, {}
    for r in runs:
        rid = r.run_id
        train = r.metrics.get("train", {}) or {}
        row: dict[str, Any] = {"name": r.config.name or "", "arch": r.config.model.arch,
                               "weighting": r.config.train.weighting}
        for task, m in (r.metrics.get("tasks") or {}).items():
            for k in _COMPARE_METRICS:
                if isinstance(m, dict) and isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool):
                    row[f"{task}:{k}"] = float(m[k])
        row["epochs"] = train.get("epochs")
        row["seconds"] = train.get("seconds")
        mrows[rid] = row
        flat[rid] = flatten_config(r.config.to_dict())
        hist[rid] = r.history
    metrics = pd.DataFrame.from_dict(mrows, orient="index")
    metrics.index.name = "run"
    keys = sorted(set().union(*[set(f) for f in flat.values()]))
    diff_rows = {}
    for k in keys:
        vals = [flat[rid].get(k) for rid in flat]
        norm = {json.dumps(v, sort_keys=True, default=str) for v in vals}
        if len(norm) > 1:
            diff_rows[k] = {rid: ("" if flat[rid].get(k) is None else str(flat[rid].get(k))) for rid in flat}
    config_diff = pd.DataFrame.from_dict(diff_rows, orient="index", columns=list(flat))
    config_diff.index.name = "setting"
    return {"metrics": metrics, "config_diff": config_diff, "histories": hist}
