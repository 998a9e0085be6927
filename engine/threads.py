"""Threads: the questions a user asked one after another, each stored with its answer, citations,
steps and the passages the agent read (engine/library/threads.py keeps them in SQLite).

These are plain data shared by the store, the exports, the CLI, the service and the desktop.
A stored citation carries the hash of its chunk's text at the time: while the index still holds
that chunk with that text, the citation is `current`; when the file changed it is `changed`, when
the file is gone `vanished` (filled in by `Engine.thread`, "" when it was not checked)."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from engine.lang import sentence_breaks

CitationState = Literal["", "current", "changed", "vanished"]
STALE_STATES: tuple[str, ...] = ("changed", "vanished")


def text_hash(text: str) -> str:
    """The hash a stored citation keeps of its chunk's text."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def quoted_sentences(text: str, spans: Sequence[tuple[int, int]], limit: int = 400) -> str:
    """The sentences of `text` that hold the highlighted `spans` (the words that support an
    answer), joined; the text's first sentence when nothing is highlighted. At most `limit`
    characters, cut at a word."""
    breaks = [0, *sentence_breaks(text), len(text)]
    chosen: list[tuple[int, int]] = []
    for start, _end in sorted(spans):
        index = bisect.bisect_right(breaks, start) - 1
        sentence = (breaks[max(index, 0)], breaks[min(index + 1, len(breaks) - 1)])
        if sentence not in chosen:
            chosen.append(sentence)
    if not chosen:
        chosen = [(breaks[0], breaks[1])]
    quote = " … ".join(" ".join(text[a:b].split()) for a, b in chosen)
    if len(quote) <= limit:
        return quote
    cut = quote[: limit - 1]
    return (cut[: cut.rfind(" ")] if " " in cut[limit // 2 :] else cut).rstrip() + "…"


@dataclass(frozen=True)
class StoredCitation:
    """Source [number] of a stored answer: where it is and the sentence that supports it."""

    number: int
    chunk_id: str
    path: str
    title: str = ""
    page: int | None = None
    heading: str = ""
    quote: str = ""  # the supporting sentence(s) of the chunk, as the answer cited them
    content_hash: str = ""  # text_hash of the chunk's text when the answer was written
    start: int = 0  # the chunk's character span in its document
    end: int = 0
    state: CitationState = ""

    @property
    def stale(self) -> bool:
        return self.state in STALE_STATES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredCitation:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class ReadPassage:
    """One chunk the agent had in front of it while answering, with its text at that time."""

    chunk_id: str
    path: str
    text: str
    start: int = 0
    page: int | None = None
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadPassage:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Turn:
    """One question of a thread and everything its answer was made of."""

    thread_id: str
    position: int  # 1, 2, … within the thread
    question: str  # as the user typed it
    answer: str
    rewritten: str = ""  # the self-contained question a follow-up became ("" when not rewritten)
    level: int = 0
    model: str = ""
    found: bool = False
    grounded: bool = False
    citations: tuple[StoredCitation, ...] = ()
    events: tuple[dict[str, Any], ...] = ()  # the steps, as the agent's events serialize them
    read: tuple[ReadPassage, ...] = ()  # in document order
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    asked_at: float = 0.0  # unix seconds
    kept: bool = False  # the user copied or exported the answer

    @property
    def asked(self) -> str:
        """The question the levels answered: the rewritten follow-up, else the question."""
        return self.rewritten or self.question

    @property
    def stale(self) -> bool:
        return any(citation.stale for citation in self.citations)

    def with_states(self, states: dict[str, CitationState]) -> Turn:
        cited = tuple(replace(c, state=states.get(c.chunk_id, c.state)) for c in self.citations)
        return replace(self, citations=cited)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["citations"] = [c.to_dict() for c in self.citations]
        data["events"] = list(self.events)
        data["read"] = [p.to_dict() for p in self.read]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        known = _known(cls, data)
        known["citations"] = tuple(StoredCitation.from_dict(c) for c in data.get("citations", ()))
        known["events"] = tuple(dict(e) for e in data.get("events", ()))
        known["read"] = tuple(ReadPassage.from_dict(p) for p in data.get("read", ()))
        return cls(**known)


@dataclass(frozen=True)
class Thread:
    thread_id: str
    title: str
    created: float
    updated: float
    turns: tuple[Turn, ...] = ()

    @property
    def stale(self) -> bool:
        return any(turn.stale for turn in self.turns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "turns": [turn.to_dict() for turn in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thread:
        known = _known(cls, data)
        known["turns"] = tuple(Turn.from_dict(t) for t in data.get("turns", ()))
        return cls(**known)


@dataclass(frozen=True)
class ThreadSummary:
    """A line of the history list."""

    thread_id: str
    title: str
    created: float
    updated: float
    turns: int
    last_question: str = ""
    stale_sources: int = 0  # citations whose file changed or vanished since they were cited

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThreadSummary:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class TraceFilter:
    """Which stored answers `needle export-traces` writes."""

    grounded_only: bool = False
    since: float | None = None  # unix seconds
    level: int | None = None


@dataclass(frozen=True)
class TraceStats:
    """What an export of traces held (`needle export-traces --stats`)."""

    records: int = 0
    grounded: int = 0
    kept: int = 0
    by_level: dict[int, int] = field(default_factory=dict)
    context_tokens: int = 0  # the read text's estimated tokens, summed
    longest_context_tokens: int = 0
    skipped_without_reading: int = 0  # answers the agent wrote without reading any passage
    skipped_duplicates: int = 0  # the same question answered the same way again

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["by_level"] = {str(level): count for level, count in sorted(self.by_level.items())}
        return data
