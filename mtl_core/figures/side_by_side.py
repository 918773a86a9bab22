"""Two saved lab results of the same kind on one figure: two Pareto sweeps, two correlation
labs or two negative-transfer checks, told apart by colour (first result) and a dashed /
open style (second). Inputs are what ``mtl_core.lab``'s loaders return."""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import plotly.graph_objects as go

from ..errors import DataError
from .common import _color, _empty_note, _fig

_STYLES = ({"dash": "solid", "symbol": "circle"}, {"dash": "dash", "symbol": "circle-open"})


def _two(labels: Sequence[str]) -> list[str]:
    labels = [str(x) for x in labels]
    if len(labels) != 2:
        raise DataError(f"A side-by-side figure compares two results; got {len(labels)}.")
    return labels if labels[0] != labels[1] else [f"{labels[0]} (1)", f"{labels[1]} (2)"]


def sweeps_side_by_side(sweeps: Sequence, labels: Sequence[str]) -> go.Figure:
    """Two ``SweepResult``s of the same task pair: each one's points (hover: label) and its
    Pareto front. Sweeps of different tasks or metrics are refused (their axes differ)."""
    labels = _two(labels)
    a, b = sweeps
    if (a.task_a, a.task_b, a.metric_a, a.metric_b) != (b.task_a, b.task_b, b.metric_a, b.metric_b):
        raise DataError(f"These sweeps trade different tasks ({a.task_a} vs {a.task_b}, {b.task_a} vs {b.task_b}); "
                        "choose two sweeps of the same pair.")
    fig = _fig(f"Two sweeps: {a.axis_a} vs {a.axis_b}", a.axis_a, a.axis_b)
    for i, (sw, label) in enumerate(zip(sweeps, labels)):
        p = sw.points
        if p is None or not len(p):
            continue
        style = _STYLES[i]
        fig.add_trace(go.Scatter(
            x=p["x"].astype(float).tolist(), y=p["y"].astype(float).tolist(), mode="markers", name=f"{label}: points",
            text=p["label"].astype(str).tolist(), legendgroup=label,
            marker={"symbol": style["symbol"], "color": _color(i), "size": 10},
            hovertemplate=f"{label}<br>%{{text}}<br>x %{{x:.4f}}<br>y %{{y:.4f}}<extra></extra>"))
        front = p[p["pareto"].astype(bool)].sort_values("x")
        if len(front):
            fig.add_trace(go.Scatter(
                x=front["x"].astype(float).tolist(), y=front["y"].astype(float).tolist(), mode="lines",
                name=f"{label}: Pareto front", legendgroup=label,
                line={"color": _color(i), "dash": style["dash"], "width": 2}, hoverinfo="skip"))
    return fig if fig.data else _empty_note(fig, "No points in these sweeps")


def correlations_side_by_side(results: Sequence[pd.DataFrame], labels: Sequence[str], task: str,
                              value_col: str = "value") -> go.Figure:
    """Two correlation-lab tables (``load_correlation_lab``) for one ``task``: one line per
    model and result, ± standard deviation bars where the table has them."""
    labels = _two(labels)
    rows = [r[r["task"].astype(str) == str(task)] for r in results]
    metric = next((str(r["metric"].iloc[0]).upper() for r in rows if len(r)), "metric")
    fig = _fig(f"Two correlation labs: {metric} of {task} (test)", "Task correlation", f"{metric} {task}")
    models = list(dict.fromkeys(m for r in rows for m in r["model"].astype(str)))
    for i, (r, label) in enumerate(zip(rows, labels)):
        for model, d in r.groupby(r["model"].astype(str), sort=False):
            d = d.sort_values("correlation")
            err = None
            if "std" in d and d["std"].notna().any():
                err = {"type": "data", "array": d["std"].fillna(0.0).astype(float).tolist(), "visible": True}
            fig.add_trace(go.Scatter(
                x=d["correlation"].astype(float).tolist(), y=d[value_col].astype(float).tolist(),
                mode="lines+markers", name=f"{label}: {model}", error_y=err,
                line={"color": _color(models.index(model)), "dash": _STYLES[i]["dash"]},
                marker={"symbol": _STYLES[i]["symbol"]},
                hovertemplate=f"{label} · {model}<br>ρ %{{x:.2f}}<br>%{{y:.4f}}<extra></extra>"))
    return fig if fig.data else _empty_note(fig, f"Neither result has task {task}")


def transfers_side_by_side(tables: Sequence[pd.DataFrame], labels: Sequence[str]) -> go.Figure:
    """Two negative-transfer summaries (``load_transfer``): per task, the mean multi- minus
    single-task difference of each check as grouped bars, ± its standard deviation over seeds."""
    labels = _two(labels)
    fig = _fig("Two negative-transfer checks: multi-task minus single-task (test; above 0 = sharing helps)",
               "Task", "Difference (higher is better)", barmode="group")
    for i, (t, label) in enumerate(zip(tables, labels)):
        if t is None or not len(t):
            continue
        std = t["std"].fillna(0.0).astype(float).tolist() if "std" in t else None
        fig.add_trace(go.Bar(
            x=t["task"].astype(str).tolist(), y=pd.to_numeric(t["diff"], errors="coerce").astype(float).tolist(),
            name=label, marker={"color": _color(i), "pattern": {"shape": "" if i == 0 else "/"}},
            error_y={"type": "data", "array": std, "visible": True} if std else None,
            hovertemplate=f"{label}<br>%{{x}}: %{{y:+.4f}}<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#999", "width": 1})
    return fig if fig.data else _empty_note(fig, "No tasks in these checks")
