"""Screenshots for docs/: the real main window, offscreen, driven by recorded engine streams.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m desktop.screenshots [OUT_DIR]

`ReplayEngine` stands where the EngineClient stands and answers each request from the recordings
in tests/recorded_events/ (the shapes the engine sends), so the pictures show exactly what the
widgets make of real events: search, an answer with its sources, and the steps panel: English
documents in the English interface, Chinese documents in the Chinese interface (whatever the
machine's locale), and the first run in both."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication

from desktop.i18n import CHINESE, ENGLISH
from engine.models import FileRecord, FolderInfo, SearchHit, SearchResult, StatusReport
from engine.settings import Settings, SettingsSnapshot
from engine.threads import (
    ReadPassage,
    StoredCitation,
    Thread,
    ThreadSummary,
    Turn,
    quoted_sentences,
)

REPO = Path(__file__).resolve().parents[1]
RECORDED = REPO / "tests" / "recorded_events"
DEFAULT_OUT = REPO / "docs" / "screenshots"
WINDOW_SIZE = (1360, 840)
# Reads run in parallel; a replayed timeline divides their recorded time by this.
PARALLEL_READS = 4
STORED_THREAD = "a1b2c3d4e5f6"  # where the engine kept the replayed answer
STORED: dict[str, Any] = {"thread_id": STORED_THREAD, "turn": 1}


def load_jsonl(name: str) -> list[dict[str, Any]]:
    text = (RECORDED / name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class ReplayHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def stop_reading(self) -> None:
        """A replay has nothing left to read: the recording goes on as it was."""


class ReplayEngine(QObject):
    """Answers requests from canned results and replays recorded ask streams."""

    ready = Signal()
    notification = Signal(str, dict)
    engine_lost = Signal(str)
    engine_restarted = Signal(int)
    engine_failed = Signal(str)
    protocol_error = Signal(str)

    def __init__(self, results: Mapping[str, Any], ask_stream: list[dict[str, Any]]) -> None:
        super().__init__()
        self.results = dict(results)
        self.ask_stream = ask_stream
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.now = 0.0  # the replay's clock: advanced by the recorded model-call times
        # Replay only this many events, then wait: the window as it is mid-question.
        self.pause_after: int | None = None

    @property
    def engine_info(self) -> dict[str, Any]:
        return {"engine_version": "replay", "protocol": 1, "data_dir": "(recorded)"}

    def clock(self) -> float:
        return self.now

    def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Any], None] | None = None,
    ) -> ReplayHandle:
        self.requests.append((method, dict(params or {})))
        handle = ReplayHandle()
        # Like the real client, replies arrive later on the event loop, never inside request().
        if method == "ask":
            QTimer.singleShot(0, lambda: self._replay_ask(handle, on_event, on_result))
        elif method in self.results and on_result is not None:
            result = self.results[method]
            callback = on_result
            QTimer.singleShot(0, lambda: None if handle.cancelled else callback(result))
        return handle

    def _replay_ask(
        self,
        handle: ReplayHandle,
        on_event: Callable[[dict[str, Any]], None] | None,
        on_result: Callable[[Any], None] | None,
    ) -> None:
        self.now = 0.0
        for number, event in enumerate(self.ask_stream):
            if handle.cancelled or (self.pause_after is not None and number >= self.pause_after):
                return
            if event.get("type") == "llm_call":
                share = PARALLEL_READS if event.get("purpose") == "read" else 1
                self.now += float(event.get("seconds", 0.0)) / share
            if event.get("type") == "answer":
                event = {**event, **STORED}
            if on_event is not None:
                on_event(event)
        answer = next(e for e in reversed(self.ask_stream) if e.get("type") == "answer")
        if on_result is not None and not handle.cancelled:
            on_result({**answer, **STORED})


def _folders(*rows: tuple[str, int, int]) -> dict[str, Any]:
    infos = [
        FolderInfo(path, "errors" if errors else "up_to_date", files, files - errors, errors=errors)
        for path, files, errors in rows
    ]
    return {"folders": [info.to_dict() for info in infos]}


def _search(query: str, stream: str, seconds: float) -> dict[str, Any]:
    hits = tuple(SearchHit.from_dict(hit) for hit in load_jsonl(stream))
    return SearchResult(query, hits, seconds).to_dict()


def english_results() -> dict[str, Any]:
    """The replies the replayed engine gives, in the engine's own result types."""
    problems = [FileRecord(f"/home/ada/Documents/scan{n}.pdf", 1, 0, "", "skipped") for n in (1, 2)]
    status = StatusReport("/home/ada/.local/share/needle", {}, 529, 6184, 0, [], problems)
    return {
        "settings.get": SettingsSnapshot(Settings()).to_dict(),
        "folders.list": _folders(
            ("/home/ada/notes", 412, 0),
            ("/home/ada/Documents", 86, 2),
            ("/home/ada/Reading/papers", 31, 0),
        ),
        "status": status.to_dict(),
        "ollama.status": {"state": "ready", "message": "Ollama 0.6 with qwen2:7b-instruct"},
        "search": _search("notice", "search_en.jsonl", 0.006),
        "threads.list": _history(
            [
                ("How much notice do I have to give to end my flat lease?", 2, 1),
                ("Which seeds did we order for the garden?", 1, 0),
                ("When was the boiler last serviced?", 3, 0),
                ("What did the committee decide about the budget?", 1, 0),
            ]
        ),
        "threads.export": {"text": "", "format": "md"},
    }


def chinese_results() -> dict[str, Any]:
    results = english_results()
    results["folders.list"] = _folders(
        ("/home/ada/笔记/读书", 86, 0),
        ("/home/ada/Documents/papers", 24, 1),
        ("/home/ada/notes", 412, 0),
    )
    results["search"] = _search("王熙凤 贾母", "search_zh.jsonl", 0.004)
    results["threads.list"] = _history(
        [
            ("黛玉进贾府时见到了哪些人？", 2, 1),
            ("王熙凤第一次出场是在哪一回？", 1, 0),
            ("贾母住在哪里？", 2, 0),
        ]
    )
    return results


def _history(titles: list[tuple[str, int, int]]) -> dict[str, Any]:
    """threads.list: (title, questions, sources changed), the newest first."""
    now = time.time()
    summaries = [
        ThreadSummary(
            STORED_THREAD if n == 0 else f"t{n}",
            title,
            now - 86400 * n * n,
            now - 3600 * n * n,
            turns,
            "",
            stale,
        )
        for n, (title, turns, stale) in enumerate(titles)
    ]
    return {"threads": [summary.to_dict() for summary in summaries]}


def stored_thread(stream: list[dict[str, Any]], question: str, follow_up: str) -> Thread:
    """The replayed answer kept as the second question of a thread, its first source changed
    since (what reopening it from the history shows)."""
    answer = next(e for e in reversed(stream) if e.get("type") == "answer")
    citations = tuple(
        StoredCitation(
            number=int(c["number"]),
            chunk_id=str(c["chunk_id"]),
            path=str(c["path"]),
            title=str(c.get("title", "")),
            page=c.get("page"),
            heading=str(c.get("heading", "")),
            quote=quoted_sentences(str(c["text"]), [tuple(s) for s in c.get("highlights", ())]),
            state="changed" if index == 0 else "current",
        )
        for index, c in enumerate(answer.get("citations", ()))
    )
    read = tuple(
        ReadPassage(str(c["chunk_id"]), str(c["path"]), str(c["text"]))
        for c in answer.get("citations", ())
    )
    steps = tuple(e for e in stream if e.get("type") not in ("answer", "answer_delta"))
    first = Turn(STORED_THREAD, 1, question, "…", level=1, found=True, grounded=True)
    second = Turn(
        STORED_THREAD, 2, follow_up, str(answer["text"]), rewritten=question,
        level=int(answer.get("level", 1)), found=True, grounded=True, citations=citations,
        events=steps, read=read, llm_calls=int(answer.get("llm_calls", 0)),
        prompt_tokens=int(answer.get("prompt_tokens", 0)),
        completion_tokens=int(answer.get("completion_tokens", 0)),
        seconds=float(answer.get("seconds", 0.0)), asked_at=time.time() - 3 * 86400,
    )  # fmt: skip
    return Thread(STORED_THREAD, question, first.asked_at, second.asked_at, (first, second))


def capture(window: Any, app: QApplication, path: Path, scroll_steps_to_top: bool = False) -> None:
    for _ in range(5):  # let timers (debounced renders) and layouts settle
        app.processEvents()
    window.steps_panel.render_now()
    app.processEvents()
    if scroll_steps_to_top:
        window.steps_panel.verticalScrollBar().setValue(0)
        app.processEvents()
    if not window.grab().save(str(path)):
        raise OSError(f"could not save {path}")
    print(f"wrote {path}")


def shoot_language(
    app: QApplication,
    out: Path,
    suffix: str,
    results: dict[str, Any],
    stream: str,
    query: str,
    question: str,
    cite: int,
    follow_up: str,
    language: str,
) -> None:
    """Search, answer and steps pictures, with the interface in `language` (an i18n value):
    the window is built after the translation is installed, so every label is in it."""
    from desktop.i18n import install_translators
    from desktop.main_window import MainWindow

    install_translators(app, language)
    engine = ReplayEngine(results, load_jsonl(stream))
    with tempfile.TemporaryDirectory() as scratch:
        store = QSettings(str(Path(scratch) / "layout.ini"), QSettings.Format.IniFormat)
        window = MainWindow(engine, store, watchdog=False)
        window.steps_panel.set_clock(engine.clock)
        window.resize(*WINDOW_SIZE)
        window.show()
        engine.ready.emit()
        app.processEvents()

        window.set_mode("search")
        window.query_bar.edit.setText(query)
        window.query_bar.submit()
        app.processEvents()
        window.results_view.select_hit(0)
        capture(window, app, out / f"search_{suffix}.png")

        window.set_mode("ask")
        window.query_bar.edit.setText(question)
        # Mid-reading, once a passage stated the answer: the progress line, the estimate, and
        # "Answer from what was found" beside Stop.
        engine.pause_after = _events_until_answering(engine.ask_stream, more_reads=6)
        if engine.pause_after is not None:
            window.query_bar.submit()
            app.processEvents()
            capture(window, app, out / f"reading_{suffix}.png")
            engine.pause_after = None
        window.query_bar.submit()
        app.processEvents()
        window.select_citation(cite)
        capture(window, app, out / f"answer_{suffix}.png")

        # The steps picture tells the whole story: a wider panel, read from the top.
        window.side_tabs.setCurrentIndex(1)
        window.splitter.setSizes([220, 500, 640])
        capture(window, app, out / f"steps_{suffix}.png", scroll_steps_to_top=True)

        # Reopened from the history: the stored answer, a source that changed since marked.
        window.splitter.setSizes([300, 620, 440])
        engine.results["threads.get"] = stored_thread(
            engine.ask_stream, question, follow_up
        ).to_dict()
        window.open_thread(STORED_THREAD)
        app.processEvents()
        window.select_citation(1)
        capture(window, app, out / f"history_{suffix}.png")
        window.close()


def _events_until_answering(stream: list[dict[str, Any]], more_reads: int) -> int | None:
    """How many events of `stream` go up to `more_reads` reads after the first passage that
    states the answer; None when no read found one."""
    reads_after = -1
    for number, event in enumerate(stream):
        if event.get("type") != "chunk_verdict":
            continue
        if reads_after < 0 and event.get("relevant"):
            reads_after = 0
        elif reads_after >= 0:
            reads_after += 1
        if reads_after >= more_reads:
            return number + 1
    return None


def shoot_onboarding(app: QApplication, out: Path, language: str, suffix: str = "") -> None:
    """First run: no folders yet, and Ollama up but the model not pulled."""
    from desktop.i18n import install_translators
    from desktop.main_window import MainWindow

    install_translators(app, language)
    results = english_results()
    results["folders.list"] = {"folders": []}
    results["status"] = StatusReport(
        data_dir="/home/ada/.local/share/needle",
        counts={},
        total_files=0,
        chunks=0,
        index_bytes=0,
        folders=[],
        problems=[],
    ).to_dict()
    results["ollama.status"] = {
        "state": "model_missing",
        "message": "Ollama 0.6.0 is running, but qwen2:7b-instruct is not pulled.",
        "models": [],
    }
    engine = ReplayEngine(results, [])
    with tempfile.TemporaryDirectory() as scratch:
        store = QSettings(str(Path(scratch) / "layout.ini"), QSettings.Format.IniFormat)
        window = MainWindow(engine, store, watchdog=False)
        window.resize(*WINDOW_SIZE)
        window.show()
        engine.ready.emit()
        app.processEvents()
        capture(window, app, out / f"first_run{suffix}.png")
        window.set_mode("ask")
        window.ollama_panel.pull_started()
        window.ollama_panel.set_pull_progress(
            {"status": "pulling 43f7a214e532", "completed": 1_730_000_000, "total": 4_430_000_000}
        )
        capture(window, app, out / f"model_missing{suffix}.png")
        window.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HOME"] = "/home/ada"  # the recordings' user: paths show as ~/…
    from desktop.app import create_application

    app = create_application([sys.argv[0]])
    shoot_language(
        app,
        out,
        "en",
        english_results(),
        "ask_en_level2.jsonl",
        "notice",
        "How much notice do I have to give to end my flat lease, and can I do it by e-mail?",
        2,
        "and can I send it by e-mail?",
        ENGLISH,
    )
    shoot_language(
        app,
        out,
        "zh",
        chinese_results(),
        "ask_zh_level3.jsonl",
        "王熙凤 贾母",
        "黛玉进贾府时见到了哪些人？这一回是曹雪芹写的吗？",
        1,
        "这一回是谁写的？",
        CHINESE,
    )
    shoot_onboarding(app, out, ENGLISH)
    shoot_onboarding(app, out, CHINESE, "_zh")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
