"""A run's HTML report opened in a real headless Chromium with the network off: every Plotly
chart renders and the page asks for nothing outside the file (screenshot report.png, saved to
``$MTL_LAB_SCREENSHOTS`` when set, else a temporary folder).

Run: ``python -m pytest tests/test_browser_report.py -m browser``."""
from __future__ import annotations

from pathlib import Path

import pytest

from report_support import small_run

pytestmark = pytest.mark.browser


def test_report_renders_its_charts_offline(tmp_path, screenshots):
    from browser_support import CHROMIUM, launch_chromium

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from mtl_core.report import run_report, write_report

    report = tmp_path / "report.html"
    size = write_report(run_report(small_run(tmp_path / "runs", tmp_path, hostile=False, epochs=4), users=2, k=5), report)
    expected = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert expected >= 5
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        ctx = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                  else route.abort())  # anything that tries to leave the file is refused, and noted
        page = ctx.new_page()
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))  # alert() from data
        try:
            page.goto(report.as_uri())
            # a chart is drawn when Plotly has laid it out and put its SVG, with its traces, into the div
            drawn = ("[...document.querySelectorAll('.plotly-graph-div')].filter(d => d._fullLayout"
                     " && d._fullData && d._fullData.length && d.querySelector('.main-svg .cartesianlayer')).length")
            page.wait_for_function(f"{drawn} >= {expected}", timeout=60_000)
            assert page.evaluate(drawn) == expected
            page.screenshot(path=str(screenshots / "report.png"), full_page=True)
        finally:
            ctx.close()
            browser.close()
    assert not errors, errors
    assert [u for u in requests if not u.startswith("file:")] == []
    print(f"report: {size:,} bytes, {expected} charts")
