"""Scoring new rows with a saved run.

The new rows go through the run's fitted preprocessor unchanged (the same cleaning, scaling
and vocabularies): a category never seen in training is the unknown index 0, like a rare
one. Every feature column of the run must be present (its values may be missing); label
columns are not needed. The result keeps the input's row order and its id columns and
adds one column per task: ``pred:<task>`` is a probability (binary), a value in original
units (regression) or a class (multiclass, with ``proba:<task>:<class>`` columns). A row
that the run's cleaning drops (missing value with the ``drop`` strategy) gets empty
predictions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError


def id_columns(run, columns) -> list[str]:
    """Columns carried into the output: the run's user/item/time columns and, for a sales
    table, its key and period."""
    from .data.sales import PERIOD_COL, is_sales_table

    cols = [run.meta.get(k) for k in ("user_col", "item_col", "time_col")]
    if is_sales_table(columns):
        cols += [str(list(columns)[0]), PERIOD_COL]
    return [c for c in dict.fromkeys(cols) if c and c in set(columns)]


def check_features(pre, df: pd.DataFrame) -> None:
    missing = [c for c in list(pre.cat_cols) + list(pre.num_cols) if c not in df.columns]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"The data has no column {missing[0]!r}{more}, which the run uses as a feature; "
                        "add it (its values may be empty).")


def predict_raw(run, df: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Predictions in original units for the rows that survive cleaning, and their positions."""
    from .training.prediction import predict

    pre = run.preprocessor()
    check_features(pre, df)
    enc = pre.transform(df)
    tasks = run.task_infos
    raw = predict(run.model(), enc, tasks, None, run.config.train.eval_batch_size)
    out = {t.name: (pre.inverse_target(t.name, raw[t.name]) if t.kind == "regression" else raw[t.name])
           for t in tasks}
    return out, enc.index


def score_frame(run, df: pd.DataFrame, keep: list[str] | None = None) -> pd.DataFrame:
    """Id columns (and ``keep``) of ``df`` in its row order, plus one prediction column per task."""
    if len(df) == 0:
        raise DataError("The data to score has no rows.")
    preds, pos = predict_raw(run, df)
    cols = list(dict.fromkeys(id_columns(run, df.columns) + [c for c in (keep or []) if c in df.columns]))
    bad = [c for c in (keep or []) if c not in df.columns]
    if bad:
        raise DataError(f"The column {bad[0]!r} to keep is not in the data.")
    out = df[cols].reset_index(drop=True).copy()
    n = len(df)
    for t in run.task_infos:
        p = np.asarray(preds[t.name], dtype=np.float64)
        if t.kind == "multiclass":
            full = np.full((n, p.shape[1] if p.ndim == 2 else len(t.classes)), np.nan)
            full[pos] = p
            label = np.full(n, None, dtype=object)
            label[pos] = np.asarray(t.classes, dtype=object)[p.argmax(-1)] if len(p) else []
            out[f"pred:{t.name}"] = label
            for k, cls in enumerate(t.classes):
                out[f"proba:{t.name}:{cls}"] = full[:, k]
        else:
            full = np.full(n, np.nan)
            full[pos] = p
            out[f"pred:{t.name}"] = full
    return out


def predict_file(run_dir: str | Path, data: str | Path, out: str | Path, keep: list[str] | None = None) -> pd.DataFrame:
    """Read ``data`` with the run's read options, score it and write ``out`` (CSV cells that
    would read as formulas are escaped; ``.parquet`` is written as is)."""
    from .data.io import read_table
    from .evaluation.metrics import to_safe_csv
    from .runs import load_run

    run = load_run(run_dir)
    df = read_table(str(data), run.config.data.read, run.config.limits)
    scored = score_frame(run, df, keep)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix.lower() == ".parquet":
            scored.to_parquet(path, index=False)
        else:
            path.write_text(to_safe_csv(scored), encoding="utf-8")
    except OSError as exc:
        raise DataError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    return scored


# --------------------------------------------------------------------------- continuing a run
def resume_config(parent_dir: str | Path, data: str | Path, epochs: int | None = None):
    """The configuration of a run that continues ``parent_dir`` on ``data``: the parent's
    configuration with the new data path, the epochs and ``parent`` set."""
    from .runs import load_run

    return _continued(load_run(parent_dir), str(data), epochs)


def resume_config_for_frame(parent, epochs: int | None = None, source: str | None = None):
    """Like ``resume_config`` for rows already in memory (an upload in the app): the new data
    is passed to ``run_experiment(cfg, df)``, so ``data.path`` only names the source (or is empty)."""
    if not is_torch_run(parent):
        raise DataError("The scikit-learn baseline cannot continue training; train it again on all the data.")
    return _continued(parent, source, epochs)


def _continued(parent, path: str | None, epochs: int | None):
    import copy

    cfg = copy.deepcopy(parent.config)  # the loaded run may be cached by the app: never mutate it
    cfg.data.path = path
    cfg.parent = str(Path(parent.path).resolve())
    cfg.name = f"{parent.run_id} continued"
    if epochs is not None:
        cfg.train.epochs = epochs
    return cfg.validate()


def is_torch_run(run) -> bool:
    """True for a torch model (the ones that can continue training or be exported to ONNX)."""
    from .models import MODELS

    return not getattr(MODELS.get(run.meta["arch"]), "is_sklearn", False)


def parent_preprocessor(config):
    """The fitted preprocessor of ``config.parent`` (None for a fresh run). New rows are encoded
    with it unchanged: an id or category the parent never saw is the unknown index 0 (the
    vocabulary does not grow, so the model's embedding tables keep their shapes)."""
    if not config.parent:
        return None
    from .runs import load_run

    return load_run(config.parent).preprocessor()


def load_parent_weights(model, config) -> None:
    """Start ``model`` from the parent's weights (same architecture and features)."""
    if not config.parent:
        return
    from .runs import load_run

    parent = load_run(config.parent)
    if parent.meta["arch"] != config.model.arch:
        raise DataError(f"The parent run is a {parent.meta['arch']!r} model; a continued run keeps its architecture.")
    src = parent.model()
    if getattr(model, "is_sklearn", False):
        raise DataError("The scikit-learn baseline cannot continue training; train it again on all the data.")
    model.load_state_dict(src.state_dict())


def parent_optimizer_state(config) -> dict | None:
    """The optimizer and schedule state ``config.parent`` ended with (None for a fresh run or
    a parent saved without it): a continued run carries on with Adam's moments and the schedule."""
    if not config.parent:
        return None
    from .runs import load_run

    return load_run(config.parent).optimizer_state()
