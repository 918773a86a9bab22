"""Numeric columns: coercion, missing values, outliers and scaling, fitted on train only.

Per column, in this order: text is coerced to numbers (``DataError`` when more than half of
the non-missing training values are not numbers), ``inf``/``-inf`` become missing, the
missing-value strategy fills or drops, outliers are clipped (or, on the training rows only,
dropped), then the columns are scaled together.

The transformers are scikit-learn's: ``SimpleImputer`` (mean / median / most_frequent /
constant) and ``StandardScaler`` / ``MinMaxScaler`` / ``RobustScaler`` / ``QuantileTransformer``
(normal output). Their fitted
attributes are kept as plain JSON (:func:`scaler_state`, :func:`column_state`) and put back
into fresh instances when a saved preprocessor is read (:func:`scaler_from_state`,
:func:`imputer_from_state`); nothing is pickled.

``interpolate`` uses training information only: training rows are interpolated linearly
between their training neighbours (in time order when there is a time column, else in row
order) and edge gaps take the training median; rows of any other split take the last
training value in time order (with a time column) or the training median (without one),
never values from their own split.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, RobustScaler, StandardScaler

from ...config import PreprocessConfig
from ..keys import time_numbers, to_float

IMPUTED = ("mean", "median", "most_frequent", "constant")


def _quantile(n_rows: int = 1000) -> QuantileTransformer:
    """Rank-based scaling to a standard normal (skewed counts and amounts become bell-shaped);
    at most 1,000 quantiles, fitted on at most 100,000 training rows (seeded)."""
    return QuantileTransformer(n_quantiles=max(1, min(1000, n_rows)), output_distribution="normal",
                               subsample=100_000, random_state=0)


# scaling name -> scikit-learn class (or factory of the row count) and the fitted attributes
# its transform needs
SCALERS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "zscore": (StandardScaler, ("mean_", "var_", "scale_")),
    "minmax": (MinMaxScaler, ("min_", "scale_", "data_min_", "data_max_", "data_range_")),
    "robust": (RobustScaler, ("center_", "scale_")),
    "quantile": (_quantile, ("quantiles_", "references_")),
}


def coerce(s: pd.Series, col: str, strict: bool) -> tuple[np.ndarray, int, int]:
    """(float64 values with non-finite -> NaN, text values coerced, non-finite values)."""
    x, n_text = to_float(s, col, strict=strict)
    n_inf = int(np.isinf(x).sum())
    return np.where(np.isfinite(x), x, np.nan), n_text, n_inf


def time_order(df: pd.DataFrame, time_col: str | None) -> np.ndarray | None:
    """Row order by time (stable; unreadable times last), or None without a time column."""
    if not time_col or time_col not in df.columns:
        return None
    return np.argsort(time_numbers(df[time_col]), kind="stable")  # NaN sort last


# --------------------------------------------------------------------------- fit
def fit_column(x: np.ndarray, missing: str, outliers: str, cfg: PreprocessConfig,
               order: np.ndarray | None) -> tuple[dict[str, Any], SimpleImputer | None]:
    """JSON state of one training column (fill value, clip bounds, median, last value) and
    the fitted ``SimpleImputer`` for the imputing strategies."""
    obs = x[~np.isnan(x)]
    median = float(np.median(obs)) if len(obs) else 0.0
    st: dict[str, Any] = {"missing": missing, "fill": None, "outliers": outliers,
                          "lo": None, "hi": None, "median": median}
    imputer = None
    if missing == "median":  # the median above is SimpleImputer's statistic (its masked-array
        # median sorts a masked copy: 1.3 s per 10 M-row column); filled by the same constant imputer
        st["fill"] = median
        imputer = imputer_from_state(st)
    elif missing in IMPUTED:
        imputer = SimpleImputer(strategy=missing, fill_value=float(cfg.fill_value), keep_empty_features=True)
        imputer.fit(x.reshape(-1, 1))
        fill = float(imputer.statistics_[0])
        if not math.isfinite(fill):  # e.g. the mean of values near the float64 limit
            fill, imputer = 0.0, None
        st["fill"] = fill
    elif missing == "interpolate":
        st["fill"] = median
        if order is not None and len(obs):
            xo = x[order]
            st["last"] = float(xo[~np.isnan(xo)][-1])
    if outliers in ("iqr", "drop") and len(obs):
        q1, q3 = np.percentile(obs, [25, 75])
        iqr = q3 - q1
        st["lo"], st["hi"] = float(q1 - cfg.iqr_factor * iqr), float(q3 + cfg.iqr_factor * iqr)
    elif outliers == "zscore" and len(obs):
        mu, sd = float(obs.mean()), float(obs.std())
        st["lo"], st["hi"] = mu - cfg.z_threshold * sd, mu + cfg.z_threshold * sd
    return st, imputer


def imputer_from_state(st: dict[str, Any]) -> SimpleImputer | None:
    """A ``SimpleImputer`` that fills exactly like the fitted one (its learnt statistic as
    the constant), for a state read back from JSON."""
    if st["missing"] not in IMPUTED:
        return None
    return SimpleImputer(strategy="constant", fill_value=float(st["fill"]),
                         keep_empty_features=True).fit(np.zeros((1, 1)))


# --------------------------------------------------------------------------- transform
def _interpolate(x: np.ndarray, miss: np.ndarray, st: dict[str, Any], train: bool,
                 order: np.ndarray | None) -> np.ndarray:
    if not train:  # never from rows of this split: the end of the training period
        last = st.get("last")
        return np.where(miss, st["fill"] if last is None else last, x)
    if order is None:
        xs = pd.Series(x).interpolate(method="linear", limit_area="inside").to_numpy()
    else:
        xo = pd.Series(x[order]).interpolate(method="linear", limit_area="inside").to_numpy()
        xs = np.empty_like(xo)
        xs[order] = xo
    return np.where(np.isnan(xs), st["fill"], xs)


def clean_column(x: np.ndarray, st: dict[str, Any], imputer: SimpleImputer | None, train: bool,
                 keep: np.ndarray, order: np.ndarray | None) -> tuple[np.ndarray, dict[str, int]]:
    """Impute and clip one column; rows to drop are cleared in ``keep`` (in place)."""
    miss = np.isnan(x)
    r = {"imputed": 0, "clipped": 0, "dropped": 0}
    strat = st["missing"]
    if strat == "drop":
        r["dropped"] += int((miss & keep).sum())
        keep &= ~miss
        x = np.where(miss, 0.0, x)
    elif miss.any():
        if strat == "interpolate":
            x = _interpolate(x, miss, st, train, order)
        elif imputer is not None:
            x = imputer.transform(x.reshape(-1, 1))[:, 0]
        else:
            x = np.where(miss, st["fill"], x)
        r["imputed"] = int(miss.sum())
    if st["outliers"] != "none" and st["lo"] is not None:
        lo, hi = st["lo"], st["hi"]
        out = ((x < lo) | (x > hi)) & ~(miss & (strat == "drop"))
        if st["outliers"] == "drop" and train:
            r["dropped"] += int((out & keep).sum())
            keep &= ~out
        else:
            r["clipped"] = int((out & keep).sum())
            x = np.clip(x, lo, hi)
    return x, r


# --------------------------------------------------------------------------- scaling
def fit_scaler(kind: str, X: np.ndarray):
    """The fitted scikit-learn scaler of ``kind`` (None: no scaling or no columns)."""
    if kind not in SCALERS or X.shape[1] == 0 or len(X) == 0:
        return None
    cls, attrs = SCALERS[kind]
    make = (lambda: cls(len(X))) if kind == "quantile" else cls
    with np.errstate(over="ignore", invalid="ignore"):
        sc = make().fit(X)
    bad = np.zeros(X.shape[1], dtype=bool)
    for a in attrs:
        v = np.asarray(getattr(sc, a), dtype=np.float64)
        if v.ndim == 1 and v.shape[0] == X.shape[1]:  # per-column statistics
            bad |= ~np.isfinite(v)
    if bad.any():  # statistics overflowed (values near the float64 limit): refit those as-is
        sc = make().fit(np.where(bad, 0.0, X))
    return sc


def scale(sc, X: np.ndarray) -> np.ndarray:
    """Scaled float32 matrix, always finite."""
    out = sc.transform(X) if sc is not None and X.shape[1] and len(X) else X
    with np.errstate(over="ignore"):  # beyond float32: clamped to its largest value below
        out = np.asarray(out).astype(np.float32)  # a new array: cleaned in place below
    return np.nan_to_num(out, copy=False, nan=0.0, posinf=np.finfo(np.float32).max, neginf=np.finfo(np.float32).min)


def scaler_state(kind: str, sc) -> dict[str, Any] | None:
    if sc is None:
        return None
    return {"kind": kind, **{a: np.asarray(getattr(sc, a), dtype=np.float64).tolist() for a in SCALERS[kind][1]}}


def scaler_from_state(kind: str, d: dict[str, Any] | None):
    """A scaler with the saved fitted attributes. Also reads the first format
    (``{"center": [...], "scale": [...]}``: x -> (x - center) / scale)."""
    if d is None or kind not in SCALERS:
        return None
    cls, attrs = SCALERS[kind]
    if "center" in d:
        if not d["center"]:
            return None
        c, s = np.asarray(d["center"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64)
        d = {"zscore": {"mean_": c, "var_": s * s, "scale_": s},
             "minmax": {"min_": -c / s, "scale_": 1.0 / s, "data_min_": c, "data_max_": c + s, "data_range_": s},
             "robust": {"center_": c, "scale_": s}}[kind]
    sc = cls()
    for a in attrs:
        setattr(sc, a, np.asarray(d[a], dtype=np.float64))
    first = np.asarray(d[attrs[0]])
    sc.n_features_in_ = first.shape[-1] if first.ndim else 0  # quantiles_ is [n_quantiles, n_features]
    sc.n_samples_seen_ = 1
    if kind == "quantile":
        sc.n_quantiles = sc.n_quantiles_ = len(sc.references_)
    return sc


# --------------------------------------------------------------------------- bins (numeric_encoding "ple")
N_BINS = 48


def fit_bins(X: np.ndarray, n_bins: int = N_BINS) -> list[list[float]]:
    """Bin edges per column of the scaled training matrix for the piecewise-linear encoding
    (``models.numeric``): the distinct float32 quantiles at 0, 1/n, ..., 1 (ties such as a
    mass of zeros merge bins); a constant column gets the one bin ``[v, v + 1]``."""
    qs = np.linspace(0.0, 1.0, n_bins + 1)
    out = []
    for j in range(X.shape[1]):
        x = np.asarray(X[:, j], dtype=np.float64)
        x = x[np.isfinite(x)]
        e = np.unique(np.quantile(x, qs).astype(np.float32)) if x.size else np.zeros(1, dtype=np.float32)
        if e.size < 2:
            e = np.array([e[0], e[0] + 1.0], dtype=np.float32)
        out.append([float(v) for v in e])
    return out
