"""End-to-end experiment: data -> schema -> split -> preprocessing -> model -> training ->
test metrics -> run directory (written by ``mtl_core.runs.save_run``). The CLI and the app
both call ``run_experiment``; the lab reuses ``prepare`` and ``predict_split``."""
from __future__ import annotations

import logging
import os
import dataclasses
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .config import RunConfig
from .errors import ConfigError, DataError, TrainingError
from .prepared import Prepared, assemble  # noqa: F401  (Prepared: part of this module's interface)
from .types import TaskInfo, TaskSpec

log = logging.getLogger(__name__)

FEATURE_ROLES = {"user_id", "item_id", "categorical", "numeric"}


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


def _feature_columns(df: pd.DataFrame, schema, skip: set, text_dims: int) -> tuple[list, list, list]:
    """(categorical/id, numeric, free-text) model inputs by role, ``skip`` left out."""
    cat_cols, num_cols, text_cols = [], [], []
    for col in df.columns:
        if col in skip:
            continue
        role = _role(schema, col)
        if role in ("user_id", "item_id", "categorical"):
            cat_cols.append(col)
        elif role == "numeric":
            num_cols.append(col)
        elif role == "text" and text_dims > 0:
            text_cols.append(col)
    return cat_cols, num_cols, text_cols


def prepare(config: RunConfig, df: pd.DataFrame | None = None) -> Prepared:
    """Validate the configuration against the data, split and fit preprocessing. Under
    torchrun only rank 0 reads the data; it sends each other rank its training rows
    (``training.shards``)."""
    from .training.shards import data_ranks, send_error

    config.validate()
    ranks = data_ranks(config.train.device)
    if ranks.rank > 0:
        return _follow(config, ranks)
    context: dict = {}
    try:
        return _prepare(config, df, ranks, context)
    except BaseException as e:
        if ranks.active and not context.get("sent"):
            send_error(ranks, e)
        raise


def _follow(config: RunConfig, ranks) -> Prepared:
    """Another torchrun rank than 0: prepare this rank's shard from what rank 0 sent."""
    from .data.preprocessing import Preprocessor
    from .training.shards import encode_splits, receive_shard

    ctx, rows = receive_shard(ranks)
    for f in dataclasses.fields(config):  # rank 0's settings, as preparing the data left them
        setattr(config, f.name, getattr(ctx["config"], f.name))
    splits = {"train": ctx["train_positions"]}
    pre, encoded, shard = encode_splits(Preprocessor.from_dict(ctx["preprocessor"]), ctx["fitted"], rows, splits, ranks)
    return assemble(config, rows.iloc[:0], ctx, splits, pre, encoded, shard, ranks)


def _prepare(config: RunConfig, df: pd.DataFrame | None, ranks, context: dict) -> Prepared:
    from .data.compact import narrow_ints
    from .data.keys import canonical_ids
    from .data.provenance import source_of
    from .data.sales import adapt_for_training
    from .data.schema import check_features_vs_tasks, id_like_columns, infer_schema, parse_task_spec, resolve_tasks
    from .data.split import split_indices
    from .training.shards import encode_splits

    if df is None:
        df = load_data(config)
    if not config.data.source:
        config.data.source = source_of(df)
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
    df = canonical_ids(df, id_like_columns(schema))  # 14911.0 -> "14911" in training, runs and recommendations
    specs = [parse_task_spec(s) if isinstance(s, str) else TaskSpec.from_dict(s) for s in d.tasks]
    tasks = resolve_tasks(df, specs)
    task_cols = {t.column for t in tasks}
    drop = set(d.drop)
    # a task column is never a feature, unless the user explicitly gave it a feature role
    explicit = {c for c, r in d.roles.items() if r in FEATURE_ROLES}
    check_features_vs_tasks([c for c in explicit if c not in drop], tasks)
    cat_cols, num_cols, text_cols = _feature_columns(df, schema, drop | task_cols, config.preprocess.text_dims)
    if not cat_cols and not num_cols and not text_cols:
        raise DataError("No feature columns are left: mark at least one column as categorical, numeric, user id or item id.")
    narrow_ints(df, cat_cols, task_cols)  # in place, same values: the frame is not held twice
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

    # under torchrun each rank encodes only its shard of the training rows (training.shards)
    pre, fitted = _preprocessor(config, df, cat_cols, num_cols, tasks, time_col,
                                text_cols=text_cols, user_col=user_col, item_col=item_col)
    context.update(config=config, schema=schema, tasks=tasks, drop=drop, explicit=explicit, notes=notes)
    pre, encoded, shard = encode_splits(pre, fitted, df, splits, ranks, context)
    return assemble(config, df, context, splits, pre, encoded, shard, ranks)


def _preprocessor(config: RunConfig, df, cat_cols, num_cols, tasks, time_col, **columns):
    """(preprocessor, fitted): a fresh one to fit on the training rows, or, for a continued
    run (``config.parent``), the parent's fitted one applied unchanged."""
    from .data.preprocessing import Preprocessor
    from .predict import check_features, parent_preprocessor

    pre = parent_preprocessor(config)
    if pre is None:
        return Preprocessor(config.preprocess, cat_cols, num_cols, tasks, time_col=time_col, limits=config.limits,
                            **columns), False  # columns: text_cols, user_col, item_col
    check_features(pre, df)
    return pre, True


# --------------------------------------------------------------------------- training + evaluation
def predict_split(prep: Prepared, model, split: str, tasks: list[TaskInfo] | None = None,
                  device=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(labels, predictions) of ``tasks`` (default: all) on one split, regression values in
    the data's own units."""
    from .evaluation.common import original_units
    from .training.trainer import predict

    tasks = prep.task_infos if tasks is None else tasks
    enc = prep.encoded[split]
    pred = predict(model, enc, tasks, device, prep.config.train.eval_batch_size)
    return (original_units(prep.preprocessor, tasks, enc.labels),
            original_units(prep.preprocessor, tasks, pred))


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
    """Test report (one threshold per binary task, baselines, warnings), curves, predictions
    and, with user and item columns, catalogue ranking."""
    from .evaluation.common import original_units
    from .evaluation.metrics import curves
    from .evaluation.report import build_report
    from .values import json_safe
    from .evaluation.forecast import add_forecast_baselines
    from .evaluation.gbm import add_gbm_baseline

    tasks = prep.task_infos
    test = prep.encoded["test"]
    true_test, pred_test = predict_split(prep, model, "test", device=device)
    true_val, pred_val = predict_split(prep, model, "val", device=device) if len(prep.encoded["val"]) else ({}, {})
    true_train = original_units(prep.preprocessor, tasks, prep.encoded["train"].labels)
    user_ids = prep.df[prep.user_col].to_numpy()[test.index] if prep.user_col else None
    ev = prep.config.evaluation
    metrics = build_report(tasks, true_test, pred_test, true_train, true_val, pred_val,
                           threshold=ev.threshold, user_ids=user_ids, k=ev.k)
    add_forecast_baselines(metrics, prep, true_test, pred_test)
    add_gbm_baseline(metrics, prep, true_test, pred_test, true_val)
    for t in tasks:  # the class the scores are about (data.targets' rule, or the threshold written)
        if t.kind == "binary":
            metrics["tasks"][t.name]["positive"] = t.positive
    curve_data: dict = {}
    for t in tasks:
        y, p = true_test[t.name], pred_test[t.name]
        m = ~np.isnan(y)
        if t.kind == "binary" and m.sum() and np.unique(y[m]).size == 2:
            curve_data[t.name] = curves(y[m], p[m])
    if prep.user_col and prep.item_col:
        metrics["catalog"] = _catalog_metrics(prep, model, device)
    return json_safe(metrics), curve_data, pred_test


def _catalog_metrics(prep: Prepared, model, device=None) -> dict:
    from .evaluation.catalog import catalog_ranking
    from .runs.save import item_user_tables  # the tables a saved run recommends from

    catalog, users, _, layout = item_user_tables(prep)
    ev = prep.config.evaluation
    return catalog_ranking(model, prep.preprocessor, prep.task_infos, prep.df, prep.encoded, catalog, users,
                           {"user_col": prep.user_col, "item_col": prep.item_col, **layout}, k=ev.k,
                           max_pairs=ev.catalog_max_pairs, seed=ev.catalog_seed, device=device,
                           batch_size=prep.config.train.eval_batch_size)


def run_experiment(config: RunConfig, df: pd.DataFrame | None = None, callback: Callable | None = None, cancel=None,
                   runs_root: str | Path | None = None, save: bool = True,
                   background: bool = False, run_id: str | None = None, tags: dict | None = None,
                   prepared: Prepared | None = None) -> RunResult:
    """Prepare (unless ``prepared``: the same data, split and preprocessing, which the tuner's
    trials share), train, evaluate and (when ``save``) write a run directory; ``tags`` (e.g. a
    tuning session and trial number) go into its ``metrics.json``.

    While it trains, the run's temporary folder holds what resuming it needs (``runs.resume``:
    its settings, the table when ``df`` is given, a checkpoint after each epoch), so a run cut
    by a crash or a restart can be finished with ``resume_run``. ``background=True`` sizes
    torch's threads to leave a core for a web server.
    """
    from .runs import RunWriter, new_run_id, resolve_root
    from .runs.resume import save_resume
    from .training.device import set_threads

    set_threads(config.train.num_threads, background=background)
    t0 = time.perf_counter()
    prep = prepare(config, df) if prepared is None else dataclasses.replace(prepared, config=config)
    t_prep = time.perf_counter() - t0
    trainer = _trainer(prep)  # a model too large or a bad setting fails before any folder exists
    writer = None
    # data-parallel run under torchrun: only rank 0 evaluates and writes the run directory
    if save and _rank0():
        # the run's temporary directory exists (status "running", with our pid) for the whole
        # training: a crash or a restart leaves it for list_interrupted, never a half run
        writer = RunWriter(resolve_root(runs_root), run_id or new_run_id(config.model.arch))
        try:
            save_resume(writer, prep, df)
        except BaseException:
            writer.abort()
            raise
    return _train_and_save(prep, trainer, writer, callback, cancel, t_prep, save, tags=tags)


def resume_run(folder: str | Path, callback: Callable | None = None, cancel=None, background: bool = False,
               data: str | Path | None = None) -> RunResult:
    """Finish an interrupted run (its temporary folder ``<root>/.tmp-<id>``, listed by
    ``runs.list_interrupted``) from its last completed epoch to its configured number of
    epochs; the finished run gets its original id. The data is the saved copy of an
    in-memory table, else the run's data file (``data``: where that file is now), checked
    against the fingerprint taken when the run started. Resuming is for one process (not
    under torchrun). A ``DataError`` says why a run cannot be resumed."""
    from .runs.resume import check_fingerprint, read_checkpoint, read_resume, reopen
    from .training.device import set_threads

    if not _rank0() or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("Resume an interrupted run in a single process (not under torchrun).")
    config, df, expected = read_resume(folder, data)
    state = read_checkpoint(folder, config.limits.max_model_params)  # a damaged one fails before the long part
    set_threads(config.train.num_threads, background=background)
    t0 = time.perf_counter()
    prep = prepare(config, df)
    check_fingerprint(folder, prep, expected)
    trainer = _trainer(prep, resume=True)
    writer = reopen(folder)
    return _train_and_save(prep, trainer, writer, callback, cancel, time.perf_counter() - t0, True, state)


def _rank0() -> bool:
    return os.environ.get("RANK", "0") == "0" or int(os.environ.get("WORLD_SIZE", "1")) <= 1


def _trainer(prep: Prepared, resume: bool = False):
    """The seeded model (a continued run's starts from its parent's weights, a resumed run's
    from its checkpoint later) and its trainer, which checks the training settings."""
    import torch

    from .predict import load_parent_weights, parent_optimizer_state
    from .training.trainer import Trainer

    config = prep.config
    torch.manual_seed(config.train.seed)
    model = build_run_model(prep)
    if not resume:
        load_parent_weights(model, config)
    return Trainer(model, prep.task_infos, config.train, inverse_target=prep.preprocessor.inverse_target,
                   parent_optimizer=None if resume else parent_optimizer_state(config))


def _train_and_save(prep: Prepared, trainer, writer, callback, cancel, t_prep: float, save: bool,
                    resume: dict | None = None, tags: dict | None = None) -> RunResult:
    """Train (from ``resume``'s epoch when given), evaluate and write the run into ``writer``
    (None: nothing is written)."""
    from .runs import save_run
    from .runs.resume import write_checkpoint

    checkpoint = None
    if writer is not None:
        callback = writer.follow(callback)  # status.json keeps the last completed epoch
        checkpoint = partial(write_checkpoint, writer.path)
    try:
        result, metrics, curve_data, pred_test = _fit_evaluate(prep, trainer, callback, cancel, checkpoint, resume)
    except BaseException:
        if writer is not None:
            writer.abort()  # a resumed run's folder is kept, interrupted again
        raise
    if metrics is None:  # another rank of a torchrun job: rank 0 reports
        return RunResult(None, {}, pd.DataFrame(result.history), result.stopped, result.message)
    metrics["train"] = {
        "device": result.device, "epochs": result.epochs_run, "best_epoch": result.best_epoch,
        "stopped": result.stopped, "seconds": round(result.seconds, 3),
        "samples_per_s": round(result.samples_per_s, 1), "prepare_seconds": round(t_prep, 3),
        "message": result.message, **({} if resume is None else {"resumed_after_epoch": int(resume["epoch"])}),
    }
    metrics.update(split=prep.split_report["sizes"], label_rates=prep.split_report["label_rates"],
                   columns=prep.split_report.get("columns", {}))  # columns: what each became, or why not used
    from .evaluation.explain import saved_importance

    metrics["importance"] = saved_importance(prep, trainer.model)  # for the Results page
    metrics.update({"tags": dict(tags)} if tags else {})
    run_dir = None
    if save and writer is not None:
        run_dir = save_run(prep, trainer.model, result, metrics, curve_data, pred_test,
                           writer.root, writer.run_id, writer=writer)
    return RunResult(run_dir, metrics, pd.DataFrame(result.history), result.stopped, result.message)


def _fit_evaluate(prep: Prepared, trainer, callback, cancel, checkpoint, resume):
    """(train result, test metrics, curves, test predictions); no metrics on a torchrun rank
    other than 0. Out-of-memory becomes a ``TrainingError`` with a smaller batch size."""
    config = prep.config
    try:
        result = trainer.fit(prep.encoded["train"], prep.encoded["val"], callback=callback, cancel=cancel,
                             checkpoint=checkpoint, resume=resume, sharded=prep.shard.get("world", 1) > 1)
        if result.epochs_run == 0 and result.stopped in ("cancelled", "diverged"):
            raise TrainingError(result.message or "Training stopped before the first epoch finished; nothing was saved.")
        if not _rank0() or trainer.rank != 0:
            return result, None, None, None
        metrics, curve_data, pred_test = evaluate_prepared(prep, trainer.model, trainer.device)
        unscored = [t for t, m in metrics.get("tasks", {}).items() if not m.get("n")]
        if unscored:  # a run whose scores are all null must not look like a success
            raise DataError(f"The test split has no labelled rows for task(s) {', '.join(map(repr, unscored))}, "
                            "so the model cannot be scored; use more rows, a larger test share or another split.")
        return result, metrics, curve_data, pred_test
    except RuntimeError as exc:
        from .training.oom import is_out_of_memory, oom_error

        if not is_out_of_memory(exc):
            raise
        raise oom_error(config, trainer) from None
