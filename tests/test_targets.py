"""data.targets: one rule for task kinds and positive classes, and every caller agrees on it
(schema resolution, the preprocessor fitted on train, the Data page's label balance)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import PreprocessConfig
from mtl_core.data import targets
from mtl_core.data.preprocessing import Preprocessor
from mtl_core.data.schema import infer_schema, resolve_tasks
from mtl_core.errors import DataError
from mtl_core.types import TaskSpec


def _counts(values) -> pd.Series:
    return pd.Series(values).value_counts().sort_index()


@pytest.mark.parametrize("values,positive", [
    (["no"] * 3 + ["Yes"], "Yes"),
    (["TRUE"] + ["false"] * 3, "TRUE"),
    (["y", "n", "n"], "y"),
    (["f", "t", "f"], "t"),
    (["negative", "positive", "positive"], "positive"),  # a yes word wins even when frequent
    (["0", "1", "1"], "1"),
    (["-1", "1", "1"], "1"),
    (["3", "7", "3"], "7"),
    (["churned", "not churned", "not churned", "churned"], "churned"),
    (["smoker", "non-smoker", "non-smoker"], "smoker"),
    (["active"] * 7 + ["Churned"] * 3, "Churned"),  # no rule applies: the rarer value
    (["- 50000."] * 9 + ["50000+."], "50000+."),
    (["a", "b"], "b"),  # a tie: the later one
])
def test_positive_class_rules(values, positive):
    assert targets.positive_class(_counts(values)) == positive


def test_positive_of_one_value():
    assert targets.positive_class(_counts(["yes", "yes"])) == "yes"
    assert targets.positive_class(_counts(["0", "0"])) is None


@pytest.mark.parametrize("values,kind", [
    ([0, 1, 1, 0], "binary"),
    (["a", "b", "a"], "binary"),
    ([1, 2, 3, 4] * 3, "multiclass"),
    ([1.0, 2.0, 3.0, 4.0, np.nan] * 3, "multiclass"),  # an integer column with a missing value
    ([0.5, 1.5, 2.5, 3.5] * 3, "regression"),
    (list(range(30)), "regression"),
    (["x", "y", "z"], "multiclass"),
])
def test_kind_rules(values, kind):
    assert targets.infer_kind(pd.Series(values, name="c")) == kind


def test_kind_refusals_are_one_sentence():
    with pytest.raises(DataError, match="single value"):
        targets.infer_kind(pd.Series(["a", "a"], name="c"))
    with pytest.raises(DataError, match="150 distinct non-numeric values"):
        targets.infer_kind(pd.Series([f"v{i}" for i in range(150)], name="c"))


def _churn_frame(n=200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "cat": rng.choice(["a", "b"], n),
        "x": rng.normal(size=n),
        "status": np.where(np.arange(n) % 10 < 3, "Churned", "active"),
        "level": rng.choice([1.0, 2.0, 3.0, 4.0], n),
    })


def test_schema_preprocessor_and_label_balance_agree_on_the_positive():
    """The Data page's label balance (schema + targets on the whole table) and the labels the
    model learns (the preprocessor fitted on train) count the same class as positive."""
    df = _churn_frame()
    spec = resolve_tasks(df, [TaskSpec("status")])[0]
    assert spec.positive == "Churned"
    page_rate = float(np.nanmean(targets.binary_labels(df["status"], spec.positive)))
    assert page_rate == pytest.approx(0.3)
    for task in (spec, TaskSpec("status")):  # resolved, or left to the preprocessor
        pre = Preprocessor(PreprocessConfig(), ["cat"], ["x"], [task])
        enc = pre.fit_transform(df)
        assert pre.task_infos_[0].positive == "Churned"
        assert float(enc.labels["status"].mean()) == pytest.approx(page_rate)


def test_schema_and_preprocessor_agree_on_the_kind():
    df = _churn_frame()
    kind = resolve_tasks(df, [TaskSpec("level")])[0].kind
    pre = Preprocessor(PreprocessConfig(), ["cat"], ["x"], [TaskSpec("level")]).fit(df)
    assert kind == pre.task_infos_[0].kind == "multiclass"
    assert {c.name: c for c in infer_schema(df.rename(columns={"level": "label"})).columns}["label"].label_kind == kind


def test_is_positive_compares_by_key():
    np.testing.assert_array_equal(targets.is_positive(pd.Series([" yes", "no", None, "yes"]), "yes"),
                                  [True, False, False, True])
    np.testing.assert_array_equal(targets.is_positive(pd.Series([1.0, 0.0, np.nan]), "1"), [True, False, False])
    np.testing.assert_array_equal(targets.is_positive(pd.Series(["1", "0"]), "1.0"), [True, False])
