"""The one ``Preprocessor``: categorical vocabularies, numeric cleaning and scaling, free text
(TF-IDF -> SVD), time features (calendar, recency) and task labels (one module each), fitted
on the training split only. Text and time features follow the scaled numeric columns in
``EncodedSplit.num`` (their names in ``FeatureSpec.num_names``).

scikit-learn style: ``__init__`` only stores its arguments, ``fit`` learns everything from
the training frame (attributes ending in ``_``), ``transform`` turns any frame into an
:class:`~mtl_core.types.EncodedSplit`. The fitted state is plain JSON (``to_dict`` /
``from_dict``); nothing is pickled.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ...config import Limits, PreprocessConfig
from ...errors import DataError
from ..compact import fill_columns
from ...types import EncodedSplit, FeatureSpec, TaskInfo, TaskSpec
from ...values import finite as _f
from ...values import json_safe
from . import categorical, labels, numeric
from .collab import CollabFeatures
from .rows import take as rows_of
from . import text as text_features
from . import time as time_features

#: categorical codes (``EncodedSplit.cat``): torch embeddings take int32 indices, half the
#: memory of int64 at every step from encoding to the training batches
CODE_DTYPE = np.int32
FORMAT_VERSION = 3  # 3: collaborative features (written only when used); 2: the scaler's scikit-learn attributes


def _num(v: Any) -> Any:
    return _f(v) if isinstance(v, (float, int, np.floating)) and not isinstance(v, bool) else v


class Preprocessor:
    """Fit on the training frame, then ``transform`` any split (see the module docstring)."""

    def __init__(self, config: PreprocessConfig, cat_cols: list[str], num_cols: list[str],
                 tasks: list[TaskSpec], time_col: str | None = None, limits: Limits | None = None,
                 text_cols: list[str] | None = None, user_col: str | None = None,
                 item_col: str | None = None) -> None:
        self.config = config
        self.cat_cols = list(cat_cols)
        self.num_cols = list(num_cols)
        self.tasks = list(tasks)
        self.time_col = time_col
        self.limits = limits
        self.text_cols = list(text_cols or [])
        self.user_col = user_col
        self.item_col = item_col

    # ------------------------------------------------------------------ checks
    def _check_columns(self, df: pd.DataFrame, labels: bool) -> None:
        need = self.cat_cols + self.num_cols + ([t.column for t in self.tasks] if labels else [])
        missing = [c for c in dict.fromkeys(need) if c not in df.columns]
        if missing:
            raise DataError(f"The table has no column {missing[0]!r}, which this preprocessing needs.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_spec_"):
            raise RuntimeError("This Preprocessor is not fitted yet; call fit(train_df) before transform().")

    def _check_tasks(self, df: pd.DataFrame) -> None:
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

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> "Preprocessor":
        if self.config.numeric_encoding == "ple":  # its bins are fitted on the encoded training rows
            self.fit_transform(df)
        else:
            self._fit(df)
        return self

    def fit_transform(self, df: pd.DataFrame) -> EncodedSplit:
        # the training rows' cleaned numeric matrix from the fit: not computed twice
        enc = self._transform(df, train=True, cleaned=self._fit(df))
        if self.config.numeric_encoding == "ple":
            self.feature_spec_.num_bins = numeric.fit_bins(enc.num)
        return enc

    def _fit(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict]:
        """Learn every statistic; returns what ``_clean`` made of the rows (matrix, rows kept, report)."""
        cfg = self.config.validate()
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("_"):
                delattr(self, name)
        self._check_tasks(df)
        report: dict[str, Any] = {"rows_in": len(df), "columns": {}, "categorical": {}}
        max_categories = (self.limits or Limits()).max_categories
        self.cat_vocab_ = {}
        for col in self.cat_cols:
            self.cat_vocab_[col], report["categorical"][col] = categorical.fit_vocabulary(
                df[col], col, cfg.min_frequency, max_categories)
        self._vocab_index = {}
        order = self._order(df, [self._missing(c) for c in self.num_cols])
        raw: dict[str, np.ndarray] = {}
        self.num_state_, self._imputers = {}, {}
        for col in self.num_cols:
            x, n_text, n_inf = numeric.coerce(df[col], col, strict=True)
            raw[col] = x
            self.num_state_[col], self._imputers[col] = numeric.fit_column(
                x, self._missing(col), cfg.outliers_per_column.get(col, cfg.outliers), cfg, order)
            report["columns"][col] = {"missing": int(np.isnan(x).sum()), "non_finite": n_inf, "text_coerced": n_text}
        fitted = [labels.fit_task(df[t.column], t, cfg.scale_targets, cfg.log_target) for t in self.tasks]
        self.task_infos_ = [info for info, _ in fitted]
        self.target_state_ = {info.name: st for info, st in fitted}
        # the scaler sees the cleaned training matrix (the rows fit_transform keeps)
        X, keep, col_report = self._clean(df, train=True, raw=raw, order=order)
        self.scaler_ = numeric.fit_scaler(cfg.scaling, X if keep.all() else X[keep])
        self._fit_derived(df[keep] if not keep.all() else df)
        self.feature_spec_ = FeatureSpec(
            cat_names=list(self.cat_cols),
            cat_cardinalities=[len(self.cat_vocab_[c]) + 1 for c in self.cat_cols],
            num_names=list(self.num_cols) + self._derived_names(),
            num_encoding=cfg.numeric_encoding,
        )
        for col, r in col_report.items():  # what fit_transform does to the training rows
            report["columns"].setdefault(col, {}).update(r)
        report["rows_out"] = int(keep.sum())
        report["rows_dropped"] = int(len(df) - keep.sum())
        self.report_ = report
        return X, keep, col_report

    def _fit_derived(self, df: pd.DataFrame) -> None:
        """Text and time features from the training rows (sklearn TF-IDF/SVD; calendar/recency)."""
        cfg = self.config
        dims = int(cfg.text_dims)
        self.text_state_ = {c: text_features.fit(df[c], dims) for c in self.text_cols if dims > 0 and c in df.columns}
        use_time = cfg.time_features and self.time_col and self.time_col in df.columns
        self.time_state_ = time_features.fit(df, self.time_col, self.user_col, self.item_col) if use_time else None
        self.collab_ = None
        if cfg.collab:
            if not (self.user_col and self.item_col and self.user_col in df.columns and self.item_col in df.columns):
                raise DataError("Collaborative features (preprocess.collab) need a user and an item column; "
                                "name them (--user-col, --item-col) or turn collaborative features off.")
            self.collab_ = CollabFeatures(cfg.collab, self.user_col, self.item_col).fit(df)

    def _derived_names(self) -> list[str]:
        names = [n for c, st in self.text_state_.items() for n in text_features.names(c, st)]
        names += list(self.time_state_["names"]) if self.time_state_ else []
        return names + (self.collab_.names() if self.collab_ is not None else [])

    def _derived(self, df: pd.DataFrame, train: bool = False) -> tuple[np.ndarray, dict]:
        """Dense text (SVD), time and collaborative features, and each text column's sparse TF-IDF."""
        sparse = {c: text_features.tfidf(df[c] if c in df.columns else None, len(df), st)
                  for c, st in self.text_state_.items()}
        blocks = [text_features.project(sparse[c], len(df), st) for c, st in self.text_state_.items()]
        if self.time_state_:
            blocks.append(time_features.transform(df, self.time_state_))
        if self.collab_ is not None:  # training rows leave their own interaction out
            blocks.append(self.collab_.transform(df, train=train))
        return (np.hstack(blocks) if blocks else np.zeros((len(df), 0)),
                {c: X for c, X in sparse.items() if X is not None})

    def _missing(self, col: str) -> str:
        return self.config.missing_per_column.get(col, self.config.missing)

    # ------------------------------------------------------------------ transform
    def _order(self, df: pd.DataFrame, strategies: list[str]) -> np.ndarray | None:
        """The rows' time order, only when a column is interpolated (parsing times costs)."""
        return numeric.time_order(df, self.time_col) if "interpolate" in strategies else None

    def _clean(self, df: pd.DataFrame, train: bool, raw: dict[str, np.ndarray] | None = None,
               order: np.ndarray | None = None):
        """Imputed + clipped numeric matrix (float64), the rows kept, and per-column counts."""
        keep = np.ones(len(df), dtype=bool)
        X = np.empty((len(df), len(self.num_cols)), dtype=np.float64)  # every column is written below
        rep: dict[str, dict[str, int]] = {}
        if order is None and train:  # other splits never interpolate between their own rows
            order = self._order(df, [self.num_state_[c]["missing"] for c in self.num_cols])
        imputers = self.__dict__.setdefault("_imputers", {})
        for j, col in enumerate(self.num_cols):
            st = self.num_state_[col]
            # the fit's coerced column, released once used (clean_column never writes into x)
            x = raw.pop(col) if raw is not None and col in raw else numeric.coerce(df[col], col, strict=False)[0]
            if col not in imputers:
                imputers[col] = numeric.imputer_from_state(st)
            X[:, j], rep[col] = numeric.clean_column(x, st, imputers[col], train, keep, order)
        for col in self.cat_cols:
            if self._missing(col) == "drop":
                miss = categorical.missing(df[col])
                rep.setdefault(col, {"imputed": 0, "clipped": 0, "dropped": 0})
                rep[col]["dropped"] += int((miss & keep).sum())
                keep &= ~miss
        return X, keep, rep

    def _encode_cats(self, df: pd.DataFrame, group: int = 8) -> np.ndarray:
        out = np.empty((len(df), len(self.cat_cols)), dtype=CODE_DTYPE)  # vocabularies < 2**31
        cache = self.__dict__.setdefault("_vocab_index", {})
        for g in range(0, len(self.cat_cols), group):  # a few columns' codes at a time, written by row blocks
            cols = self.cat_cols[g:g + group]
            for col in cols:
                if col not in cache:
                    cache[col] = categorical.Lookup(self.cat_vocab_[col])
            fill_columns(out, g, [cache[col].encode(df[col]) for col in cols])
        return out

    def _transform(self, df: pd.DataFrame, train: bool, cleaned: tuple | None = None) -> EncodedSplit:
        self._check_fitted()
        self._check_columns(df, labels=False)
        X, keep, rep = cleaned if cleaned is not None else self._clean(df, train=train)
        del cleaned  # the float64 matrix is freed once scaled
        num = numeric.scale(self.scaler_, X)
        del X
        derived, text = self._derived(df, train)
        if derived.shape[1]:
            num = np.hstack([num, derived.astype(num.dtype)])
        cat = self._encode_cats(df)
        y = {info.name: labels.encode(df, info, self.target_state_[info.name]) for info in self.task_infos_}
        self.last_report_ = {"rows_in": len(df), "rows_out": int(keep.sum()), "columns": rep}
        if keep.all():
            return EncodedSplit(cat=cat, num=np.ascontiguousarray(num), labels=y,
                                index=np.arange(len(df), dtype=np.int64), text=text or None)
        return EncodedSplit(cat=cat[keep], num=np.ascontiguousarray(num[keep]),
                            labels={k: v[keep] for k, v in y.items()},
                            index=np.flatnonzero(keep).astype(np.int64),
                            text={c: X[keep] for c, X in text.items()} or None)

    def rows(self, df: pd.DataFrame, positions: np.ndarray):
        """The rows ``positions`` of ``df`` to fit or transform: read a column at a time
        (:mod:`.rows`: no copy of the frame's rows) unless text, time or collaborative
        features need a frame (then ``df.iloc[positions]``). Either gives the same encoding."""
        cfg = self.config
        frame = bool(self.text_cols and cfg.text_dims > 0) or bool(cfg.time_features and self.time_col) or bool(cfg.collab)
        return rows_of(df, positions, frame)

    def transform(self, df: pd.DataFrame) -> EncodedSplit:
        """Encode new rows (any split but the training one) with the statistics learnt in
        ``fit``: outliers are clipped, never dropped; interpolation gaps take training
        values; rows with a missing value under the ``drop`` strategy are dropped and
        ``EncodedSplit.index`` tells which positions remain."""
        return self._transform(df, train=False)

    def transform_train(self, df: pd.DataFrame) -> EncodedSplit:
        """Encode training rows the way ``fit_transform`` does (outlier rows dropped, gaps
        interpolated, own interactions left out), with the fitted statistics: one torchrun
        rank's shard of the training split (``training.shards``)."""
        self._check_fitted()
        return self._transform(df, train=True)

    def collab_block(self, user_ids: Any, item_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``EncodedSplit.num``, float ``[n, m]`` values) of the collaborative
        features of the pairs ``(user_ids[r], item_ids[r])`` -- for scorers that assemble
        rows from a user side and an item side; no positions without collaborative features."""
        self._check_fitted()
        collab = getattr(self, "collab_", None)
        if collab is None:
            return np.zeros(0, dtype=np.int64), np.zeros((len(user_ids), 0))
        m = len(collab.names())
        total = len(self.feature_spec_.num_names)
        pairs = pd.DataFrame({collab.user_col: np.asarray(user_ids, dtype=object),
                              collab.item_col: np.asarray(item_ids, dtype=object)})
        return np.arange(total - m, total, dtype=np.int64), collab.transform(pairs)

    def inverse_target(self, task_name: str, values: Any) -> np.ndarray:
        """Regression predictions/labels back to the original units (other kinds unchanged)."""
        self._check_fitted()
        if task_name not in self.target_state_:
            raise KeyError(f"unknown task {task_name!r}")
        info = next(i for i in self.task_infos_ if i.name == task_name)
        return labels.inverse(info, self.target_state_[task_name], values)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """JSON-safe fitted state (``json.dumps`` works); see :meth:`from_dict`."""
        self._check_fitted()
        collab = getattr(self, "collab_", None)
        return {
            "format_version": FORMAT_VERSION if collab is not None else 2,
            "config": dataclasses.asdict(self.config),
            "cat_cols": list(self.cat_cols),
            "num_cols": list(self.num_cols),
            "tasks": [t.to_dict() for t in self.tasks],
            "time_col": self.time_col,
            "text_cols": list(self.text_cols),
            "user_col": self.user_col,
            "item_col": self.item_col,
            "limits": dataclasses.asdict(self.limits) if self.limits is not None else None,
            "state": {
                "cat_vocab": {c: list(v) for c, v in self.cat_vocab_.items()},
                "num_state": {c: {k: _num(v) for k, v in st.items()} for c, st in self.num_state_.items()},
                "scaler": numeric.scaler_state(self.config.scaling, self.scaler_),
                "task_infos": [i.to_dict() for i in self.task_infos_],
                "target_state": {k: {kk: _num(vv) for kk, vv in v.items()} for k, v in self.target_state_.items()},
                "feature_spec": self.feature_spec_.to_dict(),
                "text": json_safe(self.text_state_),
                "time": json_safe(self.time_state_),
                **({"collab": json_safe(collab.to_dict())} if collab is not None else {}),
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
        obj = cls(PreprocessConfig.from_dict(d["config"]), d["cat_cols"], d["num_cols"],
                  [TaskSpec.from_dict(t) for t in d["tasks"]], d.get("time_col"), limits,
                  d.get("text_cols"), d.get("user_col"), d.get("item_col"))
        st = d["state"]
        obj.cat_vocab_ = {c: [str(x) for x in v] for c, v in st["cat_vocab"].items()}
        obj.num_state_ = {c: dict(v) for c, v in st["num_state"].items()}
        obj.scaler_ = numeric.scaler_from_state(obj.config.scaling, st.get("scaler"))
        obj.task_infos_ = [TaskInfo.from_dict(i) for i in st["task_infos"]]
        obj.target_state_ = {k: dict(v) for k, v in st["target_state"].items()}
        obj.report_ = st.get("report", {})
        obj.feature_spec_ = FeatureSpec.from_dict(st["feature_spec"])
        obj.text_state_ = dict(st.get("text") or {})  # runs saved before text/time features have none
        obj.time_state_ = st.get("time")
        obj.collab_ = CollabFeatures.from_dict(st["collab"]) if st.get("collab") else None
        return obj
