"""Managing the library from the window: Remove asks first, Rescan now, the problem list wraps its
reasons and offers Open / Show in folder / Retry, the Settings dialog asks the typed host for its
models, and a missing model can be replaced by one the server already has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox, QPushButton

from desktop.main_window import MainWindow
from desktop.settings_dialog import HOST_CHECK_DELAY_MS, SettingsDialog
from engine.models import FileRecord, IndexSummary
from tests.helpers.gui import engine_replies, make_fake_engine, open_window


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def engine() -> Any:
    return make_fake_engine()


@pytest.fixture
def window(qtbot: Any, engine: Any, store: QSettings) -> MainWindow:
    return open_window(qtbot, engine, store)


def test_remove_asks_first_and_does_nothing_on_cancel(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    panel = window.folders_panel
    panel.list.setCurrentRow(0)
    panel.remove_button.click()
    box = panel.findChild(QMessageBox, "confirmRemove")
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "Stop watching notes?"
    assert "12 files leave the index" in box.informativeText()
    assert "not touched" in box.informativeText()
    assert "folders.remove" not in engine.methods()  # nothing yet: the question is open
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert "folders.remove" not in engine.methods()
    box = panel.confirm_remove("/data/notes")
    remove = next(b for b in box.findChildren(QPushButton) if b.text() == "Remove")
    remove.click()
    assert engine.last("folders.remove").params == {"path": "/data/notes"}


def test_rescan_now_indexes_at_once(window: MainWindow, engine: Any) -> None:
    window.folders_panel.rescan_button.click()
    run = engine.last("index.run")
    assert window.status.activities == ["Updating the index…"]
    run.progress({"phase": "indexing", "done": 1, "total": 4, "current": "/data/notes/a.md"})
    assert window.folders_panel.state_text("/data/notes") == "indexing 1/4"
    run.result(IndexSummary(updated=1).to_dict())
    assert window.status.activities == []


def test_selecting_a_folder_opens_no_dialog_and_its_problems_link_does(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    panel = window.folders_panel
    panel.list.setCurrentRow(1)  # the folder with problems: selected, nothing pops up
    assert "problems" not in engine.methods()
    assert window.problems_dialog is None
    panel.list.itemWidget(panel.list.item(1)).linkActivated.emit("problems")
    assert engine.last("problems") is not None


def problems_dialog(window: MainWindow, engine: Any, tmp_path: Path) -> Any:
    encrypted = tmp_path / "locked.pdf"
    encrypted.write_bytes(b"%PDF")
    records = [
        FileRecord(
            str(encrypted),
            4,
            1.0,
            "",
            "error",
            "encrypted",
            "The PDF is encrypted with a password that is not empty, so its text cannot be "
            "read. Save an unprotected copy to make it searchable.",
        ),
        FileRecord(str(tmp_path / "scan.pdf"), 10, 1.0, "", "skipped", "no_text", "No text."),
    ]
    window.show_problems(str(tmp_path))
    engine.last("problems").result({"problems": [r.to_dict() for r in records]})
    return window.problems_dialog


def test_the_problem_list_wraps_reasons_and_offers_open_show_and_retry(
    qtbot: Any, window: MainWindow, engine: Any, tmp_path: Path
) -> None:
    dialog = problems_dialog(window, engine, tmp_path)
    assert dialog.tree.wordWrap() and dialog.tree.columnCount() == 2
    first = dialog.tree.topLevelItem(0)
    assert first is not None and first.text(0) == "locked.pdf"
    assert first.text(1).startswith("The PDF is encrypted. The PDF is encrypted with a password")
    labels = [b.text() for b in dialog.findChildren(QPushButton)]
    assert {"Open", "Show in folder", "Retry"} <= set(labels)
    opened: list[str] = []
    dialog.open_requested.connect(opened.append)
    dialog.open_button.click()
    assert opened == [str(tmp_path / "locked.pdf")]
    dialog.tree.selectAll()
    dialog.retry_button.click()
    retry = engine.last("index.retry")
    assert retry.params == {"paths": [str(tmp_path / "locked.pdf"), str(tmp_path / "scan.pdf")]}
    assert "Reading 2 files again" in dialog.status.text()
    still = FileRecord(str(tmp_path / "scan.pdf"), 10, 1.0, "", "skipped", "no_text", "No text.")
    retry.result(IndexSummary(updated=2, problems=[still]).to_dict())
    assert dialog.status.text() == "Read again: 1 now searchable, 1 still with problems."


def test_settings_ask_the_typed_host_for_its_models(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    window.open_settings()
    engine.last("settings.get").result(engine_replies()["settings.get"])
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    host = dialog.editor("ollama_host")
    host.setText("")
    qtbot.keyClicks(host, "192.168.1.20:11434")
    qtbot.wait(HOST_CHECK_DELAY_MS + 200)
    asked = engine.last("ollama.status")
    assert asked.params == {"host": "http://192.168.1.20:11434"}
    asked.result({"state": "ready", "models": ["llama3.2:3b", "qwen2.5:7b"]})
    model = dialog.editor("model")
    assert isinstance(model, QComboBox)
    assert [model.itemText(i) for i in range(model.count())] == ["llama3.2:3b", "qwen2.5:7b"]
    assert model.currentText() == "qwen2:7b-instruct"  # what was chosen stays until changed
    assert dialog.host_status.text() == "Ollama answers here with 2 models."


def test_spin_boxes_are_styled_like_the_other_fields(qtbot: Any, window: MainWindow) -> None:
    from desktop.theme import LIGHT_COLORS, style_sheet

    sheet = style_sheet(LIGHT_COLORS)
    assert "QDoubleSpinBox" in sheet and "QSpinBox::up-button" in sheet
    assert "spin-up.svg" in sheet and Path(LIGHT_COLORS.asset("spin-up")).is_file()


def test_a_missing_model_can_be_replaced_by_one_the_server_has(
    window: MainWindow, engine: Any
) -> None:
    window.set_mode("ask")
    engine.notification.emit(
        "ollama",
        {"state": "model_missing", "message": "not pulled", "models": ["qwen2.5:1.5b"]},
    )
    panel = window.ollama_panel
    assert panel.isVisible() and panel.use_button.isVisible()
    panel.use_button.click()
    update = engine.last("settings.update")
    assert update.params == {"changes": {"model": "qwen2.5:1.5b"}}
    settings = engine_replies()["settings.get"]
    update.result({**settings, "values": {**settings["values"], "model": "qwen2.5:1.5b"}})
    assert window.status.model_label.text() == "qwen2.5:1.5b"
    assert engine.methods()[-1] == "ollama.status"  # checked again at once


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_folder_buttons_are_not_clipped_in_a_narrow_panel(
    qtbot: Any, qapp: QApplication, language: str
) -> None:
    """Side by side, the three buttons needed 283 px: squeezed by the splitter, "Add folder…"
    showed as "dd folder" and "Remove…" as "emove..", more so in Chinese."""
    from desktop.folders_panel import FoldersPanel
    from desktop.i18n import ENGLISH, install_translators
    from desktop.theme import apply_theme

    install_translators(qapp, language)
    sheet, font = qapp.styleSheet(), qapp.font()
    apply_theme(qapp, "light")  # the theme's padding is what made them too wide
    try:
        panel = FoldersPanel()
        qtbot.addWidget(panel)
        panel.setMinimumWidth(180)  # as the main window sets it; the splitter may go that far
        panel.resize(180, 500)
        panel.show()
        qtbot.waitExposed(panel)
        for button in (panel.add_button, panel.rescan_button, panel.remove_button):
            assert button.width() >= button.sizeHint().width(), button.text()
    finally:
        qapp.setStyleSheet(sheet)
        qapp.setFont(font)
        install_translators(qapp, ENGLISH)
