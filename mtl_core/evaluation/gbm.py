"""The gradient-boosting reference: one scikit-learn ``HistGradientBoostingClassifier`` /
``HistGradientBoostingRegressor`` per task at default settings (``random_state`` fixed; its own
early stopping on 10 % of the training rows once there are more than 10,000), fitted on the
run's training split and scored on exactly the test rows of the model's metrics, with the same
metric functions. Stored as ``metrics["tasks"][T]["baselines"]["gbm"]``.

Inputs are the run's encoded features (``EncodedSplit``), so the rows, the cleaning and the
train-only statistics are the model's own:

- categorical / id fields with at most 255 codes (index 0 = unknown included) are native
  categorical features of the booster;
- fields with more codes enter as one number, their training-frequency rank (the vocabulary
  is ordered most frequent first, learnt on train only); unknown values become missing, which
  the booster handles natively;
- numeric (and text / time) features as they are (trees ignore monotone scaling).

Binary tasks are scored at the booster's own threshold, chosen like the model's
(``evaluation.threshold``: F1-best on the validation split, or the fixed number). Past
``evaluation.gbm_max_rows`` training rows, or with ``evaluation.gbm`` off, the entry is
``{"skipped": "<why>"}``: never silently absent.
"""
from __future__ import annotations

import numpy as np

from .baselines import BINARY_KEYS
from .metrics import binary_metrics, evaluated_rows, multiclass_metrics, regression_metrics

__all__ = ["gbm_features", "fit_predict_gbm", "add_gbm_baseline", "gbm_skip_reason", "cached_gbm_predictions",
           "MAX_NATIVE_CATEGORIES"]

MAX_NATIVE_CATEGORIES = 255  # the booster's limit for a native categorical feature (max_bins)
SEED = 0


def gbm_features(features, split) -> tuple[np.ndarray, list[bool]]:
    """(float matrix ``[n, n_cat + n_num]``, categorical mask) of an ``EncodedSplit``."""
    cat = np.asarray(split.cat, dtype=np.float64).reshape(len(split), -1)
    native = [int(c) <= MAX_NATIVE_CATEGORIES for c in features.cat_cardinalities]
    for j, ok in enumerate(native):
        if not ok:  # frequency rank; 0 (unknown / rare / missing) -> missing
            cat[:, j] = np.where(cat[:, j] == 0, np.nan, cat[:, j])
    num = np.asarray(split.num, dtype=np.float64).reshape(len(split), -1)
    return np.hstack([cat, num]), native + [False] * num.shape[1]


def gbm_skip_reason(config, n_train: int) -> str | None:
    """Why the reference is not computed (``None``: it is)."""
    ev = config.evaluation
    if not ev.gbm:
        return "skipped: switched off (evaluation.gbm = false, or --no-gbm)"
    if n_train > ev.gbm_max_rows:
        return f"skipped: {n_train:,} training rows > limit {ev.gbm_max_rows:,} (evaluation.gbm_max_rows)"
    return None


def _fit_one(task, X, y, mask):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    rows = np.isfinite(y)
    if task.kind == "regression":
        est = HistGradientBoostingRegressor(categorical_features=mask, random_state=SEED)
        return est.fit(X[rows], y[rows])
    yi = y[rows].astype(np.int64)
    if np.unique(yi).size < 2:
        return int(yi[0]) if yi.size else 0  # one class seen: it is the prediction
    est = HistGradientBoostingClassifier(categorical_features=mask, random_state=SEED)
    return est.fit(X[rows], yi)


def _predict_one(task, est, X) -> np.ndarray:
    """Binary: P(positive) ``[n]``; regression: value ``[n]`` (scaled target); multiclass:
    probabilities ``[n, K]`` over every class of the task."""
    if task.kind == "regression":
        return est.predict(X)
    k = max(int(task.n_outputs), 2)
    full = np.zeros((len(X), k))
    if isinstance(est, int):
        full[:, min(est, k - 1)] = 1.0
    else:
        full[:, est.classes_] = est.predict_proba(X)
    return full[:, 1] if task.kind == "binary" else full


def fit_predict_gbm(prep, tasks=None, splits=("val", "test")) -> dict[str, dict[str, np.ndarray]]:
    """``{split: {task: predictions}}`` of one booster per task fitted on the training split of
    the ``Prepared`` run (regression in the data's own units, like ``predict_split``)."""
    from .common import original_units

    tasks = prep.task_infos if tasks is None else tasks
    X, mask = gbm_features(prep.features, prep.encoded["train"])
    labels = prep.encoded["train"].labels
    models = {t.name: _fit_one(t, X, np.asarray(labels[t.name], dtype=np.float64), mask) for t in tasks}
    out = {}
    for name in splits:
        enc = prep.encoded[name]
        Xs = gbm_features(prep.features, enc)[0]
        pred = {t.name: _predict_one(t, models[t.name], Xs) if len(enc) else np.zeros((0,)) for t in tasks}
        out[name] = original_units(prep.preprocessor, tasks, pred)
    return out


def cached_gbm_predictions(prep, tasks) -> dict[str, dict[str, np.ndarray]]:
    """``fit_predict_gbm(prep, tasks)``, fitted once per prepared data (``Prepared.cache``): the
    boosters depend on the training rows only, so the tuner's trials share them."""
    key = ("gbm", tuple(t.name for t in tasks))
    if key not in prep.cache:
        prep.cache[key] = fit_predict_gbm(prep, tasks)
    return prep.cache[key]


def _score(task, y, p, y_val, p_val, threshold_setting) -> dict:
    from .thresholds import choose_threshold

    if task.kind == "binary":
        thr, source = choose_threshold(threshold_setting, y_val, p_val)
        s = binary_metrics(y, p, thr)
        return {**{k: s.get(k) for k in BINARY_KEYS}, "n": s["n"], "threshold_source": source}
    if task.kind == "multiclass":
        s = multiclass_metrics(y, p, task.classes or None)
        return {k: s.get(k) for k in ("accuracy", "macro_f1", "logloss", "n")}
    return regression_metrics(y, p)


def add_gbm_baseline(metrics: dict, prep, true_test: dict, pred_test: dict, true_val: dict | None = None) -> dict:
    """Fill ``metrics["tasks"][T]["baselines"]["gbm"]`` (in place) on the rows the model's
    metrics used; ``{"skipped": why}`` when switched off or past the row limit."""
    tasks = [t for t in prep.task_infos if t.name in metrics.get("tasks", {})]
    # under torchrun rank 0 holds a shard: the limit is about the whole training split
    why = gbm_skip_reason(prep.config, getattr(prep, "shard", {}).get("train_rows_all", len(prep.encoded["train"])))
    preds = {} if why else cached_gbm_predictions(prep, tasks)
    for t in tasks:
        m = metrics["tasks"][t.name]
        base = m.setdefault("baselines", {})
        if why:
            base["gbm"] = {"skipped": why}
            continue
        yt = np.asarray(true_test[t.name], dtype=np.float64).reshape(-1)
        p = np.asarray(preds["test"][t.name], dtype=np.float64)
        rows = evaluated_rows(t.kind, yt, pred_test[t.name]) & evaluated_rows(t.kind, yt, p)
        yv = (true_val or {}).get(t.name)
        base["gbm"] = _score(t, yt[rows], p[rows], yv, preds.get("val", {}).get(t.name),
                             prep.config.evaluation.threshold)
    return metrics
