"""Run comparison: metrics side by side, only the configuration values that differ, and the
training histories of saved runs."""
from __future__ import annotations

import json
from typing import Any, Iterable

import pandas as pd

from ..data.provenance import describe
from ..runs import load_run

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


def _metrics_row(run) -> dict[str, Any]:
    """Name, data (provenance in one line), architecture, weighting, every numeric ``task:metric``, epochs and seconds."""
    train = run.metrics.get("train", {}) or {}
    row: dict[str, Any] = {"name": run.config.name or "", "data": describe(run.config.data.source),
                           "arch": run.config.model.arch, "weighting": run.config.train.weighting}
    for task, m in (run.metrics.get("tasks") or {}).items():
        for k in _COMPARE_METRICS:
            if isinstance(m, dict) and isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool):
                row[f"{task}:{k}"] = float(m[k])
    row["epochs"] = train.get("epochs")
    row["seconds"] = train.get("seconds")
    return row


def _config_diff(flat: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per flattened setting whose values differ between the runs (columns = run ids)."""
    keys = sorted(set().union(*[set(f) for f in flat.values()]))
    diff_rows = {}
    for k in keys:
        vals = [flat[rid].get(k) for rid in flat]
        if len({json.dumps(v, sort_keys=True, default=str) for v in vals}) > 1:
            diff_rows[k] = {rid: ("" if flat[rid].get(k) is None else str(flat[rid].get(k))) for rid in flat}
    config_diff = pd.DataFrame.from_dict(diff_rows, orient="index", columns=list(flat))
    config_diff.index.name = "setting"
    return config_diff


def compare_runs(paths: Iterable) -> dict:
    """``metrics``: one row per run (index = run id) and one column per ``task:metric`` plus
    ``arch``, ``weighting``, ``epochs``, ``seconds``; ``config_diff``: one row per flattened
    config key whose values differ between the runs (columns = run ids); ``histories``:
    run id -> history frame."""
    runs = [load_run(p) for p in paths]
    if not runs:
        empty = pd.DataFrame()
        return {"metrics": empty, "config_diff": empty, "histories": {}}
    metrics = pd.DataFrame.from_dict({r.run_id: _metrics_row(r) for r in runs}, orient="index")
    metrics.index.name = "run"
    flat = {r.run_id: flatten_config(r.config.to_dict()) for r in runs}
    return {"metrics": metrics, "config_diff": _config_diff(flat), "histories": {r.run_id: r.history for r in runs}}
