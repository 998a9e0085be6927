"""Errors that cross process and UI boundaries as data: a kind, a message and a hint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class NeedleError(Exception):
    """Any failure a user may see. `kind` is stable and machine-readable; `message` says what
    happened in plain language; `hint` says what to do about it (may be empty)."""

    def __init__(self, kind: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "hint": self.hint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NeedleError:
        kind, message = str(data.get("kind", "error")), str(data.get("message", ""))
        return cls(kind, message, str(data.get("hint", "")))

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class Cancelled(NeedleError):
    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__("cancelled", message)


class WriterLocked(NeedleError):
    """Another process owns the index writer."""


class OllamaError(NeedleError):
    """The model server could not do what was asked (not running, model missing, bad reply)."""


@dataclass(frozen=True)
class FileProblem:
    """Why one file is not (fully) searchable. Recorded in the catalog, never raised past it."""

    # encrypted | corrupt | too_large | not_text | unreadable | vanished | no_text | partial |
    # unsupported | symlink_loop | internal
    kind: str
    message: str
