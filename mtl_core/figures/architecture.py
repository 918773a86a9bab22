"""The architecture diagram: boxes and arrows of what each model shares."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from .common import TEMPLATE


_BOX_STYLE = {
    "input": ("#eeeeee", "#555555"),
    "shared": ("#cfe2f3", "#1f77b4"),
    "expert": ("#d9ead3", "#2ca02c"),
    "gate": ("#fff2cc", "#bf9000"),
    "tower": ("#fce5cd", "#e69138"),
    "output": ("#ffffff", "#888888"),
    "op": ("#f4cccc", "#cc0000"),
}


def _short(s: str, n: int = 14) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def architecture_diagram(arch: str, tasks: Sequence[str]) -> go.Figure:
    """Small schematic (≈ 500×300 px) of what each architecture shares between tasks.

    Boxes are layout shapes with text annotations; arrows are annotations; an invisible marker
    per box carries a hover explanation.
    """
    arch = str(arch or "").lower()
    tasks = [str(t) for t in tasks] or ["task"]
    t = len(tasks)
    fig = go.Figure()
    hover_x: list[float] = []
    hover_y: list[float] = []
    hover_t: list[str] = []

    def box(x0, x1, y0, y1, label, kind, hover=""):
        fill, line = _BOX_STYLE[kind]
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill,
                      line={"color": line, "width": 1.5}, layer="below")
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=label, showarrow=False,
                           font={"size": 10}, xref="x", yref="y")
        hover_x.append((x0 + x1) / 2)
        hover_y.append((y0 + y1) / 2)
        hover_t.append(hover or label.replace("<br>", " "))
        return ((x0 + x1) / 2, (y0 + y1) / 2, x0, x1)

    def arrow(x0, y0, x1, y1):
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.2,
                           arrowcolor="#666", text="")

    top, bottom = 0.95, 0.05
    row_h = (top - bottom) / t
    pad = min(0.02, row_h * 0.15)
    rows = [(top - (i + 1) * row_h + pad, top - i * row_h - pad) for i in range(t)]
    ymid = (top + bottom) / 2

    def outputs(tower_x1, labels=None):
        for i, (y0, y1) in enumerate(rows):
            box(0.86, 0.99, y0, y1, _short((labels or tasks)[i], 11), "output", f"Prediction for {tasks[i]}")
            arrow(tower_x1, (y0 + y1) / 2, 0.86, (y0 + y1) / 2)

    emb_txt = "Input<br>features<br>↓<br>Embeddings"
    title = {
        "linear": "Linear: one linear head per task on the embeddings",
        "single": "Single-task: a separate model per task (nothing shared)",
        "shared_bottom": "Shared-bottom: one shared MLP, one tower per task",
        "mmoe": "MMoE: shared experts, one gate per task",
        "ple": "PLE: shared + task-specific experts, gated per task",
        "esmm": "ESMM: pCTCVR = pCTR × pCVR over the whole space",
        "sklearn": "scikit-learn baseline: one independent model per task",
        "sklearn_baseline": "scikit-learn baseline: one independent model per task",
    }.get(arch, f"{arch or 'model'}: shared layers, one tower per task")

    if arch in ("single", "sklearn", "sklearn_baseline"):
        sk = arch != "single"
        for i, (y0, y1) in enumerate(rows):
            yc = (y0 + y1) / 2
            box(0.02, 0.24, y0, y1, "Features" if sk else "Own embeddings", "input",
                "Encoded feature matrix" if sk else f"Embeddings used only by {tasks[i]}")
            box(0.32, 0.76, y0, y1, ("Model" if sk else "MLP") + f" ({_short(tasks[i])})", "tower",
                f"Independent {'scikit-learn model' if sk else 'network'} for {tasks[i]}")
            arrow(0.24, yc, 0.32, yc)
        outputs(0.76)
    else:
        box(0.02, 0.17, bottom, top, emb_txt, "input", "Categorical embeddings + numeric features, shared by all tasks")
        if arch == "linear":
            for i, (y0, y1) in enumerate(rows):
                yc = (y0 + y1) / 2
                box(0.45, 0.76, y0, y1, f"Linear ({_short(tasks[i])})", "tower", f"Linear head for {tasks[i]}")
                arrow(0.17, yc, 0.45, yc)
            outputs(0.76)
        elif arch in ("mmoe", "ple"):
            if arch == "mmoe":
                ex = [("Expert 1", "Shared expert MLP"), ("Expert 2", "Shared expert MLP"),
                      ("Expert …", "More shared experts")]
            else:
                ex = [("Shared<br>experts", "Experts shared by all tasks")] + [
                    (f"{_short(tn, 10)}<br>experts", f"Experts specific to {tn}") for tn in tasks]
            m = len(ex)
            eh = (top - bottom) / m
            ecent = []
            for j, (lab, hov) in enumerate(ex):
                y1 = top - j * eh - min(0.015, eh * 0.1)
                y0 = top - (j + 1) * eh + min(0.015, eh * 0.1)
                box(0.24, 0.42, y0, y1, lab, "expert", hov)
                arrow(0.17, (y0 + y1) / 2 if m > 1 else ymid, 0.24, (y0 + y1) / 2)
                ecent.append((y0 + y1) / 2)
            for i, (y0, y1) in enumerate(rows):
                yc = (y0 + y1) / 2
                box(0.50, 0.62, y0, y1, "Gate", "gate",
                    f"Softmax gate of {tasks[i]}: mixes " + ("all experts" if arch == "mmoe"
                                                            else "shared + its own experts"))
                box(0.68, 0.80, y0, y1, "Tower", "tower", f"Task tower for {tasks[i]}")
                arrow(0.62, yc, 0.68, yc)
                src = ecent if arch == "mmoe" else [ecent[0], ecent[i + 1]]
                for ey in src:
                    arrow(0.42, ey, 0.50, yc)
            outputs(0.80)
        elif arch == "esmm":
            parent = tasks[0]
            children = tasks[1:] or ["cvr"]
            box(0.25, 0.40, bottom, top, "Shared<br>embeddings", "shared", "Embeddings shared by the CTR and CVR towers")
            arrow(0.17, ymid, 0.25, ymid)
            box(0.48, 0.66, rows[0][0], rows[0][1], f"CTR tower<br>{_short(parent)}", "tower",
                f"pCTR: probability of {parent}")
            arrow(0.40, (rows[0][0] + rows[0][1]) / 2, 0.48, (rows[0][0] + rows[0][1]) / 2)
            labels = [f"pCTR<br>{_short(parent, 11)}"]
            for i, child in enumerate(children, start=1):
                y0, y1 = rows[i] if i < len(rows) else rows[-1]
                yc = (y0 + y1) / 2
                box(0.48, 0.66, y0, y1, f"CVR tower<br>{_short(child)}", "tower",
                    f"pCVR: probability of {child} given {parent}")
                arrow(0.40, yc, 0.48, yc)
                box(0.72, 0.80, y0 + (y1 - y0) * 0.2, y1 - (y1 - y0) * 0.2, "×", "op",
                    f"pCTCVR({child}) = pCTR × pCVR")
                arrow(0.66, yc, 0.72, yc)
                arrow(0.66, (rows[0][0] + rows[0][1]) / 2, 0.72, yc)
                labels.append(f"pCTCVR<br>{_short(child, 11)}")
            arrow(0.66, (rows[0][0] + rows[0][1]) / 2, 0.86, (rows[0][0] + rows[0][1]) / 2)
            for i, (y0, y1) in enumerate(rows):
                box(0.86, 0.99, y0, y1, labels[i] if i < len(labels) else _short(tasks[i]), "output",
                    f"Prediction for {tasks[i]}")
                if i > 0:
                    arrow(0.80, (y0 + y1) / 2, 0.86, (y0 + y1) / 2)
        else:  # shared_bottom and unknown architectures
            box(0.25, 0.50, bottom, top, "Shared<br>bottom MLP", "shared", "Hidden layers shared by all tasks")
            arrow(0.17, ymid, 0.25, ymid)
            for i, (y0, y1) in enumerate(rows):
                yc = (y0 + y1) / 2
                box(0.58, 0.78, y0, y1, f"Tower<br>{_short(tasks[i], 12)}", "tower", f"Task tower for {tasks[i]}")
                arrow(0.50, yc, 0.58, yc)
            outputs(0.78)

    fig.add_trace(go.Scatter(x=hover_x, y=hover_y, mode="markers", marker={"size": 18, "opacity": 0},
                             text=hover_t, hovertemplate="%{text}<extra></extra>", showlegend=False,
                             name="components"))
    fig.update_layout(
        title={"text": title, "font": {"size": 13}}, template=TEMPLATE, height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False,
        xaxis={"visible": False, "range": [0, 1], "fixedrange": True, "title": {"text": "data flow →"}},
        yaxis={"visible": False, "range": [0, 1], "fixedrange": True, "title": {"text": "tasks"}},
        plot_bgcolor="white",
    )
    return fig
