"""MTL Lab: train a multi-task recommendation model on your own data and see what sharing
between tasks wins and costs.  Run with ``streamlit run app.py``.

Cold start stays light: neither this file nor the Start page imports torch or
scikit-learn; the pages that need them import them lazily.
"""
from __future__ import annotations

import logging

import streamlit as st

from pages import _ui

st.set_page_config(page_title="MTL Lab", page_icon=":material/hub:", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

_ui.init_state()

pages = [
    st.Page("pages/start.py", title="Start", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/table:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/results.py", title="Results", icon=":material/monitoring:"),
    st.Page("pages/recommend.py", title="Recommend", icon=":material/recommend:"),
    st.Page("pages/lab.py", title="Trade-off lab", icon=":material/balance:"),
    st.Page("pages/compare.py", title="Compare runs", icon=":material/compare:"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("pages/history.py", title="Lab history", icon=":material/history:"),
]
page = st.navigation(pages)
_ui.require_sign_in()  # only when the deployment sets a password (README: sign-in)
_ui.session_notice()

try:
    page.run()
except Exception as exc:  # noqa: BLE001 - no traceback ever reaches a page
    _ui.show_error(exc)
finally:
    # the page is drawn: now import the training stack once, in the background, so that
    # jobs never pay for it while other users' pages compete for the interpreter
    from mtl_core.app.jobs import warm_up_in_background

    warm_up_in_background()
    _ui.bind_cookie()
    _ui.save_choices()
    with st.sidebar:  # drawn after the page so it reflects this run's choices
        summary = _ui.data_summary()
        if summary:
            st.caption(summary)
