"""`needle ask` output: the streamed answer, its sources and the step log."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.agent.events import (
    Answer,
    AnswerDelta,
    ChunkVerdict,
    Citation,
    ErrorEvent,
    Event,
    EvidencePicked,
    FollowUp,
    Grounding,
    Hits,
    Keywords,
    LevelStarted,
    LlmCall,
    QueryExpanded,
    QueryParsed,
    ScopeChosen,
    SubAnswer,
    SubQuestion,
    WaveStarted,
)
from engine.cli.console import Console, fit_width, one_line, short_path, terminal_columns
from engine.cli.render import location_of

SNIPPET_WIDTH = 100


@dataclass
class AskPrinter:
    """Human output of `needle ask`: streams answer text, keeps a step log for the end.

    On a terminal a transient status line on stderr shows what the agent is doing while no
    answer text has arrived yet (Level 2 may read for a while before it writes anything).
    """

    console: Console
    steps: list[str] = field(default_factory=list)
    streamed: bool = False
    at_line_start: bool = True
    status_visible: bool = False
    verdicts_relevant: int = 0
    verdicts_related: int = 0
    verdicts_read: int = 0
    verdicts_total: int = 0
    verdicts_cached: int = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, AnswerDelta):
            self._stream(event.text)
            return
        if isinstance(event, Grounding) and not event.grounded and self.streamed:
            # The text above was a draft its passages do not support: say so where it stands.
            self._stream_break(f"[not grounded, withdrawn: {event.reason}]")
        step = describe_event(event)
        if isinstance(event, ChunkVerdict):
            self.verdicts_total = event.total
            self.verdicts_read += 1
            self.verdicts_relevant += int(event.relevant)
            self.verdicts_related += int(event.grade == "related")
            self.verdicts_cached += int(event.cached)
            self._status(f"reading {event.done}/{event.total} passages…")
            return
        if step:
            # A new step closes the reading tally; model-call events in between do not.
            self._flush_verdicts()
            self.steps.append(step)
            self._status(step)

    def finish(self, answer: Answer) -> None:
        self.clear_status()
        self._flush_verdicts()
        out = self.console
        if not self.streamed:
            out.print(answer.text)
        elif not self.at_line_start:
            out.print()
        if answer.partial:
            out.print()
            count = answer.chunks_read
            out.print(out.bold(f"Partial reading: answered from the {count} passages read before"))
            out.print(out.bold("you stopped the reading; more passages may hold more."))
        if answer.citations:
            out.print()
            out.print(out.bold("Sources"))
            for citation in answer.citations:
                render_citation(out, citation)
        if answer.candidates and not answer.found:
            out.print()
            out.print(out.bold("Closest passages (they do not state the answer)"))
            for candidate in answer.candidates:
                render_citation(out, candidate)
        out.print()
        out.print(out.bold("Steps"))
        for step in self.steps:
            out.print(f"  - {step}")
        read = f", {answer.chunks_read} passages read" if answer.chunks_read else ""
        out.print(
            f"  - level {answer.level}: {answer.llm_calls} model calls{read}, "
            f"{answer.prompt_tokens} prompt + {answer.completion_tokens} completion tokens, "
            f"{answer.seconds:.1f} s"
        )
        out.out.flush()

    def _flush_verdicts(self) -> None:
        if not self.verdicts_read:
            return
        cached = f", {self.verdicts_cached} from cache" if self.verdicts_cached else ""
        related = f", {self.verdicts_related} related" if self.verdicts_related else ""
        self.steps.append(
            f"read {self.verdicts_read} passages: {self.verdicts_relevant} state the answer"
            f"{related}{cached}"
        )
        self.verdicts_read = self.verdicts_total = self.verdicts_relevant = 0
        self.verdicts_related = self.verdicts_cached = 0

    def _stream(self, text: str) -> None:
        if not text:
            return
        self.clear_status()
        self.console.out.write(text)
        self.console.out.flush()
        self.streamed = True
        self.at_line_start = text.endswith("\n")

    def _stream_break(self, note: str) -> None:
        prefix = "" if self.at_line_start else "\n"
        self.console.out.write(f"{prefix}\n{self.console.dim(note)}\n\n")
        self.at_line_start = True

    def _status(self, text: str) -> None:
        if not self.console.err_is_tty or self.streamed:
            return
        columns = terminal_columns()
        self.console.err.write("\r\x1b[K" + fit_width(one_line(text), columns - 1))
        self.console.err.flush()
        self.status_visible = True

    def clear_status(self) -> None:
        if self.status_visible:
            self.console.err.write("\r\x1b[K")
            self.console.err.flush()
            self.status_visible = False


def describe_event(event: Event) -> str:
    """One short line for the step log; empty for events that are not steps."""
    if isinstance(event, FollowUp):
        if event.method == "fallback":
            return f"follow-up kept as typed ({event.note})"
        return f"follow-up understood as: {one_line(event.question)}"
    if isinstance(event, LevelStarted):
        return f"level {event.level}" + (f": {event.reason}" if event.reason else "")
    if isinstance(event, QueryParsed):
        note = f" ({event.note})" if event.note else ""
        return f"question parsed [{event.method}]{note}: {one_line(event.information)}"
    if isinstance(event, Keywords):
        words = [*event.english, *event.chinese]
        return "keywords: " + (", ".join(words) if words else "(none)")
    if isinstance(event, QueryExpanded):
        words = [event.sentence_en, event.sentence_zh, *event.synonyms]
        return "search widened with: " + "; ".join(w for w in words if w)
    if isinstance(event, Hits):
        ms = event.seconds * 1000
        return f"{event.purpose}: {len(event.hits)} of {event.total} chunks in {ms:.0f} ms"
    if isinstance(event, ScopeChosen):
        pre = " after a BM25 prefilter" if event.prefiltered else ""
        read = f"reading {event.read_chunks} of {event.total_chunks} chunks{pre}"
        return f"scope: {event.description}; {read}"
    if isinstance(event, WaveStarted):
        return (
            f"wave {event.wave}: reading {event.chunks} more passages "
            f"({event.read_before} read, at most {event.ceiling}): {event.reason}"
        )
    if isinstance(event, EvidencePicked):
        return (
            f"{event.claimed} passages claimed to answer; {len(event.kept)} kept after a "
            "side-by-side look"
        )
    if isinstance(event, Grounding):
        how = "checked by a verification read" if event.method == "verify" else "text check"
        verdict = "grounded" if event.grounded else "NOT grounded"
        return f"answer check ({how}): {verdict}: {event.reason}"
    if isinstance(event, SubQuestion):
        return f"step {event.step}: {one_line(event.question)}"
    if isinstance(event, SubAnswer):
        return f"step {event.step} answer: {one_line(event.answer)[:160]}"
    if isinstance(event, LlmCall):
        return ""  # totals are in the final line; per-call detail is in --json
    if isinstance(event, ErrorEvent):
        return f"error: {event.message}"
    return ""


def render_citation(console: Console, citation: Citation) -> None:
    where = location_of(citation.page, citation.heading, citation.ocr)
    name = Path(citation.path).name
    console.print(f"[{citation.number}] {name}" + (f" — {where}" if where else ""))
    console.print(f"    {short_path(citation.path)}")
    quote = cited_excerpt(citation)
    if quote:
        console.print(f"    “{quote}”")


def cited_excerpt(citation: Citation, width: int = SNIPPET_WIDTH) -> str:
    """The highlighted span when there is one (what supports the answer), else the chunk's start."""
    if citation.highlights:
        start, end = citation.highlights[0]
        text = one_line(citation.text[start:end])
    else:
        text = one_line(citation.text)
    return text if len(text) <= width else text[: width - 1] + "…"


def one_at_a_time(sink: Callable[[Event], None]) -> Callable[[Event], None]:
    """Level 2 reads chunks on several threads; their events must not interleave mid-line."""
    lock = threading.Lock()

    def locked(event: Event) -> None:
        with lock:
            sink(event)

    return locked
