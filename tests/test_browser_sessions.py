"""In a real headless Chromium: the session is the browser's (a reload keeps it, a link with
another browser's session is refused), and a hostile dataset makes the browser fetch
nothing and shows no image, link or HTML from data.

Run: ``python -m pytest tests/test_browser_sessions.py -m browser``.
"""
from __future__ import annotations

import re

from urllib.parse import parse_qs, urlparse

import pytest

from browser_support import assert_no_exception, set_number, settle

pytestmark = pytest.mark.browser

PIXEL = "![px](http://host/pixel)"
TAG = "<img src=x onerror=alert(1)>"


def _token(pg) -> str:
    return parse_qs(urlparse(pg.url).query).get("s", [""])[0]


def _open(pg, url: str) -> None:
    pg.goto(url)
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    settle(pg)


def test_reload_keeps_the_session_and_a_foreign_link_is_refused(app_server, browser_page):
    pg = browser_page
    _open(pg, app_server["url"])
    # the server hands the browser its token in a cookie
    pg.wait_for_function("() => document.cookie.includes('mtl_lab_session=')")
    token = _token(pg)
    assert token and f"mtl_lab_session={token}" in pg.evaluate("document.cookie")
    pg.reload()
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    settle(pg)
    assert _token(pg) == token  # same session after a reload

    other = pg.context.browser.new_context()  # someone who received the link
    try:
        pg2 = other.new_page()
        pg2.set_default_timeout(60_000)
        _open(pg2, f"{app_server['url']}/?s={token}")
        pg2.get_by_text("belongs to another browser").wait_for()
        pg2.wait_for_function(f"() => !location.search.includes('{token}')")
        assert _token(pg2) and _token(pg2) != token
        forged = token[:-1] + ("0" if token[-1] != "0" else "1")
        _open(pg2, f"{app_server['url']}/?s={forged}")
        assert _token(pg2) != forged
    finally:
        other.close()


def test_hostile_dataset_fetches_nothing(app_server, browser_page, tmp_path):
    from mtl_core.data.synth import make_synthetic

    df = make_synthetic(rows=1500, task_correlation=0.5, seed=5)
    df = df.rename(columns={"click": PIXEL, "item_category": TAG})
    df.loc[df.index % 4 == 0, TAG] = PIXEL
    csv = tmp_path / "evil ![x](y).csv"
    df.to_csv(csv, index=False)

    pg = browser_page
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    _open(pg, app_server["url"])
    pg.locator('[data-testid="stSidebarNav"] a', has_text="Data").first.click()
    pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
    settle(pg)
    pg.locator('input[type="file"]').set_input_files(str(csv))
    pg.get_by_text("rows × 19 columns").first.wait_for(timeout=60_000)
    settle(pg)
    tasks = pg.locator('[data-testid="stMultiSelect"]').filter(has_text="Columns to predict")
    if "pixel" not in tasks.inner_text():
        tasks.locator("input").click()
        pg.keyboard.type("pixel")
        pg.keyboard.press("Enter")
        pg.keyboard.press("Escape")
        settle(pg)
    pg.get_by_text("Resolved:").wait_for()
    pg.locator('[data-testid="stSidebar"]').get_by_text("pixel").first.wait_for()  # the summary names it
    pg.get_by_role("button", name="Continue to training").click()
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    settle(pg)
    assert_no_exception(pg)

    assert not [u for u in requests if "host/" in u or u.endswith("/x")], requests
    images = pg.evaluate("() => [...document.images].map(i => i.getAttribute('src'))")
    assert not [s for s in images if s and ("host" in s or s == "x")], images
    links = pg.evaluate("() => [...document.links].map(a => a.getAttribute('href'))")
    assert not [h for h in links if h and "host" in h], links
    assert pg.locator("text=![px](http://host/pixel)").count() >= 1 or \
        "![px](http://host/pixel)" in pg.locator('[data-testid="stSidebar"]').inner_text()


def test_reload_during_training_keeps_the_data_and_reattaches_to_the_job(app_server, browser_page):
    from playwright.sync_api import expect

    pg = browser_page
    _open(pg, app_server["url"])
    pg.get_by_role("button", name="Open the sample and train").click()
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    settle(pg)
    set_number(pg, "Epochs", 60)
    set_number(pg, "Early-stopping patience", 0, role=True)  # 0: no early stop before the reload
    pg.get_by_role("button", name="Train", exact=True).click()
    progress = pg.locator('[data-testid="stProgress"]').filter(has_text="Epoch")
    progress.first.wait_for(timeout=120_000)

    pg.reload()  # a new connection: the table, the choices and the running job come back
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    expect(pg.locator('[data-testid="stSidebar"]')).to_contain_text("sample.csv", timeout=60_000)
    expect(pg.get_by_label("Epochs", exact=True)).to_have_value("60", timeout=60_000)
    progress.first.wait_for(timeout=60_000)  # live progress of the same job
    _stop(pg)
    assert_no_exception(pg)


def _stop(pg) -> None:
    """End the reattached job: press Stop until the page says it stopped (the live panel
    redraws every second, so a click can land on a button being replaced). On a fast machine
    the 60 epochs can finish before the click lands; the page then says it finished."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ended = pg.get_by_text(re.compile(r"Stopped|Finished in")).first
    for _ in range(8):
        stop = pg.get_by_role("button", name="Stop", exact=True)
        if stop.count():
            try:
                stop.first.click(timeout=5_000)
            except PlaywrightTimeout:
                pass
        try:
            ended.wait_for(timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    ended.wait_for(timeout=1_000)  # fails with the locator's message


@pytest.fixture(scope="module")
def browser_page(app_server):
    from browser_support import chromium_page

    with chromium_page() as pg:
        yield pg
