"""Settings the engine keeps. The rows, their labels, tooltips, ranges and choices all come from
the engine's declaration of each setting (`settings.get` sends it beside the values), so the
dialog shows exactly what the engine accepts. The dialog edits a copy; the main window sends only
what changed with `settings.update`, and the dialog closes once the engine accepted it, or shows
why not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import plain_error
from desktop.theme import COLORS
from engine.settings import SettingField, Settings, SettingsSnapshot


class SecretEditor(QWidget):
    """A secret (the API key): the dialog never receives its value, only whether one is kept.
    Typing replaces it; "Remove" deletes it; untouched, nothing is sent."""

    def __init__(self, declared: SettingField) -> None:
        super().__init__()
        self.line = QLineEdit()
        self.line.setEchoMode(QLineEdit.EchoMode.Password)
        self.remove = QCheckBox("Remove")
        self.remove.toggled.connect(lambda checked: self.line.setEnabled(not checked))
        self._placeholder = declared.placeholder
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.remove)
        self.set_stored(False)

    def set_stored(self, stored: bool) -> None:
        self.line.clear()
        self.remove.setChecked(False)
        self.remove.setVisible(stored)
        self.line.setPlaceholderText(
            "kept in the keyring; type to replace" if stored else self._placeholder
        )

    def change(self) -> str | None:
        """The new value, "" to remove it, or None when the user left it alone."""
        if self.remove.isChecked():
            return ""
        text = self.line.text().strip()
        return text or None


Editor = QLineEdit | QSpinBox | QDoubleSpinBox | QComboBox | QPlainTextEdit | SecretEditor


def _editor(declared: SettingField) -> Editor:
    """The widget that edits one setting, bounded as the engine bounds it."""
    unit = f" {declared.unit}" if declared.unit else ""
    if declared.kind == "int":
        spin = QSpinBox()
        spin.setRange(int(declared.minimum or 0), int(declared.maximum or 2**31 - 1))
        spin.setSingleStep(int(declared.step or 1))
        spin.setSuffix(unit)
        spin.setGroupSeparatorShown(True)
        return spin
    if declared.kind == "float":
        number = QDoubleSpinBox()
        number.setDecimals(1)
        low = declared.minimum or 0.0
        number.setRange(low + 0.1 if declared.above else low, declared.maximum or 1e9)
        number.setSingleStep(declared.step or 1.0)
        number.setSuffix(unit)
        number.setGroupSeparatorShown(True)
        return number
    if declared.kind == "choice":
        combo = QComboBox()
        for value, label in declared.choices:
            combo.addItem(label, value)
        return combo
    if declared.kind == "text_list":
        lines = QPlainTextEdit()
        lines.setPlaceholderText(
            declared.placeholder or "One pattern per line, e.g.\n*.log\narchive/"
        )
        lines.setFixedHeight(96)
        return lines
    if declared.kind == "secret":
        return SecretEditor(declared)
    line = QLineEdit()
    line.setPlaceholderText(declared.placeholder or str(declared.default))
    return line


def _set_value(editor: Editor, value: Any) -> None:
    if isinstance(editor, SecretEditor):
        editor.set_stored(bool(value))
    elif isinstance(editor, QSpinBox):
        editor.setValue(int(value))
    elif isinstance(editor, QDoubleSpinBox):
        editor.setValue(float(value))
    elif isinstance(editor, QComboBox):
        editor.setCurrentIndex(max(editor.findData(str(value)), 0))
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText("\n".join(value or []))
    else:
        editor.setText(str(value))


def _value(editor: Editor) -> Any:
    if isinstance(editor, SecretEditor):
        return editor.change()
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.value()
    if isinstance(editor, QComboBox):
        return str(editor.currentData())
    if isinstance(editor, QPlainTextEdit):
        lines = (line.strip() for line in editor.toPlainText().splitlines())
        return [line for line in lines if line]
    return editor.text().strip().rstrip("/")


class SettingsDialog(QDialog):
    apply_requested = Signal(dict)  # only the changed settings

    def __init__(
        self,
        snapshot: SettingsSnapshot,
        parent: QWidget | None = None,
        *,
        models: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._original = snapshot.values
        self._secrets_set = set(snapshot.secrets_set)
        self.editors: dict[str, Editor] = {}
        form = QFormLayout()
        form.setSpacing(8)
        for declared in snapshot.fields:
            if not declared.editable:
                continue
            editor = _editor(declared)
            bounds = declared.bounds_text()
            editor.setToolTip(declared.doc + (f" ({bounds})" if bounds else ""))
            self.editors[declared.name] = editor
            form.addRow(declared.label, editor)
        model = self.editors.get("model")
        if models and isinstance(model, QLineEdit):
            # The models Ollama already has, offered as the user types.
            completer = QCompleter(list(models), model)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            model.setCompleter(completer)
            model.setToolTip("Pulled: " + ", ".join(models))
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
        self.load(snapshot.values)

    def editor(self, name: str) -> Editor:
        return self.editors[name]

    def load(self, settings: Settings) -> None:
        for name, editor in self.editors.items():
            if isinstance(editor, SecretEditor):
                _set_value(editor, name in self._secrets_set)
            else:
                _set_value(editor, getattr(settings, name))

    def values(self) -> dict[str, Any]:
        return {name: _value(editor) for name, editor in self.editors.items()}

    def changes(self) -> dict[str, Any]:
        original = self._original.to_dict()
        changed = {}
        for key, value in self.values().items():
            if isinstance(self.editors[key], SecretEditor):
                if value is not None:
                    changed[key] = value
            elif original.get(key) != value:
                changed[key] = value
        return changed

    def local_problems(self) -> list[str]:
        """The engine's own rules for each value (engine/settings.py), checked before a round
        trip; the engine checks everything again, ignore patterns included."""
        return Settings.from_dict({**self._original.to_dict(), **self.values()}).problems()

    def save(self) -> None:
        problems = self.local_problems()
        if problems:
            self.show_problem(" ".join(problems))
            return
        changes = self.changes()
        if not changes:
            self.accept()
            return
        self.buttons.setEnabled(False)
        self.apply_requested.emit(changes)

    def saved(self, snapshot: SettingsSnapshot) -> None:
        """The engine accepted the changes."""
        self._original = snapshot.values
        self._secrets_set = set(snapshot.secrets_set)
        self.buttons.setEnabled(True)
        self.accept()

    def show_problem(self, error: Mapping[str, Any] | BaseException | str) -> None:
        """The engine (or the local check) refused: say why and keep the dialog open."""
        self.buttons.setEnabled(True)
        plain = plain_error(error) if not isinstance(error, str) else None
        text = error if plain is None else plain.message + (f" {plain.hint}" if plain.hint else "")
        self.error_label.setText(str(text))
        self.error_label.show()
