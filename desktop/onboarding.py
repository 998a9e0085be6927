"""First-run help. With no folders: a short guide to getting started. With Ollama missing or the
model not pulled: a panel that says exactly what to do, and pulls the model with progress."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.rich_text import escape, format_count
from desktop.status_bar import ollama_view
from desktop.theme import COLORS

OLLAMA_DOWNLOAD = "https://ollama.com/download"


class WelcomePanel(QFrame):
    """Shown in the centre while no folder is watched."""

    add_folder_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("onboarding")
        title = QLabel("Welcome to Needle")
        title.setStyleSheet("font-size: 18pt; font-weight: 600;")
        steps = QLabel(
            "<p>Needle searches and answers questions about your own notes and PDFs, "
            "entirely on this computer.</p>"
            "<ol style='margin-left:0px;'>"
            "<li style='margin-bottom:6px;'><b>Add a folder</b> of notes (Markdown, text, HTML) "
            "or PDFs.</li>"
            "<li style='margin-bottom:6px;'>Needle <b>indexes</b> it and keeps watching it for "
            "changes.</li>"
            "<li style='margin-bottom:6px;'><b>Search</b> as you type, or switch to <b>Ask</b> "
            "for answers with citations from a local model.</li>"
            "</ol>"
            f"<p style='color:{COLORS.muted};'>Shortcuts: Ctrl+K focuses the query box, Enter "
            "searches or asks, Esc stops.</p>"
        )
        steps.setWordWrap(True)
        steps.setTextFormat(Qt.TextFormat.RichText)
        self.add_button = QPushButton("Add a folder…")
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.add_folder_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(steps)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)


def server_instructions(state: str, model: str, host: str, hint: str) -> str:
    """What to do for an OpenAI-compatible server that is not ready (rich text): the engine's
    own hint, which names the exact fix (start it, the URL, the models it serves, the key)."""
    where = f"<code>{escape(host)}</code>"
    lead = {
        "not_running": f"<p>Answers come from a model server; none is answering at {where}.</p>",
        "model_missing": f"<p>The server at {where} does not serve <b>{escape(model)}</b>.</p>",
    }.get(state, f"<p>Needle could not use the model server at {where}.</p>")
    return (
        lead
        + (f"<p>{escape(hint)}</p>" if hint else "")
        + ("<p>Then click <b>Check again</b>. Search works without it.</p>")
    )


def ollama_instructions(state: str, model: str, host: str) -> str:
    """What to do, step by step, for an Ollama that is not ready (rich text)."""
    model_html = escape(model)
    if state == "not_running":
        return (
            f"<p>Answers come from a local model served by Ollama, which is not answering at "
            f"<code>{escape(host)}</code>.</p><ol>"
            f"<li>Install Ollama from <a href='{OLLAMA_DOWNLOAD}'>{OLLAMA_DOWNLOAD}</a> if it is "
            "not installed.</li>"
            "<li>Start it: open a terminal and run <code>ollama serve</code> (or start the Ollama "
            "app).</li>"
            "<li>Click <b>Check again</b>.</li></ol>"
            "<p>Search works without it.</p>"
        )
    if state == "model_missing":
        return (
            f"<p>Ollama is running, but the model <b>{model_html}</b> is not on this computer "
            "yet.</p>"
            "<p>Click <b>Pull the model</b> to download it here (a few GB; it happens once), or "
            f"run <code>ollama pull {model_html}</code> in a terminal, then click "
            "<b>Check again</b>.</p>"
        )
    return (
        "<p>Needle could not talk to Ollama. Check the host in Settings, then click "
        "<b>Check again</b>.</p>"
    )


def pull_progress_text(progress: Mapping[str, Any]) -> str:
    status = str(progress.get("status", "")) or "pulling"
    completed = int(progress.get("completed", 0))
    total = int(progress.get("total", 0))
    if total:
        mb_done, mb_total = completed // 1_000_000, total // 1_000_000
        return f"{status} · {format_count(mb_done)} / {format_count(mb_total)} MB"
    return status


class OllamaPanel(QFrame):
    """Shown above the answer while the model server is not ready."""

    pull_requested = Signal()
    cancel_pull_requested = Signal()
    recheck_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.state = "unknown"
        self.pullable = True  # Ollama pulls models; an OpenAI-compatible server does not
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setOpenExternalLinks(True)
        self.detail = QLabel()
        self.detail.setObjectName("muted")
        self.detail.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.hide()
        self.progress_label = QLabel()
        self.progress_label.setObjectName("muted")
        self.progress_label.hide()
        self.pull_button = QPushButton("Pull the model")
        self.pull_button.setObjectName("primary")
        self.pull_button.clicked.connect(self.pull_requested)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel_pull_requested)
        self.cancel_button.hide()
        self.recheck_button = QPushButton("Check again")
        self.recheck_button.clicked.connect(self.recheck_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pull_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.recheck_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addWidget(self.detail)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addLayout(buttons)

    def set_status(self, data: Mapping[str, Any] | None, model: str, host: str) -> bool:
        """Update from an Ollama status; returns True when the panel should be shown."""
        view = ollama_view(data)
        self.state = view.state
        ollama = (data or {}).get("backend", "ollama") != "openai"
        self.pullable = ollama
        if ollama:
            titles = {
                "not_running": "Start Ollama to get answers",
                "model_missing": f"Download the model {model}",
                "error": "Ollama is not responding properly",
            }
            self.title.setText(titles.get(view.state, "Checking Ollama…"))
            self.body.setText(ollama_instructions(view.state, model, host))
        else:  # an OpenAI-compatible server loads its models itself: nothing to pull
            titles = {
                "not_running": "Start the model server to get answers",
                "model_missing": f"The server does not serve {model}",
                "error": "The model server is not responding properly",
            }
            self.title.setText(titles.get(view.state, "Checking the model server…"))
            hint = str((data or {}).get("hint", ""))
            self.body.setText(server_instructions(view.state, model, host, hint))
        self.detail.setText(view.message)
        self.detail.setVisible(bool(view.message))
        pulling = self.cancel_button.isVisible()
        self.pull_button.setVisible(view.state == "model_missing" and not pulling and ollama)
        return view.state in titles

    def pull_started(self) -> None:
        self.pull_button.hide()
        self.cancel_button.show()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText("Starting the download…")
        self.progress_label.show()

    def set_pull_progress(self, progress: Mapping[str, Any]) -> None:
        total = int(progress.get("total", 0))
        if total:
            # QProgressBar is int32; bytes of a multi-GB model are not.
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * int(progress.get("completed", 0)) / total))
        else:
            self.progress.setRange(0, 0)
        self.progress_label.setText(pull_progress_text(progress))

    def pull_finished(self, message: str) -> None:
        self.cancel_button.hide()
        self.progress.hide()
        self.progress_label.setText(message)
        self.pull_button.setVisible(self.state == "model_missing" and self.pullable)
