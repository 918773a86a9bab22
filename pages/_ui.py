"""Streamlit helpers shared by the pages: session state, the session's runs folder, the
shared job manager, error display, and the run picker. Logic lives in ``mtl_core``."""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from mtl_core.app import state as app_state
from mtl_core.errors import MTLError
from mtl_core.app.jobs import JobManager

log = logging.getLogger("mtl_lab.app")
APP_PATH = Path(__file__).resolve().parent.parent / "app.py"

PAGES = {
    "start": "pages/start.py",
    "data": "pages/data.py",
    "train": "pages/train.py",
    "results": "pages/results.py",
    "recommend": "pages/recommend.py",
}


# --------------------------------------------------------------------------- state
def ensure_app() -> None:
    """Make sure a page runs inside app.py's ``st.navigation``.

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app until
    ``st.navigation`` runs once; a first request straight to a page (and every AppTest run)
    would then run the page without app.py (no page config, no navigation, no error
    wrapper). Switch to navigation mode and run app.py in this same run (a rerun would lose
    the click that started it); app.py runs this page again, then we stop the outer copy.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - internal module moved
        return
    if PagesManager.uses_pages_directory:
        import runpy

        PagesManager.uses_pages_directory = False
        runpy.run_path(str(APP_PATH), run_name="__main__")
        st.stop()


def init_state() -> None:
    """Per-user state, initialised once per session; the session id lives in the URL
    (``?s=<hex>``) so a reload finds the same runs."""
    ss = st.session_state
    for key, value in app_state.fresh_state().items():
        if key not in ss:
            ss[key] = value
    if not app_state.valid_session_id(ss.get("sid")):
        sid = st.query_params.get("s")
        ss["sid"] = sid if app_state.valid_session_id(sid) else app_state.new_session_id()
    if st.query_params.get("s") != ss["sid"]:
        st.query_params["s"] = ss["sid"]


def run_page(title: str, key: str):
    """The head of a page about one saved run: app wiring, session state, the title and the
    run picker (``key``). Returns the chosen LoadedRun; without any run the page says what
    to do and stops."""
    ensure_app()
    init_state()
    st.title(title)
    run = pick_run(key)
    if run is None:
        st.stop()
    return run


def go(page: str) -> None:
    """Switch page keeping the session id in the URL."""
    st.switch_page(PAGES[page], query_params={"s": st.session_state["sid"]})


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One manager for the whole server: jobs of all sessions share its slots."""
    try:
        limit = int(os.environ.get("MTL_LAB_MAX_JOBS", "2"))
    except ValueError:
        limit = 2
    return JobManager(max_concurrent=max(1, limit))


def runs_root() -> Path:
    from mtl_core.runs import default_runs_root

    return app_state.session_runs_root(default_runs_root(), st.session_state["sid"])


# --------------------------------------------------------------------------- errors
def show_error(exc: BaseException) -> None:
    if isinstance(exc, MTLError):
        st.error(str(exc), icon=":material/error:")
    else:
        log.error("unexpected error in the app", exc_info=exc)
        st.error(f"Something went wrong: {type(exc).__name__}. The details are in the server log; "
                 "try again or change the last setting.", icon=":material/error:")


@contextlib.contextmanager
def errors_here():
    """Show any error of the block right here, next to the control that caused it."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - never a traceback on a page
        show_error(exc)


# --------------------------------------------------------------------------- data
@st.cache_data(show_spinner="Reading the sample…", max_entries=2)
def read_sample() -> pd.DataFrame:
    from mtl_core.data.io import read_table

    if app_state.SAMPLE_PATH.exists():
        return read_table(app_state.SAMPLE_PATH)
    from mtl_core.data.synth import make_synthetic  # sample file missing: same generator, fixed seed

    return make_synthetic(rows=5000, task_correlation=0.5, seed=0)


def set_data(df: pd.DataFrame, name: str, source: str, tasks: list[str] | None = None) -> None:
    """Make ``df`` the working table: infer its schema, reset choices bound to old data."""
    from mtl_core.data.keys import canonical_ids
    from mtl_core.data.schema import id_like_columns, infer_schema

    ss = st.session_state
    schema = infer_schema(df)
    df = canonical_ids(df, id_like_columns(schema))  # ids written 14911, not 14911.0
    ss["df"] = df
    ss["data_name"] = name
    ss["last_loaded"] = source
    ss["data_version"] = int(ss.get("data_version", 0)) + 1
    ss["schema"] = schema
    ss["roles"] = {}
    ss["drop"] = []
    ss["tasks"] = list(tasks) if tasks is not None else app_state.suggest_tasks(df, schema)
    ss["task_kinds"] = {}
    ss["task_positive"] = {}
    ss["train_settings"] = {}


def reading_controls(df: pd.DataFrame, ver: int) -> None:
    """Under the preview: whether the first line of an uploaded file is names or data (the
    file is read again), and new column names for any table."""
    from mtl_core.config import ReadOptions
    from mtl_core.data.io import read_table, rename_columns

    ss = st.session_state
    raw = ss.get("raw_upload")
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    if raw is not None and ss.get("last_loaded") == "upload" and raw[1] == ss.get("data_name"):
        choices = {"detect": "detect", "names": "column names", "data": "data (no header)"}
        current = ss.get("read_header", "detect")
        header = c1.radio("First row is", list(choices), index=list(choices).index(current), key=f"read_header_{ver}",
                          format_func=choices.get, horizontal=True,
                          help="detect: a first line of numbers or dates, or of the same types as the rows below it, "
                               "is data; the columns are then named col_0, col_1…")
        if df.attrs.get("header") is False:
            c1.caption("The first line was read as data; rename the columns on the right.")
        if header != current:
            with errors_here():
                opts = ReadOptions(header={"detect": None, "names": True, "data": False}[header])
                set_data(read_table(raw[0], opts, filename=raw[1]), raw[1], "upload")
                ss["read_header"] = header
                st.rerun()
    with c2.form(f"rename_{ver}", border=False):
        names = st.text_input("Column names (comma-separated)", value=", ".join(map(str, df.columns)),
                              key=f"rename_names_{ver}", max_chars=20_000)
        if st.form_submit_button("Rename columns") and names != ", ".join(map(str, df.columns)):
            with errors_here():
                set_data(rename_columns(df, names), str(ss.get("data_name")), str(ss.get("last_loaded")))
                st.rerun()


def column_usage_note(key: str) -> None:
    """What each column of the working table becomes (or why it is not used), from the
    session's roles, dropped columns and tasks (mtl_core.data.usage)."""
    from mtl_core.data.usage import column_usage

    ss = st.session_state
    schema = ss.get("schema")
    if schema is None:
        return
    try:
        usage = column_usage(schema.with_roles(ss.get("roles") or {}), ss.get("tasks") or [], ss.get("drop") or [],
                             ticked=ss.get("ticked_tasks") or [])
    except Exception as exc:  # noqa: BLE001 - a bad role is reported where it is set
        show_error(exc)
        return
    unused = {c: u for c, u in usage.items() if not u["used"]}
    st.caption(f"{len(usage) - len(unused)} of {len(usage)} columns are model inputs. "
               + ("Not used: " + "; ".join(f"**{c}**: {u['as'].removeprefix('not used: ')}" for c, u in unused.items())
                  if unused else ""))
    with st.expander("What each column becomes"):
        st.dataframe(pd.DataFrame([{"column": c, "role": u["role"], "becomes": u["as"]} for c, u in usage.items()]),
                     hide_index=True, width="stretch", key=key)


def open_sample() -> None:
    df = read_sample()
    set_data(df.copy(), "sample.csv (bundled)", "sample", tasks=app_state.SAMPLE_TASKS)


def data_summary() -> str:
    ss = st.session_state
    df = ss.get("df")
    if df is None:
        return ""
    tasks = ", ".join(ss.get("tasks") or []) or "none chosen yet"
    return f"**{ss.get('data_name')}** · {len(df):,} rows × {df.shape[1]} columns · tasks: {tasks}"


def need_data() -> bool:
    """Say what to do when there is no data yet; True if the page can go on."""
    if st.session_state.get("df") is not None:
        return True
    st.info("No data yet. Load your own table or the bundled sample on the Data page.",
            icon=":material/info:")
    c1, c2 = st.columns([1, 1])
    if c1.button("Open the bundled sample", key="need_sample", type="primary"):
        open_sample()
        st.rerun()
    if c2.button("Go to the Data page", key="need_data_page"):
        go("data")
    return False


# --------------------------------------------------------------------------- runs
@st.cache_resource(show_spinner=False, max_entries=16)
def _load_run(path: str, mtime: float):
    from mtl_core.runs import load_run

    return load_run(path)


def load_run_cached(path: str | Path):
    p = Path(path)
    return _load_run(str(p), p.stat().st_mtime)


def no_runs_yet(key: str) -> None:
    """Say that this session has no finished run, with a button to the Train page."""
    st.info("No finished runs yet in this session. Train a model on the Train page.",
            icon=":material/info:")
    if st.button("Go to the Train page", key=f"{key}_go_train", type="primary"):
        go("train")


def pick_run(key: str):
    """A selectbox over this session's runs (newest first); returns the LoadedRun or None."""
    from mtl_core.runs import list_runs

    runs = list_runs(runs_root())
    if not runs:
        no_runs_yet(key)
        return None
    paths = [str(r.path) for r in runs]
    labels = {str(r.path): app_state.run_label(r) for r in runs}
    selected = st.session_state.get("selected_run")
    index = paths.index(selected) if selected in paths else 0
    choice = st.selectbox("Run", paths, index=index, format_func=lambda p: labels.get(p, p), key=key,
                          help="Runs trained in this browser session, newest first.")
    st.session_state["selected_run"] = choice
    return load_run_cached(choice)


def integer_epochs(fig):
    """Epoch axes tick on whole epochs (no 1.2, 1.4 … between two epochs)."""
    fig.update_xaxes(tick0=1, dtick=1 if len(fig.data) and max(
        (max(tr.x) if tr.x is not None and len(tr.x) else 1) for tr in fig.data) <= 20 else None)
    return fig


def plot(fig, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})
