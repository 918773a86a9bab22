"""Pareto sweep: a grid of fixed loss weights ``(w_a, 1 - w_a)`` for two tasks (other tasks
keep weight 1), plus learned weightings and the single-task reference, with the Pareto front
of the multi-task points."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..errors import ConfigError
from ..evaluation.headline import headline
from ..runs import list_results, new_run_id, read_result, save_result
from ..validate import number
from .common import (CANCELLED, COMPLETE, Reporter, cancelled, check_seeds, created, load_df, single_train_config,
                     train_eval, with_seed)
from .seeds import aggregate
from .front import pareto_front

POINT_COLUMNS = ["label", "kind", "method", "weight_a", "weight_b", "val_a", "val_b", "test_a", "test_b",
                 "x", "y", "pareto", "epochs", "seconds", "x_se", "y_se", "n_seeds"]
_KEYS = ["label", "kind", "method", "weight_a", "weight_b"]
_MEANS = ["val_a", "val_b", "test_a", "test_b", "epochs", "seconds"]
_NOTE = ("x / y are test-split metrics (plotted); val_a / val_b are validation metrics, the ones "
         "to choose a weighting by. The Pareto front covers the multi-task points only.")


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
    status: str = COMPLETE
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
    number("n_points", n_points, 1, 50, integer=True)
    return [round(float(w), 4) for w in np.linspace(0.0, 1.0, int(n_points) + 2)[1:-1]]


def mark_front(points: pd.DataFrame, maximize: tuple[bool, bool]) -> pd.DataFrame:
    """Set ``pareto`` on the multi-task points (kinds sweep and learned) that no other
    multi-task point dominates on (x, y); single-task points are references, never on it."""
    p = points.copy()
    p["pareto"] = False
    mt = p["kind"].isin(["sweep", "learned"]).to_numpy()
    if mt.any():
        mask = pareto_front(p.loc[mt, "x"].astype(float), p.loc[mt, "y"].astype(float), maximize)
        p.loc[mt, "pareto"] = mask
    p["pareto"] = p["pareto"].astype(bool)
    return p


def _plan(tasks, task_a: str, task_b: str, weights: list[float], learned: list[str]) -> list[dict]:
    """One entry per multi-task training: the fixed weightings, then the learned methods."""
    plan: list[dict] = []
    for w in weights:
        tw = {t.name: 1.0 for t in tasks}
        tw.update({task_a: w, task_b: round(1.0 - w, 4)})
        plan.append({"label": f"fixed {w:.2f} / {1 - w:.2f}", "kind": "sweep", "method": "fixed",
                     "weight_a": w, "weight_b": round(1.0 - w, 4), "task_weights": tw})
    for m in learned:
        plan.append({"label": m, "kind": "learned", "method": m, "weight_a": None, "weight_b": None,
                     "task_weights": {}})
    return plan


def _multi_task_points(prep, config: RunConfig, plan: list[dict], pair: tuple[str, str], rep: Reporter,
                       cancel) -> tuple[list[dict], str]:
    """Train each planned weighting on the prepared split: (rows, status)."""
    task_a, task_b = pair
    rows: list[dict] = []
    for p in plan:
        if cancelled(cancel):
            return rows, CANCELLED
        tcfg = copy.deepcopy(config.train)
        tcfg.weighting = p["method"]
        tcfg.task_weights = p["task_weights"]
        rep.start(p["label"])
        t0 = time.perf_counter()
        res = train_eval(prep, prep.task_infos, config.model, tcfg, config.model.arch, rep, cancel)
        if res is None:
            return rows, CANCELLED
        val, test, tr = res
        rows.append({"label": p["label"], "kind": p["kind"], "method": p["method"],
                     "weight_a": p["weight_a"], "weight_b": p["weight_b"],
                     "val_a": val[task_a], "val_b": val[task_b], "test_a": test[task_a], "test_b": test[task_b],
                     "epochs": tr.epochs_run, "seconds": round(time.perf_counter() - t0, 3)})
        rep.finish()
    return rows, COMPLETE


def _single_task_point(prep, config: RunConfig, pair: tuple[str, str], rep: Reporter, cancel) -> dict | None:
    """One point from two single-task models (A and B); None when cancelled."""
    infos = {t.name: t for t in prep.task_infos}
    single: dict[str, tuple] = {}
    t0 = time.perf_counter()
    for name in pair:
        rep.start(f"single-task {name}")
        res = train_eval(prep, [infos[name]], config.model, single_train_config(config.train, infos[name]),
                         "single", rep, cancel)
        if res is None:
            return None
        single[name] = (res[0][name], res[1][name], res[2].epochs_run)
        rep.finish()
    a, b = single[pair[0]], single[pair[1]]
    return {"label": "single-task (two models)", "kind": "single", "method": "single",
            "weight_a": None, "weight_b": None, "val_a": a[0], "val_b": b[0], "test_a": a[1], "test_b": b[1],
            "epochs": max(a[2], b[2]), "seconds": round(time.perf_counter() - t0, 3)}


def _points_frame(rows: list[dict], maximize: tuple[bool, bool]) -> pd.DataFrame:
    """Per-seed rows -> one point per weighting: means over seeds, ``x`` / ``y`` (test metrics)
    with their standard errors ``x_se`` / ``y_se`` (NaN with one seed), ``n_seeds`` and the
    Pareto front of the means."""
    per_seed = pd.DataFrame(rows, columns=_KEYS + _MEANS + ["seed"])
    per_seed[["weight_a", "weight_b"]] = per_seed[["weight_a", "weight_b"]].astype(float).fillna(-1.0)
    points = aggregate(per_seed, _KEYS, _MEANS)
    points[["weight_a", "weight_b"]] = points[["weight_a", "weight_b"]].where(points[["weight_a", "weight_b"]] >= 0)
    points["x"], points["y"] = points["test_a"], points["test_b"]
    points["x_se"], points["y_se"] = points["test_a_se"], points["test_b_se"]
    for c in ["x", "y", "x_se", "y_se"] + _MEANS:
        points[c] = pd.to_numeric(points[c], errors="coerce")
    return mark_front(points, maximize)[POINT_COLUMNS]


def _check_pair(prep, task_a: str, task_b: str) -> None:
    names = [t.name for t in prep.task_infos]
    for name in (task_a, task_b):
        if name not in names:
            raise ConfigError(f"Task {name!r} is not a task of this configuration; tasks are {', '.join(names)}.")
    if task_a == task_b:
        raise ConfigError("Choose two different tasks for the sweep.")


def _sweep_seed(prep, config: RunConfig, plan: list[dict], pair: tuple[str, str], include_single: bool,
                rep: Reporter, cancel) -> tuple[list[dict], str]:
    """Every planned point (and the single-task point) on one seed's prepared split."""
    rows, status = _multi_task_points(prep, config, plan, pair, rep, cancel)
    if include_single and status == COMPLETE:
        single = _single_task_point(prep, config, pair, rep, cancel)
        if single is None:
            status = CANCELLED
        else:
            rows.append(single)
    return [{**r, "seed": int(config.train.seed)} for r in rows], status


def pareto_sweep(config: RunConfig, df: pd.DataFrame | None, task_a: str, task_b: str, n_points: int = 5,
                 learned: Iterable[str] = ("uncertainty", "gradnorm"), include_single: bool = True,
                 callback: Callable | None = None, cancel=None, runs_root=None, save: bool = True,
                 background: bool = False, seeds: Iterable[int] | None = None) -> SweepResult:
    """Fixed weights ``(w_a, 1 - w_a)`` for tasks A and B over ``sweep_weights(n_points)``
    (other tasks of the config keep weight 1), each learned weighting method in ``learned``,
    and (``include_single``) one single-task model per task. Every point of one seed uses the
    same prepared split; validation and test metrics are recorded, the plot uses test.
    ``seeds`` (split and initialisation, default: the config's own) repeat the sweep; the
    points are the means over seeds with standard errors (``x_se`` / ``y_se``), the per-seed
    rows are saved as ``per_seed.csv`` and in ``SweepResult.meta["per_seed"]``."""
    from ..pipeline import prepare
    from ..training.device import set_threads
    from ..weighting import WEIGHTINGS

    weights = sweep_weights(n_points)
    learned = [str(m) for m in learned]
    for m in learned:
        WEIGHTINGS.get(m)
    config.validate()
    configs = [config] if seeds is None else [with_seed(config, s) for s in check_seeds(seeds)]
    set_threads(config.train.num_threads, background=background)
    data = load_df(config, df)
    rep = Reporter("pareto_sweep", len(configs) * (len(weights) + len(learned) + (2 if include_single else 0)),
                   callback)
    rows, status, first = [], COMPLETE, None
    for cfg in configs:
        prep = prepare(cfg, data)
        if first is None:
            _check_pair(prep, task_a, task_b)
            first = prep
        plan = _plan(prep.task_infos, task_a, task_b, weights, learned)
        seed_rows, status = _sweep_seed(prep, cfg, plan, (task_a, task_b), include_single, rep, cancel)
        rows += seed_rows
        if status != COMPLETE:
            break
    infos = {t.name: t for t in first.task_infos}
    (metric_a, hi_a), (metric_b, hi_b) = headline(infos[task_a].kind), headline(infos[task_b].kind)
    points = _points_frame(rows, (hi_a, hi_b))
    meta = {"created": created(), "status": status, "task_a": task_a, "task_b": task_b,
            "metric_a": metric_a, "metric_b": metric_b, "maximize": [hi_a, hi_b], "n_points": int(n_points),
            "learned": learned, "include_single": bool(include_single), "arch": config.model.arch,
            "seeds": [int(c.train.seed) for c in configs], "tasks": [t.name for t in first.task_infos],
            "config": config.to_dict(), "note": _NOTE}
    result = SweepResult(new_run_id("sweep"), task_a, task_b, metric_a, metric_b, (hi_a, hi_b), points, status,
                         created=meta["created"], meta={**meta, "per_seed": pd.DataFrame(rows)})
    if save and len(points):
        result.path = save_result(runs_root, "sweeps", {"sweep.json": meta, "points.csv": points,
                                                        "per_seed.csv": pd.DataFrame(rows)}, result.id)
    rep.close(status)
    return result


def list_sweeps(root=None) -> list[dict]:
    """Saved sweeps under ``<root>/sweeps``, newest first (their sweep.json plus id and path)."""
    return list_results(root, "sweeps", "sweep.json")


def load_sweep(path) -> SweepResult:
    files = read_result(path, ["sweep.json", "points.csv"], "sweep")
    meta, points = files["sweep.json"], files["points.csv"]
    for c in ("x_se", "y_se", "n_seeds"):  # sweeps saved before seeds were repeatable
        if c not in points.columns:
            points[c] = np.nan if c != "n_seeds" else 1
    points["pareto"] = points["pareto"].astype(str).str.lower().eq("true")
    mx = meta.get("maximize") or [True, True]
    p = Path(path)
    return SweepResult(p.name, meta["task_a"], meta["task_b"], meta["metric_a"], meta["metric_b"],
                       (bool(mx[0]), bool(mx[1])), points, meta.get("status", COMPLETE), p,
                       meta.get("created", ""), meta)
