"""Settings the engine keeps (Ollama host, model, context window, parallel requests, read budget,
default level, ignore patterns). The dialog edits a copy; the main window sends only what changed
with `settings.update`, and the dialog closes once the engine accepted it, or shows why not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import plain_error
from desktop.query_bar import LEVELS
from desktop.theme import COLORS

EDITED_KEYS = (
    "ollama_host",
    "model",
    "context_window",
    "parallel_requests",
    "read_budget",
    "default_level",
    "ignore_patterns",
)


def local_problems(values: Mapping[str, Any]) -> list[str]:
    """Mistakes worth catching before a round trip; the engine validates everything again."""
    problems = []
    host = str(values.get("ollama_host", ""))
    if not host.startswith(("http://", "https://")):
        problems.append("The Ollama host must start with http:// or https://.")
    if not str(values.get("model", "")).strip():
        problems.append("Name the model to use, for example qwen2:7b-instruct.")
    return problems


def _spin(minimum: int, maximum: int, step: int, suffix: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setGroupSeparatorShown(True)
    return spin


class SettingsDialog(QDialog):
    apply_requested = Signal(dict)  # only the changed settings

    def __init__(
        self,
        settings: Mapping[str, Any],
        parent: QWidget | None = None,
        *,
        models: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._original = dict(settings)
        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText("http://127.0.0.1:11434")
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("qwen2:7b-instruct")
        if models:
            # The models Ollama already has, offered as the user types.
            completer = QCompleter(list(models), self.model_edit)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.model_edit.setCompleter(completer)
            self.model_edit.setToolTip("Pulled: " + ", ".join(models))
        self.context_spin = _spin(2048, 131072, 1024, " tokens")
        self.parallel_spin = _spin(1, 32, 1, "")
        self.budget_spin = _spin(1, 100_000, 50, " chunks")
        self.level_combo = QComboBox()
        for value, label in LEVELS:
            self.level_combo.addItem(label, value)
        self.ignore_edit = QPlainTextEdit()
        self.ignore_edit.setPlaceholderText("One pattern per line, e.g.\n*.log\narchive/")
        self.ignore_edit.setFixedHeight(96)
        form = QFormLayout()
        form.setSpacing(8)
        form.addRow("Ollama host", self.host_edit)
        form.addRow("Model", self.model_edit)
        form.addRow("Context window", self.context_spin)
        form.addRow("Parallel requests", self.parallel_spin)
        form.addRow("Read budget (Level 2)", self.budget_spin)
        form.addRow("Default level", self.level_combo)
        form.addRow("Ignore patterns", self.ignore_edit)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {COLORS.bad};")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.load(settings)

    def load(self, settings: Mapping[str, Any]) -> None:
        self.host_edit.setText(str(settings.get("ollama_host", "")))
        self.model_edit.setText(str(settings.get("model", "")))
        self.context_spin.setValue(int(settings.get("context_window", 8192)))
        self.parallel_spin.setValue(int(settings.get("parallel_requests", 4)))
        self.budget_spin.setValue(int(settings.get("read_budget", 300)))
        index = self.level_combo.findData(str(settings.get("default_level", "auto")))
        self.level_combo.setCurrentIndex(max(index, 0))
        self.ignore_edit.setPlainText("\n".join(settings.get("ignore_patterns") or []))

    def values(self) -> dict[str, Any]:
        patterns = [line.strip() for line in self.ignore_edit.toPlainText().splitlines()]
        return {
            "ollama_host": self.host_edit.text().strip().rstrip("/"),
            "model": self.model_edit.text().strip(),
            "context_window": self.context_spin.value(),
            "parallel_requests": self.parallel_spin.value(),
            "read_budget": self.budget_spin.value(),
            "default_level": str(self.level_combo.currentData()),
            "ignore_patterns": [p for p in patterns if p],
        }

    def changes(self) -> dict[str, Any]:
        return {
            key: value for key, value in self.values().items() if self._original.get(key) != value
        }

    def save(self) -> None:
        problems = local_problems(self.values())
        if problems:
            self.show_problem(" ".join(problems))
            return
        changes = self.changes()
        if not changes:
            self.accept()
            return
        self.buttons.setEnabled(False)
        self.apply_requested.emit(changes)

    def saved(self, settings: Mapping[str, Any]) -> None:
        """The engine accepted the changes."""
        self._original = dict(settings)
        self.buttons.setEnabled(True)
        self.accept()

    def show_problem(self, error: Mapping[str, Any] | BaseException | str) -> None:
        """The engine (or the local check) refused: say why and keep the dialog open."""
        self.buttons.setEnabled(True)
        plain = plain_error(error) if not isinstance(error, str) else None
        text = error if plain is None else plain.message + (f" {plain.hint}" if plain.hint else "")
        self.error_label.setText(str(text))
        self.error_label.show()
