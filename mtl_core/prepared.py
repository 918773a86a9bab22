"""What ``pipeline.prepare`` hands to training and evaluation: the data, its schema and tasks,
the split, the fitted preprocessing and the encoded splits (``Prepared``), and how it is
assembled from them on every torchrun rank (``assemble``)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import RunConfig
from .errors import DataError
from .types import EncodedSplit, FeatureSpec, TaskInfo, TaskSpec


@dataclass
class Prepared:
    config: RunConfig
    df: pd.DataFrame
    schema: object  # schema.Schema
    tasks: list[TaskSpec]
    cat_cols: list[str]
    num_cols: list[str]
    user_col: str | None
    item_col: str | None
    time_col: str | None
    splits: dict[str, np.ndarray]
    preprocessor: object  # data.preprocessing.Preprocessor
    encoded: dict[str, EncodedSplit]
    split_report: dict = field(default_factory=dict)
    shard: dict = field(default_factory=dict)  # training.shards.shard_facts: this rank's share under torchrun
    #: what depends on the data and split only (the boosting reference's predictions, the
    #: recommendation tables), computed once: the tuner's trials share it
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def task_infos(self) -> list[TaskInfo]:
        return self.preprocessor.task_infos_

    @property
    def features(self) -> FeatureSpec:
        return self.preprocessor.feature_spec_


def assemble(config: RunConfig, df, ctx: dict, splits, pre, encoded, shard, ranks) -> Prepared:
    """The ``Prepared`` of the encoded splits (``ctx``: schema, tasks, drop, explicit, notes)."""
    from .data.usage import column_usage

    schema, tasks = ctx["schema"], ctx["tasks"]
    cat_cols, num_cols = list(pre.cat_cols), list(pre.num_cols)
    if len(encoded["train"]) == 0:
        raise DataError("Cleaning removed every training row; choose another missing-value strategy than 'drop'.")
    if len(encoded["test"]) == 0 and ranks.rank == 0:
        raise DataError("The test split is empty; use more rows or a larger test fraction.")
    report = {**split_report(encoded, pre.task_infos_), "notes": ctx["notes"]}
    report["sizes"]["train"] = shard["train_rows_all"]
    df = df if ranks.rank == 0 else df.iloc[:0]  # only rank 0 evaluates and saves from the raw rows
    report["columns"] = column_usage(schema, tasks, ctx["drop"], config.preprocess.text_dims,
                                     config.preprocess.time_features, ticked=ctx["explicit"])
    return Prepared(config, df, schema, tasks, cat_cols, num_cols, schema.user_col, schema.item_col, schema.time_col,
                    splits, pre, encoded, report, shard)


def split_report(encoded: dict[str, EncodedSplit], tasks: list[TaskInfo]) -> dict:
    sizes = {n: len(e) for n, e in encoded.items()}
    rates: dict = {}
    for n, e in encoded.items():
        rates[n] = {}
        for t in tasks:
            y = e.labels[t.name]
            y = y[~np.isnan(y)]
            if t.kind == "binary":
                rates[n][t.name] = float(y.mean()) if y.size else None
            elif t.kind == "multiclass":
                rates[n][t.name] = {t.classes[int(k)]: float(np.mean(y == k)) for k in range(len(t.classes))} if y.size else None
            else:
                rates[n][t.name] = None
    return {"sizes": sizes, "label_rates": rates}
