"""Baselines on the same test rows, degenerate-model warnings, the one threshold rule."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mtl_core.config import RunConfig
from mtl_core.errors import ConfigError
from mtl_core.evaluation.baselines import attach_baselines, baseline_table, task_baselines
from mtl_core.evaluation.metrics import binary_at_threshold, evaluate
from mtl_core.evaluation.summary import text_summary
from mtl_core.evaluation.task_warnings import attach_warnings, task_warnings
from mtl_core.evaluation.thresholds import choose_threshold
from mtl_core.types import TaskInfo

torch.set_num_threads(1)


# --------------------------------------------------------------------------- values by hand
def test_binary_prior_by_hand():
    b = task_baselines("binary", [1, 1, 1, 0, np.nan], [1, 0, 1, 1], threshold=0.5)["prior"]
    assert b["prediction"] == pytest.approx(0.75)  # NaN training labels are ignored
    assert b["auc"] == 0.5
    assert b["logloss"] == pytest.approx(-(3 * math.log(0.75) + math.log(0.25)) / 4)
    # 0.75 >= 0.5: every row predicted positive
    assert (b["precision"], b["recall"]) == (pytest.approx(0.75), 1.0)
    assert b["f1"] == pytest.approx(2 * 0.75 / 1.75)
    above = task_baselines("binary", [1, 1, 1, 0], [1, 0, 1, 1], threshold=0.8)["prior"]
    assert above["recall"] == 0.0 and above["f1"] == 0.0 and above["threshold"] == 0.8


def test_regression_mean_and_median_by_hand():
    b = task_baselines("regression", [1, 2, 3, 10], [2, 4])
    assert b["mean"]["prediction"] == 4 and b["median"]["prediction"] == 2.5
    assert b["mean"]["rmse"] == pytest.approx(math.sqrt(2)) and b["mean"]["mae"] == pytest.approx(1.0)
    assert b["mean"]["r2"] == pytest.approx(-1.0)  # 1 - (4 + 0) / (1 + 1)
    assert b["median"]["rmse"] == pytest.approx(math.sqrt((0.25 + 2.25) / 2))
    assert b["median"]["mae"] == pytest.approx(1.0)


def test_multiclass_majority_by_hand():
    b = task_baselines("multiclass", [0, 0, 1, 2], [0, 1, 1, 2], n_classes=3, classes=["a", "b", "c"])["majority"]
    assert b["prediction"] == "a"
    assert b["accuracy"] == pytest.approx(0.25)
    assert b["macro_f1"] == pytest.approx(0.4 / 3)  # class a: precision 1/4, recall 1


def test_baselines_use_exactly_the_rows_of_the_model_metrics():
    rng = np.random.default_rng(0)
    n = 400
    tasks = [TaskInfo("b", "binary"), TaskInfo("r", "regression"), TaskInfo("m", "multiclass", 3, ["x", "y", "z"])]
    y = {"b": rng.integers(0, 2, n).astype(float), "r": rng.normal(size=n), "m": rng.integers(0, 3, n).astype(float)}
    p = {"b": rng.random(n), "r": rng.normal(size=n), "m": rng.dirichlet([1, 1, 1], n)}
    y["b"][:50] = np.nan
    p["b"][50:80] = np.nan  # non-finite predictions drop those rows too
    y["r"][::7] = np.nan
    p["m"][::9, 1] = np.inf
    train = {"b": np.r_[np.ones(30), np.zeros(70)], "r": np.arange(10.0), "m": np.array([2, 2, 1, 0.0])}
    m = attach_baselines(evaluate(tasks, y, p, thresholds={"b": 0.3}), tasks, train, y, p)
    for name, base in (("b", "prior"), ("r", "mean"), ("m", "majority")):
        assert m["tasks"][name]["baselines"][base]["n"] == m["tasks"][name]["n"]
    assert m["tasks"]["b"]["n"] == n - 80
    rows = np.arange(n) >= 80
    want = task_baselines("binary", train["b"], y["b"][rows], threshold=0.3)["prior"]
    assert m["tasks"]["b"]["baselines"]["prior"]["logloss"] == pytest.approx(want["logloss"])
    assert m["tasks"]["b"]["baselines"]["prior"]["threshold"] == 0.3
    table = baseline_table(m)
    assert list(table.loc[table["task"] == "r", "predictor"]) == ["model", "mean", "median"]


# --------------------------------------------------------------------------- warnings
def _scored(kind, y_test, pred, y_train, threshold=0.5, classes=None):
    info = TaskInfo("t", kind, len(classes or []) or 1, classes or [])
    m = evaluate([info], {"t": np.asarray(y_test, float)}, {"t": np.asarray(pred, float)}, thresholds={"t": threshold})
    attach_baselines(m, [info], {"t": np.asarray(y_train, float)}, {"t": np.asarray(y_test, float)},
                     {"t": np.asarray(pred, float)})
    return attach_warnings(m)["tasks"]["t"]


def test_all_positive_model_is_flagged():
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.825).astype(float)
    m = _scored("binary", y, np.full(2000, 0.9), y[:1000])
    assert m["f1"] > 0.89  # looks good on its own, as in the report
    codes = {w["code"] for w in m["warnings"]}
    assert {"single_class", "no_better_than_baseline", "low_auc"} <= codes
    assert any("every test row" in w["message"] and "Try" in w["message"] for w in m["warnings"])


def test_negative_r2_is_flagged_and_a_good_model_is_not():
    rng = np.random.default_rng(2)
    y = rng.normal(size=500)
    bad = _scored("regression", y, -y, y)
    assert {"r2_not_positive", "no_better_than_baseline"} <= {w["code"] for w in bad["warnings"]}
    good = _scored("regression", y, y + 0.1 * rng.normal(size=500), y)
    assert good["warnings"] == []
    yb = (rng.random(500) < 0.4).astype(float)
    pb = np.clip(0.4 + 0.5 * (yb - 0.4) + 0.05 * rng.normal(size=500), 0.01, 0.99)
    assert _scored("binary", yb, pb, yb, threshold=0.4)["warnings"] == []


def test_multiclass_single_class_is_flagged():
    y = np.array([0, 1, 2, 1, 0, 2, 1, 1], dtype=float)
    proba = np.tile([0.2, 0.7, 0.1], (8, 1))
    m = _scored("multiclass", y, proba, y, classes=["a", "b", "c"])
    assert "single_class" in {w["code"] for w in m["warnings"]}
    assert task_warnings("t", {"kind": "multiclass"}) == []


# --------------------------------------------------------------------------- one threshold
def test_threshold_setting_is_validated():
    for bad in ("best", 1.5, -0.1, True):
        cfg = RunConfig()
        cfg.data.tasks = ["y"]
        cfg.evaluation.threshold = bad
        with pytest.raises(ConfigError, match="evaluation.threshold"):
            cfg.validate()
    assert RunConfig.from_dict({"evaluation": {"threshold": 0.5}}).evaluation.threshold == 0.5
    assert choose_threshold(0.3, [0, 1], [0.1, 0.9]) == (0.3, "fixed")
    assert choose_threshold("f1", [1, 1], [0.1, 0.9]) == (0.5, "default")
    thr, src = choose_threshold("f1", [0, 0, 1, 1], [0.1, 0.35, 0.3, 0.9])
    assert src == "validation_f1" and thr == pytest.approx(0.3)


@pytest.fixture(scope="module")
def funnel_run(tmp_path_factory):
    from mtl_core.data.synth import make_synthetic
    from mtl_core.pipeline import prepare, run_experiment

    df = make_synthetic(rows=3000, task_correlation=0.5, seed=0)
    cfg = RunConfig()
    cfg.data.tasks = ["click", "purchase", "rating:regression"]
    cfg.model.arch, cfg.model.hidden, cfg.model.tower_hidden = "shared_bottom", [16], [8]
    cfg.train.epochs, cfg.train.batch_size = 2, 256
    res = run_experiment(cfg, df, runs_root=tmp_path_factory.mktemp("runs"))
    return df, cfg, res, prepare(RunConfig.from_dict(cfg.to_dict()), df)


def test_table_bars_and_summary_use_the_validation_threshold(funnel_run):
    from mtl_core import figures
    from mtl_core.evaluation.metrics import metrics_table
    from mtl_core.runs import load_run
    from mtl_core.training.trainer import predict

    df, cfg, res, prep = funnel_run
    run = load_run(res.run_dir)
    val = prep.encoded["val"]
    pv = predict(run.model(), val, prep.task_infos, "cpu")
    pred = run.predictions
    table = metrics_table(res.metrics).set_index("task")
    bars = figures.metric_bars(res.metrics)
    f1_bar = next(tr for tr in bars.data if tr.name == "F1")
    summary = text_summary(res.metrics)
    for t in ("click", "purchase"):
        m = res.metrics["tasks"][t]
        want, source = choose_threshold("f1", val.labels[t], pv[t])
        assert source == "validation_f1" and m["threshold"] == pytest.approx(want) and want != 0.5
        y, p = pred[f"true:{t}"].to_numpy(), pred[f"pred:{t}"].to_numpy()
        at_thr = binary_at_threshold(y, p, want)
        assert table.loc[t, "threshold"] == pytest.approx(want)
        assert table.loc[t, "f1"] == pytest.approx(at_thr["f1"])
        assert dict(zip(f1_bar.x, f1_bar.y))[t] == pytest.approx(at_thr["f1"])
        assert f"threshold {want:.2f} (the F1-best threshold on the validation split)" in summary
        assert m["baselines"]["prior"]["threshold"] == pytest.approx(want)
        assert m["baselines"]["prior"]["n"] == m["n"]
        assert m["baselines"]["prior"]["prediction"] == pytest.approx(float(np.nanmean(prep.encoded["train"].labels[t])))
    assert "mean" in res.metrics["tasks"]["rating"]["baselines"]


def test_a_fixed_threshold_is_used_when_asked(funnel_run, tmp_path):
    from mtl_core.pipeline import run_experiment

    df, cfg, _, _ = funnel_run
    cfg = RunConfig.from_dict(cfg.to_dict())
    cfg.evaluation.threshold = 0.5
    res = run_experiment(cfg, df, runs_root=tmp_path)
    m = res.metrics["tasks"]["click"]
    assert (m["threshold"], m["threshold_source"]) == (0.5, "fixed")
    assert "threshold 0.50 (the threshold set in the run's configuration)" in text_summary(res.metrics)


def test_cli_summary_prints_baselines_and_warnings():
    metrics = {"tasks": {"buy": {"kind": "binary", "auc": 0.5, "f1": 0.904, "logloss": 0.5, "threshold": 0.5,
                                 "threshold_source": "fixed", "confusion": [[0, 10], [0, 90]], "n": 100,
                                 "baselines": {"prior": {"auc": 0.5, "f1": 0.904, "logloss": 0.4}}}}}
    attach_warnings(metrics)
    text = text_summary(metrics)
    assert "F1 0.904 (prior 0.904)" in text and "Warnings:" in text and "predicts positive for every test row" in text
    assert "{" not in text  # the JSON after it is found by its first brace


def test_cli_threshold_option_is_validated(tmp_path, capsys):
    from mtl_core.cli import main

    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n2,1\n", encoding="utf-8")
    for bad in ("best", "1.5"):
        assert main(["train", "--data", str(data), "--task", "y", "--threshold", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and "threshold" in err
