"""Regression figures: predicted vs actual and residuals, in the target's original units."""
from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from .common import _color, _fig, _empty_note

MAX_SCATTER_POINTS = 5000


def _with_units(label: str, units: str) -> str:
    return f"{label} ({units})" if units else label


def _clean_xy(y: Any, yhat: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y, dtype=np.float64).reshape(-1)
    b = np.asarray(yhat, dtype=np.float64).reshape(-1)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def pred_vs_actual(y: Any, yhat: Any, task: str, units: str = "") -> go.Figure:
    """Scatter of predicted vs actual (≤ 5000 points, random sample with a fixed seed) + diagonal."""
    a, b = _clean_xy(y, yhat)
    n_all = a.size
    if n_all > MAX_SCATTER_POINTS:
        idx = np.sort(np.random.default_rng(0).choice(n_all, MAX_SCATTER_POINTS, replace=False))
        a, b = a[idx], b[idx]
    sub = f" — {a.size:,} of {n_all:,} rows" if n_all > a.size else ""
    fig = _fig(f"{task}: predicted vs actual{sub}", _with_units(f"Actual {task}", units),
               _with_units(f"Predicted {task}", units))
    if a.size == 0:
        return _empty_note(fig)
    fig.add_trace(go.Scatter(
        x=a.tolist(), y=b.tolist(), mode="markers", name="Rows",
        marker={"size": 4, "opacity": 0.45, "color": _color(0)},
        hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
    ))
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="Perfect prediction",
                             line={"color": "#d62728", "dash": "dash"}, hoverinfo="skip"))
    return fig


def residuals_hist(y: Any, yhat: Any, task: str, units: str = "") -> go.Figure:
    """Histogram of residuals (actual − predicted) with a line at 0."""
    a, b = _clean_xy(y, yhat)
    res = a - b
    fig = _fig(f"{task}: residuals", _with_units("Residual (actual − predicted)", units), "Rows")
    if res.size == 0:
        return _empty_note(fig)
    fig.add_trace(go.Histogram(x=res.tolist(), nbinsx=50, name="Residuals", marker_color=_color(0),
                               hovertemplate="residual %{x}<br>rows %{y:,}<extra></extra>"))
    fig.add_vline(x=0, line={"color": "#d62728", "dash": "dash"})
    fig.update_layout(showlegend=False, bargap=0.02)
    return fig
