"""Trade-off lab figures: gradient-conflict and gate heatmaps, Pareto fronts, the correlation lab."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..lab.front import pareto_front
from ..values import finite as _num
from .common import TEMPLATE, _color, _empty_note, _fig, direction, titled


def _pair_value(cosine: dict, a: str, b: str) -> float | None:
    for key in (f"{a}|{b}", f"{b}|{a}"):
        if key in cosine:
            return _num(cosine[key])
    return None


def grad_cosine_heatmap(cosine: dict, tasks: Sequence[str], se: dict | None = None) -> go.Figure:
    """Symmetric task × task matrix of gradient cosine similarity (``"a|b"`` keys), 1 on the
    diagonal, on a fixed −1..1 scale; ``se`` (same keys: standard errors over seeds) adds
    '± se' to the cells."""
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
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in z]
    for i, a in enumerate(tasks):
        for j in range(k):
            e = _pair_value(se or {}, a, tasks[j]) if i != j else None
            if e is not None and text[i][j]:
                text[i][j] += f" ± {e:.2f}"
    fig.add_trace(go.Heatmap(
        z=z, x=tasks, y=tasks, zmin=-1, zmax=1, zmid=0, colorscale="RdBu",
        text=text, texttemplate="%{text}",
        colorbar={"title": {"text": "cosine"}}, hoverongaps=False,
        hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def gate_columns(gates: dict, experts: dict | None = None) -> tuple[list[str], dict[str, list[str]]]:
    """(column names, expert names of each gate row in gate order). ``experts`` maps a gate key
    to its experts' names (``models.gate_experts``: PLE's rows mix a task's own experts with the
    shared ones); without it every row's experts are "Expert 1..E". Columns list the experts
    every row uses (shared) first, then the others in order of appearance."""
    names = {}
    for key, w in (gates or {}).items():
        n = int(np.asarray(w, dtype=np.float64).size)
        given = list((experts or {}).get(key) or [])
        names[str(key)] = given if len(given) == n else [f"Expert {i + 1}" for i in range(n)]
    order = list(dict.fromkeys(x for row in names.values() for x in row))
    shared = [x for x in order if all(x in row for row in names.values())]
    return shared + [x for x in order if x not in shared], names


def _gate_scale(uniform: float) -> list:
    """Blue below the uniform weight, white at it, red above: no specialisation looks white."""
    u = min(max(uniform, 1e-6), 1 - 1e-6)
    return [[0.0, "#2166ac"], [u, "#f7f7f7"], [1.0, "#b2182b"]]


def gate_heatmap(gates: dict, experts: dict | None = None, se: dict | None = None) -> go.Figure:
    """Mean gate weight of each task (rows) on each expert (columns, see ``gate_columns``) on a
    fixed 0–1 colour scale whose white point is the uniform weight 1/E (E: experts per gate),
    marked on the colour bar. Cells a row's gate cannot reach are blank. ``se`` (same keys and
    shapes: standard errors over seeds) adds '± se' to the cells."""
    cols, names = gate_columns(gates, experts)
    tasks = list(names)
    fig = _fig("Gate weights per task", "Expert", "Task")
    if not tasks or not cols:
        return _empty_note(fig, "No gates (only MMoE/PLE have gates)")
    z = [[None] * len(cols) for _ in tasks]
    text = [[""] * len(cols) for _ in tasks]
    for i, (key, w) in enumerate((gates or {}).items()):
        vals = np.asarray(w, dtype=np.float64).reshape(-1)
        errs = np.asarray(se[key], dtype=np.float64).reshape(-1) if se and se.get(key) is not None else None
        for j, name in enumerate(names[str(key)]):
            c = cols.index(name)
            z[i][c] = _num(vals[j])
            text[i][c] = "" if z[i][c] is None else f"{vals[j]:.2f}" + (f" ± {errs[j]:.2f}" if errs is not None else "")
    e = max(len(r) for r in names.values())
    uniform = 1.0 / e
    fig.add_trace(go.Heatmap(
        z=z, x=cols, y=tasks, zmin=0, zmax=1, colorscale=_gate_scale(uniform), text=text,
        texttemplate="%{text}", hoverongaps=False,
        colorbar={"title": {"text": "weight"}, "tickvals": [0, uniform, 0.5, 1],
                  "ticktext": ["0", f"uniform 1/{e} = {uniform:.2f}", "0.5", "1"]},
        hovertemplate="%{y} → %{x}<br>weight %{z:.3f}<extra></extra>",
    ))
    fig.update_layout(title={"text": f"Gate weights per task (white = uniform 1/{e})"})
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


_KIND_STYLE = {
    "sweep": {"symbol": "circle", "color": "#7f7f7f", "size": 8, "name": "Weight sweep"},
    "single": {"symbol": "diamond", "color": "#d62728", "size": 12, "name": "Single-task"},
    "learned": {"symbol": "star", "color": "#1f77b4", "size": 14, "name": "Learned weighting"},
}


def _front_mask(p: pd.DataFrame, front: Any, maximize: tuple[bool, bool]) -> np.ndarray:
    n = len(p)
    if front is not None:
        arr = np.asarray(front)
        if arr.dtype == bool and arr.size == n:
            return arr.astype(bool)
        mask = np.zeros(n, dtype=bool)
        mask[np.asarray(arr, dtype=np.int64).reshape(-1)] = True
        return mask
    if "pareto" in p.columns:
        return p["pareto"].fillna(False).astype(bool).to_numpy()
    return pareto_front(p["x"], p["y"], maximize)


def _errors(d: pd.DataFrame, col: str) -> dict | None:
    if col not in d.columns or not pd.to_numeric(d[col], errors="coerce").notna().any():
        return None
    return {"type": "data", "array": [(_num(v) or 0.0) for v in d[col].tolist()], "visible": True, "thickness": 1}


def _point_text(d: pd.DataFrame) -> list[str]:
    """'0.25 / 0.75' for fixed weights, the label otherwise."""
    if "weight_a" not in d.columns:
        return d["label"].astype(str).tolist()
    return [f"{_num(a):.2f} / {_num(b):.2f}" if _num(a) is not None and _num(b) is not None else str(lab)
            for a, b, lab in zip(d["weight_a"], d.get("weight_b", d["weight_a"]), d["label"])]


def pareto_plot(points: pd.DataFrame, metric_x: str, metric_y: str, front: Any = None,
                maximize: tuple[bool, bool] = (True, True)) -> go.Figure:
    """Trade-off between two task metrics: points by kind, labelled with their weights
    ``w_a / w_b`` and joined in weight order, the Pareto front drawn as a line. Axis titles say
    which way is better (``maximize``).

    ``points`` has columns x, y, label, kind ('sweep'|'single'|'learned'), optionally
    weight_a / weight_b and x_se / y_se (standard errors over seeds, drawn as error bars).
    The front is ``front`` (row positions or a boolean mask), else a bool column ``pareto``,
    else computed with ``pareto_front(maximize=...)``.
    """
    fig = _fig(f"Trade-off: {metric_x} vs {metric_y}", f"{metric_x} · {direction('', maximize[0])}",
               f"{metric_y} · {direction('', maximize[1])}")
    if points is None or len(points) == 0:
        return _empty_note(fig, "No points yet")
    p = points.reset_index(drop=True)
    if "label" not in p.columns:
        p["label"] = [str(i) for i in range(len(p))]
    if "kind" not in p.columns:
        p["kind"] = "sweep"
    mask = _front_mask(p, front, maximize)
    sweep = p[p["kind"].astype(str) == "sweep"]
    if "weight_a" in sweep.columns and len(sweep) > 1:
        sweep = sweep.sort_values("weight_a")
        fig.add_trace(go.Scatter(x=sweep["x"].astype(float).tolist(), y=sweep["y"].astype(float).tolist(),
                                 mode="lines", name="weights in order", hoverinfo="skip",
                                 line={"color": "#bbbbbb", "width": 1}))
    kinds = list(dict.fromkeys(["sweep", "single", "learned"] + p["kind"].astype(str).tolist()))
    for i, kind in enumerate(kinds):
        d = p[p["kind"].astype(str) == kind]
        if d.empty:
            continue
        st = _KIND_STYLE.get(kind, {"symbol": "square", "color": _color(i + 4), "size": 10, "name": kind})
        fig.add_trace(go.Scatter(
            x=d["x"].astype(float).tolist(), y=d["y"].astype(float).tolist(), mode="markers+text",
            name=st["name"], text=_point_text(d), textposition="top center", textfont={"size": 10},
            error_x=_errors(d, "x_se"), error_y=_errors(d, "y_se"),
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


def correlation_task_plot(d: pd.DataFrame, task: str, view: str = "metric") -> go.Figure:
    """One task of a correlation-lab result (rows correlation, model, metric, value, std,
    vs_single, vs_single_se). ``view="metric"``: the test metric per model, the y title saying
    whether higher or lower is better. ``view="vs_single"``: the paired improvement over the
    single-task model, always oriented so that up is better (for RMSE: single-task RMSE minus
    the model's), with standard-error bars and a zero line."""
    metric = str(d["metric"].iloc[0]) if len(d) and "metric" in d.columns else "metric"
    name = metric.upper()
    if view == "metric":
        return correlation_lab_plot(d, value_col="value", metric_name=titled(f"{name} {task} (test)", metric))
    lower = direction(metric) == "lower is better"
    what = (f"{name} {task}: single-task − model" if lower else f"{name} {task}: model − single-task")
    dd = d[d["model"] != "single"]
    err = "vs_single_se" if "vs_single_se" in dd.columns else "vs_single_std"
    dd = dd.drop(columns=[c for c in ("std",) if c in dd.columns]).rename(columns={err: "std"})
    fig = correlation_lab_plot(dd, value_col="vs_single", metric_name=titled(what, metric, True))
    fig.update_layout(title={"text": f"{name} {task}: improvement over single-task (up is better)"})
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot", "width": 1})
    return fig


def paired_difference_bars(per_seed: pd.DataFrame) -> go.Figure:
    """Negative-transfer check: per task the mean paired difference multi-task − single-task
    (oriented so that up is better: for RMSE single-task − multi-task) over seeds, with ±2
    standard-error bars and one dot per seed. ``per_seed``: task, metric, diff, seed."""
    fig = _fig("Multi-task minus single-task, paired by seed", "Task",
               "Improvement over single-task · higher is better")
    if per_seed is None or len(per_seed) == 0 or not {"task", "diff"} <= set(per_seed.columns):
        return _empty_note(fig, "No finished seed yet")
    names, means, errs = [], [], []
    for task, g in per_seed.groupby(per_seed["task"].astype(str), sort=False):
        v = pd.to_numeric(g["diff"], errors="coerce").dropna()
        metric = str(g["metric"].iloc[0]).upper() if "metric" in g.columns else ""
        names.append(f"{task} ({metric})" if metric else task)
        means.append(float(v.mean()) if len(v) else None)
        errs.append(2.0 * float(v.std(ddof=1)) / np.sqrt(len(v)) if len(v) >= 2 else 0.0)
        fig.add_trace(go.Scatter(x=[names[-1]] * len(v), y=v.tolist(), mode="markers", showlegend=False,
                                 marker={"color": "#333", "size": 6, "symbol": "circle-open"},
                                 text=[f"seed {s}" for s in g.loc[v.index, "seed"]] if "seed" in g.columns else None,
                                 hovertemplate="%{text}: %{y:+.4f}<extra></extra>"))
    colors = ["#2ca02c" if (m or 0) >= 0 else "#d62728" for m in means]
    fig.add_trace(go.Bar(x=names, y=means, marker={"color": colors, "opacity": 0.6}, name="mean over seeds",
                         error_y={"type": "data", "array": errs, "visible": True},
                         hovertemplate="%{x}<br>mean %{y:+.4f}<extra></extra>"))
    fig.data = fig.data[-1:] + fig.data[:-1]  # bars behind the seed dots
    fig.add_hline(y=0, line={"color": "#999", "width": 1})
    return fig


_TRANSFER_BARS = (("mt_mean", "Multi-task"), ("st_mean", "Single-task"), ("gbm_mean", "Gradient boosting"))


def transfer_plot(table: pd.DataFrame) -> go.Figure:
    """Negative-transfer summary (``lab.negative_transfer``'s table): per task, one panel of
    its headline metric with the multi-task model, the single-task model and the
    gradient-boosting reference as dots (mean over seeds; left out when missing): close values
    stay readable, which bars from zero would hide."""
    from plotly.subplots import make_subplots

    title = "Multi-task vs single-task vs gradient boosting (test split)"
    if table is None or len(table) == 0 or "task" not in table.columns:
        return _empty_note(_fig(title, "Model", "Metric"), "No check yet")
    rows = table.reset_index(drop=True)
    fig = make_subplots(rows=1, cols=len(rows), subplot_titles=[
        f"{r['task']} ({r.get('metric', '')}, {'higher' if r.get('higher_is_better', True) else 'lower'} is better)"
        for _, r in rows.iterrows()])
    shown: set[str] = set()
    for i, (col, name) in enumerate(_TRANSFER_BARS):
        if col not in rows.columns:
            continue
        for j, r in rows.iterrows():
            v = _num(r[col])
            if v is None:
                continue
            fig.add_trace(go.Scatter(x=[name], y=[v], name=name, mode="markers+text", legendgroup=name,
                                     marker={"color": _color(i), "size": 14}, showlegend=name not in shown,
                                     text=[f"{v:.4f}"], textposition="middle right",
                                     hovertemplate=f"{r['task']}<br>{name} %{{y:.4f}}<extra></extra>"),
                          row=1, col=j + 1)
            shown.add(name)
    fig.update_layout(title={"text": title}, template=TEMPLATE)
    return fig
