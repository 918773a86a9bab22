"""End to end in a real headless Chromium: upload a CSV, choose tasks, train 2 epochs, see
the loss chart, the confusion matrix and recommendations. Saves a full-page screenshot of
each page as <page>.png in a temporary folder, or in ``$MTL_LAB_SCREENSHOTS`` (the
``screenshots`` fixture; ``MTL_LAB_SCREENSHOTS=docs/screenshots`` refreshes the README's).

Run: ``python -m pytest tests/test_browser.py -m browser``. Skips when /usr/bin/chromium or
playwright is missing.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import assert_no_exception, full_page_shot, region_shot, set_number, settle

pytestmark = pytest.mark.browser


def _shot(pg, folder: Path, name: str) -> None:
    full_page_shot(pg, folder / f"{name}.png")


def _nav(pg, title: str) -> None:
    pg.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    pg.get_by_role("heading", name=title, exact=True).first.wait_for()
    settle(pg)


def _chart(pg, title_part: str, timeout: float = 60_000):
    loc = pg.locator(".js-plotly-plot .gtitle", has_text=title_part).first
    loc.wait_for(timeout=timeout)
    return loc


def test_upload_train_results_recommend(app_server, browser_page, screenshots, tmp_path):
    from playwright.sync_api import expect

    from mtl_core.data.synth import make_synthetic

    csv = tmp_path / "shop.csv"
    make_synthetic(rows=2000, task_correlation=0.6, seed=1).to_csv(csv, index=False)
    pg = browser_page

    # Start
    pg.goto(app_server["url"])
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    settle(pg)
    expect(pg.get_by_text("Training device:")).to_be_visible()
    assert_no_exception(pg)
    assert "s=" in pg.url  # session id in the URL: a reload finds the same runs
    _shot(pg, screenshots, "start")

    # Data: upload through the file input, choose tasks
    _nav(pg, "Data")
    pg.locator('input[type="file"]').set_input_files(str(csv))
    pg.get_by_text("Loaded shop.csv").wait_for(timeout=60_000)
    settle(pg)
    tasks = pg.locator('[data-testid="stMultiSelect"]').filter(has_text="Columns to predict")
    expect(tasks).to_contain_text("click")
    expect(tasks).to_contain_text("purchase")
    tasks.locator("input").click()
    pg.keyboard.type("cart")
    pg.keyboard.press("Enter")
    pg.keyboard.press("Escape")
    settle(pg)
    expect(tasks).to_contain_text("cart")
    pg.get_by_text("Resolved:").wait_for()
    _chart(pg, "Label balance")
    assert_no_exception(pg)
    _shot(pg, screenshots, "data")

    # Train: 2 epochs, watch the loss chart, wait for the end
    pg.get_by_role("button", name="Continue to training").click()
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    settle(pg)
    set_number(pg, "Epochs", 2)
    _chart(pg, "MMoE")  # architecture diagram
    pg.get_by_role("button", name="Train", exact=True).click()
    _chart(pg, "Loss per task", timeout=120_000)
    pg.get_by_text("Finished in").wait_for(timeout=180_000)
    # the page redraws once the job is done: the results link appears, Train is enabled again
    pg.get_by_role("button", name="See the results").wait_for(timeout=60_000)
    expect(pg.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=60_000)
    settle(pg)
    assert_no_exception(pg)
    _shot(pg, screenshots, "train")

    # Results: confusion matrix, ROC, table
    pg.get_by_role("button", name="See the results").click()
    pg.get_by_role("heading", name="Results", exact=True).first.wait_for()
    settle(pg)
    _chart(pg, "click: confusion matrix")
    _chart(pg, "Classification metrics")
    expect(pg.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    assert_no_exception(pg)
    _shot(pg, screenshots, "results")
    pg.get_by_role("tab", name="Feature importance").click()
    _chart(pg, "Which features each task relies on")
    settle(pg)
    assert_no_exception(pg)
    chart = pg.locator('[data-testid="stPlotlyChart"]').filter(
        has=pg.locator(".gtitle", has_text="Which features each task relies on"))
    region_shot(pg, screenshots / "importance.png", chart, chart)

    # Recommend
    _nav(pg, "Recommend")
    pg.get_by_text("Top 10 for").first.wait_for()
    expect(pg.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    settle(pg)
    assert_no_exception(pg)
    _shot(pg, screenshots, "recommend")

    # why this item, and what if its price were higher
    _chart(pg, "Why this item")
    assert_no_exception(pg)
    why = pg.locator('[data-testid="stPlotlyChart"]').filter(has=pg.locator(".gtitle", has_text="Why this item"))
    region_shot(pg, screenshots / "why_item.png", pg.get_by_role("heading", name="Why this item?"), why)
    feature = pg.locator('[data-testid="stSelectbox"]').filter(has_text="Feature to change")
    feature.click()
    pg.keyboard.type("item_price")
    pg.keyboard.press("Enter")
    settle(pg)
    value = pg.locator('[data-testid="stNumberInput"] input').first
    value.fill("400")
    value.press("Enter")
    changed = pg.get_by_text("Changed item").first
    changed.wait_for(timeout=60_000)
    settle(pg)
    assert_no_exception(pg)
    region_shot(pg, screenshots / "what_if.png", pg.get_by_role("heading", name="What if?"), changed)

    # a broken upload shows its error next to the uploader and keeps the previous data
    bad = tmp_path / "broken.csv"
    bad.write_text("a,a\n1,2\n", encoding="utf-8")
    _nav(pg, "Data")
    pg.locator('input[type="file"]').set_input_files(str(bad))
    pg.get_by_text("Still using the previous data: shop.csv").wait_for(timeout=60_000)
    settle(pg)
    expect(pg.locator('[data-testid="stAlertContentError"]').first).to_be_visible()
    assert pg.locator('[data-testid="stException"]').count() == 0
    expect(pg.locator('[data-testid="stMain"]')).to_contain_text("2,000 rows × 19 columns")

    # a reload (a new Streamlit session) still finds this browser session's runs
    _nav(pg, "Recommend")
    pg.get_by_text("Top 10 for").first.wait_for()
    settle(pg)
    pg.reload()
    pg.get_by_role("heading", name="Recommend").first.wait_for()
    settle(pg)
    pg.get_by_text("Top 10 for").first.wait_for()
    assert_no_exception(pg)
    assert "Traceback" not in app_server["log"].read_text()
    assert {p.name for p in screenshots.glob("*.png")} >= {f"{n}.png" for n in ("start", "data", "train",
                                                                                "results", "recommend", "importance",
                                                                                "why_item", "what_if")}
