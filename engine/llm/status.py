"""What a check of one model server found (`probe` of either backend), never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StatusState = Literal["ready", "not_running", "model_missing", "error"]


@dataclass(frozen=True)
class ServerStatus:
    """`state` with the message and hint a user acts on; `models` the server's models (pulled,
    or served); `version` the server's version ("" when unknown); `context_window` the window the
    server reported for the model (0 when it does not say)."""

    state: StatusState
    message: str
    hint: str = ""
    models: list[str] = field(default_factory=list)
    version: str = ""
    context_window: int = 0

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "message": self.message,
            "hint": self.hint,
            "models": list(self.models),
            "version": self.version,
            "context_window": self.context_window,
        }
