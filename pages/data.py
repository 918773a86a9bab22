"""Data: load a table (upload, bundled sample, synthetic generator, event-log funnel), look at
it, set column roles, cleaning and the tasks to learn."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.app import state as app_state
from mtl_core.data.column_counts import SAMPLE_ROWS
from mtl_core.config import MISSING_STRATEGIES, NUMERIC_ENCODINGS, OUTLIER_STRATEGIES, SCALERS, PreprocessConfig
from mtl_core.safe_text import md, md_list
from pages import _ui

_ui.ensure_app()
_ui.init_state()

ss = st.session_state
st.title("Data")
st.caption("Load a table, check it, and choose the tasks the model should learn. "
           "Nothing leaves this server; uploads stay in your session.")

# --------------------------------------------------------------------------- load
tab_up, tab_sample, tab_synth, tab_funnel, tab_sales = st.tabs(
    ["Upload a file", "Bundled sample", "Synthetic data", "Event log → funnel table", "Sales table from transactions"])

with tab_up:
    max_mb = int(st.get_option("server.maxUploadSize"))
    up = st.file_uploader("Table file (CSV, TSV, TXT or Parquet)", type=["csv", "tsv", "txt", "parquet", "gz", "zip"],
                          key="upload", help=f"Up to {max_mb} MB. Delimiter and encoding are detected.")
    st.caption(f"Size limit: {max_mb} MB per file. One row per user–item interaction works best "
               "(user id, item id, features, and 0/1 or numeric label columns).")
    st.caption(md(app_state.limits_note(max_mb)))
    if up is not None:
        token = f"{up.file_id}:{up.name}:{up.size}"
        if token != ss.get("upload_token"):
            ss["upload_token"] = token
            ss["upload_error"] = None
            try:
                from mtl_core.data.io import read_table

                with st.spinner(f"Reading {md(up.name)}…"):
                    df_new = read_table(up.getvalue(), filename=up.name, limits=app_state.upload_limits(max_mb))
                _ui.set_data(df_new, up.name, "upload")
                ss["raw_upload"], ss["read_header"] = (up.getvalue(), up.name), "detect"  # re-read when the user corrects the header
            except Exception as exc:  # noqa: BLE001 - keep the previous data, say why here
                # kept without its traceback: its frames would hold the upload's bytes
                exc.__context__ = exc.__cause__ = None
                ss["upload_error"] = exc.with_traceback(None)
        if ss.get("upload_error") is not None:
            _ui.show_error(ss["upload_error"])
            if ss.get("df") is not None:
                st.caption(f"Still using the previous data: {md(ss.get('data_name'))}.")
        elif ss.get("last_loaded") == "upload":
            st.success(f"Loaded {md(up.name)}: {len(ss['df']):,} rows × {ss['df'].shape[1]} columns.")

with tab_sample:
    st.write("A synthetic shop log: users, items with category/brand/price, context, and the "
             "labels click, cart, purchase (0/1), rating, sales (numbers) and segment_label (classes).")
    if st.button("Use the bundled sample", key="data_sample", type="primary"):
        with _ui.errors_here():
            _ui.open_sample()
            st.rerun()

with tab_synth:
    st.write("Generate data whose two latent task scores are related as strongly as you choose — the "
             "setting where sharing between tasks should help or hurt. Score a drives click and dwell_time, "
             "score b drives cart, purchase, rating, sales and basket_value.")
    c1, c2, c3 = st.columns(3)
    rows = c1.number_input("Rows", min_value=200, max_value=500_000, value=5000, step=1000, key="syn_rows")
    corr = c2.slider("Task correlation", min_value=-1.0, max_value=1.0, value=0.5, step=0.05, key="syn_corr",
                     help="1: click and purchase depend on the same features; 0: unrelated; -1: opposed.")
    seed = c3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="syn_seed")
    from mtl_core.data import synth

    pairs = {"dwell_time|basket_value": "dwell_time & basket_value (engagement scores: related only through ρ)",
             "click|purchase": "click & purchase (the funnel: coupled by construction)",
             "click|rating": "click & rating (a rating needs a click)"}
    pair = st.selectbox("Tasks", list(pairs), format_func=pairs.get, key="syn_pair",
                        help="The tasks chosen after generating. Funnel tasks are tied whatever ρ: purchase "
                             "can only follow a click, so their label correlation hardly moves with the knob.")
    task_a, task_b = pair.split("|")
    why = synth.coupling(task_a, task_b)
    if why:
        st.warning(f"{md(why)}: the knob changes their scores' correlation but not what ties the labels. "
                   "Choose dwell_time & basket_value to see relatedness follow ρ.", icon=":material/warning:")
    if st.button("Generate", key="syn_go", type="primary"):
        with _ui.errors_here():
            with st.spinner("Generating…"):
                df_syn, truth = synth.make_synthetic(rows=int(rows), task_correlation=float(corr), seed=int(seed),
                                                     engagement_targets=task_a in synth.ENGAGEMENT_COLUMNS,
                                                     return_truth=True)
            ss["syn_realised"] = {"pair": pair, "rho": float(corr),
                                  **synth.realised_correlations(df_syn, truth, task_a, task_b)}
            _ui.set_data(df_syn, f"synthetic ({int(rows):,} rows, correlation {corr:+.2f}, seed {int(seed)})",
                         "synthetic", tasks=[task_a, task_b])
            st.rerun()
    real = ss.get("syn_realised")
    if real and real.get("pair") == pair:
        def _r(v) -> str:
            return "—" if v is None else f"{v:+.2f}"

        st.caption(f"Generated at ρ = {real['rho']:+.2f}: realised correlation of the {md(task_a)} and "
                   f"{md(task_b)} labels {_r(real.get('label'))} (rows where both exist), of the scores "
                   f"driving them {_r(real.get('score'))}.")

with tab_funnel:
    st.write("Have a raw event log (one row per view / cart / purchase event)? Turn it into one "
             "row per user–item pair with a 0/1 label per funnel stage after the first.")
    df0 = ss.get("df")
    if df0 is None:
        st.info("Load the event log first (upload it in the first tab).")
    else:
        cols = [str(c) for c in df0.columns]
        none = "(none)"
        schema0 = ss.get("schema")

        def _idx(options, value):
            return options.index(value) if value in options else 0

        c1, c2, c3, c4 = st.columns(4)
        u = c1.selectbox("User column", cols, index=_idx(cols, getattr(schema0, "user_col", None)),
                         key=f"fun_user_{ss['data_version']}")
        i = c2.selectbox("Item column", cols, index=_idx(cols, getattr(schema0, "item_col", None)),
                         key=f"fun_item_{ss['data_version']}")
        guess_ev = next((c for c in cols if "event" in c.lower() or "action" in c.lower()), cols[0])
        e = c3.selectbox("Event-type column", cols, index=_idx(cols, guess_ev), key=f"fun_event_{ss['data_version']}")
        tcols = [none] + cols
        t = c4.selectbox("Time column", tcols, index=_idx(tcols, getattr(schema0, "time_col", None)),
                         key=f"fun_time_{ss['data_version']}")
        values = df0[e].dropna().astype(str).value_counts().index.tolist()[:100]
        stages = st.multiselect("Funnel stages, in order (first = exposure, e.g. view → cart → purchase)",
                                values, key=f"fun_stages_{ss['data_version']}",
                                help="Pick the stages in funnel order; each later stage becomes a 0/1 task.")
        by = st.radio("One row per", ["user", "session"], horizontal=True, key="fun_by",
                      format_func=lambda b: f"{b}–item pair")
        label_modes = {"reached": "reached this stage or a later one (a strict funnel: view → cart → purchase)",
                       "event": "this event happened (logs such as pv / fav / cart / buy, not a strict funnel)"}
        fun_labels = st.radio("A stage's label is 1 when the pair…", list(label_modes), key="fun_labels",
                              format_func=label_modes.get)
        if st.button("Build the funnel table", key="fun_go", type="primary", disabled=len(stages) < 2):
            with _ui.errors_here():
                from mtl_core.data.events import build_funnel_table

                sess = getattr(schema0, "session_col", None)
                with st.spinner("Building…"):
                    table = build_funnel_table(df0, user_col=u, item_col=i, event_col=e, funnel=list(stages),
                                               time_col=None if t == none else t,
                                               session_col=sess, by=by, labels=fun_labels)
                _ui.set_data(table, f"funnel table from {ss.get('data_name')}", "funnel",
                             tasks=[str(s) for s in stages[1:] if str(s) in table.columns] or None)
                st.rerun()
        if len(stages) < 2:
            st.caption("Choose at least two stages.")

with tab_sales:
    from pages._sales import sales_tab

    sales_tab()

df: pd.DataFrame | None = ss.get("df")
if df is None:
    st.info("No data loaded yet: upload a file, use the bundled sample, or generate synthetic data.",
            icon=":material/info:")
    st.stop()

ver = ss["data_version"]
schema = ss["schema"]

# --------------------------------------------------------------------------- preview
st.header("Preview")
st.markdown(f"**{md(ss.get('data_name'))}** · {len(df):,} rows × {df.shape[1]} columns (first 200 rows shown)")
st.dataframe(df.head(200), height=260, key=f"preview_{ver}")
_ui.reading_controls(df, ver)

# --------------------------------------------------------------------------- roles
st.header("Column roles")
st.caption("How each column is used. Ids and categoricals are embedded, numerics scaled; "
           "label columns become tasks below; 'ignore' and unticked columns are not model inputs."
           + (f" Past {SAMPLE_ROWS:,} rows the roles are inferred from a seeded {SAMPLE_ROWS:,}-row sample, and the "
              "'distinct' count of a continuous decimal column is estimated from it (the others are exact)."
              if len(df) > SAMPLE_ROWS else ""))
# the editor's input stays the same object while this data is loaded: rebuilding it from the
# edited roles changed the input after every edit, which remounted the grid and swallowed the
# next click (e.g. "Continue to training" right after an edit)
base_key = f"roles_base_{ver}"
if base_key not in ss:
    ss[base_key] = app_state.roles_table(schema, ss.get("roles"), ss.get("drop"), ss.get("tasks"))
table = ss[base_key]
edited = st.data_editor(
    table, key=f"roles_{ver}", hide_index=True, width="stretch", height=min(38 + 35 * len(table), 560),
    disabled=["column", "dtype", "missing %", "distinct"],
    column_config={
        "role": st.column_config.SelectboxColumn("role", options=list(app_state.ROLES), required=True),
        "use as feature": st.column_config.CheckboxColumn("use as feature"),
        "missing %": st.column_config.NumberColumn("missing %", format="%.1f"),
    },
)
with _ui.errors_here():
    roles, drop = app_state.roles_from_table(edited, schema, ss.get("tasks"))
    ss["roles"], ss["drop"] = roles, drop
    ticks = {int(i): bool(r["use as feature"]) for i, r in (ss.get(f"roles_{ver}") or {}).get("edited_rows", {}).items()
             if "use as feature" in r}  # what the user ticked, not the defaults
    ss["ticked_tasks"] = [table["column"].iloc[i] for i, on in ticks.items()
                          if on and table["column"].iloc[i] in (ss.get("tasks") or [])]
    schema.with_roles(roles)  # validates the overrides (DataError shown here)

# --------------------------------------------------------------------------- tasks
st.header("Tasks")
cols = [str(c) for c in df.columns]
label_like = [c.name for c in schema.columns if c.label_kind]
tasks = st.multiselect(
    "Columns to predict (one task each)", cols,
    default=[t for t in ss.get("tasks", []) if t in cols], key=f"tasks_{ver}",
    help="Suggested labels: " + (md_list(label_like) or "none detected") + ".",
)
ss["tasks"] = list(tasks)
kinds = dict(ss.get("task_kinds") or {})
positives = dict(ss.get("task_positive") or {})
grid = st.columns(min(3, len(tasks))) if tasks else []
for i, t in enumerate(tasks):
    info = next((c for c in schema.columns if c.name == t), None)
    with grid[i % len(grid)]:
        kind = st.selectbox(f"Kind of {md(t)}", app_state.TASK_KIND_CHOICES,
                            index=app_state.TASK_KIND_CHOICES.index(kinds.get(t, "auto")), key=f"kind_{ver}_{t}",
                            help=f"auto: inferred (suggested: {getattr(info, 'label_kind', None) or 'none'}).")
        kinds[t] = kind
        numeric = pd.api.types.is_numeric_dtype(df[t])
        if kind in ("auto", "binary") and not numeric:
            vals = [""] + df[t].dropna().astype(str).value_counts().index.tolist()[:50]
            pos = st.selectbox(f"Positive value of {md(t)}", vals,
                               index=vals.index(positives[t]) if positives.get(t) in vals else 0,
                               key=f"pos_{ver}_{t}", format_func=lambda v: v or "(detect)",
                               help="Rows with this value count as 1, all others as 0. (detect): a yes word "
                                    "(yes, true, y, t, positive), the value that 'not …' negates, the larger "
                                    "number, else the rarer value.")
            positives[t] = pos or None
        elif kind in ("auto", "binary"):
            pos = st.text_input(f"Positive when {md(t)} is", value=positives.get(t) or "", key=f"thr_{ver}_{t}",
                                max_chars=40, placeholder="e.g. >=4, or a value such as 5",
                                help="A threshold (>=, >, <=, <) or one value makes a 0/1 label; empty: detect.")
            positives[t] = pos.strip() or None
        else:
            positives.pop(t, None)
ss["task_kinds"] = {t: k for t, k in kinds.items() if t in tasks}
ss["task_positive"] = {t: p for t, p in positives.items() if t in tasks and p}

resolved = []
if tasks:
    with _ui.errors_here():
        from mtl_core.data.schema import parse_task_spec, resolve_tasks

        specs = [parse_task_spec(s) for s in app_state.task_specs(tasks, ss["task_kinds"], ss["task_positive"])]
        resolved = resolve_tasks(df, specs)
        st.caption("Resolved: " + "; ".join(
            f"{md(r.key)} → {r.kind}" + (f" (positive = {md(r.positive)})" if r.positive is not None else "")
            for r in resolved))
else:
    st.warning("Choose at least one task column.")

_ui.column_usage_note(f"usage_{ver}")

# --------------------------------------------------------------------------- cleaning
st.header("Cleaning")
pre = dict(ss.get("preprocess") or {})
c1, c2, c3, c4 = st.columns(4)
pre["missing"] = c1.selectbox("Missing numbers", MISSING_STRATEGIES, index=MISSING_STRATEGIES.index(pre.get("missing", "median")),
                              key="pre_missing", help="Fitted on the training split only. Missing categories always become 'unknown'. "
                                   "interpolate: between training rows in time order; validation and test gaps "
                                   "take the last training value.")
pre["outliers"] = c2.selectbox("Outliers", OUTLIER_STRATEGIES, index=OUTLIER_STRATEGIES.index(pre.get("outliers", "none")),
                               key="pre_outliers", help="iqr / zscore clip extreme numbers; drop removes training rows outside the IQR fences.")
pre["scaling"] = c3.selectbox("Scaling", SCALERS, index=SCALERS.index(pre.get("scaling", PreprocessConfig().scaling)),
                              key="pre_scaling", help="Fitted on the training split. quantile: ranks mapped to a "
                                   "normal bell (skewed amounts and counts spread out).")
pre["numeric_encoding"] = c4.selectbox(
    "Numeric encoding", NUMERIC_ENCODINGS, index=NUMERIC_ENCODINGS.index(pre.get("numeric_encoding", PreprocessConfig().numeric_encoding)),
    key="pre_numeric_encoding", help="How every neural model reads numbers. scalar: one input each; ple: "
    "piecewise-linear encoding on quantile bins of the training split; periodic: learned sine/cosine "
    "features (Gorishniy et al., NeurIPS 2022). ple and periodic give each number an embedding.")
collab_names = {"mf": "matrix factorisation (user/item factors, affinity)",
                "graph": "interaction graph (degrees, co-occurrence)"}
time_col = app_state.id_columns(schema, ss.get("roles") or {})["time_col"]
pre["time_features"] = st.checkbox(
    "Time features", value=bool(pre.get("time_features", PreprocessConfig().time_features)), key="pre_time_features",
    disabled=time_col is None, help=f"Calendar (hour, weekday, month) and recency features from {md(time_col)}, fitted on the "
    "training split. Off: the timestamp only orders a temporal split." if time_col is not None
    else "No timestamp column: set a column's role to timestamp to use it.")
pre["collab"] = st.multiselect(
    "Collaborative features", list(collab_names), default=[m for m in pre.get("collab", []) if m in collab_names],
    format_func=collab_names.get, key="pre_collab",
    help="Features of each (user, item) pair learnt from the training rows' interactions only (never their "
         "labels): a truncated SVD of the user × item matrix and the user–item graph. Training rows leave their "
         "own interaction out. Needs a user and an item column; unseen users/items get zeros and a flag.")
ss["preprocess"] = pre

# --------------------------------------------------------------------------- profile
st.header("Profile")
from mtl_core import figures  # noqa: E402 - plotly only on pages that draw

p1, p2 = st.columns(2)
with p1:
    with _ui.errors_here():
        _ui.plot(figures.missing_bar({c.name: float(c.missing_share or 0.0) for c in schema.columns}),
                 key=f"fig_missing_{ver}")
with p2:
    default_col = tasks[0] if tasks else cols[0]
    col = st.selectbox("Distribution of", cols, index=cols.index(default_col), key=f"dist_col_{ver}")
    with _ui.errors_here():
        _ui.plot(figures.distribution(df[col], col), key=f"fig_dist_{ver}")
if resolved:
    with _ui.errors_here():
        from mtl_core.data import targets

        rates: dict = {}
        for r in resolved:  # the positive / classes the model will learn (data.targets)
            if r.kind == "binary":
                rates[r.key] = float(pd.Series(targets.binary_labels(df[r.column], r.positive)).mean())
            elif r.kind == "multiclass":
                keys = pd.Series(targets.class_keys(df[r.column])).dropna()
                rates[r.key] = keys.value_counts(normalize=True).head(12).to_dict()
        if rates:
            _ui.plot(figures.label_balance(rates), key=f"fig_balance_{ver}")

st.divider()
if st.button("Continue to training", key="data_to_train", type="primary", disabled=not tasks,
             icon=":material/arrow_forward:"):
    _ui.go("train")
