"""Binary scores from one sort: the counts at every distinct threshold, and the ROC and
precision-recall curves, AUC and average precision read off them.

Each function returns what the scikit-learn function it is named after returns
(``confusion_matrix_at_thresholds``, ``roc_curve``, ``precision_recall_curve``,
``roc_auc_score``, ``average_precision_score``, ``log_loss``; tests compare them), without
scikit-learn's input checks, which at a million test rows cost more than the metric (each
call hashes the labels several times) and without sorting the same scores once per metric.
Inputs are already clean: 0/1 int labels and finite float64 scores of the same length.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Curve", "binary_curve", "counts_at", "log_loss"]


@dataclass
class Curve:
    """False and true positives (float64) at each distinct score, the scores descending."""

    fps: np.ndarray
    tps: np.ndarray
    thresholds: np.ndarray

    def roc(self, drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``roc_curve``: (fpr, tpr, thresholds), the first threshold ``inf``."""
        fps, tps, thr = self.fps, self.tps, self.thresholds
        if drop_intermediate and len(fps) > 2:
            keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
            fps, tps, thr = fps[keep], tps[keep], thr[keep]
        fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
        thr = np.r_[np.inf, thr.astype(np.float64)]
        fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
        tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
        return fpr, tpr, thr

    def pr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``precision_recall_curve``: (precision, recall, thresholds), recall decreasing."""
        ps = self.tps + self.fps
        precision = np.divide(self.tps, ps, out=np.zeros_like(ps), where=ps != 0)
        recall = self.tps / self.tps[-1] if self.tps[-1] != 0 else np.ones_like(self.tps)
        return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], self.thresholds[::-1]

    def auc(self) -> float:
        """``roc_auc_score`` (NaN with one class)."""
        fpr, tpr, _ = self.roc()
        if not (np.isfinite(fpr).all() and np.isfinite(tpr).all()):
            return float("nan")
        return float(np.trapezoid(tpr, fpr))  # fpr is increasing

    def average_precision(self) -> float:
        """``average_precision_score``: the step integral of the PR curve."""
        precision, recall, _ = self.pr()
        return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def binary_curve(y: np.ndarray, p: np.ndarray) -> Curve:
    """The counts at every distinct score of ``p`` (descending), ties counted together."""
    order = np.argsort(p, kind="stable")[::-1]  # scikit-learn's stable descending order
    score = p[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(y[order], dtype=np.float64)[last]
    return Curve(fps=1.0 + last - tps, tps=tps, thresholds=score[last])


def counts_at(y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) when a row is predicted positive at ``p >= threshold``."""
    pred = p >= threshold
    pos = y.astype(bool)
    tp = int(np.count_nonzero(pred & pos))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(pos)) - tp
    return len(y) - tp - fp - fn, fp, fn, tp


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities already clipped away from 0 and 1."""
    return float(-np.mean(np.where(y.astype(bool), np.log(p), np.log(1.0 - p))))
