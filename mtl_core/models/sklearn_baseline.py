"""scikit-learn baseline (not a torch module): one linear model per task family.

- binary: ``LogisticRegression`` (L2, ``C = 1 / config.sk_alpha``) per task, on the rows
  where that task's label is present;
- multiclass: multinomial ``LogisticRegression`` per task;
- regression: one ``MultiTaskElasticNet`` (``alpha = config.sk_alpha``) fitted jointly on
  the rows where every regression label is present (Obozinski et al., "Joint covariate
  selection and joint subspace selection for multiple classification problems", 2010).

Inputs: a one-hot encoding of the categorical index columns (``OneHotEncoder`` with
``handle_unknown="ignore"``; each field keeps its ``_MAX_PER_FIELD`` most frequent values,
and at most ``_MAX_WIDTH`` columns overall; the rest behave like unseen values) followed by
the numeric features. The logistic models read the sparse matrix, in which each free-text
column is its sparse TF-IDF (``EncodedSplit.text``: the preprocessor's vocabulary and idf,
fitted on the training split) instead of its dense TF-IDF -> SVD columns. ElasticNet needs
dense input, so it reads the numeric features (text as its SVD columns) plus only the
``_MAX_DENSE`` most frequent one-hot columns (a deliberate, documented approximation for wide
vocabularies; SVD would need a large projection matrix in the saved state). Predictions are
computed from the stored coefficients, so ``state_dict_json()`` (plain lists) restores an
identical model.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..types import EncodedSplit, FeatureSpec, TaskInfo
from .diagram import Diagram, DiagramBuilder

_MAX_PER_FIELD = 1000
_MAX_WIDTH = 50_000
_MAX_DENSE = 256
_FORMAT = "mtl_sklearn_baseline/2"  # 2: sparse TF-IDF of text columns; /1 (none) is still read
_FORMATS = ("mtl_sklearn_baseline/1", _FORMAT)


def _numpy(x, dtype) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=dtype)


class _either:
    """Descriptor: ``Cls.from_state_json(d)`` builds a new model; ``obj.from_state_json(d)``
    loads ``d`` into ``obj``. Both return the loaded model."""

    def __init__(self, fn):
        self.fn = fn

    def __get__(self, obj, cls):
        return lambda d: self.fn(cls, obj, d)


class SklearnBaseline:
    is_sklearn = True
    has_gates = False
    representation = None  # independent models: nothing shared

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        self.features, self.tasks, self.config = features, list(tasks), config
        self.task_names = [t.name for t in self.tasks]

    # -- what it shares (nothing), as the torch models declare it -------------------------
    def shared_parameters(self) -> list:
        return []

    def shared_representation(self) -> list:
        return []

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder("scikit-learn: one linear model per task", tasks)
        x = b.box("input", "One-hot +\nnumeric", "input", 0,
                  hover="One-hot categorical columns + numeric features + the sparse TF-IDF of "
                        "text columns (no learned embeddings)")
        names = {"binary": "Logistic\nregression", "multiclass": "Softmax\nregression",
                 "regression": "Elastic\nnet"}
        models = {t: b.box(f"model:{t}", names.get(b.kinds.get(t), "Linear\nmodel"), "tower", 1, t,
                           f"Independent scikit-learn model for {t}"
                           + (" (one MultiTaskElasticNet fitted jointly on the regression tasks)"
                              if b.kinds.get(t) == "regression" else ""))
                  for t in b.tasks}
        b.fan([x], models.values())
        b.pair(models, b.outputs(2))
        return b.build()

    # -- design matrices ---------------------------------------------------------------------
    def _encoder(self):
        from sklearn.preprocessing import OneHotEncoder

        enc = OneHotEncoder(categories=[np.asarray(c, dtype=np.int64) for c in self.categories_],
                            handle_unknown="ignore", sparse_output=True, dtype=np.float64)
        return enc.fit(np.array([[c[0] for c in self.categories_]], dtype=np.int64))

    @property
    def reads_text(self) -> bool:
        """True when the logistic models read ``EncodedSplit.text`` (the sparse TF-IDF)."""
        return bool(getattr(self, "text_cols_", None))

    def _onehot(self, split: EncodedSplit):
        """One-hot categoricals (``split.cat`` may be a tensor)."""
        import scipy.sparse as sp

        cat = _numpy(split.cat, np.int64)
        return self._encoder().transform(cat).tocsr() if self.categories_ else sp.csr_matrix((cat.shape[0], 0))

    def _sparse(self, split: EncodedSplit, onehot=None):
        """The logistic models' input: one-hot, numeric features other than the text columns'
        SVD features, then each text column's sparse TF-IDF."""
        import scipy.sparse as sp

        onehot = self._onehot(split) if onehot is None else onehot
        parts = [onehot, sp.csr_matrix(_numpy(split.num, np.float64)[:, self.num_keep_])]
        if self.text_cols_:
            text = split.text or {}
            missing = [c for c in self.text_cols_ if c not in text]
            if missing:
                raise ValueError(f"This scikit-learn baseline reads the TF-IDF of the text column {missing[0]!r}; "
                                 "encode the rows with the run's preprocessor.")
            parts += [text[c] for c in self.text_cols_]
        return sp.hstack(parts, format="csr")

    def _dense(self, split: EncodedSplit, onehot) -> np.ndarray:
        """ElasticNet's input: the most frequent one-hot columns + every numeric feature."""
        cols = np.asarray(self.dense_columns_, dtype=np.int64)
        return np.hstack([onehot[:, cols].toarray(), _numpy(split.num, np.float64)])

    def _text_layout(self, train: EncodedSplit) -> None:
        """Which text columns the logistic models read as sparse TF-IDF, and which numeric
        features remain (the text columns' SVD features ``COL:text<i>`` are replaced)."""
        text = train.text or {}
        self.text_cols_ = [c for c in text if text[c].shape[1] > 0]
        derived = {f"{c}:text" for c in self.text_cols_}
        self.num_keep_ = [j for j, name in enumerate(self.features.num_names)
                          if not any(name.startswith(p) and name[len(p):].isdigit() for p in derived)]

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, train: EncodedSplit, tasks: list[TaskInfo] | None = None) -> "SklearnBaseline":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression, MultiTaskElasticNet

        if tasks is not None:
            self.tasks, self.task_names = list(tasks), [t.name for t in tasks]
        cat = _numpy(train.cat, np.int64)
        per_field = max(1, min(_MAX_PER_FIELD, _MAX_WIDTH // max(self.features.n_cat, 1)))
        self.categories_ = []
        for j in range(self.features.n_cat):
            vals, counts = np.unique(cat[:, j], return_counts=True) if len(cat) else (np.array([0]), np.array([1]))
            keep = vals[np.argsort(-counts, kind="stable")[:per_field]]
            self.categories_.append(sorted(int(v) for v in keep))
        self._text_layout(train)
        onehot = self._onehot(train)
        X = self._sparse(train, onehot)
        freq = np.asarray(onehot.sum(axis=0)).ravel()
        self.dense_columns_ = sorted(int(i) for i in np.argsort(-freq, kind="stable")[:_MAX_DENSE])
        alpha = float(self.config.sk_alpha)
        C = 1.0 / alpha if alpha > 0 else 1e12
        self.heads_, self.warnings_ = {}, []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            for t in self.tasks:
                if t.kind == "regression":
                    continue
                y = np.asarray(train.labels[t.name], dtype=np.float64)
                rows = ~np.isnan(y)
                yi = y[rows].astype(np.int64)
                classes = np.unique(yi)
                if len(classes) < 2:  # constant predictor
                    coef = np.zeros((1, X.shape[1]))
                    self.heads_[t.name] = {"coef": coef.tolist(), "intercept": [0.0],
                                           "classes": [int(c) for c in classes] or [0]}
                    continue
                lr = LogisticRegression(C=C, max_iter=int(self.config.sk_max_iter), solver="lbfgs")
                lr.fit(X[rows], yi)
                self.heads_[t.name] = {"coef": lr.coef_.tolist(), "intercept": lr.intercept_.tolist(),
                                       "classes": [int(c) for c in lr.classes_]}
            reg = [t.name for t in self.tasks if t.kind == "regression"]
            if reg:
                Y = np.stack([np.asarray(train.labels[n], dtype=np.float64) for n in reg], axis=1)
                rows = ~np.isnan(Y).any(axis=1)
                if rows.sum() >= 2:
                    en = MultiTaskElasticNet(alpha=max(alpha, 1e-10), max_iter=int(self.config.sk_max_iter))
                    en.fit(self._dense(train, onehot)[rows], Y[rows])
                    coef, intercept = en.coef_, en.intercept_
                else:
                    coef = np.zeros((len(reg), len(self.dense_columns_) + self.features.n_num))
                    intercept = np.nan_to_num(np.nanmean(Y, axis=0)) if len(Y) else np.zeros(len(reg))
                for i, n in enumerate(reg):
                    self.heads_[n] = {"coef": [coef[i].tolist()], "intercept": [float(intercept[i])], "classes": []}
        self.warnings_ = sorted({str(w.message).split(".")[0] for w in caught})
        return self

    # -- prediction -----------------------------------------------------------------------------
    def predict(self, split: EncodedSplit) -> dict[str, np.ndarray]:
        if not hasattr(self, "heads_"):
            raise RuntimeError("The scikit-learn baseline must be fitted (or loaded) before predict.")
        onehot = self._onehot(split)
        X = self._sparse(split, onehot)
        Xd = self._dense(split, onehot) if any(t.kind == "regression" for t in self.tasks) else None
        out: dict[str, np.ndarray] = {}
        for t in self.tasks:
            h = self.heads_[t.name]
            W, b = np.asarray(h["coef"], dtype=np.float64), np.asarray(h["intercept"], dtype=np.float64)
            if t.kind == "regression":
                out[t.name] = Xd @ W[0] + b[0]
                continue
            z = np.asarray(X @ W.T) + b  # [n, 1] or [n, n_classes_seen]
            classes = h["classes"]
            if len(classes) == 1:  # only one class seen: it gets probability 1
                probs = np.ones((X.shape[0], 1))
            elif z.shape[1] == 1:  # two classes: column is the logit of classes[1]
                p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
                probs = np.stack([1.0 - p1, p1], axis=1)
            else:
                z = z - z.max(axis=1, keepdims=True)
                probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            full = np.zeros((X.shape[0], max(t.n_outputs, 2 if t.kind == "binary" else 1)))
            full[:, classes] = probs
            out[t.name] = full[:, 1] if t.kind == "binary" else full
        return out

    # -- JSON state (no pickle) -------------------------------------------------------------------
    def state_dict_json(self) -> dict:
        if not hasattr(self, "heads_"):
            raise RuntimeError("The scikit-learn baseline must be fitted before it can be saved.")
        cfg = dataclasses.asdict(self.config) if dataclasses.is_dataclass(self.config) else dict(vars(self.config))
        return {"format": _FORMAT, "features": self.features.to_dict(), "tasks": [t.to_dict() for t in self.tasks],
                "config": cfg, "categories": self.categories_, "dense_columns": self.dense_columns_,
                "text_cols": self.text_cols_, "num_keep": self.num_keep_,
                "heads": self.heads_, "warnings": self.warnings_}

    @_either
    def from_state_json(cls, obj, d: dict) -> "SklearnBaseline":
        if not isinstance(d, dict) or d.get("format") not in _FORMATS:
            raise ValueError(f"Not a saved scikit-learn baseline (expected format {_FORMAT!r}).")
        if obj is None:
            from ..config import ModelConfig

            known = {f.name for f in dataclasses.fields(ModelConfig)}
            obj = cls(FeatureSpec.from_dict(d["features"]), [TaskInfo.from_dict(t) for t in d["tasks"]],
                      ModelConfig(**{k: v for k, v in d["config"].items() if k in known}))
        obj.categories_ = [list(map(int, c)) for c in d["categories"]]
        obj.dense_columns_ = list(map(int, d["dense_columns"]))
        obj.text_cols_ = list(d.get("text_cols", []))  # format /1: no sparse text
        obj.num_keep_ = list(map(int, d.get("num_keep", range(obj.features.n_num))))
        obj.heads_ = d["heads"]
        obj.warnings_ = list(d.get("warnings", []))
        return obj
