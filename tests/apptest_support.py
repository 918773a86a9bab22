"""Shared helpers for Streamlit AppTest page tests."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 60


def new_app(sid: str | None = None) -> AppTest:
    """The whole app (app.py with st.navigation); ``sid`` reopens that session as its own
    browser would (AppTest cannot send the session cookie, so the state carries it)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if sid:
        at.session_state["sid"] = sid
    return at


def open_page(page: str, sid: str | None = None) -> AppTest:
    """The app switched to ``page`` (e.g. ``"pages/results.py"``) and run once."""
    at = new_app(sid)
    at.switch_page(page)
    at.run()
    return at


def put_frame(at: AppTest, df, name: str, version: int) -> AppTest:
    """Make ``df`` the session's working table (as an upload would) and rerun."""
    from mtl_core.data.schema import infer_schema

    at.session_state["df"] = df
    at.session_state["schema"] = infer_schema(df)
    at.session_state["data_name"] = name
    at.session_state["data_version"] = version
    at.run()
    return at


def assert_no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def chart_specs(at: AppTest) -> list[dict]:
    """Every Plotly chart on the page, as its figure JSON."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def chart_titles(at: AppTest) -> list[str]:
    out = []
    for spec in chart_specs(at):
        title = spec.get("layout", {}).get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def job_ended(at: AppTest) -> bool:
    """A Train page job's outcome is shown: a success, an error, or a warning other than the
    page's advice on the settings (e.g. a warm-up as long as the run)."""
    return bool(at.success or at.error or [w for w in at.warning if "only rises" not in w.value])


def run_until(at: AppTest, done, timeout: float = 120, every: float = 0.3) -> bool:
    """Rerun the app until ``done(at)`` holds (fragment timers do not fire in AppTest, so
    background jobs are followed by polling); False when ``timeout`` seconds pass first."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        at.run()
        if done(at):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
