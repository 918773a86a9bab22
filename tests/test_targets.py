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
from mtl_core.errors import ConfigError, DataError
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


# --------------------------------------------------------------------------- issue 11: tasks as users mean them
def test_threshold_labels_cli_syntax_and_encoding():
    from mtl_core.data.schema import parse_task_spec, resolve_tasks, task_target

    df = pd.DataFrame({"rating": [5.0, 4.0, 3.0, np.nan, 1.0]})
    cases = {"rating:binary>=4": [1, 1, 0, np.nan, 0], "rating>4": [1, 0, 0, np.nan, 0],
             "rating<=3": [0, 0, 1, np.nan, 1], "rating:binary < 2.5": [0, 0, 0, np.nan, 1],
             "rating:binary=5": [1, 0, 0, np.nan, 0]}  # '=5' on a column of 5.0
    for text, want in cases.items():
        spec = resolve_tasks(df, [parse_task_spec(text)])[0]
        assert spec.kind == "binary" and spec.key == "rating"
        np.testing.assert_array_equal(task_target(df["rating"], spec), np.array(want, dtype=np.float32))
    assert resolve_tasks(df, [parse_task_spec("rating>=4.0")])[0].positive == ">=4"
    with pytest.raises(ConfigError, match="binary"):
        parse_task_spec("rating:regression>=4")
    with pytest.raises(DataError, match="one class"):
        resolve_tasks(df, [parse_task_spec("rating>=6")])
    with pytest.raises(DataError, match="text"):
        resolve_tasks(pd.DataFrame({"c": ["a", "b", "c"]}), [parse_task_spec("c>=1")])


def test_threshold_label_is_fitted_and_used_by_is_positive():
    from mtl_core.data.preprocessing.labels import fit_task
    from mtl_core.types import TaskSpec

    s = pd.Series([1, 2, 3, 4, 5], name="rating")
    info, _ = fit_task(s, TaskSpec("rating", "binary", ">=4"), scale_targets=False)
    assert info.classes == ["<4", ">=4"] and info.positive == ">=4"
    assert targets.is_positive(s, ">=4").tolist() == [False, False, False, True, True]
    with pytest.raises(DataError, match="one class"):
        fit_task(pd.Series([1, 2], name="rating"), TaskSpec("rating", "binary", ">=4"), scale_targets=False)


def test_one_class_with_missing_and_constant_regression_are_refused():
    from mtl_core.data.schema import infer_schema, parse_task_spec, resolve_tasks

    df = pd.DataFrame({"liked": [1, np.nan, 1, np.nan], "c": [2.0, 2.0, 2.0, 2.0], "y": [1.0, 2.5, 3.0, 4.5]})
    for text in ("liked", "liked:binary=1", "liked:binary"):
        with pytest.raises(DataError, match="missing values"):
            resolve_tasks(df, [parse_task_spec(text)])
    with pytest.raises(DataError, match="constant"):
        resolve_tasks(df, [parse_task_spec("c:regression")])
    assert resolve_tasks(df, [parse_task_spec("y")])[0].kind == "regression"
    schema = infer_schema(df)
    assert next(c for c in schema.columns if c.name == "liked").label_kind is None  # not "regression on a constant"


def test_suggested_tasks_prefer_outcomes_over_attributes():
    from mtl_core.data.schema import infer_schema, suggest_tasks

    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"user_id": rng.integers(0, 50, n), "movie_id": rng.integers(0, 80, n),
                       "gender": rng.choice(["M", "F"], n), "age": rng.choice([1, 18, 25, 35, 45, 50, 56], n),
                       "occupation": rng.integers(0, 21, n), "country": rng.choice(["fr", "de"], n),
                       "rating": rng.integers(1, 6, n).astype(float), "like": rng.integers(0, 2, n)})
    assert suggest_tasks(infer_schema(df)) == ["like", "rating"]
    assert suggest_tasks(infer_schema(df[["user_id", "gender", "country"]])) == ["gender", "country"]  # nothing else
