"""Server memory for a hostile upload: a gzip of ~472 MiB of CSV (4.9 M rows, ~1.6 MB
compressed) uploaded through a real Chromium. Prints the server's RSS before the upload, at
its peak while the upload is refused, and after the browser has closed.

Run: ``python bench/upload_memory.py`` (needs /usr/bin/chromium and playwright).
"""
from __future__ import annotations

import gzip
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import launch_chromium, settle, streamlit_server  # noqa: E402

ROWS = 4_900_000
LINE = (b"u0000123,i0004567,2024-01-01 10:00:00,31,F,premium,268,books,brand_25,23.43,4.8,mobile,7,1,0,0\n")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_bomb(path: Path) -> int:
    header = b"user_id,item_id,timestamp,age,gender,segment,tenure,category,brand,price,rating,device,hour,click,cart,purchase\n"
    block = LINE * 10_000
    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write(header)
        for _ in range(ROWS // 10_000):
            gz.write(block)
    return len(header) + len(LINE) * ROWS


def main() -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="mtl-upload-mem-"))
    bomb = work / "bomb.csv.gz"
    raw = make_bomb(bomb)
    print(f"upload: {bomb.stat().st_size / 2**20:.1f} MiB gzip, {raw / 2**20:.0f} MiB decompressed, {ROWS:,} rows")
    # Streamlit may drop a disconnected session after server.disconnectedSessionTTL seconds
    # (120 by default); its session storage evicts on the next access, so a short TTL and a
    # later visit show what a session's end gives back
    with streamlit_server(work, {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "5"}) as srv:
        pid = srv["proc"].pid
        peak = [0.0]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(pid))
                time.sleep(0.05)

        with sync_playwright() as p:
            browser = launch_chromium(p)
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            pg = ctx.new_page()
            pg.set_default_timeout(300_000)
            pg.goto(srv["url"])
            pg.get_by_role("heading", name="MTL Lab").first.wait_for()
            settle(pg)
            pg.locator('[data-testid="stSidebarNav"] a', has_text="Data").first.click()
            pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
            settle(pg)
            before = rss_mb(pid)
            threading.Thread(target=watch, daemon=True).start()
            t0 = time.monotonic()
            pg.locator('input[type="file"]').set_input_files(str(bomb))
            alert = pg.locator('[data-testid="stAlertContentError"]').first
            alert.wait_for()
            settle(pg)
            message = alert.inner_text()
            refused_s = time.monotonic() - t0
            at_refusal = rss_mb(pid)
            ctx.close()
            closed = time.monotonic()
            time.sleep(8)  # past the TTL (a measurement, not a test: no condition to wait on)
            for _ in range(2):  # later visitors: their disconnects make the storage evict expired sessions
                other = browser.new_context()
                page = other.new_page()
                page.goto(srv["url"])
                page.get_by_role("heading", name="MTL Lab").first.wait_for()
                other.close()
                time.sleep(6)
            after = rss_mb(pid)
            while time.monotonic() - closed < 60 and after > before + 50:
                time.sleep(1)
                after = rss_mb(pid)
            browser.close()
        stop.set()
        print(f"server RSS when the refusal was shown: {at_refusal:.0f} MB")
        print(f"message: {message}")
        print(f"server RSS before {before:.0f} MB, peak {peak[0]:.0f} MB, after closing {after:.0f} MB "
              f"({time.monotonic() - closed:.0f} s after the browser closed); refused after {refused_s:.1f} s")


if __name__ == "__main__":
    main()
