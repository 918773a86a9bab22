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
from mtl_core.safe_text import md, md_list
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
    """Per-user state, initialised once per session. The session is the one the browser's
    cookie names (a signed token, see ``mtl_core.app.sessions``); the URL carries the same
    token (``?s=``) for display only: a token from a link is never trusted on its own."""
    from mtl_core.app import sessions

    ss = st.session_state
    for key, value in app_state.fresh_state().items():
        if key not in ss:
            ss[key] = value
    root = _root()
    if not app_state.valid_session_id(ss.get("sid")):
        ss["sid"], ss["session_notice"], _ = sessions.resolve(
            root, st.context.cookies.get(sessions.COOKIE), st.query_params.get("s"))
    if not ss.get("_restored"):  # once per browser connection
        from mtl_core.app.memory import SessionMemory

        ss["_restored"] = True
        ss["_memory"] = SessionMemory()  # frees the session's memory when Streamlit drops it
        _restore()
        _apply_link()
        shared = sessions.shared_run(root, st.query_params.get("view"))
        ss["shared_runs"] = [str(shared)] if shared is not None else []
        if st.query_params.get("view") and shared is None:
            ss["session_notice"] = "This share link is not valid or its run was deleted."
    token = sessions.token_for(root, ss["sid"])
    if st.query_params.get("s") != token:
        st.query_params["s"] = token


def _restore() -> None:
    """Bring back the session's saved table and choices (after a reload or a restart)."""
    from mtl_core.app import persist

    ss = st.session_state
    if ss.get("df") is not None:
        return
    df, choices = persist.load(runs_root())
    if df is None and choices.get("last_loaded") == "sample":
        df = read_sample().copy()
    if df is None:
        return
    from mtl_core.data.schema import infer_schema

    ss["df"], ss["schema"] = df, infer_schema(df)
    ss["data_version"] = int(ss.get("data_version", 0)) + 1
    ss.update(choices)
    ss["_saved_choices"] = persist.save_choices(runs_root(), dict(ss))


def _apply_link() -> None:
    """Train settings in the URL (a shared link) replace the session's; the data stays the
    session's own. Refused values are listed once by ``session_notice``."""
    from mtl_core.app import links

    settings, problems = links.apply_link(st.query_params.to_dict())
    if settings is not None:
        st.session_state["train_settings"] = settings
    if problems:
        st.session_state["link_notice"] = problems


def settings_link(settings: dict, lesson: str | None = None) -> str:
    """Put ``settings`` (and a lesson id) in the URL next to the session token, and return
    the link that reproduces them (the session token left out: a link never carries data)."""
    from mtl_core.app import links

    params = links.encode_settings(settings, lesson)
    wanted = {**params, **{k: st.query_params[k] for k in ("s", "view") if k in st.query_params}}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    base = str(getattr(st.context, "url", "") or "").split("?")[0]
    query = links.query_string(params)
    return base + ("?" + query if query else "")


def save_choices() -> None:
    """Keep the session's choices on disk when they changed (called once per run, by app.py)."""
    from mtl_core.app import persist

    ss = st.session_state
    if ss.get("df") is None or not app_state.valid_session_id(ss.get("sid")):
        return
    try:
        text = persist.save_choices(runs_root(), dict(ss)) if _choices_changed() else None
    except (OSError, ValueError) as exc:
        log.warning("could not save the session's choices: %s", exc)
        return
    if text is not None:
        ss["_saved_choices"] = text


def _choices_changed() -> bool:
    import json

    from mtl_core.app import persist
    from mtl_core.values import json_safe

    ss = st.session_state
    now = json.dumps(json_safe({k: ss.get(k) for k in persist.CHOICE_KEYS}), sort_keys=True, allow_nan=False)
    return now != ss.get("_saved_choices")


def _configured_password() -> str | None:
    """The shared password of a deployment (``[mtl_lab] password`` in secrets.toml or
    ``MTL_LAB_PASSWORD``); None for local use."""
    env = os.environ.get("MTL_LAB_PASSWORD")
    if env:
        return env
    try:
        section = st.secrets.get("mtl_lab")
    except Exception:  # noqa: BLE001 - no secrets file: local use, no sign-in
        return None
    value = section.get("password") if section is not None else None
    return str(value) if value else None


def require_sign_in() -> None:
    """When the deployment sets a password, ask for it once per browser connection and show
    nothing else until it is given. Off when no password is configured."""
    import hmac

    password = _configured_password()
    if password is None or st.session_state.get("signed_in"):
        return
    st.title("MTL Lab")
    typed = st.text_input("Password", type="password", key="sign_in_password")
    ok = st.button("Sign in", type="primary", key="sign_in_go")
    if ok and hmac.compare_digest(typed.encode("utf-8"), password.encode("utf-8")):
        st.session_state["signed_in"] = True
        st.session_state.pop("sign_in_password", None)
        st.rerun()
    if ok:
        st.error("That password is not right.", icon=":material/lock:")
    st.stop()


def bind_cookie() -> None:
    """Have the browser keep this session's token in a cookie (first visit or a refused
    link), so that a reload or a restart finds the same session and only this browser does.
    Called once per run, from app.py."""
    from mtl_core.app import sessions

    token = sessions.token_for(_root(), st.session_state["sid"])
    if st.context.cookies.get(sessions.COOKIE) != token:
        st.html(f"<script>document.cookie = '{sessions.COOKIE}={token}; path=/; max-age=31536000; "
                "SameSite=Strict';</script>", unsafe_allow_javascript=True)


def session_notice() -> None:
    """Say once why the link's session was not opened."""
    notice = st.session_state.pop("session_notice", None)
    if notice:
        st.warning(notice, icon=":material/lock:")
    refused = st.session_state.pop("link_notice", None)
    if refused:
        st.warning("Some settings in the link were not used (they keep their defaults):\n"
                   + "\n".join(f"- {md(p)}" for p in refused), icon=":material/link_off:")


def _root() -> Path:
    from mtl_core.runs import default_runs_root

    return default_runs_root()


def run_page(title: str, key: str, manage: bool = False):
    """The head of a page about one saved run: app wiring, session state, the title and the
    run picker (``key``). Returns the chosen LoadedRun; without any run the page says what
    to do and stops. ``manage``: also list interrupted runs and offer to share or delete."""
    ensure_app()
    init_state()
    st.title(title)
    if manage:
        from pages._interrupted import interrupted_panel

        interrupted_panel()
    run = pick_run(key)
    if run is None:
        st.stop()
    if manage:
        run_actions(run)
    return run


def go(page: str) -> None:
    """Switch page keeping the session token in the URL."""
    st.switch_page(PAGES[page], query_params={"s": st.query_params.get("s", "")})


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One manager for the whole server: jobs of all sessions share its slots."""
    try:
        limit = int(os.environ.get("MTL_LAB_MAX_JOBS", "2"))
    except ValueError:
        limit = 2
    from mtl_core.runs import clean_orphans

    removed = clean_orphans(_root())  # once per server start: week-old interrupted runs
    if removed:
        log.info("removed %d interrupted runs' temporary folders older than a week", len(removed))
    return JobManager(max_concurrent=max(1, limit))


def runs_root() -> Path:
    """This session's folder (created only when something is saved in it)."""
    from mtl_core.app.sessions import session_dir

    return session_dir(_root(), st.session_state["sid"])


# --------------------------------------------------------------------------- errors
def show_error(exc: BaseException) -> None:
    if isinstance(exc, MTLError):
        st.error(md(exc), icon=":material/error:")  # messages quote names from data
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
    """Make ``df`` the working table: infer its schema, reset choices bound to old data
    (roles, tasks, task kinds); the Train settings are kept."""
    from mtl_core.data.keys import canonical_ids
    from mtl_core.data.provenance import table_source
    from mtl_core.data.schema import id_like_columns, infer_schema

    ss = st.session_state
    ss["data_source"] = table_source(df, name, source, ss.get("data_source"))
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
    # the Train page's choices are not bound to the data: keep them (issue 17)
    ss["train_settings"] = app_state.carry_train_settings(ss.get("train_settings"), ss["tasks"])
    from mtl_core.app import persist

    try:  # the bundled sample is re-read on restore; other tables are kept as Parquet
        persist.save_table(runs_root(), None if source == "sample" else df)
    except (OSError, ValueError, TypeError, ImportError) as exc:
        log.warning("could not save the session's table: %s", exc)


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
                             time_features=bool(ss.get("pre_time_features",  # the box below, this run
                                                       (ss.get("preprocess") or {}).get("time_features", True))),
                             ticked=ss.get("ticked_tasks") or [])
    except Exception as exc:  # noqa: BLE001 - a bad role is reported where it is set
        show_error(exc)
        return
    unused = {c: u for c, u in usage.items() if not u["used"]}
    st.caption(f"{len(usage) - len(unused)} of {len(usage)} columns are model inputs. "
               + ("Not used: " + "; ".join(f"**{md(c)}**: {md(u['as'].removeprefix('not used: '))}" for c, u in unused.items())
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
    tasks = md_list(ss.get("tasks") or []) or "none chosen yet"
    return f"**{md(ss.get('data_name'))}** · {len(df):,} rows × {df.shape[1]} columns · tasks: {tasks}"


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
    """A selectbox over this session's runs (newest first) and runs opened through a share
    link (read-only); returns the LoadedRun or None."""
    from mtl_core.runs import list_runs, run_info

    shared = [i for i in (run_info(Path(p)) for p in st.session_state.get("shared_runs") or []) if i]
    runs = list_runs(runs_root()) + shared
    if not runs:
        no_runs_yet(key)
        return None
    paths = [str(r.path) for r in runs]
    labels = {str(r.path): app_state.run_label(r) for r in runs}
    labels.update({str(r.path): "shared, read-only · " + app_state.run_label(r) for r in shared})
    selected = st.session_state.get("selected_run")
    index = paths.index(selected) if selected in paths else 0
    choice = st.selectbox("Run", paths, index=index, format_func=lambda p: labels.get(p, p), key=key,
                          help="Runs trained in this browser session, newest first.")
    st.session_state["selected_run"] = choice
    return load_run_cached(choice)


def own_run(run) -> bool:
    """True when ``run`` belongs to this session (not one opened through a share link)."""
    return Path(run.path).parent.resolve() == runs_root().resolve()


def run_actions(run) -> None:
    """Share a read-only link to the run, or delete it (own runs only)."""
    from mtl_core.app import sessions
    from mtl_core.runs import delete_run

    if not own_run(run):
        st.caption("Opened through a share link: read-only.")
        return
    with st.expander("Share or delete this run", icon=":material/share:"):
        token = sessions.share_token(_root(), st.session_state["sid"], run.run_id)
        base = str(st.context.url or "").split("?")[0].rstrip("/")
        base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
        st.caption("Read-only link to this run (its scores, charts and recommendations; "
                   "nothing else of this session):")
        st.code(f"{base}/results?view={token}", language=None)
        sure = st.checkbox("Yes, delete this run and its files", key=f"del_sure_{run.run_id}")
        if st.button("Delete this run", key=f"del_run_{run.run_id}", disabled=not sure,
                     icon=":material/delete:"):
            delete_run(run.path)
            _load_run.clear()
            st.session_state["selected_run"] = None
            st.rerun()


def forget_session() -> None:
    """Delete everything this session saved and start a new, empty session."""
    from mtl_core.app import sessions

    sessions.delete_session_data(_root(), st.session_state["sid"])
    _load_run.clear()
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["sid"] = app_state.new_session_id()  # bind_cookie hands the browser its token


def integer_epochs(fig):
    """Epoch axes tick on whole epochs (no 1.2, 1.4 … between two epochs); see
    ``figures.common.whole_epochs`` (the training figures already apply it)."""
    from mtl_core.figures.common import whole_epochs

    return whole_epochs(fig)


def plot(fig, key: str | None = None, run=None) -> None:
    """Show ``fig``; with ``run`` (a LoadedRun) it gets the footer 'data · seed · architecture'
    of that run, so a downloaded image says what produced it."""
    if run is not None:
        from mtl_core.data.provenance import describe
        from mtl_core.figures.common import footer

        cfg = run.config
        footer(fig, describe(cfg.data.source), cfg.train.seed, cfg.model.arch)
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})
