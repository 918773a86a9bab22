"""The Trade-off lab in a real headless Chromium: open the sample, run a small Pareto sweep
and wait for its plot (docs/screenshots/lab_pareto.png), then run the correlation lab and
wait for its plot (docs/screenshots/lab_correlation.png).

With ``MTL_LAB_DOCS_SHOTS=1`` the correlation lab runs with the page's default settings and
the screenshot also goes to docs/correlation_lab.png (takes about a minute more).

Run: ``python -m pytest tests/test_browser_lab.py -m browser``. Skips when /usr/bin/chromium
or playwright is missing.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "screenshots"
DOCS_MODE = os.environ.get("MTL_LAB_DOCS_SHOTS") == "1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f}s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    tmp = tmp_path_factory.mktemp("browser_lab")
    port = _free_port()
    env = {**os.environ, "MTL_LAB_RUNS": str(tmp / "runs"), "MTL_LAB_MAX_JOBS": "1",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield {"url": f"http://127.0.0.1:{port}", "log": tmp / "server.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.set_default_timeout(60_000)
        yield pg
        ctx.close()
        browser.close()


def _settle(pg, timeout: float = 60_000) -> None:
    pg.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout)
    pg.locator('[data-testid="stAppViewContainer"]').wait_for(state="visible")


def _no_exception(pg) -> None:
    exc = pg.locator('[data-testid="stException"]')
    assert exc.count() == 0, exc.first.inner_text()
    assert "Traceback" not in pg.locator('[data-testid="stMain"]').inner_text()
    for err in pg.locator('[data-testid="stAlertContentError"]').all():
        if err.is_visible():
            raise AssertionError(f"error shown on the page: {err.inner_text()}")


def _shot(pg, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    height = pg.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }")
    pg.set_viewport_size({"width": 1400, "height": int(min(max(height + 40, 900), 6000))})
    _settle(pg)
    pg.screenshot(path=str(path), full_page=True)
    pg.set_viewport_size({"width": 1400, "height": 1000})


def _panel(pg):
    return pg.locator('[role="tabpanel"]:visible').first


def _fill(loc, value: str) -> None:
    loc.fill(value)
    loc.press("Enter")
    loc.page.wait_for_timeout(800)  # let Streamlit start the rerun before _settle looks for it


def test_pareto_sweep_and_correlation_lab(server, page):
    from playwright.sync_api import expect

    pg = page
    pg.goto(server["url"])
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    _settle(pg)
    # the sample (click + purchase) and a short training budget on the Train page
    pg.get_by_role("button", name="Open the sample and train").click()
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    _settle(pg)
    _fill(pg.get_by_label("Epochs"), "2")
    _settle(pg)

    pg.locator('[data-testid="stSidebarNav"] a', has_text="Trade-off lab").first.click()
    pg.get_by_role("heading", name="Trade-off lab", exact=True).first.wait_for()
    _settle(pg)
    _no_exception(pg)

    # Pareto sweep: 2 fixed weightings + uncertainty + gradnorm + single-task models
    pg.get_by_role("tab", name="Pareto sweep").click()
    panel = _panel(pg)
    expect(panel.get_by_text("9 trainings of 2 epochs", exact=False)).to_be_visible()
    slider = panel.get_by_role("slider")
    slider.first.focus()
    for _ in range(3):  # 5 -> 2 points
        pg.keyboard.press("ArrowLeft")
    pg.wait_for_timeout(800)
    _settle(pg)
    expect(panel.get_by_text("6 trainings", exact=False)).to_be_visible()
    panel.get_by_role("button", name="Run the sweep").click()
    _panel(pg).locator(".js-plotly-plot .gtitle", has_text="Trade-off:").first.wait_for(timeout=240_000)
    _settle(pg)
    panel = _panel(pg)
    expect(panel.get_by_text("Pareto sweep finished", exact=False)).to_be_visible()
    legend = panel.locator(".js-plotly-plot .legendtext").all_text_contents()  # SVG text
    assert {"Weight sweep", "Learned weighting", "Single-task", "Pareto front"} <= set(legend), legend
    _no_exception(pg)
    _shot(pg, SHOTS / "lab_pareto.png")

    # Correlation lab: small settings in the test, the page defaults for the docs screenshot
    pg.get_by_role("tab", name="Correlation lab").click()
    panel = _panel(pg)
    if not DOCS_MODE:
        _fill(panel.get_by_role("spinbutton", name="Rows"), "1000")
        _settle(pg)
        _fill(_panel(pg).get_by_role("spinbutton", name="Epochs"), "2")
        _settle(pg)
        _fill(_panel(pg).get_by_role("spinbutton", name="Seeds"), "1")
        _settle(pg)
    _panel(pg).get_by_role("button", name="Run the correlation lab").click()
    _panel(pg).locator(".js-plotly-plot .gtitle", has_text="Effect of task correlation").first.wait_for(
        timeout=300_000)
    _settle(pg)
    expect(_panel(pg).get_by_text("Correlation lab finished", exact=False)).to_be_visible()
    _no_exception(pg)
    _shot(pg, SHOTS / "lab_correlation.png")
    if DOCS_MODE:
        _shot(pg, ROOT / "docs" / "correlation_lab.png")
    assert "Traceback" not in server["log"].read_text()
