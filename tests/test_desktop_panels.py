"""Smaller desktop pieces: folder rows from the engine's FolderInfo, the status bar, onboarding,
the query bar's scope and filters, the About dialog and the app icon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from desktop.about import AboutDialog, app_version
from desktop.folders_panel import FolderRow, folder_state
from desktop.icon import ICON_SIZES, app_icon, icon_image
from desktop.onboarding import OllamaPanel, ollama_instructions, pull_progress_text
from desktop.query_bar import QueryBar
from desktop.rich_text import location_label
from desktop.status_bar import NeedleStatusBar, index_progress_text, ollama_view
from engine.models import FolderInfo
from tests.helpers.gui import load_stream

REPO = Path(__file__).resolve().parents[1]


def test_folder_rows_read_the_engines_folder_info() -> None:
    info = FolderInfo(
        path="/data/pdfs",
        state="errors",
        files=10,
        indexed=7,
        pending=0,
        errors=1,
        skipped=2,
        chunks=80,
        watch_mode="polling",
        watch_note="inotify watch limit reached",
    )
    row = FolderRow.from_info(FolderInfo.from_dict(info.to_dict()))
    assert row == FolderRow("/data/pdfs", 10, 3, 0, "polling", "inotify watch limit reached")
    assert folder_state(row, None)[0] == "3 files with problems"
    clean = FolderRow("/data/notes", files=4, watch_mode="polling")
    assert folder_state(clean, None)[0] == "up to date · polling (no live watch)"
    new = FolderRow.from_info(FolderInfo("/new", "indexing", last_indexed=None))
    assert folder_state(new, None)[0] == "not indexed yet"
    progress = {"phase": "indexing", "done": 1, "total": 4, "current": "/new/a.md"}
    assert folder_state(new, progress)[0] == "indexing 1/4"
    missing = FolderRow.from_info(FolderInfo("/gone", "missing"))
    assert folder_state(missing, None)[0] == "folder not found"
    busy = {"phase": "indexing", "done": 3, "total": 9, "current": "/data/notesx/a.md"}
    # /data/notesx is not inside /data/notes: a prefix is not a parent folder.
    assert folder_state(clean, busy)[0] == "up to date · polling (no live watch)"


def test_status_bar_reads_ollama_and_index_states(qtbot: Any) -> None:
    bar = NeedleStatusBar()
    qtbot.addWidget(bar)
    assert bar.set_ollama({"state": "not_running", "message": "no answer"}).label == (
        "Ollama not running"
    )
    assert "Ollama not running" in bar.ollama_label.text()
    assert ollama_view({"error": {"message": "boom", "hint": "h"}}).state == "error"
    assert ollama_view(None).label == "Ollama: checking…"
    bar.set_index_progress({"phase": "indexing", "done": 5, "total": 50, "errors": 1})
    assert not bar.index_bar.isHidden() and bar.index_bar.value() == 5
    assert bar.index_label.text() == "Indexing 5/50 · 1 problem"
    bar.set_index_progress({"phase": "done", "done": 50, "total": 50})
    assert bar.index_bar.isHidden()
    assert index_progress_text({"phase": "scanning", "done": 12}) == (
        "Scanning folders… 12 files found"
    )
    reading = {"phase": "indexing", "done": 2, "total": 9, "current": "/n/scan.pdf"}
    assert index_progress_text({**reading, "ocr_page": 3, "ocr_pages": 40}) == (
        "Indexing 2/9 · scan.pdf · recognising text (page 3 of 40)"
    )
    assert location_label(3, "", True) == "page 3 (OCR)"
    assert location_label(None, ["Receipts"], True) == "OCR · Receipts"
    assert location_label(3, "Setup > Linux") == "page 3 · Setup › Linux"


def test_ollama_panel_says_exactly_what_to_do(qtbot: Any) -> None:
    panel = OllamaPanel()
    qtbot.addWidget(panel)
    assert panel.set_status({"state": "not_running"}, "qwen2:7b-instruct", "http://h:1")
    assert "open the Ollama app" in panel.body.text() and "http://h:1" in panel.body.text()
    assert "ollama serve" not in panel.body.text()  # a GUI says what to click, not what to type
    assert panel.pull_button.isHidden()
    assert panel.set_status({"state": "model_missing"}, "qwen2:7b-instruct", "http://h:1")
    assert "qwen2:7b-instruct" in panel.body.text() and "ollama pull" not in panel.body.text()
    assert not panel.pull_button.isHidden()
    assert panel.use_button.isHidden()  # nothing installed to offer instead
    assert not panel.set_status({"state": "ready"}, "m", "h")
    assert "ollama.com/download" in ollama_instructions("not_running", "m", "h")
    assert pull_progress_text({"status": "verifying sha256 digest"}) == "verifying sha256 digest"


def test_a_missing_model_offers_the_models_already_installed_before_a_download(
    qtbot: Any,
) -> None:
    panel = OllamaPanel()
    qtbot.addWidget(panel)
    status = {"state": "model_missing", "models": ["qwen2.5:1.5b", "llama3.2:3b"]}
    assert panel.set_status(status, "qwen2:7b-instruct", "http://h:1")
    assert not panel.use_button.isHidden() and not panel.installed_combo.isHidden()
    assert [panel.installed_combo.itemText(i) for i in range(2)] == ["qwen2.5:1.5b", "llama3.2:3b"]
    assert "Use a model you already have" in panel.body.text()
    assert panel.use_button.objectName() == "primary" and panel.pull_button.objectName() == ""
    panel.installed_combo.setCurrentIndex(1)
    with qtbot.waitSignal(panel.use_model_requested) as blocker:
        panel.use_button.click()
    assert blocker.args == ["llama3.2:3b"]


def test_query_bar_scopes_and_levels(qtbot: Any) -> None:
    bar = QueryBar(clock=lambda: 1_000_000.0)
    qtbot.addWidget(bar)
    bar.set_folders(["/data/notes", "/data/pdfs"])
    bar.set_selected_file("/data/pdfs/lease.pdf")
    bar.set_mode("ask")
    assert bar.ask_scope() == {}
    assert bar.set_scope("folder:/data/pdfs")
    assert bar.ask_scope() == {"folders": ["/data/pdfs"]}
    assert bar.set_scope("file:/data/pdfs/lease.pdf")
    assert bar.ask_scope() == {"paths": ["/data/pdfs/lease.pdf"]}
    bar.set_level("3")
    bar.edit.setText("Who signed it?")
    with qtbot.waitSignal(bar.ask_requested) as blocker:
        qtbot.keyClick(bar.edit, Qt.Key.Key_Return)
    assert blocker.args == ["Who signed it?", "3", {"paths": ["/data/pdfs/lease.pdf"]}]
    bar.set_mode("search")
    bar.date_filter.setCurrentIndex(3)
    assert bar.search_filters() == {"modified_after": 1_000_000.0 - 366 * 86_400}


def test_about_shows_the_package_version(qtbot: Any) -> None:
    dialog = AboutDialog({"engine_version": "0.1.0", "protocol": 1, "data_dir": "/x"})
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    assert f"Version {app_version()}" in text
    assert "Engine 0.1.0" in text and "/x" in text
    assert app_version() != "0.0.0+unknown"  # installed editable: metadata is there


def test_icon_is_drawn_at_every_size_and_shipped(qtbot: Any) -> None:
    image = icon_image(64)
    assert image.width() == 64
    centre = image.pixelColor(32, 8)
    assert centre.blue() > centre.red()  # the indigo tile, not transparent
    assert image.pixelColor(0, 0).alpha() == 0  # rounded corners
    assert not app_icon().isNull()
    for size in ICON_SIZES:
        assert (REPO / "resources" / "icons" / f"needle-{size}.png").exists()
    assert (REPO / "resources" / "needle.svg").read_text("utf-8").startswith("<svg")


def test_shipped_icons_match_the_drawing(tmp_path: Path) -> None:
    """resources/ holds what make_icons.py draws now (regenerate after changing the drawing)."""
    script = REPO / "resources" / "make_icons.py"
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    assert "wrote 8 PNGs" in completed.stdout
    for size in (16, 64, 512):
        fresh = QImage(str(tmp_path / "icons" / f"needle-{size}.png"))
        shipped = QImage(str(REPO / "resources" / "icons" / f"needle-{size}.png"))
        assert fresh == shipped
    assert (tmp_path / "needle.svg").read_text("utf-8") == (
        (REPO / "resources" / "needle.svg").read_text("utf-8")
    )


def test_recorded_search_hits_carry_what_results_need() -> None:
    for name in ("search_en.jsonl", "search_zh.jsonl"):
        for hit in load_stream(name):
            snippet = hit["snippet"]
            for start, end in hit["snippet_highlights"]:
                assert 0 <= start < end <= len(snippet)


def test_installed_pyside_does_not_leak_references_to_none(qtbot: Any) -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every call that returns
    nothing and aborts the app after a few thousand UI updates; pyproject.toml pins it out."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for index in range(5_000):
        label.setText(str(index))
    assert sys.getrefcount(None) >= before - 100
