"""Headless Chromium: the Data page's "Sales table from transactions" tab on an uploaded log,
and the Results page's "Score a file" (upload -> predictions -> download).

Run: ``python -m pytest tests/test_browser_sales.py -m browser``. Skips without chromium/playwright.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from browser_support import assert_no_exception, settle

pytestmark = pytest.mark.browser


def test_sales_tab_and_score_a_file(app_server, browser_page, tmp_path):
    from playwright.sync_api import expect

    from mtl_core.app.state import session_runs_root
    from mtl_core.config import RunConfig
    from mtl_core.data.synth import make_synthetic
    from mtl_core.pipeline import run_experiment
    from test_app_sales import _log

    pg = browser_page
    # the server issues the session (a signed token in the URL and a cookie): train into it
    pg.goto(app_server["url"])
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    pg.wait_for_function("() => document.cookie.includes('mtl_lab_session=')")
    settle(pg)
    token = parse_qs(urlparse(pg.url).query)["s"][0]
    sid = token.split(".")[0]
    cfg = RunConfig()
    cfg.data.tasks = ["click", "rating:regression"]
    cfg.train.epochs = 1
    df = make_synthetic(rows=600, seed=4)
    run_experiment(cfg.validate(), df=df, runs_root=session_runs_root(Path(app_server["log"]).parent / "runs", sid))

    # Data: upload a transaction log, build the weekly sales table
    log = tmp_path / "retail.csv"
    _log().to_csv(log, index=False)
    pg.goto(f"{app_server['url']}/data?s={token}")
    pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
    settle(pg)
    pg.locator('input[type="file"]').set_input_files(str(log))
    pg.get_by_text("Loaded retail.csv").wait_for(timeout=60_000)
    settle(pg)
    pg.get_by_role("tab", name="Sales table from transactions").click()
    pg.get_by_role("button", name="Build the sales table").click()
    pg.get_by_text("zero-filled periods").wait_for(timeout=60_000)
    settle(pg)
    expect(pg.locator('[data-testid="stMain"]')).to_contain_text("weekly sales table from retail.csv")
    assert_no_exception(pg)

    # Results: score a file of new rows and download the predictions
    new = tmp_path / "new.csv"
    df.drop(columns=["click", "rating"]).head(50).to_csv(new, index=False)
    pg.goto(f"{app_server['url']}/results?s={token}")
    pg.get_by_role("heading", name="Results", exact=True).first.wait_for()
    settle(pg)
    pg.get_by_role("tab", name="Downloads").click()
    pg.get_by_role("region", name="Rows to score").locator('input[type="file"]').set_input_files(str(new))
    button = pg.get_by_role("button", name="Predictions for 50 rows (CSV)")
    button.wait_for(timeout=60_000)
    with pg.expect_download() as dl:
        button.click()
    got = pd.read_csv(dl.value.path())
    assert len(got) == 50 and {"pred:click", "pred:rating"} <= set(got.columns)
    assert got["pred:click"].between(0, 1).all()
    assert_no_exception(pg)
