"""Classification figures: metric bars, confusion matrices, ROC / PR / calibration curves, ranking metrics."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from ..values import finite as _num
from .common import _color, _fig, _empty_note


def _per_task(metrics: dict) -> dict:
    """``evaluate`` output or a bare ``{task: {...}}`` → ``{task: {...}}``."""
    if not isinstance(metrics, dict):
        return {}
    inner = metrics.get("tasks", metrics)
    return {k: v for k, v in inner.items() if isinstance(v, dict)}


def _fmt(v: Any, digits: int = 3) -> str:
    f = _num(v)
    return "n/a" if f is None else f"{f:.{digits}f}"


_BAR_METRICS = [("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"), ("accuracy", "Accuracy")]


def metric_bars(metrics: dict) -> go.Figure:
    """Grouped bars of precision / recall / F1 / accuracy for every binary task."""
    fig = _fig("Classification metrics per binary task", "Task", "Score (0–1)", barmode="group")
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
    """``c[part]`` (the output of ``metrics.curves``) or ``c`` itself (a bare curve)."""
    return c.get(part, c) if isinstance(c, dict) else {}


def _diagonal(name: str) -> go.Scatter:
    return go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=name, line={"color": "#999", "dash": "dash"},
                      hoverinfo="skip")


@dataclass(frozen=True)
class _CurveKind:
    """What one kind of per-task curve reads from ``metrics.curves`` and how it is drawn."""

    title: str
    part: str  # "roc" | "pr" | "calibration"
    x: tuple[str, str, str]  # (key, axis title, hover name)
    y: tuple[str, str, str]
    area: str | None  # "AUC" | "AP": the legend shows the area ``part[area.lower()]``
    extra: tuple[str, str]  # (key of the per-point custom data, hover line)
    empty: str
    mode: str = "lines"


_THRESHOLD = ("thresholds", "threshold %{customdata:.3f}")
_ROC = _CurveKind("ROC curves", "roc", ("fpr", "False positive rate", "FPR"), ("tpr", "True positive rate", "TPR"),
                  "AUC", _THRESHOLD, "No ROC curve (a task needs both classes)")
_PR = _CurveKind("Precision–recall curves", "pr", ("recall", "Recall", "recall"),
                 ("precision", "Precision", "precision"), "AP", _THRESHOLD,
                 "No precision–recall curve (a task needs positives)")
_CALIBRATION = _CurveKind("Calibration (reliability diagram)", "calibration",
                          ("prob_pred", "Mean predicted probability", "predicted"),
                          ("prob_true", "Observed positive rate", "observed"), None,
                          ("count", "rows %{customdata:,}"), "No calibration data", mode="lines+markers")


def _legend_name(task, c, cur: dict, area: str | None) -> str:
    if not area:
        return str(task)
    key = area.lower()
    value = cur.get(key, c.get(key) if isinstance(c, dict) else None)
    return f"{task} ({area} {_fmt(value)})" if _num(value) is not None else str(task)


def _curve_lines(fig: go.Figure, curves_by_task: dict, kind: _CurveKind) -> int:
    """One line per task that has points; returns how many were drawn."""
    (xk, _, xh), (yk, _, yh), (ck, cline) = kind.x, kind.y, kind.extra
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        cur = _curve_part(c, kind.part)
        if not cur.get(xk):
            continue
        fig.add_trace(go.Scatter(
            x=cur[xk], y=cur[yk], mode=kind.mode, name=_legend_name(task, c, cur, kind.area),
            line={"color": _color(i)}, customdata=cur.get(ck),
            hovertemplate=f"{task}<br>{xh} %{{x:.3f}}<br>{yh} %{{y:.3f}}"
                          + (f"<br>{cline}" if cur.get(ck) else "") + "<extra></extra>",
        ))
        n += 1
    return n


def _curve_figure(curves_by_task: dict, kind: _CurveKind, diagonal: str | None = None,
                  diagonal_first: bool = False) -> go.Figure:
    fig = _fig(kind.title, kind.x[1], kind.y[1])
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    if diagonal and diagonal_first:
        fig.add_trace(_diagonal(diagonal))
    n = _curve_lines(fig, curves_by_task, kind)
    if diagonal and not diagonal_first:
        fig.add_trace(_diagonal(diagonal))
    if n == 0:
        _empty_note(fig, kind.empty)
    return fig


def roc_curves(curves_by_task: dict) -> go.Figure:
    """ROC curve per task (legend shows AUC when ``roc["auc"]`` or ``"auc"`` is supplied) + chance line."""
    return _curve_figure(curves_by_task, _ROC, diagonal="Chance")


def pr_curves(curves_by_task: dict) -> go.Figure:
    """Precision–recall curve per task (legend shows AP when ``pr["ap"]`` or ``"ap"`` is supplied)."""
    return _curve_figure(curves_by_task, _PR)


def calibration_plot(curves_by_task: dict) -> go.Figure:
    """Reliability diagram per task (mean predicted vs observed positive rate) with the diagonal."""
    return _curve_figure(curves_by_task, _CALIBRATION, diagonal="Perfectly calibrated", diagonal_first=True)


def ranking_bars(ranking: dict) -> go.Figure:
    """GAUC, NDCG@K and Hit@K per task (``evaluate()["ranking"]`` or the whole ``evaluate`` output)."""
    if isinstance(ranking, dict) and "ranking" in ranking and isinstance(ranking["ranking"], dict):
        ranking = ranking["ranking"]
    ranking = {k: v for k, v in (ranking or {}).items() if isinstance(v, dict)}
    fig = _fig("Ranking quality per task (per user)", "Task", "Score (0–1)", barmode="group")
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
