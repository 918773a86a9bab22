"""The architecture diagram: boxes and arrows of what a model shares between tasks.

The architecture itself describes its diagram (``models.diagram``: its class's ``diagram``
classmethod, from the tasks and the ``ModelConfig``); this module only lays a ``Diagram``
out and draws it, so it draws any registered architecture and checks no names.

Every label is fitted to its box at the smallest width the app draws the figure at
(``REF_WIDTH_PX`` of plot area, the Train page's side column): its font shrinks down to
``FONT_MIN`` and a tall narrow box turns its text vertical before anything is shortened.
"""
from __future__ import annotations

import html
from dataclasses import asdict, fields, is_dataclass
from typing import Any, Sequence

import plotly.graph_objects as go

from ..config import ModelConfig
from ..models import MODELS
from .common import TEMPLATE

HEIGHT_PX = 300
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
REF_WIDTH_PX = 300  # plot-area width the labels must fit at
PLOT_HEIGHT_PX = HEIGHT_PX - MARGIN["t"] - MARGIN["b"]
CHAR_W = 0.6  # average character width / font size
LINE_H = 1.3  # line height / font size
FONT_MAX, FONT_MIN, TITLE_FONT = 11, 7, 12

_BOX_STYLE = {
    "input": ("#eeeeee", "#555555"),
    "shared": ("#cfe2f3", "#1f77b4"),
    "expert": ("#d9ead3", "#2ca02c"),
    "gate": ("#fff2cc", "#bf9000"),
    "tower": ("#fce5cd", "#e69138"),
    "output": ("#ffffff", "#888888"),
    "op": ("#f4cccc", "#cc0000"),
}
_REP_NOTE = " — the shared representation: GradNorm and the gradient diagnostics measure here"


def architecture_diagram(arch: str, tasks: Sequence, config: Any = None) -> go.Figure:
    """Schematic of architecture ``arch`` for ``tasks`` (names or ``TaskInfo``: with kinds,
    ESMM knows its binary tasks) and ``config`` (a ``ModelConfig`` or a dict of its fields,
    e.g. a run's ``config["model"]``; ``None``: the defaults), e.g. with the run's number of
    experts. The box whose output is the shared representation has a bold border."""
    return draw_diagram(MODELS.get(str(arch)).diagram(list(tasks), _model_config(arch, config)))


def _model_config(arch: str, config: Any) -> ModelConfig:
    if isinstance(config, ModelConfig):
        return config
    values = asdict(config) if is_dataclass(config) else dict(config or {})
    known = {f.name for f in fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in values.items() if k in known and k != "arch"}, arch=str(arch))


def _column_weight(boxes) -> float:
    """Relative width of a column: its longest label line (a column of one full-height box
    can turn its text vertical, so it needs little width)."""
    if len(boxes) == 1 and boxes[0].task is None:
        return 5.0
    return float(min(max(max(len(ln) for b in boxes for ln in b.label.split("\n")), 5), 12))


def _boxes_xy(diagram) -> dict[str, tuple[float, float, float, float]]:
    """Box id -> (x0, x1, y0, y1) in [0, 1]: columns left to right (as wide as their labels
    need), task rows top to bottom."""
    tasks = list(diagram.tasks)
    columns = [[b for b in diagram.boxes if b.column == c] for c in range(diagram.n_columns)]
    weights = [_column_weight(boxes) if boxes else 1.0 for boxes in columns]
    gap = 0.045
    unit = (0.98 - gap * (len(columns) - 1)) / sum(weights)
    top, bottom = 0.98, 0.02
    out, x0 = {}, 0.01
    for boxes, weight in zip(columns, weights):
        owners = [b.task for b in boxes]
        by_row = all(t in tasks for t in owners) and len(set(owners)) == len(owners)
        n = len(tasks) if by_row else len(boxes)
        slot = (top - bottom) / max(n, 1)
        pad = min(0.02, slot * 0.12)
        for i, b in enumerate(boxes):
            k = tasks.index(b.task) if by_row else i
            out[b.id] = (x0, x0 + weight * unit, top - (k + 1) * slot + pad, top - k * slot - pad)
        x0 += weight * unit + gap
    return out


def fit_label(label: str, w_px: float, h_px: float) -> tuple[list[str], float, int]:
    """Lines, font size and text angle (0 or -90) with which ``label`` fits a box of
    ``w_px`` x ``h_px`` pixels. Only when even ``FONT_MIN`` does not fit either way are the
    words re-wrapped into the lines that fit and the rest shortened with "…"."""
    lines = [ln for ln in label.split("\n") if ln] or [""]

    def size(along: float, across: float) -> float:
        longest = max(len(ln) for ln in lines) or 1
        return min(FONT_MAX, along / (CHAR_W * longest), across / (LINE_H * len(lines)))

    flat, tall = size(w_px - 4, h_px - 2), size(h_px - 4, w_px - 2)
    angle = 0 if flat >= 8 or flat >= tall else -90  # vertical only to save a tall narrow box
    font = flat if angle == 0 else tall
    if font >= FONT_MIN:
        return lines, float(int(font * 2) / 2), angle
    along, across = (w_px - 4, h_px - 2) if angle == 0 else (h_px - 4, w_px - 2)
    return _rewrap(lines, max(1, int(along / (CHAR_W * FONT_MIN))),
                   max(1, int(across / (LINE_H * FONT_MIN)))), float(FONT_MIN), angle


def _rewrap(lines: list[str], width: int, max_lines: int) -> list[str]:
    """The words of ``lines`` in at most ``max_lines`` lines of at most ``width`` characters."""
    out: list[str] = []
    for word in " ".join(lines).split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > max_lines:
        out = out[:max_lines]
        out[-1] = out[-1][: width - 1] + "…"
    return [ln if len(ln) <= width else ln[: width - 1] + "…" for ln in out]


def draw_diagram(diagram) -> go.Figure:
    """The figure of a ``models.diagram.Diagram``: boxes are layout shapes with fitted text
    annotations, arrows are annotations, and an invisible marker per box carries its hover."""
    xy = _boxes_xy(diagram)
    rep = set(diagram.representation)
    fig = go.Figure()
    hover_x, hover_y, hover_t = [], [], []
    for b in diagram.boxes:
        x0, x1, y0, y1 = xy[b.id]
        fill, line = _BOX_STYLE[b.kind]
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill, layer="below",
                      line={"color": line, "width": 3 if b.id in rep else 1.2})
        lines, font, angle = fit_label(b.label, (x1 - x0) * REF_WIDTH_PX, (y1 - y0) * PLOT_HEIGHT_PX)
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text="<br>".join(html.escape(ln) for ln in lines),
                           showarrow=False, font={"size": font}, textangle=angle, xref="x", yref="y", name=b.id)
        hover_x.append((x0 + x1) / 2)
        hover_y.append((y0 + y1) / 2)
        hover_t.append(html.escape(b.hover + (_REP_NOTE if b.id in rep else "")))
    for src, dst in diagram.arrows:
        (_, sx1, sy0, sy1), (dx0, _, dy0, dy1) = xy[src], xy[dst]
        fig.add_annotation(x=dx0, y=(dy0 + dy1) / 2, ax=sx1, ay=(sy0 + sy1) / 2, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.1,
                           arrowcolor="#666", text="")
    fig.add_trace(go.Scatter(x=hover_x, y=hover_y, mode="markers", marker={"size": 18, "opacity": 0},
                             text=hover_t, hovertemplate="%{text}<extra></extra>", showlegend=False,
                             name="components"))
    fig.update_layout(
        title={"text": html.escape(diagram.title), "font": {"size": TITLE_FONT}}, template=TEMPLATE,
        height=HEIGHT_PX, margin=MARGIN, showlegend=False, plot_bgcolor="white",
        xaxis={"visible": False, "range": [0, 1], "fixedrange": True, "title": {"text": "data flow →"}},
        yaxis={"visible": False, "range": [0, 1], "fixedrange": True, "title": {"text": "tasks"}},
    )
    return fig
