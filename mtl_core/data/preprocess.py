"""Cleaning and encoding, fitted on the training split only.

``Preprocessor`` is scikit-learn style: ``__init__`` only stores its arguments, ``fit``
learns everything from the training frame (attributes ending in ``_``), ``transform`` turns
any frame into an :class:`~mtl_core.types.EncodedSplit`.

Per numeric column (in this order): text is coerced to numbers (``DataError`` when more
than half of the non-missing values are not numbers), ``inf``/``-inf`` become missing, the
missing-value strategy fills or drops, outliers are clipped (or, in ``fit_transform`` on
the training data only, dropped), then the column is scaled. Statistics (imputation values,
clip bounds, scaler parameters) come from the training rows only.

Categoricals and ids become integer indices: 0 is reserved for unknown / missing / rare
(seen fewer than ``min_frequency`` times in train) values; 1.. are the known values, most
frequent first. Values are compared as stripped strings, so ``1``, ``1.0`` and ``" 1"`` of
one column are the same category. The mapping is vectorised (``pd.factorize`` + an index
lookup on the distinct values only).

Labels: binary 0/1 (NaN = missing), regression (standardised with train mean/std when
``scale_targets``; :meth:`Preprocessor.inverse_target` undoes it), multiclass class index
(classes from train; unseen class → NaN).

The fitted state is plain JSON (``to_dict`` / ``from_dict``); nothing is pickled.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from ..config import Limits, PreprocessConfig
from ..errors import DataError
from ..values import finite as _f
from ..values import json_safe
from ..types import EncodedSplit, FeatureSpec, TaskInfo, TaskSpec

FORMAT_VERSION = 1
_TRUE_WORDS = ("1", "true", "yes", "y", "t", "positive", "pos")
_FALSE_WORDS = ("0", "false", "no", "n", "f", "negative", "neg", "-1")


# --------------------------------------------------------------------------- helpers
def _keys(uniques: Any) -> np.ndarray:
    """Distinct values -> stripped string keys (object array). Integral floats print as
    integers so that 1, 1.0 and "1" share a key. Only called on distinct values."""
    idx = pd.Index(uniques)
    if len(idx) == 0:
        return np.array([], dtype=object)
    if pd.api.types.is_bool_dtype(idx.dtype) or pd.api.types.is_integer_dtype(idx.dtype):
        return np.asarray(idx.astype(str), dtype=object)
    if pd.api.types.is_float_dtype(idx.dtype):
        arr = idx.to_numpy(dtype=np.float64)
        out = np.asarray(idx.astype(str), dtype=object)
        integral = np.isfinite(arr) & (np.abs(arr) < 2**53)
        integral &= arr == np.round(np.where(integral, arr, 0))
        if integral.any():
            out[integral] = arr[integral].astype(np.int64).astype(str).astype(object)
        return out
    if isinstance(idx.dtype, pd.StringDtype) or idx.inferred_type == "string":
        try:
            return np.asarray(idx.astype(object).str.strip(), dtype=object)
        except (AttributeError, TypeError):
            pass

    def one(v: Any) -> str:
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer() and abs(v) < 2**53:
            return str(int(v))
        return str(v).strip()

    return np.array([one(v) for v in idx], dtype=object)


def _factorize_keys(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, keys): ``keys[codes[i]]`` is row i's stripped string; code -1 = missing
    (NaN/None or an empty string)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    keys = _keys(uniques)
    empty = keys == ""
    if empty.any():
        remap = np.arange(len(keys), dtype=np.int64)
        remap[empty] = -1
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return codes, keys


def _lookup(codes: np.ndarray, keys: np.ndarray, index: pd.Index) -> np.ndarray:
    """Position of each row's key in ``index`` (-1 when absent or missing)."""
    if len(keys) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    pos = np.asarray(index.get_indexer(pd.Index(keys, dtype=object)), dtype=np.int64)
    return np.where(codes >= 0, pos[np.maximum(codes, 0)], -1)


def _to_float(s: pd.Series, col: str, what: str = "numbers", strict: bool = True) -> tuple[np.ndarray, int]:
    """A column as float64 (NaN = missing, inf kept) and the number of text values coerced
    to missing. When fitting (``strict``), more than half of the non-missing values
    unreadable -> DataError; when transforming new rows, unreadable values become missing
    (the column was learnt as numeric on the training rows)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan), 0
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan), 0
    codes, keys = _factorize_keys(s)
    if len(keys) == 0:
        return np.full(len(s), np.nan), 0
    lowered = pd.Index(keys, dtype=object)
    vals = pd.to_numeric(pd.Series(lowered), errors="coerce").to_numpy(dtype=np.float64)
    bad_key = np.isnan(vals) & ~pd.Series(lowered).str.lower().isin(["nan"]).to_numpy()
    out = np.where(codes >= 0, vals[np.maximum(codes, 0)], np.nan)
    present = codes >= 0
    n_present = int(present.sum())
    bad_rows = present & bad_key[np.maximum(codes, 0)]
    n_bad = int(bad_rows.sum())
    if strict and n_present and n_bad * 2 > n_present:
        example = keys[np.flatnonzero(bad_key)[0]]
        raise DataError(
            f"column {col!r} has text like {example!r} where {what} are needed; "
            f"mark it categorical or clean it."
        )
    return out, n_bad


def _time_order(df: pd.DataFrame, time_col: str | None) -> np.ndarray | None:
    """Row order by time (stable; unreadable times last), or None for row order."""
    if not time_col or time_col not in df.columns:
        return None
    s = df[time_col]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        t = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        dt = pd.to_datetime(s, format="mixed", errors="coerce", utc=True)
        try:
            if getattr(dt.dt, "tz", None) is not None:
                dt = dt.dt.tz_convert("UTC").dt.tz_localize(None)
        except (AttributeError, TypeError):
            pass
        t = dt.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        t[dt.isna().to_numpy()] = np.nan
    return np.argsort(t, kind="stable")  # NaN sort last


def _binary_positive(keys: list[str]) -> tuple[str, str]:
    """(negative, positive) of a two-valued label without an explicit positive value."""
    a, b = keys
    la, lb = a.lower(), b.lower()
    if la in _TRUE_WORDS and lb in _FALSE_WORDS:
        return b, a
    if lb in _TRUE_WORDS and la in _FALSE_WORDS:
        return a, b
    try:
        fa, fb = float(a), float(b)
        return (a, b) if fa < fb else (b, a)
    except ValueError:
        pass
    return tuple(sorted([a, b]))  # type: ignore[return-value]


def _class_sort(keys: list[str]) -> list[str]:
    try:
        return sorted(keys, key=lambda k: (float(k), k))
    except ValueError:
        return sorted(keys)


# --------------------------------------------------------------------------- preprocessor
def _use_log1p(mode: str, y: np.ndarray, task: str) -> bool:
    """log1p for a regression target: ``on`` (needs values >= 0), ``off``, or ``auto`` when the
    training target is non-negative and strongly skewed (``evaluation.forecast.wants_log1p``)."""
    from ..evaluation.forecast import wants_log1p

    if mode == "on" and y.size and y.min() < 0:
        raise DataError(f"task {task!r} has negative values, so it cannot be trained on log1p; set preprocess.log_target to off.")
    return mode == "on" or (mode == "auto" and wants_log1p(y))


class Preprocessor:
    """Fit on the training frame, then ``transform`` any split (see the module docstring)."""

    def __init__(self, config: PreprocessConfig, cat_cols: list[str], num_cols: list[str],
                 tasks: list[TaskSpec], time_col: str | None = None, limits: Limits | None = None) -> None:
        self.config = config
        self.cat_cols = list(cat_cols)
        self.num_cols = list(num_cols)
        self.tasks = list(tasks)
        self.time_col = time_col
        self.limits = limits

    # ------------------------------------------------------------------ settings
    def _missing(self, col: str) -> str:
        return self.config.missing_per_column.get(col, self.config.missing)

    def _outliers(self, col: str) -> str:
        return self.config.outliers_per_column.get(col, self.config.outliers)

    def _check_columns(self, df: pd.DataFrame, labels: bool) -> None:
        need = self.cat_cols + self.num_cols + ([t.column for t in self.tasks] if labels else [])
        missing = [c for c in dict.fromkeys(need) if c not in df.columns]
        if missing:
            raise DataError(f"The table has no column {missing[0]!r}, which this preprocessing needs.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_spec_"):
            raise RuntimeError("This Preprocessor is not fitted yet; call fit(train_df) before transform().")

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> "Preprocessor":
        self._fit(df)
        return self

    def fit_transform(self, df: pd.DataFrame) -> EncodedSplit:
        self._fit(df)
        return self._transform(df, train=True)

    def _fit(self, df: pd.DataFrame) -> None:
        cfg = self.config.validate()
        limits = (self.limits or Limits())
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("_"):
                delattr(self, name)
        self._vocab_index = {}
        self._check_columns(df, labels=True)
        if len(df) == 0:
            raise DataError("The training split has no rows; use more data or another split.")
        seen: set[str] = set()
        for t in self.tasks:
            if t.key in seen:
                raise DataError(f"Two tasks are named {t.key!r}; give each task its own name.")
            seen.add(t.key)
        if len(self.tasks) == 0:
            raise DataError("At least one task (label column) is needed.")
        n = len(df)
        report: dict[str, Any] = {"rows_in": n, "columns": {}, "categorical": {}}

        # ---- categoricals
        vocabs: dict[str, list[str]] = {}
        for col in self.cat_cols:
            codes, keys = _factorize_keys(df[col])
            present = codes >= 0
            counts = np.bincount(codes[present], minlength=len(keys)) if len(keys) else np.zeros(0, np.int64)
            per_key = pd.Series(counts, index=pd.Index(keys, dtype=object)).groupby(level=0, sort=True).sum()
            kept = per_key[per_key >= cfg.min_frequency]
            order = np.lexsort((kept.index.to_numpy(dtype=object).astype(str), -kept.to_numpy()))
            vocab = [str(k) for k in kept.index.to_numpy(dtype=object)[order]]
            if len(vocab) + 1 > limits.max_categories:
                raise DataError(
                    f"column {col!r} has {len(vocab)} categories, more than limits.max_categories="
                    f"{limits.max_categories}; raise the limit, raise min_frequency or drop the column."
                )
            vocabs[col] = vocab
            report["categorical"][col] = {
                "cardinality": len(vocab) + 1,
                "missing": int((~present).sum()),
                "rare": int(per_key[per_key < cfg.min_frequency].sum()),
            }
        self.cat_vocab_ = vocabs

        # ---- numerics: coercion, statistics from train
        from sklearn.impute import SimpleImputer

        num_state: dict[str, dict[str, Any]] = {}
        raw: dict[str, np.ndarray] = {}
        for col in self.num_cols:
            x, n_text = _to_float(df[col], col)
            non_finite = int(np.isinf(x).sum())
            x = np.where(np.isfinite(x), x, np.nan)
            raw[col] = x
            obs = x[~np.isnan(x)]
            strat = self._missing(col)
            st: dict[str, Any] = {"missing": strat, "fill": None, "outliers": self._outliers(col),
                                  "lo": None, "hi": None, "median": None}
            median = float(np.median(obs)) if len(obs) else 0.0
            st["median"] = median
            if strat in ("mean", "median", "most_frequent", "constant"):
                if len(obs) == 0:
                    fill = float(cfg.fill_value) if strat == "constant" else 0.0
                else:
                    imp = SimpleImputer(strategy=strat, fill_value=float(cfg.fill_value),
                                        keep_empty_features=True)
                    imp.fit(x.reshape(-1, 1))
                    fill = float(imp.statistics_[0])
                st["fill"] = fill if math.isfinite(fill) else 0.0
            elif strat == "interpolate":
                st["fill"] = median
            o = st["outliers"]
            if o in ("iqr", "drop") and len(obs):
                q1, q3 = np.percentile(obs, [25, 75])
                iqr = q3 - q1
                st["lo"], st["hi"] = float(q1 - cfg.iqr_factor * iqr), float(q3 + cfg.iqr_factor * iqr)
            elif o == "zscore" and len(obs):
                mu, sd = float(obs.mean()), float(obs.std())
                st["lo"], st["hi"] = mu - cfg.z_threshold * sd, mu + cfg.z_threshold * sd
            num_state[col] = st
            report["columns"][col] = {"missing": int(np.isnan(x).sum()), "non_finite": non_finite,
                                      "text_coerced": n_text}
        self.num_state_ = num_state

        # ---- targets
        infos: list[TaskInfo] = []
        target_state: dict[str, dict[str, Any]] = {}
        for t in self.tasks:
            info, st = self._fit_task(df, t)
            infos.append(info)
            target_state[info.name] = st
        self.task_infos_ = infos
        self.target_state_ = target_state

        # ---- scaler on the cleaned training matrix (rows kept by fit_transform)
        X, keep_all, col_report = self._clean(df, train=True, raw=raw)
        self.scaler_ = self._fit_scaler(X[keep_all])
        self.feature_spec_ = FeatureSpec(
            cat_names=list(self.cat_cols),
            cat_cardinalities=[len(vocabs[c]) + 1 for c in self.cat_cols],
            num_names=list(self.num_cols),
        )
        # report: what fit_transform does to the training rows
        for col, r in col_report.items():
            report["columns"].setdefault(col, {}).update(r)
        report["rows_out"] = int(keep_all.sum())
        report["rows_dropped"] = int(n - keep_all.sum())
        self.report_ = report

    def _fit_task(self, df: pd.DataFrame, t: TaskSpec) -> tuple[TaskInfo, dict[str, Any]]:
        col = t.column
        kind = t.kind
        s = df[col]
        if kind is None:
            codes, keys = _factorize_keys(s)
            distinct = sorted(set(keys[np.unique(codes[codes >= 0])].tolist())) if len(keys) else []
            if t.positive is not None or len(distinct) <= 2:
                kind = "binary"
            elif pd.api.types.is_numeric_dtype(s.dtype) and len(distinct) > 20:
                kind = "regression"
            else:
                kind = "multiclass"
        if kind == "binary":
            codes, keys = _factorize_keys(s)
            distinct = _class_sort(sorted(set(keys[np.unique(codes[codes >= 0])].tolist())))
            if t.positive is not None:
                pos = str(t.positive).strip()
                others = [k for k in distinct if k != pos]
                if pos not in distinct or not others:
                    only = distinct[0] if distinct else "none"
                    raise DataError(
                        f"task {t.key!r} has only one class ({only}) in the training split; "
                        f"use more data, another split, or another task."
                    )
                neg = others[0] if len(others) == 1 else f"not {pos}"
                classes = [neg, pos]
            else:
                if len(distinct) < 2:
                    only = distinct[0] if distinct else "none"
                    raise DataError(
                        f"task {t.key!r} has only one class ({only}) in the training split; "
                        f"use more data, another split, or another task."
                    )
                if len(distinct) > 2:
                    raise DataError(
                        f"task {t.key!r} is binary but column {col!r} has {len(distinct)} values "
                        f"(e.g. {', '.join(distinct[:3])}); give the positive value as {col}:binary=VALUE."
                    )
                neg, pos = _binary_positive(distinct)
                classes = [neg, pos]
            info = TaskInfo(name=t.key, kind="binary", n_outputs=1, classes=classes, column=col, positive=pos)
            return info, {"explicit_positive": t.positive is not None}
        if kind == "regression":
            y, _ = _to_float(s, col, what="numbers (a regression target)")
            y = y[np.isfinite(y)]
            if len(y) == 0:
                raise DataError(f"task {t.key!r} has no numeric values in the training split.")
            log_max = None  # log1p targets: predictions are capped at the training maximum
            if _use_log1p(self.config.log_target, y, t.key):
                y = np.log1p(y)
                log_max = float(y.max())
            mean, scale = 0.0, 1.0
            if self.config.scale_targets:
                from sklearn.preprocessing import StandardScaler

                sc = StandardScaler().fit(y.reshape(-1, 1))
                mean, scale = float(sc.mean_[0]), float(sc.scale_[0])
            info = TaskInfo(name=t.key, kind="regression", n_outputs=1, classes=[], column=col, positive=None)
            return info, {"mean": mean, "scale": scale if scale > 0 and math.isfinite(scale) else 1.0,
                          "log1p": log_max is not None, "log_max": log_max}
        if kind == "multiclass":
            codes, keys = _factorize_keys(s)
            distinct = _class_sort(sorted(set(keys[np.unique(codes[codes >= 0])].tolist())))
            if len(distinct) < 2:
                only = distinct[0] if distinct else "none"
                raise DataError(
                    f"task {t.key!r} has only one class ({only}) in the training split; "
                    f"use more data, another split, or another task."
                )
            info = TaskInfo(name=t.key, kind="multiclass", n_outputs=len(distinct), classes=distinct,
                            column=col, positive=None)
            return info, {}
        raise DataError(f"task {t.key!r} has an unknown kind {kind!r}; use binary, regression or multiclass.")

    def _fit_scaler(self, X: np.ndarray) -> dict[str, list[float]]:
        d = X.shape[1]
        center, scale = np.zeros(d), np.ones(d)
        kind = self.config.scaling
        if d and len(X) and kind != "none":
            from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

            if kind == "minmax":
                sc = MinMaxScaler().fit(X)
                center = sc.data_min_.astype(np.float64)
                scale = 1.0 / sc.scale_.astype(np.float64)  # == data range (1 where constant)
            elif kind == "zscore":
                sc = StandardScaler().fit(X)
                center, scale = sc.mean_.astype(np.float64), sc.scale_.astype(np.float64)
            elif kind == "robust":
                sc = RobustScaler().fit(X)
                center, scale = sc.center_.astype(np.float64), sc.scale_.astype(np.float64)
        bad = ~np.isfinite(scale) | (scale == 0)
        scale[bad] = 1.0
        center[~np.isfinite(center)] = 0.0
        return {"center": [float(v) for v in center], "scale": [float(v) for v in scale]}

    # ------------------------------------------------------------------ transform
    def _clean(self, df: pd.DataFrame, train: bool, raw: dict[str, np.ndarray] | None = None):
        """Imputed + clipped numeric matrix (float64), the rows kept, and per-column counts."""
        n = len(df)
        keep = np.ones(n, dtype=bool)
        X = np.zeros((n, len(self.num_cols)), dtype=np.float64)
        rep: dict[str, dict[str, int]] = {}
        order = None
        for j, col in enumerate(self.num_cols):
            st = self.num_state_[col]
            if raw is not None and col in raw:
                x = raw[col].copy()
            else:
                x, _ = _to_float(df[col], col, strict=False)
                x = np.where(np.isfinite(x), x, np.nan)
            miss = np.isnan(x)
            r = {"imputed": 0, "clipped": 0, "dropped": 0}
            strat = st["missing"]
            if strat == "drop":
                r["dropped"] += int((miss & keep).sum())
                keep &= ~miss
                x = np.where(miss, 0.0, x)
            elif strat == "interpolate":
                if miss.any():
                    if order is None:
                        order = _time_order(df, self.time_col)
                    if order is None:
                        xs = pd.Series(x).interpolate(method="linear", limit_area="inside").to_numpy()
                    else:
                        xo = pd.Series(x[order]).interpolate(method="linear", limit_area="inside").to_numpy()
                        xs = np.empty_like(xo)
                        xs[order] = xo
                    x = np.where(np.isnan(xs), st["fill"], xs)
                    r["imputed"] = int(miss.sum())
            else:
                if miss.any():
                    x = np.where(miss, st["fill"], x)
                    r["imputed"] = int(miss.sum())
            o = st["outliers"]
            lo = -np.inf if st["lo"] is None else st["lo"]
            hi = np.inf if st["hi"] is None else st["hi"]
            if o != "none" and (st["lo"] is not None):
                out = ((x < lo) | (x > hi)) & ~(miss & (strat == "drop"))
                if o == "drop" and train:
                    r["dropped"] += int((out & keep).sum())
                    keep &= ~out
                else:
                    r["clipped"] = int((out & keep).sum())
                    x = np.clip(x, lo, hi)
            X[:, j] = x
            rep[col] = r
        for col in self.cat_cols:
            if self._missing(col) == "drop":
                codes, _ = _factorize_keys(df[col])
                miss = codes < 0
                rep.setdefault(col, {"imputed": 0, "clipped": 0, "dropped": 0})
                rep[col]["dropped"] += int((miss & keep).sum())
                keep &= ~miss
        return X, keep, rep

    def _encode_cats(self, df: pd.DataFrame) -> np.ndarray:
        n = len(df)
        out = np.zeros((n, len(self.cat_cols)), dtype=np.int64)
        cache = self.__dict__.setdefault("_vocab_index", {})
        for j, col in enumerate(self.cat_cols):
            index = cache.get(col)
            if index is None:
                index = pd.Index(self.cat_vocab_[col], dtype=object)
                cache[col] = index
            codes, keys = _factorize_keys(df[col])
            out[:, j] = _lookup(codes, keys, index) + 1
        return out

    def _labels(self, df: pd.DataFrame, info: TaskInfo) -> np.ndarray:
        n = len(df)
        if info.column not in df.columns:
            return np.full(n, np.nan, dtype=np.float32)
        s = df[info.column]
        st = self.target_state_[info.name]
        if info.kind == "binary":
            codes, keys = _factorize_keys(s)
            if st.get("explicit_positive"):
                pos = _lookup(codes, keys, pd.Index([info.positive], dtype=object))
                y = np.where(codes < 0, np.nan, (pos == 0).astype(np.float64))
            else:
                pos = _lookup(codes, keys, pd.Index(list(info.classes), dtype=object))
                y = np.where(pos < 0, np.nan, pos.astype(np.float64))
            return y.astype(np.float32)
        if info.kind == "regression":
            y, _ = _to_float(s, info.column, what="numbers (a regression target)", strict=False)
            y = np.where(np.isfinite(y), y, np.nan)
            if st.get("log1p"):
                y = np.log1p(np.maximum(y, 0.0))
            return ((y - st["mean"]) / st["scale"]).astype(np.float32)
        codes, keys = _factorize_keys(s)
        pos = _lookup(codes, keys, pd.Index(list(info.classes), dtype=object))
        return np.where(pos < 0, np.nan, pos.astype(np.float64)).astype(np.float32)

    def _transform(self, df: pd.DataFrame, train: bool) -> EncodedSplit:
        self._check_fitted()
        self._check_columns(df, labels=False)
        X, keep, rep = self._clean(df, train=train)
        center = np.asarray(self.scaler_["center"], dtype=np.float64)
        scale = np.asarray(self.scaler_["scale"], dtype=np.float64)
        num = ((X - center) / scale) if X.shape[1] else X
        num = np.nan_to_num(num.astype(np.float32), nan=0.0, posinf=np.finfo(np.float32).max,
                            neginf=np.finfo(np.float32).min)
        cat = self._encode_cats(df)
        labels = {info.name: self._labels(df, info) for info in self.task_infos_}
        self.last_report_ = {"rows_in": len(df), "rows_out": int(keep.sum()), "columns": rep}
        if keep.all():
            return EncodedSplit(cat=cat, num=np.ascontiguousarray(num), labels=labels,
                                index=np.arange(len(df), dtype=np.int64))
        return EncodedSplit(cat=cat[keep], num=np.ascontiguousarray(num[keep]),
                            labels={k: v[keep] for k, v in labels.items()},
                            index=np.flatnonzero(keep).astype(np.int64))

    def transform(self, df: pd.DataFrame) -> EncodedSplit:
        """Encode any split with the statistics learnt in ``fit`` (outliers are clipped,
        never dropped, here; rows with a missing value under the ``drop`` strategy are
        dropped and ``EncodedSplit.index`` tells which positions remain)."""
        return self._transform(df, train=False)

    # ------------------------------------------------------------------ targets
    def inverse_target(self, task_name: str, values: Any) -> np.ndarray:
        """Regression predictions/labels back to the original units (other kinds unchanged)."""
        self._check_fitted()
        if task_name not in self.target_state_:
            raise KeyError(f"unknown task {task_name!r}")
        v = np.asarray(values, dtype=np.float64)
        info = next(i for i in self.task_infos_ if i.name == task_name)
        if info.kind != "regression":
            return v
        st = self.target_state_[task_name]
        v = v * st["scale"] + st["mean"]
        return np.expm1(np.minimum(v, st.get("log_max") or 700.0)) if st.get("log1p") else v

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """JSON-safe fitted state (``json.dumps`` works); see :meth:`from_dict`."""
        self._check_fitted()
        return {
            "format_version": FORMAT_VERSION,
            "config": dataclasses.asdict(self.config),
            "cat_cols": list(self.cat_cols),
            "num_cols": list(self.num_cols),
            "tasks": [t.to_dict() for t in self.tasks],
            "time_col": self.time_col,
            "limits": dataclasses.asdict(self.limits) if self.limits is not None else None,
            "state": {
                "cat_vocab": {c: list(v) for c, v in self.cat_vocab_.items()},
                "num_state": {c: {k: (_f(v) if isinstance(v, (float, int, np.floating)) and not isinstance(v, bool) else v)
                                  for k, v in st.items()} for c, st in self.num_state_.items()},
                "scaler": {"center": [_f(v) or 0.0 for v in self.scaler_["center"]],
                           "scale": [_f(v) or 1.0 for v in self.scaler_["scale"]]},
                "task_infos": [i.to_dict() for i in self.task_infos_],
                "target_state": {k: {kk: (_f(vv) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                                 for k, v in self.target_state_.items()},
                "feature_spec": self.feature_spec_.to_dict(),
                "report": json_safe(self.report_),
            },
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessor":
        if not isinstance(d, dict) or "state" not in d:
            raise DataError("The saved preprocessing state is not valid (no 'state' section).")
        if d.get("format_version", 1) > FORMAT_VERSION:
            raise DataError("The saved preprocessing state was written by a newer MTL Lab; upgrade to read it.")
        limits = Limits(**d["limits"]) if d.get("limits") else None
        obj = cls(PreprocessConfig(**d["config"]), d["cat_cols"], d["num_cols"],
                  [TaskSpec.from_dict(t) for t in d["tasks"]], d.get("time_col"), limits)
        st = d["state"]
        obj._vocab_index = {}
        obj.cat_vocab_ = {c: [str(x) for x in v] for c, v in st["cat_vocab"].items()}
        obj.num_state_ = {c: dict(v) for c, v in st["num_state"].items()}
        obj.scaler_ = {"center": [float(x) for x in st["scaler"]["center"]],
                       "scale": [float(x) for x in st["scaler"]["scale"]]}
        obj.task_infos_ = [TaskInfo.from_dict(i) for i in st["task_infos"]]
        obj.target_state_ = {k: dict(v) for k, v in st["target_state"].items()}
        obj.report_ = st.get("report", {})
        obj.feature_spec_ = FeatureSpec.from_dict(st["feature_spec"])
        return obj
