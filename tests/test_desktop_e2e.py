"""End to end: the real main window, the real engine process (`python -m engine serve`) and the
fake Ollama server. Adds a folder of notes and PDFs, waits for the index, searches, asks, and
checks the answer, its citations and the steps panel. Saves a screenshot of the window."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QUrl
from PySide6.QtWidgets import QApplication

from desktop.engine_client import EngineClient, default_engine_command
from desktop.main_window import MainWindow
from desktop.theme import apply_theme
from tests.helpers.fake_ollama import (
    FakeOllama,
    Reply,
    RuleResponder,
    last_user_message,
    wants_json,
)
from tests.helpers.pdf_factory import write_pdf

pytestmark = pytest.mark.slow

ANSWER = "You must give two full calendar months of written notice [1]."


def is_parse_call(request: dict[str, Any]) -> bool:
    fmt = request.get("format")
    return isinstance(fmt, dict) and "keywords_en" in fmt.get("properties", {})


def is_answer_call(request: dict[str, Any]) -> bool:
    return not wants_json(request) and "notice" in last_user_message(request).lower()


def is_verify_call(request: dict[str, Any]) -> bool:
    fmt = request.get("format")
    return isinstance(fmt, dict) and "supported" in fmt.get("properties", {})


def verify_reply(request: dict[str, Any]) -> Reply:
    """A careful checker: quotes the cited sentence about the notice period."""
    passages = last_user_message(request)
    sentence = next(
        (s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", passages) if "notice" in s.lower()),
        "",
    )
    return Reply({"quote": sentence, "supported": bool(sentence)})


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    parsed = {
        "information": "the notice period for ending the flat lease",
        "instruction": "",
        "keywords_en": ["notice", "lease", "termination"],
        "keywords_zh": ["通知", "租约"],
        "multi_hop": False,
    }
    responder = RuleResponder(
        [
            (is_parse_call, Reply(parsed)),
            (is_verify_call, verify_reply),
            (is_answer_call, Reply(ANSWER)),
        ]
    )
    with FakeOllama(responder=responder) as fake:
        yield fake


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "moving.md").write_text(
        "# Moving out\n\nThe lease says the termination notice is two full calendar months, "
        "given in writing.\n\n## Van\n\nBook the van for the last Saturday of the month.\n",
        encoding="utf-8",
    )
    (folder / "recipes.md").write_text(
        "# Bread\n\nSourdough wants a hydration of about 75 percent.\n", encoding="utf-8"
    )
    write_pdf(
        folder / "lease.pdf",
        ["Tenancy agreement between the parties.", "7. Termination. Written notice of two months."],
    )
    return folder


def test_add_index_search_ask(
    qtbot: Any,
    tmp_path: Path,
    needle_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_ollama: FakeOllama,
    documents: Path,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    previous_sheet, previous_font = app.styleSheet(), app.font()
    apply_theme(app)  # so the saved screenshot shows the real look
    client = EngineClient(default_engine_command(needle_home))
    store = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    window = MainWindow(client, store)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        client.start()
        qtbot.waitUntil(lambda: client.is_ready, timeout=30_000)
        qtbot.waitUntil(lambda: window.center.currentWidget() is window.welcome, timeout=10_000)
        qtbot.waitUntil(
            lambda: "Ollama connected" in window.status.ollama_label.text(), timeout=10_000
        )

        window.add_folder(str(documents))
        qtbot.waitUntil(
            lambda: (
                [(r.path, r.files) for r in window.folders_panel.rows]
                == [(str(documents.resolve()), 3)]
            ),
            timeout=30_000,
        )
        qtbot.waitUntil(lambda: "3 files" in window.status.index_label.text(), timeout=30_000)
        assert window.folders_panel.state_text(str(documents.resolve())) == "up to date"

        window.query_bar.edit.setText("sourdough hydration")
        qtbot.waitUntil(lambda: len(window.results_view.hits) == 1, timeout=10_000)
        assert window.results_view.hits[0].path.endswith("recipes.md")
        assert "hydration" in window.results_view.toPlainText()

        window.set_mode("ask")
        window.query_bar.set_level("1")
        window.query_bar.edit.setText("How much notice must I give to end the lease?")
        window.query_bar.submit()
        qtbot.waitUntil(lambda: window.answer_view.answer is not None, timeout=30_000)
        assert "two full calendar months" in window.answer_view.browser.toPlainText()
        sources = window.sources_panel.items
        assert sources and sources[0].number == 1
        assert Path(sources[0].path).name in {"moving.md", "lease.pdf"}
        window.answer_view.browser.anchorClicked.emit(QUrl("cite:1"))
        assert window.sources_panel.selected_item == sources[0]

        window.steps_panel.render_now()
        steps = window.steps_panel.toPlainText()
        for expected in ("Level 1", "Keywords", "hits (retrieval)", "Answer ready"):
            assert expected in steps
        assert "English: notice, lease, termination" in steps
        assert fake_ollama.rejections == []  # every prompt fit the window

        shot = tmp_path / "desktop-e2e.png"
        assert window.grab().save(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        client.shutdown_blocking(5.0)
        window.close()
        app.setStyleSheet(previous_sheet)
        app.setFont(previous_font)
    assert client.engine_pid is None


def test_self_test_flag_reaches_the_engine_and_exits_cleanly(needle_home: Path) -> None:
    """What packaging runs against the bundle: start offscreen, handshake, shut down, exit 0."""
    completed = subprocess.run(
        [sys.executable, "-m", "desktop", "--self-test", "--data-dir", str(needle_home)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**_env_without_display(), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "self-test: engine ready" in completed.stderr
    assert "self-test: engine stopped; exit 0" in completed.stderr


def _env_without_display() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
