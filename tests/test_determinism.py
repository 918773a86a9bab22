"""Same data, configuration and seed on the CPU -> identical metrics and recommendations."""
from __future__ import annotations

import copy

import pandas as pd
import pytest

from mtl_core.config import DataConfig, ModelConfig, RunConfig, SplitConfig, TrainConfig
from mtl_core.pipeline import run_experiment
from mtl_core.recommend import recommend
from mtl_core.runs import load_run
from mtl_core.data.synth import make_synthetic

TIMING = ("seconds", "samples_per_s", "prepare_seconds")


def _metrics_without_timing(m: dict) -> dict:
    m = copy.deepcopy(m)
    for k in TIMING:
        m.get("train", {}).pop(k, None)
    return m


@pytest.mark.parametrize("arch, weighting", [("mmoe", "uncertainty"), ("ple", "fixed")])
def test_same_seed_same_metrics_and_recommendations(tmp_path, arch, weighting):
    df = make_synthetic(rows=1200, seed=11)
    results, recs = [], []
    for i in range(2):
        cfg = RunConfig(
            data=DataConfig(tasks=["click", "purchase", "rating:regression"], user_col="user_id", item_col="item_id"),
            split=SplitConfig(method="random", seed=5),
            model=ModelConfig(arch=arch, embed_dim=4, hidden=[16], tower_hidden=[8], n_experts=2, dropout=0.1),
            train=TrainConfig(epochs=3, batch_size=128, weighting=weighting, seed=5, num_threads=1,
                              device="cpu", patience=0),
        )
        res = run_experiment(cfg, df.copy(), runs_root=tmp_path / f"r{i}")
        results.append(res)
        run = load_run(res.run_dir)
        users = run.interactions["user_id"].value_counts().index[:3]
        recs.append([recommend(run, u, k=10) for u in users])
    a, b = results
    assert a.status == b.status == "completed"
    assert _metrics_without_timing(a.metrics) == _metrics_without_timing(b.metrics)
    pd.testing.assert_frame_equal(a.history, b.history)
    for ra, rb in zip(*recs):
        assert len(ra) == 10
        pd.testing.assert_frame_equal(ra, rb)
    pa = pd.read_parquet(a.run_dir / "predictions.parquet")
    pb = pd.read_parquet(b.run_dir / "predictions.parquet")
    pd.testing.assert_frame_equal(pa, pb)


def test_a_different_seed_changes_the_model(tmp_path):
    df = make_synthetic(rows=800, seed=12)
    preds = []
    for seed in (1, 2):
        cfg = RunConfig(data=DataConfig(tasks=["click"]), split=SplitConfig(seed=0),
                        model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
                        train=TrainConfig(epochs=1, batch_size=128, seed=seed, num_threads=1, device="cpu"))
        res = run_experiment(cfg, df, runs_root=tmp_path / str(seed))
        preds.append(pd.read_parquet(res.run_dir / "predictions.parquet")["pred:click"])
    assert not preds[0].equals(preds[1])
