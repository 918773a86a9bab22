"""Page pieces for sales forecasting: the Data page's "Sales table from transactions" tab and
the Results page's "Score a file", "Continue training on new data" and "Export to ONNX"
(logic in mtl_core.data.sales / mtl_core.predict / mtl_core.export)."""
from __future__ import annotations

import streamlit as st

from mtl_core.safe_text import md
from pages import _ui


def _idx(options: list[str], words: tuple[str, ...]) -> int:
    for i, c in enumerate(options):
        if any(w in c.lower() for w in words):
            return i
    return 0


def sales_tab() -> None:
    ss = st.session_state
    st.write("Have a transaction log (invoice, product, quantity, price, customer, date)? Turn it into "
             "one row per product (or customer, store…) and period with next-period targets "
             "(`next_quantity`, `next_revenue`, `buys_next`). Returns and cancelled invoices are "
             "not sales; their units become the `returned_quantity` feature.")
    df0 = ss.get("df")
    if df0 is None:
        st.info("Load the transaction log first (upload it in the first tab).")
        return
    cols = [str(c) for c in df0.columns]
    none = "(none)"
    v = ss["data_version"]
    c1, c2, c3, c4 = st.columns(4)
    key = c1.selectbox("Key (one row per)", cols, index=_idx(cols, ("stock", "product", "item", "sku")), key=f"sal_key_{v}")
    when = c2.selectbox("Time column", cols, index=_idx(cols, ("date", "time")), key=f"sal_time_{v}")
    qty = c3.selectbox("Quantity column", cols, index=_idx(cols, ("quant", "qty")), key=f"sal_qty_{v}")
    price = c4.selectbox("Unit price column", cols, index=_idx(cols, ("price",)), key=f"sal_price_{v}")
    c1, c2, c3, c4 = st.columns(4)
    opt = [none] + cols
    inv = c1.selectbox("Invoice column", opt, index=_idx(opt, ("invoice", "order")), key=f"sal_inv_{v}")
    count = c2.selectbox("Count distinct", opt, index=_idx(opt, ("customer",)), key=f"sal_count_{v}")
    period = c3.radio("Period", ["day", "week", "month"], index=1, horizontal=True, key=f"sal_period_{v}")
    horizon = c4.number_input("Horizon (periods ahead)", 1, 52, 1, key=f"sal_h_{v}")
    attrs = st.multiselect("Latest attributes per key (category, description…)", cols, key=f"sal_attrs_{v}")
    if st.button("Build the sales table", key="sal_go", type="primary"):
        with _ui.errors_here():
            from mtl_core.data.sales import build_sales_table

            with st.spinner("Building…"):
                table, report = build_sales_table(
                    df0, key, when, qty, price_col=price, period=period,
                    invoice_col=None if inv == none else inv, count_col=None if count == none else count,
                    attr_cols=attrs, horizon=int(horizon))
            ss["sales_report"] = report.to_dict()
            _ui.set_data(table, f"{period}ly sales table from {ss.get('data_name')}", "sales",
                         tasks=["next_quantity", "buys_next"])
            st.rerun()
    rep = ss.get("sales_report")
    if rep:
        st.success(f"Sales table: {rep['rows']:,} rows ({rep['keys']:,} keys × up to {rep['periods']} periods), "
                   f"{100 * rep['zero_filled_share']:.1f}% zero-filled periods, {rep['return_lines']:,} return lines "
                   f"({rep['returned_quantity']:,.0f} units), {rep['forecast_rows']:,} rows to forecast. "
                   "Training splits it by period.", icon=":material/check:")


def score_section(run) -> None:
    """Upload a file, score it with ``run``, download the predictions."""
    from mtl_core.evaluation.metrics import to_safe_csv

    rid = run.run_id
    st.subheader("Score a file")
    st.caption("Upload new rows with the same feature columns (labels not needed): they go through this "
               "run's fitted preprocessing; unseen categories count as unknown.")
    up = st.file_uploader("Rows to score (CSV, TSV or Parquet)", type=["csv", "tsv", "txt", "parquet"],
                          key=f"score_up_{rid}")
    if up is None:
        return
    with _ui.errors_here():
        from mtl_core.data.io import read_table
        from mtl_core.predict import score_frame

        scored = score_frame(run, read_table(up.getvalue(), filename=up.name))
        st.dataframe(scored.head(200), hide_index=True, key=f"score_table_{rid}")
        st.download_button(f"Predictions for {len(scored):,} rows (CSV)", to_safe_csv(scored),
                           file_name=f"{rid}-predictions-{up.name.rsplit('.', 1)[0]}.csv", mime="text/csv",
                           key=f"dl_scored_{rid}", icon=":material/download:")


_TORCH_SECTIONS = {  # heading, caption for a torch run, caption for the sklearn baseline
    "continue": ("Continue training on new data",
                 "Starts from this run's weights and fitted preprocessing (an id or category it never "
                 "saw counts as unknown) and writes a new run that names this one as its parent.",
                 "The scikit-learn baseline cannot continue training; train it again on all the data."),
    "onnx": ("Export to ONNX",
             "A graph over the encoded inputs (`cat`, `num`: see the README), checked with "
             "onnxruntime against the torch model on the test split.",
             "ONNX export is for torch runs; this run is the scikit-learn baseline."),
}


def _torch_section(run, section: str) -> bool:
    """The section's heading and caption; False (saying why) for the sklearn baseline."""
    from mtl_core.predict import is_torch_run

    title, caption, not_torch = _TORCH_SECTIONS[section]
    st.subheader(title)
    ok = is_torch_run(run)
    st.caption(caption if ok else not_torch)
    return ok


def continue_section(run) -> None:
    """Upload new rows and continue training ``run`` on them in a background job; the new run
    names ``run`` as its parent (logic: mtl_core.predict.resume_config_for_frame)."""
    ss, rid = st.session_state, run.run_id
    if not _torch_section(run, "continue"):
        return
    up = st.file_uploader("New rows with the same columns, labels included (CSV, TSV or Parquet)",
                          type=["csv", "tsv", "txt", "parquet"], key=f"resume_up_{rid}")
    mgr = _ui.job_manager()
    job = mgr.get(ss.get(f"resume_job_{rid}"))
    busy = job is not None and job.status in ("queued", "running")
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    epochs = c1.number_input("Epochs", 1, 500, int(run.config.train.epochs), key=f"resume_ep_{rid}")
    if c2.button("Continue training", key=f"resume_go_{rid}", disabled=up is None or busy,
                 icon=":material/play_arrow:"):
        with _ui.errors_here():
            from mtl_core.app.jobs import recommended_threads
            from mtl_core.data.io import read_table
            from mtl_core.predict import resume_config_for_frame

            df = read_table(up.getvalue(), filename=up.name)
            cfg = resume_config_for_frame(run, int(epochs), source=up.name)
            cfg.train.num_threads = recommended_threads()
            root = _ui.runs_root()

            def work(callback, cancel, cfg=cfg, df=df, root=root):
                from mtl_core.pipeline import run_experiment

                return run_experiment(cfg, df, callback=callback, cancel=cancel, runs_root=root, background=True)

            job = mgr.submit(work, name=cfg.name, owner=ss["sid"])
            ss[f"resume_job_{rid}"] = job.id
            ss["job_ids"] = [*ss.get("job_ids", []), job.id][-20:]
    if job is not None:
        resume_progress(job, rid)


def resume_progress(job, rid: str, doing: str = "Continuing", saved: str = "The new run") -> None:
    """Live progress of a job that continues or resumes a run, then a link to the saved run."""
    @st.fragment(run_every=1.0 if job.status in ("queued", "running") else None)
    def panel() -> None:
        snap = job.snapshot()
        status = snap["status"]
        if status in ("queued", "running"):
            st.progress(min(1.0, (snap.get("epoch") or 0) / max(1, snap.get("epochs") or 1)),
                        text=f"{doing}: {status}, epoch {snap.get('epoch') or 0}/{snap.get('epochs') or '?'}")
            return
        if status == "done" and snap.get("run_dir"):
            # a run id is [A-Za-z0-9_.-] (RunWriter): safe in a code span, where escapes would show
            st.success(f"{saved} `{str(snap['run_dir']).rsplit('/', 1)[-1]}` is saved.",
                       icon=":material/check_circle:")
            if st.button("Open the new run", key=f"resume_open_{rid}", icon=":material/monitoring:"):
                st.session_state["selected_run"] = str(snap["run_dir"])
                st.rerun(scope="app")
        elif status == "cancelled":
            st.warning("Stopped.", icon=":material/stop_circle:")
        else:
            st.error(md(snap.get("error") or "Training failed."), icon=":material/error:")

    panel()


def onnx_section(run) -> None:
    """Export a torch run to ONNX, check it against torch on the test split, offer the file."""
    ss, rid = st.session_state, run.run_id
    if not _torch_section(run, "onnx"):
        return
    if st.button("Export to ONNX", key=f"onnx_go_{rid}", icon=":material/output:"):
        with _ui.errors_here(), st.spinner("Exporting and checking…"):
            import tempfile
            from pathlib import Path

            from mtl_core.export import export_onnx

            df = None if run.config.data.path and Path(run.config.data.path).exists() else ss.get("df")
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "model.onnx"
                report = export_onnx(run, out, check=True, df=df, keep_values=True)
                ss[f"onnx_{rid}"] = (out.read_bytes(), report)
    got = ss.get(f"onnx_{rid}")
    if not got:
        return
    data, report = got
    from mtl_core.figures import onnx_parity

    diffs = report.get("max_abs_diff") or {}
    worst_abs = max(diffs.values()) if diffs else 0.0
    (st.success if report.get("ok") else st.warning)(
        f"Checked on {report.get('rows_checked', 0):,} test rows: max abs diff {worst_abs:.2e} "
        f"(largest relative to the value {report.get('worst', 0.0):.2e}; tolerance 1e-5).")
    c1, c2 = st.columns([1, 2])
    c1.download_button(f"{rid}.onnx ({len(data) / 1024:,.0f} KiB)", data, file_name=f"{rid}.onnx",
                       mime="application/octet-stream", key=f"dl_onnx_{rid}", icon=":material/download:")
    c1.dataframe({"task": list(diffs), "max abs diff": [f"{v:.2e}" for v in diffs.values()]}, hide_index=True)
    with c2:
        _ui.plot(onnx_parity(report.get("values") or {}), key=f"fig_onnx_{rid}")
