"""The status bar: indexing progress, the state of Ollama, and the model in use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from desktop.rich_text import file_name, format_count
from desktop.theme import COLORS


@dataclass(frozen=True)
class OllamaView:
    """How an `ollama.status` result or `ollama` notification reads in the UI."""

    state: str  # ready | not_running | model_missing | error | unknown
    label: str
    color: str
    message: str
    hint: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def ollama_view(data: Mapping[str, Any] | None) -> OllamaView:
    if not data:
        return OllamaView("unknown", "Ollama: checking…", COLORS.muted, "", "")
    error = data.get("error")
    if isinstance(error, Mapping):
        return OllamaView(
            "error",
            "Ollama: error",
            COLORS.bad,
            str(error.get("message", "")),
            str(error.get("hint", "")),
        )
    state = str(data.get("state", "unknown"))
    server = "Model server" if data.get("backend") == "openai" else "Ollama"
    labels = {
        "ready": (f"{server} connected", COLORS.good),
        "not_running": (f"{server} not running", COLORS.bad),
        "model_missing": ("Model missing", COLORS.warn),
        "error": (f"{server}: error", COLORS.bad),
    }
    label, color = labels.get(state, (f"{server}: checking…", COLORS.muted))
    return OllamaView(state, label, color, str(data.get("message", "")), str(data.get("hint", "")))


def index_progress_text(progress: Mapping[str, Any]) -> str:
    """One line for an IndexProgress dict: "Indexing 120/480 · notes.md"."""
    phase = str(progress.get("phase", ""))
    done = int(progress.get("done", 0))
    total = int(progress.get("total", 0))
    errors = int(progress.get("errors", 0))
    current = str(progress.get("current", ""))
    if phase == "scanning":
        text = (
            f"Scanning folders… {format_count(done)} files found" if done else "Scanning folders…"
        )
    elif phase == "committing":
        text = "Saving the index…"
    elif phase == "done":
        text = "Index up to date"
    else:
        text = f"Indexing {format_count(done)}/{format_count(total)}"
        if current:
            text += f" · {file_name(current)}"
    if errors:
        text += f" · {errors} problem{'s' if errors != 1 else ''}"
    return text


class NeedleStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.index_label = QLabel("Starting the engine…")
        self.index_bar = QProgressBar()
        self.index_bar.setFixedWidth(140)
        self.index_bar.setTextVisible(False)
        self.index_bar.hide()
        self.ollama_label = QLabel()
        self.model_label = QLabel()
        self.model_label.setObjectName("muted")
        self.addWidget(self.index_label)
        self.addWidget(self.index_bar)
        self.addPermanentWidget(self.ollama_label)
        self.addPermanentWidget(self.model_label)
        self.set_ollama(None)

    def set_engine_text(self, text: str) -> None:
        self.index_label.setText(text)

    def set_index_progress(self, progress: Mapping[str, Any]) -> None:
        self.index_label.setText(index_progress_text(progress))
        phase = progress.get("phase")
        total = int(progress.get("total", 0))
        if phase in ("indexing", "scanning", "committing") and (total or phase != "indexing"):
            self.index_bar.setRange(0, total if phase == "indexing" else 0)  # 0: busy indicator
            if phase == "indexing":
                self.index_bar.setValue(int(progress.get("done", 0)))
            self.index_bar.show()
        else:
            self.index_bar.hide()

    def set_index_summary(self, files: int, chunks: int, problems: int) -> None:
        self.index_bar.hide()
        text = f"{format_count(files)} files · {format_count(chunks)} chunks indexed"
        if problems:
            text += f" · {problems} problem{'s' if problems != 1 else ''}"
        self.index_label.setText(text)

    def set_ollama(self, data: Mapping[str, Any] | None) -> OllamaView:
        view = ollama_view(data)
        self.ollama_label.setText(f'<span style="color:{view.color};">●</span> {view.label}')
        tooltip = view.message + (f"\n{view.hint}" if view.hint else "")
        self.ollama_label.setToolTip(tooltip)
        return view

    def set_model(self, model: str) -> None:
        self.model_label.setText(model)
        self.model_label.setToolTip(f"Answers come from the local model {model}")
