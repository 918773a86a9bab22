"""Classification figures: metric bars, confusion matrices, ROC / PR / calibration curves, ranking metrics."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from ..values import finite as _num
from .common import _color, _fig, _empty_note, _per_task, _fmt


_BAR_METRICS = [("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"), ("accuracy", "Accuracy")]


def metric_bars(metrics: dict) -> go.Figure:
    """Grouped bars of precision / recall / F1 / accuracy for every binary task."""
    fig = _fig("Classification metrics per binary task (at each task's threshold)", "Task", "Score (0–1)",
               barmode="group")
    fig.update_yaxes(range=[0, 1.05])
    tasks = {k: v for k, v in _per_task(metrics).items() if v.get("kind", "binary") == "binary"}
    if not tasks:
        return _empty_note(fig, "No binary task")
    names = list(tasks)
    for i, (key, label) in enumerate(_BAR_METRICS):
        ys = [_num(tasks[t].get(key)) for t in names]
        fig.add_trace(go.Bar(
            x=names, y=ys, name=label, marker_color=_color(i),
            text=[_fmt(v) for v in ys], textposition="outside",
            customdata=[_fmt(tasks[t].get("threshold"), 2) for t in names],
            hovertemplate=f"%{{x}}<br>{label} %{{y:.3f}}<br>threshold %{{customdata}}<extra></extra>",
        ))
    fig.update_xaxes(type="category")
    return fig


def confusion_heatmap(confusion: Sequence[Sequence[float]], labels: Sequence[Any] | None = None,
                      title: str = "Confusion matrix") -> go.Figure:
    """Counts annotated in the cells, row percentages (share of the actual class) in the hover."""
    z = np.asarray(confusion, dtype=np.float64)
    if z.ndim != 2:
        z = z.reshape(0, 0)
    k = z.shape[0]
    labels = [str(v) for v in (labels if labels is not None and len(labels) == k else range(k))]
    fig = _fig(title or "Confusion matrix", "Predicted", "Actual")
    if z.size == 0:
        return _empty_note(fig)
    rows = z.sum(axis=1, keepdims=True)
    share = np.divide(z, rows, out=np.zeros_like(z), where=rows > 0)
    counts = [[int(v) for v in row] for row in z.tolist()]
    fig.add_trace(go.Heatmap(
        z=counts, x=labels, y=labels, colorscale="Blues", showscale=True,
        text=[[f"{v:,}" for v in row] for row in counts], texttemplate="%{text}",
        customdata=share.tolist(),
        colorbar={"title": {"text": "Rows"}},
        hovertemplate="Actual %{y}<br>Predicted %{x}<br>Count %{z:,}<br>"
                      "Share of actual %{customdata:.1%}<extra></extra>",
    ))
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def _curve_part(c: dict, part: str) -> dict:
    if not isinstance(c, dict):
        return {}
    return c.get(part, c) if part in c else c


def roc_curves(curves_by_task: dict) -> go.Figure:
    """ROC curve per task (legend shows AUC when ``roc["auc"]`` or ``"auc"`` is supplied) + chance line."""
    fig = _fig("ROC curves", "False positive rate", "True positive rate")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        roc = _curve_part(c, "roc")
        if not roc.get("fpr"):
            continue
        auc = roc.get("auc", c.get("auc") if isinstance(c, dict) else None)
        name = f"{task} (AUC {_fmt(auc)})" if _num(auc) is not None else str(task)
        fig.add_trace(go.Scatter(
            x=roc["fpr"], y=roc["tpr"], mode="lines", name=name, line={"color": _color(i)},
            customdata=roc.get("thresholds"),
            hovertemplate=f"{task}<br>FPR %{{x:.3f}}<br>TPR %{{y:.3f}}"
                          + ("<br>threshold %{customdata:.3f}" if roc.get("thresholds") else "")
                          + "<extra></extra>",
        ))
        n += 1
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Chance",
                             line={"color": "#999", "dash": "dash"}, hoverinfo="skip"))
    if n == 0:
        _empty_note(fig, "No ROC curve (a task needs both classes)")
    return fig


def pr_curves(curves_by_task: dict) -> go.Figure:
    """Precision–recall curve per task (legend shows AP when ``pr["ap"]`` or ``"ap"`` is supplied)."""
    fig = _fig("Precision–recall curves", "Recall", "Precision")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        pr = _curve_part(c, "pr")
        if not pr.get("recall"):
            continue
        ap = pr.get("ap", c.get("ap") if isinstance(c, dict) else None)
        name = f"{task} (AP {_fmt(ap)})" if _num(ap) is not None else str(task)
        fig.add_trace(go.Scatter(
            x=pr["recall"], y=pr["precision"], mode="lines", name=name, line={"color": _color(i)},
            customdata=pr.get("thresholds"),
            hovertemplate=f"{task}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}"
                          + ("<br>threshold %{customdata:.3f}" if pr.get("thresholds") else "")
                          + "<extra></extra>",
        ))
        n += 1
    if n == 0:
        _empty_note(fig, "No precision–recall curve (a task needs positives)")
    return fig


def calibration_plot(curves_by_task: dict) -> go.Figure:
    """Reliability diagram per task (mean predicted vs observed positive rate) with the diagonal."""
    fig = _fig("Calibration (reliability diagram)", "Mean predicted probability", "Observed positive rate")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfectly calibrated",
                             line={"color": "#999", "dash": "dash"}, hoverinfo="skip"))
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        cal = _curve_part(c, "calibration")
        if not cal.get("prob_pred"):
            continue
        fig.add_trace(go.Scatter(
            x=cal["prob_pred"], y=cal["prob_true"], mode="lines+markers", name=str(task),
            line={"color": _color(i)}, customdata=cal.get("count"),
            hovertemplate=f"{task}<br>predicted %{{x:.3f}}<br>observed %{{y:.3f}}"
                          + ("<br>rows %{customdata:,}" if cal.get("count") else "") + "<extra></extra>",
        ))
        n += 1
    if n == 0:
        _empty_note(fig, "No calibration data")
    return fig


def ranking_bars(ranking: dict) -> go.Figure:
    """GAUC, NDCG@K and Hit@K per task (``evaluate()["ranking"]`` or the whole ``evaluate`` output)."""
    if isinstance(ranking, dict) and "ranking" in ranking and isinstance(ranking["ranking"], dict):
        ranking = ranking["ranking"]
    ranking = {k: v for k, v in (ranking or {}).items() if isinstance(v, dict)}
    fig = _fig("Ranking within each user's test rows", "Task", "Score (0–1)", barmode="group")
    fig.update_yaxes(range=[0, 1.05])
    if not ranking:
        return _empty_note(fig, "No ranking metrics (needs a user id column)")
    names = list(ranking)
    keys: list[str] = []
    for m in ranking.values():
        for key in m:
            if key.startswith(("gauc", "ndcg@", "hit@")) and key not in keys:
                keys.append(key)
    pretty = {"gauc": "GAUC"}
    for i, key in enumerate(keys):
        label = pretty.get(key, key.replace("ndcg@", "NDCG@").replace("hit@", "Hit@"))
        ys = [_num(ranking[t].get(key)) for t in names]
        users = [ranking[t].get("users_gauc" if key == "gauc" else "users") for t in names]
        fig.add_trace(go.Bar(
            x=names, y=ys, name=label, marker_color=_color(i), text=[_fmt(v) for v in ys],
            textposition="outside", customdata=[u if u is not None else "n/a" for u in users],
            hovertemplate=f"%{{x}}<br>{label} %{{y:.3f}}<br>users %{{customdata}}<extra></extra>",
        ))
    fig.update_xaxes(type="category")
    return fig
