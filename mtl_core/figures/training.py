"""Training figures: loss curves, task weights, gradient norms and cosines over epochs, run overlays."""
from __future__ import annotations


import pandas as pd
import plotly.graph_objects as go

from .common import _color, _fig, _empty_note, whole_epochs


def loss_curves(history: pd.DataFrame) -> go.Figure:
    """One line per task × split (train solid, val dashed); x "Epoch", y "Loss"."""
    fig = _fig("Loss per task", "Epoch", "Loss (lower is better)", hovermode="x unified")
    if history is None or len(history) == 0 or not {"epoch", "task", "loss"} <= set(history.columns):
        return _empty_note(fig, "No training history yet")
    h = history.copy()
    if "split" not in h.columns:
        h["split"] = "train"
    tasks = list(dict.fromkeys(h["task"].astype(str)))
    splits = [s for s in ("train", "val") if s in set(h["split"].astype(str))]
    splits += [s for s in dict.fromkeys(h["split"].astype(str)) if s not in splits]
    for i, task in enumerate(tasks):
        for split in splits:
            d = h[(h["task"].astype(str) == task) & (h["split"].astype(str) == split)].sort_values("epoch")
            if d.empty:
                continue
            fig.add_trace(go.Scatter(
                x=d["epoch"].tolist(), y=d["loss"].astype(float).tolist(), mode="lines+markers",
                name=f"{task} · {split}", legendgroup=task,
                line={"color": _color(i), "dash": "solid" if split == "train" else "dash"},
                marker={"size": 5},
                hovertemplate=f"{task} ({split})<br>epoch %{{x}}<br>loss %{{y:.4f}}<extra></extra>",
            ))
    return whole_epochs(fig)


def task_weights_over_time(history_weights: pd.DataFrame) -> go.Figure:
    """Loss weight of each task per epoch (columns epoch, task, weight)."""
    return _lines_by(history_weights, "task", "weight", "Task weights over training", "Task weight",
                     "weight %{y:.3f}")


def grad_norms_over_time(df: pd.DataFrame) -> go.Figure:
    """L2 norm of each task's gradient on the shared representation per epoch (epoch, task, grad_norm)."""
    return _lines_by(df, "task", "grad_norm", "Gradient norms on the shared representation",
                     "Gradient norm (L2)", "norm %{y:.4g}")


def cosine_over_time(df: pd.DataFrame) -> go.Figure:
    """Cosine similarity between task gradients per epoch (epoch, pair, cosine)."""
    fig = _lines_by(df, "pair", "cosine", "Gradient cosine similarity between tasks",
                    "Cosine similarity", "cosine %{y:.3f}")
    fig.update_yaxes(range=[-1.05, 1.05])
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot", "width": 1})
    return fig


def _lines_by(df: pd.DataFrame, group: str, value: str, title: str, y_title: str, hover: str) -> go.Figure:
    fig = _fig(title, "Epoch", y_title, hovermode="x unified")
    if df is None or len(df) == 0 or not {"epoch", group, value} <= set(df.columns):
        return _empty_note(fig, "No data recorded yet")
    for i, (key, d) in enumerate(df.groupby(df[group].astype(str), sort=False)):
        d = d.sort_values("epoch")
        fig.add_trace(go.Scatter(
            x=d["epoch"].tolist(), y=d[value].astype(float).tolist(), mode="lines+markers",
            name=str(key), line={"color": _color(i)}, marker={"size": 5},
            hovertemplate=f"{key}<br>epoch %{{x}}<br>{hover}<extra></extra>",
        ))
    return whole_epochs(fig)


def runs_overlay(histories: dict, per_task: bool = False) -> go.Figure:
    """Validation loss of several runs (mean over tasks per epoch, or one line per run × task).

    Falls back to the train split for a run without validation rows.
    """
    y_title = "Validation loss" + ("" if per_task else " (mean over tasks)") + " · lower is better"
    fig = _fig("Validation loss across runs", "Epoch", y_title, hovermode="x unified")
    dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
    n = 0
    for i, (run, h) in enumerate((histories or {}).items()):
        if h is None or len(h) == 0 or not {"epoch", "task", "loss"} <= set(h.columns):
            continue
        d = h
        if "split" in d.columns:
            d = h[h["split"].astype(str) == "val"]
            if d.empty:
                d = h[h["split"].astype(str) == "train"]
        tasks = [t for t in dict.fromkeys(d["task"].astype(str)) if t not in ("total", "_total", "__total__")]
        if tasks:
            d = d[d["task"].astype(str).isin(tasks)]
        if per_task:
            for j, (task, dt) in enumerate(d.groupby(d["task"].astype(str), sort=False)):
                dt = dt.sort_values("epoch")
                fig.add_trace(go.Scatter(
                    x=dt["epoch"].tolist(), y=dt["loss"].astype(float).tolist(), mode="lines",
                    name=f"{run} · {task}", legendgroup=str(run),
                    line={"color": _color(i), "dash": dashes[j % len(dashes)]},
                    hovertemplate=f"{run} · {task}<br>epoch %{{x}}<br>loss %{{y:.4f}}<extra></extra>",
                ))
                n += 1
        else:
            m = d.groupby("epoch", sort=True)["loss"].mean()
            fig.add_trace(go.Scatter(
                x=m.index.tolist(), y=m.astype(float).tolist(), mode="lines+markers", name=str(run),
                line={"color": _color(i)}, marker={"size": 5},
                hovertemplate=f"{run}<br>epoch %{{x}}<br>mean loss %{{y:.4f}}<extra></extra>",
            ))
            n += 1
    if n == 0:
        _empty_note(fig, "No run histories to compare")
    return whole_epochs(fig)
