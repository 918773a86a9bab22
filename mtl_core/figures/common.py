"""Shared style and helpers of the figure builders (palette, titled empty figures, number formatting)."""
from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..values import finite as _num


PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]


TEMPLATE = "plotly_white"


MAX_SCATTER_POINTS = 5000


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _fig(title: str, x_title: str, y_title: str, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": title},
        xaxis_title={"text": x_title},
        yaxis_title={"text": y_title},
        template=TEMPLATE,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"title": {"text": ""}},
        **layout,
    )
    return fig


def _empty_note(fig: go.Figure, text: str = "No data") -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14, "color": "#888"})
    return fig


def _per_task(metrics: dict) -> dict:
    """``evaluate`` output or a bare ``{task: {...}}`` → ``{task: {...}}``."""
    if not isinstance(metrics, dict):
        return {}
    inner = metrics.get("tasks", metrics)
    return {k: v for k, v in inner.items() if isinstance(v, dict)}


def _fmt(v: Any, digits: int = 3) -> str:
    f = _num(v)
    return "n/a" if f is None else f"{f:.{digits}f}"


def _with_units(label: str, units: str) -> str:
    return f"{label} ({units})" if units else label


def _clean_xy(y: Any, yhat: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y, dtype=np.float64).reshape(-1)
    b = np.asarray(yhat, dtype=np.float64).reshape(-1)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]
