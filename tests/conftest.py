"""Shared fixtures: a demo database built once per test session, and paths to the real samples."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "nhs-samples"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    from measures.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path, scale="demo", seed=2026)
    return path


@pytest.fixture
def app_env(demo_db, monkeypatch):
    """Point the app at the session's demo database."""
    monkeypatch.setenv("PCN_DB", str(demo_db))
    return demo_db


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, driven by Playwright: one browser for every browser test of the run."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def tab(chromium):
    """A fresh browser profile for each test (no cookie from an earlier sign-in), accepting downloads."""
    from tests.browser import new_tab

    with new_tab(chromium, viewport={"width": 1400, "height": 1000}, accept_downloads=True) as opened:
        yield opened


def app_on_copy(source: Path, tmp_path: Path, monkeypatch, **settings: str):
    """A private copy of the database at `source` in `tmp_path`, the app pointed at it (`PCN_DB`) with any further
    settings (environment variable: value); returns its Store."""
    import shutil

    from measures.store import Store

    path = tmp_path / "app.duckdb"
    shutil.copy(source, path)
    monkeypatch.setenv("PCN_DB", str(path))
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return Store(path)


@pytest.fixture
def access_db(demo_db, tmp_path, monkeypatch):
    """The app on a private copy of the demo with the example access file in force (its viewers, editors, analysts)."""
    return app_on_copy(demo_db, tmp_path, monkeypatch, PCN_ACCESS=str(ROOT / "data" / "access.example.yaml"))
