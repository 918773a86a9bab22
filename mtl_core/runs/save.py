"""Writing a finished run: the one place that knows which files a run directory holds and
what goes into each (see ``mtl_core.runs`` for the list)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation.common import original_units
from .store import RunWriter, new_run_id

#: an attribute is an item's (a user's) when it is constant within this share of items (users)
_CONSTANT_SHARE = 0.95


def _constant_within(train: pd.DataFrame, key: str, cols: list[str]) -> list[str]:
    """The columns of ``cols`` that hold one value per ``key`` for almost every key (a key
    whose values are all missing counts as constant).

    Performance: per column, the smallest and largest value code of each key (``pd.factorize``
    + ``np.minimum.at``), not ``groupby().nunique()``: 0.3 s instead of 20 s for 29 columns of
    800 k rows, with the same answer (one value per key iff its smallest code is its largest)."""
    keys, _ = pd.factorize(train[key])
    n_keys = int(keys.max()) + 1 if len(keys) else 0
    if n_keys == 0:
        return []
    known = keys >= 0
    out = []
    for c in cols:
        codes, _ = pd.factorize(train[c])
        rows = known & (codes >= 0)
        lo = np.full(n_keys, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(n_keys, -1, dtype=np.int64)
        np.minimum.at(lo, keys[rows], codes[rows])
        np.maximum.at(hi, keys[rows], codes[rows])
        if float(((hi < 0) | (lo == hi)).mean()) >= _CONSTANT_SHARE:
            out.append(c)
    return out


def _mode_text(s: pd.Series) -> str:
    """``str(s.astype(str).mode().iloc[0])`` (the most frequent text, ties: the smallest),
    counted on the distinct values instead of writing every row as text."""
    codes, uniques = pd.factorize(s)
    counts = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)))
    per_text = counts.groupby(pd.Series(uniques).astype(str).to_numpy(dtype=object)).sum()
    return str(min(per_text.index[per_text.to_numpy() == per_text.max()]))


def _context_defaults(prep, train: pd.DataFrame, cols: list[str]) -> dict:
    """Median (numeric) or most frequent value of each context column, for scoring new pairs."""
    out = {}
    for c in cols:
        s = train[c].dropna()
        if s.empty:
            out[c] = None
        elif c in prep.num_cols:
            out[c] = float(pd.to_numeric(s, errors="coerce").median())
        else:
            out[c] = _mode_text(s)
    return out


def item_user_tables(prep):
    """Catalogue, users, training interactions and their layout (see ``_item_user_tables``),
    built once per prepared data (``Prepared.cache``): catalogue ranking, the saved run and the
    tuner's trials all use them."""
    cache = prep.cache
    if "item_user_tables" not in cache:
        # under torchrun rank 0 encodes only its training shard; the interactions are every rank's
        train_pos = getattr(prep, "shard", {}).get("train_index", prep.encoded["train"].index)
        cache["item_user_tables"] = _item_user_tables(prep, train_pos)
    return cache["item_user_tables"]


def _item_user_tables(prep, train_pos: np.ndarray):
    """Catalogue (items with latest attributes), users (latest user-level features) and the
    training interactions, for recommendations."""
    df = prep.df
    feats = [c for c in prep.cat_cols + prep.num_cols if c not in (prep.user_col, prep.item_col)]
    train = df.iloc[train_pos]
    if prep.time_col and prep.time_col in train.columns:
        order = pd.to_datetime(train[prep.time_col], errors="coerce", format="mixed", utc=True)
        train = train.assign(_t=order).sort_values("_t", kind="stable").drop(columns="_t")
    item_cols = _constant_within(train, prep.item_col, feats) if prep.item_col else []
    user_cols = (_constant_within(train, prep.user_col, [c for c in feats if c not in item_cols])
                 if prep.user_col else [])
    context_cols = [c for c in feats if c not in item_cols and c not in user_cols]
    catalog = train.drop_duplicates(prep.item_col, keep="last")[[prep.item_col] + item_cols] if prep.item_col else pd.DataFrame()
    users = pd.DataFrame()
    if prep.user_col:
        users = train.drop_duplicates(prep.user_col, keep="last")[[prep.user_col] + user_cols + context_cols]
    inter_cols = [c for c in (prep.user_col, prep.item_col, prep.time_col) if c] + [t.column for t in prep.tasks if t.column in df.columns]
    inter_cols = list(dict.fromkeys(inter_cols))
    interactions = train[inter_cols] if prep.user_col and prep.item_col else pd.DataFrame()
    layout = {"item_cols": item_cols, "user_cols": user_cols, "context_cols": context_cols,
              "context_defaults": _context_defaults(prep, train, context_cols)}
    return catalog, users, interactions, layout


def _model_meta(prep, layout: dict) -> dict:
    cfg = prep.config
    return {
        "arch": cfg.model.arch,
        "features": prep.features.to_dict(),
        "tasks": [t.to_dict() for t in prep.task_infos],
        "task_specs": [t.to_dict() for t in prep.tasks],
        "model_config": cfg.model.__dict__,
        "user_col": prep.user_col, "item_col": prep.item_col, "time_col": prep.time_col,
        "cat_cols": prep.cat_cols, "num_cols": prep.num_cols,
        **layout,
    }


def _predictions_frame(prep, pred_test: dict[str, np.ndarray]) -> pd.DataFrame:
    """Test split: ids, ``true:<task>``, ``pred:<task>`` and per-class ``proba:<task>:<class>``."""
    test = prep.encoded["test"]
    pred = pd.DataFrame(index=np.arange(len(test)))
    for c in (prep.user_col, prep.item_col):
        if c:
            pred[c] = prep.df[c].to_numpy()[test.index]
    true_test = original_units(prep.preprocessor, prep.task_infos, test.labels)
    for t in prep.task_infos:
        pred[f"true:{t.name}"] = true_test[t.name]
        p = pred_test[t.name]
        if t.kind == "multiclass":
            pred[f"pred:{t.name}"] = p.argmax(-1).astype(np.int64) if len(p) else np.zeros(0, np.int64)
            for k, cls in enumerate(t.classes):
                pred[f"proba:{t.name}:{cls}"] = p[:, k] if len(p) else np.zeros(0)
        else:
            pred[f"pred:{t.name}"] = p
    return pred


def _write_model(writer: RunWriter, model, optimizer_state: dict | None = None) -> None:
    if getattr(model, "is_sklearn", False):
        writer.json("model.json", model.state_dict_json())
    else:
        import torch

        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, writer.path / "model.pt")
        if optimizer_state:  # tensors and plain containers: loaded with weights_only=True
            torch.save(_to_cpu(optimizer_state), writer.path / "optimizer.pt")


def _to_cpu(obj):
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj.detach().cpu() if hasattr(obj, "detach") else obj


def save_run(prep, model, train_result, metrics: dict, curve_data: dict,
             pred_test: dict[str, np.ndarray], root: str | Path, run_id: str | None = None,
             writer: RunWriter | None = None) -> Path:
    """Write a prepared, trained and evaluated run (``pipeline.Prepared``, the model, the
    trainer's result, test metrics, curves and test predictions in original units) into
    ``writer`` (a fresh ``RunWriter`` under ``root`` when None) and publish it atomically; on
    any failure the temporary directory is removed."""
    if writer is None:
        writer = RunWriter(root, run_id or new_run_id(prep.config.model.arch))
    try:
        # the settings that reproduce the run, plus what each column became (or why not used)
        writer.json("config.json", {**prep.config.to_dict(), "columns": prep.split_report.get("columns", {})})
        writer.json("metrics.json", metrics)
        writer.json("curves.json", curve_data)
        hist = pd.DataFrame(train_result.history)
        if hist.empty:
            hist = pd.DataFrame(columns=["epoch", "split", "task", "loss"])
        writer.frame("history.csv", hist)
        writer.frame("weights.csv", pd.DataFrame(train_result.weights_history, columns=["epoch", "task", "weight"]))
        writer.json("diagnostics.json", train_result.diagnostics)
        writer.json("preprocessor.json", prep.preprocessor.to_dict())
        _write_model(writer, model, getattr(train_result, "optimizer_state", None))
        catalog, users, interactions, layout = item_user_tables(prep)
        writer.json("model_meta.json", _model_meta(prep, layout))
        writer.frame("predictions.parquet", _predictions_frame(prep, pred_test))
        for name, table in (("catalog.parquet", catalog), ("users.parquet", users),
                            ("interactions.parquet", interactions)):
            if not table.empty:
                writer.frame(name, table)
        stopped = train_result.stopped
        writer.json("status.json", {"status": "complete" if stopped in ("completed", "early_stopping") else stopped,
                                    "stopped": stopped, "message": train_result.message,
                                    "best_epoch": train_result.best_epoch})
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
