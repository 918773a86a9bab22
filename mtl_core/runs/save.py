"""Writing a finished run: the one place that knows which files a run directory holds and
what goes into each (see ``mtl_core.runs`` for the list)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation.common import original_units
from . import tables
from .store import RunWriter, new_run_id


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
    training interactions, for recommendations. Column by column (``runs.tables``): the
    training rows are never copied as a frame."""
    df = prep.df
    feats = [c for c in prep.cat_cols + prep.num_cols if c not in (prep.user_col, prep.item_col)]
    pos = np.asarray(train_pos, dtype=np.int64)
    if prep.time_col and prep.time_col in df.columns:
        pos = tables.time_order(df, pos, prep.time_col)
    item_cols = tables.constant_within(df, pos, prep.item_col, feats) if prep.item_col else []
    user_cols = (tables.constant_within(df, pos, prep.user_col, [c for c in feats if c not in item_cols])
                 if prep.user_col else [])
    context_cols = [c for c in feats if c not in item_cols and c not in user_cols]
    catalog = pd.DataFrame()
    if prep.item_col:
        catalog = tables.rows_of(df, pos[tables.last_rows(df, pos, prep.item_col)], [prep.item_col] + item_cols)
    users = pd.DataFrame()
    if prep.user_col:
        users = tables.rows_of(df, pos[tables.last_rows(df, pos, prep.user_col)],
                               [prep.user_col] + user_cols + context_cols)
    inter_cols = [c for c in (prep.user_col, prep.item_col, prep.time_col) if c] + [t.column for t in prep.tasks if t.column in df.columns]
    inter_cols = list(dict.fromkeys(inter_cols))
    interactions = tables.rows_of(df, pos, inter_cols) if prep.user_col and prep.item_col else pd.DataFrame()
    layout = {"item_cols": item_cols, "user_cols": user_cols, "context_cols": context_cols,
              "context_defaults": tables.context_defaults(df, pos, context_cols, prep.num_cols)}
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
