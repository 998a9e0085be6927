"""How engine errors reach people. Errors cross the process boundary as data {kind, message, hint};
`plain_error` turns them into the app's own words — a title for the kind, what happened, and what
to do *in the app* — and `show_error` is the one place that puts one in a message box.

The engine's hints are written for the command line ("run `needle index`"); where a kind needs
something else in the app, `APP_HINTS` says it, and any other hint loses the sentences that name
a command. No internal kind name, raw backtick or shell command reaches the window."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.i18n import QT_TR_NOOP, tr
from engine.errors import ErrorKind

log = logging.getLogger(__name__)

# A title for every kind of error (tests/test_errors.py checks none is missing).
TITLES: dict[ErrorKind, str] = {
    # The request was wrong
    ErrorKind.INVALID_ARGUMENT: QT_TR_NOOP("The request was not valid"),
    ErrorKind.INVALID_SETTINGS: QT_TR_NOOP("Some settings are not valid"),
    ErrorKind.BAD_SETTING: QT_TR_NOOP("A setting is not valid"),
    ErrorKind.INVALID_IGNORE_PATTERN: QT_TR_NOOP("An ignore pattern is not valid"),
    ErrorKind.FOLDER_MISSING: QT_TR_NOOP("The folder does not exist"),
    ErrorKind.NOT_A_DIRECTORY: QT_TR_NOOP("That is not a folder"),
    ErrorKind.FOLDER_UNREADABLE: QT_TR_NOOP("The folder cannot be read"),
    ErrorKind.FOLDER_EXISTS: QT_TR_NOOP("That folder is already watched"),
    ErrorKind.FOLDER_OVERLAP: QT_TR_NOOP("That folder overlaps one already watched"),
    ErrorKind.FOLDER_UNKNOWN: QT_TR_NOOP("That folder is not watched"),
    ErrorKind.SYSTEM_FOLDER: QT_TR_NOOP("That folder belongs to the system"),
    ErrorKind.NO_FOLDERS: QT_TR_NOOP("No folders are watched yet"),
    ErrorKind.SCOPE_MISSING: QT_TR_NOOP("The chosen scope is not indexed"),
    ErrorKind.SCOPE_EMPTY: QT_TR_NOOP("The chosen scope holds no indexed text"),
    ErrorKind.BAD_QUERY: QT_TR_NOOP("The search could not be read"),
    ErrorKind.BAD_LEVEL: QT_TR_NOOP("That level does not exist"),
    ErrorKind.BAD_PARSE_MODE: QT_TR_NOOP("That way of reading the question does not exist"),
    ErrorKind.EMPTY_QUESTION: QT_TR_NOOP("The question is empty"),
    ErrorKind.QUESTION_TOO_LONG: QT_TR_NOOP("The question is too long"),
    ErrorKind.READ_ONLY: QT_TR_NOOP("Another Needle is updating the index"),
    ErrorKind.THREAD_UNKNOWN: QT_TR_NOOP("That conversation is not in the history"),
    ErrorKind.BAD_EXPORT_FORMAT: QT_TR_NOOP("Unknown export format"),
    # The library
    ErrorKind.DATA_DIR_UNUSABLE: QT_TR_NOOP("The data folder cannot be used"),
    ErrorKind.SETTINGS_CORRUPT: QT_TR_NOOP("The settings file is damaged"),
    ErrorKind.SETTINGS_UNREADABLE: QT_TR_NOOP("The settings file cannot be read"),
    ErrorKind.CATALOG_CLOSED: QT_TR_NOOP("The library is closed"),
    ErrorKind.CATALOG_CORRUPT: QT_TR_NOOP("The library's catalog is damaged"),
    ErrorKind.CATALOG_TOO_NEW: QT_TR_NOOP("The library was made by a newer Needle"),
    ErrorKind.INDEX_MISSING: QT_TR_NOOP("There is no index yet"),
    ErrorKind.INDEX_OUTDATED: QT_TR_NOOP("The index was built by another version"),
    ErrorKind.INDEX_CORRUPT: QT_TR_NOOP("The index is damaged"),
    ErrorKind.WRITER_LOCKED: QT_TR_NOOP("Another Needle is using this library"),
    ErrorKind.ENGINE_CLOSED: QT_TR_NOOP("The search engine is closing"),
    ErrorKind.CACHE_UNUSABLE: QT_TR_NOOP("The answer cache cannot be used"),
    ErrorKind.HISTORY_CORRUPT: QT_TR_NOOP("The question history is damaged"),
    ErrorKind.HISTORY_TOO_NEW: QT_TR_NOOP("The question history was made by a newer Needle"),
    # One file
    ErrorKind.ENCRYPTED: QT_TR_NOOP("The PDF is encrypted"),
    ErrorKind.CORRUPT: QT_TR_NOOP("The file is damaged"),
    ErrorKind.TOO_LARGE: QT_TR_NOOP("The file is too large"),
    ErrorKind.NOT_TEXT: QT_TR_NOOP("The file is not text"),
    ErrorKind.UNREADABLE: QT_TR_NOOP("The file cannot be read"),
    ErrorKind.VANISHED: QT_TR_NOOP("The file is gone"),
    ErrorKind.NO_TEXT: QT_TR_NOOP("The file has no text to read"),
    ErrorKind.PARTIAL: QT_TR_NOOP("Part of the file could not be read"),
    ErrorKind.UNSUPPORTED: QT_TR_NOOP("That kind of file is not supported"),
    ErrorKind.SYMLINK_LOOP: QT_TR_NOOP("The link points at itself"),
    ErrorKind.OUTSIDE_FOLDERS: QT_TR_NOOP("The link points outside your folders"),
    ErrorKind.PATH_TOO_LONG: QT_TR_NOOP("The path is too long for the system to open"),
    ErrorKind.OCR_UNAVAILABLE: QT_TR_NOOP("Text recognition (OCR) is not installed"),
    ErrorKind.TOO_SLOW: QT_TR_NOOP("Reading the file stopped making progress"),
    ErrorKind.UNSAFE: QT_TR_NOOP("The file looks built to harm, so it was not read"),
    # The model server
    ErrorKind.OLLAMA_UNREACHABLE: QT_TR_NOOP("The model server is not running"),
    ErrorKind.MODEL_MISSING: QT_TR_NOOP("The model is not installed"),
    ErrorKind.AUTH_FAILED: QT_TR_NOOP("The model server refused the API key"),
    ErrorKind.TOOLS_UNSUPPORTED: QT_TR_NOOP("The model cannot use tools"),
    ErrorKind.TIMEOUT: QT_TR_NOOP("The language model took too long"),
    ErrorKind.CONNECTION_LOST: QT_TR_NOOP("The connection to the model server was lost"),
    ErrorKind.BAD_REPLY: QT_TR_NOOP("The language model gave an unusable reply"),
    ErrorKind.OLLAMA_ERROR: QT_TR_NOOP("The language model failed"),
    ErrorKind.PULL_FAILED: QT_TR_NOOP("The model could not be downloaded"),
    ErrorKind.PROMPT_TOO_LARGE: QT_TR_NOOP("The question does not fit the model's window"),
    ErrorKind.AGENT_FAILED: QT_TR_NOOP("The answer could not be produced"),
    # The protocol and the engine process
    ErrorKind.BAD_REQUEST: QT_TR_NOOP("The request was not understood"),
    ErrorKind.UNKNOWN_METHOD: QT_TR_NOOP("The request was not understood"),
    ErrorKind.PROTOCOL_MISMATCH: QT_TR_NOOP("The app and its engine are different versions"),
    ErrorKind.HANDSHAKE_REQUIRED: QT_TR_NOOP("The app and its engine disagree"),
    ErrorKind.ENGINE_RESTARTED: QT_TR_NOOP("The search engine restarted"),
    ErrorKind.ENGINE_UNAVAILABLE: QT_TR_NOOP("The search engine is not running"),
    ErrorKind.ENGINE_LOST: QT_TR_NOOP("The search engine stopped"),
    ErrorKind.ENGINE_FAILED: QT_TR_NOOP("The search engine could not start"),
    ErrorKind.OPEN_FAILED: QT_TR_NOOP("The file could not be opened"),
    # Not failures of the work
    ErrorKind.CANCELLED: QT_TR_NOOP("Stopped"),
    ErrorKind.INTERNAL: QT_TR_NOOP("Something went wrong inside Needle"),
}

# What to do, in the app's terms, where the engine's hint is about the command line or the app
# has a better way (a button, a menu entry).
APP_HINTS: dict[ErrorKind, str] = {
    ErrorKind.OLLAMA_UNREACHABLE: QT_TR_NOOP(
        "Start Ollama (open the Ollama app, or start its service), or correct the Ollama host "
        "in Settings. Needle notices when it is back."
    ),
    ErrorKind.CONNECTION_LOST: QT_TR_NOOP("Check that Ollama is still running, then click Retry."),
    ErrorKind.MODEL_MISSING: QT_TR_NOOP(
        "Download it from the panel above the answer, or choose a model you already have in "
        "Settings."
    ),
    ErrorKind.TIMEOUT: QT_TR_NOOP(
        "The model may be too large for this computer. Click Retry, choose a smaller model, or "
        "raise the request timeout in Settings."
    ),
    ErrorKind.WRITER_LOCKED: QT_TR_NOOP(
        "Wait until the other Needle has finished, or quit it, then click Retry."
    ),
    ErrorKind.NO_FOLDERS: QT_TR_NOOP("Add a folder of notes or PDFs with Add folder… (Ctrl+O)."),
    ErrorKind.INDEX_MISSING: QT_TR_NOOP("Add a folder, or click Rescan now in the File menu."),
    ErrorKind.INDEX_OUTDATED: QT_TR_NOOP(
        "Click Rescan now in the File menu: the index is rebuilt from your folders."
    ),
    ErrorKind.INDEX_CORRUPT: QT_TR_NOOP(
        "Quit Needle, delete the index folder named above, and start Needle again: it rebuilds "
        "the index from your folders."
    ),
    ErrorKind.CATALOG_CORRUPT: QT_TR_NOOP(
        "Quit Needle, delete the catalog file named above, and start Needle again: it rebuilds "
        "the index from your folders."
    ),
    ErrorKind.DATA_DIR_UNUSABLE: QT_TR_NOOP(
        "Make that folder writable, or start Needle with another data folder."
    ),
    ErrorKind.FOLDER_EXISTS: QT_TR_NOOP("It is in the Folders list already."),
    ErrorKind.FOLDER_OVERLAP: QT_TR_NOOP(
        "A file is watched through one folder only: keep the folder you have, or remove it "
        "first and add the other one."
    ),
    ErrorKind.SCOPE_MISSING: QT_TR_NOOP(
        "Choose another scope, or wait until the folder has been indexed."
    ),
    ErrorKind.SCOPE_EMPTY: QT_TR_NOOP(
        "Choose another scope, or wait until the folder has been indexed."
    ),
    ErrorKind.ENGINE_UNAVAILABLE: QT_TR_NOOP(
        "Click Retry. If it keeps happening, Help → Open logs folder shows why."
    ),
    ErrorKind.ENGINE_FAILED: QT_TR_NOOP(
        "Click Retry. If it keeps happening, Help → Open logs folder shows why."
    ),
    ErrorKind.INTERNAL: QT_TR_NOOP(
        "Try again. If it happens again, Help → Open logs folder has the details for a bug report."
    ),
}

# Kinds that are the user's own doing: no dialog for them.
SILENT_KINDS = frozenset({ErrorKind.CANCELLED})
# A model-server failure: the app re-checks the server at once.
MODEL_SERVER_KINDS = frozenset(
    {
        ErrorKind.OLLAMA_UNREACHABLE,
        ErrorKind.CONNECTION_LOST,
        ErrorKind.TIMEOUT,
        ErrorKind.MODEL_MISSING,
        ErrorKind.OLLAMA_ERROR,
    }
)

# A sentence that tells people to type something: a command in backticks, a `needle` or `ollama`
# subcommand, an option or an environment variable.
_COMMAND_RE = re.compile(
    r"`|\bneedle\s+(?:index|folders|search|ask|doctor|pull|settings|serve|status|problems)\b"
    r"|\bollama\s+(?:serve|pull|run|list)\b|--[a-z][a-z-]+|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"
)
_SENTENCE_RE = re.compile(r"[^.!?;。！？；]*(?:[.!?;。！？；]+|$)\s*")


def without_commands(text: str) -> str:
    """`text` without the sentences that tell people to type a command (and without stray
    backticks): the app has buttons for what the command line types."""
    kept = [
        sentence
        for sentence in _SENTENCE_RE.findall(text)
        if sentence.strip() and not _COMMAND_RE.search(sentence)
    ]
    return "".join(kept).replace("`", "").strip()


def title_for(kind: ErrorKind) -> str:
    return tr(TITLES[kind])


@dataclass(frozen=True)
class PlainError:
    kind: ErrorKind
    title: str
    message: str
    hint: str

    def as_text(self) -> str:
        lines = [self.title, self.message]
        if self.hint:
            lines.append(tr("What to do: {hint}").format(hint=self.hint))
        return "\n".join(line for line in lines if line)

    @property
    def same_as(self) -> tuple[str, str]:
        """What makes two errors the same for the user (shown once, not twice)."""
        return (self.kind.value, self.message)


def plain_error(error: Mapping[str, Any] | BaseException | str) -> PlainError:
    """Any error shape the client may hand us, as title, message and hint in plain language."""
    data = _as_mapping(error)
    sent = str(data.get("kind") or ErrorKind.INTERNAL)
    kind = ErrorKind.parse(sent)
    # A kind this version does not know (from a newer engine) still gets a readable title.
    title = title_for(kind) if kind == sent else sent.replace("_", " ").strip().capitalize()
    message = str(data.get("message") or "").strip().replace("`", "")
    engine_hint = str(data.get("hint") or "").strip()
    hint = tr(APP_HINTS[kind]) if kind in APP_HINTS else without_commands(engine_hint)
    if not message:
        message = tr("Needle could not finish what you asked.")
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
    one people should not be bothered with (their own cancellation) or the same error is on
    screen already."""
    plain = plain_error(error)
    log.warning("engine error %s: %s (%s)", plain.kind, plain.message, plain.hint)
    if plain.kind in SILENT_KINDS:
        return None
    name = f"error:{plain.kind}:{hash(plain.same_as)}"
    if parent is not None:
        for box in parent.findChildren(QMessageBox):
            if box.objectName() == name and box.isVisible():
                return None  # the same error, still open: once is enough
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Needle")
    box.setText(plain.title)
    details = plain.message
    if plain.hint:
        details += "\n\n" + tr("What to do: {hint}").format(hint=plain.hint)
    box.setInformativeText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setObjectName(name)
    box.open()
    return box
