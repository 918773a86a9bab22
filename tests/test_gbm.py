"""The gradient-boosting reference (``baselines.gbm``): present for every task, fitted on the
run's training rows and scored on exactly the model's test rows, switched off or skipped with
a message, never silently absent."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_core.config import RunConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.evaluation.baselines import baseline_table
from mtl_core.evaluation.gbm import MAX_NATIVE_CATEGORIES, fit_predict_gbm, gbm_features
from mtl_core.evaluation.metrics import binary_metrics, multiclass_metrics, regression_metrics
from mtl_core.evaluation.summary import text_summary
from mtl_core.evaluation.task_warnings import task_warnings
from mtl_core.pipeline import prepare, run_experiment
from mtl_core.types import EncodedSplit, FeatureSpec

torch.set_num_threads(1)
TASKS = ["click", "rating:regression", "segment_label:multiclass"]


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return make_synthetic(rows=2000, task_correlation=0.5, seed=0)


def _config(**evaluation) -> RunConfig:
    cfg = RunConfig()
    cfg.data.tasks = list(TASKS)
    cfg.model.arch = "shared_bottom"
    cfg.model.hidden, cfg.model.tower_hidden = [8], [4]
    cfg.train.epochs, cfg.train.batch_size = 1, 256
    for k, v in evaluation.items():
        setattr(cfg.evaluation, k, v)
    return cfg


@pytest.fixture(scope="module")
def run(df):
    cfg = _config()
    return cfg, run_experiment(cfg, df, save=False)


def test_gbm_is_beside_every_task_on_the_model_test_rows(df, run):
    cfg, res = run
    prep = prepare(cfg, df)
    assert len(prep.encoded["test"]) == res.metrics["split"]["test"]
    preds = fit_predict_gbm(prep)["test"]
    for t in prep.task_infos:
        m = res.metrics["tasks"][t.name]
        g = m["baselines"]["gbm"]
        y = prep.encoded["test"].labels[t.name]
        labelled = np.isfinite(y)
        # the same rows: every labelled test row, as many as the model was scored on
        assert g["n"] == m["n"] == int(labelled.sum())
        if t.kind == "binary":  # the metric recomputed from the returned predictions
            want = binary_metrics(y[labelled], preds[t.name][labelled], g["threshold"])
            assert g["auc"] == pytest.approx(want["auc"]) and g["f1"] == pytest.approx(want["f1"])
            assert 0.5 < g["auc"] <= 1
        elif t.kind == "regression":
            truth = prep.preprocessor.inverse_target(t.name, y[labelled])
            assert g["rmse"] == pytest.approx(regression_metrics(truth, preds[t.name][labelled])["rmse"])
        else:
            p = preds[t.name][labelled]
            assert p.shape == (labelled.sum(), len(t.classes))
            assert g["accuracy"] == pytest.approx(multiclass_metrics(y[labelled], p, t.classes)["accuracy"])


def test_results_table_and_cli_summary_show_the_margin(run):
    _, res = run
    table = baseline_table(res.metrics, "binary").set_index("predictor")
    assert table.loc["model − gbm", "auc"] == pytest.approx(table.loc["model", "auc"] - table.loc["gbm", "auc"])
    text = text_summary(res.metrics)
    auc, gbm = res.metrics["tasks"]["click"]["auc"], res.metrics["tasks"]["click"]["baselines"]["gbm"]["auc"]
    assert f"gradient boosting AUC {gbm:.3f} (model − gbm {auc - gbm:+.4f})" in text


def test_switched_off_or_past_the_row_limit_says_so(df):
    off = run_experiment(_config(gbm=False), df, save=False).metrics
    small = run_experiment(_config(gbm_max_rows=100), df, save=False).metrics
    n_train = small["split"]["train"]
    for t, m in off["tasks"].items():
        assert m["baselines"]["gbm"] == {"skipped": "skipped: switched off (evaluation.gbm = false, or --no-gbm)"}
        assert small["tasks"][t]["baselines"]["gbm"]["skipped"] == (
            f"skipped: {n_train:,} training rows > limit 100 (evaluation.gbm_max_rows)")
    assert "gradient boosting skipped: switched off" in text_summary(off)
    table = baseline_table(small, "binary").set_index("predictor")
    assert "limit 100" in table.loc["gbm", "note"] and "model − gbm" not in table.index


def test_no_gbm_flag_and_config_validation(tmp_path):
    from mtl_core.cli.main import build_parser
    from mtl_core.cli.options import config_from_args
    from mtl_core.errors import ConfigError

    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n2,1\n", encoding="utf-8")
    a = build_parser().parse_args(["train", "--data", str(data), "--task", "y"])
    assert config_from_args(a).evaluation.gbm is True
    a = build_parser().parse_args(["train", "--data", str(data), "--task", "y", "--no-gbm"])
    assert config_from_args(a).evaluation.gbm is False
    assert config_from_args(a).preprocess.time_features is True
    a = build_parser().parse_args(["train", "--data", str(data), "--task", "y", "--no-time-features"])
    assert config_from_args(a).preprocess.time_features is False
    cfg = RunConfig()
    cfg.evaluation.gbm = "yes"
    with pytest.raises(ConfigError, match="evaluation.gbm"):
        cfg.evaluation.validate()


def test_high_cardinality_ids_enter_as_frequency_rank_with_unknown_missing():
    n = 6
    feats = FeatureSpec(["small", "big"], [5, MAX_NATIVE_CATEGORIES + 1], ["x"])
    split = EncodedSplit(cat=np.array([[1, 0], [2, 7]] * 3), num=np.ones((n, 1), dtype=np.float32),
                         labels={}, index=np.arange(n))
    X, native = gbm_features(feats, split)
    assert native == [True, False, False]
    assert np.isnan(X[0, 1]) and X[1, 1] == 7 and X[0, 0] == 1


def test_a_strong_reference_is_not_a_degenerate_model_warning():
    m = {"kind": "binary", "auc": 0.9, "f1": 0.8, "logloss": 0.3, "n": 100,
         "baselines": {"prior": {"f1": 0.1, "logloss": 0.6}, "gbm": {"f1": 0.85, "logloss": 0.25}}}
    assert task_warnings("buy", m) == []


def test_negative_transfer_shows_boosting_as_a_reference(df, tmp_path):
    from mtl_core import lab
    from mtl_core.figures import transfer_plot

    cfg = _config()
    cfg.data.tasks = ["click", "rating:regression"]
    df = df.head(800)
    table = lab.negative_transfer(cfg, df, seeds=(0,), runs_root=tmp_path)
    per_seed = table.attrs["per_seed"].set_index("task")
    prep = prepare(cfg, df)
    preds = fit_predict_gbm(prep, splits=("test",))["test"]
    y = prep.encoded["test"].labels["click"]
    ok = np.isfinite(y)
    assert per_seed.loc["click", "gbm"] == pytest.approx(binary_metrics(y[ok], preds["click"][ok])["auc"])
    t = table.set_index("task")
    assert t.loc["rating", "gbm_mean"] == pytest.approx(per_seed.loc["rating", "gbm"])
    fig = transfer_plot(table)
    names = {(tr.name, tr.xaxis) for tr in fig.data}
    assert names == {(n, ax) for n in ("Multi-task", "Single-task", "Gradient boosting") for ax in ("x", "x2")}
    back = lab.load_transfer(table.attrs["path"])
    assert back["gbm_mean"].tolist() == pytest.approx(table["gbm_mean"].tolist())
