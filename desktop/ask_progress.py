"""What a question is doing right now, in one line for the answer area: the phase, the model
doing the work, and for chunk-by-chunk reading how far it got and about how long is left —
"Reading 44 of 236 passages with qwen2:7b-instruct · about 2 min left".

A small local model takes minutes; this line is how people know it is working and what it is
waiting for. Built from the agent's events only (engine/agent/events.py), with the time each
arrived; no widget, so it is tested on event lists and a fake clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from desktop.i18n import tr
from desktop.rich_text import format_count, format_time_left

# An estimate needs a few passages read; before that it would jump about.
MIN_READ_FOR_ESTIMATE = 3


@dataclass(frozen=True)
class AskStatus:
    text: str
    done: int = 0  # passages read, when reading
    total: int = 0  # passages to read; 0: no measurable progress (a busy indicator)
    seconds_left: float | None = None
    # Passages read so far that state the answer: the question can be answered from them now.
    answering: int = 0

    @property
    def reading(self) -> bool:
        return self.total > 0


class AskProgress:
    """Feed it the events of one question in order (`add`); read `status()`."""

    def __init__(self, model: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model
        self._clock = clock
        self._phase = "start"
        self._level = 0
        self._step = 0
        self._step_question = ""
        self._done = 0
        self._total = 0
        self._reading_since: float | None = None
        self._done_at_start = 0  # passages read when the current reading began
        self._answering: set[str] = set()  # chunk ids read that state the answer

    def add(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type", ""))
        now = self._clock()
        if kind == "level":
            self._level = int(event.get("level", 0))
            self._phase = "parse"
            self._total = self._done = 0
        elif kind in ("query_parsed", "keywords"):
            self._phase = "search"
        elif kind == "hits":
            purpose = str(event.get("purpose", ""))
            if self._phase == "step":
                pass  # a sub-question's own search: the step line says it all
            elif purpose in ("requery", "context") or self._level == 1:
                self._phase = "answer"  # what follows is the answer call
            else:
                self._phase = "search"
        elif kind == "scope":
            self._start_reading(int(event.get("read_chunks", 0)), now)
        elif kind == "wave":
            # Level 2 reads in waves of growing size; the count goes on across waves.
            self._start_reading(int(event.get("chunks", 0)), now, keep_done=True)
        elif kind == "chunk_verdict":
            chunk = event.get("chunk")
            if event.get("relevant") and isinstance(chunk, Mapping):
                self._answering.add(str(chunk.get("chunk_id", "")))
            self._phase = "reading"
            self._done = max(self._done, int(event.get("done", 0)))
            self._total = max(self._total, int(event.get("total", 0)))
            if self._reading_since is None:
                self._reading_since = now
            if self._total and self._done >= self._total:
                self._phase = "answer"
        elif kind == "sub_question":
            self._step = int(event.get("step", 0))
            self._step_question = str(event.get("question", ""))
            self._phase = "step"
        elif kind == "sub_answer":
            self._phase = "plan"
        elif kind == "grounding":
            self._phase = "answer" if not event.get("grounded") else "check"
        elif kind == "answer_delta":
            self._phase = "writing"
        elif kind in ("answer", "error"):
            self._phase = "done"

    def _start_reading(self, total: int, now: float, keep_done: bool = False) -> None:
        self._phase = "reading"
        if not keep_done:
            self._done = 0
        self._total = total if not keep_done else max(total, self._done)
        self._reading_since = now
        self._done_at_start = self._done

    def _with_model(self, text: str) -> str:
        return (
            tr("{doing} with {model}").format(doing=text, model=self.model) if self.model else text
        )

    def status(self) -> AskStatus:
        with_model = self._with_model
        phase = self._phase
        if phase == "reading" and self._total:
            text = with_model(
                tr("Reading {done} of {total} passages").format(
                    done=format_count(self._done), total=format_count(self._total)
                )
            )
            left = self.seconds_left()
            if left is not None:
                text += " · " + format_time_left(left)
            return AskStatus(text, self._done, self._total, left, len(self._answering))
        if phase == "parse":
            return AskStatus(with_model(tr("Reading your question")))
        if phase == "search":
            return AskStatus(tr("Searching your documents"))
        if phase == "step":
            step = tr("Step {n}: {question}").format(n=self._step, question=self._step_question)
            return AskStatus(with_model(step), answering=len(self._answering))
        if phase == "plan":
            return AskStatus(with_model(tr("Deciding the next step")))
        if phase == "check":
            return AskStatus(with_model(tr("Checking the answer against its passages")))
        if phase in ("answer", "writing"):
            return AskStatus(with_model(tr("Writing the answer")))
        if phase == "done":
            return AskStatus("")
        return AskStatus(with_model(tr("Starting")))

    def seconds_left(self) -> float | None:
        """Reading time left at the pace so far: passages still to read × seconds per passage
        (calls run in parallel, so this is the wall time per passage, not per call)."""
        if self._reading_since is None:
            return None
        read_now = self._done - self._done_at_start
        if read_now < MIN_READ_FOR_ESTIMATE:
            return None
        per_passage = (self._clock() - self._reading_since) / read_now
        return max(0.0, (self._total - self._done) * per_passage)
