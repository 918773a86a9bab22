"""The optimiser lab's figure for docs/LAB.md (not a test; run by hand):

    python tests/shot_optlab.py [OUT.png] [--rows 5000]   # default docs/optimiser_lab.png

Runs the experiment of ``python -m mtl_core optlab --data SAMPLE --task click --task purchase
--arch shared_bottom --epochs 8 --batch-size 128`` on the first ROWS rows of data/sample.csv
into a temporary session's runs folder, serves the app there and screenshots the Trade-off
lab's Optimisers tab with Debian's Chromium (kaleido is not installed). Prints the summary
and the explanation.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_support import ROOT, assert_no_exception, chromium_page, full_page_shot, settle, streamlit_server  # noqa: E402

ARGS = ["--task", "click", "--task", "purchase", "--arch", "shared_bottom", "--epochs", "8", "--batch-size", "128"]


def main(out: Path, rows: int) -> None:
    import pandas as pd

    from mtl_core.app import state as app_state
    from mtl_core.cli import build_parser, config_from_args
    from mtl_core.lab import optimiser_lab

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sample.csv"
        pd.read_csv(ROOT / "data" / "sample.csv").head(rows).to_csv(data, index=False)
        cfg = config_from_args(build_parser().parse_args(["optlab", "--data", str(data), *ARGS]))
        sid = app_state.new_session_id()
        table = optimiser_lab(cfg, None, runs_root=app_state.session_runs_root(Path(tmp) / "runs", sid))
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(table.round(4).to_string(index=False))
        print("\n".join(table.attrs["explanation"]))
        with streamlit_server(Path(tmp)) as srv, chromium_page() as pg:
            pg.goto(f"{srv['url']}/lab?s={sid}")
            pg.get_by_role("heading", name="Trade-off lab", exact=True).first.wait_for()
            settle(pg)
            pg.get_by_role("tab", name="Optimisers").click()
            pg.locator('[role="tabpanel"]:visible .js-plotly-plot .gtitle',
                       has_text="Optimisers and initialisations").first.wait_for(timeout=120_000)
            settle(pg)
            assert_no_exception(pg)
            full_page_shot(pg, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    argv = sys.argv[1:]
    n = 5000
    if "--rows" in argv:
        i = argv.index("--rows")
        n = int(argv[i + 1])
        del argv[i:i + 2]
    main(Path(argv[0]) if argv else ROOT / "docs" / "optimiser_lab.png", n)
