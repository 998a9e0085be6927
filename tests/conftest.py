"""Shared fixtures. Keep this file small: module-specific fixtures live next to their tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt must never try to open a display in tests; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A warning or error logged during a test fails it unless the test declares it.
pytest_plugins = ["tests.helpers.log_guard"]

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPORA = REPO_ROOT.parent / "shared" / "corpora"


@pytest.fixture
def corpora() -> Path:
    """The shared real-text corpora; tests using it skip cleanly when it is absent."""
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA}")
    return CORPORA


@pytest.fixture
def needle_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private NEEDLE_HOME so no test touches the user's real data or settings."""
    home = tmp_path / "needle-home"
    monkeypatch.setenv("NEEDLE_HOME", str(home))
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    return home
