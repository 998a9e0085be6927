"""Errors that cross process and UI boundaries as data: a kind, a message and a hint.

`ErrorKind` is the one vocabulary of kinds: the engine raises them, the protocol carries them,
the CLI turns them into exit codes (`USER_ERROR_KINDS` exit 2) and the desktop gives each a title.
Code decides on the kind, never on the words of a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """Every kind of error Needle reports. The value is the stable machine-readable string that
    `--json` prints and the protocol sends."""

    # -- The request was wrong: the user can fix what they asked (CLI exit code 2) -------------
    INVALID_ARGUMENT = "invalid_argument"
    INVALID_SETTINGS = "invalid_settings"  # a settings change that is not valid
    BAD_SETTING = "bad_setting"  # a saved setting the work cannot use
    INVALID_IGNORE_PATTERN = "invalid_ignore_pattern"
    FOLDER_MISSING = "folder_missing"
    NOT_A_DIRECTORY = "not_a_directory"
    FOLDER_UNREADABLE = "folder_unreadable"
    FOLDER_EXISTS = "folder_exists"
    FOLDER_OVERLAP = "folder_overlap"
    FOLDER_UNKNOWN = "folder_unknown"
    SYSTEM_FOLDER = "system_folder"  # /, the home folder itself, /etc, /proc, /dev …
    NO_FOLDERS = "no_folders"
    SCOPE_MISSING = "scope_missing"
    SCOPE_EMPTY = "scope_empty"
    BAD_QUERY = "bad_query"
    BAD_LEVEL = "bad_level"
    BAD_PARSE_MODE = "bad_parse_mode"
    EMPTY_QUESTION = "empty_question"
    QUESTION_TOO_LONG = "question_too_long"
    READ_ONLY = "read_only"  # a change asked of a library another process is writing
    THREAD_UNKNOWN = "thread_unknown"  # no stored thread (or turn) has that id
    BAD_EXPORT_FORMAT = "bad_export_format"

    # -- The library: data folder, settings file, catalog, index ------------------------------
    DATA_DIR_UNUSABLE = "data_dir_unusable"
    SETTINGS_CORRUPT = "settings_corrupt"
    SETTINGS_UNREADABLE = "settings_unreadable"
    CATALOG_CLOSED = "catalog_closed"
    CATALOG_CORRUPT = "catalog_corrupt"
    CATALOG_TOO_NEW = "catalog_too_new"
    INDEX_MISSING = "index_missing"
    INDEX_OUTDATED = "index_outdated"
    INDEX_CORRUPT = "index_corrupt"
    WRITER_LOCKED = "writer_locked"
    ENGINE_CLOSED = "engine_closed"
    CACHE_UNUSABLE = "cache_unusable"
    HISTORY_CORRUPT = "history_corrupt"  # the threads database cannot be opened
    HISTORY_TOO_NEW = "history_too_new"

    # -- One file that cannot be (fully) indexed; recorded per file, shown in status -----------
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    TOO_LARGE = "too_large"
    NOT_TEXT = "not_text"
    UNREADABLE = "unreadable"
    VANISHED = "vanished"
    NO_TEXT = "no_text"
    PARTIAL = "partial"  # indexed, but some pages could not be read
    UNSUPPORTED = "unsupported"
    SYMLINK_LOOP = "symlink_loop"
    OUTSIDE_FOLDERS = "outside_folders"  # a link to a file or folder outside the watched ones
    PATH_TOO_LONG = "path_too_long"  # deeper than the system can open (PATH_MAX): not reachable
    OCR_UNAVAILABLE = "ocr_unavailable"  # scanned pages or an image, and no OCR installed
    TOO_SLOW = "too_slow"  # reading it made no progress for minutes: the worker was stopped
    UNSAFE = "unsafe"  # built to exhaust memory or time (a zip bomb, XML entity expansion)

    # -- The model server --------------------------------------------------------------------
    OLLAMA_UNREACHABLE = "ollama_unreachable"
    MODEL_MISSING = "model_missing"
    AUTH_FAILED = "auth_failed"  # the server wants an API key, or another one
    TOOLS_UNSUPPORTED = "tools_unsupported"  # the server or model refuses tool calls
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"
    BAD_REPLY = "bad_reply"
    OLLAMA_ERROR = "ollama_error"
    PULL_FAILED = "pull_failed"
    PROMPT_TOO_LARGE = "prompt_too_large"

    # -- Answering -------------------------------------------------------------------------------
    AGENT_FAILED = "agent_failed"

    # -- The protocol between the desktop and its engine (docs/protocol.md) --------------------
    BAD_REQUEST = "bad_request"
    UNKNOWN_METHOD = "unknown_method"
    PROTOCOL_MISMATCH = "protocol_mismatch"
    HANDSHAKE_REQUIRED = "handshake_required"
    ENGINE_RESTARTED = "engine_restarted"  # made by the client for requests lost in a crash
    ENGINE_UNAVAILABLE = "engine_unavailable"  # made by the client when it gave up restarting

    # -- The desktop's own -------------------------------------------------------------------
    ENGINE_LOST = "engine_lost"  # the engine process died while an answer was streaming
    ENGINE_FAILED = "engine_failed"  # the engine process cannot be started
    OPEN_FAILED = "open_failed"  # a source file could not be opened

    # -- Not failures of the work ------------------------------------------------------------
    CANCELLED = "cancelled"  # stopped by the user: the frontends stay quiet about it
    INTERNAL = "internal"  # a bug in Needle

    @classmethod
    def parse(cls, value: object) -> ErrorKind:
        """The kind a peer sent; one this version does not know (a newer engine's) is INTERNAL,
        so an error is still shown with its own message."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.INTERNAL


# Kinds that mean "the request was wrong" (exit code 2 in the CLI) as opposed to "the work
# failed" (exit code 1): the user changes what they asked, not their machine.
USER_ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.INVALID_ARGUMENT,
        ErrorKind.INVALID_SETTINGS,
        ErrorKind.BAD_SETTING,
        ErrorKind.INVALID_IGNORE_PATTERN,
        ErrorKind.FOLDER_MISSING,
        ErrorKind.NOT_A_DIRECTORY,
        ErrorKind.FOLDER_UNREADABLE,
        ErrorKind.FOLDER_EXISTS,
        ErrorKind.FOLDER_OVERLAP,
        ErrorKind.FOLDER_UNKNOWN,
        ErrorKind.SYSTEM_FOLDER,
        ErrorKind.NO_FOLDERS,
        ErrorKind.SCOPE_MISSING,
        ErrorKind.SCOPE_EMPTY,
        ErrorKind.BAD_QUERY,
        ErrorKind.BAD_LEVEL,
        ErrorKind.BAD_PARSE_MODE,
        ErrorKind.EMPTY_QUESTION,
        ErrorKind.QUESTION_TOO_LONG,
        ErrorKind.READ_ONLY,
        ErrorKind.THREAD_UNKNOWN,
        ErrorKind.BAD_EXPORT_FORMAT,
    }
)


class NeedleError(Exception):
    """Any failure a user may see. `kind` is stable and machine-readable; `message` says what
    happened in plain language; `hint` says what to do about it (may be empty). A kind outside
    `ErrorKind` is refused, so no code (or test double) can invent one."""

    def __init__(self, kind: ErrorKind, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "message": self.message, "hint": self.hint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NeedleError:
        kind, message = ErrorKind.parse(data.get("kind")), str(data.get("message", ""))
        return cls(kind, message, str(data.get("hint", "")))

    @property
    def is_user_error(self) -> bool:
        return self.kind in USER_ERROR_KINDS

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class Cancelled(NeedleError):
    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(ErrorKind.CANCELLED, message)


class WriterLocked(NeedleError):
    """Another process owns the index writer."""


class OllamaError(NeedleError):
    """The model server could not do what was asked (not running, model missing, bad reply)."""


@dataclass(frozen=True)
class FileProblem:
    """Why one file is not (fully) searchable. Recorded in the catalog, never raised past it."""

    kind: ErrorKind  # one of the per-file kinds, or INTERNAL
    message: str
