"""End-to-end experiment: data -> schema -> split -> preprocessing -> model -> training ->
test metrics -> run directory. The CLI and the app both call ``run_experiment``."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .config import RunConfig
from .errors import ConfigError, DataError, TrainingError
from .types import EncodedSplit, FeatureSpec, TaskInfo, TaskSpec

log = logging.getLogger(__name__)

FEATURE_ROLES = {"user_id", "item_id", "categorical", "numeric"}


@dataclass
class Prepared:
    config: RunConfig
    df: pd.DataFrame
    schema: object  # schema.Schema
    tasks: list[TaskSpec]
    cat_cols: list[str]
    num_cols: list[str]
    user_col: str | None
    item_col: str | None
    time_col: str | None
    splits: dict[str, np.ndarray]
    preprocessor: object  # preprocess.Preprocessor
    encoded: dict[str, EncodedSplit]
    split_report: dict = field(default_factory=dict)

    @property
    def task_infos(self) -> list[TaskInfo]:
        return self.preprocessor.task_infos_

    @property
    def features(self) -> FeatureSpec:
        return self.preprocessor.feature_spec_


@dataclass
class RunResult:
    run_dir: Path | None
    metrics: dict
    history: pd.DataFrame
    status: str
    message: str = ""


def load_data(config: RunConfig) -> pd.DataFrame:
    from .data.io import read_table

    if not config.data.path:
        raise ConfigError("data.path is empty: give a data file (--data FILE).")
    return read_table(config.data.path, config.data.read, config.limits)


def _role(schema, col: str) -> str:
    r = schema.role_of(col)
    return getattr(r, "value", r)


def prepare(config: RunConfig, df: pd.DataFrame | None = None) -> Prepared:
    """Validate the configuration against the data, split and fit preprocessing."""
    from .data.sales import adapt_for_training
    from .data.schema import check_features_vs_tasks, infer_schema, parse_task_spec, resolve_tasks
    from .data.split import split_indices

    config.validate()
    if df is None:
        df = load_data(config)
    df, notes = adapt_for_training(df, config)
    if len(df) == 0:
        raise DataError("The data has no rows.")
    if len(df) > config.limits.max_rows:
        raise DataError(f"The data has {len(df):,} rows, more than the limit of {config.limits.max_rows:,}; sample it or raise limits.max_rows.")
    d = config.data
    overrides = dict(d.roles)
    for col, role in ((d.user_col, "user_id"), (d.item_col, "item_id"), (d.time_col, "timestamp"), (d.session_col, "session_id")):
        if col:
            if col not in df.columns:
                raise DataError(f"Column {col!r} (given as the {role.replace('_', ' ')} column) is not in the data.")
            overrides[col] = role
    for col in list(overrides) + list(d.drop):
        if col not in df.columns:
            raise DataError(f"Column {col!r} named in the configuration is not in the data; columns are: {', '.join(map(str, df.columns[:20]))}.")
    schema = infer_schema(df, overrides=overrides or None)
    specs = [parse_task_spec(s) if isinstance(s, str) else TaskSpec.from_dict(s) for s in d.tasks]
    tasks = resolve_tasks(df, specs)
    task_cols = {t.column for t in tasks}
    drop = set(d.drop)
    # a task column is never a feature, unless the user explicitly gave it a feature role
    explicit = {c for c, r in d.roles.items() if r in FEATURE_ROLES}
    check_features_vs_tasks([c for c in explicit if c not in drop], tasks)
    cat_cols, num_cols = [], []
    for col in df.columns:
        if col in drop or col in task_cols:
            continue
        role = _role(schema, col)
        if role in ("user_id", "item_id", "categorical"):
            cat_cols.append(col)
        elif role == "numeric":
            num_cols.append(col)
    if not cat_cols and not num_cols:
        raise DataError("No feature columns are left: mark at least one column as categorical, numeric, user id or item id.")
    user_col = schema.user_col
    item_col = schema.item_col
    time_col = schema.time_col

    # split on the raw frame
    strat = None
    if config.split.method == "stratified":
        from .data.schema import task_target

        name = config.split.stratify_task or next((t.key for t in tasks if t.kind == "binary"), None)
        spec = next((t for t in tasks if t.key == name), None)
        if spec is None:
            raise ConfigError(f"split.stratify_task {name!r} is not a binary task of this run.")
        strat = np.asarray(task_target(df[spec.column], spec), dtype=float)
    splits = split_indices(df, config.split, time_col=time_col, user_col=user_col, stratify=strat)

    pre, enc_train = _fit_preprocessor(config, df, df.iloc[splits["train"]], cat_cols, num_cols, tasks, time_col)
    cat_cols, num_cols = list(pre.cat_cols), list(pre.num_cols)
    encoded = {"train": enc_train}
    for name in ("val", "test"):
        encoded[name] = pre.transform(df.iloc[splits[name]])
    # positions in the original frame of the rows that survived cleaning
    for name in ("train", "val", "test"):
        encoded[name].index = np.asarray(splits[name])[encoded[name].index]
    if len(encoded["train"]) == 0:
        raise DataError("Cleaning removed every training row; choose another missing-value strategy than 'drop'.")
    if len(encoded["test"]) == 0:
        raise DataError("The test split is empty; use more rows or a larger test fraction.")
    report = {**_split_report(encoded, pre.task_infos_), "notes": notes}
    return Prepared(config, df, schema, tasks, cat_cols, num_cols, user_col, item_col, time_col,
                    splits, pre, encoded, report)


def _fit_preprocessor(config: RunConfig, df, train_df, cat_cols, num_cols, tasks, time_col):
    """A fresh preprocessor fitted on the training rows, or, for a continued run
    (``config.parent``), the parent's fitted one applied unchanged."""
    from .data.preprocess import Preprocessor
    from .predict import check_features, parent_preprocessor

    pre = parent_preprocessor(config)
    if pre is None:
        pre = Preprocessor(config.preprocess, cat_cols, num_cols, tasks, time_col=time_col, limits=config.limits)
        return pre, pre.fit_transform(train_df)
    check_features(pre, df)
    return pre, pre.transform(train_df)


def _split_report(encoded: dict[str, EncodedSplit], tasks: list[TaskInfo]) -> dict:
    sizes = {n: len(e) for n, e in encoded.items()}
    rates: dict = {}
    for n, e in encoded.items():
        rates[n] = {}
        for t in tasks:
            y = e.labels[t.name]
            y = y[~np.isnan(y)]
            if t.kind == "binary":
                rates[n][t.name] = float(y.mean()) if y.size else None
            elif t.kind == "multiclass":
                rates[n][t.name] = {t.classes[int(k)]: float(np.mean(y == k)) for k in range(len(t.classes))} if y.size else None
            else:
                rates[n][t.name] = None
    return {"sizes": sizes, "label_rates": rates}


# --------------------------------------------------------------------------- training + saving
def _predictions_original_units(pre, tasks: list[TaskInfo], preds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for t in tasks:
        p = preds[t.name]
        out[t.name] = pre.inverse_target(t.name, p) if t.kind == "regression" else p
    return out


def _true_original_units(pre, tasks: list[TaskInfo], split: EncodedSplit) -> dict[str, np.ndarray]:
    out = {}
    for t in tasks:
        y = split.labels[t.name]
        out[t.name] = pre.inverse_target(t.name, y) if t.kind == "regression" else y
    return out


def _too_big(n_params: int, limit: int, prep: Prepared, what: str) -> DataError:
    feats = prep.features
    cards = sorted(zip(feats.cat_cardinalities, feats.cat_names), reverse=True)
    biggest = f"; the largest vocabulary is {cards[0][1]!r} ({cards[0][0]:,} values)" if cards else ""
    return DataError(
        f"The model would have {n_params:,} {what}, more than limits.max_model_params={limit:,}{biggest}; "
        "lower the embedding size or the layer sizes, raise min_frequency, drop an id column, or raise the limit."
    )


def build_run_model(prep: Prepared):
    from .models import build_model

    cfg = prep.config
    limit = cfg.limits.max_model_params
    # embedding tables dominate: refuse before allocating them
    n_embed = sum(int(c) for c in prep.features.cat_cardinalities) * int(cfg.model.embed_dim)
    if n_embed > limit:
        raise _too_big(n_embed, limit, prep, "embedding parameters")
    model = build_model(cfg.model.arch, prep.features, prep.task_infos, cfg.model)
    if not getattr(model, "is_sklearn", False) and hasattr(model, "parameters"):
        n_params = sum(int(p.numel()) for p in model.parameters())
        if n_params > limit:
            raise _too_big(n_params, limit, prep, "parameters")
    return model


def evaluate_prepared(prep: Prepared, model, device=None) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """Test metrics (with the F1-best threshold chosen on validation), curves, predictions."""
    from .evaluation.forecast import add_forecast_baselines
    from .evaluation.metrics import best_f1_threshold, binary_at_threshold, curves, evaluate
    from .training.trainer import predict

    tasks = prep.task_infos
    pre = prep.preprocessor
    bs = prep.config.train.eval_batch_size
    test = prep.encoded["test"]
    pred_test = _predictions_original_units(pre, tasks, predict(model, test, tasks, device, bs))
    true_test = _true_original_units(pre, tasks, test)
    user_ids = prep.df[prep.user_col].to_numpy()[test.index] if prep.user_col else None
    metrics = evaluate(tasks, true_test, pred_test, user_ids=user_ids, k=10)
    add_forecast_baselines(metrics, prep, true_test, pred_test)
    curve_data: dict = {}
    val = prep.encoded["val"]
    pred_val = predict(model, val, tasks, device, bs) if len(val) else {}
    for t in tasks:
        if t.kind != "binary":
            continue
        y, p = true_test[t.name], pred_test[t.name]
        m = ~np.isnan(y)
        if m.sum() and np.unique(y[m]).size == 2:
            curve_data[t.name] = curves(y[m], p[m])
        if pred_val:
            yv = val.labels[t.name]
            mv = ~np.isnan(yv)
            if mv.sum() and np.unique(yv[mv]).size == 2:
                thr = float(best_f1_threshold(yv[mv], pred_val[t.name][mv]))
                best = binary_at_threshold(y[m], p[m], thr) if m.sum() else {}
                metrics["tasks"][t.name]["best_threshold"] = thr
                metrics["tasks"][t.name]["f1_at_best_threshold"] = best.get("f1")
    return metrics, curve_data, pred_test


def _item_user_tables(prep: Prepared, train_pos: np.ndarray):
    """Catalogue (items with latest attributes), users (latest user-level features) and the
    training interactions, for recommendations."""
    df = prep.df
    feats = [c for c in prep.cat_cols + prep.num_cols if c not in (prep.user_col, prep.item_col)]
    train = df.iloc[train_pos]
    if prep.time_col and prep.time_col in train.columns:
        order = pd.to_datetime(train[prep.time_col], errors="coerce", format="mixed", utc=True)
        train = train.assign(_t=order).sort_values("_t", kind="stable").drop(columns="_t")
    item_cols: list[str] = []
    user_cols: list[str] = []
    if prep.item_col:
        g = train.groupby(prep.item_col, sort=False, observed=True)
        for c in feats:
            nun = g[c].nunique(dropna=True)
            if len(nun) and float((nun <= 1).mean()) >= 0.95:
                item_cols.append(c)
    if prep.user_col:
        g = train.groupby(prep.user_col, sort=False, observed=True)
        for c in feats:
            if c in item_cols:
                continue
            nun = g[c].nunique(dropna=True)
            if len(nun) and float((nun <= 1).mean()) >= 0.95:
                user_cols.append(c)
    context_cols = [c for c in feats if c not in item_cols and c not in user_cols]
    catalog = train.drop_duplicates(prep.item_col, keep="last")[[prep.item_col] + item_cols] if prep.item_col else pd.DataFrame()
    users = pd.DataFrame()
    if prep.user_col:
        users = train.drop_duplicates(prep.user_col, keep="last")[[prep.user_col] + user_cols + context_cols]
    inter_cols = [c for c in (prep.user_col, prep.item_col, prep.time_col) if c] + [t.column for t in prep.tasks if t.column in df.columns]
    inter_cols = list(dict.fromkeys(inter_cols))
    interactions = train[inter_cols] if prep.user_col and prep.item_col else pd.DataFrame()
    context_defaults = {}
    for c in context_cols:
        s = train[c].dropna()
        if s.empty:
            context_defaults[c] = None
        elif c in prep.num_cols:
            context_defaults[c] = float(pd.to_numeric(s, errors="coerce").median())
        else:
            context_defaults[c] = str(s.astype(str).mode().iloc[0])
    layout = {"item_cols": item_cols, "user_cols": user_cols, "context_cols": context_cols,
              "context_defaults": context_defaults}
    return catalog, users, interactions, layout


def save_run(prep: Prepared, model, train_result, metrics: dict, curve_data: dict,
             pred_test: dict[str, np.ndarray], root: str | Path, run_id: str | None = None,
             writer=None) -> Path:
    """Write the run's files into ``writer`` (a fresh ``RunWriter`` when None) and publish
    them atomically; on any failure the temporary directory is removed."""
    import torch

    from .runs import RunWriter, new_run_id

    cfg = prep.config
    if writer is None:
        writer = RunWriter(root, run_id or new_run_id(cfg.model.arch))
    try:
        writer.json("config.json", cfg.to_dict())
        writer.json("metrics.json", metrics)
        writer.json("curves.json", curve_data)
        hist = pd.DataFrame(train_result.history)
        if hist.empty:
            hist = pd.DataFrame(columns=["epoch", "split", "task", "loss"])
        writer.frame("history.csv", hist)
        writer.frame("weights.csv", pd.DataFrame(train_result.weights_history, columns=["epoch", "task", "weight"]))
        writer.json("diagnostics.json", train_result.diagnostics)
        writer.json("preprocessor.json", prep.preprocessor.to_dict())
        if getattr(model, "is_sklearn", False):
            writer.json("model.json", model.state_dict_json())
        else:
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, writer.path / "model.pt")
        catalog, users, interactions, layout = _item_user_tables(prep, prep.encoded["train"].index)
        fused_default = [t.name for t in prep.task_infos if t.kind == "binary"]
        bought = next((t.column for t in prep.tasks if t.kind == "binary" and any(
            w in t.column.lower() for w in ("purchase", "buy", "order", "bought", "conversion"))), None)
        if bought is None and fused_default:
            bought = next(t.column for t in prep.tasks if t.key == fused_default[-1])
        writer.json("model_meta.json", {
            "arch": cfg.model.arch,
            "features": prep.features.to_dict(),
            "tasks": [t.to_dict() for t in prep.task_infos],
            "task_specs": [t.to_dict() for t in prep.tasks],
            "model_config": cfg.model.__dict__,
            "user_col": prep.user_col, "item_col": prep.item_col, "time_col": prep.time_col,
            "cat_cols": prep.cat_cols, "num_cols": prep.num_cols,
            "bought_col": bought,
            **layout,
        })
        test = prep.encoded["test"]
        pred = pd.DataFrame(index=np.arange(len(test)))
        for c in (prep.user_col, prep.item_col):
            if c:
                pred[c] = prep.df[c].to_numpy()[test.index]
        true_test = _true_original_units(prep.preprocessor, prep.task_infos, test)
        for t in prep.task_infos:
            pred[f"true:{t.name}"] = true_test[t.name]
            p = pred_test[t.name]
            if t.kind == "multiclass":
                pred[f"pred:{t.name}"] = p.argmax(-1).astype(np.int64) if len(p) else np.zeros(0, np.int64)
                for k, cls in enumerate(t.classes):
                    pred[f"proba:{t.name}:{cls}"] = p[:, k] if len(p) else np.zeros(0)
            else:
                pred[f"pred:{t.name}"] = p
        writer.frame("predictions.parquet", pred)
        if not catalog.empty:
            writer.frame("catalog.parquet", catalog)
        if not users.empty:
            writer.frame("users.parquet", users)
        if not interactions.empty:
            writer.frame("interactions.parquet", interactions)
        writer.json("status.json", {"status": "complete" if train_result.stopped in ("completed", "early_stopping") else train_result.stopped,
                                    "stopped": train_result.stopped, "message": train_result.message,
                                    "best_epoch": train_result.best_epoch})
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def _oom_error(config: RunConfig, trainer) -> TrainingError:
    import torch

    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - freeing memory is best effort
        pass
    bs = int(config.train.batch_size)
    smaller = max(1, bs // 4)
    where = getattr(getattr(trainer, "device", None), "type", "the device")
    return TrainingError(
        f"Training ran out of memory on {where} with batch size {bs}; "
        f"try a smaller batch size, e.g. {smaller}, or a smaller embedding size or fewer experts."
    )


def run_experiment(config: RunConfig, df: pd.DataFrame | None = None,
                   callback: Callable | None = None, cancel=None,
                   runs_root: str | Path | None = None, save: bool = True,
                   background: bool = False, run_id: str | None = None) -> RunResult:
    """Prepare, train, evaluate and (when ``save``) write a run directory.

    ``background=True`` sizes torch's threads to leave a core for a web server.
    """
    import torch

    from .training.device import set_threads
    from .runs import default_runs_root
    from .predict import load_parent_weights
    from .training.trainer import Trainer

    set_threads(config.train.num_threads, background=background)
    t0 = time.perf_counter()
    prep = prepare(config, df)
    t_prep = time.perf_counter() - t0
    torch.manual_seed(config.train.seed)
    model = build_run_model(prep)
    load_parent_weights(model, config)
    trainer = Trainer(model, prep.task_infos, config.train, inverse_target=prep.preprocessor.inverse_target)
    writer = None
    # data-parallel run under torchrun: only rank 0 evaluates and writes the run directory
    rank0 = os.environ.get("RANK", "0") == "0" or int(os.environ.get("WORLD_SIZE", "1")) <= 1
    if save and rank0:
        # the run's temporary directory exists (status "running", with our pid) for the whole
        # training: a crash or a restart leaves it for list_interrupted, never a half run
        from .runs import RunWriter, new_run_id

        writer = RunWriter(runs_root if runs_root is not None else default_runs_root(),
                           run_id or new_run_id(config.model.arch))
    try:
        try:
            result = trainer.fit(prep.encoded["train"], prep.encoded["val"], callback=callback, cancel=cancel)
            if result.epochs_run == 0 and result.stopped in ("cancelled", "diverged"):
                raise TrainingError(result.message or "Training stopped before the first epoch finished; nothing was saved.")
            if not rank0 or trainer.rank != 0:  # another rank of a torchrun job: rank 0 reports
                return RunResult(None, {}, pd.DataFrame(result.history), result.stopped, result.message)
            metrics, curve_data, pred_test = evaluate_prepared(prep, trainer.model, trainer.device)
        except RuntimeError as exc:
            if not _is_out_of_memory(exc):
                raise
            raise _oom_error(config, trainer) from None
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    metrics["train"] = {
        "device": result.device, "epochs": result.epochs_run, "best_epoch": result.best_epoch,
        "stopped": result.stopped, "seconds": round(result.seconds, 3),
        "samples_per_s": round(result.samples_per_s, 1), "prepare_seconds": round(t_prep, 3),
        "message": result.message,
    }
    metrics["split"] = prep.split_report["sizes"]
    metrics["label_rates"] = prep.split_report["label_rates"]
    run_dir = None
    if save:
        run_dir = save_run(prep, trainer.model, result, metrics, curve_data, pred_test,
                           writer.root, writer.run_id, writer=writer)
    return RunResult(run_dir, metrics, pd.DataFrame(result.history), result.stopped, result.message)
