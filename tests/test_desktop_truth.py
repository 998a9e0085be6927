"""Every view tells the current truth: stale errors and statuses are replaced when the state
changes, a status message lasts as long as its action, an engine restart keeps the user's choices,
a citation without a source is not a link, and an error is shown once, in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox, QPushButton

from desktop.main_window import MainWindow
from tests.helpers.gui import engine_replies, load_stream, make_fake_engine, open_window


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def engine() -> Any:
    return make_fake_engine()


@pytest.fixture
def window(qtbot: Any, engine: Any, store: QSettings) -> MainWindow:
    return open_window(qtbot, engine, store)


def ask(window: MainWindow, engine: Any, question: str = "How much notice?") -> Any:
    window.set_mode("ask")
    window.query_bar.edit.setText(question)
    window.query_bar.submit()
    return engine.last("ask")


def test_a_failed_model_call_rechecks_the_server_at_once(window: MainWindow, engine: Any) -> None:
    """The status bar said "connected" for 30 s after Ollama died: now the failure asks again."""
    assert "Ollama connected" in window.status.ollama_label.text()
    checks = engine.methods().count("ollama.status")
    request = ask(window, engine)
    for event in load_stream("ask_error_ollama.jsonl"):
        request.event(event)
    assert engine.methods().count("ollama.status") == checks + 1
    engine.last("ollama.status").result({"state": "not_running", "message": "No answer."})
    assert "Ollama not running" in window.status.ollama_label.text()
    assert window.ollama_panel.isVisible()


def test_a_red_error_about_ollama_is_replaced_once_ollama_is_back(
    window: MainWindow, engine: Any
) -> None:
    request = ask(window, engine)
    request.error("ollama_unreachable", "Ollama is not running at http://127.0.0.1:11434.")
    engine.last("ollama.status").result({"state": "not_running"})
    assert "Ollama is not running" in window.answer_view.browser.toPlainText()
    # Ollama started: the poll says so, and the old error stops claiming otherwise.
    engine.notification.emit("ollama", {"state": "ready", "message": "Ollama 0.6"})
    text = window.answer_view.browser.toPlainText()
    assert "Ollama is not running" not in text
    assert "Ollama is running again" in text
    assert not window.answer_view.retry_button.isHidden()
    assert not window.ollama_panel.isVisible()


def test_retry_asks_the_same_question_again(window: MainWindow, engine: Any) -> None:
    window.query_bar.set_level("2")
    window.query_bar.set_scope("folder:/data/notes")
    first = ask(window, engine, "Who signed the lease?")
    first.error("timeout", "Ollama at http://127.0.0.1:11434 stopped answering.")
    window.query_bar.edit.setText("something else typed meanwhile")
    window.answer_view.retry_button.click()
    again = engine.last("ask")
    assert again is not first
    assert (
        again.params
        == first.params
        == {
            "question": "Who signed the lease?",
            "level": "2",
            "scope": {"folders": ["/data/notes"]},
        }
    )
    assert window.answer_view.running


@pytest.mark.expect_log("engine error (folder_missing|internal)")
def test_status_messages_end_with_their_action(window: MainWindow, engine: Any) -> None:
    window.add_folder("/data/gone")
    assert any("Adding /data/gone" in a for a in window.status.activities)
    engine.last("folders.add").error("folder_missing", "/data/gone does not exist.")
    assert window.status.activities == []
    assert "Adding" not in window.status.index_label.text()
    window.run_doctor()
    assert window.status.activities == ["Checking the setup…"]
    engine.last("doctor").error("internal", "boom")
    assert window.status.activities == []


def test_an_engine_restart_keeps_the_chosen_level_and_scope(
    window: MainWindow, engine: Any
) -> None:
    window.set_mode("ask")
    window.query_bar.level_combo.setCurrentIndex(window.query_bar.level_combo.findData("2"))
    assert window.query_bar.set_scope("folder:/data/pdfs")
    engine.engine_lost.emit("The engine crashed.")
    engine.engine_restarted.emit(1)
    engine.ready.emit()  # the new engine: everything is asked for again
    for method, result in engine_replies().items():
        engine.last(method).result(result)
    assert window.query_bar.level == "2"  # not the engine's default ("auto")
    assert window.query_bar.ask_scope() == {"folders": ["/data/pdfs"]}


def test_a_citation_without_a_source_is_plain_text_and_said_to_be_missing(
    window: MainWindow, engine: Any
) -> None:
    request = ask(window, engine)
    answer = {
        "type": "answer",
        "text": "Two months [1], by letter [2].",
        "citations": [],
        "level": 1,
        "llm_calls": 2,
        "prompt_tokens": 900,
        "completion_tokens": 40,
        "seconds": 3.2,
        "found": True,
    }
    request.event(answer)
    request.result(answer)
    html = window.answer_view.browser.toHtml()
    assert "cite:1" not in html and "cite:2" not in html  # never a link that leads nowhere
    assert "[1]" in window.answer_view.browser.toPlainText()
    assert "no passage came with [1], [2]" in window.answer_view.status_label.text()
    assert "The answer cites [1], [2], but no passage came with" in (
        window.sources_panel.toPlainText()
    )


def test_only_cited_numbers_with_a_passage_become_links(window: MainWindow, engine: Any) -> None:
    events = load_stream("ask_en_level2.jsonl")
    request = ask(window, engine)
    answer = next(e for e in reversed(events) if e["type"] == "answer")
    answer = {**answer, "text": answer["text"] + " Also see [7]."}
    request.event(answer)
    html = window.answer_view.browser.toHtml()
    assert "cite:1" in html and "cite:7" not in html
    assert window.sources_panel.missing == [7]


def test_an_error_is_shown_once_in_words(window: MainWindow, engine: Any) -> None:
    request = ask(window, engine)
    error = load_stream("ask_error_ollama.jsonl")[-1]
    request.event(error)
    request.error(error["kind"], error["message"], error["hint"])
    steps = window.steps_panel.toPlainText()
    assert steps.count("The model server is not running\n") == 1  # the title, once
    assert "ollama_unreachable" not in steps and "`" not in steps
    answer = window.answer_view.browser.toPlainText()
    assert answer.count("The model server is not running\n") == 1
    assert "ollama serve" not in answer


def test_stop_is_not_an_error(qtbot: Any, window: MainWindow, engine: Any) -> None:
    request = ask(window, engine)
    request.event({"type": "level", "level": 1, "reason": "first try"})
    window.stop()
    steps = window.steps_panel.toPlainText()
    assert "Stopped by you" in steps and "Error" not in steps and "cancelled" not in steps
    assert window.answer_view.status_label.text() == "Stopped."


@pytest.mark.expect_log("cannot open .* no longer exists")
def test_an_open_that_fails_says_so_and_offers_the_folder_and_the_path(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    window.open_source(str(tmp_path / "moved-away.pdf"), 3)
    box = window.open_failed_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "The file could not be opened"
    assert "moved-away.pdf is not there any more" in box.informativeText()
    labels = {button.text() for button in box.findChildren(QPushButton)}
    assert {"Show in folder", "Copy path"} <= labels
    copy = next(b for b in box.findChildren(QPushButton) if b.text() == "Copy path")
    copy.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == str(tmp_path / "moved-away.pdf")


def test_the_engine_failing_for_good_offers_retry(window: MainWindow, engine: Any) -> None:
    started: list[bool] = []
    engine.start = lambda: started.append(True)
    engine.engine_failed.emit("Another 'needle index' run (pid 7) is updating this library.")
    assert window.banner.isVisible() and not window.banner.retry_button.isHidden()
    assert "needle index" in window.banner.label.text()  # the engine's truth, as it said it
    window.banner.retry_button.click()
    assert started == [True]
    engine.ready.emit()
    assert not window.banner.isVisible()
