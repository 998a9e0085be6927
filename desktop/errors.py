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

from engine.errors import ErrorKind

log = logging.getLogger(__name__)

# A title for every kind of error (tests/test_errors.py checks none is missing).
TITLES: dict[ErrorKind, str] = {
    # The request was wrong
    ErrorKind.INVALID_ARGUMENT: "The request was not valid",
    ErrorKind.INVALID_SETTINGS: "Some settings are not valid",
    ErrorKind.BAD_SETTING: "A setting is not valid",
    ErrorKind.INVALID_IGNORE_PATTERN: "An ignore pattern is not valid",
    ErrorKind.FOLDER_MISSING: "The folder does not exist",
    ErrorKind.NOT_A_DIRECTORY: "That is not a folder",
    ErrorKind.FOLDER_UNREADABLE: "The folder cannot be read",
    ErrorKind.FOLDER_EXISTS: "That folder is already watched",
    ErrorKind.FOLDER_OVERLAP: "That folder overlaps one already watched",
    ErrorKind.FOLDER_UNKNOWN: "That folder is not watched",
    ErrorKind.NO_FOLDERS: "No folders are watched yet",
    ErrorKind.SCOPE_MISSING: "The chosen scope is not indexed",
    ErrorKind.SCOPE_EMPTY: "The chosen scope holds no indexed text",
    ErrorKind.BAD_QUERY: "The search could not be read",
    ErrorKind.BAD_LEVEL: "That level does not exist",
    ErrorKind.BAD_PARSE_MODE: "That way of reading the question does not exist",
    ErrorKind.EMPTY_QUESTION: "The question is empty",
    ErrorKind.QUESTION_TOO_LONG: "The question is too long",
    ErrorKind.READ_ONLY: "Another Needle is updating the index",
    # The library
    ErrorKind.DATA_DIR_UNUSABLE: "The data folder cannot be used",
    ErrorKind.SETTINGS_CORRUPT: "The settings file is damaged",
    ErrorKind.SETTINGS_UNREADABLE: "The settings file cannot be read",
    ErrorKind.CATALOG_CLOSED: "The library is closed",
    ErrorKind.CATALOG_CORRUPT: "The library's catalog is damaged",
    ErrorKind.CATALOG_TOO_NEW: "The library was made by a newer Needle",
    ErrorKind.INDEX_MISSING: "There is no index yet",
    ErrorKind.INDEX_OUTDATED: "The index was built by another version",
    ErrorKind.INDEX_CORRUPT: "The index is damaged",
    ErrorKind.WRITER_LOCKED: "Another Needle is already running",
    ErrorKind.ENGINE_CLOSED: "The search engine is closing",
    ErrorKind.CACHE_UNUSABLE: "The answer cache cannot be used",
    # One file
    ErrorKind.ENCRYPTED: "The PDF is encrypted",
    ErrorKind.CORRUPT: "The file is damaged",
    ErrorKind.TOO_LARGE: "The file is too large",
    ErrorKind.NOT_TEXT: "The file is not text",
    ErrorKind.UNREADABLE: "The file cannot be read",
    ErrorKind.VANISHED: "The file is gone",
    ErrorKind.NO_TEXT: "The PDF has no extractable text",
    ErrorKind.PARTIAL: "Part of the file could not be read",
    ErrorKind.UNSUPPORTED: "That kind of file is not supported",
    ErrorKind.SYMLINK_LOOP: "The link points at itself",
    # The model server
    ErrorKind.OLLAMA_UNREACHABLE: "The model server is not running",
    ErrorKind.MODEL_MISSING: "The model is not installed",
    ErrorKind.AUTH_FAILED: "The model server refused the API key",
    ErrorKind.TOOLS_UNSUPPORTED: "The model cannot use tools",
    ErrorKind.TIMEOUT: "The language model took too long",
    ErrorKind.CONNECTION_LOST: "The connection to the model server was lost",
    ErrorKind.BAD_REPLY: "The language model gave an unusable reply",
    ErrorKind.OLLAMA_ERROR: "The language model failed",
    ErrorKind.PULL_FAILED: "The model could not be downloaded",
    ErrorKind.PROMPT_TOO_LARGE: "The question does not fit the model's window",
    ErrorKind.AGENT_FAILED: "The answer could not be produced",
    # The protocol and the engine process
    ErrorKind.BAD_REQUEST: "The request was not understood",
    ErrorKind.UNKNOWN_METHOD: "The request was not understood",
    ErrorKind.PROTOCOL_MISMATCH: "The app and its engine are different versions",
    ErrorKind.HANDSHAKE_REQUIRED: "The app and its engine disagree",
    ErrorKind.ENGINE_RESTARTED: "The search engine restarted",
    ErrorKind.ENGINE_UNAVAILABLE: "The search engine is not running",
    ErrorKind.ENGINE_LOST: "The search engine stopped",
    ErrorKind.ENGINE_FAILED: "The search engine could not start",
    ErrorKind.OPEN_FAILED: "The file could not be opened",
    # Not failures of the work
    ErrorKind.CANCELLED: "Stopped",
    ErrorKind.INTERNAL: "Something went wrong inside Needle",
}

# Kinds that are the user's own doing: no dialog for them.
SILENT_KINDS = frozenset({ErrorKind.CANCELLED})


@dataclass(frozen=True)
class PlainError:
    kind: ErrorKind
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
    sent = str(data.get("kind") or ErrorKind.INTERNAL)
    kind = ErrorKind.parse(sent)
    # A kind this version does not know (from a newer engine) still gets a readable title.
    title = TITLES[kind] if kind == sent else sent.replace("_", " ").strip().capitalize()
    message = str(data.get("message") or "").strip()
    hint = str(data.get("hint") or "").strip()
    if not message:
        message = "Needle could not finish what you asked."
    return PlainError(kind=kind, title=title, message=message, hint=hint)


def _as_mapping(error: Mapping[str, Any] | BaseException | str) -> Mapping[str, Any]:
    if isinstance(error, Mapping):
        return error
    if isinstance(error, BaseException):
        return {
            "kind": getattr(error, "kind", ErrorKind.INTERNAL),
            "message": getattr(error, "message", None) or str(error),
            "hint": getattr(error, "hint", ""),
        }
    return {"kind": ErrorKind.INTERNAL, "message": str(error)}


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
