"""evaluation.binary_curve gives scikit-learn's binary curves and scores from one sort."""
import numpy as np
import pytest
from sklearn import metrics as skm

from mtl_core.evaluation import binary_curve as bc
from mtl_core.evaluation.metrics import binary_at_threshold, binary_metrics, best_f1_threshold


def _data(seed: int, n: int, ties: bool):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(np.int64)
    p = np.clip(0.1 + 0.3 * y + rng.normal(0, 0.2, n), 0, 1)
    if ties:
        p = np.round(p, 1)  # few distinct scores: ties across both classes
    return y, p


@pytest.mark.parametrize("seed,ties", [(0, False), (1, True), (2, True)])
def test_curves_and_scores_equal_scikit_learn(seed, ties):
    y, p = _data(seed, 5000, ties)
    curve = bc.binary_curve(y, p)
    _, fps, _, tps, thr = skm.confusion_matrix_at_thresholds(y, p)
    np.testing.assert_array_equal(curve.fps, fps)
    np.testing.assert_array_equal(curve.tps, tps)
    np.testing.assert_array_equal(curve.thresholds, thr)
    for got, want in zip(curve.roc(), skm.roc_curve(y, p)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    for got, want in zip(curve.pr(), skm.precision_recall_curve(y, p)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert curve.auc() == pytest.approx(skm.roc_auc_score(y, p), abs=1e-14)
    assert curve.average_precision() == pytest.approx(skm.average_precision_score(y, p), abs=1e-14)
    q = np.clip(p, 1e-7, 1 - 1e-7)
    assert bc.log_loss(y, q) == pytest.approx(skm.log_loss(y, q), abs=1e-14)


@pytest.mark.parametrize("thr", [0.0, 0.2, 0.3, 0.55, 1.0])
def test_counts_at_a_threshold_equal_scikit_learn(thr):
    y, p = _data(3, 3000, True)
    got = binary_at_threshold(y, p, thr)
    yhat = (p >= thr).astype(int)
    assert got["confusion"] == skm.confusion_matrix(y, yhat, labels=[0, 1]).tolist()
    assert got["f1"] == pytest.approx(skm.f1_score(y, yhat, zero_division=0), abs=1e-15)
    assert got["precision"] == pytest.approx(skm.precision_score(y, yhat, zero_division=0), abs=1e-15)
    assert got["recall"] == pytest.approx(skm.recall_score(y, yhat, zero_division=0), abs=1e-15)


def test_one_class_and_constant_scores():
    y = np.zeros(10, dtype=np.int64)
    m = binary_metrics(y, np.linspace(0, 1, 10))
    assert m["auc"] is None and m["average_precision"] is None and m["precision"] == 0.0
    y[:3] = 1
    constant = bc.binary_curve(y, np.full(10, 0.3))
    assert constant.auc() == pytest.approx(0.5) and constant.average_precision() == pytest.approx(0.3)
    assert best_f1_threshold(y, np.full(10, 0.3)) == 0.3
