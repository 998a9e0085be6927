"""The packaged app, started as a user would start it. Runs only when `make package` has built
dist/needle (CI builds it, then runs `pytest -m bundle`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BUNDLE = REPO_ROOT / "dist" / "needle"
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
CLI = BUNDLE / f"needle{EXE_SUFFIX}"
DESKTOP = BUNDLE / f"needle-desktop{EXE_SUFFIX}"

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not CLI.exists(), reason="no bundle: run `make package` first"),
]


def bundled_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "NEEDLE_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}


def run(args: list[str], home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=bundled_env(home), capture_output=True, text=True, timeout=timeout, check=False
    )


def test_cli_version_comes_from_pyproject(tmp_path: Path) -> None:
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    result = run([str(CLI), "--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert version in result.stdout


def test_bundled_cli_indexes_and_searches_a_folder(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nThe tomatoes ripen in late August.\n", "utf-8")
    (notes / "茶.md").write_text("# 茶\n\n龙井茶产自杭州西湖。\n", "utf-8")
    home = tmp_path / "home"

    added = run([str(CLI), "folders", "add", str(notes)], home)
    assert added.returncode == 0, added.stderr
    indexed = run([str(CLI), "index"], home)
    assert indexed.returncode == 0, indexed.stderr

    english = run([str(CLI), "search", "tomato", "--json"], home)
    assert english.returncode == 0, english.stderr
    assert "garden.md" in english.stdout
    chinese = run([str(CLI), "search", "杭州", "--json"], home)
    assert chinese.returncode == 0, chinese.stderr
    assert "茶.md" in json.dumps(json.loads(chinese.stdout), ensure_ascii=False)


def test_bundled_desktop_self_test_reaches_engine_and_exits_cleanly(tmp_path: Path) -> None:
    result = run([str(DESKTOP), "--self-test"], tmp_path / "home", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
