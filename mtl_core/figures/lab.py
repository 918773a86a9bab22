"""Trade-off lab figures: gradient-conflict and gate heatmaps, Pareto fronts, the correlation lab."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..lab.front import pareto_front
from ..values import finite as _num
from .common import TEMPLATE, _color, _fig, _empty_note


def _pair_value(cosine: dict, a: str, b: str) -> float | None:
    for key in (f"{a}|{b}", f"{b}|{a}"):
        if key in cosine:
            return _num(cosine[key])
    return None


def grad_cosine_heatmap(cosine: dict, tasks: Sequence[str]) -> go.Figure:
    """Symmetric task × task matrix of gradient cosine similarity (``"a|b"`` keys), 1 on the diagonal."""
    tasks = [str(t) for t in tasks]
    k = len(tasks)
    z: list[list[float | None]] = [[None] * k for _ in range(k)]
    for i, a in enumerate(tasks):
        z[i][i] = 1.0
        for j in range(i + 1, k):
            v = _pair_value(cosine or {}, a, tasks[j])
            z[i][j] = z[j][i] = v
    fig = _fig("Gradient cosine similarity between tasks", "Task", "Task")
    if k == 0:
        return _empty_note(fig, "No task")
    fig.add_trace(go.Heatmap(
        z=z, x=tasks, y=tasks, zmin=-1, zmax=1, zmid=0, colorscale="RdBu",
        text=[["" if v is None else f"{v:.2f}" for v in row] for row in z], texttemplate="%{text}",
        colorbar={"title": {"text": "cosine"}}, hoverongaps=False,
        hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def gate_heatmap(gates: dict) -> go.Figure:
    """Mean gate weight of each task (rows) on each expert (columns "Expert 1..E").

    Rows of different length (PLE: shared + own experts) are padded with blanks.
    """
    tasks = [str(t) for t in (gates or {})]
    rows = [[_num(v) for v in np.asarray(w, dtype=np.float64).reshape(-1)] for w in (gates or {}).values()]
    e = max((len(r) for r in rows), default=0)
    z = [r + [None] * (e - len(r)) for r in rows]
    experts = [f"Expert {i + 1}" for i in range(e)]
    fig = _fig("Gate weights per task", "Expert", "Task")
    if not tasks or e == 0:
        return _empty_note(fig, "No gates (only MMoE/PLE have gates)")
    fig.add_trace(go.Heatmap(
        z=z, x=experts, y=tasks, zmin=0, zmax=max(1e-9, max(v for r in z for v in r if v is not None)),
        colorscale="Viridis", text=[["" if v is None else f"{v:.2f}" for v in r] for r in z],
        texttemplate="%{text}", colorbar={"title": {"text": "weight"}}, hoverongaps=False,
        hovertemplate="%{y} → %{x}<br>weight %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


_KIND_STYLE = {
    "sweep": {"symbol": "circle", "color": "#7f7f7f", "size": 8, "name": "Weight sweep"},
    "single": {"symbol": "diamond", "color": "#d62728", "size": 12, "name": "Single-task"},
    "learned": {"symbol": "star", "color": "#1f77b4", "size": 14, "name": "Learned weighting"},
}


def pareto_plot(points: pd.DataFrame, metric_x: str, metric_y: str, front: Any = None,
                maximize: tuple[bool, bool] = (True, True)) -> go.Figure:
    """Trade-off between two task metrics: points by kind, the Pareto front drawn as a line.

    ``points`` has columns x, y, label, kind ('sweep'|'single'|'learned'). The front is
    ``front`` (list of row positions or a boolean mask), else a bool column ``pareto``, else
    computed with ``pareto_front(maximize=...)``.
    """
    fig = _fig(f"Trade-off: {metric_x} vs {metric_y}", metric_x, metric_y)
    if points is None or len(points) == 0:
        return _empty_note(fig, "No points yet")
    p = points.reset_index(drop=True)
    if "label" not in p.columns:
        p["label"] = [str(i) for i in range(len(p))]
    if "kind" not in p.columns:
        p["kind"] = "sweep"
    n = len(p)
    if front is not None:
        arr = np.asarray(front)
        if arr.dtype == bool and arr.size == n:
            mask = arr.astype(bool)
        else:
            mask = np.zeros(n, dtype=bool)
            mask[np.asarray(arr, dtype=np.int64).reshape(-1)] = True
    elif "pareto" in p.columns:
        mask = p["pareto"].fillna(False).astype(bool).to_numpy()
    else:
        mask = pareto_front(p["x"], p["y"], maximize)
    kinds = list(dict.fromkeys(["sweep", "single", "learned"] + p["kind"].astype(str).tolist()))
    for i, kind in enumerate(kinds):
        d = p[p["kind"].astype(str) == kind]
        if d.empty:
            continue
        st = _KIND_STYLE.get(kind, {"symbol": "square", "color": _color(i + 4), "size": 10, "name": kind})
        fig.add_trace(go.Scatter(
            x=d["x"].astype(float).tolist(), y=d["y"].astype(float).tolist(), mode="markers",
            name=st["name"], text=d["label"].astype(str).tolist(),
            marker={"symbol": st["symbol"], "color": st["color"], "size": st["size"],
                    "line": {"width": 1, "color": "white"}},
            hovertemplate=f"%{{text}}<br>{metric_x} %{{x:.4f}}<br>{metric_y} %{{y:.4f}}<extra></extra>",
        ))
    f = p[mask].sort_values("x")
    if not f.empty:
        fig.add_trace(go.Scatter(
            x=f["x"].astype(float).tolist(), y=f["y"].astype(float).tolist(), mode="lines",
            name="Pareto front", line={"color": "#2ca02c", "width": 2, "dash": "dot"},
            text=f["label"].astype(str).tolist(),
            hovertemplate="front: %{text}<extra></extra>",
        ))
    return fig


def correlation_lab_plot(df: pd.DataFrame, value_col: str | None = None, metric_name: str | None = None,
                         std_col: str = "std") -> go.Figure:
    """Metric vs task correlation, one line per model, with ±std error bars when ``std`` is present.

    The value column is ``value_col``, else ``value``, else the first other numeric column.
    """
    fig_title = "Effect of task correlation"
    if df is None or len(df) == 0 or not {"correlation", "model"} <= set(df.columns):
        return _empty_note(_fig(fig_title, "Task correlation", metric_name or "Metric"), "No results yet")
    if value_col is None:
        if "value" in df.columns:
            value_col = "value"
        else:
            cand = [c for c in df.columns if c not in ("correlation", "model", std_col, "seed")
                    and pd.api.types.is_numeric_dtype(df[c])]
            value_col = cand[0] if cand else "value"
    fig = _fig(f"{fig_title} on {metric_name or value_col}", "Task correlation", metric_name or value_col)
    has_std = std_col in df.columns and df[std_col].notna().any()
    for i, (model, d) in enumerate(df.groupby(df["model"].astype(str), sort=False)):
        d = d.sort_values("correlation")
        err = None
        if has_std:
            err = {"type": "data", "array": [(_num(v) or 0.0) for v in d[std_col].tolist()], "visible": True}
        fig.add_trace(go.Scatter(
            x=d["correlation"].astype(float).tolist(), y=d[value_col].astype(float).tolist(),
            mode="lines+markers", name=str(model), line={"color": _color(i)}, error_y=err,
            hovertemplate=f"{model}<br>correlation %{{x:.2f}}<br>{metric_name or value_col} %{{y:.4f}}<extra></extra>",
        ))
    return fig


_TRANSFER_BARS = (("mt_mean", "Multi-task"), ("st_mean", "Single-task"), ("gbm_mean", "Gradient boosting"))


def transfer_plot(table: pd.DataFrame) -> go.Figure:
    """Negative-transfer summary (``lab.negative_transfer``'s table): per task, one panel of
    its headline metric with the multi-task model, the single-task model and the
    gradient-boosting reference as dots (mean over seeds; left out when missing): close values
    stay readable, which bars from zero would hide."""
    from plotly.subplots import make_subplots

    title = "Multi-task vs single-task vs gradient boosting (test split)"
    if table is None or len(table) == 0 or "task" not in table.columns:
        return _empty_note(_fig(title, "Model", "Metric"), "No check yet")
    rows = table.reset_index(drop=True)
    fig = make_subplots(rows=1, cols=len(rows), subplot_titles=[
        f"{r['task']} ({r.get('metric', '')}, {'higher' if r.get('higher_is_better', True) else 'lower'} is better)"
        for _, r in rows.iterrows()])
    shown: set[str] = set()
    for i, (col, name) in enumerate(_TRANSFER_BARS):
        if col not in rows.columns:
            continue
        for j, r in rows.iterrows():
            v = _num(r[col])
            if v is None:
                continue
            fig.add_trace(go.Scatter(x=[name], y=[v], name=name, mode="markers+text", legendgroup=name,
                                     marker={"color": _color(i), "size": 14}, showlegend=name not in shown,
                                     text=[f"{v:.4f}"], textposition="middle right",
                                     hovertemplate=f"{r['task']}<br>{name} %{{y:.4f}}<extra></extra>"),
                          row=1, col=j + 1)
            shown.add(name)
    fig.update_layout(title={"text": title}, template=TEMPLATE)
    return fig
