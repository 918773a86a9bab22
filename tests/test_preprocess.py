import json

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import PreprocessConfig
from mtl_core.errors import DataError
from mtl_core.data.preprocessing import Preprocessor
from mtl_core.types import EncodedSplit, TaskSpec

TASKS = [TaskSpec("click"), TaskSpec("price_paid", "regression")]


def _train(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "cat": rng.choice(["a", "b", "c"], n),
        "x": rng.normal(10, 2, n),
        "click": rng.integers(0, 2, n),
        "price_paid": rng.normal(50, 5, n),
    })


def _pp(**cfg):
    return Preprocessor(PreprocessConfig(**cfg), ["cat"], ["x"], TASKS)


def test_shapes_and_types():
    df = _train()
    enc = _pp().fit_transform(df)
    assert isinstance(enc, EncodedSplit)
    assert enc.cat.dtype == np.int32 and enc.cat.shape == (200, 1)
    assert enc.num.dtype == np.float32 and enc.num.shape == (200, 1)
    assert set(enc.labels) == {"click", "price_paid"}
    assert all(v.dtype == np.float32 for v in enc.labels.values())
    np.testing.assert_array_equal(enc.index, np.arange(200))


def test_transform_before_fit():
    with pytest.raises(RuntimeError, match="fit"):
        _pp().transform(_train())


def test_init_only_stores():
    p = _pp()
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(p))


def test_statistics_from_train_only_no_leak():
    train = _train()
    test = _train(50, seed=1)
    test["x"] = 1e9  # huge values in the test split
    test["cat"] = "zzz_unseen"
    test.loc[:4, "x"] = np.nan
    p = _pp(missing="mean", scaling="zscore").fit(train)
    mean, sd = train["x"].mean(), train["x"].std(ddof=0)
    before = json.dumps(p.to_dict(), sort_keys=True)
    enc_test = p.transform(test)
    assert json.dumps(p.to_dict(), sort_keys=True) == before  # transform never refits
    assert p.scaler_.mean_[0] == pytest.approx(mean)
    assert p.scaler_.scale_[0] == pytest.approx(sd)
    # missing test values take the TRAIN mean -> scaled value 0
    np.testing.assert_allclose(enc_test.num[:5, 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(enc_test.num[5:, 0], (1e9 - mean) / sd, rtol=1e-5)
    assert (enc_test.cat == 0).all()  # unseen category -> 0
    # fitting on train+test would change the statistics: this test would catch a leak
    p_leak = _pp(missing="mean").fit(pd.concat([train, test], ignore_index=True))
    assert p_leak.scaler_.mean_[0] != pytest.approx(mean)


def test_categorical_encoding_rare_missing_and_string_compare():
    df = pd.DataFrame({
        "cat": ["a", "a", "a", "b", "b", " a ", None, "rare", "b", "a"],
        "num_cat": [1, 1, 2, 2, 1, 1, 2, 1, 1, 2],
        "x": np.arange(10.0),
        "click": [0, 1] * 5,
        "price_paid": np.arange(10.0),
    })
    p = Preprocessor(PreprocessConfig(min_frequency=2), ["cat", "num_cat"], ["x"], TASKS).fit(df)
    assert p.feature_spec_.cat_names == ["cat", "num_cat"]
    assert p.feature_spec_.cat_cardinalities == [3, 3]  # {0, a, b}, {0, 1, 2}
    enc = p.transform(df)
    a = enc.cat[0, 0]
    assert a >= 1 and enc.cat[5, 0] == a  # " a " == "a"
    assert enc.cat[6, 0] == 0 and enc.cat[7, 0] == 0  # missing, rare
    other = pd.DataFrame({"cat": ["b", "new"], "num_cat": ["1", 2.0], "x": [1.0, 2.0],
                          "click": [0, 1], "price_paid": [1.0, 2.0]})
    e2 = p.transform(other)
    assert e2.cat[0, 0] == enc.cat[3, 0] and e2.cat[1, 0] == 0
    assert e2.cat[0, 1] == enc.cat[0, 1]  # "1" == 1
    assert e2.cat[1, 1] == enc.cat[2, 1]  # 2.0 == 2
    assert (enc.cat < np.array(p.feature_spec_.cat_cardinalities)).all()


X_WITH_GAPS = [1.0, np.nan, 3.0, 10.0, np.nan, np.inf, 5.0, np.nan]


@pytest.mark.parametrize("strategy,expected", [
    ("mean", [1, 4.75, 3, 10, 4.75, 4.75, 5, 4.75]),
    ("median", [1, 4, 3, 10, 4, 4, 5, 4]),
    ("most_frequent", [1, 1, 3, 10, 1, 1, 5, 1]),
    ("constant", [1, -7, 3, 10, -7, -7, 5, -7]),
    # interpolation in row order; the trailing gap takes the train median
    ("interpolate", [1, 2, 3, 10, 10 - 5 / 3, 10 - 10 / 3, 5, 4]),
])
def test_missing_strategies(strategy, expected):
    df = pd.DataFrame({"cat": "a", "x": X_WITH_GAPS, "click": [0, 1] * 4, "price_paid": 1.0})
    p = _pp(missing=strategy, fill_value=-7.0, scaling="none")
    enc = p.fit_transform(df)
    np.testing.assert_allclose(enc.num[:, 0], expected, rtol=1e-6)
    assert p.report_["columns"]["x"]["imputed"] == 4
    assert p.report_["columns"]["x"]["non_finite"] == 1


def test_interpolate_ordered_by_time():
    df = pd.DataFrame({"cat": "a", "x": [10.0, np.nan, 0.0], "t": ["2024-01-03", "2024-01-01", "2024-01-02"],
                       "click": [0, 1, 0], "price_paid": 1.0})
    p = Preprocessor(PreprocessConfig(missing="interpolate", scaling="none"), ["cat"], ["x"], TASKS, time_col="t")
    enc = p.fit_transform(df)
    # the gap is the earliest row -> leading gap -> train median of [10, 0] = 5
    assert enc.num[1, 0] == pytest.approx(5.0)
    gap = pd.DataFrame({"cat": "a", "x": [1.0, np.nan, 3.0, 4.0], "t": [1, 2, 3, 4], "click": [0, 1, 0, 1],
                        "price_paid": 1.0})
    np.testing.assert_allclose(p.fit_transform(gap).num[:, 0], [1, 2, 3, 4])  # between training neighbours


def test_interpolate_never_fills_other_splits_from_their_own_rows():
    """Validation/test gaps take the last training value (time order), not their neighbours
    (rows from the future under a temporal split)."""
    train = pd.DataFrame({"cat": "a", "x": [1.0, 5.0, 2.0, np.nan], "t": [1, 4, 2, 3],
                          "click": [0, 1, 0, 1], "price_paid": 1.0})
    test = pd.DataFrame({"cat": "a", "x": [100.0, np.nan, 300.0], "t": [5, 6, 7], "click": [0, 1, 0],
                         "price_paid": 1.0})
    p = Preprocessor(PreprocessConfig(missing="interpolate", scaling="none"), ["cat"], ["x"], TASKS, time_col="t")
    enc = p.fit_transform(train)
    assert enc.num[3, 0] == pytest.approx(3.5)  # t=3 between t=2 (2.0) and t=4 (5.0), all training rows
    out = p.transform(test)
    assert out.num[1, 0] == pytest.approx(5.0)  # the last training value (t=4), not 200 from the test rows
    q = Preprocessor.from_dict(json.loads(json.dumps(p.to_dict())))
    assert q.transform(test).num[1, 0] == pytest.approx(5.0)
    # without a time column: the training median, never the split's own neighbours
    p2 = Preprocessor(PreprocessConfig(missing="interpolate", scaling="none"), ["cat"], ["x"], TASKS)
    p2.fit(train)
    assert p2.transform(test).num[1, 0] == pytest.approx(2.0)


def test_drop_missing_rows_and_index():
    df = pd.DataFrame({"cat": ["a", "b", None, "a", "b"], "x": [1.0, np.nan, 3.0, 4.0, 5.0],
                       "click": [0, 1, 0, 1, 0], "price_paid": [1.0, 2, 3, 4, 5]})
    p = _pp(missing="drop", scaling="none")
    enc = p.fit_transform(df)
    np.testing.assert_array_equal(enc.index, [0, 3, 4])
    np.testing.assert_allclose(enc.num[:, 0], [1, 4, 5])
    np.testing.assert_allclose(enc.labels["click"], [0, 1, 0])
    assert p.report_["rows_dropped"] == 2
    assert p.report_["columns"]["x"]["dropped"] == 1


def _outlier_frame():
    x = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100])
    return pd.DataFrame({"cat": "a", "x": x, "click": [0, 1] * 5, "price_paid": 1.0})


def test_outliers_iqr_clip():
    df = _outlier_frame()
    q1, q3 = np.percentile(df["x"], [25, 75])
    hi = q3 + 1.5 * (q3 - q1)
    p = _pp(outliers="iqr", scaling="none")
    enc = p.fit_transform(df)
    assert enc.num[-1, 0] == pytest.approx(hi)
    np.testing.assert_allclose(enc.num[:-1, 0], df["x"][:-1])
    assert p.report_["columns"]["x"]["clipped"] == 1


def test_outliers_zscore_clip():
    df = _outlier_frame()
    mu, sd = df["x"].mean(), df["x"].std(ddof=0)
    p = _pp(outliers="zscore", z_threshold=1.0, scaling="none")
    enc = p.fit_transform(df)
    assert enc.num[-1, 0] == pytest.approx(mu + sd, rel=1e-6)
    assert enc.num[0, 0] == pytest.approx(1.0)


def test_outliers_drop_train_only():
    df = _outlier_frame()
    p = _pp(outliers="drop", scaling="none")
    enc = p.fit_transform(df)
    assert len(enc) == 9 and 9 not in enc.index
    enc2 = p.transform(df)  # other splits: clipped, never dropped
    assert len(enc2) == 10
    assert enc2.num[-1, 0] == pytest.approx(p.num_state_["x"]["hi"])


def test_outliers_per_column_none():
    df = _outlier_frame()
    p = Preprocessor(PreprocessConfig(outliers="iqr", outliers_per_column={"x": "none"}, scaling="none"),
                     ["cat"], ["x"], TASKS)
    assert p.fit_transform(df).num[-1, 0] == 100.0


@pytest.mark.parametrize("scaling", ["none", "minmax", "zscore", "robust"])
def test_scalers(scaling):
    x = np.array([1.0, 2, 3, 4, 10])
    df = pd.DataFrame({"cat": "a", "x": x, "click": [0, 1, 0, 1, 0], "price_paid": 1.0})
    enc = _pp(scaling=scaling).fit_transform(df)
    expected = {
        "none": x,
        "minmax": (x - 1) / 9,
        "zscore": (x - x.mean()) / x.std(),
        "robust": (x - 3) / (4 - 2),
    }[scaling]
    np.testing.assert_allclose(enc.num[:, 0], expected, rtol=1e-6)


def test_regression_target_scaling_and_inverse():
    df = _train()
    p = _pp()
    enc = p.fit_transform(df)
    y = enc.labels["price_paid"]
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1) < 1e-3
    np.testing.assert_allclose(p.inverse_target("price_paid", y), df["price_paid"], rtol=1e-5)
    p2 = _pp(scale_targets=False)
    np.testing.assert_allclose(p2.fit_transform(df).labels["price_paid"], df["price_paid"], rtol=1e-6)


def test_binary_labels_positive_and_words():
    df = pd.DataFrame({"cat": "a", "x": 1.0, "click": ["yes", "no", None, "yes "],
                       "status": ["paid", "open", "refund", "paid"], "price_paid": 1.0})
    tasks = [TaskSpec("click"), TaskSpec("status", "binary", positive="paid", name="paid")]
    p = Preprocessor(PreprocessConfig(), ["cat"], ["x"], tasks)
    enc = p.fit_transform(df)
    np.testing.assert_array_equal(enc.labels["click"][[0, 1, 3]], [1, 0, 1])
    assert np.isnan(enc.labels["click"][2])
    np.testing.assert_array_equal(enc.labels["paid"], [1, 0, 0, 1])
    info = {i.name: i for i in p.task_infos_}
    assert info["click"].classes == ["no", "yes"] and info["click"].positive == "yes"
    assert info["paid"].classes[1] == "paid"


def test_one_class_binary_is_data_error():
    df = _train()
    df["click"] = 0
    with pytest.raises(DataError, match=r"task 'click' has only one class \(0\) in the training split"):
        _pp().fit(df)


def test_multiclass_labels_unseen_class_nan():
    df = pd.DataFrame({"cat": "a", "x": 1.0, "seg": ["b", "a", "c", "a"], "price_paid": 1.0})
    p = Preprocessor(PreprocessConfig(), ["cat"], ["x"], [TaskSpec("seg", "multiclass")])
    enc = p.fit_transform(df)
    assert p.task_infos_[0].classes == ["a", "b", "c"] and p.task_infos_[0].n_outputs == 3
    np.testing.assert_array_equal(enc.labels["seg"], [1, 0, 2, 0])
    other = df.assign(seg=["c", "zzz", None, "b"])
    lab = p.transform(other).labels["seg"]
    assert lab[0] == 2 and np.isnan(lab[1]) and np.isnan(lab[2]) and lab[3] == 1


def test_text_in_numeric_column_is_data_error():
    df = _train(10)
    df["x"] = ["abc", "def", "1", "ghi", "jkl", "mno", "2", "pqr", "stu", "vwx"]
    with pytest.raises(DataError, match=r"column 'x' has text like '(abc|def|ghi)'"):
        _pp().fit(df)


def test_numeric_strings_are_coerced():
    df = _train(10)
    df["x"] = [" 1", "2", "3.5", "oops", "5", "6", "7", "8", "9", "10"]
    p = _pp(scaling="none", missing="median")
    enc = p.fit_transform(df)
    assert enc.num[3, 0] == pytest.approx(6.0)
    assert p.report_["columns"]["x"]["text_coerced"] == 1


def test_to_dict_round_trip_identical():
    df = _train(300)
    df.loc[::13, "x"] = np.nan
    tasks = TASKS + [TaskSpec("cat", "multiclass", name="cat_task")]
    p = Preprocessor(PreprocessConfig(missing="interpolate", outliers="iqr", scaling="robust"),
                     ["cat"], ["x"], tasks, time_col=None)
    enc = p.fit_transform(df)
    d = json.loads(json.dumps(p.to_dict()))
    q = Preprocessor.from_dict(d)
    other = _train(100, seed=5)
    other.loc[::3, "x"] = np.nan
    for frame in (df, other):
        a, b = p.transform(frame), q.transform(frame)
        np.testing.assert_array_equal(a.cat, b.cat)
        np.testing.assert_array_equal(a.num, b.num)
        np.testing.assert_array_equal(a.index, b.index)
        for k in a.labels:
            np.testing.assert_array_equal(a.labels[k], b.labels[k])
    assert q.feature_spec_ == p.feature_spec_
    assert [i.to_dict() for i in q.task_infos_] == [i.to_dict() for i in p.task_infos_]
    np.testing.assert_allclose(q.inverse_target("price_paid", enc.labels["price_paid"]),
                               p.inverse_target("price_paid", enc.labels["price_paid"]))


def test_num_always_finite_on_many_rows():
    rng = np.random.default_rng(0)
    n = 20_000
    df = pd.DataFrame({
        "cat": rng.integers(0, 5_000, n).astype(str),
        "x": rng.normal(size=n),
        "click": rng.integers(0, 2, n),
        "price_paid": rng.normal(size=n),
    })
    df.loc[::10, "x"] = np.inf
    df.loc[1, "x"] = 1e308
    enc = _pp().fit(df).transform(df)
    assert np.isfinite(enc.num).all()


def test_text_in_a_numeric_column_of_new_rows_becomes_missing_not_an_error():
    """Fitting refuses a text column used as numbers; new rows (validation, test, a user's
    candidate items) with a stray text value are imputed like any missing value."""
    train = pd.DataFrame({"cat": ["a", "b", "a", "b"], "x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    p = Preprocessor(PreprocessConfig(missing="median", scaling="none"), ["cat"], ["x"], [TaskSpec("y", "binary")])
    p.fit(train)
    new = pd.DataFrame({"cat": ["a", "a"], "x": ["oops", "5"], "y": [0, 1]})
    enc = p.transform(new)
    np.testing.assert_allclose(enc.num[:, 0], [2.5, 5.0])
    with pytest.raises(DataError, match="text like 'oops'"):
        Preprocessor(PreprocessConfig(), ["cat"], ["x"], [TaskSpec("y", "binary")]).fit(
            pd.DataFrame({"cat": ["a", "b", "a"], "x": ["oops", "bad", "1"], "y": [0, 1, 0]}))


def test_a_saved_first_format_state_still_loads():
    """preprocessor.json of runs saved before the scikit-learn scalers (format 1: the scaler
    as center/scale lists, onehot_max_categories in the config) reads and encodes the same."""
    df = _train(120)
    for scaling in ("zscore", "minmax", "robust"):
        p = _pp(scaling=scaling)
        p.fit(df)
        d = json.loads(json.dumps(p.to_dict()))
        attrs = d["state"]["scaler"]
        center, scale = {"zscore": ("mean_", "scale_"), "robust": ("center_", "scale_"),
                         "minmax": ("data_min_", "data_range_")}[scaling]
        d["state"]["scaler"] = {"center": attrs[center], "scale": attrs[scale]}
        d["format_version"] = 1
        d["config"]["onehot_max_categories"] = 0
        old = Preprocessor.from_dict(d)
        np.testing.assert_allclose(old.transform(df).num, p.transform(df).num, rtol=1e-6, atol=1e-6)


def test_onehot_max_categories_is_gone_but_old_configs_load():
    from mtl_core.config import RunConfig
    from mtl_core.errors import ConfigError

    assert not hasattr(PreprocessConfig(), "onehot_max_categories")
    cfg = RunConfig.from_dict({"data": {"tasks": ["click"]}, "preprocess": {"onehot_max_categories": 5, "missing": "mean"}})
    assert cfg.preprocess.missing == "mean" and "onehot_max_categories" not in cfg.to_dict()["preprocess"]
    with pytest.raises(ConfigError, match="onehot_max_categoriez"):
        RunConfig.from_dict({"data": {"tasks": ["click"]}, "preprocess": {"onehot_max_categoriez": 5}})


# --------------------------------------------------------------------------- text and time features
def _reviews(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    good = ["great", "love", "excellent", "perfect", "happy"]
    bad = ["broken", "awful", "refund", "poor", "disappointed"]
    filler = ["the", "item", "arrived", "with", "box", "colour", "size", "fits"]
    y = rng.integers(0, 2, n)
    words = [" ".join(rng.choice(filler, 5).tolist() + rng.choice(good if v else bad, 2).tolist()) for v in y]
    t = 1_600_000_000 + np.sort(rng.integers(0, 90 * 86400, n))
    return pd.DataFrame({"review": words, "user": rng.integers(0, 30, n).astype(str),
                         "item": rng.integers(0, 20, n).astype(str), "ts": t, "liked": y})


def _text_time_pp(**cfg) -> Preprocessor:
    return Preprocessor(PreprocessConfig(**cfg), ["user"], [], [TaskSpec("liked", "binary")], time_col="ts",
                        text_cols=["review"], user_col="user", item_col="item")


def test_text_and_time_features_are_learnt_from_train_only_and_restored_from_json():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    train, test = _reviews(400, 0), _reviews(200, 1)
    pp = _text_time_pp(text_dims=8)
    enc = pp.fit_transform(train)
    names = pp.feature_spec_.num_names
    assert [n for n in names if n.startswith("review:")] == [f"review:text{i}" for i in range(8)]
    assert {"ts:hour", "ts:weekday", "ts:month", "ts:days_since_user_first_seen", "ts:days_since_item_first_seen"} <= set(names)
    assert enc.num.shape == (400, len(names)) and np.isfinite(enc.num).all()
    # the text features carry the label: a linear model on them separates the test rows
    te = pp.transform(test)
    text_idx = [i for i, n in enumerate(names) if n.startswith("review:")]
    clf = LogisticRegression().fit(enc.num[:, text_idx], enc.labels["liked"])
    assert roc_auc_score(te.labels["liked"], clf.predict_proba(te.num[:, text_idx])[:, 1]) > 0.9
    # train only: a word seen only in the test rows changes nothing; the vocabulary is train's
    shifted = test.assign(review=test["review"] + " zzzunseen")
    np.testing.assert_allclose(pp.transform(shifted).num, te.num, rtol=1e-6)
    assert "zzzunseen" not in pp.text_state_["review"]["vocabulary"]
    first = dict(zip(pp.time_state_["first_user"]["keys"], pp.time_state_["first_user"]["times"]))
    assert first == train.groupby("user")["ts"].min().astype(float).to_dict()
    # the JSON state (no pickle) restores identical features
    back = Preprocessor.from_dict(json.loads(json.dumps(pp.to_dict())))
    np.testing.assert_array_equal(back.transform(test).num, te.num)
    # a missing text/time column (e.g. a recommendation candidate frame) gives the training mean
    assert np.isfinite(pp.transform(test.drop(columns=["review", "ts"])).num).all()


def test_text_and_time_features_can_be_turned_off():
    train = _reviews(120, 0)
    pp = _text_time_pp(text_dims=0, time_features=False)
    pp.fit(train)
    assert pp.feature_spec_.num_names == []
    counter = train.assign(ts=np.arange(len(train)))  # a step counter, not dates: recency only
    pp = _text_time_pp(text_dims=4)
    pp.fit(counter)
    assert "ts:hour" not in pp.feature_spec_.num_names and "ts:units_since_user_first_seen" in pp.feature_spec_.num_names
