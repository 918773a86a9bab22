"""The report of one saved run: where its data came from, how it was trained, every task's
scores beside its baselines, the main charts, a sample of recommendations and, where the run
has them, explanations."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from .html import esc, figures_grid, json_block, page, pairs, table

log = logging.getLogger(__name__)

#: config.data fields shown as the setup of the columns rather than as provenance
_COLUMN_FIELDS = ("tasks", "roles", "drop", "user_col", "item_col", "time_col", "session_col", "read")


def _provenance(cfg: dict) -> list[tuple[str, Any]]:
    """Every recorded fact about the data: the file's name (not the server's folders), and
    whatever else config.json's data section records (size, SHA-256, generator and its
    parameters where the run has them)."""
    data = cfg.get("data") or {}
    out: list[tuple[str, Any]] = []
    if data.get("path"):
        out.append(("file", Path(str(data["path"])).name))
    for key, value in data.items():
        if key in _COLUMN_FIELDS or key == "path" or value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            out += [(f"{key}.{k}", v) for k, v in value.items() if v not in (None, "", [], {})]
        else:
            out.append((key, value))
    for key in ("provenance", "source"):  # a top-level record, where config.json has one
        if isinstance(cfg.get(key), dict):
            out += [(f"{key}.{k}", v) for k, v in cfg[key].items()]
    return out


def _data_section(run) -> str:
    cfg = run.config.to_dict()
    prov = _provenance(cfg)
    split = run.metrics.get("split") or {}
    rates = (run.metrics.get("label_rates") or {}).get("test") or {}
    sizes = [(f"{k} rows", f"{int(v):,}") for k, v in split.items() if isinstance(v, (int, float))]
    rate_rows = [(f"test positive rate of {t}", f"{float(r):.3f}") for t, r in rates.items()
                 if isinstance(r, (int, float))]
    note = "" if prov else '<p class="muted">This run does not record where its data came from.</p>'
    return note + pairs(prov + sizes + rate_rows)


def _setup_section(run) -> str:
    c, train = run.config, run.metrics.get("train") or {}
    weights = ", ".join(f"{t} {w:g}" for t, w in (c.train.task_weights or {}).items()) or "all 1"
    items = [("name", c.name or run.run_id), ("architecture", c.model.arch), ("loss weighting", c.train.weighting),
             ("task weights", weights), ("tasks", ", ".join(map(str, c.data.tasks))),
             ("epochs run (best)", f"{train.get('epochs', '?')} ({train.get('best_epoch', '?')})"),
             ("optimizer · learning rate · batch", f"{c.train.optimizer} · {c.train.lr:g} · {c.train.batch_size}"),
             ("split", f"{c.split.method} {c.split.train:g}/{c.split.val:g}/{c.split.test:g}"),
             ("seed", c.train.seed), ("device", train.get("device", c.train.device)),
             ("training time", f"{float(train.get('seconds') or 0):.1f} s"),
             ("status", (run.status or {}).get("status", "complete"))]
    return pairs(items) + json_block(c.to_dict(), "Full configuration (config.json)")


def _scores_section(run) -> str:
    from ..evaluation.baselines import baseline_table

    tasks = run.metrics.get("tasks") or {}
    parts = ['<p class="muted">Test-split scores. Each task\'s model row is followed by predictors that '
             "learn nothing (prior: the training positive rate; mean / median: the training target's; "
             "majority: the most frequent class), scored on the same rows.</p>"]
    for kind in dict.fromkeys(m.get("kind") for m in tasks.values() if isinstance(m, dict)):
        parts.append(f"<h3>{esc(kind)} tasks</h3>" + table(baseline_table(run.metrics, kind)))
    warns = [(t, w.get("message", "")) for t, m in tasks.items() if isinstance(m, dict)
             for w in (m.get("warnings") or [])]
    if warns:
        parts.append("<h3>Warnings</h3><ul>" + "".join(f"<li>{esc(t)}: {esc(w)}</li>" for t, w in warns) + "</ul>")
    return "".join(parts)


def _charts(run) -> list[tuple[str, Any]]:
    from .. import figures

    metrics, curves = run.metrics, run.curves or {}
    loss = figures.loss_curves(run.history)
    if len(run.history) and "epoch" in run.history and run.history["epoch"].max() <= 20:
        loss.update_xaxes(tick0=1, dtick=1)  # whole epochs
    out: list[tuple[str, Any]] = [("loss", loss)]
    if any(isinstance(m, dict) and m.get("kind") == "binary" for m in (metrics.get("tasks") or {}).values()):
        out.append(("bars", figures.metric_bars(metrics)))
    if curves:
        out += [("roc", figures.roc_curves(curves)), ("pr", figures.pr_curves(curves)),
                ("calibration", figures.calibration_plot(curves))]
    pred = run.predictions
    for i, (t, m) in enumerate((metrics.get("tasks") or {}).items()):
        y, p = pred.get(f"true:{t}"), pred.get(f"pred:{t}")
        if isinstance(m, dict) and m.get("kind") == "regression" and y is not None and p is not None:
            out.append((f"pva{i}", figures.pred_vs_actual(y.to_numpy(), p.to_numpy(), t)))
    wh = run.weights_history
    if wh is not None and len(wh) and "weight" in wh and wh["weight"].nunique() > 1:
        out.append(("weights", figures.task_weights_over_time(wh)))
    last = (run.diagnostics or [{}])[-1] if run.diagnostics else {}
    if isinstance(last.get("cosine"), dict) and last["cosine"]:
        out.append(("cosine", figures.grad_cosine_heatmap(last["cosine"], list(metrics.get("tasks") or {}))))
    if isinstance(last.get("gates"), dict) and last["gates"]:
        out.append(("gates", figures.gate_heatmap(last["gates"])))
    return [(f"fig-{k}", f) for k, f in out]


def _recommendations_section(run, users: int, k: int) -> str:
    """The top-``k`` items of the ``users`` most active users; a sentence when the run has
    no user and item columns or its model cannot be loaded."""
    from ..errors import MTLError
    from ..recommend import list_users, recommend

    try:
        who = list_users(run, limit=users)
        parts = []
        for u in who:
            rec = recommend(run, u, k=k)
            shown = rec[[c for c in rec.columns if not c.startswith("score:")] +
                        [c for c in rec.columns if c.startswith("score:")]]
            parts.append(f"<h3>User {esc(u)}</h3>" + table(shown))
    except MTLError as exc:
        return f'<p class="muted">No recommendations: {esc(exc)}</p>'
    if not parts:
        return '<p class="muted">No users in this run.</p>'
    return (f'<p class="muted">Top {k} items for the {len(parts)} most active training users, by the fused '
            "score (items a user already bought are left out).</p>" + "".join(parts))


def _explanations_section(run) -> str | None:
    """Explanations the run carries (``run.explanations``: a table or a dict), if any."""
    found = getattr(run, "explanations", None)
    if found is None or (hasattr(found, "empty") and found.empty) or (isinstance(found, dict) and not found):
        return None
    if isinstance(found, pd.DataFrame):
        return table(found)
    return json_block(found, "Explanations")


def run_report(path, users: int = 3, k: int = 5) -> str:
    """The HTML report of the saved run at ``path`` (a run folder)."""
    from ..runs import load_run

    run = load_run(path)
    title = f"MTL Lab run: {run.config.name or run.run_id}"
    sections = [("Data", _data_section(run)), ("Setup", _setup_section(run)),
                ("Scores beside the baselines", _scores_section(run)),
                ("Charts", figures_grid(_charts(run))),
                ("Sample of recommendations", _recommendations_section(run, users, k))]
    explained = _explanations_section(run)
    if explained:
        sections.append(("Explanations", explained))
    subtitle = f"{run.config.model.arch} · {run.config.train.weighting} · {', '.join(map(str, run.config.data.tasks))}"
    return page(title, subtitle, sections)
