"""Recommend: top-K items for a user from a trained run, with each task's score and a fused
ranking score whose weights you set."""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from mtl_core.safe_text import md, md_list
from pages import _ui

run = _ui.run_page("Recommend", "rec_run")

from mtl_core import figures  # noqa: E402
from mtl_core.evaluation.explain import editable_columns, explain_pair, pair_row, what_if  # noqa: E402
from mtl_core.recommend import list_users, recommend, user_history  # noqa: E402

rid = run.run_id
infos = run.task_infos
binary = [t.name for t in infos if t.kind == "binary"]

MAX_LISTED = 5000
try:
    users = list_users(run, limit=MAX_LISTED)
except Exception as exc:  # noqa: BLE001 - e.g. no user column in this run's data
    _ui.show_error(exc)
    st.stop()
if not users:
    st.info("This run has no users to recommend for.")
    st.stop()

c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
user = c1.selectbox("User", users, key=f"rec_user_{rid}", format_func=str,
                    help=f"Type to search; most active users first (the {MAX_LISTED:,} most active are listed).")
typed = st.text_input("…or any user id (also one never seen in training)", key=f"rec_typed_{rid}",
                      max_chars=200, placeholder="e.g. u00042")
if typed.strip():
    user = typed.strip()
k = c2.slider("How many items", 1, 50, 10, key=f"rec_k_{rid}")
exclude = c3.toggle("Hide items already bought", value=True, key=f"rec_excl_{rid}",
                    help="Hides every item with a positive label of any binary task (" + md_list(binary) +
                         ") in this user's training interactions.")

st.subheader("How the score is built")
price_cols = [c for c in run.meta.get("item_cols", []) if "price" in str(c).lower()]
modes = {"product": "Funnel probability (product of the binary tasks' probabilities)",
         "weighted": "Weighted sum of the task scores (each scaled to 0–1 over the candidates)"}
if not binary:  # no probabilities to multiply: only the weighted sum means something
    modes.pop("product")
mode = st.radio("Fusion", list(modes), format_func=modes.get, key=f"rec_mode_{rid}", horizontal=True)
weight_tasks = binary if mode == "product" and binary else [t.name for t in infos]
wcols = st.columns(min(4, len(weight_tasks) + bool(price_cols)) or 1)
weights = {}
for i, t in enumerate(weight_tasks):
    weights[t] = wcols[i % len(wcols)].slider(
        f"Weight of {md(t)}", 0.0, 3.0, 1.0, 0.1, key=f"rec_w_{rid}_{t}",
        help="Exponent of the task's probability" if mode == "product" else "Multiplier of the task's scaled score")
fusion = {"mode": mode, "weights": weights}
if price_cols:
    j = len(weight_tasks) % len(wcols)
    fusion["price_weight"] = wcols[j].slider(
        f"Price weight ({md(price_cols[0])})", 0.0, 1.0, 0.0, 0.05, key=f"rec_price_{rid}",
        help="Adds price × probability of the deepest funnel task (expected revenue).")
    fusion["price_col"] = price_cols[0]
if mode == "product":
    terms = [f"P({md(t)})" + (f"^{weights[t]:g}" if weights[t] != 1 else "") for t in weight_tasks if weights[t]]
    st.caption("fused score = " + (" × ".join(terms) or "1") +
               (f" + {fusion.get('price_weight', 0):g} × price × P({md(binary[-1])})" if fusion.get("price_weight") else "") +
               ". When the tasks are funnel steps (click → cart → purchase) this is the chance the user goes "
               "all the way. A weight of 0 leaves a task out; raising it makes that task count more. "
               "Regression and multiclass scores are shown but not fused in this mode.")
else:
    st.caption("fused score = Σ weight × (task score scaled to 0–1 over all candidate items)" +
               (" + price weight × price × probability of the deepest funnel task" if price_cols else "") + ".")

recs = None
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(f"Top {k} for {md(user)}")
    with _ui.errors_here():
        with st.spinner("Scoring the catalogue…"):
            recs = recommend(run, user, k=int(k), fusion=fusion, exclude_bought=exclude)
        if not recs.attrs.get("known_user", True):
            st.caption("This user was not seen in training: scores use item features only.")
        score_cols = [c for c in recs.columns if str(c).startswith("score:") or c == "fused_score"]
        item_col = run.meta.get("item_col")
        order = ["rank", item_col, "fused_score"] + [c for c in score_cols if c != "fused_score"]
        order += [c for c in recs.columns if c not in order]
        st.dataframe(
            recs, hide_index=True, key=f"recs_{rid}", column_order=[c for c in order if c in recs.columns],
            column_config={c: st.column_config.ProgressColumn(
                c.replace("score:", "P(") + ")" if c.startswith("score:") and c[6:] in binary else c,
                min_value=0.0, max_value=1.0, format="%.3f") if (c.startswith("score:") and c[6:] in binary) else
                st.column_config.NumberColumn(c, format="%.4f") for c in score_cols},
        )
        from mtl_core.evaluation.metrics import to_safe_csv

        st.download_button("Download these recommendations (CSV)", to_safe_csv(recs),
                           file_name=re.sub(r"[^A-Za-z0-9_.-]", "_", f"{rid}-recommendations-{user}")[:120] + ".csv", mime="text/csv",
                           key=f"rec_dl_{rid}", icon=":material/download:")
with right:
    st.subheader("History")
    with _ui.errors_here():
        hist = user_history(run, user)
        if hist.empty:
            st.caption("No interactions of this user in the training period.")
        else:
            st.caption(f"{len(hist):,} interactions in the training period.")
            st.dataframe(hist, hide_index=True, key=f"hist_{rid}", height=380)

# --------------------------------------------------------------------------- explanations
st.header("Why this item?")
st.caption("Each feature's contribution to each task's score for this user and item: the score minus the "
           "score with that feature at its training baseline (an unknown category; the value a missing "
           "number gets; the training mean of a derived feature). Positive: the feature raises the score.")
choices = list(recs[run.meta.get("item_col")]) if recs is not None and len(recs) else []
if not choices:
    st.caption("No recommendation to explain.")
    st.stop()
with _ui.errors_here():
    item = st.selectbox("Item", choices, key=f"why_item_{rid}", format_func=str)
    contrib = explain_pair(run, user, item)
    _ui.plot(figures.contributions_figure(contrib), key=f"fig_why_{rid}")
    st.caption("Scores of this pair: " + ", ".join(f"{md(t)} {v:.4f}" for t, v in contrib.attrs["score"].items()))

    st.subheader("What if?")
    st.caption("Change this pair's feature values and see every task's prediction change.")
    row = pair_row(run, user, item)
    cols = editable_columns(run)
    w1, w2 = st.columns(2)
    col = w1.selectbox("Feature to change", cols, key=f"wi_col_{rid}")
    current = row.iloc[0][col]
    if col in run.preprocessor().num_cols:
        start = pd.to_numeric(pd.Series([current]), errors="coerce").fillna(0.0).iloc[0]
        new = w2.number_input(f"New value of {md(col)}", value=float(start), key=f"wi_val_{rid}_{item}_{col}")
        changes = {col: new} if new != float(start) else {}
    else:
        new = w2.text_input(f"New value of {md(col)}", value=str(current), key=f"wi_val_{rid}_{item}_{col}",
                            max_chars=200)
        changes = {col: new} if new != str(current) else {}
    table = what_if(run.model(), run.preprocessor(), run.task_infos, row, changes)
    _ui.plot(figures.what_if_figure(table), key=f"fig_what_if_{rid}")
    st.dataframe(table, hide_index=True, key=f"what_if_table_{rid}",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ("before", "after", "change")})
    if changes:
        st.caption(f"Changed {md(col)}: {md(current)} → {md(new)}")
