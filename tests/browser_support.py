"""Shared helpers for real-browser work: start ``streamlit run app.py`` on 127.0.0.1, launch
Debian's Chromium through Playwright (never ``playwright install``), and wait on page
conditions (never fixed sleeps). Used by the browser tests and by bench/ scripts."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll ``url`` until it answers 200 (or the server dies, or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        if healthy(url, timeout=2):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f}s")


@contextlib.contextmanager
def streamlit_server(workdir: Path, env_extra: dict | None = None, timeout: float = 90.0):
    """Run the app on a free loopback port; yields ``{"url", "proc", "log"}`` and always
    terminates the server."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "MTL_LAB_RUNS": str(workdir / "runs"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env_extra or {})}
    log_path = workdir / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/_stcore/health", proc, timeout)
        yield {"url": url, "proc": proc, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def launch_chromium(playwright):
    """Debian's Chromium through Playwright, headless, with the flags this machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# --------------------------------------------------------------------------- page conditions
def settle(pg, timeout: float = 60_000) -> None:
    """Wait until Streamlit is not running a script (its status widget is gone)."""
    pg.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout)
    pg.locator('[data-testid="stAppViewContainer"]').wait_for(state="visible")


def set_number(pg, label: str, value, role: bool = False) -> None:
    """Type ``value`` into the number box labelled exactly ``label`` (``role``: find it as a
    spinbutton by accessible name), submit it and wait for the rerun."""
    box = pg.get_by_role("spinbutton", name=label) if role else pg.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    settle(pg)


def wait_single_input_value(pg, label: str, value: str, timeout: float = 60_000, replacing: str | None = None) -> str:
    """Wait until the page shows exactly one input labelled ``label`` and it holds ``value``
    (and, with ``replacing``, is not the element with that id: a rerun re-keyed it); returns
    its id. A rerun that re-keys a widget briefly shows the old and the new input side by
    side, so a Playwright locator on the label can hit two elements; this waits it out."""
    handle = pg.wait_for_function(
        """([label, value, old]) => {
            const els = [...document.querySelectorAll('input')].filter(e => e.getAttribute('aria-label') === label);
            return els.length === 1 && els[0].value === value && els[0].id !== old && els[0].id;
        }""", arg=[label, value, replacing], timeout=timeout)
    return handle.json_value()


def assert_no_exception(pg) -> None:
    """Fail on any exception block, traceback text or visible error alert on the page."""
    exc = pg.locator('[data-testid="stException"]')
    assert exc.count() == 0, exc.first.inner_text()
    assert "Traceback" not in pg.locator('[data-testid="stMain"]').inner_text()
    for err in pg.locator('[data-testid="stAlertContentError"]').all():
        if err.is_visible():
            raise AssertionError(f"error shown on the page: {err.inner_text()}")


def full_page_shot(pg, path: Path, width: int = 1400, max_height: int = 9000) -> None:
    """Full-page screenshot: Streamlit scrolls inside its main container, so grow the
    viewport to the content height first, then restore it."""
    path = _grown(pg, path, width, max_height)
    pg.screenshot(path=str(path), full_page=True)
    pg.set_viewport_size({"width": width, "height": 1000})


def _grown(pg, path: Path, width: int, max_height: int) -> Path:
    """Create ``path``'s folder and grow the viewport to the content height (Streamlit
    scrolls inside its main container)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height = pg.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }")
    pg.set_viewport_size({"width": width, "height": int(min(max(height + 40, 900), max_height))})
    settle(pg)
    return path


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 1000, timeout_ms: int = 60_000):
    """A fresh Chromium page (own browser and context), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        ctx = browser.new_context(viewport={"width": width, "height": height})
        pg = ctx.new_page()
        pg.set_default_timeout(timeout_ms)
        try:
            yield pg
        finally:
            ctx.close()
            browser.close()


def region_shot(pg, path: Path, top, bottom, width: int = 1400, max_height: int = 9000) -> None:
    """Screenshot of the page from locator ``top`` down to locator ``bottom`` (the viewport
    grown to the content height first, as in :func:`full_page_shot`)."""
    path = _grown(pg, path, width, max_height)
    a, b = top.bounding_box(), bottom.bounding_box()
    y0 = max(a["y"] - 12, 0)
    pg.screenshot(path=str(path), full_page=True,
                  clip={"x": 0, "y": y0, "width": width, "height": b["y"] + b["height"] + 12 - y0})
    pg.set_viewport_size({"width": width, "height": 1000})
