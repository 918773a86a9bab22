"""Page pieces for sales forecasting: the Data page's "Sales table from transactions" tab and
the Results page's "Score a file" (logic in mtl_core.data.sales / mtl_core.predict)."""
from __future__ import annotations

import streamlit as st

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
