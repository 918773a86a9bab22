"""The report of one saved lab experiment (a negative-transfer check, a Pareto sweep or a
correlation lab): its set-up, its result table and its chart."""
from __future__ import annotations

from pathlib import Path
from typing import Any


from ..errors import DataError
from .html import esc, figures_grid, json_block, page, pairs, table

#: lab result kind -> the file that marks a saved result of that kind
LAB_KINDS = {"transfer": "transfer.json", "sweeps": "sweep.json", "corrlab": "corrlab.json"}


def lab_kind(path) -> str:
    """``transfer``, ``sweeps`` or ``corrlab`` for a saved lab result folder, else a DataError."""
    p = Path(path)
    for kind, marker in LAB_KINDS.items():
        if (p / marker).is_file():
            return kind
    raise DataError(f"{p} is not a saved lab result (no {', '.join(LAB_KINDS.values())} in it).")


def _setup(meta: dict, skip: tuple = ("config", "note")) -> str:
    items = [(k, ", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in meta.items()
             if k not in skip and not isinstance(v, dict)]
    out = pairs(items)
    if isinstance(meta.get("config"), dict):
        out += json_block(meta["config"], "Configuration every training started from")
    if meta.get("note"):
        out += f'<p class="muted">{esc(meta["note"])}</p>'
    return out


def _transfer(path) -> tuple[str, list[tuple[str, str]]]:
    from .. import lab

    summary = lab.load_transfer(path)
    meta, per_seed = summary.attrs.get("meta") or {}, summary.attrs.get("per_seed")
    flagged = summary[summary["verdict"] == lab.VERDICT_NEGATIVE]["task"].astype(str).tolist()
    verdict = (f"Negative transfer on {', '.join(flagged)}." if flagged
               else "No negative transfer beyond run-to-run variation.")
    sections = [("Setup", _setup(meta)),
                ("Multi-task vs single-task", f"<p><b>{esc(verdict)}</b></p>" + table(summary)
                 + '<p class="muted">diff &gt; 0: the multi-task model is better (for error metrics the sign '
                   "is flipped).</p>"),
                ("Per seed", table(per_seed))]
    return f"negative-transfer check · {meta.get('arch', '')}", sections


def _sweep(path) -> tuple[str, list[tuple[str, str]]]:
    from .. import figures, lab

    sw = lab.load_sweep(path)
    pts = sw.points
    fig = figures.pareto_plot(pts[["x", "y", "label", "kind", "pareto"]], sw.axis_a, sw.axis_b,
                              maximize=sw.maximize)
    sections = [("Setup", _setup(sw.meta)), ("Trade-off", figures_grid([("fig-pareto", fig)])),
                ("Points", table(pts.drop(columns=["x", "y"])))]
    return f"Pareto sweep · {sw.task_a} vs {sw.task_b}", sections


def _corrlab(path) -> tuple[str, list[tuple[str, str]]]:
    from .. import figures, lab
    from ..runs import read_result

    res = lab.load_correlation_lab(path)
    meta = read_result(path, ["corrlab.json"], "correlation lab")["corrlab.json"]
    figs: list[tuple[str, Any]] = []
    for i, (task, d) in enumerate(res.groupby("task", sort=False)):
        metric = str(d["metric"].iloc[0]).upper()
        figs.append((f"fig-corr-{i}", figures.correlation_lab_plot(d, value_col="value",
                                                                  metric_name=f"{metric} {task} (test)")))
    sections = [("Setup", _setup(meta)), ("Metric vs task correlation", figures_grid(figs)),
                ("Results", table(res))]
    return "correlation lab", sections


_BUILDERS = {"transfer": _transfer, "sweeps": _sweep, "corrlab": _corrlab}


def lab_report(path) -> str:
    """The HTML report of the saved lab result at ``path`` (``<runs>/<kind>/<id>``)."""
    kind = lab_kind(path)
    subtitle, sections = _BUILDERS[kind](path)
    return page(f"MTL Lab experiment: {Path(path).name}", subtitle, sections)


