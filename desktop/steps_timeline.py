"""What the agent did, as a timeline people can read: built from the engine's agent events (plain
dicts, engine/agent/events.py) without any widget, so it is tested on recorded streams directly."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from desktop.rich_text import file_name, format_count, format_seconds, location_label

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
    where = location_label(ref.get("page"), ref.get("heading"))
    name = str(ref.get("title") or file_name(str(ref.get("path", ""))))
    return f"{name} · {where}" if where else name


class StepsTimeline:
    """Feed it events in order with `add`; read `steps` and `progress_text`."""

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

    @property
    def progress_text(self) -> str:
        """One short line for the answer header: where the agent is now."""
        parts: list[str] = []
        if self._level is not None:
            parts.append(f"Level {self._level}")
        if self._reading is not None and self._reading.done < self._reading.total:
            parts.append(f"reading passages {self._reading.done}/{self._reading.total}")
        elif self.steps and not self.steps[-1].title.startswith("Level "):
            parts.append(self.steps[-1].title[:60])
        else:
            parts.append("thinking…")
        return " · ".join(parts)

    # -- one handler per event type ------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[Mapping[str, Any], float], None]]:
        return {
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
        self._push(Step("▶", f"Level {self._level}", [reason] if reason else [], "accent"), elapsed)

    def _on_query_parsed(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = [f"Looking for: {event.get('information', '')}"]
        if event.get("instruction"):
            details.append(f"Instruction: {event['instruction']}")
        method = str(event.get("method", ""))
        note = str(event.get("note", ""))
        details.append(f"Method: {method}" + (f" ({note})" if note else ""))
        tone: Tone = "bad" if method == "fallback" else "normal"
        self._push(Step("?", "Understood the question", details, tone), elapsed)

    def _on_keywords(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = []
        if event.get("english"):
            details.append("English: " + ", ".join(event["english"]))
        if event.get("chinese"):
            details.append("Chinese: " + "、".join(event["chinese"]))
        if event.get("query"):
            details.append(f"Search: {event['query']}")
        self._push(Step("#", "Keywords", details or ["(none)"]), elapsed)

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
        purpose = str(event.get("purpose", "retrieval"))
        title = f"{len(hits)} hits ({purpose})"
        if total > len(hits):
            title = f"{len(hits)} of {format_count(total)} hits ({purpose})"
        if seconds:
            title += f" in {format_seconds(seconds)}"
        details = [
            f"{float(hit.get('score', 0.0)):6.2f}  {chunk_ref_label(hit)}"
            for hit in hits[:MAX_HITS_LISTED]
        ]
        if len(hits) > MAX_HITS_LISTED:
            details.append(f"… and {len(hits) - MAX_HITS_LISTED} more")
        self._push(Step("⌕", title, details), elapsed)

    def _on_scope(self, event: Mapping[str, Any], elapsed: float) -> None:
        total = int(event.get("total_chunks", 0))
        read = int(event.get("read_chunks", 0))
        detail = f"Reading {format_count(read)} of {format_count(total)} chunks"
        if event.get("prefiltered"):
            detail += ", prefiltered by a broad keyword search to fit the read budget"
        self._push(Step("◎", f"Scope: {event.get('description', '')}", [detail]), elapsed)
        self._reading = None
        self._scope_size = read

    def _ensure_reading(self, elapsed: float) -> _Reading:
        if self._reading is None:
            step = self._push(Step("≡", "Reading passages"), elapsed)
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
        reading.step.title = f"Reading passages {reading.done}/{reading.total}"
        summary = f"{reading.relevant} state the answer"
        if reading.related:
            summary += f", {reading.related} about its subject"
        if reading.cached:
            summary += f", {reading.cached} verdicts from cache"
        if reading.calls:
            tokens = format_count(reading.prompt_tokens)
            summary += f" · {reading.calls} model calls, {tokens} prompt tokens"
        quotes = reading.quotes[:MAX_QUOTES_LISTED]
        if len(reading.quotes) > MAX_QUOTES_LISTED:
            quotes.append(f"… and {len(reading.quotes) - MAX_QUOTES_LISTED} more quotes")
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
        self._push(Step("→", f"Step {step}: {event.get('question', '')}", [], "accent"), elapsed)

    def _on_sub_answer(self, event: Mapping[str, Any], elapsed: float) -> None:
        chunk_ids = event.get("chunk_ids") or ()
        details = [str(event.get("answer", ""))]
        if chunk_ids:
            details.append(f"Backed by {len(chunk_ids)} chunk{'s' if len(chunk_ids) != 1 else ''}")
        step = int(event.get("step", 0))
        self._push(Step("←", f"Step {step} answered", details, "good"), elapsed)

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
        title = f"Model call: {purpose}"
        detail = (
            f"{format_count(prompt)} prompt → {format_count(completion)} answer tokens, "
            f"{format_seconds(float(event.get('seconds', 0.0)))}"
        )
        self._push(Step("◆", title, [detail], "muted"), elapsed)

    def _on_answer(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = [
            f"Level {event.get('level', '?')} · {event.get('llm_calls', self.calls)} model calls · "
            f"{format_count(int(event.get('prompt_tokens', 0)))} prompt + "
            f"{format_count(int(event.get('completion_tokens', 0)))} answer tokens · "
            f"{format_seconds(float(event.get('seconds', 0.0)))}"
        ]
        timings = event.get("timings") or {}
        if timings:
            details.append(
                "Time: "
                + ", ".join(f"{name} {format_seconds(float(s))}" for name, s in timings.items())
            )
        found = event.get("found", True)
        if event.get("chunks_read"):
            details.append(f"Passages read one by one: {format_count(int(event['chunks_read']))}")
        if found:
            title = "Answer ready"
        elif event.get("candidates"):
            title = "No answer: the documents do not support one"
        else:
            title = "No answer: not found in the documents"
        self._push(Step("✓", title, details, "good" if found else "bad"), elapsed)

    def _on_error(self, event: Mapping[str, Any], elapsed: float) -> None:
        details = [str(event.get("message", ""))]
        if event.get("hint"):
            details.append(f"What to do: {event['hint']}")
        self._push(Step("✕", f"Error: {event.get('kind', 'error')}", details, "bad"), elapsed)
