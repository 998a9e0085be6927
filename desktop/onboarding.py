"""First-run help. With no folders: a short guide to getting started. With Ollama missing or the
model not pulled: a panel that says exactly what to do, and pulls the model with progress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.i18n import tr
from desktop.rich_text import escape, format_count
from desktop.status_bar import ollama_view
from desktop.theme import colors, theme_events

OLLAMA_DOWNLOAD = "https://ollama.com/download"


def welcome_html() -> str:
    return (
        "<p>"
        + escape(
            tr(
                "Needle searches and answers questions about your own notes and PDFs, entirely "
                "on this computer."
            )
        )
        + "</p><ol style='margin-left:0px;'>"
        + "".join(
            f"<li style='margin-bottom:6px;'>{item}</li>"
            for item in (
                tr("<b>Add a folder</b> of notes (Markdown, text, HTML) or PDFs."),
                tr("Needle <b>indexes</b> it and keeps watching it for changes."),
                tr(
                    "<b>Search</b> as you type, or switch to <b>Ask</b> for answers with "
                    "citations from a local model."
                ),
            )
        )
        + "</ol>"
        + f"<p style='color:{colors().muted};'>"
        + escape(
            tr(
                "Shortcuts: Ctrl+K focuses the query box, Down moves into the results, Enter "
                "searches or asks, Esc stops."
            )
        )
        + "</p>"
    )


class WelcomePanel(QFrame):
    """Shown in the centre while no folder is watched."""

    add_folder_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("onboarding")
        title = QLabel(tr("Welcome to Needle"))
        title.setStyleSheet("font-size: 18pt; font-weight: 600;")
        self.steps = QLabel(welcome_html())
        self.steps.setWordWrap(True)
        self.steps.setTextFormat(Qt.TextFormat.RichText)
        self.add_button = QPushButton(tr("Add a folder…"))
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.add_folder_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(self.steps)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        theme_events().changed.connect(lambda: self.steps.setText(welcome_html()))


def server_instructions(state: str, model: str, host: str, hint: str) -> str:
    """What to do for an OpenAI-compatible server that is not ready (rich text): the engine's
    own hint, which names the exact fix (start it, the URL, the models it serves, the key)."""
    where = f"<code>{escape(host)}</code>"
    leads = {
        "not_running": tr("Answers come from a model server; none is answering at {host}."),
        "model_missing": tr("The server at {host} does not serve {model}."),
    }
    lead = leads.get(state, tr("Needle could not use the model server at {host}."))
    return (
        "<p>"
        + lead.format(host=where, model=f"<b>{escape(model)}</b>")
        + "</p>"
        + (f"<p>{escape(hint)}</p>" if hint else "")
        + "<p>"
        + tr("Then click <b>Check again</b>. Search works without it.")
        + "</p>"
    )


def ollama_instructions(state: str, model: str, host: str, installed: Sequence[str] = ()) -> str:
    """What to do, step by step, for a model server that is not ready (rich text)."""
    model_html = f"<b>{escape(model)}</b>"
    if state == "not_running":
        download = f"<a href='{OLLAMA_DOWNLOAD}'>{OLLAMA_DOWNLOAD}</a>"
        intro = tr(
            "Answers come from a local model served by Ollama, which is not answering at {host}."
        ).format(host=f"<b>{escape(host)}</b>")
        steps = [
            tr("Install Ollama from {link} if it is not installed.").format(link=download),
            escape(tr("Start it: open the Ollama app (on Linux, start the ollama service).")),
            tr("Click <b>Check again</b>."),
        ]
        items = "".join(f"<li>{step}</li>" for step in steps)
        works = escape(tr("Search works without it."))
        return f"<p>{intro}</p><ol>{items}</ol><p>{works}</p>"
    if state == "model_missing":
        if installed:
            return (
                "<p>"
                + tr("Ollama is running, but the model {model} is not on this computer.").format(
                    model=model_html
                )
                + "</p><p>"
                + escape(
                    tr(
                        "Use a model you already have (it answers at once), or download {model} "
                        "(a few GB; it happens once)."
                    ).format(model=model)
                )
                + "</p>"
            )
        return (
            "<p>"
            + tr("Ollama is running, but the model {model} is not on this computer yet.").format(
                model=model_html
            )
            + "</p><p>"
            + tr(
                "Click <b>Download the model</b> to get it (a few GB; it happens once), or choose "
                "another model in Settings."
            )
            + "</p>"
        )
    return (
        "<p>"
        + tr(
            "Needle could not talk to Ollama. Check the host in Settings, then click "
            "<b>Check again</b>."
        )
        + "</p>"
    )


def pull_progress_text(progress: Mapping[str, Any]) -> str:
    status = str(progress.get("status", "")) or tr("downloading")
    completed = int(progress.get("completed", 0))
    total = int(progress.get("total", 0))
    if total:
        mb_done, mb_total = completed // 1_000_000, total // 1_000_000
        return f"{status} · {format_count(mb_done)} / {format_count(mb_total)} MB"
    return status


class OllamaPanel(QFrame):
    """Shown above the answer while the model server is not ready. When the configured model is
    missing but Ollama has others, the first offer is to use one of those (no download)."""

    pull_requested = Signal()
    cancel_pull_requested = Signal()
    recheck_requested = Signal()
    use_model_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.state = "unknown"
        self._last: tuple[Mapping[str, Any] | None, str, str] = (None, "", "")
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
        self.progress.setAccessibleName(tr("Download progress"))
        self.progress.hide()
        self.progress_label = QLabel()
        self.progress_label.setObjectName("muted")
        self.progress_label.hide()
        self.installed_combo = QComboBox()
        self.installed_combo.setAccessibleName(tr("Models on this computer"))
        self.installed_combo.setMinimumWidth(200)
        self.use_button = QPushButton(tr("Use this model"))
        self.use_button.setObjectName("primary")
        self.use_button.clicked.connect(
            lambda: self.use_model_requested.emit(str(self.installed_combo.currentText()))
        )
        self.pull_button = QPushButton(tr("Download the model"))
        self.pull_button.setObjectName("primary")
        self.pull_button.clicked.connect(self.pull_requested)
        self.cancel_button = QPushButton(tr("Cancel download"))
        self.cancel_button.clicked.connect(self.cancel_pull_requested)
        self.cancel_button.hide()
        self.recheck_button = QPushButton(tr("Check again"))
        self.recheck_button.clicked.connect(self.recheck_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.installed_combo)
        buttons.addWidget(self.use_button)
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
        theme_events().changed.connect(lambda: self.set_status(*self._last))

    @property
    def pulling(self) -> bool:
        return not self.cancel_button.isHidden()

    def set_status(self, data: Mapping[str, Any] | None, model: str, host: str) -> bool:
        """Update from an Ollama status; returns True when the panel should be shown."""
        self._last = (data, model, host)
        view = ollama_view(data)
        self.state = view.state
        ollama = (data or {}).get("backend", "ollama") != "openai"
        self.pullable = ollama
        installed = [str(m) for m in (data or {}).get("models") or () if str(m)] if ollama else []
        if ollama:
            titles = {
                "not_running": tr("Start Ollama to get answers"),
                "model_missing": tr("The model {model} is not on this computer").format(
                    model=model
                ),
                "error": tr("Ollama is not responding properly"),
            }
            self.title.setText(titles.get(view.state, tr("Checking Ollama…")))
            self.body.setText(ollama_instructions(view.state, model, host, installed))
        else:  # an OpenAI-compatible server loads its models itself: nothing to pull
            titles = {
                "not_running": tr("Start the model server to get answers"),
                "model_missing": tr("The server does not serve {model}").format(model=model),
                "error": tr("The model server is not responding properly"),
            }
            self.title.setText(titles.get(view.state, tr("Checking the model server…")))
            hint = str((data or {}).get("hint", ""))
            self.body.setText(server_instructions(view.state, model, host, hint))
        self.detail.setText(view.message)
        self.detail.setVisible(bool(view.message))
        offer_installed = view.state == "model_missing" and bool(installed) and not self.pulling
        current = self.installed_combo.currentText()
        self.installed_combo.clear()
        self.installed_combo.addItems(installed)
        if current in installed:
            self.installed_combo.setCurrentText(current)
        self.installed_combo.setVisible(offer_installed)
        self.use_button.setVisible(offer_installed)
        self.pull_button.setVisible(view.state == "model_missing" and not self.pulling and ollama)
        # With a model to use right away, the download is the second choice.
        self.pull_button.setObjectName("" if offer_installed else "primary")
        self.pull_button.style().unpolish(self.pull_button)
        self.pull_button.style().polish(self.pull_button)
        return view.state in titles

    def pull_started(self) -> None:
        self.pull_button.hide()
        self.installed_combo.hide()
        self.use_button.hide()
        self.cancel_button.show()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText(tr("Starting the download…"))
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
