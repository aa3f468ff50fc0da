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
