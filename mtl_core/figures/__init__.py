"""Pure Plotly figure builders for MTL Lab (no Streamlit).

Every builder returns a ``plotly.graph_objects.Figure`` with a title and axis titles (the
architecture diagram hides its axes) so that the pages only call ``st.plotly_chart``. Inputs
are the JSON-safe structures produced by ``mtl_core.evaluation.metrics`` and the trainer's history
frames; builders never mutate their inputs and cope with empty inputs (an annotated empty
figure instead of an exception).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "loss_curves", "metric_bars", "confusion_heatmap", "roc_curves", "pr_curves",
    "calibration_plot", "pred_vs_actual", "residuals_hist", "missing_bar", "distribution",
    "label_balance", "ranking_bars", "task_weights_over_time", "grad_cosine_heatmap",
    "grad_norms_over_time", "cosine_over_time", "gate_heatmap", "pareto_plot", "pareto_front",
    "correlation_lab_plot", "runs_overlay", "architecture_diagram",
]

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]
TEMPLATE = "plotly_white"
MAX_SCATTER_POINTS = 5000


# --------------------------------------------------------------------------- helpers
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


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


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


# --------------------------------------------------------------------------- training curves
def loss_curves(history: pd.DataFrame) -> go.Figure:
    """One line per task × split (train solid, val dashed); x "Epoch", y "Loss"."""
    fig = _fig("Loss per task", "Epoch", "Loss", hovermode="x unified")
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
    return fig


def task_weights_over_time(history_weights: pd.DataFrame) -> go.Figure:
    """Loss weight of each task per epoch (columns epoch, task, weight)."""
    return _lines_by(history_weights, "task", "weight", "Task weights over training", "Task weight",
                     "weight %{y:.3f}")


def grad_norms_over_time(df: pd.DataFrame) -> go.Figure:
    """L2 norm of each task's gradient on the shared parameters per epoch (epoch, task, grad_norm)."""
    return _lines_by(df, "task", "grad_norm", "Gradient norms on shared parameters",
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
    return fig


def runs_overlay(histories: dict, per_task: bool = False) -> go.Figure:
    """Validation loss of several runs (mean over tasks per epoch, or one line per run × task).

    Falls back to the train split for a run without validation rows.
    """
    y_title = "Validation loss" + ("" if per_task else " (mean over tasks)")
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
    return fig


# --------------------------------------------------------------------------- classification
_BAR_METRICS = [("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"), ("accuracy", "Accuracy")]


def metric_bars(metrics: dict) -> go.Figure:
    """Grouped bars of precision / recall / F1 / accuracy for every binary task."""
    fig = _fig("Classification metrics per binary task", "Task", "Score (0–1)", barmode="group")
    fig.update_yaxes(range=[0, 1.05])
    tasks = {k: v for k, v in _per_task(metrics).items() if v.get("kind", "binary") == "binary"}
    if not tasks:
        return _empty_note(fig, "No binary task")
    names = list(tasks)
    for i, (key, label) in enumerate(_BAR_METRICS):
        ys = [_num(tasks[t].get(key)) for t in names]
        fig.add_trace(go.Bar(
            x=names, y=ys, name=label, marker_color=_color(i),
            text=[_fmt(v) for v in ys], textposition="outside",
            customdata=[_fmt(tasks[t].get("threshold"), 2) for t in names],
            hovertemplate=f"%{{x}}<br>{label} %{{y:.3f}}<br>threshold %{{customdata}}<extra></extra>",
        ))
    fig.update_xaxes(type="category")
    return fig


def confusion_heatmap(confusion: Sequence[Sequence[float]], labels: Sequence[Any] | None = None,
                      title: str = "Confusion matrix") -> go.Figure:
    """Counts annotated in the cells, row percentages (share of the actual class) in the hover."""
    z = np.asarray(confusion, dtype=np.float64)
    if z.ndim != 2:
        z = z.reshape(0, 0)
    k = z.shape[0]
    labels = [str(v) for v in (labels if labels is not None and len(labels) == k else range(k))]
    fig = _fig(title or "Confusion matrix", "Predicted", "Actual")
    if z.size == 0:
        return _empty_note(fig)
    rows = z.sum(axis=1, keepdims=True)
    share = np.divide(z, rows, out=np.zeros_like(z), where=rows > 0)
    counts = [[int(v) for v in row] for row in z.tolist()]
    fig.add_trace(go.Heatmap(
        z=counts, x=labels, y=labels, colorscale="Blues", showscale=True,
        text=[[f"{v:,}" for v in row] for row in counts], texttemplate="%{text}",
        customdata=share.tolist(),
        colorbar={"title": {"text": "Rows"}},
        hovertemplate="Actual %{y}<br>Predicted %{x}<br>Count %{z:,}<br>"
                      "Share of actual %{customdata:.1%}<extra></extra>",
    ))
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def _curve_part(c: dict, part: str) -> dict:
    if not isinstance(c, dict):
        return {}
    return c.get(part, c) if part in c else c


def roc_curves(curves_by_task: dict) -> go.Figure:
    """ROC curve per task (legend shows AUC when ``roc["auc"]`` or ``"auc"`` is supplied) + chance line."""
    fig = _fig("ROC curves", "False positive rate", "True positive rate")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        roc = _curve_part(c, "roc")
        if not roc.get("fpr"):
            continue
        auc = roc.get("auc", c.get("auc") if isinstance(c, dict) else None)
        name = f"{task} (AUC {_fmt(auc)})" if _num(auc) is not None else str(task)
        fig.add_trace(go.Scatter(
            x=roc["fpr"], y=roc["tpr"], mode="lines", name=name, line={"color": _color(i)},
            customdata=roc.get("thresholds"),
            hovertemplate=f"{task}<br>FPR %{{x:.3f}}<br>TPR %{{y:.3f}}"
                          + ("<br>threshold %{customdata:.3f}" if roc.get("thresholds") else "")
                          + "<extra></extra>",
        ))
        n += 1
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Chance",
                             line={"color": "#999", "dash": "dash"}, hoverinfo="skip"))
    if n == 0:
        _empty_note(fig, "No ROC curve (a task needs both classes)")
    return fig


def pr_curves(curves_by_task: dict) -> go.Figure:
    """Precision–recall curve per task (legend shows AP when ``pr["ap"]`` or ``"ap"`` is supplied)."""
    fig = _fig("Precision–recall curves", "Recall", "Precision")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        pr = _curve_part(c, "pr")
        if not pr.get("recall"):
            continue
        ap = pr.get("ap", c.get("ap") if isinstance(c, dict) else None)
        name = f"{task} (AP {_fmt(ap)})" if _num(ap) is not None else str(task)
        fig.add_trace(go.Scatter(
            x=pr["recall"], y=pr["precision"], mode="lines", name=name, line={"color": _color(i)},
            customdata=pr.get("thresholds"),
            hovertemplate=f"{task}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}"
                          + ("<br>threshold %{customdata:.3f}" if pr.get("thresholds") else "")
                          + "<extra></extra>",
        ))
        n += 1
    if n == 0:
        _empty_note(fig, "No precision–recall curve (a task needs positives)")
    return fig


def calibration_plot(curves_by_task: dict) -> go.Figure:
    """Reliability diagram per task (mean predicted vs observed positive rate) with the diagonal."""
    fig = _fig("Calibration (reliability diagram)", "Mean predicted probability", "Observed positive rate")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfectly calibrated",
                             line={"color": "#999", "dash": "dash"}, hoverinfo="skip"))
    n = 0
    for i, (task, c) in enumerate((curves_by_task or {}).items()):
        cal = _curve_part(c, "calibration")
        if not cal.get("prob_pred"):
            continue
        fig.add_trace(go.Scatter(
            x=cal["prob_pred"], y=cal["prob_true"], mode="lines+markers", name=str(task),
            line={"color": _color(i)}, customdata=cal.get("count"),
            hovertemplate=f"{task}<br>predicted %{{x:.3f}}<br>observed %{{y:.3f}}"
                          + ("<br>rows %{customdata:,}" if cal.get("count") else "") + "<extra></extra>",
        ))
        n += 1
    if n == 0:
        _empty_note(fig, "No calibration data")
    return fig


# --------------------------------------------------------------------------- regression
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


# --------------------------------------------------------------------------- data overview
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
        for label, vals, col in (("Positive", [r for _, r in bin_tasks], _color(0)),
                                 ("Negative", [1 - r for _, r in bin_tasks], "#c7c7c7")):
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
    return fig


# --------------------------------------------------------------------------- ranking
def ranking_bars(ranking: dict) -> go.Figure:
    """GAUC, NDCG@K and Hit@K per task (``evaluate()["ranking"]`` or the whole ``evaluate`` output)."""
    if isinstance(ranking, dict) and "ranking" in ranking and isinstance(ranking["ranking"], dict):
        ranking = ranking["ranking"]
    ranking = {k: v for k, v in (ranking or {}).items() if isinstance(v, dict)}
    fig = _fig("Ranking quality per task (per user)", "Task", "Score (0–1)", barmode="group")
    fig.update_yaxes(range=[0, 1.05])
    if not ranking:
        return _empty_note(fig, "No ranking metrics (needs a user id column)")
    names = list(ranking)
    keys: list[str] = []
    for m in ranking.values():
        for key in m:
            if key.startswith(("gauc", "ndcg@", "hit@")) and key not in keys:
                keys.append(key)
    pretty = {"gauc": "GAUC"}
    for i, key in enumerate(keys):
        label = pretty.get(key, key.replace("ndcg@", "NDCG@").replace("hit@", "Hit@"))
        ys = [_num(ranking[t].get(key)) for t in names]
        users = [ranking[t].get("users_gauc" if key == "gauc" else "users") for t in names]
        fig.add_trace(go.Bar(
            x=names, y=ys, name=label, marker_color=_color(i), text=[_fmt(v) for v in ys],
            textposition="outside", customdata=[u if u is not None else "n/a" for u in users],
            hovertemplate=f"%{{x}}<br>{label} %{{y:.3f}}<br>users %{{customdata}}<extra></extra>",
        ))
    fig.update_xaxes(type="category")
    return fig


# --------------------------------------------------------------------------- MTL diagnostics
def _pair_value(cosine: dict, a: str, b: str) -> float | None:
    for key in (f"{a}|{b}", f"{b}|{a}"):
        if key in cosine:
            return _num(cosine[key])
    return None


def grad_cosine_heatmap(cosine: dict, tasks: Sequence[str]) -> go.Figure:
    """Symmetric task × task matrix of gradient cosine similarity (``"a|b"`` keys), 1 on the diagonal."""
    tasks = [str(t) for t in tasks]
    k = len(tasks)
    z: list[list[float | None]] = [[None] * k for _ in range(k)]
    for i, a in enumerate(tasks):
        z[i][i] = 1.0
        for j in range(i + 1, k):
            v = _pair_value(cosine or {}, a, tasks[j])
            z[i][j] = z[j][i] = v
    fig = _fig("Gradient cosine similarity between tasks", "Task", "Task")
    if k == 0:
        return _empty_note(fig, "No task")
    fig.add_trace(go.Heatmap(
        z=z, x=tasks, y=tasks, zmin=-1, zmax=1, zmid=0, colorscale="RdBu",
        text=[["" if v is None else f"{v:.2f}" for v in row] for row in z], texttemplate="%{text}",
        colorbar={"title": {"text": "cosine"}}, hoverongaps=False,
        hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def gate_heatmap(gates: dict) -> go.Figure:
    """Mean gate weight of each task (rows) on each expert (columns "Expert 1..E").

    Rows of different length (PLE: shared + own experts) are padded with blanks.
    """
    tasks = [str(t) for t in (gates or {})]
    rows = [[_num(v) for v in np.asarray(w, dtype=np.float64).reshape(-1)] for w in (gates or {}).values()]
    e = max((len(r) for r in rows), default=0)
    z = [r + [None] * (e - len(r)) for r in rows]
    experts = [f"Expert {i + 1}" for i in range(e)]
    fig = _fig("Gate weights per task", "Expert", "Task")
    if not tasks or e == 0:
        return _empty_note(fig, "No gates (only MMoE/PLE have gates)")
    fig.add_trace(go.Heatmap(
        z=z, x=experts, y=tasks, zmin=0, zmax=max(1e-9, max(v for r in z for v in r if v is not None)),
        colorscale="Viridis", text=[["" if v is None else f"{v:.2f}" for v in r] for r in z],
        texttemplate="%{text}", colorbar={"title": {"text": "weight"}}, hoverongaps=False,
        hovertemplate="%{y} → %{x}<br>weight %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


# --------------------------------------------------------------------------- Pareto / experiments
def pareto_front(xs: Any, ys: Any, maximize: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """Boolean mask of non-dominated points (a point is dominated when another one is at least as
    good on both axes and strictly better on one). NaN points are never on the front."""
    x = np.asarray(xs, dtype=np.float64).reshape(-1)
    y = np.asarray(ys, dtype=np.float64).reshape(-1)
    if not maximize[0]:
        x = -x
    if not maximize[1]:
        y = -y
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.size, dtype=bool)
    xv, yv = x[ok], y[ok]
    n = xv.size
    if n == 0:
        return out
    dominated = np.zeros(n, dtype=bool)
    step = max(1, 2_000_000 // max(n, 1))
    for s in range(0, n, step):
        xi, yi = xv[s:s + step, None], yv[s:s + step, None]
        ge = (xv[None, :] >= xi) & (yv[None, :] >= yi)
        gt = (xv[None, :] > xi) | (yv[None, :] > yi)
        dominated[s:s + step] = (ge & gt).any(axis=1)
    out[np.flatnonzero(ok)] = ~dominated
    return out


_KIND_STYLE = {
    "sweep": {"symbol": "circle", "color": "#7f7f7f", "size": 8, "name": "Weight sweep"},
    "single": {"symbol": "diamond", "color": "#d62728", "size": 12, "name": "Single-task"},
    "learned": {"symbol": "star", "color": "#1f77b4", "size": 14, "name": "Learned weighting"},
}


def pareto_plot(points: pd.DataFrame, metric_x: str, metric_y: str, front: Any = None,
                maximize: tuple[bool, bool] = (True, True)) -> go.Figure:
    """Trade-off between two task metrics: points by kind, the Pareto front drawn as a line.

    ``points`` has columns x, y, label, kind ('sweep'|'single'|'learned'). The front is
    ``front`` (list of row positions or a boolean mask), else a bool column ``pareto``, else
    computed with ``pareto_front(maximize=...)``.
    """
    fig = _fig(f"Trade-off: {metric_x} vs {metric_y}", metric_x, metric_y)
    if points is None or len(points) == 0:
        return _empty_note(fig, "No points yet")
    p = points.reset_index(drop=True)
    if "label" not in p.columns:
        p["label"] = [str(i) for i in range(len(p))]
    if "kind" not in p.columns:
        p["kind"] = "sweep"
    n = len(p)
    if front is not None:
        arr = np.asarray(front)
        if arr.dtype == bool and arr.size == n:
            mask = arr.astype(bool)
        else:
            mask = np.zeros(n, dtype=bool)
            mask[np.asarray(arr, dtype=np.int64).reshape(-1)] = True
    elif "pareto" in p.columns:
        mask = p["pareto"].fillna(False).astype(bool).to_numpy()
    else:
        mask = pareto_front(p["x"], p["y"], maximize)
    kinds = list(dict.fromkeys(["sweep", "single", "learned"] + p["kind"].astype(str).tolist()))
    for i, kind in enumerate(kinds):
        d = p[p["kind"].astype(str) == kind]
        if d.empty:
            continue
        st = _KIND_STYLE.get(kind, {"symbol": "square", "color": _color(i + 4), "size": 10, "name": kind})
        fig.add_trace(go.Scatter(
            x=d["x"].astype(float).tolist(), y=d["y"].astype(float).tolist(), mode="markers",
            name=st["name"], text=d["label"].astype(str).tolist(),
            marker={"symbol": st["symbol"], "color": st["color"], "size": st["size"],
                    "line": {"width": 1, "color": "white"}},
            hovertemplate=f"%{{text}}<br>{metric_x} %{{x:.4f}}<br>{metric_y} %{{y:.4f}}<extra></extra>",
        ))
    f = p[mask].sort_values("x")
    if not f.empty:
        fig.add_trace(go.Scatter(
            x=f["x"].astype(float).tolist(), y=f["y"].astype(float).tolist(), mode="lines",
            name="Pareto front", line={"color": "#2ca02c", "width": 2, "dash": "dot"},
            text=f["label"].astype(str).tolist(),
            hovertemplate="front: %{text}<extra></extra>",
        ))
    return fig


def correlation_lab_plot(df: pd.DataFrame, value_col: str | None = None, metric_name: str | None = None,
                         std_col: str = "std") -> go.Figure:
    """Metric vs task correlation, one line per model, with ±std error bars when ``std`` is present.

    The value column is ``value_col``, else ``value``, else the first other numeric column.
    """
    fig_title = "Effect of task correlation"
    if df is None or len(df) == 0 or not {"correlation", "model"} <= set(df.columns):
        return _empty_note(_fig(fig_title, "Task correlation", metric_name or "Metric"), "No results yet")
    if value_col is None:
        if "value" in df.columns:
            value_col = "value"
        else:
            cand = [c for c in df.columns if c not in ("correlation", "model", std_col, "seed")
                    and pd.api.types.is_numeric_dtype(df[c])]
            value_col = cand[0] if cand else "value"
    fig = _fig(f"{fig_title} on {metric_name or value_col}", "Task correlation", metric_name or value_col)
    has_std = std_col in df.columns and df[std_col].notna().any()
    for i, (model, d) in enumerate(df.groupby(df["model"].astype(str), sort=False)):
        d = d.sort_values("correlation")
        err = None
        if has_std:
            err = {"type": "data", "array": [(_num(v) or 0.0) for v in d[std_col].tolist()], "visible": True}
        fig.add_trace(go.Scatter(
            x=d["correlation"].astype(float).tolist(), y=d[value_col].astype(float).tolist(),
            mode="lines+markers", name=str(model), line={"color": _color(i)}, error_y=err,
            hovertemplate=f"{model}<br>correlation %{{x:.2f}}<br>{metric_name or value_col} %{{y:.4f}}<extra></extra>",
        ))
    return fig


# --------------------------------------------------------------------------- architecture
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
