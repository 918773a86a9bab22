"""The optimiser lab's figure for docs/LAB.md (not a test; run by hand):

    python tests/shot_optlab.py [OUT.png] [--rows 3000]   # default docs/optimiser_lab.png

Runs the experiment of ``python -m mtl_core optlab --data SAMPLE --task click --task purchase
--arch shared_bottom --epochs 6 --batch-size 128 --optimisers gd,sgd,momentum,adam --inits
default,xavier`` on the first ROWS rows of data/sample.csv into a session's runs folder under
$MTL_LAB_SHOT_DIR (default /tmp/mtl_optlab_shot; a result already there is reused) and
screenshots its figure (``figures.optimiser_curves``, the one the lab's Optimisers tab draws) in
Debian's headless Chromium (kaleido is not installed). Prints the summary and the explanation.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_support import ROOT, chromium_page  # noqa: E402

ARGS = ["--task", "click", "--task", "purchase", "--arch", "shared_bottom", "--epochs", "6", "--batch-size", "128",
        "--optimisers", "gd,sgd,momentum,adam", "--inits", "default,xavier"]


def cfg_list(args: list[str], flag: str) -> list[str]:
    return args[args.index(flag) + 1].split(",")


def main(out: Path, rows: int) -> None:
    import pandas as pd

    from mtl_core.app import state as app_state
    from mtl_core.cli import build_parser, config_from_args
    from mtl_core.figures.optimisers import optimiser_curves
    from mtl_core.lab import list_optimiser_labs, load_optimiser_lab, optimiser_lab

    tmp = Path(os.environ.get("MTL_LAB_SHOT_DIR") or Path(tempfile.gettempdir()) / "mtl_optlab_shot")
    tmp.mkdir(parents=True, exist_ok=True)
    sid_file = tmp / "sid.txt"
    sid = sid_file.read_text().strip() if sid_file.exists() else app_state.new_session_id()
    sid_file.write_text(sid)
    root = app_state.session_runs_root(tmp / "runs", sid)
    saved = list_optimiser_labs(root)
    if saved:
        table = load_optimiser_lab(saved[0]["path"])
    else:
        data = tmp / "sample.csv"
        pd.read_csv(ROOT / "data" / "sample.csv").head(rows).to_csv(data, index=False)
        cfg = config_from_args(build_parser().parse_args(["optlab", "--data", str(data), *ARGS]))
        table = optimiser_lab(cfg, None, optimisers=cfg_list(ARGS, "--optimisers"), inits=cfg_list(ARGS, "--inits"),
                              runs_root=root)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.round(4).to_string(index=False))
    print("\n".join(table.attrs["explanation"]))
    fig = optimiser_curves(table.attrs["curves"], split="val")
    fig.update_layout(width=1100, height=560)
    html = tmp / "optlab.html"
    fig.write_html(html, include_plotlyjs=True, full_html=True)  # the figure alone, offline
    with chromium_page(timeout_ms=120_000) as pg:
        pg.goto(html.as_uri())
        pg.locator(".js-plotly-plot .gtitle", has_text="Optimisers and initialisations").first.wait_for()
        pg.locator(".js-plotly-plot").first.screenshot(path=str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    argv = sys.argv[1:]
    n = 3000
    if "--rows" in argv:
        i = argv.index("--rows")
        n = int(argv[i + 1])
        del argv[i:i + 2]
    main(Path(argv[0]) if argv else ROOT / "docs" / "optimiser_lab.png", n)
