"""Lab history: any two saved lab results of the same kind (two Pareto sweeps, two
correlation labs, two negative-transfer checks) side by side on one figure, and a report of
each to download. Logic lives in ``mtl_core.lab`` and ``mtl_core.figures``."""
from __future__ import annotations

import streamlit as st

from mtl_core import lab
from pages import _ui

_ui.ensure_app()
_ui.init_state()

ss = st.session_state
st.title("Lab history")
st.caption("Every Trade-off lab experiment of this session is saved. Pick two of the same kind to see them on "
           "one figure, for example the same sweep with other seeds or settings.")

KINDS = {
    "sweeps": ("Pareto sweeps", lab.list_sweeps),
    "corrlab": ("Correlation labs", lab.list_correlation_labs),
    "transfer": ("Negative-transfer checks", lab.list_transfers),
}


def _label(kind: str, meta: dict) -> str:
    when = str(meta.get("created", ""))[:16].replace("T", " ")
    if kind == "sweeps":
        what = f"{meta.get('task_a', '?')} vs {meta.get('task_b', '?')} · {meta.get('arch', '')}"
    elif kind == "corrlab":
        what = f"{meta.get('dataset', 'ecommerce')} · seeds {','.join(map(str, meta.get('seeds', [])))}"
    else:
        what = f"{meta.get('arch', '')} · seeds {','.join(map(str, meta.get('seeds', [])))}"
    return f"{what} · {when} · {meta.get('status', '')}"


root = _ui.runs_root()
kind = st.radio("Kind", list(KINDS), format_func=lambda k: KINDS[k][0], horizontal=True, key="hist_kind")
saved = KINDS[kind][1](root)
if len(saved) < 1:
    st.info(f"No saved {KINDS[kind][0].lower()} yet: run one on the Trade-off lab page.", icon=":material/info:")
    st.stop()

labels = {str(m["path"]): _label(kind, m) for m in saved}
paths = list(labels)
c1, c2 = st.columns(2)
first = c1.selectbox("First", paths, index=0, format_func=labels.get, key=f"hist_a_{kind}")
second = c2.selectbox("Second", paths, index=min(1, len(paths) - 1), format_func=labels.get, key=f"hist_b_{kind}")
names = ["first", "second"]

with _ui.errors_here():
    from mtl_core import figures

    if kind == "sweeps":
        _ui.plot(figures.sweeps_side_by_side([lab.load_sweep(first), lab.load_sweep(second)], names),
                 key=f"hist_fig_{kind}")
        st.caption("Filled circles and solid front: the first sweep; open circles and dashed front: the second. "
                   "Hover a point for its weights.")
    elif kind == "corrlab":
        tables = [lab.load_correlation_lab(first), lab.load_correlation_lab(second)]
        tasks = list(dict.fromkeys(t for tb in tables for t in tb["task"].astype(str)))
        cols = st.columns(max(1, len(tasks)))
        for i, task in enumerate(tasks):
            with cols[i]:
                _ui.plot(figures.correlations_side_by_side(tables, names, task), key=f"hist_fig_{kind}_{i}")
        st.caption("Solid lines: the first lab; dashed: the second; one colour per model. Bars: ± standard "
                   "deviation over seeds.")
    else:
        _ui.plot(figures.transfers_side_by_side([lab.load_transfer(first), lab.load_transfer(second)], names),
                 key=f"hist_fig_{kind}")
        st.caption("Per task, how much better (above 0) the multi-task model was than single-task models in each "
                   "check; bars: ± standard deviation over seeds.")

st.subheader("Reports")
st.caption("One self-contained HTML page per result, to send after a demo (opens without a network).")
from mtl_core.report import REPORT_MIME, lab_report  # noqa: E402

d1, d2 = st.columns(2)
for col, which, path in ((d1, "first", first), (d2, "second", second)):
    col.download_button(f"Report of the {which} (HTML)", lambda p=path: lab_report(p), mime=REPORT_MIME,
                        file_name=f"{kind}-{which}-report.html", key=f"hist_dl_{which}_{kind}",
                        icon=":material/summarize:")
