"""Forecast metrics and naive forecasts for regression tasks of sales tables.

Metrics (original units): RMSE, MAE, WAPE (sum |error| / sum |actual|, the share of volume
missed), R², and MAPE only when no actual value is zero. Naive forecasts, written next to
the model in ``metrics.json`` under ``tasks.<T>.baselines``:

- ``last_period``: this period's value of the same quantity (``next_quantity`` -> ``quantity``),
- ``last_4_mean``: the mean of the last 4 periods (``quantity_mean4``), where the table has it,
- ``mean``: the training mean of the target.

``verdict`` says in words whether the model beats them (lower RMSE and lower WAPE).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..values import finite

SKEW_LIMIT = 2.0  # a training target with a larger skewness (and no negatives) gets log1p


def forecast_metrics(y, yhat) -> dict:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(yhat, dtype=np.float64).reshape(-1)
    m = np.isfinite(y) & np.isfinite(p)
    y, p = y[m], p[m]
    n = int(y.size)
    if n == 0:
        return {"rmse": None, "mae": None, "wape": None, "r2": None, "n": 0}
    err = p - y
    denom = float(np.abs(y).sum())
    ss = float(((y - y.mean()) ** 2).sum())
    out = {"rmse": finite(math.sqrt(float(np.mean(err ** 2)))), "mae": finite(float(np.mean(np.abs(err)))),
           "wape": finite(float(np.abs(err).sum()) / denom) if denom > 0 else None,
           "r2": finite(1.0 - float((err ** 2).sum()) / ss) if n >= 2 and ss > 0 else None, "n": n}
    if not np.any(np.abs(y) < 1e-6 * max(1.0, float(np.abs(y).max()))):  # float32 round trips: ~0 is 0
        out["mape"] = finite(float(np.mean(np.abs(err) / np.abs(y))))
    return out


def naive_baselines(y_test, train_mean: float, last_period=None, last_4_mean=None) -> dict:
    """``{name: forecast_metrics}`` of each naive forecast that can be made."""
    y = np.asarray(y_test, dtype=np.float64)
    out = {}
    if last_period is not None:
        out["last_period"] = forecast_metrics(y, last_period)
    if last_4_mean is not None:
        out["last_4_mean"] = forecast_metrics(y, last_4_mean)
    out["mean"] = forecast_metrics(y, np.full(y.shape, float(train_mean)))
    return out


def _compare(model: dict, base: dict) -> str | None:
    """``beats`` (lower RMSE and WAPE), ``loses`` (neither), ``mixed`` or None."""
    pairs = [(model.get(k), base.get(k)) for k in ("rmse", "wape")]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return None
    wins = [a < b for a, b in pairs]
    return "beats" if all(wins) else "loses" if not any(wins) else "mixed"


def verdict(task: str, model: dict, baselines: dict) -> str:
    """One sentence: which naive forecasts the model beats on both RMSE and WAPE."""
    groups: dict[str, list[str]] = {"beats": [], "mixed": [], "loses": []}
    for name, base in baselines.items():
        c = _compare(model, base)
        if c is not None:
            groups[c].append(f"{name} (RMSE {_num(base.get('rmse'))}, WAPE {_pct(base.get('wape'))})")
    head = f"{task}: the model (RMSE {_num(model.get('rmse'))}, WAPE {_pct(model.get('wape'))})"
    if not any(groups.values()):
        return f"{head} has no naive forecast to compare with."
    words = {"beats": "beats", "mixed": "beats on one of RMSE/WAPE only", "loses": "does NOT beat"}
    return head + " " + "; ".join(f"{words[k]} " + ", ".join(v) for k, v in groups.items() if v) + "."


def _num(v) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def skewness(y) -> float:
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    if y.size < 3 or y.std() == 0:
        return 0.0
    return float(np.mean(((y - y.mean()) / y.std()) ** 3))


def wants_log1p(y) -> bool:
    """True when the training target is non-negative and strongly right-skewed."""
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    return bool(y.size and y.min() >= 0 and skewness(y) > SKEW_LIMIT)


def naive_columns(target: str, columns) -> tuple[str | None, str | None]:
    """This period's column and the last-4 mean column of a ``next_<x>`` target, if present."""
    cols = set(map(str, columns))
    if not target.startswith("next_"):
        return None, None
    cur = target[len("next_"):]
    return (cur if cur in cols else None), (f"{cur}_mean4" if f"{cur}_mean4" in cols else None)


def add_forecast_baselines(metrics: dict, prep, true_test: dict, pred_test: dict) -> None:
    """Forecast metrics, naive baselines and a verdict for every regression task (in place).

    ``prep`` is a ``pipeline.Prepared``: the frame, the test positions and the train labels."""
    test_pos = prep.encoded["test"].index
    pre = prep.preprocessor
    notes = list(prep.split_report.get("notes", []))
    for t in prep.task_infos:
        if t.kind != "regression":
            continue
        tm = metrics["tasks"].setdefault(t.name, {})
        y = np.asarray(true_test[t.name], dtype=np.float64)
        tm.update({k: v for k, v in forecast_metrics(y, pred_test[t.name]).items() if k != "n"})
        ytr = pre.inverse_target(t.name, prep.encoded["train"].labels[t.name])
        cur, mean4 = naive_columns(t.column, prep.df.columns)
        base = naive_baselines(y, float(np.nanmean(ytr)), _column(prep.df, cur, test_pos),
                               _column(prep.df, mean4, test_pos))
        tm.setdefault("baselines", {})
        for name, b in base.items():
            tm["baselines"].setdefault(name, b)
        tm["verdict"] = verdict(t.name, tm, base)
        if pre.target_state_.get(t.name, {}).get("log1p"):
            tm["log1p"] = True
            notes.append(f"{t.name}: trained on log1p of the target (the training target is strongly skewed, "
                         f"skewness {skewness(ytr):.1f}); metrics are in original units")
        notes.append(tm["verdict"])
    if notes:
        metrics["notes"] = notes


def _column(df: pd.DataFrame, col: str | None, pos) -> np.ndarray | None:
    if col is None:
        return None
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)[pos]
