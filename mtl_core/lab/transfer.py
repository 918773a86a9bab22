"""Negative transfer: the multi-task model against one ``single``-architecture model per task
(same split, seed, epochs, batch size and learning rate), per task and seed, with a verdict
that only calls a difference a transfer when it is larger than the noise. Beside them, the
gradient-boosting reference of ``evaluation.gbm`` on the same split (``gbm``, ``gbm_mean``):
what a per-task boosted-tree model reaches (None when switched off or past its row limit)."""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..evaluation.headline import headline
from ..runs import list_results, read_result, save_result
from .common import (CANCELLED, COMPLETE, Reporter, check_seeds, created, gbm_test_scores, load_df,
                     single_train_config, train_eval, with_seed)

#: with one seed, a difference counts as a transfer only beyond this (AUC / accuracy points,
#: and for RMSE this fraction of the single-task RMSE)
DEFAULT_TOLERANCE = {"auc": 0.005, "accuracy": 0.005, "rmse": 0.01}

VERDICT_NEGATIVE = "negative transfer"
VERDICT_POSITIVE = "positive transfer"
VERDICT_NOISE = "within run-to-run variation"

TRANSFER_COLUMNS = ["task", "metric", "higher_is_better", "mt_mean", "st_mean", "gbm_mean", "diff", "std",
                    "n_seeds", "verdict", "explanation"]
PER_SEED_COLUMNS = ["seed", "task", "metric", "higher_is_better", "mt", "st", "gbm", "diff", "test_positives"]
#: a binary task with fewer positives than this in a seed's test split gets a warning: its AUC
#: moves by whole hundredths when one positive is ranked differently
MIN_TEST_POSITIVES = 50
_ONE_SEED = " One seed cannot separate noise from a real difference: run 3 or more seeds."


def _direction(mean: float) -> tuple[str, str]:
    return (VERDICT_NEGATIVE, "worse") if mean < 0 else (VERDICT_POSITIVE, "better")


def _one_seed_tolerance(metric: str, tolerance: float | None, reference: float | None) -> float:
    if tolerance is not None:
        return tolerance
    tol = DEFAULT_TOLERANCE.get(metric, 0.005)
    if metric == "rmse":
        tol = tol * abs(reference) if reference is not None and math.isfinite(reference) else 0.0
    return tol


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
        bound = 2.0 * float(d.std(ddof=1)) / math.sqrt(d.size)
        if abs(mean) > bound:
            verdict, word = _direction(mean)
            return verdict, (f"The multi-task model is {word} by {abs(mean):.4g} {metric}, "
                             f"more than two standard errors ({bound:.2g}) over {d.size} seeds.")
        return VERDICT_NOISE, (f"The difference ({mean:+.4g} {metric}) is within two standard errors "
                               f"({bound:.2g}) over {d.size} seeds.")
    tol = _one_seed_tolerance(metric, tolerance, reference)
    if abs(mean) > tol:
        verdict, word = _direction(mean)
        return verdict, (f"The multi-task model is {word} by {abs(mean):.4g} {metric} "
                         f"(beyond the default tolerance of {tol:.3g})." + _ONE_SEED)
    return VERDICT_NOISE, f"The difference ({mean:+.4g} {metric}) is below the default tolerance of {tol:.3g}." + _ONE_SEED


def test_positives(prep) -> dict[str, int | None]:
    """Positive labels of each binary task in the test split (None for other kinds)."""
    labels = prep.encoded["test"].labels
    return {t.name: int(np.nansum(labels[t.name] == 1)) if t.kind == "binary" and t.name in labels else None
            for t in prep.task_infos}


def last_diagnostics(result, seed: int) -> dict:
    """The multi-task model's last recorded gradient cosines and gate weights of one seed."""
    diag = [d for d in (getattr(result, "diagnostics", None) or []) if d.get("cosine") or d.get("gates")]
    last = diag[-1] if diag else {}
    return {"seed": int(seed), "epoch": last.get("epoch"), "cosine": last.get("cosine") or {},
            "gates": last.get("gates") or {}}


def _seed_rows(prep, cfg: RunConfig, seed: int, rep: Reporter, cancel) -> tuple[list[dict], dict] | None:
    """The multi-task model and one single-task model per task on one seed's split: one row
    per task and the multi-task model's last diagnostics, or None when cancelled."""
    infos = prep.task_infos
    rep.start(f"seed {seed}: {cfg.model.arch} on {', '.join(t.name for t in infos)}")
    mt = train_eval(prep, infos, cfg.model, cfg.train, cfg.model.arch, rep, cancel)
    if mt is None:
        return None
    rep.finish()
    st: dict[str, float | None] = {}
    for t in infos:
        rep.start(f"seed {seed}: single-task model for {t.name}")
        res = train_eval(prep, [t], cfg.model, single_train_config(cfg.train, t), "single", rep, cancel)
        if res is None:
            return None
        st[t.name] = res[1][t.name]
        rep.finish()
    rep.start(f"seed {seed}: gradient boosting per task")
    gbm = gbm_test_scores(prep)
    rep.finish()
    rows = []
    pos = test_positives(prep)
    for t in infos:
        metric, higher = headline(t.kind)
        m, s = mt[1][t.name], st[t.name]
        diff = None if m is None or s is None else ((m - s) if higher else (s - m))
        rows.append({"seed": seed, "task": t.name, "metric": metric, "higher_is_better": higher,
                     "mt": m, "st": s, "gbm": gbm.get(t.name), "diff": diff, "test_positives": pos.get(t.name)})
    return rows, last_diagnostics(mt[2], seed)


def negative_transfer(config: RunConfig, df: pd.DataFrame | None = None, seeds: Iterable[int] = (0,),
                      callback: Callable | None = None, cancel=None, runs_root=None,
                      save: bool = True, background: bool = False) -> pd.DataFrame:
    """Multi-task model vs one single-task model per task, per seed (see the module doc).

    Returns one row per task: ``task, metric, higher_is_better, mt_mean, st_mean, gbm_mean``
    (the gradient-boosting reference; None when skipped), ``diff``
    (mean of the signed differences, positive = multi-task better), ``std`` (of the
    differences across seeds; None with one seed), ``n_seeds``, ``verdict``, ``explanation``.
    ``df.attrs`` holds ``status`` (complete | cancelled), ``per_seed`` (a frame, with the
    test split's positives of binary tasks), ``diagnostics`` (per seed: the multi-task model's
    last gradient cosines and gate weights, see ``last_diagnostics``) and ``path``.
    """
    from ..pipeline import prepare
    from ..training.device import set_threads

    seeds = check_seeds(seeds)
    config.validate()
    set_threads(config.train.num_threads, background=background)
    data = load_df(config, df)
    rep = Reporter("negative_transfer", len(seeds) * (2 + len(config.data.tasks)), callback)
    rows: list[dict] = []
    diagnostics: list[dict] = []
    status = COMPLETE
    for seed in seeds:
        cfg = with_seed(config, seed)
        done = _seed_rows(prepare(cfg, data), cfg, seed, rep, cancel)
        if done is None:
            status = CANCELLED
            break
        rows += done[0]
        diagnostics.append(done[1])
    per_seed = pd.DataFrame(rows, columns=PER_SEED_COLUMNS)
    table = summarise_transfer(per_seed)
    table.attrs["status"] = status
    table.attrs["per_seed"] = per_seed
    table.attrs["diagnostics"] = diagnostics
    if save and len(per_seed):
        meta = {"created": created(), "status": status, "seeds": seeds, "arch": config.model.arch,
                "tasks": list(per_seed["task"].unique()), "config": config.to_dict(), "diagnostics": diagnostics,
                "note": "Test-split metrics; diff > 0 means the multi-task model is better."}
        path = save_result(runs_root, "transfer", {"transfer.json": meta, "summary.csv": table,
                                                   "per_seed.csv": per_seed})
        table.attrs["path"] = str(path)
    rep.close(status)
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
        gbm = pd.to_numeric(g["gbm"], errors="coerce") if "gbm" in g else pd.Series(dtype=float)
        verdict, text = transfer_verdict(diffs, metric, reference=float(st.mean()) if st.notna().any() else None)
        out.append({
            "task": task, "metric": metric, "higher_is_better": bool(g["higher_is_better"].iloc[0]),
            "mt_mean": float(mt.mean()) if mt.notna().any() else None,
            "st_mean": float(st.mean()) if st.notna().any() else None,
            "gbm_mean": float(gbm.mean()) if gbm.notna().any() else None,
            "diff": float(np.mean(diffs)) if diffs else None,
            "std": float(np.std(diffs, ddof=1)) if len(diffs) >= 2 else None,
            "n_seeds": len(diffs), "verdict": verdict, "explanation": text,
        })
    return pd.DataFrame(out, columns=TRANSFER_COLUMNS)


def few_positives(per_seed: pd.DataFrame, minimum: int = MIN_TEST_POSITIVES) -> list[str]:
    """A warning per binary task with fewer than ``minimum`` positives in some seed's test
    split (its AUC, and so the paired difference, is then coarse and noisy)."""
    if per_seed is None or per_seed.empty or "test_positives" not in per_seed.columns:
        return []
    out = []
    for task, g in per_seed.groupby("task", sort=False):
        pos = pd.to_numeric(g["test_positives"], errors="coerce").dropna()
        if len(pos) and pos.min() < minimum:
            out.append(f"{task} has only {int(pos.min())} positive label(s) in the test split (fewer than "
                       f"{minimum}): its AUC moves a lot when a few rows are ranked differently, so read "
                       "its difference with care, or use more rows.")
    return out


def list_transfers(root=None) -> list[dict]:
    """Saved negative-transfer checks under ``<root>/transfer``, newest first."""
    return list_results(root, "transfer", "transfer.json")


def load_transfer(path) -> pd.DataFrame:
    """The per-task summary of a saved check (``attrs``: ``per_seed`` and ``meta``)."""
    files = read_result(path, ["transfer.json", "summary.csv", "per_seed.csv"], "negative-transfer check")
    table = files["summary.csv"]
    table.attrs.update(per_seed=files["per_seed.csv"], meta=files["transfer.json"],
                       diagnostics=files["transfer.json"].get("diagnostics") or [])
    return table
