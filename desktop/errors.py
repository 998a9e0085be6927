"""How engine errors reach people. Errors cross the process boundary as data {kind, message, hint};
`show_error` is the one place that turns such data into a message box, so every failure reads the
same way: a plain title, what happened, and what to do about it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)

# Titles for the kinds people meet most; anything else gets a title made from its kind.
_TITLES: dict[str, str] = {
    "ollama_not_running": "Ollama is not running",
    "ollama_unreachable": "Ollama is not running",
    "not_running": "Ollama is not running",
    "model_missing": "The model is not installed",
    "model_not_found": "The model is not installed",
    "ollama": "The language model failed",
    "timeout": "The language model took too long",
    "writer_locked": "Another Needle is already running",
    "locked": "Another Needle is already running",
    "engine_lost": "The search engine stopped",
    "engine_failed": "The search engine could not start",
    "protocol": "The app and its engine disagree",
    "protocol_mismatch": "The app and its engine are different versions",
    "bad_request": "The request was not understood",
    "unknown_method": "The request was not understood",
    "invalid_settings": "Some settings are not valid",
    "settings": "Some settings are not valid",
    "not_found": "Not found",
    "folder_missing": "The folder does not exist",
    "not_a_folder": "That is not a folder",
    "not_a_directory": "That is not a folder",
    "already_watched": "That folder is already watched",
    "folder_exists": "That folder is already watched",
    "folder_overlap": "That folder overlaps one already watched",
    "folder_unreadable": "The folder cannot be read",
    "folder_unknown": "That folder is not watched",
    "no_folders": "No folders are watched yet",
    "scope_missing": "The chosen scope is not indexed",
    "bad_scope": "The chosen scope is not valid",
    "bad_level": "That level does not exist",
    "empty_question": "The question is empty",
    "prompt_too_large": "The question does not fit the model's window",
    "ollama_error": "The language model failed",
    "bad_reply": "The language model gave an unusable reply",
    "connection_lost": "The connection to Ollama was lost",
    "pull_failed": "The model could not be downloaded",
    "read_only": "Another Needle is updating the index",
    "index_missing": "There is no index yet",
    "data_dir_unusable": "The data folder cannot be used",
    "settings_corrupt": "The settings file is damaged",
    "settings_unreadable": "The settings file cannot be read",
    "bad_setting": "A setting is not valid",
    "invalid_argument": "The request was not valid",
    "engine_restarted": "The search engine restarted",
    "engine_unavailable": "The search engine is not running",
    "engine_closed": "The search engine is closing",
    "query": "The search could not be read",
    "bad_query": "The search could not be read",
    "index_corrupt": "The index is damaged",
    "disk_full": "The disk is full",
    "encrypted": "The PDF is encrypted",
    "corrupt": "The file is damaged",
    "too_large": "The file is too large",
    "not_text": "The file is not text",
    "unreadable": "The file cannot be read",
    "no_text": "The PDF has no extractable text",
    "internal": "Something went wrong inside Needle",
}

# Kinds that are the user's own doing or expected outcomes: no dialog for them.
SILENT_KINDS = frozenset({"cancelled", "superseded"})


@dataclass(frozen=True)
class PlainError:
    kind: str
    title: str
    message: str
    hint: str

    def as_text(self) -> str:
        lines = [self.title, self.message]
        if self.hint:
            lines.append(f"What to do: {self.hint}")
        return "\n".join(line for line in lines if line)


def plain_error(error: Mapping[str, Any] | BaseException | str) -> PlainError:
    """Any error shape the client may hand us, as title, message and hint in plain language."""
    data = _as_mapping(error)
    kind = str(data.get("kind") or "error")
    message = str(data.get("message") or "").strip()
    hint = str(data.get("hint") or "").strip()
    title = _TITLES.get(kind) or kind.replace("_", " ").strip().capitalize() or "Error"
    if not message:
        message = "Needle could not finish what you asked."
    if title.lower() == message.lower().rstrip("."):
        title = "Something went wrong" if kind == "error" else title
    return PlainError(kind=kind, title=title, message=message, hint=hint)


def _as_mapping(error: Mapping[str, Any] | BaseException | str) -> Mapping[str, Any]:
    if isinstance(error, Mapping):
        return error
    if isinstance(error, BaseException):
        return {
            "kind": getattr(error, "kind", "internal"),
            "message": getattr(error, "message", None) or str(error),
            "hint": getattr(error, "hint", ""),
        }
    return {"kind": "error", "message": str(error)}


def show_error(
    error: Mapping[str, Any] | BaseException | str, parent: QWidget | None = None
) -> QMessageBox | None:
    """Show an engine error to the user. Non-blocking (the box opens window-modal and returns at
    once) so the UI thread keeps serving engine events. Returns the box, or None when the error is
    one people should not be bothered with (their own cancellation)."""
    plain = plain_error(error)
    log.warning("engine error %s: %s (%s)", plain.kind, plain.message, plain.hint)
    if plain.kind in SILENT_KINDS:
        return None
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Needle")
    box.setText(plain.title)
    box.setInformativeText(plain.message + (f"\n\nWhat to do: {plain.hint}" if plain.hint else ""))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setObjectName(f"error:{plain.kind}")
    box.open()
    return box
