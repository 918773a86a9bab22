"""Property-based tests (hypothesis) for preprocessing and splitting: random frames with
missing values, infinities, constant columns and mixed types never crash (only DataError)
and never leak test rows into the fitted statistics."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_core.config import DataConfig, PreprocessConfig, RunConfig, SplitConfig, TrainConfig
from mtl_core.errors import DataError
from mtl_core.data.preprocessing import Preprocessor
from mtl_core.data.split import split_indices
from mtl_core.types import TaskSpec

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NUM_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                       st.integers(-10**6, 10**6), st.just(np.nan), st.just(np.inf), st.just(-np.inf))
CAT_VALUES = st.one_of(st.sampled_from(["a", "b", " a ", "c", "", "NA", "1", "1.0"]), st.integers(0, 3),
                       st.none(), st.floats(allow_nan=True, allow_infinity=False, width=32))


@st.composite
def frames(draw, min_rows=6, max_rows=40):
    n = draw(st.integers(min_rows, max_rows))
    num_kind = draw(st.sampled_from(["random", "constant", "all_missing", "text_mixed"]))
    if num_kind == "random":
        num = draw(st.lists(NUM_VALUES, min_size=n, max_size=n))
    elif num_kind == "constant":
        num = [draw(st.floats(-1e6, 1e6))] * n
    elif num_kind == "all_missing":
        num = [np.nan] * n
    else:
        num = draw(st.lists(st.one_of(NUM_VALUES, st.sampled_from(["x", "?", "1e3"])), min_size=n, max_size=n))
    df = pd.DataFrame({
        "num": pd.Series(num, dtype=object if num_kind == "text_mixed" else float),
        "num2": draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n)),
        "cat": pd.Series(draw(st.lists(CAT_VALUES, min_size=n, max_size=n)), dtype=object),
        "y": draw(st.lists(st.sampled_from([0, 1, np.nan]), min_size=n, max_size=n)),
        "r": draw(st.lists(st.one_of(st.floats(-100, 100), st.just(np.nan), st.just(np.inf)), min_size=n, max_size=n)),
        "t": draw(st.lists(st.one_of(st.integers(0, 50), st.just(np.nan)), min_size=n, max_size=n)),
        "user": draw(st.lists(st.sampled_from(["u1", "u2", "u3", "u4", "u5", None]), min_size=n, max_size=n)),
    })
    return df


PRE_CONFIGS = st.builds(
    PreprocessConfig,
    missing=st.sampled_from(["drop", "mean", "median", "most_frequent", "constant", "interpolate"]),
    outliers=st.sampled_from(["none", "iqr", "zscore", "drop"]),
    scaling=st.sampled_from(["none", "minmax", "zscore", "robust"]),
    min_frequency=st.integers(1, 3),
)
TASKS = [TaskSpec(column="y", kind="binary"), TaskSpec(column="r", kind="regression")]


def _pre(cfg: PreprocessConfig) -> Preprocessor:
    return Preprocessor(cfg, ["cat", "user"], ["num", "num2"], TASKS, time_col="t")


def _state(pre: Preprocessor) -> dict:
    d = pre.to_dict()["state"]
    d.pop("report", None)
    return d


@SETTINGS
@given(df=frames(), cfg=PRE_CONFIGS, data=st.data())
def test_preprocessor_never_crashes_and_outputs_are_finite(df, cfg, data):
    cut = data.draw(st.integers(3, len(df) - 1))
    train, test = df.iloc[:cut], df.iloc[cut:]
    pre = _pre(cfg)
    try:
        enc = pre.fit_transform(train)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    out = pre.transform(test)
    for e in (enc, out):
        assert np.isfinite(e.num).all()
        assert (e.cat >= 0).all()
        for j, c in enumerate(pre.cat_cols):
            assert (e.cat[:, j] < pre.feature_spec_.cat_cardinalities[j]).all()
        assert set(np.unique(e.labels["y"][~np.isnan(e.labels["y"])])) <= {0.0, 1.0}
    again = Preprocessor.from_dict(pre.to_dict()).transform(test)
    np.testing.assert_array_equal(again.num, out.num)
    np.testing.assert_array_equal(again.cat, out.cat)


@SETTINGS
@given(df=frames(), cfg=PRE_CONFIGS, data=st.data())
def test_fitted_state_ignores_test_rows(df, cfg, data):
    """Fitting on train gives the same state whatever the other rows hold; transforming
    (hostile) test rows never changes the fitted state."""
    cut = data.draw(st.integers(3, len(df) - 1))
    train = df.iloc[:cut]
    pre = _pre(cfg)
    try:
        pre.fit(train)
    except DataError:
        return
    before = _state(pre)
    hostile = df.iloc[cut:].copy()
    hostile["num"] = data.draw(st.sampled_from([1e308, -1e308, np.inf, np.nan]))
    hostile["cat"] = "never-seen"
    hostile["y"] = 1
    hostile["r"] = 1e12
    pre.transform(hostile)
    assert _state(pre) == before
    # a preprocessor fitted on the same train rows, next to different test rows, is identical
    other = _pre(cfg).fit(train.copy())
    assert _state(other) == before


@SETTINGS
@given(df=frames(min_rows=20, max_rows=60), seed=st.integers(0, 10), data=st.data())
def test_prepare_fits_on_train_rows_only(df, seed, data):
    """Through the whole pipeline: the fitted state equals a Preprocessor fitted on the
    train split alone, and changing every test row does not change it."""
    from mtl_core.pipeline import prepare

    df = df.assign(num=pd.to_numeric(df["num"], errors="coerce"), y=[i % 2 for i in range(len(df))])
    cfg = RunConfig(
        data=DataConfig(tasks=["y:binary", "r:regression"],
                        roles={"num": "numeric", "num2": "numeric", "cat": "categorical", "user": "categorical",
                               "t": "ignore"}),
        split=SplitConfig(method="random", seed=seed), train=TrainConfig(epochs=1),
    )
    try:
        prep = prepare(cfg, df)
    except DataError:
        return
    state = _state(prep.preprocessor)
    alone = Preprocessor(cfg.preprocess, prep.cat_cols, prep.num_cols, prep.tasks, time_col=prep.time_col,
                         limits=cfg.limits).fit(df.iloc[prep.splits["train"]])
    assert _state(alone) == state
    changed = df.copy()
    rows = np.concatenate([prep.splits["val"], prep.splits["test"]])
    changed.loc[changed.index[rows], "num"] = data.draw(st.sampled_from([1e300, -5.0, np.nan]))
    changed.loc[changed.index[rows], "num2"] = 999.0
    changed.loc[changed.index[rows], "cat"] = "zzz-test-only"
    changed.loc[changed.index[rows], "r"] = -1e9
    prep2 = prepare(cfg, changed)
    assert [list(v) for v in prep2.splits.values()] == [list(v) for v in prep.splits.values()]
    assert _state(prep2.preprocessor) == state
    assert "zzz-test-only" not in prep2.preprocessor.cat_vocab_["cat"]


SPLITS = st.builds(SplitConfig, method=st.sampled_from(["random", "stratified", "temporal", "user"]),
                   seed=st.integers(0, 100))


@SETTINGS
@given(df=frames(min_rows=3, max_rows=60), cfg=SPLITS)
def test_split_never_crashes_and_partitions_rows(df, cfg):
    strat = df["y"].to_numpy(dtype=float) if cfg.method == "stratified" else None
    try:
        out = split_indices(df, cfg, time_col="t", user_col="user", stratify=strat)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    allidx = np.concatenate([out["train"], out["val"], out["test"]])
    assert sorted(allidx.tolist()) == list(range(len(df)))  # disjoint and complete
    for k in out:
        assert out[k].dtype == np.int64 and (np.diff(out[k]) > 0).all()
    assert len(out["train"]) and len(out["test"])
    if cfg.method == "temporal":
        t = df["t"].to_numpy(dtype=float)
        assert t[out["train"]].max() <= t[out["test"]].min()
        if len(out["val"]):
            assert t[out["train"]].max() <= t[out["val"]].min() and t[out["val"]].max() <= t[out["test"]].min()
    if cfg.method == "user":
        users = df["user"].fillna("<none>").to_numpy()
        sets = [set(users[out[k]]) for k in ("train", "val", "test")]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])


@SETTINGS
@given(df=frames(min_rows=10, max_rows=40), seed=st.integers(0, 5))
def test_random_split_depends_only_on_size_and_seed(df, seed):
    cfg = SplitConfig(method="random", seed=seed)
    a = split_indices(df, cfg)
    b = split_indices(df.assign(num=0.0, cat="x"), cfg)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
