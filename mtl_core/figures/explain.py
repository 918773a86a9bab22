"""Explanation figures: the tasks' permutation importances side by side, one row's feature
contributions per task, and a what-if comparison."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .common import _color, _empty_note, _fig


def importance_figure(importance: dict[str, list[dict]], top: int = 15) -> go.Figure:
    """Heatmap features x tasks: each task's importance as a share of its largest one (tasks
    have different units: AUC drop, RMSE rise), the value and spread in the hover. Features
    are ordered by their largest share; a feature bright in several columns is shared."""
    tasks = list(importance)
    fig = _fig("Which features each task relies on (permutation importance)", "task", "feature")
    vals = {t: {r["feature"]: (r["importance"], r["spread"]) for r in rows} for t, rows in importance.items()}
    feats = list(dict.fromkeys(f for rows in importance.values() for f in (r["feature"] for r in rows)))
    if not tasks or not feats:
        return _empty_note(fig, "No importances")
    raw = np.array([[vals[t].get(f, (0.0, 0.0))[0] for t in tasks] for f in feats], dtype=np.float64)
    spread = np.array([[vals[t].get(f, (0.0, 0.0))[1] for t in tasks] for f in feats], dtype=np.float64)
    top_of = np.abs(raw).max(axis=0)
    share = np.where(top_of > 0, np.clip(raw, 0, None) / np.where(top_of > 0, top_of, 1.0), 0.0)
    order = np.argsort(-share.max(axis=1), kind="stable")[:top]
    text = [[f"{raw[i, j]:.4f} ± {spread[i, j]:.4f}" for j in range(len(tasks))] for i in order]
    fig.add_trace(go.Heatmap(z=share[order], x=tasks, y=[feats[i] for i in order], text=text,
                             texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                             colorbar={"title": {"text": "share of task's top"}},
                             hovertemplate="%{y} → %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(320, 40 + 28 * len(order)))
    return fig


def contributions_figure(contrib: pd.DataFrame, top: int = 12) -> go.Figure:
    """Grouped horizontal bars: per feature group, each task's score change caused by the
    feature's value (its score minus the score with the feature at its training baseline)."""
    fig = _fig("Why this item: each feature's contribution to each task's score", "score change", "feature")
    if contrib.empty:
        return _empty_note(fig, "No features")
    order = contrib.abs().max(axis=1).sort_values(ascending=False).index[:top]
    for j, task in enumerate(contrib.columns):
        fig.add_trace(go.Bar(y=list(order), x=contrib.loc[order, task].to_numpy(), orientation="h",
                             name=str(task), marker_color=_color(j)))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(barmode="group", height=max(320, 60 + 22 * len(order) * max(1, len(contrib.columns))))
    return fig


def what_if_figure(table: pd.DataFrame) -> go.Figure:
    """Bars of every task's prediction before and after the edit."""
    fig = _fig("What if: every task's prediction before and after the change", "task", "prediction")
    if table.empty:
        return _empty_note(fig, "No tasks")
    for j, col in enumerate(("before", "after")):
        fig.add_trace(go.Bar(x=table["task"], y=table[col], name=col, marker_color=_color(j)))
    fig.update_layout(barmode="group")
    return fig
