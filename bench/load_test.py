"""Many users at once: N headless-Chromium sessions (own browser context each) against one
``streamlit run app.py`` server on 127.0.0.1. Every session uploads a DIFFERENT small CSV
(own seed, own id prefix, own extra column), trains at the same time, then opens its
results and recommendations.

Checks: each session sees only its own data, run and recommendations; the server stays up;
the server's memory (RSS of its process tree, sampled) stays bounded; jobs beyond
``MTL_LAB_MAX_JOBS`` show the queued message. Bounded in time (``--deadline``) and stops
by itself (the server is terminated in ``finally``). Prints a summary.

    python bench/load_test.py [--sessions 8] [--max-jobs 2] [--rows 3000] [--epochs 3] [--deadline 480]

Exit status 0 when every check passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, healthy, streamlit_server  # noqa: E402


class RssSampler(threading.Thread):
    """Samples the RSS of a process and all its children every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def rss(self) -> int:
        import psutil

        total = 0
        try:
            procs = [self.proc] + self.proc.children(recursive=True)
        except psutil.Error:
            return 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            self.samples.append((time.monotonic() - t0, self.rss()))
            self.stop.wait(self.every)


def make_data(i: int, rows: int, folder: Path) -> Path:
    """Session i's table: own seed, ids prefixed ``s{i}-``, and a column only it has."""
    from mtl_core.data.synth import make_synthetic

    df = make_synthetic(rows=rows, task_correlation=0.5, seed=100 + i)
    df["user_id"] = f"s{i}-" + df["user_id"].astype(str)
    df["item_id"] = f"s{i}-" + df["item_id"].astype(str)
    df[f"only_s{i}"] = (df["hour"] + i) % 5
    df = df.drop(columns=["segment_label", "sales", "rating"])
    path = folder / f"sess{i}.csv"
    df.to_csv(path, index=False)
    return path


async def settle(pg, timeout: float = 120_000) -> None:
    await pg.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout)


async def main_text(pg) -> str:
    return await pg.locator('[data-testid="stMain"]').inner_text()


async def session(i: int, n: int, url: str, browser, csv: Path, epochs: int, result: dict, queued: list) -> None:
    ctx = await browser.new_context(viewport={"width": 1300, "height": 950})
    pg = await ctx.new_page()
    pg.set_default_timeout(180_000)
    others = [f"sess{j}.csv" for j in range(n) if j != i]
    try:
        await pg.goto(url + "/data")
        await pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
        await settle(pg)
        result["sid"] = re.search(r"[?&]s=([0-9a-f]{32})", pg.url).group(1)
        # upload
        await pg.locator('input[type="file"]').set_input_files(str(csv))
        await pg.get_by_text(f"Loaded {csv.name}").wait_for()
        await settle(pg)
        text = await main_text(pg)  # the preview's summary line names the loaded table
        result["own_data"] = csv.name in text and not any(o in text for o in others)
        # train
        await pg.get_by_role("button", name="Continue to training").click()
        await pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
        await settle(pg)
        ep = pg.get_by_label("Epochs")
        await ep.fill(str(epochs))
        await ep.press("Enter")
        await settle(pg)
        name = pg.get_by_label("Run name (optional)")
        await name.fill(f"run-s{i}")
        await name.press("Enter")
        await settle(pg)
        result["t_submit"] = time.monotonic()
        await pg.get_by_role("button", name="Train", exact=True).click()
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            text = await main_text(pg)
            if "Queued (position" in text:
                m = re.search(r"Queued \(position (\d+)\)", text)
                queued.append((i, int(m.group(1)) if m else 1))
                result["queued"] = True
            if "Finished in" in text:
                break
            if "Stopped" in text or "Training failed" in text or "went wrong" in text:
                raise RuntimeError(f"training did not finish: {text[-300:]}")
            await asyncio.sleep(0.5)
        else:
            raise TimeoutError("training did not finish in time")
        result["train_s"] = round(time.monotonic() - result["t_submit"], 1)
        await settle(pg)
        # results: own run only
        await pg.get_by_role("button", name="See the results").click()
        await pg.get_by_role("heading", name="Results", exact=True).first.wait_for()
        await settle(pg)
        html = ""
        for _ in range(40):  # the run picker's shown label is in the DOM, not in inner text; let it render
            html = await pg.content()
            if f"run-s{i} " in html:
                break
            await asyncio.sleep(0.5)
        result["own_run"] = f"run-s{i} " in html and not any(f"run-s{j} " in html for j in range(n) if j != i)
        # recommendations for one of its own users
        await pg.locator('[data-testid="stSidebarNav"] a', has_text="Recommend").first.click()
        await pg.get_by_text("Top 10 for").first.wait_for()
        await settle(pg)
        text = await main_text(pg)
        result["own_recs"] = f"s{i}-u" in text and not any(f"s{j}-u" in text for j in range(n) if j != i)
        exc = await pg.locator('[data-testid="stException"]').count()
        result["exceptions"] = exc
        result["ok"] = bool(result.get("own_data") and result.get("own_run") and result.get("own_recs") and not exc)
    except Exception as e:  # noqa: BLE001 - reported in the summary
        result["ok"] = False
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    finally:
        await ctx.close()


async def drive(n: int, url: str, csvs: list[Path], epochs: int, deadline: float) -> tuple[list[dict], list]:
    from playwright.async_api import async_playwright

    results = [dict(session=i) for i in range(n)]
    queued: list = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            tasks = [session(i, n, url, browser, csvs[i], epochs, results[i], queued) for i in range(n)]
            try:
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=deadline)
            except asyncio.TimeoutError:
                for r in results:
                    r.setdefault("ok", False)
                    r.setdefault("error", "overall deadline reached")
        finally:
            await browser.close()
    return results, queued


def check_storage(runs: Path, results: list[dict]) -> None:
    """Server side: each session's runs folder holds exactly its own run on its own data."""
    import pandas as pd

    for r in results:
        sid = r.get("sid")
        folder = runs / sid if sid else None
        if folder is None or not folder.is_dir():
            r["own_storage"] = False
            continue
        run_dirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        ok = len(run_dirs) == 1
        if ok:
            cfg = json.loads((run_dirs[0] / "config.json").read_text())
            cat = pd.read_parquet(run_dirs[0] / "catalog.parquet")
            ok = cfg.get("name") == f"run-s{r['session']}" and cat["item_id"].astype(str).str.startswith(
                f"s{r['session']}-").all()
        r["own_storage"] = bool(ok)
        r["ok"] = bool(r.get("ok") and ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--max-jobs", type=int, default=2)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--deadline", type=float, default=480.0, help="overall seconds before everything stops")
    ap.add_argument("--rss-limit-mb", type=float, default=3000.0, help="peak server RSS that counts as bounded")
    a = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing", file=sys.stderr)
        return 2
    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="mtl-load-"))
    runs = tmp / "runs"
    csvs = [make_data(i, a.rows, tmp) for i in range(a.sessions)]
    sampler = None
    results: list[dict] = []
    queued: list = []
    server_up = False
    with streamlit_server(tmp, {"MTL_LAB_MAX_JOBS": str(a.max_jobs)}) as srv:
        url, proc = srv["url"], srv["proc"]
        try:
            sampler = RssSampler(proc.pid)
            base_rss = sampler.rss()
            sampler.start()
            remaining = a.deadline - (time.monotonic() - t_start)
            results, queued = asyncio.run(drive(a.sessions, url, csvs, a.epochs, max(30.0, remaining)))
            server_up = proc.poll() is None and healthy(url + "/_stcore/health")
            check_storage(runs, results)
        finally:
            if sampler is not None:
                sampler.stop.set()
                sampler.join(5)
    wall = time.monotonic() - t_start
    peak = max((s for _, s in sampler.samples), default=0) if sampler else 0
    last = sampler.samples[-1][1] if sampler and sampler.samples else 0
    n_ok = sum(bool(r.get("ok")) for r in results)
    max_pos = max((p for _, p in queued), default=0)
    queued_sessions = sorted({i for i, _ in queued})
    summary = {
        "sessions": a.sessions, "sessions_ok": n_ok, "max_jobs": a.max_jobs, "rows_per_session": a.rows,
        "epochs": a.epochs, "server_up_at_end": bool(server_up), "rss_start_mb": round(base_rss / 2**20, 1),
        "rss_peak_mb": round(peak / 2**20, 1), "rss_end_mb": round(last / 2**20, 1),
        "rss_samples": len(sampler.samples) if sampler else 0,
        "sessions_that_saw_queued": len(queued_sessions), "max_queue_position_seen": max_pos,
        "train_seconds": [r.get("train_s") for r in results], "wall_s": round(wall, 1),
        "errors": {r["session"]: r["error"] for r in results if r.get("error")},
    }
    print(json.dumps(summary, indent=2))
    for r in results:
        print(f"session {r['session']}: ok={r.get('ok')} own_data={r.get('own_data')} own_run={r.get('own_run')} "
              f"own_recs={r.get('own_recs')} own_storage={r.get('own_storage')} queued={r.get('queued', False)}")
    ok = (n_ok == a.sessions and server_up and peak / 2**20 < a.rss_limit_mb
          and (a.sessions <= a.max_jobs or len(queued_sessions) > 0))
    print("PASS" if ok else "FAIL")
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"server log and data kept in {tmp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
