"""The status bar: what is being done right now (adding a folder, checking the setup — each shown
exactly as long as it runs), indexing progress, the library's size, the state of Ollama and the
model in use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from desktop.i18n import tr
from desktop.rich_text import escape, file_name, format_count
from desktop.theme import colors, theme_events
from engine.models import ocr_activity


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
    c = colors()
    if not data:
        return OllamaView("unknown", tr("Ollama: checking…"), c.muted, "", "")
    error = data.get("error")
    if isinstance(error, Mapping):
        return OllamaView(
            "error",
            tr("Ollama: error"),
            c.bad,
            str(error.get("message", "")),
            str(error.get("hint", "")),
        )
    state = str(data.get("state", "unknown"))
    openai = data.get("backend") == "openai"
    labels = {
        "ready": (tr("Model server connected") if openai else tr("Ollama connected"), c.good),
        "not_running": (
            tr("Model server not running") if openai else tr("Ollama not running"),
            c.bad,
        ),
        "model_missing": (tr("Model missing"), c.warn),
        "error": (tr("Model server: error") if openai else tr("Ollama: error"), c.bad),
    }
    checking = tr("Model server: checking…") if openai else tr("Ollama: checking…")
    label, color = labels.get(state, (checking, c.muted))
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
            tr("Scanning folders… {n} files found").format(n=format_count(done))
            if done
            else tr("Scanning folders…")
        )
    elif phase == "committing":
        text = tr("Saving the index…")
    elif phase == "done":
        text = tr("Index up to date")
    else:
        text = tr("Indexing {done}/{total}").format(
            done=format_count(done), total=format_count(total)
        )
        if current:
            text += f" · {file_name(current)}"
        activity = ocr_activity(int(progress.get("ocr_page", 0)), int(progress.get("ocr_pages", 0)))
        if activity:
            text += f" · {activity}"
    if errors:
        text += " · " + (tr("1 problem") if errors == 1 else tr("{n} problems").format(n=errors))
    return text


def summary_text(files: int, chunks: int, problems: int) -> str:
    text = tr("{files} files · {chunks} passages indexed").format(
        files=format_count(files), chunks=format_count(chunks)
    )
    if problems:
        text += " · " + (
            tr("1 problem") if problems == 1 else tr("{n} problems").format(n=problems)
        )
    return text


class NeedleStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._activities: dict[str, str] = {}
        self._index_text = tr("Starting the engine…")
        self._ollama: Mapping[str, Any] | None = None
        self.activity_label = QLabel()
        self.activity_label.setAccessibleName(tr("Current activity"))
        self.activity_label.hide()
        self.index_label = QLabel(self._index_text)
        self.index_label.setAccessibleName(tr("Library"))
        self.index_bar = QProgressBar()
        self.index_bar.setFixedWidth(140)
        self.index_bar.setTextVisible(False)
        self.index_bar.setAccessibleName(tr("Indexing progress"))
        self.index_bar.hide()
        self.ollama_label = QLabel()
        self.model_label = QLabel()
        self.model_label.setObjectName("muted")
        self.addWidget(self.activity_label)
        self.addWidget(self.index_label)
        self.addWidget(self.index_bar)
        self.addPermanentWidget(self.ollama_label)
        self.addPermanentWidget(self.model_label)
        self.set_ollama(None)
        theme_events().changed.connect(lambda: self.set_ollama(self._ollama))

    # -- activities: shown while they run, gone when they end ---------------------------------

    def begin(self, key: str, text: str) -> None:
        self._activities[key] = text
        self._show_activities()

    def end(self, key: str) -> None:
        self._activities.pop(key, None)
        self._show_activities()

    @property
    def activities(self) -> list[str]:
        return list(self._activities.values())

    def _show_activities(self) -> None:
        text = " · ".join(self._activities.values())
        self.activity_label.setText(text)
        self.activity_label.setVisible(bool(text))

    # -- the library and indexing --------------------------------------------------------------

    def set_engine_text(self, text: str) -> None:
        self._index_text = text
        self.index_label.setText(text)

    def set_index_progress(self, progress: Mapping[str, Any]) -> None:
        self.set_engine_text(index_progress_text(progress))
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
        self.set_engine_text(summary_text(files, chunks, problems))

    # -- the model server ----------------------------------------------------------------------

    def set_ollama(self, data: Mapping[str, Any] | None) -> OllamaView:
        self._ollama = data
        view = ollama_view(data)
        self.ollama_label.setText(
            f'<span style="color:{view.color};">●</span> {escape(view.label)}'
        )
        tooltip = view.message + (f"\n{view.hint}" if view.hint else "")
        self.ollama_label.setToolTip(tooltip)
        self.ollama_label.setAccessibleName(tr("Model server: {state}").format(state=view.label))
        self.ollama_label.setAccessibleDescription(view.message)
        return view

    def set_model(self, model: str) -> None:
        self.model_label.setText(model)
        self.model_label.setToolTip(
            tr("Answers come from the local model {model}").format(model=model)
        )
        self.model_label.setAccessibleName(tr("Model: {model}").format(model=model))
