"""Explanations of a trained model, for every architecture (torch or the scikit-learn
baseline), through its predictions only.

- :func:`permutation_importance`: grouped permutation importance on validation rows, in
  metric units: a binary task's AUC drop, a regression task's RMSE rise (original units), a
  multiclass task's accuracy drop when one feature group's values are shuffled across rows
  (the group's columns together, e.g. all SVD columns of one text column), with repeats
  (mean and standard deviation). One prediction of the whole validation matrix per group and
  repeat.
- :func:`contributions`: feature ablation for one row: each group replaced by its training
  baseline (the unknown category; the value a missing number gets; 0, the training mean, for
  standardised derived features), and each task's score change.
- :func:`what_if`: one raw row before and after edits, every task's prediction.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import DataError
from ..types import EncodedSplit

#: most validation rows scored per permutation (a seeded sample above it); a run saves its
#: importances computed on at most ``SAVED_ROWS`` of them with ``SAVED_REPEATS`` repeats
MAX_ROWS = 20_000
SAVED_ROWS, SAVED_REPEATS = 5_000, 3


def feature_groups(feature_spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """group -> (categorical column positions, numeric column positions). A derived feature
    ``source:kind<digits>`` (text SVD columns, collaborative factors) joins its siblings."""
    groups: dict[str, tuple[list, list]] = {}
    for j, name in enumerate(feature_spec.cat_names):
        groups.setdefault(str(name), ([], []))[0].append(j)
    for j, name in enumerate(feature_spec.num_names):
        key = re.sub(r"\d+$", "", str(name)) if ":" in str(name) else str(name)
        groups.setdefault(key, ([], []))[1].append(j)
    return {g: (np.asarray(c, dtype=np.int64), np.asarray(n, dtype=np.int64)) for g, (c, n) in groups.items()}


def _scores(model, enc: EncodedSplit, tasks, pre) -> dict[str, np.ndarray]:
    from ..training.prediction import predict

    raw = predict(model, enc, tasks)  # on the model's own device
    return {t.name: (pre.inverse_target(t.name, raw[t.name]) if t.kind == "regression" and pre is not None
                     else np.asarray(raw[t.name])) for t in tasks}


def _metric(kind: str, y: np.ndarray, p: np.ndarray) -> float | None:
    """Higher is better: AUC (binary), -RMSE (regression), accuracy (multiclass)."""
    from .binary_curve import binary_curve

    m = np.isfinite(y)
    if not m.any():
        return None
    y, p = y[m], p[m]
    if kind == "binary":
        return binary_curve(y, np.asarray(p, dtype=np.float64)).auc() if np.unique(y).size == 2 else None
    if kind == "regression":
        return -float(np.sqrt(np.mean((np.asarray(p, dtype=np.float64) - y) ** 2)))
    return float(np.mean(np.asarray(p).argmax(-1) == y))


def _rows_text(enc: EncodedSplit, rows: np.ndarray) -> dict | None:
    return {c: X[rows] for c, X in enc.text.items()} if enc.text else None


def _permuted(enc: EncodedSplit, group: str, cols: tuple[np.ndarray, np.ndarray], perm: np.ndarray) -> EncodedSplit:
    """``enc`` with the group's columns (and, for a text column, its sparse TF-IDF, which the
    scikit-learn baseline reads) shuffled across rows."""
    cat, num = enc.cat, enc.num
    if len(cols[0]):
        cat = cat.copy()
        cat[:, cols[0]] = enc.cat[perm][:, cols[0]]
    if len(cols[1]):
        num = num.copy()
        num[:, cols[1]] = enc.num[perm][:, cols[1]]
    text = dict(enc.text) if enc.text else None
    if text and group.endswith(":text") and group[:-len(":text")] in text:
        text[group[:-len(":text")]] = text[group[:-len(":text")]][perm]
    return EncodedSplit(cat=cat, num=num, labels={}, index=enc.index, text=text)


def permutation_importance(model, enc: EncodedSplit, tasks, feature_spec, pre=None, repeats: int = 5,
                           seed: int = 0, max_rows: int = MAX_ROWS) -> dict[str, list[dict]]:
    """``{task: [{"feature", "importance", "spread"}, ...]}``, most important first (see the
    module docstring); labels of ``enc`` in the preprocessor's space, regression turned back
    to original units when ``pre`` is given."""
    if len(enc) == 0:
        raise DataError("There are no validation rows to explain the model on; use a split with a validation share.")
    rng = np.random.default_rng(seed)
    if len(enc) > max_rows:
        keep = np.sort(rng.choice(len(enc), size=max_rows, replace=False))
        enc = EncodedSplit(cat=enc.cat[keep], num=enc.num[keep], labels={k: v[keep] for k, v in enc.labels.items()},
                           index=enc.index[keep], text=_rows_text(enc, keep))
    y = {t.name: (pre.inverse_target(t.name, enc.labels[t.name]) if t.kind == "regression" and pre is not None
                  else enc.labels[t.name]).astype(np.float64) for t in tasks}
    base = _scores(model, enc, tasks, pre)
    ref = {t.name: _metric(t.kind, y[t.name], base[t.name]) for t in tasks}
    groups = feature_groups(feature_spec)
    drops = {t.name: {g: [] for g in groups} for t in tasks}
    for g, cols in groups.items():
        for _ in range(max(1, int(repeats))):
            scored = _scores(model, _permuted(enc, g, cols, rng.permutation(len(enc))), tasks, pre)
            for t in tasks:
                m = _metric(t.kind, y[t.name], scored[t.name])
                if ref[t.name] is not None and m is not None:
                    drops[t.name][g].append(ref[t.name] - m)
    out = {}
    for t in tasks:
        rows = [{"feature": g, "importance": float(np.mean(v)), "spread": float(np.std(v))}
                for g, v in drops[t.name].items() if v]
        out[t.name] = sorted(rows, key=lambda r: -r["importance"])
    return out


def saved_importance(prep, model) -> dict:
    """What a saved run stores (``metrics.json`` ``importance``): the permutation importance
    on up to ``SAVED_ROWS`` validation rows of a prepared run; empty without validation rows."""
    from ..values import json_safe

    if not len(prep.encoded["val"]):
        return {}
    return json_safe(permutation_importance(model, prep.encoded["val"], prep.task_infos, prep.features,
                                            prep.preprocessor, repeats=SAVED_REPEATS, seed=prep.config.train.seed,
                                            max_rows=SAVED_ROWS))


def validation_split(run, df: pd.DataFrame | None = None) -> EncodedSplit:
    """The run's validation rows (its split of ``df``, default its data file), encoded by the
    run's saved preprocessor."""
    from ..data.io import read_table
    from ..data.sales import adapt_for_training
    from ..data.split import split_indices

    cfg = run.config
    if df is None:
        if not cfg.data.path:
            raise DataError("The run names no data file; give the data (--data FILE).")
        df = read_table(cfg.data.path, cfg.data.read, cfg.limits)
    df, _ = adapt_for_training(df, cfg)
    meta = run.meta
    val = split_indices(df, cfg.split, time_col=meta.get("time_col"), user_col=meta.get("user_col"))["val"]
    if not len(val):
        raise DataError("This run's split has no validation rows; explanations need them (set split.val above 0).")
    return run.preprocessor().transform(df.iloc[val])


def explain_run(run, df: pd.DataFrame | None = None, task: str | None = None, repeats: int = 5,
                seed: int = 0) -> dict[str, list[dict]]:
    """Permutation importance of a saved run on its validation rows (``task``: only that one)."""
    tasks = run.task_infos
    if task is not None:
        tasks = [t for t in tasks if t.name == task]
        if not tasks:
            raise DataError(f"The run has no task {task!r}; its tasks are {', '.join(t.name for t in run.task_infos)}.")
    pre = run.preprocessor()
    return permutation_importance(run.model(), validation_split(run, df), tasks, pre.feature_spec_, pre,
                                  repeats=repeats, seed=seed)


def importance_table(importance: dict[str, list[dict]]) -> pd.DataFrame:
    """Features x tasks of importances (features ordered by their largest importance)."""
    frame = pd.DataFrame({t: {r["feature"]: r["importance"] for r in rows} for t, rows in importance.items()})
    return frame.loc[frame.max(axis=1).sort_values(ascending=False).index] if len(frame) else frame


# --------------------------------------------------------------------------- one row
def baseline_row(pre) -> tuple[np.ndarray, np.ndarray]:
    """(cat, num) of the training baseline: unknown categories, the value a missing number
    gets, 0 (the training mean) for standardised derived features and flags."""
    spec = pre.feature_spec_
    cat = np.zeros(len(spec.cat_names), dtype=np.int64)
    num = np.zeros(len(spec.num_names), dtype=np.float32)
    frame = pd.DataFrame({c: [np.nan] for c in dict.fromkeys(list(pre.cat_cols) + list(pre.num_cols))})
    enc = pre.transform(frame)
    if len(enc):
        num[:len(pre.num_cols)] = enc.num[0, :len(pre.num_cols)]
    return cat, num


def contributions(model, pre, tasks, enc: EncodedSplit, row: int = 0) -> pd.DataFrame:
    """Feature ablation of row ``row`` of ``enc``: one row per feature group, one column per
    task: the task's score minus its score with the group at the training baseline (positive:
    the feature raises the score). ``attrs["score"]``: the row's scores."""
    groups = feature_groups(pre.feature_spec_)
    bcat, bnum = baseline_row(pre)
    n = len(groups) + 1
    cat = np.repeat(enc.cat[row:row + 1], n, axis=0)
    num = np.repeat(enc.num[row:row + 1].astype(np.float32), n, axis=0)
    text = _rows_text(enc, np.full(n, row))
    for r, (g, (c, j)) in enumerate(groups.items(), start=1):
        cat[r, c] = bcat[c]
        num[r, j] = bnum[j]
        col = g[:-len(":text")] if g.endswith(":text") else None
        if text and col in text:  # the baseline of a text: no words
            text[col] = text[col].tolil()
            text[col][r] = 0
            text[col] = text[col].tocsr()
    scored = _scores(model, EncodedSplit(cat=cat, num=num, labels={}, index=np.arange(n), text=text), tasks, pre)
    out = pd.DataFrame(index=pd.Index(list(groups), name="feature"))
    score = {}
    for t in tasks:
        s = scored[t.name] if t.kind != "multiclass" else scored[t.name].max(-1)
        out[t.name] = s[0] - s[1:]
        score[t.name] = float(s[0])
    out.attrs["score"] = score
    return out


def what_if(model, pre, tasks, row: pd.DataFrame, changes: dict) -> pd.DataFrame:
    """Every task's prediction for the one-row frame ``row`` before and after setting the
    columns in ``changes``: columns task, before, after, change."""
    if len(row) != 1:
        raise DataError("What-if needs exactly one row.")
    unknown = [c for c in changes if c not in row.columns]
    if unknown:
        raise DataError(f"Column {unknown[0]!r} is not one of the row's columns.")
    edited = row.copy()
    for c, v in changes.items():
        edited[c] = edited[c].astype(object)
        edited.iloc[0, edited.columns.get_loc(c)] = v
    enc = pre.transform(pd.concat([row, edited], ignore_index=True))
    if len(enc) != 2:
        raise DataError("The row cannot be scored: a feature is missing and the run drops rows with missing values.")
    scored = _scores(model, enc, tasks, pre)
    rows = []
    for t in tasks:
        s = scored[t.name] if t.kind != "multiclass" else scored[t.name].max(-1)
        rows.append({"task": t.name, "before": float(s[0]), "after": float(s[1]), "change": float(s[1] - s[0])})
    return pd.DataFrame(rows)


def pair_row(run, user_id, item_id) -> pd.DataFrame:
    """The one-row frame a saved run scores for (``user_id``, ``item_id``): the catalogue
    item's attributes, the user's features and the context defaults."""
    from ..data.keys import same_key
    from ..recommend import candidate_frame

    frame = candidate_frame(run, user_id)
    item_col = run.meta["item_col"]
    row = frame[same_key(frame[item_col], item_id)].head(1)
    if row.empty:
        raise DataError(f"Item {str(item_id)[:80]!r} is not in this run's catalogue.")
    for spec in run.meta.get("task_specs", []):
        row[spec["column"]] = np.nan
    return row.reset_index(drop=True)


def explain_pair(run, user_id, item_id) -> pd.DataFrame:
    """Feature contributions (see :func:`contributions`) of one recommended (user, item) pair."""
    pre = run.preprocessor()
    enc = pre.transform(pair_row(run, user_id, item_id))
    if not len(enc):
        raise DataError("This item cannot be scored (a missing attribute under the 'drop' cleaning strategy).")
    return contributions(run.model(), pre, run.task_infos, enc)


def editable_columns(run) -> list[str]:
    """The feature columns a what-if panel lets the user change (ids stay)."""
    ids = {run.meta.get("user_col"), run.meta.get("item_col")}
    pre = run.preprocessor()
    return [c for c in list(pre.cat_cols) + list(pre.num_cols) if c not in ids]
