"""Preparation at scale (issue 15): integer columns are counted and looked up by value,
codes are written by row blocks, and a caller's schema is reused -- each gives exactly the
encodings, vocabularies and roles of the general path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import PreprocessConfig, RunConfig, SplitConfig
from mtl_core.data import schema as schema_mod
from mtl_core.data.compact import fill_columns
from mtl_core.data.keys import factorize_keys, key_counts, lookup
from mtl_core.data.preprocessing import Preprocessor, categorical
from mtl_core.pipeline import prepare
from mtl_core.types import TaskSpec


def _general_codes(s: pd.Series, vocab: list[str]) -> np.ndarray:
    """The key path (factorise, text keys, index lookup) every column took before."""
    codes, keys = factorize_keys(s)
    return lookup(codes, keys, pd.Index(vocab, dtype=object)) + 1


INT_COLUMNS = {
    "int8 at both bounds": np.array([-128, 127, 0, 5, -128, 3, 127, 127], dtype=np.int8),
    "narrow ids": np.random.default_rng(0).integers(100_000, 100_400, 5000).astype(np.int32),
    "negative": np.random.default_rng(1).integers(-50, 50, 3000),
    "uint16": np.random.default_rng(2).integers(0, 60_000, 3000).astype(np.uint16),
    "wide span (sorted search)": np.random.default_rng(3).choice(np.array([-(2**60), 7, 2**40, 2**62]), 4000),
}


@pytest.mark.parametrize("name", list(INT_COLUMNS))
def test_integer_counts_and_codes_match_the_key_path(name):
    x = INT_COLUMNS[name]
    train, other = pd.Series(x[: len(x) // 2]), pd.Series(x[len(x) // 2:])
    for min_freq in (1, 3):
        vocab, report = categorical.fit_vocabulary(train, "c", min_freq, 10**9)
        ref = key_counts(train)
        kept = ref[ref >= min_freq]
        order = np.lexsort((kept.index.to_numpy(dtype=object).astype(str), -kept.to_numpy()))
        assert vocab == [str(k) for k in kept.index.to_numpy(dtype=object)[order]]
        assert report["rare"] == int(ref[ref < min_freq].sum()) and report["missing"] == 0
        look = categorical.Lookup(vocab)
        for s in (train, other):
            got = look.encode(s)
            np.testing.assert_array_equal(got, _general_codes(s, vocab))
            if min_freq == 3:
                assert (got == 0).any() or len(vocab) == len(key_counts(train))


def test_lookup_by_value_ignores_keys_no_integer_has():
    # "007", "-0" and "a" are keys no integer value has; unseen and out-of-range values get 0
    vocab = ["5", "007", "-0", "a", "-3", "0", "1000000"]
    s = pd.Series(np.array([5, 7, 0, -3, 1_000_000, 999, -10**9, 10**12], dtype=np.int64))
    got = categorical.Lookup(vocab).encode(s)
    np.testing.assert_array_equal(got, _general_codes(s, vocab))
    np.testing.assert_array_equal(got, [1, 0, 6, 5, 7, 0, 0, 0])
    assert categorical.Lookup([]).encode(s).tolist() == [0] * len(s)
    big = ["9223372036854775807", "9999999999999999999", "-9223372036854775808", "12"]  # one beyond int64
    s = pd.Series(np.array([2**63 - 1, -(2**63), 12, 5], dtype=np.int64))
    np.testing.assert_array_equal(categorical.Lookup(big).encode(s), [1, 3, 4, 0])
    assert not categorical.missing(s).any()


def test_fill_columns_equals_column_assignment():
    rng = np.random.default_rng(0)
    cols = [rng.integers(0, 1000, 1037) for _ in range(5)]
    out = np.full((1037, 7), -1, dtype=np.int32)
    fill_columns(out, 2, cols, block=100)
    assert (out[:, :2] == -1).all()
    np.testing.assert_array_equal(out[:, 2:], np.stack(cols, axis=1))


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": rng.integers(0, 400, n), "item_id": rng.integers(10**6, 10**6 + 150, n).astype(np.int32),
        "shop": rng.integers(-20, 20, n).astype(np.int8), "x": rng.normal(size=n), "y": rng.exponential(size=n),
        "click": rng.integers(0, 2, n)})


def test_preprocessor_encodes_integer_columns_like_their_text():
    """The integer fast paths against the key path on the same values written as text."""
    df = _frame()
    text = df.astype({c: str for c in ("user_id", "item_id", "shop")}).astype({c: object for c in ("user_id", "item_id", "shop")})
    encs = []
    for frame in (df, text):
        pre = Preprocessor(PreprocessConfig(min_frequency=2), ["user_id", "item_id", "shop"], ["x", "y"],
                           [TaskSpec(column="click", kind="binary")])
        train = pre.fit_transform(frame.iloc[:2000])
        encs.append((pre.cat_vocab_, pre.report_["categorical"], train, pre.transform(frame.iloc[2000:])))
    (v1, r1, tr1, te1), (v2, r2, tr2, te2) = encs
    assert v1 == v2 and r1 == r2
    for a, b in ((tr1, tr2), (te1, te2)):
        assert a.cat.dtype == np.int32 and a.cat.flags.c_contiguous
        np.testing.assert_array_equal(a.cat, b.cat)
        np.testing.assert_array_equal(a.num, b.num)
    assert (te1.cat == 0).any() and (te1.cat > 0).all(axis=0).sum() < 3  # rare/unseen values got 0


def test_prepare_reuses_the_given_schema(monkeypatch):
    cfg = RunConfig()
    cfg.data.tasks = ["click"]
    cfg.data.roles = {"shop": "numeric"}
    cfg.split = SplitConfig(method="random", train=0.6, val=0.2, test=0.2, seed=0)
    ref = prepare(cfg, _frame())
    df = _frame()
    given = schema_mod.infer_schema(df)
    calls = []
    real = schema_mod.infer_schema
    monkeypatch.setattr(schema_mod, "infer_schema", lambda *a, **k: calls.append(1) or real(*a, **k))
    prep = prepare(cfg, df, schema=given)
    assert calls == []  # not inferred again
    assert [(c.name, c.role) for c in prep.schema.columns] == [(c.name, c.role) for c in ref.schema.columns]
    assert prep.schema.role_of("shop").value == "numeric"  # the configuration's roles still apply
    assert prep.num_cols == ref.num_cols and prep.cat_cols == ref.cat_cols
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(prep.encoded[name].cat, ref.encoded[name].cat)
        np.testing.assert_array_equal(prep.encoded[name].num, ref.encoded[name].num)
    # a schema of other columns is not used
    prepare(cfg, _frame().drop(columns="y"), schema=given)
    assert calls == [1]


@pytest.mark.parametrize("options", [{}, {"missing": "drop", "outliers": "drop"},
                                     {"missing": "interpolate", "outliers": "iqr"}, {"missing": "mean", "scaling": "robust"}])
def test_fit_transform_reuses_the_fit_matrix_with_the_same_result(options):
    """fit_transform encodes the training rows with the matrix the fit cleaned; the result is
    what fitting and then encoding them again gives (rows dropped, gaps filled, clipping)."""
    df = _frame()
    df.loc[df.index[::7], "x"] = np.nan
    df.loc[df.index[::11], "y"] = 50.0  # outliers
    cols = (["user_id", "item_id", "shop"], ["x", "y"], [TaskSpec(column="click", kind="binary")])
    one = Preprocessor(PreprocessConfig(**options), *cols)
    a = one.fit_transform(df)
    two = Preprocessor(PreprocessConfig(**options), *cols).fit(df)
    b = two.transform_train(df)
    assert one.to_dict() == two.to_dict() and one.last_report_ == two.last_report_
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.cat, b.cat)
    np.testing.assert_array_equal(a.num, b.num)
    np.testing.assert_array_equal(a.labels["click"], b.labels["click"])
    if options.get("missing") == "drop":
        assert len(a) < len(df)


def test_rows_read_by_column_encode_like_a_copy_of_the_rows():
    from mtl_core.data.preprocessing.rows import Rows

    df = _frame()
    df.loc[df.index[::9], "x"] = np.nan
    pos = np.sort(np.random.default_rng(1).choice(len(df), 2000, replace=False))
    cols = (["user_id", "item_id", "shop"], ["x", "y"], [TaskSpec(column="click", kind="binary")])
    cfg = PreprocessConfig(missing="drop", outliers="iqr")
    one, two = Preprocessor(cfg, *cols), Preprocessor(cfg, *cols)
    view = one.rows(df, pos)
    assert isinstance(view, Rows) and len(view) == 2000 and len(view[np.arange(2000) < 5]) == 5
    pd.testing.assert_series_equal(view["x"], df.iloc[pos]["x"])
    a, b = one.fit_transform(view), two.fit_transform(df.iloc[pos])
    assert one.to_dict() == two.to_dict() and len(a) < 2000
    for x, y in ((a, b), (one.transform(one.rows(df, np.arange(100))), two.transform(df.iloc[:100]))):
        np.testing.assert_array_equal(x.index, y.index)
        np.testing.assert_array_equal(x.cat, y.cat)
        np.testing.assert_array_equal(x.num, y.num)
        np.testing.assert_array_equal(x.labels["click"], y.labels["click"])
    # time features read a frame: those preprocessors get a copy of the rows
    timed = Preprocessor(PreprocessConfig(), *cols, time_col="ts")
    assert isinstance(timed.rows(df.assign(ts=0), pos), pd.DataFrame)
