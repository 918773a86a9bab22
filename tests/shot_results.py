"""Screenshot of the Results page with baselines and warnings (not a test; run by hand):

    python tests/shot_results.py [OUT.png]   # default docs/screenshots/results_baselines.png

Trains a short run on data/sample.csv in a temporary runs folder, serves the app there and
takes a full-page shot of the Results page with Debian's Chromium.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_support import ROOT, assert_no_exception, chromium_page, full_page_shot, settle, streamlit_server  # noqa: E402


def main(out: Path) -> None:
    from mtl_core.app import state as app_state
    from mtl_core.config import RunConfig
    from mtl_core.pipeline import run_experiment

    with tempfile.TemporaryDirectory() as tmp:
        sid = app_state.new_session_id()
        cfg = RunConfig()
        cfg.data.path = str(ROOT / "data" / "sample.csv")
        cfg.data.tasks = ["click", "cart", "purchase", "rating:regression"]
        cfg.train.epochs, cfg.train.batch_size = 2, 512
        cfg.name = "sample, 2 epochs"
        run_experiment(cfg, runs_root=app_state.session_runs_root(Path(tmp) / "runs", sid))
        with streamlit_server(Path(tmp)) as srv, chromium_page() as pg:
            pg.goto(f"{srv['url']}/results?s={sid}")
            pg.get_by_text("Beside the baselines").wait_for()
            pg.locator('[data-testid="stAlertContentWarning"]').first.wait_for()
            settle(pg)
            assert_no_exception(pg)
            full_page_shot(pg, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "results_baselines.png")
