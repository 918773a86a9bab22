"""Small typed containers passed between the modules of mtl_core.

Data flows one way: file -> schema -> preprocessing (fitted on train) -> ``EncodedSplit``
(numpy) -> tensors on the device -> model -> metrics. Everything here is plain Python /
numpy and JSON-serialisable through ``to_dict``/``from_dict``; nothing imports torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

TaskKind = Literal["binary", "regression", "multiclass"]
TASK_KINDS: tuple[str, ...] = ("binary", "regression", "multiclass")


@dataclass(frozen=True)
class TaskSpec:
    """What the user asked for: a label column, its kind, and (binary) its positive value.

    ``name`` is the key used everywhere downstream (model outputs, metrics, history). It
    defaults to the column name.
    """

    column: str
    kind: TaskKind | None = None  # None = infer from the data
    positive: str | None = None  # binary task derived from a categorical column
    name: str | None = None

    @property
    def key(self) -> str:
        return self.name or self.column

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TaskSpec":
        return cls(**d)


@dataclass
class TaskInfo:
    """A resolved task, as the model and metrics see it (after preprocessing is fitted).

    ``n_outputs``: 1 for binary and regression, number of classes for multiclass.
    ``classes``: class labels (multiclass, as strings) in index order; for binary the
    negative/positive display names.
    """

    name: str
    kind: TaskKind
    n_outputs: int = 1
    classes: list[str] = field(default_factory=list)
    column: str = ""
    positive: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TaskInfo":
        return cls(**d)


@dataclass
class FeatureSpec:
    """The model's input schema: embedded categorical/id fields and numeric fields.

    ``cat_cardinalities[i]`` is the vocabulary size of field ``cat_names[i]`` INCLUDING the
    reserved index 0 for unknown/missing values. Encoded categorical values are in
    ``[0, cardinality)``.
    """

    cat_names: list[str] = field(default_factory=list)
    cat_cardinalities: list[int] = field(default_factory=list)
    num_names: list[str] = field(default_factory=list)
    #: how numeric fields enter the models (``preprocess.numeric_encoding``) and, for ``ple``,
    #: each field's quantile bin edges fitted on the training split
    num_encoding: str = "scalar"
    num_bins: list[list[float]] = field(default_factory=list)

    @property
    def n_cat(self) -> int:
        return len(self.cat_names)

    @property
    def n_num(self) -> int:
        return len(self.num_names)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureSpec":
        return cls(**d)


@dataclass
class EncodedSplit:
    """One split after preprocessing, as numpy arrays ready to become tensors.

    - ``cat``: int32 ``[n, n_cat]`` (0 = unknown/missing)
    - ``num``: float32 ``[n, n_num]`` (finite)
    - ``labels``: task name -> float32 ``[n]``; NaN marks a missing label (masked out of
      that task's loss). Binary: 0/1. Regression: scaled target (see the preprocessor's
      ``inverse_target``). Multiclass: class index as float.
    - ``index``: positions of these rows in the frame given to ``transform`` (rows dropped
      by cleaning are absent).
    - ``text``: free-text column -> its sparse TF-IDF ``[n, terms]`` (training vocabulary),
      or None without text features; the scikit-learn baseline reads it instead of the
      dense TF-IDF -> SVD columns in ``num``.
    """

    cat: np.ndarray
    num: np.ndarray
    labels: dict[str, np.ndarray]
    index: np.ndarray
    text: dict[str, Any] | None = None

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def label_matrix(self, task_names: list[str]) -> np.ndarray:
        """Labels as float32 ``[n, T]`` in the given task order (NaN = missing)."""
        if not task_names:
            return np.zeros((len(self), 0), dtype=np.float32)
        return np.stack([self.labels[t].astype(np.float32) for t in task_names], axis=1)
