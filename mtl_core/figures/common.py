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


#: metrics for which a smaller value is better (the others: larger is better)
LOWER_IS_BETTER = frozenset({"rmse", "mae", "logloss", "loss", "mse"})


def direction(metric: str, higher: bool | None = None) -> str:
    """'higher is better' / 'lower is better' for ``metric`` (``higher`` overrides the lookup)."""
    if higher is None:
        higher = str(metric).lower() not in LOWER_IS_BETTER
    return "higher is better" if higher else "lower is better"


def titled(text: str, metric: str, higher: bool | None = None) -> str:
    """An axis title that says which way is better: 'AUC click (test) · higher is better'."""
    return f"{text} · {direction(metric, higher)}"


def epoch_step(last_epoch: float) -> int:
    """A whole-number tick step for an epoch axis ending at ``last_epoch`` (1, 2, 5, 10, 20, …:
    at most about ten ticks)."""
    target = max(1.0, float(last_epoch) / 10.0)
    scale = 1
    while True:
        for m in (1, 2, 5):
            if m * scale >= target:
                return m * scale
        scale *= 10


def whole_epochs(fig: go.Figure) -> go.Figure:
    """Epoch x axes tick on whole epochs only (never 1.5, 2.5): a fixed integer step from the
    largest epoch plotted. Returns ``fig`` (modified)."""
    xs = [float(v) for tr in fig.data if getattr(tr, "x", None) is not None for v in tr.x
          if isinstance(v, (int, float)) and not isinstance(v, bool)]
    step = epoch_step(max(xs) if xs else 1.0)
    fig.update_xaxes(tickmode="linear", tick0=0 if step > 1 else 1, dtick=step, tickformat="d")
    return fig


def footer(fig: go.Figure, data: str = "", seed: int | str | None = None, arch: str = "") -> go.Figure:
    """``fig`` with a footer line under the plot, 'data … · seed … · architecture …', so that
    a downloaded image says what produced it. Parts that are empty are left out. Returns
    ``fig`` (modified; calling it twice replaces the footer)."""
    parts = [f"data: {data}" if data else "", f"seed {seed}" if seed not in (None, "") else "",
             f"architecture: {arch}" if arch else ""]
    text = " · ".join(p for p in parts if p)
    fig.layout.annotations = [a for a in fig.layout.annotations if getattr(a, "name", None) != "footer"]
    if not text:
        return fig
    bottom = max(int(fig.layout.margin.b or 50), 80)
    fig.update_layout(margin={"b": bottom})
    fig.add_annotation(text=text, name="footer", showarrow=False, xref="paper", yref="paper", x=0, y=0,
                       yshift=-bottom + 8, xanchor="left", yanchor="bottom", font={"size": 10, "color": "#777"})
    return fig
