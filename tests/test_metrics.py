"""Tests for mtl_core.evaluation.metrics: agreement with scikit-learn, vectorised ranking, JSON safety, CSV."""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from mtl_core.evaluation import metrics as M
from mtl_core.types import TaskInfo


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(42)
    n = 800
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    return y, p


# --------------------------------------------------------------------------- binary
@pytest.mark.parametrize("thr", [0.2, 0.5, 0.77])
def test_binary_at_threshold_matches_sklearn(binary_data, thr):
    y, p = binary_data
    out = M.binary_at_threshold(y, p, thr)
    yhat = (p >= thr).astype(int)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat))
    assert out["precision"] == pytest.approx(skm.precision_score(y, yhat, zero_division=0))
    assert out["recall"] == pytest.approx(skm.recall_score(y, yhat, zero_division=0))
    assert out["f1"] == pytest.approx(skm.f1_score(y, yhat, zero_division=0))
    assert out["confusion"] == skm.confusion_matrix(y, yhat, labels=[0, 1]).tolist()
    (tn, fp), (fn, tp) = out["confusion"]
    assert tn + fp + fn + tp == len(y)
    assert out["support"] == int(y.sum())
    assert out["threshold"] == thr


def test_binary_at_threshold_zero_division():
    out = M.binary_at_threshold([0, 0, 1], [0.1, 0.2, 0.3], 0.9)
    assert out["precision"] == 0.0 and out["recall"] == 0.0 and out["f1"] == 0.0
    assert out["confusion"] == [[2, 0], [1, 0]]


def test_binary_metrics_auc_logloss(binary_data):
    y, p = binary_data
    out = M.binary_metrics(y, p)
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert out["logloss"] == pytest.approx(skm.log_loss(y, np.clip(p, 1e-7, 1 - 1e-7)))
    assert out["positive_rate"] == pytest.approx(y.mean())
    assert out["n"] == len(y)
    for key in ("accuracy", "precision", "recall", "f1", "threshold", "confusion"):
        assert key in out


def test_binary_metrics_one_class_auc_none():
    out = M.binary_metrics([1, 1, 1], [0.2, 0.9, 1.0])
    assert out["auc"] is None
    assert math.isfinite(out["logloss"])  # p clipped, labels=[0, 1]
    json.dumps(out)


def test_best_f1_threshold_is_max_of_pr_curve(binary_data):
    y, p = binary_data
    thr = M.best_f1_threshold(y, p)
    precision, recall, _ = skm.precision_recall_curve(y, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    achieved = skm.f1_score(y, (p >= thr).astype(int))
    assert achieved == pytest.approx(f1.max())
    for t in np.linspace(0.01, 0.99, 37):
        assert skm.f1_score(y, (p >= t).astype(int), zero_division=0) <= achieved + 1e-12
    assert M.best_f1_threshold([0, 0], [0.3, 0.4]) == 0.5


# --------------------------------------------------------------------------- curves
def test_curves_downsampled_json_safe(binary_data):
    y, p = binary_data
    c = M.curves(y, p, max_points=50)
    json.dumps(c, allow_nan=False)
    fpr, tpr, thr = skm.roc_curve(y, p)
    roc = c["roc"]
    assert len(roc["fpr"]) <= 50 and len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])
    assert roc["fpr"][0] == fpr[0] and roc["fpr"][-1] == fpr[-1] == 1.0
    assert roc["tpr"][-1] == tpr[-1]
    assert roc["thresholds"][0] == 1.0  # inf replaced
    assert roc["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    pr = c["pr"]
    assert len(pr["precision"]) <= 50 and len(pr["precision"]) == len(pr["recall"]) == len(pr["thresholds"])
    assert pr["recall"][0] == 1.0 and pr["recall"][-1] == 0.0
    assert pr["ap"] == pytest.approx(skm.average_precision_score(y, p))
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10)
    np.testing.assert_allclose(c["calibration"]["prob_true"], prob_true)
    np.testing.assert_allclose(c["calibration"]["prob_pred"], prob_pred)
    assert sum(c["calibration"]["count"]) == len(y)


def test_curves_small_input_not_downsampled_and_one_class():
    c = M.curves([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.4])
    fpr, _, _ = skm.roc_curve([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.4])
    assert len(c["roc"]["fpr"]) == len(fpr)
    one = M.curves([1, 1, 1], [0.2, 0.3, 0.4])
    assert one["roc"]["fpr"] == [] and one["roc"]["auc"] is None
    json.dumps(one, allow_nan=False)


# --------------------------------------------------------------------------- regression / multiclass
def test_regression_metrics():
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 300)
    yhat = y + rng.normal(0, 1, 300)
    out = M.regression_metrics(y, yhat)
    assert out["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, yhat)))
    assert out["mae"] == pytest.approx(skm.mean_absolute_error(y, yhat))
    assert out["r2"] == pytest.approx(skm.r2_score(y, yhat))
    assert out["n"] == 300


def test_multiclass_metrics():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 400)
    proba = rng.dirichlet([1, 1, 1], 400)
    proba[np.arange(400), y] += 0.3
    proba /= proba.sum(1, keepdims=True)
    out = M.multiclass_metrics(y, proba, ["a", "b", "c"])
    yhat = proba.argmax(1)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat))
    assert out["macro_f1"] == pytest.approx(skm.f1_score(y, yhat, average="macro"))
    assert out["confusion"] == skm.confusion_matrix(y, yhat, labels=[0, 1, 2]).tolist()
    assert out["classes"] == ["a", "b", "c"]
    assert out["logloss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-5)
    # a class never seen still gets a row/column
    out2 = M.multiclass_metrics([0, 0, 1], np.array([[0.9, 0.05, 0.05]] * 3), ["a", "b", "c"])
    assert np.array(out2["confusion"]).shape == (3, 3)


# --------------------------------------------------------------------------- ranking
def _slow_ranking(u, y, p, k):
    aucs, weights, ndcgs, hits = [], [], [], []
    for uid in pd.unique(u):
        m = u == uid
        yu, pu = y[m], p[m]
        if yu.sum() > 0 and (1 - yu).sum() > 0:
            aucs.append(skm.roc_auc_score(yu, pu))
            weights.append(m.sum())
        if yu.sum() > 0:
            if len(yu) > 1:
                ndcgs.append(skm.ndcg_score(yu[None, :], pu[None, :], k=k))
            else:
                ndcgs.append(1.0)
            # pessimistic ties: a positive counts when all rows scored >= it fit in the top k
            hit = any((pu >= pu[i]).sum() <= k for i in np.flatnonzero(yu == 1))
            hits.append(float(hit))
    gauc = np.average(aucs, weights=weights) if aucs else None
    return gauc, np.mean(ndcgs), np.mean(hits)


@pytest.mark.parametrize("seed,ties", [(0, False), (1, True), (2, True)])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_ranking_vectorised_matches_slow_sklearn_loop(seed, ties, k):
    rng = np.random.default_rng(seed)
    n = 600
    u = rng.integers(0, 40, n)
    y = (rng.random(n) < 0.3).astype(int)
    p = rng.random(n)
    if ties:
        p = np.round(p * 4) / 4  # many tied scores within a user
    out = M.ranking_metrics(u, y, p, k=k)
    gauc, ndcg, hit = _slow_ranking(u, y, p, k)
    assert out["gauc"] == pytest.approx(gauc)
    assert out[f"ndcg@{k}"] == pytest.approx(ndcg)
    assert out[f"hit@{k}"] == pytest.approx(hit)
    assert set(out) >= {"gauc", f"ndcg@{k}", f"hit@{k}", "users"}


def test_ranking_one_class_user_excluded_from_gauc():
    # user a: perfect ranking (AUC 1), user b: only negatives, user c: only positives
    u = np.array(["a"] * 4 + ["b"] * 3 + ["c"] * 2)
    y = np.array([1, 0, 1, 0, 0, 0, 0, 1, 1])
    p = np.array([0.9, 0.1, 0.8, 0.2, 0.5, 0.6, 0.7, 0.1, 0.2])
    out = M.ranking_metrics(u, y, p, k=2)
    assert out["gauc"] == pytest.approx(1.0)
    assert out["users_gauc"] == 1
    assert out["users"] == 2  # users with at least one positive (a, c)
    assert out["hit@2"] == 1.0
    assert out["ndcg@2"] == pytest.approx(1.0)


def test_ranking_counts_users_on_many_users():
    """100k users with a handful of rows each: users are counted by their classes and random
    scores give a GAUC near 0.5 (speed: bench/ranking_speed.py, not a timed test)."""
    rng = np.random.default_rng(3)
    n = 300_000
    u = rng.integers(0, 100_000, n)
    y = (rng.random(n) < 0.2).astype(int)
    p = rng.random(n)
    out = M.ranking_metrics(u, y, p, k=10)
    per_user = pd.DataFrame({"u": u, "y": y}).groupby("u")["y"].agg(["sum", "size"])
    assert out["users"] == int((per_user["sum"] > 0).sum())
    assert out["users_gauc"] == int(((per_user["sum"] > 0) & (per_user["sum"] < per_user["size"])).sum())
    assert 0.45 < out["gauc"] < 0.55
    assert 0.0 < out["ndcg@10"] <= 1.0 and 0.0 < out["hit@10"] <= 1.0


# --------------------------------------------------------------------------- headline
def test_headline_metric_per_kind_and_direction():
    from mtl_core.evaluation import HEADLINE, headline

    assert headline("binary") == ("auc", True)
    assert headline("regression") == ("rmse", False)
    assert headline("multiclass") == ("accuracy", True)
    assert headline("unknown") == headline(None) == ("auc", True)
    assert M.headline is headline and M.HEADLINE is HEADLINE  # one definition, re-exported


def test_headline_value_reads_the_kind_not_the_first_metric():
    from mtl_core.evaluation import headline_value

    assert headline_value({"kind": "binary", "auc": 0.71, "accuracy": 0.9}) == ("auc", 0.71)
    # a one-class test split has no AUC: the headline is missing, not the accuracy instead
    assert headline_value({"kind": "binary", "auc": None, "accuracy": 0.9}) == ("auc", None)
    assert headline_value({"kind": "regression", "rmse": 1.5, "mae": 1.0}) == ("rmse", 1.5)
    assert headline_value({"kind": "multiclass", "accuracy": 0.4, "macro_f1": 0.3}) == ("accuracy", 0.4)
    assert headline_value({"rmse": 2.0}) == ("rmse", 2.0)  # no kind: read by the metric it holds
    assert headline_value({"kind": "regression", "rmse": float("nan")}) == ("rmse", None)


# --------------------------------------------------------------------------- evaluate
def _tasks():
    return [
        TaskInfo("click", "binary", classes=["no", "yes"]),
        TaskInfo("sales", "regression"),
        TaskInfo("segment", "multiclass", n_outputs=3, classes=["low", "mid", "high"]),
    ]


def test_evaluate_structure_json_safe_and_nan_labels():
    rng = np.random.default_rng(4)
    n = 500
    y_click = rng.integers(0, 2, n).astype(np.float32)
    y_click[:50] = np.nan
    y_sales = rng.normal(100, 10, n).astype(np.float32)
    y_sales[-5:] = np.nan
    y_seg = rng.integers(0, 3, n).astype(np.float32)
    y_true = {"click": y_click, "sales": y_sales, "segment": y_seg}
    y_pred = {
        "click": rng.random(n).astype(np.float32),
        "sales": rng.normal(100, 10, n).astype(np.float32),
        "segment": rng.dirichlet([1, 1, 1], n).astype(np.float32),
    }
    users = rng.integers(0, 30, n)
    out = M.evaluate(_tasks(), y_true, y_pred, thresholds={"click": 0.3}, user_ids=users, k=5)
    text = json.dumps(out, allow_nan=False)
    assert "NaN" not in text
    t = out["tasks"]
    assert t["click"]["kind"] == "binary" and t["click"]["n"] == 450
    assert t["click"]["threshold"] == 0.3
    ok = ~np.isnan(y_click)
    assert t["click"]["auc"] == pytest.approx(skm.roc_auc_score(y_click[ok], y_pred["click"][ok]))
    assert t["sales"]["kind"] == "regression" and t["sales"]["n"] == n - 5
    assert t["segment"]["kind"] == "multiclass" and t["segment"]["classes"] == ["low", "mid", "high"]
    assert set(out["ranking"]) == {"click"}
    assert {"gauc", "ndcg@5", "hit@5"} <= set(out["ranking"]["click"])
    # types are plain Python
    assert type(t["click"]["auc"]) is float and type(t["click"]["n"]) is int


def test_evaluate_nan_metric_becomes_none_and_no_ranking_without_users():
    tasks = [TaskInfo("click", "binary"), TaskInfo("sales", "regression")]
    out = M.evaluate(tasks, {"click": np.array([1.0, 1.0, np.nan]), "sales": np.array([1.0, np.nan])},
                     {"click": np.array([0.4, 0.9, 0.5]), "sales": np.array([2.0, 3.0])})
    json.dumps(out, allow_nan=False)
    assert out["tasks"]["click"]["auc"] is None
    assert out["tasks"]["sales"]["r2"] is None  # one row
    assert out["ranking"] == {}


def test_evaluate_nonfinite_predictions_excluded():
    tasks = [TaskInfo("click", "binary")]
    out = M.evaluate(tasks, {"click": np.array([0, 1, 1, 0.0])}, {"click": np.array([0.1, np.nan, 0.8, 0.3])})
    assert out["tasks"]["click"]["n"] == 3
    assert out["tasks"]["click"]["nonfinite_predictions"] == 1
    json.dumps(out, allow_nan=False)


def test_json_safe_helper():
    out = M.json_safe({"a": np.float32(np.nan), "b": np.int64(3), "c": np.array([1.0, np.inf]), 1: np.bool_(True)})
    assert out == {"a": None, "b": 3, "c": [1.0, None], "1": True}


# --------------------------------------------------------------------------- table / CSV
def test_metrics_table_one_row_per_task():
    rng = np.random.default_rng(5)
    n = 200
    y_true = {"click": rng.integers(0, 2, n).astype(float), "sales": rng.normal(size=n),
              "segment": rng.integers(0, 3, n).astype(float)}
    y_pred = {"click": rng.random(n), "sales": rng.normal(size=n), "segment": rng.dirichlet([1, 1, 1], n)}
    out = M.evaluate(_tasks(), y_true, y_pred, user_ids=rng.integers(0, 20, n))
    df = M.metrics_table(out)
    assert list(df["task"]) == ["click", "sales", "segment"]
    for col in ("auc", "f1", "rmse", "macro_f1", "gauc", "ndcg@10", "hit@10", "kind"):
        assert col in df.columns
    assert "confusion" not in df.columns
    assert df.loc[df.task == "sales", "rmse"].iloc[0] == pytest.approx(out["tasks"]["sales"]["rmse"])
    assert M.metrics_table({}).empty


def test_escape_csv_cell():
    assert M.escape_csv_cell("=1+1") == "'=1+1"
    assert M.escape_csv_cell("-cmd") == "'-cmd"
    assert M.escape_csv_cell("+x") == "'+x"
    assert M.escape_csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert M.escape_csv_cell("\tx") == "'\tx"
    assert M.escape_csv_cell("\rx") == "'\rx"
    assert M.escape_csv_cell("safe") == "safe"
    assert M.escape_csv_cell(-5) == -5
    assert M.escape_csv_cell(-2.5) == -2.5
    assert M.escape_csv_cell(None) is None


def test_to_safe_csv():
    df = pd.DataFrame({"name": ["=1+1", "-cmd", "ok"], "value": [-5, 3, 0], "x": [-1.5, 2.0, 0.0],
                       "=evil": ["a", "b", "c"]})
    text = M.to_safe_csv(df)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "value", "x", "'=evil"]
    assert rows[1] == ["'=1+1", "-5", "-1.5", "a"]
    assert rows[2][0] == "'-cmd"
    assert rows[3] == ["ok", "0", "0.0", "c"]
    # the original frame is untouched
    assert df["name"].iloc[0] == "=1+1"
