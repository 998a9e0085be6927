"""A fake engine for protocol, service and client tests, and a way to serve it as a process:

    python -m tests.helpers.service [--fail-open] [--index-steps N] [--data-dir D]

It behaves like engine.api.Engine where the service can tell (same methods, same result types),
but answers instantly and deterministically, so tests measure the protocol, not the index."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.agent.events import Answer, AnswerDelta, Event, FollowUp, LevelStarted
from engine.cancel import NEVER, CancelToken
from engine.errors import NeedleError, WriterLocked
from engine.library.exports import export_thread
from engine.library.threads import ThreadStore
from engine.models import (
    Check,
    DoctorReport,
    IndexProgress,
    IndexSummary,
    SearchFilters,
    SearchHit,
    SearchResult,
)
from engine.settings import Settings, SettingsSnapshot
from engine.threads import Thread, ThreadSummary, Turn


@dataclass
class FakeEngine:
    index_steps: int = 5
    step_seconds: float = 0.0
    pull_updates: int = 200
    folder_list: list[str] = field(default_factory=list)
    settings_value: Settings = field(default_factory=Settings)
    closed: bool = False
    watching: bool = False
    watch_callback: Callable[[IndexSummary], None] | None = None
    index_runs: int = 0
    pulled_models: set[str] = field(default_factory=set)
    searches: list[tuple[str, int, SearchFilters | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The real history store in a scratch folder: the fake answers, the store is the engine's.
    history: ThreadStore = field(
        default_factory=lambda: ThreadStore(
            Path(tempfile.mkdtemp(prefix="needle-fake-history-")) / "threads.sqlite3"
        )
    )

    @property
    def settings(self) -> Settings:
        return self.settings_value

    def settings_snapshot(self) -> SettingsSnapshot:
        return SettingsSnapshot(self.settings_value)

    def update_settings(self, changes: dict[str, Any]) -> Settings:
        updated = Settings.from_dict({**self.settings_value.to_dict(), **changes})
        problems = updated.problems()
        if problems:
            raise NeedleError("invalid_settings", " ".join(problems))
        self.settings_value = updated
        return updated

    def add_folder(self, path: str) -> dict[str, Any]:
        if path in self.folder_list:
            raise NeedleError("folder_exists", f"{path} is already indexed.")
        self.folder_list.append(path)
        return {"path": path, "files": 0}

    def remove_folder(self, path: str) -> dict[str, Any]:
        if path not in self.folder_list:
            raise NeedleError("folder_unknown", f"{path} is not an indexed folder.")
        self.folder_list.remove(path)
        return {"path": path, "files": 0}

    def folders(self) -> Sequence[dict[str, Any]]:
        return [{"path": p, "files": 0} for p in self.folder_list]

    def index(
        self,
        *,
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken = NEVER,
    ) -> IndexSummary:
        with self.lock:
            self.index_runs += 1
        for done in range(self.index_steps):
            cancel.raise_if_cancelled()
            if progress is not None:
                progress(IndexProgress("indexing", done + 1, self.index_steps, f"file{done}.md"))
            if self.step_seconds:
                cancel.wait(self.step_seconds)
        cancel.raise_if_cancelled()
        return IndexSummary(added=self.index_steps, seconds=0.01)

    def retry(self, paths: Sequence[str]) -> IndexSummary:
        self.retried = list(paths)
        return IndexSummary(updated=len(paths), seconds=0.01)

    def start_watching(
        self,
        on_change: Callable[[IndexSummary], None],
        on_progress: Callable[[IndexProgress], None] | None = None,
    ) -> None:
        self.watching = True
        self.watch_callback = on_change
        self.watch_progress = on_progress

    def stop_watching(self) -> None:
        self.watching = False

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        prefix: bool = False,
    ) -> SearchResult:
        self.searches.append((query, limit, filters))
        self.last_search_prefix = prefix
        if query.startswith("slow:"):
            time.sleep(float(query.split(":", 1)[1]))
        if query == "explode":
            raise RuntimeError("the fake index exploded")
        hits = [
            SearchHit(
                chunk_id=f"c{n}",
                doc_id="d1",
                path="/notes/a.md",
                title="A 中文",
                score=1.0 / (n + 1),
                text=f"chunk {n} about {query}",
                snippet=f"about {query}",
                snippet_highlights=(),
                highlights=(),
                ordinal=n,
                start=0,
                end=10,
            )
            for n in range(min(limit, 3))
        ]
        return SearchResult(query, tuple(hits), 0.001)

    def status(self) -> dict[str, Any]:
        return {"files": 0, "folders": list(self.folder_list)}

    def problems(self, folder: str | None = None) -> Sequence[dict[str, Any]]:
        return [
            {"path": f"{folder or '/notes'}/scan.pdf", "state": "skipped", "error_kind": "no_text"}
        ]

    def doctor(self) -> DoctorReport:
        return DoctorReport((Check("paths", "ok", "The data folder is writable."),))

    def ollama_status(self, host: str | None = None, model: str | None = None) -> dict[str, Any]:
        chosen = model or self.settings_value.model
        if chosen in self.pulled_models:
            return {"state": "ready", "message": f"{chosen} is ready.", "hint": ""}
        return {"state": "model_missing", "message": f"{chosen} is not pulled.", "hint": "Pull it."}

    def pull_model(
        self,
        model: str | None = None,
        *,
        progress: Callable[[str, int, int], None] | None = None,
        cancel: CancelToken = NEVER,
    ) -> None:
        for n in range(self.pull_updates):
            cancel.raise_if_cancelled()
            if progress is not None:
                progress("downloading", n + 1, self.pull_updates)
            time.sleep(0.001)
        self.pulled_models.add(model or self.settings_value.model)

    def ask(
        self,
        question: str,
        *,
        level: str = "auto",
        scope: SearchFilters | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: CancelToken = NEVER,
        stop_reading: CancelToken = NEVER,
        model: str | None = None,
        host: str | None = None,
        thread_id: str | None = None,
    ) -> Answer:
        emit = on_event or (lambda event: None)
        rewritten = ""
        if thread_id is not None:
            earlier = self.history.thread(thread_id).turns
            rewritten = f"{question} (after: {earlier[-1].question})"
            emit(FollowUp(question, rewritten, len(earlier)))
        emit(LevelStarted(1, f"scope={scope}"))
        # "forever" streams until cancelled or told to stop reading: a long reading the user
        # stops, or asks to answer from what it found.
        deltas = 10**6 if question == "forever" else 3
        for n in range(deltas):
            if cancel.wait(0.01) or stop_reading.cancelled:
                break
            emit(AnswerDelta(f"part{n} "))
        cancel.raise_if_cancelled()
        if stop_reading.cancelled:
            answer = Answer(
                text="answer from what was read",
                citations=(),
                level=2,
                llm_calls=1,
                prompt_tokens=10,
                completion_tokens=3,
                seconds=0.01,
                rewritten=rewritten,
                partial=True,
            )
        else:
            answer = Answer(
                text=f"answer to {question}",
                citations=(),
                level=1,
                llm_calls=1,
                prompt_tokens=10,
                completion_tokens=3,
                seconds=0.01,
                rewritten=rewritten,
            )
        thread = thread_id or self.history.new_thread(question)
        turn = self.history.add_turn(
            Turn(thread, 0, question, answer.text, rewritten, 1, "fake", True, True)
        )
        return replace(answer, thread_id=thread, turn=turn.position)

    def threads(self, search: str = "", *, limit: int = 500) -> list[ThreadSummary]:
        return self.history.threads(search, limit=limit)

    def thread(self, thread_id: str) -> Thread:
        return self.history.thread(thread_id)

    def rename_thread(self, thread_id: str, title: str) -> Thread:
        self.history.rename(thread_id, title)
        return self.history.thread(thread_id)

    def delete_thread(self, thread_id: str) -> None:
        self.history.delete(thread_id)

    def export_thread(
        self, thread_id: str, fmt: str = "md", positions: Sequence[int] | None = None
    ) -> str:
        return export_thread(self.history.thread(thread_id), fmt, positions)

    def save_thread(self, thread_id: str, fmt: str, path: str) -> str:
        Path(path).write_text(self.export_thread(thread_id, fmt), "utf-8")
        return path

    def close(self) -> None:
        self.closed = True
        self.history.close()
        sys.stderr.write("fake engine closed\n")


def main(argv: Sequence[str] | None = None) -> int:
    from engine.service.main import run_stdio

    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="/fake/data")
    parser.add_argument("--fail-open", action="store_true")
    parser.add_argument("--index-steps", type=int, default=5)
    parser.add_argument("--ollama-poll", type=float, default=None)
    args = parser.parse_args(argv)

    def open_engine() -> FakeEngine:
        if args.fail_open:
            raise WriterLocked(
                "writer_locked", "Another Needle engine (pid 4242) is using this index."
            )
        print("a library printing to stdout must not break the protocol")
        return FakeEngine(index_steps=args.index_steps)

    sys.stderr.write(json.dumps({"fake_engine": "starting"}) + "\n")
    return run_stdio(open_engine, data_dir=args.data_dir, ollama_poll_seconds=args.ollama_poll)


if __name__ == "__main__":
    sys.exit(main())
