"""A restart that loses nothing, end to end: a real ``streamlit run app.py`` server trains a
run started in headless Chromium, is killed (SIGKILL) after the first epoch's checkpoint, is
started again on the same runs folder; the same browser session sees the run as interrupted,
clicks Resume, and the run is finished from its checkpoint under its original id.

Run: ``python -m pytest tests/test_browser_resume.py -m browser``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from browser_support import CHROMIUM, assert_no_exception, chromium_page, settle, set_number, streamlit_server
from mtl_core.runs import list_interrupted

pytestmark = pytest.mark.browser

EPOCHS = 12


def _token(pg) -> str:
    return parse_qs(urlparse(pg.url).query).get("s", [""])[0]


def _start_training(pg, url: str) -> str:
    """Open the sample, start a run of EPOCHS epochs; returns the session token."""
    pg.goto(url)
    pg.get_by_role("heading", name="MTL Lab").first.wait_for()
    settle(pg)
    pg.get_by_role("button", name="Open the sample and train").click()
    pg.get_by_role("heading", name="Train", exact=True).first.wait_for()
    pg.get_by_label("Epochs", exact=True).wait_for(timeout=180_000)  # the first page of a fresh server is slow
    settle(pg)
    set_number(pg, "Epochs", EPOCHS)
    set_number(pg, "Early-stopping patience", 0, role=True)  # all EPOCHS epochs, no early stop
    pg.get_by_role("button", name="Train", exact=True).click()
    return _token(pg)


def _epoch_done(tmp: Path) -> bool:
    """The checkpoint of a completed epoch is on disk and status.json says so (it is written
    right after the checkpoint)."""
    try:
        return (tmp / "checkpoint.pt").is_file() and json.loads((tmp / "status.json").read_text())["epoch"] >= 1
    except (OSError, ValueError, KeyError):  # status.json being replaced
        return False


def _wait_for_checkpoint(folder: Path, proc, timeout: float = 240.0) -> Path:
    """The run's temporary folder once it holds the checkpoint of a completed epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.glob(".tmp-*") if _epoch_done(p)]
        if found:
            return found[0]
        assert proc.poll() is None, "the server ended by itself"
        assert not list(folder.glob("*/metrics.json")), "training finished before it could be cut"
        time.sleep(0.1)
    raise AssertionError("no epoch checkpoint was written")


def test_server_killed_mid_training_is_resumed_to_completion(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    env = {"MTL_LAB_MAX_JOBS": "1"}
    with chromium_page() as pg:
        with streamlit_server(tmp_path, env) as srv:
            token = _start_training(pg, srv["url"])
            folder = tmp_path / "runs" / token.split(".")[0]
            tmp = _wait_for_checkpoint(folder, srv["proc"])
            srv["proc"].kill()  # the server dies mid-training
            srv["proc"].wait()
        [item] = list_interrupted(folder)
        assert item["status"] == "interrupted" and item["cannot_resume"] is None
        assert 1 <= item["epoch"] < EPOCHS and item["epochs"] == EPOCHS
        run_id = item["run_id"]

        with streamlit_server(tmp_path, env) as srv:  # restarted on the same runs folder
            pg.goto(f"{srv['url']}/results?s={token}")
            pg.get_by_role("heading", name="Results").first.wait_for()
            pg.get_by_text(f"{run_id} · interrupted after epoch {item['epoch']} of {EPOCHS}").wait_for()
            settle(pg)
            assert _token(pg) == token  # the same browser session after the restart
            pg.get_by_role("button", name="Resume").click()
            pg.get_by_text(f"The resumed run {run_id} is saved.").wait_for(timeout=300_000)
            assert_no_exception(pg)

    final = folder / run_id
    assert not tmp.exists() and (final / "metrics.json").is_file()
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["train"]["epochs"] == EPOCHS and metrics["train"]["resumed_after_epoch"] >= item["epoch"]
    assert all(m.get("n") for m in metrics["tasks"].values())
    history = (final / "history.csv").read_text().splitlines()
    assert {int(line.split(",")[0]) for line in history[1:]} == set(range(1, EPOCHS + 1))  # every epoch, once per task
    assert not {"checkpoint.pt", "resume.json", "data.parquet"} & {p.name for p in final.iterdir()}
