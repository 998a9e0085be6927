"""Recorded engine streams for the desktop tests: real event shapes, no engine process needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parent / "recorded_events"


def load_stream(name: str) -> list[dict[str, Any]]:
    """One recorded stream: a JSON object per line (agent events or search hits)."""
    lines = (RECORDED / name).read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def final_answer(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in reversed(events) if e.get("type") == "answer")


def streamed_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["text"] for e in events if e.get("type") == "answer_delta")
