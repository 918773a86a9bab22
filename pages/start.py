"""Start: what MTL Lab does, the training device, and a one-click path to a first run."""
from __future__ import annotations

import streamlit as st

from pages import _ui

_ui.ensure_app()
_ui.init_state()

st.title("MTL Lab")
st.markdown(
    "MTL Lab trains a **multi-task recommendation model** (click, add-to-cart, purchase, "
    "rating…) on your own e-commerce table, right here in the browser. "
    "You choose the columns, the tasks and how much the tasks share — from nothing shared, "
    "through a shared bottom, to experts with gates (MMoE, PLE) and ESMM — and compare the "
    "scores per task against single-task models. "
    "Then you look at each task's errors and turn the model into top-K recommendations for a user."
)

c1, c2 = st.columns([1, 2], vertical_alignment="center")
with c1:
    if st.button("Open the sample and train", key="start_sample", type="primary",
                 icon=":material/play_arrow:"):
        with _ui.errors_here():
            _ui.open_sample()
            _ui.go("train")
with c2:
    st.caption("Loads a synthetic shop log (users, items, prices, clicks, carts, purchases, "
               "ratings) with click and purchase as tasks, and opens the Train page.")

st.subheader("How it works")
steps = st.columns(4)
steps[0].markdown("**1 · Data**  \nUpload a CSV/TSV/Parquet file, use the sample, generate "
                  "synthetic data, or build a funnel table from an event log.")
steps[1].markdown("**2 · Train**  \nPick an architecture and a loss-weighting method; watch "
                  "per-task losses live.")
steps[2].markdown("**3 · Results**  \nPer-task scores, confusion matrices with a threshold "
                  "slider, ROC/PR, calibration, ranking metrics, downloads.")
steps[3].markdown("**4 · Recommend**  \nTop-K items for a user, with each task's score and a "
                  "fused score you weight yourself.")

summary = _ui.data_summary()
if summary:
    st.success(f"Current data: {summary}", icon=":material/check_circle:")

device_slot = st.empty()


@st.cache_resource(show_spinner=False)
def _device_label() -> str:
    """Computed once per server, after the page is drawn (it imports torch)."""
    try:
        from mtl_core.training.device import describe_device

        return describe_device("auto")["label"]
    except Exception:  # noqa: BLE001 - the label is informative only
        return "CPU"


device_slot.caption(f"Training device: {_device_label()}")

with st.expander("Your data on this server", icon=":material/delete:"):
    st.caption("Your runs, uploaded table and choices are kept on this server for this browser only. "
               "Deleting them removes every run of this session and starts a new, empty session.")
    sure = st.checkbox("Yes, delete all my runs and data", key="forget_sure")
    if st.button("Delete my data", key="forget_go", disabled=not sure):
        _ui.forget_session()
        st.rerun()
