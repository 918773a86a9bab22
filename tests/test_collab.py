"""Collaborative features (matrix factorisation, bipartite-graph features): fitted on the
training rows only, leave-one-out on training rows, unseen users/items flagged, saved with a
run and reused by predict."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mtl_core.config import PreprocessConfig, RunConfig
from mtl_core.data.preprocessing import Preprocessor
from mtl_core.data.preprocessing.collab import CollabFeatures
from mtl_core.data.schema import parse_task_spec
from mtl_core.data.synth import make_synthetic
from mtl_core.errors import ConfigError, DataError
from mtl_core.pipeline import run_experiment
from mtl_core.predict import score_frame
from mtl_core.runs import load_run


def _frame(seed=0, n=600):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user": rng.integers(0, 40, n).astype(str), "item": rng.integers(0, 30, n).astype(str),
                         "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})


def _fit(df, methods=("mf", "graph")):
    return CollabFeatures(list(methods), "user", "item", dims=4).fit(df)


def test_test_only_interactions_do_not_change_features():
    df = _frame()
    train, test = df.iloc[:400], df.iloc[400:]
    a = _fit(train)
    # the same training rows with the test rows' labels and extra columns changed: same state
    b = _fit(train.assign(y=1 - train["y"], x=0.0))
    assert a.to_dict() == b.to_dict()
    # scoring the test rows with or without other test rows present gives the same features
    full = a.transform(test)
    one = a.transform(test.iloc[:5])
    np.testing.assert_allclose(full[:5], one)
    # a test-only interaction added to the data but not to the fit does not change anything
    c = _fit(train)
    assert np.allclose(c.transform(test), full)
    # fitting on train + test does change them (the test fails if fit ignored its rows)
    d = _fit(pd.concat([train, test]))
    assert not np.allclose(d.transform(test), full)


def test_unseen_users_and_items_get_zeros_and_flags():
    df = _frame()
    cf = _fit(df)
    names = cf.names()
    new = pd.DataFrame({"user": ["nobody", "0", "nobody"], "item": ["0", "never", "never"]})
    Z = cf.transform(new)
    assert Z.shape == (3, len(names))
    col = {n: j for j, n in enumerate(names)}
    assert Z[:, col["collab:user_unseen"]].tolist() == [1, 0, 1]
    assert Z[:, col["collab:item_unseen"]].tolist() == [0, 1, 1]
    user_cols = [col[n] for n in names if n.startswith("collab:user_f")] + [col["collab:user_degree"]]
    item_cols = [col[n] for n in names if n.startswith("collab:item_f")] + [col["collab:item_degree"]]
    pair_cols = [col["collab:mf_affinity"], col["collab:cooccurrence"]]
    assert np.all(Z[0, user_cols + pair_cols] == 0) and np.any(Z[0, item_cols] != 0)
    assert np.all(Z[1, item_cols + pair_cols] == 0) and np.any(Z[1, user_cols] != 0)
    assert np.all(Z[2, :-2] == 0)


def test_leave_one_out_matches_refitting_without_the_row():
    """A training row's graph features equal those of the same pair scored by a model fitted
    without that row (its own interaction left out)."""
    df = _frame(n=300).drop_duplicates(["user", "item"]).reset_index(drop=True)
    cf = _fit(df, ["graph"])
    loo = cf._raw(df, train=True)[0]
    for r in (0, 7, 42):
        rest = _fit(df.drop(index=r), ["graph"])
        rest.users_, rest.items_ = cf.users_, cf.items_  # same ids (the row's user stays known)
        p = cf.pairs_
        keep = [k for k in range(len(p["user"])) if not (cf.users_[p["user"][k]] == df.user[r]
                                                         and cf.items_[p["item"][k]] == df.item[r])]
        rest.pairs_ = {key: [p[key][k] for k in keep] for key in p}
        rest.__dict__.pop("_cache", None)
        np.testing.assert_allclose(loo[r], rest._raw(df.iloc[[r]], train=False)[0][0], atol=1e-9)
    # a test row of a new pair is not changed by leave-one-out (nothing of its own to remove)
    assert not np.allclose(loo, cf._raw(df, train=False)[0])


def test_preprocessor_persists_collab_state_as_json():
    df = _frame()
    tasks = [parse_task_spec("y")]
    from mtl_core.data.schema import resolve_tasks
    tasks = resolve_tasks(df, tasks)
    pre = Preprocessor(PreprocessConfig(collab=["mf", "graph"]), ["user", "item"], ["x"], tasks,
                       user_col="user", item_col="item")
    enc = pre.fit_transform(df.iloc[:500])
    names = pre.feature_spec_.num_names
    assert "collab:mf_affinity" in names and "collab:cooccurrence" in names and names[-1] == "collab:item_unseen"
    assert enc.num.shape[1] == len(names)
    back = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_allclose(back.transform(df.iloc[500:]).num, pre.transform(df.iloc[500:]).num)
    with pytest.raises(DataError, match="user and an item column"):
        Preprocessor(PreprocessConfig(collab=["mf"]), ["item"], ["x"], tasks, item_col="item").fit(df)
    with pytest.raises(ConfigError, match="preprocess.collab"):
        PreprocessConfig(collab=["als"]).validate()


def test_saved_run_reuses_collab_features_in_predict(tmp_path):
    df = make_synthetic(rows=1200, seed=5)
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    cfg = RunConfig()
    cfg.data.path, cfg.data.tasks = str(path), ["click", "purchase"]
    cfg.preprocess.collab = ["mf", "graph"]
    cfg.model.arch, cfg.train.epochs = "shared_bottom", 1
    res = run_experiment(cfg.validate(), runs_root=tmp_path / "runs")
    run = load_run(res.run_dir)
    pre = run.preprocessor()
    assert pre.collab_ is not None and "collab:mf_affinity" in run.meta["features"]["num_names"]
    assert not (res.run_dir / "preprocessor.pkl").exists()
    out = score_frame(run, df.head(50))
    assert out["pred:click"].notna().all()
    # the scores depend on the collaborative features: an unknown user changes them
    other = score_frame(run, df.head(50).assign(**{run.meta["user_col"]: "nobody"}))
    assert not np.allclose(out["pred:click"], other["pred:click"])


def test_data_page_choice_reaches_the_run_config():
    from mtl_core.app import state as app_state

    state = {"tasks": ["click"], "preprocess": {"missing": "median", "collab": ["graph"]}}
    cfg = app_state.build_config(state, app_state.default_train_settings(["click"]))
    assert cfg.preprocess.collab == ["graph"]


def test_cli_collab_flag(tmp_path):
    from mtl_core.cli.main import build_parser
    from mtl_core.cli.options import config_from_args

    args = ["train", "--data", "x.csv", "--task", "click", "--collab", "mf,graph"]
    assert config_from_args(build_parser().parse_args(args)).preprocess.collab == ["mf", "graph"]
    args[-1] = "none"
    assert config_from_args(build_parser().parse_args(args)).preprocess.collab == []
    args[-1] = "als"
    with pytest.raises(ConfigError, match="preprocess.collab"):
        config_from_args(build_parser().parse_args(args))


def test_catalogue_scorer_gives_each_pair_its_own_collab_features(tmp_path):
    """Catalogue ranking assembles rows from a user side and an item side; the pair features
    must be those of (user, item), as a direct transform of the pair computes them."""
    from mtl_core.evaluation.catalog import _PairScorer
    from mtl_core.pipeline import prepare
    from mtl_core.recommend import user_feature_rows
    from mtl_core.runs.save import item_user_tables

    cfg = RunConfig()
    cfg.data.tasks = ["click"]
    cfg.preprocess.collab = ["mf", "graph"]
    prep = prepare(cfg.validate(), make_synthetic(rows=800, seed=2))
    catalog, users, _, layout = item_user_tables(prep)
    meta = {"user_col": prep.user_col, "item_col": prep.item_col, **layout}
    rows = user_feature_rows(users, list(users[prep.user_col].head(3)), meta)
    seen = {}

    class Capture:
        is_sklearn = True

        def predict(self, split):
            seen["num"] = split.num
            return {"click": np.zeros(len(split.num))}

    scorer = _PairScorer(Capture(), prep.preprocessor, prep.task_infos, catalog, rows, meta)
    scorer(np.arange(3))
    cols, direct = prep.preprocessor.collab_block(np.repeat(rows[prep.user_col].to_numpy(), len(catalog)),
                                                  np.tile(catalog[prep.item_col].to_numpy(), 3))
    np.testing.assert_allclose(seen["num"][:, cols], direct, atol=1e-5)
    assert np.unique(direct[:, -3].round(6)).size > 1  # co-occurrence differs between pairs
