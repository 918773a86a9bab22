"""The Trade-off lab in a real headless Chromium: open the sample, run a small Pareto sweep
and wait for its plot (screenshot lab_pareto.png), then run the correlation lab and wait for
its plot (lab_correlation.png). Screenshots go to a temporary folder, or to
``$MTL_LAB_SCREENSHOTS`` (the ``screenshots`` fixture; ``MTL_LAB_SCREENSHOTS=docs/screenshots``
refreshes the README's).

With ``MTL_LAB_DOCS_SHOTS=1`` the correlation lab runs with the page's default settings and
the screenshot also goes to docs/correlation_lab.png (takes about a minute more).

Run: ``python -m pytest tests/test_browser_lab.py -m browser``. Skips when /usr/bin/chromium
or playwright is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_support import ROOT, assert_no_exception, full_page_shot, settle

DOCS_MODE = os.environ.get("MTL_LAB_DOCS_SHOTS") == "1"

pytestmark = pytest.mark.browser


def _shot(pg, path: Path) -> None:
    full_page_shot(pg, path, max_height=6000)


def _panel(pg):
    return pg.locator('[role="tabpanel"]:visible').first


def _fill(loc, value: str) -> None:
    """Type a value and commit it (Enter); the frontend keeps it in the widget state that
    every later rerun (e.g. a button click) sends, so no wait is needed for ordering."""
    from playwright.sync_api import expect

    loc.fill(value)
    loc.press("Enter")
    expect(loc).to_have_value(value)


def test_pareto_sweep_and_correlation_lab(app_server, browser_page, screenshots):
    from playwright.sync_api import expect

    pg = browser_page
    pg.goto(app_server["url"])
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    settle(pg)
    # the sample (click + purchase) and a short training budget on the Train page
    pg.get_by_role("button", name="Open the sample and train").click()
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    settle(pg)
    _fill(pg.get_by_label("Epochs", exact=True), "2")
    # the server has the new value once the page's budget line says so (then it is safe to leave)
    expect(pg.get_by_text("Budget: 2 epochs", exact=False)).to_be_visible(timeout=60_000)
    settle(pg)

    pg.locator('[data-testid="stSidebarNav"] a', has_text="Trade-off lab").first.click()
    pg.get_by_role("heading", name="Trade-off lab", exact=True).first.wait_for()
    settle(pg)
    assert_no_exception(pg)

    # Pareto sweep: 2 fixed weightings + uncertainty + gradnorm + single-task models
    pg.get_by_role("tab", name="Pareto sweep").click()
    panel = _panel(pg)
    expect(panel.get_by_text("9 trainings of 2 epochs", exact=False)).to_be_visible(timeout=60_000)
    slider = panel.get_by_role("slider")
    slider.first.focus()
    for _ in range(3):  # 5 -> 2 points
        pg.keyboard.press("ArrowLeft")
    expect(panel.get_by_text("6 trainings", exact=False)).to_be_visible(timeout=60_000)
    settle(pg)
    panel.get_by_role("button", name="Run the sweep").click()
    _panel(pg).locator(".js-plotly-plot .gtitle", has_text="Trade-off:").first.wait_for(timeout=240_000)
    settle(pg)
    panel = _panel(pg)
    expect(panel.get_by_text("Pareto sweep finished", exact=False)).to_be_visible()
    expect(panel.get_by_role("button", name="Stop")).to_have_count(0, timeout=60_000)  # page redrawn
    settle(pg)
    legend = panel.locator(".js-plotly-plot .legendtext").all_text_contents()  # SVG text
    assert {"Weight sweep", "Learned weighting", "Single-task", "Pareto front"} <= set(legend), legend
    assert_no_exception(pg)
    _shot(pg, screenshots / "lab_pareto.png")

    # Correlation lab: small settings in the test, the page defaults for the docs screenshot
    pg.get_by_role("tab", name="Correlation lab").click()
    panel = _panel(pg)
    if not DOCS_MODE:
        _fill(panel.get_by_role("spinbutton", name="Rows"), "1000")
        settle(pg)
        _fill(_panel(pg).get_by_role("spinbutton", name="Epochs"), "2")
        settle(pg)
        _fill(_panel(pg).get_by_role("textbox", name="Seeds"), "1")
        settle(pg)
    _panel(pg).get_by_role("button", name="Run the correlation lab").click()
    _panel(pg).locator(".js-plotly-plot .gtitle", has_text="improvement over single-task").first.wait_for(
        timeout=300_000)
    settle(pg)
    expect(_panel(pg).get_by_text("Correlation lab finished", exact=False)).to_be_visible()
    expect(_panel(pg).get_by_role("button", name="Stop")).to_have_count(0, timeout=60_000)  # page redrawn
    settle(pg)
    assert_no_exception(pg)
    _shot(pg, screenshots / "lab_correlation.png")
    if DOCS_MODE:
        _shot(pg, ROOT / "docs" / "correlation_lab.png")
    assert "Traceback" not in app_server["log"].read_text()
    assert {p.name for p in screenshots.glob("*.png")} >= {"lab_pareto.png", "lab_correlation.png"}
