"""Data-page figures: missing values, a column's distribution, label balance."""
from __future__ import annotations


import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..values import finite as _num
from .common import _color, _fig, _empty_note


def missing_bar(missing_share: dict) -> go.Figure:
    """Share of missing values per column, largest first."""
    fig = _fig("Missing values per column", "Column", "Missing share")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    items = [(str(k), _num(v) or 0.0) for k, v in (missing_share or {}).items()]
    items.sort(key=lambda kv: -kv[1])
    if not items:
        return _empty_note(fig, "No columns")
    fig.add_trace(go.Bar(
        x=[k for k, _ in items], y=[v for _, v in items], marker_color=_color(3), name="Missing",
        text=[f"{v:.0%}" if v > 0 else "" for _, v in items], textposition="outside",
        hovertemplate="%{x}<br>missing %{y:.1%}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    if all(v == 0 for _, v in items):
        _empty_note(fig, "No missing values")
    return fig


def distribution(series: pd.Series, name: str | None = None) -> go.Figure:
    """Histogram for a numeric column; bar chart of the 20 most frequent values otherwise."""
    s = pd.Series(series)
    name = str(name if name is not None else (s.name if s.name is not None else "value"))
    is_num = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if is_num:
        v = pd.to_numeric(s, errors="coerce").astype(float)
        v = v[np.isfinite(v)]
        fig = _fig(f"Distribution of {name}", name, "Rows")
        if v.empty:
            return _empty_note(fig, "No non-missing values")
        fig.add_trace(go.Histogram(x=v.tolist(), nbinsx=50, name=name, marker_color=_color(0),
                                   hovertemplate=f"{name} %{{x}}<br>rows %{{y:,}}<extra></extra>"))
        fig.update_layout(showlegend=False, bargap=0.02)
        return fig
    counts = s.dropna().astype(str).value_counts()
    top = counts.head(20)
    other = int(counts.iloc[20:].sum())
    title = f"Distribution of {name}" + (
        f" (top 20 of {len(counts):,} values; {other:,} other rows)" if other else "")
    fig = _fig(title, name, "Rows")
    if top.empty:
        return _empty_note(fig, "No non-missing values")
    fig.add_trace(go.Bar(x=top.index.tolist(), y=[int(c) for c in top.tolist()], name=name,
                         marker_color=_color(0),
                         hovertemplate=f"{name} = %{{x}}<br>rows %{{y:,}}<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_layout(showlegend=False)
    return fig


def label_balance(rates: dict) -> go.Figure:
    """Stacked share of each label value per task.

    ``rates[task]`` is a float (binary positive rate) or a dict ``{class: share}`` (multiclass).
    """
    fig = _fig("Label balance per task", "Task", "Share of rows", barmode="stack")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.0])
    if not rates:
        return _empty_note(fig, "No task")
    bin_tasks = [(str(t), _num(r)) for t, r in rates.items() if not isinstance(r, dict)]
    bin_tasks = [(t, r) for t, r in bin_tasks if r is not None]
    if bin_tasks:
        xs = [t for t, _ in bin_tasks]
        mixed = len(bin_tasks) < len(rates)  # the legend is about the binary tasks only
        for label, vals, col in (("Positive" + (" (binary tasks)" if mixed else ""), [r for _, r in bin_tasks], _color(0)),
                                 ("Negative" + (" (binary tasks)" if mixed else ""), [1 - r for _, r in bin_tasks],
                                  "#c7c7c7")):
            fig.add_trace(go.Bar(x=xs, y=vals, name=label, marker_color=col, legendgroup=label,
                                 text=[f"{v:.1%}" for v in vals], textposition="inside",
                                 hovertemplate=f"%{{x}}<br>{label} %{{y:.1%}}<extra></extra>"))
    for task, r in rates.items():
        if not isinstance(r, dict):
            continue
        for j, (cls, share) in enumerate(r.items()):
            v = _num(share) or 0.0
            fig.add_trace(go.Bar(x=[str(task)], y=[v], name=f"{task}: {cls}", marker_color=_color(j + 1),
                                 text=[str(cls)], textposition="inside", showlegend=False,
                                 hovertemplate=f"%{{x}}<br>class {cls}: %{{y:.1%}}<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_layout(showlegend=bool(bin_tasks))
    return fig
