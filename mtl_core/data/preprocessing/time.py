"""A timestamp column as features, fitted on the training split only: calendar (hour,
weekday, month) when the times are dates or Unix seconds/milliseconds, and recency: days
(or, for plain counters, units) since the row's user and item were first seen in the
training rows (0 for a user or item never seen there). Features are standardised on the
training rows; the state (first-seen times per user and item, the standardisation) is
plain JSON.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..keys import factorize_keys, time_numbers

_UNIX_S = (946_684_800, 4_102_444_800)  # 2000..2100


def _seconds(s: pd.Series) -> tuple[np.ndarray, bool]:
    """(times, calendar): Unix seconds when the column is dates or Unix s/ms, else its numbers."""
    numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    t = time_numbers(s)
    fin = t[np.isfinite(t)]
    if not len(fin):
        return t, False
    if numeric or pd.to_numeric(s.dropna().iloc[:50], errors="coerce").notna().all():
        med = float(np.median(fin))
        if _UNIX_S[0] * 1000 <= med <= _UNIX_S[1] * 1000:
            return t / 1000.0, True
        return t, bool(_UNIX_S[0] <= med <= _UNIX_S[1])
    return t / 1e9, True  # nanoseconds since 1970


def _first_seen(keys_s: pd.Series, t: np.ndarray) -> dict[str, list]:
    codes, keys = factorize_keys(keys_s)
    ok = (codes >= 0) & np.isfinite(t)
    first = pd.Series(t[ok]).groupby(pd.Series(keys[codes[ok]]) if ok.any() else pd.Series([], dtype=object)).min()
    return {"keys": [str(k) for k in first.index], "times": first.to_numpy(dtype=np.float64).tolist()}


def _since(keys_s: pd.Series | None, t: np.ndarray, seen: dict[str, list], unit: float) -> np.ndarray:
    if keys_s is None or not seen["keys"]:
        return np.zeros(len(t))
    codes, keys = factorize_keys(keys_s)
    first = pd.Series(seen["times"], index=pd.Index(seen["keys"], dtype=object))
    per_key = first.reindex(pd.Index(keys, dtype=object)).to_numpy(dtype=np.float64) if len(keys) else np.zeros(0)
    f = np.where(codes >= 0, per_key[np.maximum(codes, 0)] if len(per_key) else np.nan, np.nan)
    d = np.where(np.isfinite(f) & np.isfinite(t), np.maximum(t - f, 0.0) / unit, 0.0)
    return np.log1p(d)


def _raw(df: pd.DataFrame, state: dict[str, Any]) -> np.ndarray:
    col = state["column"]
    n = len(df)
    if col not in df.columns:
        return np.full((n, len(state["names"])), np.nan)
    t, _ = _seconds(df[col])
    cols = []
    if state["calendar"]:
        dt = pd.to_datetime(pd.Series(np.where(np.isfinite(t), t, 0.0)), unit="s")
        cal = np.stack([dt.dt.hour, dt.dt.day_of_week, dt.dt.month], axis=1).astype(np.float64)
        cal[~np.isfinite(t)] = np.nan
        cols.append(cal)
    unit = 86400.0 if state["calendar"] else 1.0
    for who in ("user", "item"):
        if state.get(f"first_{who}") is not None:
            k = state[f"{who}_col"]
            cols.append(_since(df[k] if k in df.columns else None, t, state[f"first_{who}"], unit)[:, None])
    return np.hstack(cols) if cols else np.zeros((n, 0))


def fit(df: pd.DataFrame, col: str, user_col: str | None, item_col: str | None) -> dict[str, Any]:
    """JSON state of the time features from the training rows."""
    t, calendar = _seconds(df[col])
    state: dict[str, Any] = {"column": col, "calendar": calendar, "user_col": user_col, "item_col": item_col}
    names = [f"{col}:hour", f"{col}:weekday", f"{col}:month"] if calendar else []
    for who, k in (("user", user_col), ("item", item_col)):
        if k and k in df.columns:
            state[f"first_{who}"] = _first_seen(df[k], t)
            names.append(f"{col}:{'days' if calendar else 'units'}_since_{who}_first_seen")
    state["names"] = names
    Z = _raw(df, {**state, "mean": None})
    mean = np.nan_to_num(np.nanmean(Z, axis=0)) if Z.size else np.zeros(0)
    scale = np.nan_to_num(np.nanstd(Z, axis=0)) if Z.size else np.zeros(0)
    state["mean"], state["scale"] = mean.tolist(), np.where(scale > 1e-12, scale, 1.0).tolist()
    return state


def transform(df: pd.DataFrame, state: dict[str, Any]) -> np.ndarray:
    """float64 ``[n, len(names)]`` standardised features (missing: 0, the training mean)."""
    Z = _raw(df, state)
    if not Z.shape[1]:
        return Z
    Z = (Z - np.asarray(state["mean"])) / np.asarray(state["scale"])
    return np.where(np.isfinite(Z), Z, 0.0)
