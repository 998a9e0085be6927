"""Recorded engine streams for the desktop tests: real event shapes, no engine process needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parents[1] / "recorded_events"


def load_stream(name: str) -> list[dict[str, Any]]:
    """One recorded stream: a JSON object per line (agent events or search hits)."""
    lines = (RECORDED / name).read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def final_answer(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in reversed(events) if e.get("type") == "answer")


def streamed_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["text"] for e in events if e.get("type") == "answer_delta")


class FakeRequest:
    """One request the window made; the test answers it like the engine would."""

    def __init__(self, method: str, params: dict[str, Any], callbacks: dict[str, Any]) -> None:
        self.method = method
        self.params = params
        self.callbacks = callbacks
        self.cancelled = False
        self.stopped_reading = False

    def cancel(self) -> None:
        self.cancelled = True

    def stop_reading(self) -> None:
        self.stopped_reading = True

    def _call(self, name: str, value: Any) -> None:
        callback = self.callbacks.get(name)
        if callback is not None and not self.cancelled:
            callback(value)

    def event(self, event: dict[str, Any]) -> None:
        self._call("on_event", event)

    def progress(self, progress: dict[str, Any]) -> None:
        self._call("on_progress", progress)

    def result(self, result: Any) -> None:
        self._call("on_result", result)

    def error(self, kind: str, message: str, hint: str = "") -> None:
        self._call("on_error", {"kind": kind, "message": message, "hint": hint})


def make_fake_engine() -> Any:
    """An EngineClient stand-in (same signals, same `request`) that records requests. Built
    lazily so importing this module does not need Qt."""
    from PySide6.QtCore import QObject, Signal

    class FakeEngine(QObject):
        ready = Signal()
        notification = Signal(str, dict)
        engine_lost = Signal(str)
        engine_restarted = Signal(int)
        engine_failed = Signal(str)
        protocol_error = Signal(str)

        def __init__(self) -> None:
            super().__init__()
            self.requests: list[FakeRequest] = []

        @property
        def engine_info(self) -> dict[str, Any]:
            return {"engine_version": "9.9.9", "protocol": 1, "data_dir": "/tmp/needle"}

        def request(self, method: str, params: Any = None, **callbacks: Any) -> FakeRequest:
            request = FakeRequest(method, dict(params or {}), callbacks)
            self.requests.append(request)
            return request

        def last(self, method: str) -> FakeRequest:
            return next(r for r in reversed(self.requests) if r.method == method)

        def methods(self) -> list[str]:
            return [r.method for r in self.requests]

    return FakeEngine()


def engine_replies() -> dict[str, Any]:
    """What the fake engine answers on `ready`, in the engine's own result types."""
    from engine.models import FileRecord, FolderInfo, StatusReport
    from engine.settings import Settings, SettingsSnapshot

    folders = [
        FolderInfo("/data/notes", "up_to_date", files=12, indexed=12, last_indexed=1.0),
        FolderInfo("/data/pdfs", "errors", files=3, indexed=1, errors=2, last_indexed=1.0),
    ]
    problems = [
        FileRecord(f"/data/pdfs/{n}.pdf", 1, 1.0, "", "error", "encrypted") for n in range(2)
    ]
    status = StatusReport(
        data_dir="/data",
        counts={"indexed": 13, "error": 2},
        total_files=15,
        chunks=140,
        index_bytes=1 << 20,
        folders=[],
        problems=problems,
    )
    return {
        "settings.get": SettingsSnapshot(Settings(ignore_patterns=["*.log"])).to_dict(),
        "folders.list": {"folders": [folder.to_dict() for folder in folders]},
        "status": status.to_dict(),
        "ollama.status": {"state": "ready", "message": "ok", "models": ["qwen2:7b-instruct"]},
    }


def open_window(qtbot: Any, engine: Any, store: Any, **options: Any) -> Any:
    """The main window, shown, with the engine's first replies delivered."""
    from desktop.main_window import MainWindow

    window = MainWindow(engine, store, watchdog=False, **options)
    qtbot.addWidget(window)
    window.show()
    engine.ready.emit()
    for method, result in engine_replies().items():
        engine.last(method).result(result)
    return window
