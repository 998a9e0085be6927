"""The main window against a fake engine: what the user sees after each engine reply."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtWidgets import QApplication, QComboBox

from desktop import responsiveness
from desktop.main_window import SOURCES_TAB, STEPS_TAB, MainWindow
from desktop.responsiveness import UiWatchdog
from desktop.settings_dialog import SettingsDialog
from engine.models import (
    Check,
    DoctorReport,
    FileRecord,
    FolderInfo,
    IndexSummary,
    SearchHit,
    SearchResult,
    StatusReport,
)
from engine.settings import Settings, SettingsSnapshot
from tests.helpers.gui import final_answer, load_stream, make_fake_engine

SETTINGS = SettingsSnapshot(Settings(ignore_patterns=["*.log"])).to_dict()
# The engine's own result types, as it sends them: the fakes speak the real shapes.
FOLDERS = {
    "folders": [
        FolderInfo("/data/notes", "up_to_date", files=12, indexed=12, last_indexed=1.0).to_dict(),
        FolderInfo(
            "/data/pdfs", "errors", files=3, indexed=1, errors=2, last_indexed=1.0
        ).to_dict(),
    ]
}
STATUS = StatusReport(
    data_dir="/data",
    counts={"indexed": 13, "error": 2},
    total_files=15,
    chunks=140,
    index_bytes=1 << 20,
    folders=[],
    problems=[
        FileRecord(f"/data/pdfs/{n}.pdf", 1, 1.0, "", "error", "encrypted") for n in range(2)
    ],
).to_dict()


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def engine() -> Any:
    return make_fake_engine()


@pytest.fixture
def window(qtbot: Any, engine: Any, store: QSettings) -> MainWindow:
    win = MainWindow(engine, store, watchdog=False)
    qtbot.addWidget(win)
    win.show()
    engine.ready.emit()
    engine.last("settings.get").result(SETTINGS)
    engine.last("folders.list").result(FOLDERS)
    engine.last("status").result(STATUS)
    engine.last("ollama.status").result({"state": "ready", "message": "ok"})
    return win


def test_ready_loads_state_into_the_window(window: MainWindow, engine: Any) -> None:
    assert {"settings.get", "folders.list", "status", "ollama.status"} <= set(engine.methods())
    assert [row.path for row in window.folders_panel.rows] == ["/data/notes", "/data/pdfs"]
    assert window.folders_panel.state_text("/data/pdfs") == "2 files with problems"
    assert window.folders_panel.state_text("/data/notes") == "up to date"
    assert window.status.model_label.text() == "qwen2:7b-instruct"
    assert "Ollama connected" in window.status.ollama_label.text()
    assert window.status.index_label.text() == "15 files · 140 passages indexed · 2 problems"
    assert window.center.currentWidget() is window.results_view


def test_first_run_without_folders_shows_the_guide(
    qtbot: Any, engine: Any, store: QSettings
) -> None:
    win = MainWindow(engine, store, watchdog=False)
    qtbot.addWidget(win)
    engine.ready.emit()
    engine.last("folders.list").result({"folders": []})
    assert win.center.currentWidget() is win.welcome


def test_search_as_you_type_sends_only_the_latest_query(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    for text in ("n", "no", "not", "notice"):
        window.query_bar.edit.setText(text)
    qtbot.waitUntil(lambda: "search" in engine.methods(), timeout=2000)
    searches = [r for r in engine.requests if r.method == "search"]
    assert [r.params["query"] for r in searches] == ["notice"]
    # Still typing: the last word may be the start of a longer one.
    assert searches[0].params["prefix"] is True
    # A newer search makes the older one stale: it is cancelled and its late reply ignored.
    window.query_bar.edit.setText("notice period")
    window.query_bar.submit()
    first, second = [r for r in engine.requests if r.method == "search"]
    assert first.cancelled and not second.cancelled
    assert "prefix" not in second.params  # Enter: the words as they are
    hits = tuple(SearchHit.from_dict(hit) for hit in load_stream("search_en.jsonl"))
    first.result(SearchResult("notice", hits[:1], 0.001).to_dict())
    second.result(SearchResult("notice period", hits, 0.004).to_dict())
    assert "5 matching passages in" in window.results_view.plain_text()


def test_search_filters_reach_the_request(qtbot: Any, window: MainWindow, engine: Any) -> None:
    window.query_bar.folder_filter.setCurrentIndex(2)
    window.query_bar.type_filter.setCurrentIndex(3)  # PDF
    window.query_bar.date_filter.setCurrentIndex(1)  # past week
    window.query_bar.edit.setText("lease")
    window.query_bar.submit()
    filters = engine.last("search").params["filters"]
    assert filters["folders"] == ["/data/pdfs"]
    assert filters["extensions"] == ["pdf"]
    assert time.time() - 8 * 86400 < filters["modified_after"] < time.time() - 6 * 86400


def test_a_bad_query_is_explained_inline_not_in_a_dialog(window: MainWindow, engine: Any) -> None:
    window.query_bar.edit.setText('"unclosed')
    window.query_bar.submit()
    engine.last("search").error("bad_query", "The quote is not closed.", "Add the closing quote.")
    text = window.results_view.plain_text()
    assert "The quote is not closed." in text and "Add the closing quote." in text
    assert QApplication.activeModalWidget() is None


def ask(window: MainWindow, engine: Any, stream: str) -> Any:
    window.set_mode("ask")
    window.query_bar.set_level("2")
    window.query_bar.edit.setText("How much notice?")
    window.query_bar.submit()
    request = engine.last("ask")
    assert request.params == {"question": "How much notice?", "level": "2"}
    for event in load_stream(stream):
        request.event(event)
    return request


def test_ask_renders_answer_sources_and_steps(window: MainWindow, engine: Any) -> None:
    request = ask(window, engine, "ask_en_level2.jsonl")
    request.result(final_answer(load_stream("ask_en_level2.jsonl")))
    assert "two full calendar months" in window.answer_view.browser.toPlainText()
    assert [item.number for item in window.sources_panel.items] == [1, 2, 3]
    assert window.side_tabs.currentIndex() == SOURCES_TAB
    steps = window.steps_panel.toPlainText()
    assert "Reading passages 24/24" in steps and "Answer ready" in steps
    assert window.query_bar.go_button.isEnabled()


def test_an_escalation_drops_the_lower_levels_text_and_shows_the_final_answer(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    events = load_stream("ask_en_escalation.jsonl")
    escalation = next(i for i, e in enumerate(events) if e["type"] == "level" and e["level"] == 2)
    window.set_mode("ask")
    window.query_bar.set_level("auto")
    window.query_bar.edit.setText("Can I end the lease by e-mail?")
    window.query_bar.submit()
    request = engine.last("ask")
    browser = window.answer_view.browser
    for event in events[:escalation]:
        request.event(event)
    qtbot.waitUntil(lambda: "do not say" in browser.toPlainText(), timeout=2000)

    request.event(events[escalation])
    # Level 1's "not found" is gone at once, and stays gone while Level 2 streams its answer.
    assert "do not say" not in browser.toPlainText()
    assert "Level 2 is looking further" in browser.toPlainText()
    deltas = [e for e in events[escalation:] if e["type"] == "answer_delta"]
    for event in events[escalation + 1 :]:
        if event["type"] == "answer":
            break
        request.event(event)
    assert window.answer_view.text == "".join(e["text"] for e in deltas)
    qtbot.waitUntil(lambda: "Yes. Your landlord" in browser.toPlainText(), timeout=2000)
    assert "do not say" not in browser.toPlainText()

    answer = final_answer(events)
    request.event(answer)
    request.result(answer)
    assert browser.toPlainText().strip() == answer["text"]
    steps = window.steps_panel.toPlainText()
    assert "Level 1" in steps and "Level 2" in steps and "Answer ready" in steps
    assert [item.number for item in window.sources_panel.items] == [1, 2]
    sources = window.sources_panel.toPlainText()
    assert sources.startswith("Probable sources") and "did not cite these explicitly" in sources
    assert "2 probable sources, not cited by the model" in window.answer_view.summary_label.text()
    assert window.side_tabs.currentIndex() == SOURCES_TAB


def test_an_unsupported_draft_is_withdrawn_and_the_closest_passages_are_shown(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    """A draft whose cited passage does not hold its year is taken off the screen the moment the
    check says so; the final "not supported" answer lists the closest passages, unnumbered."""
    window.set_mode("ask")
    window.query_bar.set_level("1")
    window.query_bar.edit.setText("When was the greenhouse finished?")
    window.query_bar.submit()
    request = engine.last("ask")
    browser = window.answer_view.browser
    request.event({"type": "level", "level": 1, "reason": "Level 1 was chosen"})
    request.event({"type": "answer_delta", "text": "It was finished in 1902 [1]."})
    qtbot.waitUntil(lambda: "1902" in browser.toPlainText(), timeout=2000)
    reason = "the answer's year 1902 occurs in none of the cited passages"
    request.event(
        {
            "type": "grounding",
            "level": 1,
            "grounded": False,
            "reason": reason,
            "method": "text",
            "answer": "It was finished in 1902 [1].",
        }
    )
    assert "1902" not in browser.toPlainText()
    assert "not supported by its passages" in browser.toPlainText()
    text = f"Not supported by your documents: {reason}. The passages that came closest are listed."
    candidate = {
        "number": 1,
        "chunk_id": "c1",
        "path": "/data/notes/garden/greenhouse.md",
        "title": "greenhouse",
        "text": "The Halvorsen greenhouse was finished after two wet summers.",
        "highlights": [],
        "page": None,
        "heading": "",
    }
    answer = {
        "type": "answer",
        "text": text,
        "citations": [],
        "level": 1,
        "llm_calls": 2,
        "prompt_tokens": 900,
        "completion_tokens": 30,
        "seconds": 3.0,
        "found": False,
        "grounded": False,
        "grounding": reason,
        "candidates": [candidate],
    }
    request.event({"type": "answer_delta", "text": text})
    request.event(answer)
    request.result(answer)
    assert browser.toPlainText().startswith("Not supported by your documents")
    assert "Not supported by your documents" in window.answer_view.status_label.text()
    sources = window.sources_panel.toPlainText()
    assert sources.startswith("No answer: these are the passages that came closest")
    assert [item.number for item in window.sources_panel.items] == [0]
    assert "[1]" not in sources
    steps = window.steps_panel.toPlainText()
    assert "Answer rejected: its passages do not support it" in steps and "1902" in steps


def test_clicking_a_citation_selects_its_source(window: MainWindow, engine: Any) -> None:
    ask(window, engine, "ask_en_level2.jsonl")
    window.side_tabs.setCurrentIndex(STEPS_TAB)
    window.answer_view.browser.anchorClicked.emit(QUrl("cite:3"))
    selected = window.sources_panel.selected_item
    assert selected is not None and selected.number == 3 and selected.page == 4
    assert window.side_tabs.currentIndex() == SOURCES_TAB


def test_escape_stops_the_question(qtbot: Any, window: MainWindow, engine: Any) -> None:
    window.set_mode("ask")
    window.query_bar.edit.setText("What is in my notes?")
    window.query_bar.submit()
    request = engine.last("ask")
    request.event({"type": "level", "level": 1, "reason": "first try"})
    assert window.answer_view.running
    window.activateWindow()
    qtbot.keyClick(window.query_bar.edit, Qt.Key.Key_Escape)
    assert request.cancelled
    assert not window.answer_view.running
    assert window.answer_view.status_label.text() == "Stopped."


def _verdict(number: int, relevant: bool) -> dict[str, Any]:
    chunk = {"chunk_id": f"c{number}", "path": "/data/notes/a.md", "title": "a", "score": 1.0}
    return {
        "type": "chunk_verdict",
        "chunk": chunk,
        "relevant": relevant,
        "quotes": ["The valve is red."] if relevant else [],
        "done": number,
        "total": 40,
        "grade": "answers" if relevant else "no",
    }


def test_answer_from_what_was_found_is_offered_once_a_passage_answers(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    window.set_mode("ask")
    window.query_bar.edit.setText("What colour is the valve?")
    window.query_bar.submit()
    request = engine.last("ask")
    request.event({"type": "level", "level": 2, "reason": "reading"})
    request.event({"type": "scope", "description": "everything", "read_chunks": 40})
    request.event(_verdict(1, relevant=False))
    button = window.answer_view.answer_now_button
    assert not button.isVisible()
    request.event(_verdict(2, relevant=True))
    assert button.isVisible() and "1" in button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert request.stopped_reading and not request.cancelled
    assert not button.isVisible() and window.answer_view.running
    assert "Answering from what was found so far" in window.answer_view.status_label.text()
    request.event(_verdict(3, relevant=False))  # a read that was already in flight
    assert not button.isVisible()
    answer = {
        "type": "answer",
        "text": "It is red [1].",
        "citations": [
            {"number": 1, "chunk_id": "c2", "path": "/data/notes/a.md", "title": "a",
             "text": "The valve is red.", "highlights": [[0, 17]]}
        ],
        "level": 2,
        "llm_calls": 4,
        "prompt_tokens": 900,
        "completion_tokens": 20,
        "seconds": 9.0,
        "found": True,
        "grounded": True,
        "chunks_read": 3,
        "partial": True,
    }  # fmt: skip
    request.event(answer)
    request.result(answer)
    status = window.answer_view.status_label.text()
    assert "partial reading: you stopped it after 3 passages" in status
    assert not window.answer_view.running and not button.isVisible()


def test_ctrl_k_focuses_the_query(qtbot: Any, window: MainWindow) -> None:
    window.activateWindow()
    window.side_tabs.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.query_bar.edit.hasFocus()


def test_ask_error_is_shown_in_plain_words(window: MainWindow, engine: Any) -> None:
    window.set_mode("ask")
    window.query_bar.edit.setText("q")
    window.query_bar.submit()
    engine.last("ask").error(
        "ollama_unreachable", "Nothing answers at 127.0.0.1:11434.", "Start it with `ollama serve`."
    )
    text = window.answer_view.browser.toPlainText()
    assert "The model server is not running" in text and "Start Ollama" in text
    assert "ollama serve" not in text and "`" not in text
    steps = window.steps_panel.toPlainText()
    assert steps.count("The model server is not running") == 1 and "ollama_unreachable" not in steps


def test_missing_model_panel_pulls_with_progress(window: MainWindow, engine: Any) -> None:
    window.set_mode("ask")
    window._on_notification("ollama", {"state": "model_missing", "message": "not pulled"})
    assert window.ollama_panel.isVisible()
    assert "qwen2:7b-instruct" in window.ollama_panel.title.text()
    assert "Model missing" in window.status.ollama_label.text()
    window.ollama_panel.pull_button.click()
    pull = engine.last("ollama.pull")
    assert pull.params == {"model": "qwen2:7b-instruct"}
    pull.progress(
        {"status": "pulling 8eeb52dfb3bb", "completed": 2_000_000_000, "total": 4_000_000_000}
    )
    assert window.ollama_panel.progress.value() == 500
    assert "2,000 / 4,000 MB" in window.ollama_panel.progress_label.text()
    pull.result({"model": "qwen2:7b-instruct", "ready": True})
    engine.last("ollama.status").result({"state": "ready"})
    assert not window.ollama_panel.isVisible()


def test_settings_round_trip(qtbot: Any, window: MainWindow, engine: Any) -> None:
    window.open_settings()
    engine.last("settings.get").result(SETTINGS)
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    editable = {k: v for k, v in SETTINGS["values"].items() if k != "folders"}
    assert dialog.values() == {**editable, "api_key": None}  # a secret untyped: nothing to send
    dialog.editor("model").setCurrentText("qwen2:1.5b-instruct")
    dialog.editor("read_budget").setValue(120)
    dialog.editor("ignore_patterns").setPlainText("*.log\n\narchive/\n")
    dialog.save()
    update = engine.last("settings.update")
    assert update.params == {
        "changes": {
            "model": "qwen2:1.5b-instruct",
            "read_budget": 120,
            "ignore_patterns": ["*.log", "archive/"],
        }
    }
    update.error("invalid_settings", "The read budget must be at least 1 chunk.")
    assert dialog.isVisible() and "read budget" in dialog.error_label.text()
    dialog.save()
    changed = {**SETTINGS["values"], **engine.last("settings.update").params["changes"]}
    engine.last("settings.update").result({**SETTINGS, "values": changed})
    assert not dialog.isVisible()
    assert window.status.model_label.text() == "qwen2:1.5b-instruct"


def test_the_interface_language_is_chosen_in_settings_for_the_next_start(
    window: MainWindow, engine: Any, store: QSettings
) -> None:
    window.open_settings()
    engine.last("settings.get").result(SETTINGS)
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    combo = dialog.language_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["system", "en", "zh_CN"]
    assert combo.itemText(2) == "简体中文"
    assert not dialog.language_note.isVisibleTo(dialog)
    combo.setCurrentIndex(combo.findData("zh_CN"))
    assert dialog.language_note.isVisibleTo(dialog)
    assert "next time Needle starts" in dialog.language_note.text()
    dialog.save()  # only the app's own preferences changed: nothing is sent to the engine
    assert "settings.update" not in engine.methods()
    assert window.preferences.language == "zh_CN"
    assert store.value("interface/language") == "zh_CN"


def test_settings_dialog_catches_a_bad_host_before_sending(qtbot: Any) -> None:
    dialog = SettingsDialog(SettingsSnapshot.from_dict(SETTINGS))
    qtbot.addWidget(dialog)
    dialog.editor("ollama_host").setText("ftp://localhost:11434")
    with qtbot.assertNotEmitted(dialog.apply_requested):
        dialog.save()
    assert "http://" in dialog.error_label.text()


def test_settings_take_host_and_port_as_typed(qtbot: Any) -> None:
    """`localhost:11434` is what people type (and what $OLLAMA_HOST holds): it is a URL."""
    dialog = SettingsDialog(SettingsSnapshot.from_dict(SETTINGS))
    qtbot.addWidget(dialog)
    dialog.editor("ollama_host").setText("192.168.1.20:11434")
    with qtbot.waitSignal(dialog.apply_requested) as blocker:
        dialog.save()
    assert blocker.args == [{"ollama_host": "http://192.168.1.20:11434"}]
    assert not dialog.error_label.isVisible()


def test_layout_persists_between_runs(
    qtbot: Any, window: MainWindow, engine: Any, store: QSettings
) -> None:
    # The offscreen screen is 800 px wide and restoreGeometry clamps to it; at its minimum width
    # the window comes back the same size either way.
    width = window.minimumSizeHint().width()
    window.resize(width, 640)
    window.splitter.setSizes([200, 150, 300])
    sizes = window.splitter.sizes()
    window.set_mode("ask")
    window.query_bar.set_level("3")
    window.close()
    again = MainWindow(make_fake_engine(), store, watchdog=False)
    qtbot.addWidget(again)
    again.show()
    assert again.size().width() == width
    assert again.splitter.sizes() == sizes
    assert again.query_bar.mode == "ask" and again.query_bar.level == "3"


def test_folder_with_problems_opens_the_list(window: MainWindow, engine: Any) -> None:
    window.folders_panel.list.itemWidget(window.folders_panel.list.item(1)).linkActivated.emit(
        "problems"
    )
    problems = [
        ("/data/pdfs/locked.pdf", "error", "encrypted", "/data/pdfs/locked.pdf needs a password."),
        ("/data/pdfs/scan.pdf", "skipped", "no_text", "No text layer."),
        ("/data/notes/x.md", "error", "not_text", "Binary."),
    ]
    records = [FileRecord(p, 10, 1.0, "", state, kind, why) for p, state, kind, why in problems]
    engine.last("problems").result({"problems": [record.to_dict() for record in records]})
    tree = window.problems_dialog.tree
    assert tree.topLevelItemCount() == 2  # only this folder's files
    first, second = tree.topLevelItem(0), tree.topLevelItem(1)
    assert first is not None and second is not None
    assert first.text(0) == "locked.pdf"  # relative to the folder
    assert first.text(1) == "The PDF is encrypted. locked.pdf needs a password."
    assert second.text(1) == "The file has no text to read. No text layer."
    assert window.problems_dialog.tree.wordWrap()


def test_index_progress_shows_on_the_folder_and_status_bar(window: MainWindow) -> None:
    progress = {"phase": "indexing", "done": 7, "total": 20, "current": "/data/notes/a.md"}
    window._on_notification("index", progress)
    assert window.folders_panel.state_text("/data/notes") == "indexing 7/20"
    assert window.folders_panel.state_text("/data/pdfs") == "2 files with problems"
    assert window.status.index_label.text() == "Indexing 7/20 · a.md"


def test_engine_restart_shows_then_hides_a_banner(window: MainWindow, engine: Any) -> None:
    engine.engine_lost.emit("The engine crashed.")
    assert window.banner.isVisible() and "Restarting" in window.banner.label.text()
    engine.engine_restarted.emit(1)
    assert not window.banner.isVisible()


@pytest.mark.expect_log("UI thread was blocked")
def test_watchdog_logs_a_blocked_ui_thread(qtbot: Any, caplog: pytest.LogCaptureFixture) -> None:
    watchdog = UiWatchdog()
    watchdog.start()
    qtbot.wait(120)  # a few normal ticks: nothing logged
    assert watchdog.block_count == 0
    with caplog.at_level(logging.WARNING, logger="needle.responsiveness"):
        time.sleep(0.35)  # the UI thread is stuck, as if it waited on I/O
        qtbot.wait(120)
    watchdog.stop()
    assert watchdog.block_count == 1
    # At least the sleep; the upper bound only says it is the one block (a loaded machine, as
    # under several test suites at once, lets the UI thread wait a second or more for a core).
    assert 300 <= watchdog.longest_block_ms < 10_000
    assert any("UI thread was blocked for" in r.getMessage() for r in caplog.records)


def test_watchdog_does_not_count_waiting_for_a_busy_cpu(qtbot: Any) -> None:
    """A model server on every core can keep the UI thread from running for half a second; the
    thread was ready, the app held nothing, so no block is logged."""
    waited = [0.0]
    watchdog = UiWatchdog(cpu_wait=lambda: waited[0])
    watchdog.start()
    qtbot.wait(120)
    time.sleep(0.35)
    waited[0] += 0.35  # the kernel says the thread spent that time waiting for a CPU
    qtbot.wait(120)
    watchdog.stop()
    assert watchdog.block_count == 0


def test_cpu_wait_is_read_from_the_threads_schedstat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedstat = tmp_path / "schedstat"
    schedstat.write_text("8123456789 2500000000 731\n")  # on CPU, waiting for a CPU, slices
    monkeypatch.setattr(responsiveness, "SCHEDSTAT", schedstat)
    assert responsiveness.cpu_wait_seconds() == 2.5
    monkeypatch.setattr(responsiveness, "SCHEDSTAT", tmp_path / "absent")
    assert responsiveness.cpu_wait_seconds() == 0.0


def test_check_setup_lists_the_engines_checks(window: MainWindow, engine: Any) -> None:
    window.run_doctor()
    report = DoctorReport(
        (
            Check("index", "ok", "1,204 chunks."),
            Check(
                "ollama",
                "fail",
                "Nothing answers at http://127.0.0.1:11434.",
                "Start it with `ollama serve`.",
            ),
        )
    )
    assert "Checking the setup…" in window.status.activities
    engine.last("doctor").result(report.to_dict())
    assert window.status.activities == []  # the message ends with its action
    dialog = window.doctor_dialog
    assert dialog.summary.text() == "1 of 2 checks failed. Each says what to do."
    text = dialog.browser.toPlainText()
    assert "Nothing answers at http://127.0.0.1:11434." in text
    assert "What to do: Start Ollama" in text and "ollama serve" not in text


def test_settings_offer_the_pulled_models(window: MainWindow, engine: Any) -> None:
    window._apply_ollama({"state": "ready", "models": ["qwen2:7b-instruct", "qwen2:1.5b"]})
    window.open_settings()
    engine.last("settings.get").result(SETTINGS)
    model_box = window.settings_dialog.editor("model")
    assert isinstance(model_box, QComboBox) and model_box.isEditable()
    assert [model_box.itemText(i) for i in range(model_box.count())] == [
        "qwen2:7b-instruct",
        "qwen2:1.5b",
    ]
    assert model_box.currentText() == "qwen2:7b-instruct"


def test_adding_a_folder_indexes_it_and_refreshes_once_when_the_engine_says_so(
    window: MainWindow, engine: Any
) -> None:
    window.add_folder("/data/new")
    engine.last("folders.add").result(FolderInfo("/data/new", "indexing").to_dict())
    before = engine.methods().count("folders.list")
    engine.last("index.run").result(IndexSummary(added=3).to_dict())
    # The engine follows every finished index run with `index_changed`; that is the one refresh.
    engine.notification.emit("index_changed", {"source": "index.run"})
    assert engine.methods().count("folders.list") == before + 1
