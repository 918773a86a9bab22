"""End to end through mtl_core: data -> run directory -> reload -> recommendations."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_core.config import RunConfig
from mtl_core.errors import DataError, MTLError
from mtl_core.pipeline import prepare, run_experiment
from mtl_core.recommend import list_users, recommend, user_history
from mtl_core.runs import list_runs, load_run
from mtl_core.data.synth import make_synthetic
from mtl_core.training.trainer import predict

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def synth_df() -> pd.DataFrame:
    return make_synthetic(rows=3000, task_correlation=0.5, seed=0)


def small_config(tasks, arch="shared_bottom", epochs=2, **train) -> RunConfig:
    cfg = RunConfig()
    cfg.data.tasks = list(tasks)
    cfg.model.arch = arch
    cfg.model.hidden = [16]
    cfg.model.tower_hidden = [8]
    cfg.train.epochs = epochs
    cfg.train.batch_size = 256
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def test_prepare_roles_and_features(synth_df):
    prep = prepare(small_config(["click", "purchase"]), synth_df)
    assert prep.user_col == "user_id" and prep.item_col == "item_id"
    # labels that are not tasks (cart, rating...) never become features: they would leak
    feats = set(prep.cat_cols) | set(prep.num_cols)
    assert {"click", "purchase", "cart", "rating", "sales"}.isdisjoint(feats)
    assert {"user_id", "item_id", "item_price"} <= feats
    sizes = prep.split_report["sizes"]
    assert sizes == {"train": 2400, "val": 300, "test": 300}


def test_run_directory_and_metrics_contract(synth_df, tmp_path):
    cfg = small_config(["click", "purchase", "rating:regression", "segment_label:multiclass"], arch="mmoe")
    res = run_experiment(cfg, synth_df, runs_root=tmp_path)
    d = res.run_dir
    for name in ("config.json", "metrics.json", "history.csv", "preprocessor.json", "model.pt",
                 "predictions.parquet", "catalog.parquet", "status.json"):
        assert (d / name).exists(), name
    m = json.loads((d / "metrics.json").read_text())
    assert set(m["tasks"]) == {"click", "purchase", "rating", "segment_label"}
    for t in ("click", "purchase"):
        assert m["tasks"][t]["kind"] == "binary"
        for k in ("auc", "logloss", "accuracy", "precision", "recall", "f1"):
            assert k in m["tasks"][t]
        assert 0 <= m["tasks"][t]["auc"] <= 1
        assert {"gauc", "ndcg@10", "hit@10"} <= set(m["ranking"][t])
    assert {"rmse", "mae", "r2"} <= set(m["tasks"]["rating"])
    # regression metrics are in original units (ratings live in 1..5)
    assert 0.05 < m["tasks"]["rating"]["rmse"] < 4
    assert {"accuracy", "macro_f1"} <= set(m["tasks"]["segment_label"])
    assert m["train"]["device"] == "cpu" and m["train"]["samples_per_s"] > 0 and m["train"]["epochs"] == 2
    assert m["split"] == {"train": 2400, "val": 300, "test": 300}
    hist = pd.read_csv(d / "history.csv")
    assert {"epoch", "split", "task", "loss"} <= set(hist.columns)
    assert set(hist["split"]) == {"train", "val"}
    # the runs listing shows each task's headline metric: AUC, RMSE, accuracy by kind
    (info,) = list_runs(tmp_path)
    assert info.summary == {"click": m["tasks"]["click"]["auc"], "purchase": m["tasks"]["purchase"]["auc"],
                            "rating": m["tasks"]["rating"]["rmse"],
                            "segment_label": m["tasks"]["segment_label"]["accuracy"]}


def test_saved_run_reloads_to_identical_predictions(synth_df, tmp_path):
    cfg = small_config(["click", "purchase"], arch="ple")
    res = run_experiment(cfg, synth_df, runs_root=tmp_path)
    run = load_run(res.run_dir)
    pred = run.predictions
    # re-encode the test rows with the saved preprocessor and score them with the saved model
    prep = prepare(RunConfig.from_dict(json.loads((res.run_dir / "config.json").read_text())), synth_df)
    enc = run.preprocessor().transform(synth_df.iloc[prep.encoded["test"].index])
    again = predict(run.model(), enc, run.task_infos)
    np.testing.assert_allclose(again["click"], pred["pred:click"].to_numpy(), rtol=1e-5, atol=1e-6)
    assert [r.run_id for r in list_runs(tmp_path)] == [res.run_dir.name]


def test_config_json_reproduces_the_run(synth_df, tmp_path):
    cfg = small_config(["click", "purchase"])
    a = run_experiment(cfg, synth_df, runs_root=tmp_path)
    cfg2 = RunConfig.from_dict(json.loads((a.run_dir / "config.json").read_text()))
    b = run_experiment(cfg2, synth_df, runs_root=tmp_path)
    assert a.metrics["tasks"] == b.metrics["tasks"]


@pytest.mark.parametrize("arch", ["linear", "single", "esmm", "sklearn"])
def test_other_architectures_through_the_pipeline(synth_df, tmp_path, arch):
    cfg = small_config(["click", "purchase"], arch=arch)
    res = run_experiment(cfg, synth_df, runs_root=tmp_path)
    assert 0 <= res.metrics["tasks"]["click"]["auc"] <= 1
    run = load_run(res.run_dir)
    recs = recommend(run, list_users(run)[0], k=5)
    assert len(recs) == 5


def test_recommendations(synth_df, tmp_path):
    res = run_experiment(small_config(["click", "cart", "purchase"]), synth_df, runs_root=tmp_path)
    run = load_run(res.run_dir)
    user = list_users(run)[0]
    hist = user_history(run, user)
    assert len(hist) > 0 and (hist["user_id"] == user).all()
    recs = recommend(run, user, k=7)
    assert list(recs["rank"]) == list(range(1, 8))
    assert {"item_id", "score:click", "score:cart", "score:purchase", "fused_score"} <= set(recs.columns)
    assert recs["fused_score"].is_monotonic_decreasing
    # default fusion: product of the funnel probabilities
    np.testing.assert_allclose(recs["fused_score"], recs["score:click"] * recs["score:cart"] * recs["score:purchase"], rtol=1e-9)
    # items with any known positive (click, cart or purchase) are excluded by default
    bought = set(hist.loc[(hist["purchase"] == 1) | (hist["cart"] == 1) | (hist["click"] == 1), "item_id"])
    all_recs = recommend(run, user, k=10_000)
    assert bought.isdisjoint(set(all_recs["item_id"]))
    with_bought = recommend(run, user, k=10_000, exclude_bought=False)
    assert len(with_bought) == len(all_recs) + len(bought)
    # a weighted fusion that only looks at click ranks by click score
    by_click = recommend(run, user, k=5, fusion={"mode": "weighted", "weights": {"click": 1, "cart": 0, "purchase": 0}})
    assert by_click["score:click"].is_monotonic_decreasing
    # an unknown user still gets recommendations (cold start), flagged as such
    cold = recommend(run, "no-such-user", k=3)
    assert len(cold) == 3 and cold.attrs["known_user"] is False


def test_no_user_column_gives_clear_message(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("abc"), 400)})
    df["y"] = (df["x"] + rng.normal(size=400) > 0).astype(int)
    res = run_experiment(small_config(["y"]), df, runs_root=tmp_path)
    with pytest.raises(DataError, match="no user column"):
        recommend(load_run(res.run_dir), "u1")


def test_bad_configuration_errors_are_clear(synth_df):
    with pytest.raises(MTLError, match="nope"):
        prepare(small_config(["nope"]), synth_df)
    cfg = small_config(["click"])
    cfg.model.arch = "transformer"
    with pytest.raises(MTLError, match="transformer"):
        prepare(cfg, synth_df)
    cfg = small_config(["click"])
    cfg.data.roles = {"purchase": "numeric"}
    cfg.data.tasks = ["purchase"]
    with pytest.raises(DataError, match="purchase"):
        prepare(cfg, synth_df)


def test_temporal_and_user_splits_through_pipeline(synth_df):
    cfg = small_config(["click"])
    cfg.split.method = "temporal"
    prep = prepare(cfg, synth_df)
    t = pd.to_datetime(synth_df["timestamp"])
    assert t.iloc[prep.splits["train"]].max() <= t.iloc[prep.splits["test"]].min()
    cfg.split.method = "user"
    prep = prepare(cfg, synth_df)
    users = synth_df["user_id"]
    assert set(users.iloc[prep.splits["train"]]).isdisjoint(users.iloc[prep.splits["test"]])


def test_rees46_funnel_run_ranks_and_recommends(shared_data, tmp_path):
    from mtl_core.data.events import build_funnel_table
    from mtl_core.data.io import read_table

    log = read_table(shared_data / "rees46" / "2019-Oct-head.csv")
    table = build_funnel_table(log, user_col="user_id", item_col="product_id", event_col="event_type",
                               funnel=["view", "cart", "purchase"], time_col="event_time")
    cfg = small_config(["cart", "purchase"], arch="mmoe", epochs=3)
    cfg.split.seed = 1
    res = run_experiment(cfg, table, runs_root=tmp_path)
    rank = res.metrics["ranking"]
    assert set(rank) == {"cart", "purchase"}
    assert all(k in rank["purchase"] for k in ("gauc", "ndcg@10", "hit@10"))
    run = load_run(res.run_dir)
    test_users = run.predictions["user_id"].unique()
    recs = recommend(run, test_users[0], k=10)
    assert len(recs) == 10 and recs["product_id"].is_unique


def test_threshold_task_and_positive_in_metrics(synth_df, tmp_path):
    res = run_experiment(small_config(["click", "rating:binary>=4"], epochs=1), synth_df, runs_root=tmp_path)
    m = json.loads((res.run_dir / "metrics.json").read_text())
    assert m["tasks"]["click"]["positive"] == "1"
    assert m["tasks"]["rating"]["positive"] == ">=4" and m["tasks"]["rating"]["kind"] == "binary"
    cols = m["columns"]  # what every column became, or why it is not used
    assert set(cols) == set(synth_df.columns)
    assert not cols["cart"]["used"] and "not a task" in cols["cart"]["as"]
    assert cols["rating"]["as"].startswith("task label") and cols["user_id"]["used"]
    assert set(load_run(res.run_dir).predictions["true:rating"].dropna().unique()) == {0.0, 1.0}
    saved = json.loads((res.run_dir / "config.json").read_text())
    assert saved["columns"] == cols  # the run's config.json says the same, and still reloads
    assert RunConfig.from_dict(saved).data.tasks == ["click", "rating:binary>=4"]
    with pytest.raises(MTLError, match="Unknown configuration section"):
        RunConfig.from_dict({**saved, "colums": {}})
    prep = prepare(small_config(["click", "rating:binary>=4"]), synth_df)
    test = prep.encoded["test"]
    raw = synth_df["rating"].to_numpy()[test.index]
    want = np.where(np.isnan(raw), np.nan, raw >= 4)
    np.testing.assert_array_equal(test.labels["rating"], want.astype(np.float32))
