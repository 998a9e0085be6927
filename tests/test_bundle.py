"""The packaged app, started as a user would start it. Runs only when `make package` has built
dist/needle (CI builds it, then runs `pytest -m bundle`). NEEDLE_BUNDLE points the tests at
another copy of the bundle folder, e.g. an installed one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers.fake_ollama import FakeOllama, Reply, RuleResponder, user_contains
from tests.helpers.pdf_factory import write_pdf

BUNDLE = Path(os.environ.get("NEEDLE_BUNDLE", REPO_ROOT / "dist" / "needle"))
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
CLI = BUNDLE / f"needle{EXE_SUFFIX}"
DESKTOP = BUNDLE / f"needle-desktop{EXE_SUFFIX}"
OCR_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "ocr"
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not CLI.exists(), reason="no bundle: run `make package` first"),
]


def bundled_env(home: Path) -> dict[str, str]:
    """The user's environment without this test's Python: the bundle must not need it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "NEEDLE_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}


def run(args: list[str], home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=bundled_env(home),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def run_json(args: list[str], home: Path) -> Any:
    result = run([*args, "--json"], home)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def hit_names(search: dict[str, Any]) -> list[str]:
    return [Path(hit["path"]).name for hit in search["hits"]]


def test_cli_version_comes_from_pyproject(tmp_path: Path) -> None:
    result = run([str(CLI), "--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["needle", VERSION]


@pytest.mark.skipif(sys.platform == "win32", reason="a windowed .exe has no stdout")
def test_desktop_version_comes_from_pyproject(tmp_path: Path) -> None:
    # The About dialog shows desktop.about.app_version(), the same value --version prints.
    result = run([str(DESKTOP), "--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Needle", VERSION]


def test_bundle_carries_the_files_the_app_reads_at_run_time() -> None:
    internal = BUNDLE / "_internal"
    assert (internal / "desktop" / "chevron-down.svg").is_file()  # theme.py's combo arrow
    assert sorted(p.name for p in (internal / "resources" / "icons").glob("*.png")) == sorted(
        p.name for p in (REPO_ROOT / "resources" / "icons").glob("*.png")
    )
    assert (internal / "jieba" / "dict.txt").is_file()
    # Drawing that SVG needs Qt's svg image-format plugin, which the lean cuts must keep.
    assert list(internal.glob("PySide6/**/imageformats/*qsvg*"))


def test_bundled_cli_indexes_and_searches_a_folder(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nThe tomatoes ripen in late August.\n", "utf-8")
    (notes / "茶.md").write_text("# 茶\n\n龙井茶产自杭州西湖。\n", "utf-8")
    home = tmp_path / "home"

    added = run([str(CLI), "folders", "add", str(notes)], home)
    assert added.returncode == 0, added.stderr
    summary = run_json([str(CLI), "index"], home)
    assert (summary["added"], summary["errors"]) == (2, 0), summary

    assert hit_names(run_json([str(CLI), "search", "tomato"], home)) == ["garden.md"]
    # jieba's dictionary must be in the bundle for the Chinese field to segment 杭州 as a word.
    assert hit_names(run_json([str(CLI), "search", "杭州"], home)) == ["茶.md"]


def test_bundled_cli_extracts_pdfs_in_worker_processes(tmp_path: Path) -> None:
    # PDFs always go to the indexer's process pool: frozen workers must start through
    # multiprocessing.freeze_support() instead of re-running the CLI.
    papers = tmp_path / "papers"
    papers.mkdir()
    write_pdf(papers / "botany.pdf", ["Chapter one", "Photosynthesis turns light into sugar."])
    write_pdf(papers / "地理.pdf", ["长江流经重庆和武汉。"])
    write_pdf(papers / "tides.pdf", ["The moon pulls the tides."])
    write_pdf(papers / "locked.pdf", ["A secret plan."], password="hunter2")
    home = tmp_path / "home"

    assert run([str(CLI), "folders", "add", str(papers)], home).returncode == 0
    summary = run_json([str(CLI), "index"], home)
    assert (summary["added"], summary["errors"]) == (3, 1), summary
    assert [p["error_kind"] for p in summary["problems"]] == ["encrypted"]

    botany = run_json([str(CLI), "search", "photosynthesis"], home)
    assert hit_names(botany) == ["botany.pdf"]
    assert botany["hits"][0]["page"] == 2
    assert hit_names(run_json([str(CLI), "search", "武汉"], home)) == ["地理.pdf"]


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare to cut the network")
@pytest.mark.timeout(900)  # a cold start of the frozen OCR stack, on a loaded machine
def test_bundled_ocr_reads_images_with_its_own_models_offline(tmp_path: Path) -> None:
    # In a network namespace of its own: had RapidOCR tried to fetch a model, it would fail.
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "receipt.png").write_bytes((OCR_FIXTURES / "receipt_en.png").read_bytes())
    (scans / "minutes.png").write_bytes((OCR_FIXTURES / "minutes_zh.png").read_bytes())
    home = tmp_path / "home"
    assert run([str(CLI), "folders", "add", str(scans)], home).returncode == 0
    offline = ["unshare", "--net", "--map-root-user"]
    indexed = run([*offline, str(CLI), "index", "--json"], home, timeout=800)
    if indexed.returncode != 0 and "unshare" in indexed.stderr:
        pytest.skip(f"unshare is not allowed here: {indexed.stderr.strip()}")
    summary = json.loads(indexed.stdout)
    assert (summary["added"], summary["errors"]) == (2, 0), summary
    receipt = run_json([str(CLI), "search", "Harbour Books"], home)
    assert hit_names(receipt) == ["receipt.png"] and receipt["hits"][0]["ocr"] is True
    assert hit_names(run_json([str(CLI), "search", "预算审查"], home)) == ["minutes.png"]
    shown = run([str(CLI), "search", "Harbour Books"], home)
    assert "receipt.png — OCR" in shown.stdout


def test_bundled_cli_answers_a_question_through_the_ollama_client(tmp_path: Path) -> None:
    # The ollama client (httpx, pydantic, ssl) is imported lazily, so only a real question shows
    # that the bundle carries all of it. The fake server speaks Ollama's HTTP protocol.
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kettle.md").write_text("# Kettle\n\nThe kettle descaler is citric acid.\n", "utf-8")
    home = tmp_path / "home"
    assert run([str(CLI), "folders", "add", str(notes)], home).returncode == 0
    assert run([str(CLI), "index", "-q"], home).returncode == 0
    answer = Reply("Citric acid descales the kettle [1].")
    with FakeOllama(responder=RuleResponder([(user_contains("descal"), answer)])) as fake:
        question = ["ask", "What descales the kettle?", "--level", "1", "--host", fake.url]
        asked = run([str(CLI), *question, "--json"], home)
        assert fake.chat_requests(), "the bundled client never reached the model"
        assert fake.rejections == []
    assert asked.returncode == 0, asked.stdout + asked.stderr
    events = [json.loads(line) for line in asked.stdout.splitlines() if line.strip()]
    final = events[-1]
    assert final["type"] == "answer", final
    assert "Citric acid" in final["text"]
    assert [Path(c["path"]).name for c in final["citations"]] == ["kettle.md"]


def test_bundled_desktop_self_test_reaches_engine_and_exits_cleanly(tmp_path: Path) -> None:
    result = run([str(DESKTOP), "--self-test", "--self-test-timeout", "50"], tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    ready = re.search(r"engine ready in [\d.]+ s \(engine (\S+), pid (\d+)\)", result.stderr)
    assert ready is not None, result.stderr
    # The desktop started the bundled engine (not some other Python) and stopped it on exit.
    assert ready.group(1) == VERSION
    started = re.search(r"starting the engine: (\S+)", result.stderr)
    assert started is not None and Path(started.group(1)).resolve() == CLI.resolve()
    if sys.platform.startswith("linux"):
        engine_proc = Path("/proc") / ready.group(2)
        assert not engine_proc.exists() or "needle" not in (engine_proc / "cmdline").read_text()
