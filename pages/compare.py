"""Compare runs: every saved run of this session in one sortable table, validation-loss
curves overlaid, metrics side by side, and only the settings that differ."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.app import state as app_state
from pages import _ui

_ui.ensure_app()
_ui.init_state()

st.title("Compare runs")

from mtl_core.runs import list_runs  # noqa: E402

runs = list_runs(_ui.runs_root())
if not runs:
    _ui.no_runs_yet("cmp")
    st.stop()

# --------------------------------------------------------------------------- all runs
rows = []
for r in runs:
    row = {"run": r.name, "arch": r.arch, "status": r.status, "created": r.created.replace("T", " ")[:16]}
    for task, v in (r.summary or {}).items():
        row[task] = v
    row["id"] = r.run_id
    rows.append(row)
table = pd.DataFrame(rows)
st.dataframe(table, hide_index=True, key="cmp_all",
             column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns
                            if c not in ("run", "arch", "status", "created", "id")})
st.caption("All runs of this session, newest first; click a column header to sort. Task columns hold the "
           "headline test metric: AUC for binary tasks, RMSE (lower is better) for regression, accuracy "
           "for multiclass.")

# --------------------------------------------------------------------------- selection
paths = [str(r.path) for r in runs]
labels = {str(r.path): app_state.run_label(r) for r in runs}
chosen = st.multiselect("Runs to compare", paths, default=paths[: min(3, len(paths))],
                        format_func=lambda p: labels.get(p, p), key="cmp_runs")
if not chosen:
    st.info("Choose two or more runs to compare.", icon=":material/info:")
    st.stop()

with _ui.errors_here():
    from mtl_core import figures
    from mtl_core.lab import compare_runs

    cmp = compare_runs(chosen)
    info = {r.run_id: r for r in runs}
    names = [info[rid].name if rid in info else rid for rid in cmp["metrics"].index]
    short = {rid: (n if names.count(n) == 1 else f"{n} ({rid[-6:]})") for rid, n in zip(cmp["metrics"].index, names)}

    per_task = st.toggle("One line per task", value=False, key="cmp_per_task")
    hist = {short.get(k, k): v for k, v in cmp["histories"].items()}
    _ui.plot(figures.runs_overlay(hist, per_task=per_task), key="cmp_overlay")
    st.caption("Validation loss per epoch of each chosen run (mean over tasks, or one line per task). "
               "Compare where the curves flatten and whether one turns up again: that run overfits, "
               "and losses are only comparable between runs with the same tasks and loss types.")

    st.subheader("Test metrics side by side")
    m = cmp["metrics"].rename(index=short).T
    m.index.name = "metric"
    def _cell(v) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return ""
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    st.dataframe(m.map(_cell), key="cmp_metrics")
    st.caption("One column per run. For AUC, F1, accuracy and R² higher is better; for log-loss, RMSE "
               "and MAE lower is better.")

    st.subheader("Settings that differ")
    diff = cmp["config_diff"].rename(columns=short)
    if diff.empty:
        unknown = [rid for rid, v in cmp["metrics"]["data"].items() if not v] if "data" in cmp["metrics"] else []
        st.info("The chosen runs have identical settings and data (apart from the random seed if it is not "
                "listed)." + (f" {len(unknown)} of them were saved before the data's provenance was recorded, so "
                              "their data may differ." if unknown else ""), icon=":material/info:")
    else:
        st.dataframe(diff, key="cmp_diff")
        st.caption("Only the configuration values that are not the same in every chosen run; everything "
                   "else is shared. data.source.* rows are the data's provenance: file name, size and "
                   "SHA-256, or the generator and its parameters (e.g. task_correlation).")
