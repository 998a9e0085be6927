"""Settings: the engine's (model, host, limits — rows, labels, tooltips, ranges and choices all come
from the engine's declaration of each setting, sent with `settings.get`) and the app's own
(language, light or dark, background watching). The dialog edits copies; the main window sends
only what changed with `settings.update`, and the dialog closes once the engine accepted it, or
shows why not.

The host may be typed as `host:port`; it is completed to a URL as the engine completes
$OLLAMA_HOST. The model box offers the models the server at that host has, asked again whenever
the host changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop import setting_texts as texts
from desktop.errors import plain_error
from desktop.i18n import LANGUAGES, tr
from desktop.preferences import Preferences
from desktop.theme import APPEARANCES
from engine.settings import SettingField, Settings, SettingsSnapshot, normalize_host


class SecretEditor(QWidget):
    """A secret (the API key): the dialog never receives its value, only whether one is kept.
    Typing replaces it; "Remove" deletes it; untouched, nothing is sent."""

    def __init__(self, declared: SettingField) -> None:
        super().__init__()
        self.line = QLineEdit()
        self.line.setEchoMode(QLineEdit.EchoMode.Password)
        self.remove = QCheckBox(tr("Remove"))
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
            tr("kept in the keyring; type to replace") if stored else self._placeholder
        )

    def change(self) -> str | None:
        """The new value, "" to remove it, or None when the user left it alone."""
        if self.remove.isChecked():
            return ""
        text = self.line.text().strip()
        return text or None


Editor = QLineEdit | QSpinBox | QDoubleSpinBox | QComboBox | QPlainTextEdit | SecretEditor
HOST_CHECK_DELAY_MS = 600
MODEL_FIELD, HOST_FIELD = "model", "ollama_host"


def _editor(declared: SettingField) -> Editor:
    """The widget that edits one setting, bounded as the engine bounds it."""
    unit = f" {texts.unit(declared)}" if declared.unit else ""
    if declared.name == MODEL_FIELD:
        # Editable: a model not pulled yet can be typed; the ones the server has are listed.
        combo = QComboBox()
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        return combo
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
            combo.addItem(texts.choice(label), value)
        return combo
    if declared.kind == "text_list":
        lines = QPlainTextEdit()
        lines.setPlaceholderText(
            declared.placeholder or tr("One pattern per line, e.g.\n*.log\narchive/")
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
    elif isinstance(editor, QComboBox) and editor.isEditable():
        editor.setCurrentText(str(value))
    elif isinstance(editor, QComboBox):
        editor.setCurrentIndex(max(editor.findData(str(value)), 0))
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText("\n".join(value or []))
    else:
        editor.setText(str(value))


def _value(name: str, editor: Editor) -> Any:
    if isinstance(editor, SecretEditor):
        return editor.change()
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.value()
    if isinstance(editor, QComboBox) and editor.isEditable():
        return editor.currentText().strip()
    if isinstance(editor, QComboBox):
        return str(editor.currentData())
    if isinstance(editor, QPlainTextEdit):
        lines = (line.strip() for line in editor.toPlainText().splitlines())
        return [line for line in lines if line]
    text = editor.text().strip()
    if name == HOST_FIELD and text and "://" not in text:
        return normalize_host(text)  # "localhost:11434" works as $OLLAMA_HOST does
    return text.rstrip("/")


class SettingsDialog(QDialog):
    apply_requested = Signal(dict)  # only the changed engine settings
    preferences_changed = Signal(object)  # Preferences, when the app's own ones changed
    models_wanted = Signal(str)  # the host whose models the model box should offer

    def __init__(
        self,
        snapshot: SettingsSnapshot,
        parent: QWidget | None = None,
        *,
        models: Sequence[str] = (),
        preferences: Preferences | None = None,
        background_available: bool = True,
        autostart_available: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))
        self.setMinimumWidth(560)
        self._original = snapshot.values
        self._preferences = preferences or Preferences()
        self._secrets_set = set(snapshot.secrets_set)
        self.editors: dict[str, Editor] = {}
        engine_box = QGroupBox(tr("Search and answers"))
        form = QFormLayout(engine_box)
        form.setSpacing(8)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for declared in snapshot.fields:
            if not declared.editable:
                continue
            editor = _editor(declared)
            bounds = texts.bounds(declared)
            editor.setToolTip(texts.doc(declared) + (f" ({bounds})" if bounds else ""))
            editor.setAccessibleName(texts.label(declared))
            self.editors[declared.name] = editor
            form.addRow(texts.label(declared), editor)
            if declared.name == HOST_FIELD:
                self.host_status = QLabel()
                self.host_status.setObjectName("muted")
                self.host_status.setWordWrap(True)
                form.addRow("", self.host_status)
        self._build_preferences(background_available, autostart_available)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setObjectName("error")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(engine_box)
        layout.addWidget(self.app_box)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.load(snapshot.values)
        self.set_models(models)
        self._host_timer = QTimer(self)
        self._host_timer.setSingleShot(True)
        self._host_timer.setInterval(HOST_CHECK_DELAY_MS)
        self._host_timer.timeout.connect(self._ask_for_models)
        host = self.editors.get(HOST_FIELD)
        if isinstance(host, QLineEdit):
            host.textEdited.connect(lambda _text: self._host_timer.start())

    def _build_preferences(self, background: bool, autostart: bool) -> None:
        self.app_box = QGroupBox(tr("This app"))
        form = QFormLayout(self.app_box)
        form.setSpacing(8)
        self.language_combo = QComboBox()
        for value, label in LANGUAGES:
            self.language_combo.addItem(tr(label) if value == "system" else label, value)
        self.language_combo.setAccessibleName(tr("Language"))
        self.language_note = QLabel(tr("A new language shows the next time Needle starts."))
        self.language_note.setObjectName("muted")
        self.language_note.hide()
        self.language_combo.currentIndexChanged.connect(
            lambda _i: self.language_note.setVisible(
                self.language_combo.currentData() != self._preferences.language
            )
        )
        self.appearance_combo = QComboBox()
        for value, label in APPEARANCES:
            self.appearance_combo.addItem(tr(label), value)
        self.appearance_combo.setAccessibleName(tr("Appearance"))
        self.keep_watching = QCheckBox(tr("Keep Needle watching in the background"))
        self.keep_watching.setToolTip(
            tr(
                "Closing the window leaves Needle in the system tray, indexing edits as they "
                "happen. Quit it from the tray icon or File → Quit."
            )
        )
        if not background:
            self.keep_watching.setEnabled(False)
            self.keep_watching.setToolTip(tr("Your desktop has no system tray for Needle's icon."))
        self.start_at_login = QCheckBox(tr("Start Needle in the background when I log in"))
        self.start_at_login.setEnabled(autostart)
        form.addRow(tr("Language"), self.language_combo)
        form.addRow("", self.language_note)
        form.addRow(tr("Appearance"), self.appearance_combo)
        form.addRow("", self.keep_watching)
        form.addRow("", self.start_at_login)
        prefs = self._preferences
        self.language_combo.setCurrentIndex(max(self.language_combo.findData(prefs.language), 0))
        self.appearance_combo.setCurrentIndex(
            max(self.appearance_combo.findData(prefs.appearance), 0)
        )
        self.keep_watching.setChecked(prefs.keep_watching and background)
        self.start_at_login.setChecked(prefs.start_at_login and autostart)

    # -- values --------------------------------------------------------------------------------

    def editor(self, name: str) -> Editor:
        return self.editors[name]

    def load(self, settings: Settings) -> None:
        for name, editor in self.editors.items():
            if isinstance(editor, SecretEditor):
                _set_value(editor, name in self._secrets_set)
            else:
                _set_value(editor, getattr(settings, name))

    def values(self) -> dict[str, Any]:
        return {name: _value(name, editor) for name, editor in self.editors.items()}

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

    def preferences(self) -> Preferences:
        return Preferences(
            language=str(self.language_combo.currentData()),
            appearance=str(self.appearance_combo.currentData()),
            keep_watching=self.keep_watching.isChecked(),
            start_at_login=self.start_at_login.isChecked(),
        )

    def local_problems(self) -> list[str]:
        """The engine's own rules for each value (engine/settings.py), checked before a round
        trip; the engine checks everything again, ignore patterns included."""
        return Settings.from_dict({**self._original.to_dict(), **self.values()}).problems()

    # -- the model box -------------------------------------------------------------------------

    def host(self) -> str:
        editor = self.editors.get(HOST_FIELD)
        return _value(HOST_FIELD, editor) if editor is not None else ""

    def _ask_for_models(self) -> None:
        host = self.host()
        if host:
            self.host_status.setText(tr("Asking {host} for its models…").format(host=host))
            self.models_wanted.emit(host)

    def set_models(self, models: Sequence[str]) -> None:
        """The models the server has, offered in the model box (what is typed stays)."""
        model = self.editors.get(MODEL_FIELD)
        if not isinstance(model, QComboBox):
            return
        typed = model.currentText()
        model.blockSignals(True)
        model.clear()
        model.addItems(list(models))
        model.setCurrentText(typed)
        model.blockSignals(False)
        if models:
            model.setToolTip(tr("On the server: {models}").format(models=", ".join(models)))

    def show_host_state(self, host: str, state: Mapping[str, Any]) -> None:
        """What the server at `host` said (ignored when the host was edited since)."""
        if host != self.host():
            return
        models = [str(m) for m in state.get("models") or ()]
        if state.get("state") in ("ready", "model_missing"):
            self.set_models(models)
            text = (
                tr("Ollama answers here; it has no models yet.")
                if not models
                else tr("Ollama answers here with 1 model.")
                if len(models) == 1
                else tr("Ollama answers here with {n} models.").format(n=len(models))
            )
        else:
            text = tr("No Ollama answers at this host.")
        self.host_status.setText(text)

    # -- saving --------------------------------------------------------------------------------

    def save(self) -> None:
        problems = self.local_problems()
        if problems:
            self.show_problem(" ".join(problems))
            return
        if self.preferences() != self._preferences:
            self._preferences = self.preferences()
            self.preferences_changed.emit(self._preferences)
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
