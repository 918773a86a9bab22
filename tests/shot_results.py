"""Screenshots of the Results page with baselines and warnings, and of its Ranking tab
(catalogue Recall/NDCG/Hit@10 beside the most-popular-items baseline); not a test, run by hand:

    python tests/shot_results.py [OUT.png]   # default docs/screenshots/results_baselines.png

Trains a short run on data/sample.csv in a temporary runs folder, serves the app there and
takes a full-page shot of the Results page with Debian's Chromium, then one of the Ranking
tab (``results_ranking.png`` next to OUT.png).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_support import ROOT, assert_no_exception, chromium_page, full_page_shot, settle, streamlit_server  # noqa: E402


def main(out: Path) -> None:
    from urllib.parse import parse_qs, urlparse

    from mtl_core.app import state as app_state
    from mtl_core.config import RunConfig
    from mtl_core.pipeline import run_experiment

    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp)) as srv, chromium_page() as pg:
        # the server issues this browser's session (a signed token in the URL and a cookie): train into it
        pg.goto(srv["url"])
        pg.wait_for_function("() => document.cookie.includes('mtl_lab_session=')")
        settle(pg)
        token = parse_qs(urlparse(pg.url).query)["s"][0]
        cfg = RunConfig()
        cfg.data.path = str(ROOT / "data" / "sample.csv")
        cfg.data.tasks = ["click", "cart", "purchase", "rating:regression"]
        cfg.train.epochs, cfg.train.batch_size = 2, 512
        cfg.name = "sample, 2 epochs"
        run_experiment(cfg, runs_root=app_state.session_runs_root(Path(tmp) / "runs", token.split(".")[0]))
        pg.goto(f"{srv['url']}/results?s={token}")
        pg.get_by_text("Beside the baselines").wait_for()
        pg.locator('[data-testid="stAlertContentWarning"]').first.wait_for()
        settle(pg)
        assert_no_exception(pg)
        full_page_shot(pg, out)
        ranking = out.with_name("results_ranking.png")
        pg.get_by_role("tab", name="Ranking").click()
        pg.get_by_role("heading", name="Catalogue ranking").wait_for()
        pg.get_by_role("heading", name="Ranking within each user's test rows").wait_for()
        settle(pg)
        assert_no_exception(pg)
        panel = pg.locator('[data-testid="stTabs"]').filter(has_text="Catalogue ranking").first
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(ranking))
    print(f"wrote {out} and {ranking}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "results_baselines.png")
