"""ONNX export figure: torch vs onnxruntime outputs per task on the same (test) rows."""
from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import TEMPLATE, _color, _empty_note, _fig

MAX_POINTS = 3000


def onnx_parity(values: dict[str, dict[str, Any]]) -> go.Figure:
    """One panel per task: onnxruntime output against torch output (≤ 3000 points, seeded
    sample; multiclass outputs are flattened over classes) with the diagonal; the largest
    absolute difference is in each panel's title and the figure's title."""
    tasks = [t for t, v in values.items() if np.asarray(v.get("torch", [])).size]
    if not tasks:
        return _empty_note(_fig("ONNX parity", "torch output", "onnxruntime output"), "No rows checked")
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[" "] * len(tasks))
    worst = 0.0
    for i, task in enumerate(tasks):
        a = np.asarray(values[task]["torch"], dtype=np.float64).reshape(-1)
        b = np.asarray(values[task]["onnx"], dtype=np.float64).reshape(-1)
        diff = float(np.max(np.abs(a - b)))
        worst = max(worst, diff)
        if a.size > MAX_POINTS:
            idx = np.sort(np.random.default_rng(0).choice(a.size, MAX_POINTS, replace=False))
            a, b = a[idx], b[idx]
        lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
        fig.add_trace(go.Scatter(x=a.tolist(), y=b.tolist(), mode="markers", name=task, showlegend=False,
                                 marker={"size": 4, "opacity": 0.5, "color": _color(i)},
                                 hovertemplate="torch %{x:.6g}<br>onnx %{y:.6g}<extra></extra>"), 1, i + 1)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", showlegend=False, hoverinfo="skip",
                                 line={"color": "#d62728", "dash": "dash"}), 1, i + 1)
        fig.layout.annotations[i].text = f"{task} · max |Δ| {diff:.2e}"
        fig.update_xaxes(title_text="torch output", row=1, col=i + 1)
        fig.update_yaxes(title_text="onnxruntime output" if i == 0 else "", row=1, col=i + 1)
    fig.update_layout(title={"text": f"ONNX parity on the test split — max abs diff {worst:.2e}"},
                      template=TEMPLATE, margin={"l": 60, "r": 20, "t": 70, "b": 50})
    return fig
