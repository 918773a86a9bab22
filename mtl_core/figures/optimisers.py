"""The optimiser lab's figure: loss curves of several optimiser / initialisation combinations
overlaid (colour = optimiser, dash = initialisation)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .common import _color, _empty_note, _fig

_DASH = ["solid", "dash", "dot", "dashdot", "longdash"]


def optimiser_curves(curves: pd.DataFrame, split: str = "val", log_y: bool = False) -> go.Figure:
    """Mean loss over the tasks per epoch, one line per combination (``curves``: columns
    ``label, optimiser, init, epoch, split, loss``, as ``lab.optimiser_lab`` returns); ``split``
    ``train`` or ``val``. Same optimiser = same colour, same initialisation = same dash."""
    what = "validation" if split == "val" else "training"
    fig = _fig(f"Optimisers and initialisations: {what} loss", "Epoch", f"Mean {what} loss over tasks")
    if curves is None or len(curves) == 0 or not (curves["split"] == split).any():
        return _empty_note(fig, "No curves yet")
    d = curves[curves["split"] == split]
    opts = list(dict.fromkeys(d["optimiser"].astype(str)))
    inits = list(dict.fromkeys(d["init"].astype(str)))
    for label, g in d.groupby(d["label"].astype(str), sort=False):
        g = g.sort_values("epoch")
        o, i = opts.index(str(g["optimiser"].iloc[0])), inits.index(str(g["init"].iloc[0]))
        fig.add_trace(go.Scatter(
            x=g["epoch"].astype(int).tolist(), y=pd.to_numeric(g["loss"], errors="coerce").tolist(),
            mode="lines+markers", name=label, marker={"size": 5},
            line={"color": _color(o), "dash": _DASH[i % len(_DASH)], "width": 2},
            hovertemplate=f"{label}<br>epoch %{{x}}<br>loss %{{y:.4f}}<extra></extra>",
        ))
    fig.update_xaxes(dtick=1 if d["epoch"].max() <= 20 else None)
    if log_y:
        fig.update_yaxes(type="log")
    return fig
