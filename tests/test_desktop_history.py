"""The History panel and threads in the main window, against the recording fake engine: a
question goes into the thread on screen, a thread reopens with its stored answer, sources and
steps (a changed source marked), Copy as Markdown and Export go through the engine, rename and
delete update the list."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.history_panel import quote_spans, stored_citations, summary_lines
from desktop.main_window import SOURCES_TAB, MainWindow
from engine.threads import ReadPassage, StoredCitation, Thread, ThreadSummary, Turn
from tests.helpers.gui import make_fake_engine

TEXT = "# Travel\n\nThe committee met in spring.\nIn 2019 Marta went to\nthe Lisbon conference."
FIRST = Turn(
    "t1",
    1,
    "Where did Marta go in 2019?",
    "To the Lisbon conference [1].",
    level=1,
    model="qwen",
    found=True,
    grounded=True,
    citations=(
        StoredCitation(
            1,
            "c1",
            "/notes/travel.md",
            "Travel",
            None,
            "",
            "In 2019 Marta went to the Lisbon conference.",
            "h",
            state="changed",
        ),
    ),
    events=({"type": "level", "level": 1, "reason": "Auto"},),
    read=(ReadPassage("c1", "/notes/travel.md", TEXT),),
    asked_at=1_700_000_000.0,
)
SECOND = Turn("t1", 2, "and in 2021?", "Kyoto [1].", rewritten="Where did Marta go in 2021?")
THREAD = Thread("t1", "Marta's trips", 1.0, 2.0, (FIRST, SECOND))
SUMMARY = ThreadSummary("t1", "Marta's trips", 1.0, time.time(), 2, "and in 2021?", 1)


@pytest.fixture
def engine() -> Any:
    return make_fake_engine()


@pytest.fixture
def window(qtbot: Any, engine: Any, tmp_path: Path) -> MainWindow:
    store = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    win = MainWindow(engine, store, watchdog=False)
    qtbot.addWidget(win)
    win.show()
    engine.ready.emit()
    engine.last("threads.list").result({"threads": [SUMMARY.to_dict()]})
    return win


def test_the_history_lists_threads_with_a_changed_source_marked(window: MainWindow) -> None:
    assert window.history_panel.list.count() == 1
    text = window.history_panel.item_text(0)
    assert text.startswith("Marta's trips\n")
    assert "2 questions" in text and "⚠ a source changed" in text


def test_typing_in_the_search_box_searches_the_history(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    window.history_panel.search.setText("kyo")
    window.history_panel.search.setText("kyoto")
    qtbot.waitUntil(lambda: engine.last("threads.list").params == {"search": "kyoto"}, timeout=2000)
    engine.last("threads.list").result({"threads": []})
    assert window.history_panel.empty_label.text() == "No earlier question matches."


def test_a_question_goes_into_the_thread_on_screen_until_new_thread(
    window: MainWindow, engine: Any
) -> None:
    window.set_mode("ask")
    window.query_bar.edit.setText("Where did Marta go in 2019?")
    window.query_bar.submit()
    first = engine.last("ask")
    assert "thread_id" not in first.params
    first.event({"type": "answer_delta", "text": "Lisbon"})
    first.result({"type": "answer", "text": "Lisbon", "citations": [], "level": 1,
                  "thread_id": "t1", "turn": 1})  # fmt: skip
    assert window.current_thread == "t1" and window.answer_view.copy_button.isVisible()
    window.query_bar.edit.setText("and in 2021?")
    window.query_bar.submit()
    follow_up = engine.last("ask")
    assert follow_up.params["thread_id"] == "t1"
    rewritten = "Where did Marta go in 2021?"
    follow_up.event(
        {"type": "follow_up", "original": "and in 2021?", "question": rewritten, "turns": 1}
    )
    assert window.answer_view.rewritten_label.text() == "Understood as: Where did Marta go in 2021?"
    assert "Follow-up understood as: Where did Marta go in 2021?" in _render(window)
    window.new_thread()
    assert window.current_thread is None
    window.query_bar.edit.setText("Something else?")
    window.query_bar.submit()
    assert "thread_id" not in engine.last("ask").params


def _render(window: MainWindow) -> str:
    window.steps_panel.render_now()
    return window.steps_panel.toPlainText()


def test_reopening_a_thread_shows_its_stored_answer_sources_and_steps(
    window: MainWindow, engine: Any
) -> None:
    window.history_panel.open_requested.emit("t1")
    engine.last("threads.get").result(THREAD.to_dict())
    view = window.answer_view
    assert view.question_label.text() == "and in 2021?"  # the last question first
    assert view.turn_label.text() == "Question 2 of 2 in this thread"
    assert view.rewritten_label.text() == "Understood as: Where did Marta go in 2021?"
    view.previous_button.click()
    assert engine.last("threads.get").params == {"thread_id": "t1"}
    engine.last("threads.get").result(THREAD.to_dict())
    assert view.question_label.text() == "Where did Marta go in 2019?"
    assert "From your history" in view.status_label.text()
    assert "a source changed since" in view.status_label.text()
    assert "Lisbon conference" in view.browser.toPlainText()
    (source,) = window.sources_panel.items
    assert source.state == "changed" and source.text == TEXT
    assert "Source changed since this answer" in window.sources_panel.toPlainText()
    assert window.side_tabs.currentIndex() == SOURCES_TAB
    assert "Level 1" in _render(window)
    # A follow-up now continues the reopened thread.
    window.query_bar.edit.setText("who else went?")
    window.query_bar.submit()
    assert engine.last("ask").params["thread_id"] == "t1"


def test_copy_as_markdown_puts_the_engines_markdown_on_the_clipboard(
    window: MainWindow, engine: Any
) -> None:
    window.history_panel.open_requested.emit("t1")
    engine.last("threads.get").result(THREAD.to_dict())
    window.answer_view.copy_button.click()
    request = engine.last("threads.export")
    assert request.params == {"thread_id": "t1", "format": "md", "turns": [2]}
    request.result({"text": "### and in 2021?\n\nKyoto [1].\n", "format": "md"})
    assert QApplication.clipboard().text().startswith("### and in 2021?")


def test_export_rename_and_delete_go_through_the_engine(
    window: MainWindow, engine: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = str(tmp_path / "marta.json")
    monkeypatch.setattr(
        "desktop.main_window.QFileDialog.getSaveFileName",
        lambda *args, **kwargs: (target, "JSON (*.json)"),
    )
    window.history_panel.export_requested.emit("t1")
    assert engine.last("threads.export").params == {
        "thread_id": "t1", "format": "json", "path": target,
    }  # fmt: skip
    engine.last("threads.export").result({"path": target, "format": "json"})
    assert window.status.currentMessage() == f"Exported to {target}"

    monkeypatch.setattr(
        "desktop.main_window.QInputDialog.getText", lambda *args, **kwargs: ("Trips", True)
    )
    window.history_panel.rename_requested.emit("t1")
    assert engine.last("threads.rename").params == {"thread_id": "t1", "title": "Trips"}
    lists = len([r for r in engine.requests if r.method == "threads.list"])
    engine.last("threads.rename").result({**THREAD.to_dict(), "title": "Trips"})
    assert len([r for r in engine.requests if r.method == "threads.list"]) == lists + 1

    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(
        "desktop.main_window.QMessageBox.question", lambda *args, **kwargs: next(answers)
    )
    window.current_thread = "t1"
    window.history_panel.delete_requested.emit("t1")
    assert "threads.delete" not in engine.methods()  # cancelled: nothing deleted
    window.history_panel.delete_requested.emit("t1")
    engine.last("threads.delete").result({"deleted": "t1"})
    assert window.current_thread is None


def test_stored_quotes_are_found_across_line_breaks() -> None:
    (cited,) = stored_citations(FIRST)
    (span,) = cited["highlights"]
    assert " ".join(TEXT[span[0] : span[1]].split()) == FIRST.citations[0].quote
    assert quote_spans("abc", "not there") == []


def test_summary_lines_say_when_and_how_many() -> None:
    now = time.mktime((2026, 11, 30, 18, 0, 0, 0, 0, -1))
    one = ThreadSummary("a", "Title", now, now - 3600, 1)
    assert (
        summary_lines(one, now)
        == f"Title\n{time.strftime('%H:%M', time.localtime(now - 3600))} · 1 question"
    )
    old = ThreadSummary("b", "Old", 0.0, now - 30 * 86400, 3, stale_sources=2)
    assert summary_lines(old, now).endswith("3 questions · ⚠ 2 sources changed")
