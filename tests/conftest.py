"""Shared fixtures. The real public samples live in ../shared/data (CI has them; a user's
machine may not): tests that need them skip cleanly when they are absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# keep torch from starving the other processes on small CI machines
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real headless Chromium end-to-end test")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available on this machine")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _runs_root(tmp_path, monkeypatch):
    """Every test writes runs to its own temporary folder."""
    monkeypatch.setenv("MTL_LAB_RUNS", str(tmp_path / "runs"))


@pytest.fixture
def runs_root(tmp_path, monkeypatch) -> Path:
    """This test's runs folder (MTL_LAB_RUNS, set above), with the repository as the working
    directory, as ``streamlit run app.py`` has it (AppTest page tests)."""
    monkeypatch.chdir(ROOT)
    return tmp_path / "runs"


# --------------------------------------------------------------------------- real browser
@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """``streamlit run app.py`` on a free loopback port, one job slot, its own runs folder
    (browser tests; skipped without Debian's chromium or playwright)."""
    from browser_support import CHROMIUM, streamlit_server

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with streamlit_server(tmp_path_factory.mktemp("browser"), {"MTL_LAB_MAX_JOBS": "1"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests save their screenshots: a temporary folder, so that a test run
    leaves the checkout clean, or ``$MTL_LAB_SCREENSHOTS`` (relative to the repository) to
    refresh the committed ones:
    ``MTL_LAB_SCREENSHOTS=docs/screenshots python -m pytest tests/test_browser.py tests/test_browser_lab.py``."""
    target = os.environ.get("MTL_LAB_SCREENSHOTS")
    if target:
        path = ROOT / target
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser_page(app_server):
    """One headless Chromium page for the module's tests."""
    from browser_support import chromium_page

    with chromium_page() as pg:
        yield pg
