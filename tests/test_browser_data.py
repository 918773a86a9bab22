"""Headless Chromium: the Data page's reading and task controls on an uploaded headerless
event log: "First row is" (detect / column names / data), renaming the columns, a threshold
label typed for a numeric column, and the funnel builder's "this event happened" labels.

Run: ``python -m pytest tests/test_browser_data.py -m browser``. Skips without chromium/playwright.
"""
from __future__ import annotations

import pytest

from browser_support import assert_no_exception, full_page_shot, settle, wait_single_input_value

pytestmark = pytest.mark.browser
NAMES = "Column names (comma-separated)"
WAIT = 60_000  # ms: every expectation waits for its condition (the page redraws slowly under load)


def _headerless_log(path) -> None:
    """40 users × 3 items; every pair is viewed, then carted (A), bought (B) or both (C): each
    pair reached 'cart or later', so 'reached' labels make ``cart`` one class, while 'this
    event happened' labels do not. No header line; the 5th column is a price."""
    lines, t = [], 1_511_544_070
    for u in range(40):
        for j, price in enumerate((10, 40, 70)):
            kind = (u + j) % 3
            events = ["pv"] + (["cart"] if kind in (0, 2) else []) + (["buy"] if kind in (1, 2) else [])
            for e in events:
                t += 7
                lines.append(f"u{u:02d},i{j},{e},{t},{price}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_header_rename_threshold_and_event_labels(app_server, browser_page, screenshots, tmp_path):
    from playwright.sync_api import expect

    log = tmp_path / "log.csv"
    _headerless_log(log)
    n = len(log.read_text().splitlines())
    pg = browser_page
    main = pg.locator('[data-testid="stMain"]')
    pg.goto(f"{app_server['url']}/data")
    pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
    settle(pg)

    # upload: the first line is detected as data, no row is lost, names col_0..col_4
    pg.locator('input[type="file"]').set_input_files(str(log))
    pg.get_by_text("Loaded log.csv").wait_for(timeout=WAIT)
    settle(pg)
    expect(main).to_contain_text(f"{n:,} rows × 5 columns", timeout=WAIT)
    expect(pg.get_by_text("The first line was read as data")).to_be_visible(timeout=WAIT)
    wait_single_input_value(pg, NAMES, "col_0, col_1, col_2, col_3, col_4", timeout=WAIT)
    assert_no_exception(pg)

    # "First row is: column names" reads the file again with the first event as names
    first_row = pg.locator('[data-testid="stRadio"]').filter(has_text="First row is")
    first_row.get_by_text("column names", exact=True).click()
    expect(main).to_contain_text(f"{n - 1:,} rows × 5 columns", timeout=WAIT)
    settle(pg)
    wait_single_input_value(pg, NAMES, "u00, i0, pv, 1511544077, 10", timeout=WAIT)
    # ... and "data (no header)" gives the row back
    pg.locator('[data-testid="stRadio"]').filter(has_text="First row is").get_by_text("data (no header)").click()
    expect(main).to_contain_text(f"{n:,} rows × 5 columns", timeout=WAIT)
    settle(pg)
    before = wait_single_input_value(pg, NAMES, "col_0, col_1, col_2, col_3, col_4", timeout=WAIT)

    # rename the columns: the redrawn page re-keys the input, so wait for a new one
    pg.get_by_label(NAMES).fill("user, item, event, ts, price")
    pg.get_by_role("button", name="Rename columns").click()
    wait_single_input_value(pg, NAMES, "user, item, event, ts, price", timeout=WAIT, replacing=before)
    settle(pg)
    assert_no_exception(pg)

    # a threshold label on the numeric price column
    tasks = pg.locator('[data-testid="stMultiSelect"]').filter(has_text="Columns to predict")
    tasks.locator("input").click()
    pg.keyboard.type("price")
    pg.keyboard.press("Enter")
    pg.keyboard.press("Escape")
    settle(pg)
    positive = pg.get_by_role("textbox", name="Positive when price is")
    positive.fill(">=99999")
    positive.press("Enter")
    expect(pg.locator('[data-testid="stAlertContentError"]').filter(has_text="one class").first).to_be_visible(
        timeout=WAIT)
    settle(pg)
    positive = pg.get_by_role("textbox", name="Positive when price is")
    positive.fill(">=50")
    positive.press("Enter")
    expect(pg.get_by_text("price → binary (positive = >=50)")).to_be_visible(timeout=WAIT)
    settle(pg)
    assert_no_exception(pg)
    full_page_shot(pg, screenshots / "data_headerless.png")

    # the funnel builder on the renamed log, with 'this event happened' labels
    pg.get_by_role("tab", name="Event log → funnel table").click()
    stages = pg.locator('[data-testid="stMultiSelect"]').filter(has_text="Funnel stages")
    stages.wait_for()
    stages.locator("input").click()
    for stage in ("pv", "cart", "buy"):
        pg.keyboard.type(stage)
        pg.keyboard.press("Enter")
    pg.keyboard.press("Escape")
    settle(pg)
    pg.locator('[data-testid="stRadio"]').filter(has_text="label is 1 when").get_by_text(
        "this event happened", exact=False).click()
    settle(pg)
    pg.get_by_role("button", name="Build the funnel table").click()
    expect(main).to_contain_text("funnel table from log.csv", timeout=WAIT)
    expect(main).to_contain_text("120 rows", timeout=WAIT)
    # 'reached' labels would make cart one class (an error here); event labels give both tasks
    expect(pg.get_by_text("cart → binary")).to_be_visible(timeout=WAIT)
    expect(pg.get_by_text("buy → binary", exact=False).first).to_be_visible(timeout=WAIT)
    settle(pg)
    assert_no_exception(pg)
