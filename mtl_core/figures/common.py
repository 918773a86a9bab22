"""Shared style of the figure builders: palette, template, a titled figure, an empty-figure note."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]


TEMPLATE = "plotly_white"


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
