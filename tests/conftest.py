"""Shared fixtures. Keep this file small: module-specific fixtures live next to their tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Qt must never try to open a display in tests; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A test that forgets `needle_home` must not reach the real per-user library: the platform's
# folders (platformdirs follows XDG) point into a scratch folder for the whole run.
_SCRATCH_HOME = Path(tempfile.mkdtemp(prefix="needle-tests-xdg-"))
for _variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_variable] = str(_SCRATCH_HOME / _variable.lower())

# No test may reach the user's real keyring: secrets go to the library's private file.
os.environ["NEEDLE_SECRET_STORE"] = "file"

# A warning or error logged during a test fails it unless the test declares it.
pytest_plugins = ["tests.helpers.log_guard"]

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPORA = REPO_ROOT.parent / "shared" / "corpora"


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SCRATCH_HOME, ignore_errors=True)


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
