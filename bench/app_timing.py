"""App timings with a real browser (targets: first page within 2 s on a warm server; the same
training job in the app at most 1.5x the headless time).

    python bench/app_timing.py

1. starts ``streamlit run app.py`` on 127.0.0.1 (runs go to a temporary MTL_LAB_RUNS);
2. first page: Playwright + /usr/bin/chromium; time from ``page.goto`` to the "MTL Lab"
   title being visible, on a fresh browser context: once cold (first visit after start),
   then ``--warm-visits`` times on the warm server (median reported);
3. training: Start page -> "Open the sample and train" -> Train page -> "Train" with the
   page's defaults; times click -> "Finished in" visible, and reads the job's own elapsed
   time; then runs the SAME job headless (the run's saved config.json, the same sample
   data, same thread count) through ``pipeline.run_experiment`` in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import launch_chromium, streamlit_server  # noqa: E402


HEADLESS = r'''
import json, sys, time
sys.path.insert(0, {root!r})
from mtl_core.config import RunConfig
from mtl_core.data.io import read_table
from mtl_core.pipeline import run_experiment
cfg = RunConfig.from_dict(json.load(open({config!r})))
df = read_table({data!r})
t0 = time.perf_counter()
res = run_experiment(cfg, df, runs_root={out!r}, background=True)
print(json.dumps({{"seconds": time.perf_counter() - t0, "train_seconds": res.metrics["train"]["seconds"],
                  "threads": cfg.train.num_threads}}))
'''


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm-visits", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for training in the app")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="mtl-app-timing-"))
    out: dict = {"load_before": load_avg()}
    with streamlit_server(tmp, {"MTL_LAB_MAX_JOBS": "1"}) as srv, sync_playwright() as p:
        url = srv["url"]
        browser = launch_chromium(p)

        def first_page() -> float:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            pg = ctx.new_page()
            t0 = time.perf_counter()
            pg.goto(url)
            pg.get_by_role("heading", name="MTL Lab").first.wait_for(state="visible", timeout=60_000)
            dt = time.perf_counter() - t0
            ctx.close()
            return dt

        out["first_page_cold_s"] = first_page()
        warm = [first_page() for _ in range(a.warm_visits)]
        out["first_page_warm_s"] = statistics.median(warm)
        out["first_page_warm_all_s"] = [round(x, 3) for x in warm]
        print(f"first page: cold {out['first_page_cold_s']:.2f} s, warm median {out['first_page_warm_s']:.2f} s "
              f"{out['first_page_warm_all_s']} (target <= 2 s)", flush=True)

        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(url)
        pg.get_by_role("heading", name="MTL Lab").first.wait_for()
        pg.get_by_role("button", name="Open the sample and train").click()
        pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
        pg.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=120_000)
        t0 = time.perf_counter()
        pg.get_by_role("button", name="Train", exact=True).click()
        done = pg.get_by_text("Finished in").first
        done.wait_for(timeout=a.timeout * 1000)
        out["app_click_to_finished_s"] = time.perf_counter() - t0
        m = re.search(r"Finished in ([0-9.]+) s", done.inner_text())
        out["app_job_elapsed_s"] = float(m.group(1)) if m else None
        ctx.close()
        browser.close()

    configs = sorted((tmp / "runs").rglob("config.json"))
    if not configs:
        print((tmp / "server.log").read_text()[-3000:], file=sys.stderr)
        raise SystemExit("the app's run directory was not found")
    code = HEADLESS.format(root=str(ROOT), config=str(configs[-1]), data=str(ROOT / "data" / "sample.csv"),
                           out=str(tmp / "headless"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    head = json.loads(r.stdout.strip().splitlines()[-1])
    out["headless_run_experiment_s"] = head["seconds"]
    out["threads"] = head["threads"]
    job = out["app_job_elapsed_s"] or out["app_click_to_finished_s"]
    out["app_over_headless_job"] = job / head["seconds"]
    out["app_click_over_headless"] = out["app_click_to_finished_s"] / head["seconds"]
    out["load_after"] = load_avg()
    print(f"training: in-app click->'Finished' {out['app_click_to_finished_s']:.1f} s (job {job:.1f} s), "
          f"headless {head['seconds']:.1f} s -> ratio {out['app_over_headless_job']:.2f} (job) / "
          f"{out['app_click_over_headless']:.2f} (click) (target <= 1.5)")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
