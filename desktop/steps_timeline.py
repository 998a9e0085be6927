"""What the agent did, as a timeline people can read: built from the engine's agent events (plain
dicts, engine/agent/events.py) without any widget, so it is tested on recorded streams directly."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from desktop.errors import plain_error
from desktop.i18n import tr
from desktop.rich_text import file_name, format_count, format_seconds, location_label
from engine.errors import ErrorKind

Tone = Literal["normal", "good", "bad", "muted", "accent"]

MAX_HITS_LISTED = 8
MAX_QUOTES_LISTED = 12


@dataclass
class Step:
    glyph: str
    title: str
    details: list[str] = field(default_factory=list)
    tone: Tone = "normal"
    elapsed: float = 0.0
    key: tuple[str, str] | None = None  # an error's identity, so a repeat is not shown twice


def hits_purpose(purpose: str) -> str:
    names = {
        "retrieval": tr("retrieval"),
        "prefilter": tr("prefilter"),
        "requery": tr("search again with the quotes"),
        "context": tr("context"),
    }
    return names.get(purpose, purpose)


def call_purpose(purpose: str) -> str:
    names = {
        "parse": tr("understand the question"),
        "keywords": tr("keywords"),
        "read": tr("read a passage"),
        "answer": tr("write the answer"),
        "plan": tr("plan the next step"),
    }
    return names.get(purpose, purpose)


@dataclass
class _Reading:
    """The chunk-by-chunk reading of one scope, updated in place as verdicts arrive."""

    step: Step
    done: int = 0
    total: int = 0
    relevant: int = 0
    related: int = 0
    cached: int = 0
    quotes: list[str] = field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0


def chunk_ref_label(ref: Mapping[str, Any]) -> str:
    where = location_label(ref.get("page"), ref.get("heading"), ref.get("ocr"))
    name = str(ref.get("title") or file_name(str(ref.get("path", ""))))
    return f"{name} · {where}" if where else name


class StepsTimeline:
    """Feed it events in order with `add`; read `steps`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: float | None = None
        self.steps: list[Step] = []
        self._reading: _Reading | None = None
        self._level: int | None = None
        self._scope_size = 0
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    # -- public --------------------------------------------------------------------------------

    def add(self, event: Mapping[str, Any]) -> None:
        now = self._clock()
        if self._started is None:
            self._started = now
        handler = self._handlers().get(str(event.get("type", "")))
        if handler is not None:
            handler(event, now - self._started)

    def add_all(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            self.add(event)

    # -- one handler per event type ------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[Mapping[str, Any], float], None]]:
        return {
            "follow_up": self._on_follow_up,
            "level": self._on_level,
            "query_parsed": self._on_query_parsed,
            "keywords": self._on_keywords,
            "query_expanded": self._on_query_expanded,
            "hits": self._on_hits,
            "scope": self._on_scope,
            "chunk_verdict": self._on_verdict,
            "wave": self._on_wave,
            "evidence_picked": self._on_evidence_picked,
            "grounding": self._on_grounding,
            "sub_question": self._on_sub_question,
            "sub_answer": self._on_sub_answer,
            "llm_call": self._on_llm_call,
            "answer": self._on_answer,
            "error": self._on_error,
        }

    def _push(self, step: Step, elapsed: float) -> Step:
        step.elapsed = elapsed
        self.steps.append(step)
        return step

    def _on_level(self, event: Mapping[str, Any], elapsed: float) -> None:
        self._level = int(event.get("level", 0))
        self._reading = None
        reason = str(event.get("reason", ""))
        title = tr("Level {level}").format(level=self._level)
        self._push(Step("▶", title, [reason] if reason else [], "accent"), elapsed)

    def _on_follow_up(self, event: Mapping[str, Any], elapsed: float) -> None:
        turns = int(event.get("turns", 0))
        seen = (
            tr("From the earlier question") if turns == 1 else tr("From {n} earlier questions")
        ).format(n=turns)
        if event.get("method") == "fallback":
            details = [seen, str(event.get("note", ""))]
            title = tr("Follow-up kept as typed")
            self._push(Step("↻", title, [d for d in details if d], "bad"), elapsed)
            return
        details = [tr("Asked: {what}").format(what=event.get("original", "")), seen]
        title = tr("Follow-up understood as: {question}").format(question=event.get("question", ""))
        self._push(Step("↻", title, details, "accent"), elapsed)

    def _on_query_parsed(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = [tr("Looking for: {what}").format(what=event.get("information", ""))]
        if event.get("instruction"):
            details.append(tr("Instruction: {what}").format(what=event["instruction"]))
        method = str(event.get("method", ""))
        note = str(event.get("note", ""))
        details.append(
            tr("Method: {method}").format(method=method) + (f" ({note})" if note else "")
        )
        tone: Tone = "bad" if method == "fallback" else "normal"
        self._push(Step("?", tr("Understood the question"), details, tone), elapsed)

    def _on_keywords(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = []
        if event.get("english"):
            details.append(tr("English: {words}").format(words=", ".join(event["english"])))
        if event.get("chinese"):
            details.append(tr("Chinese: {words}").format(words="、".join(event["chinese"])))
        if event.get("query"):
            details.append(tr("Search: {query}").format(query=event["query"]))
        self._push(Step("#", tr("Keywords"), details or [tr("(none)")]), elapsed)

    def _on_query_expanded(self, event: Mapping[str, Any], elapsed: float) -> None:
        """Level 2's prefilter also searches for a model-imagined answer sentence."""
        details = [
            f"{label}: {event[key]}"
            for label, key in (("English", "sentence_en"), ("Chinese", "sentence_zh"))
            if event.get(key)
        ]
        if event.get("synonyms"):
            details.append("Other words: " + ", ".join(event["synonyms"]))
        self._push(Step("#", "Search widened with an imagined answer", details), elapsed)

    def _on_hits(self, event: Mapping[str, Any], elapsed: float) -> None:
        hits = list(event.get("hits") or ())
        total = int(event.get("total", 0) or len(hits))
        seconds = float(event.get("seconds", 0.0))
        purpose = hits_purpose(str(event.get("purpose", "retrieval")))
        title = tr("{n} hits ({purpose})").format(n=len(hits), purpose=purpose)
        if total > len(hits):
            title = tr("{n} of {total} hits ({purpose})").format(
                n=len(hits), total=format_count(total), purpose=purpose
            )
        if seconds:
            title += " " + tr("in {time}").format(time=format_seconds(seconds))
        details = [
            f"{float(hit.get('score', 0.0)):6.2f}  {chunk_ref_label(hit)}"
            for hit in hits[:MAX_HITS_LISTED]
        ]
        if len(hits) > MAX_HITS_LISTED:
            details.append(tr("… and {n} more").format(n=len(hits) - MAX_HITS_LISTED))
        self._push(Step("⌕", title, details), elapsed)

    def _on_scope(self, event: Mapping[str, Any], elapsed: float) -> None:
        total = int(event.get("total_chunks", 0))
        read = int(event.get("read_chunks", 0))
        detail = tr("Reading {read} of {total} passages").format(
            read=format_count(read), total=format_count(total)
        )
        if event.get("prefiltered"):
            detail += tr(", prefiltered by a broad keyword search to fit the read budget")
        title = tr("Scope: {scope}").format(scope=event.get("description", ""))
        self._push(Step("◎", title, [detail]), elapsed)
        self._reading = None
        self._scope_size = read

    def _ensure_reading(self, elapsed: float) -> _Reading:
        if self._reading is None:
            step = self._push(Step("≡", tr("Reading passages")), elapsed)
            self._reading = _Reading(step, total=self._scope_size)
        return self._reading

    def _on_verdict(self, event: Mapping[str, Any], elapsed: float) -> None:
        reading = self._ensure_reading(elapsed)
        reading.done = max(reading.done, int(event.get("done", 0)))
        reading.total = int(event.get("total", reading.total))
        reading.cached += 1 if event.get("cached") else 0
        reading.related += 1 if event.get("grade") == "related" else 0
        if event.get("relevant"):
            reading.relevant += 1
            label = chunk_ref_label(event.get("chunk") or {})
            for quote in event.get("quotes") or ():
                reading.quotes.append(f"✓ {label}: “{quote}”")
        reading.step.elapsed = elapsed
        self._refresh_reading(reading)

    def _refresh_reading(self, reading: _Reading) -> None:
        reading.step.title = tr("Reading passages {done}/{total}").format(
            done=reading.done, total=reading.total
        )
        summary = tr("{n} state the answer").format(n=reading.relevant)
        if reading.related:
            summary += tr(", {n} about its subject").format(n=reading.related)
        if reading.cached:
            summary += tr(", {n} verdicts from cache").format(n=reading.cached)
        if reading.calls:
            summary += " · " + tr("{calls} model calls, {tokens} prompt tokens").format(
                calls=reading.calls, tokens=format_count(reading.prompt_tokens)
            )
        quotes = reading.quotes[:MAX_QUOTES_LISTED]
        if len(reading.quotes) > MAX_QUOTES_LISTED:
            quotes.append(
                tr("… and {n} more quotes").format(n=len(reading.quotes) - MAX_QUOTES_LISTED)
            )
        reading.step.details = [summary, *quotes]
        reading.step.tone = "good" if reading.relevant else "normal"

    def _on_wave(self, event: Mapping[str, Any], elapsed: float) -> None:
        """Level 2 reads in waves of growing size; each wave says why it runs."""
        wave = int(event.get("wave", 1))
        chunks = int(event.get("chunks", 0))
        before = int(event.get("read_before", 0))
        ceiling = int(event.get("ceiling", 0))
        title = f"Wave {wave}: reading {format_count(chunks)} passages"
        details = [str(event.get("reason", ""))]
        if before:
            details.append(f"{format_count(before)} read before, at most {format_count(ceiling)}")
        self._push(Step("≋", title, [d for d in details if d]), elapsed)
        self._reading = None
        self._scope_size = ceiling

    def _on_evidence_picked(self, event: Mapping[str, Any], elapsed: float) -> None:
        """Several passages claimed to answer; a side-by-side look kept the convincing ones."""
        kept = list(event.get("kept") or ())
        claimed = int(event.get("claimed", 0))
        title = f"Kept {len(kept)} of {claimed} passages that claimed to answer"
        details = [chunk_ref_label(ref) for ref in kept[:MAX_HITS_LISTED]]
        self._reading = None
        self._push(Step("✓" if kept else "·", title, details), elapsed)

    def _on_grounding(self, event: Mapping[str, Any], elapsed: float) -> None:
        """The check of a drafted answer against its cited passages."""
        grounded = bool(event.get("grounded"))
        how = "a verification read" if event.get("method") == "verify" else "the text check"
        if grounded:
            title = "Answer checked: its passages support it"
        else:
            title = "Answer rejected: its passages do not support it"
        details = [f"{str(event.get('reason', '')).capitalize()} ({how})."]
        draft = str(event.get("answer", "")).strip()
        if draft and not grounded:
            details.append(f"Rejected draft: “{draft[:300]}”")
        self._push(
            Step("✓" if grounded else "✕", title, details, "good" if grounded else "bad"), elapsed
        )

    def _on_sub_question(self, event: Mapping[str, Any], elapsed: float) -> None:
        self._reading = None
        self._scope_size = 0
        step = int(event.get("step", 0))
        title = tr("Step {n}: {question}").format(n=step, question=event.get("question", ""))
        self._push(Step("→", title, [], "accent"), elapsed)

    def _on_sub_answer(self, event: Mapping[str, Any], elapsed: float) -> None:
        chunk_ids = event.get("chunk_ids") or ()
        details = [str(event.get("answer", ""))]
        if chunk_ids:
            count = len(chunk_ids)
            details.append(
                (tr("Backed by 1 passage") if count == 1 else tr("Backed by {n} passages")).format(
                    n=count
                )
            )
        step = int(event.get("step", 0))
        self._push(Step("←", tr("Step {n} answered").format(n=step), details, "good"), elapsed)

    def _on_llm_call(self, event: Mapping[str, Any], elapsed: float) -> None:
        prompt = int(event.get("prompt_tokens", 0))
        completion = int(event.get("completion_tokens", 0))
        self.calls += 1
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        purpose = str(event.get("purpose", ""))
        if purpose == "read":
            # Reading makes one call per chunk: fold them into the reading step, not 300 rows.
            reading = self._ensure_reading(elapsed)
            reading.calls += 1
            reading.prompt_tokens += prompt
            self._refresh_reading(reading)
            return
        title = tr("Model call: {purpose}").format(purpose=call_purpose(purpose))
        detail = tr("{prompt} prompt → {answer} answer tokens, {time}").format(
            prompt=format_count(prompt),
            answer=format_count(completion),
            time=format_seconds(float(event.get("seconds", 0.0))),
        )
        self._push(Step("◆", title, [detail], "muted"), elapsed)

    def _on_answer(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = [
            tr(
                "Level {level} · {calls} model calls · {prompt} prompt + {answer} answer tokens · "
                "{time}"
            ).format(
                level=event.get("level", "?"),
                calls=event.get("llm_calls", self.calls),
                prompt=format_count(int(event.get("prompt_tokens", 0))),
                answer=format_count(int(event.get("completion_tokens", 0))),
                time=format_seconds(float(event.get("seconds", 0.0))),
            )
        ]
        timings = event.get("timings") or {}
        if timings:
            details.append(
                tr("Time: {phases}").format(
                    phases=", ".join(
                        f"{name} {format_seconds(float(s))}" for name, s in timings.items()
                    )
                )
            )
        found = event.get("found", True)
        if event.get("chunks_read"):
            details.append(
                tr("Passages read one by one: {n}").format(
                    n=format_count(int(event["chunks_read"]))
                )
            )
        if found:
            title = tr("Answer ready")
        elif event.get("candidates"):
            title = tr("No answer: the documents do not support one")
        else:
            title = tr("No answer: not found in the documents")
        self._push(Step("✓", title, details, "good" if found else "bad"), elapsed)

    def _on_error(self, event: Mapping[str, Any], elapsed: float) -> None:
        """An error in words: its title, what happened and what to do (never the internal kind);
        the user's own Stop is not an error. The same error arriving twice (as an event of the
        stream and as the request's reply) is shown once."""
        plain = plain_error(event)
        if plain.kind is ErrorKind.CANCELLED:
            self._push(Step("■", tr("Stopped by you"), [], "muted"), elapsed)
            return
        if self.steps and self.steps[-1].key == plain.same_as:
            return
        details = [plain.message]
        if plain.hint:
            details.append(tr("What to do: {hint}").format(hint=plain.hint))
        step = self._push(Step("✕", plain.title, details, "bad"), elapsed)
        step.key = plain.same_as
