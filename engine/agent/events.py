"""Agent events: the only thing the CLI and the desktop know about what the agent is doing.
Each event serializes to a flat JSON object with a "type" key (see docs/protocol.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class ChunkRef:
    chunk_id: str
    path: str
    title: str = ""
    page: int | None = None
    heading: str = ""
    score: float = 0.0
    ocr: bool = False


@dataclass(frozen=True)
class Citation:
    number: int  # the n in [n] in the answer text
    chunk_id: str
    path: str
    title: str
    text: str  # the cited chunk's full text
    highlights: tuple[tuple[int, int], ...] = ()  # spans of `text` that support the answer
    page: int | None = None
    heading: str = ""
    start: int = 0  # the chunk's character span in the document
    end: int = 0
    ocr: bool = False  # the chunk's text was recognised in an image


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type
        return data


@dataclass(frozen=True)
class LevelStarted(Event):
    type: ClassVar[str] = "level"
    level: int
    reason: str = ""  # why this level runs (first try, escalation because …)


@dataclass(frozen=True)
class FollowUp(Event):
    """A follow-up question rewritten from the thread's earlier turns into one that stands alone;
    the levels answer `question`."""

    type: ClassVar[str] = "follow_up"
    original: str
    question: str
    turns: int  # earlier turns the rewrite saw (the oldest may be left out to fit the window)
    method: str = "model"  # model | fallback (the reply was unusable: the question as typed)
    note: str = ""


@dataclass(frozen=True)
class QueryParsed(Event):
    type: ClassVar[str] = "query_parsed"
    information: str
    instruction: str
    method: str  # structured | two_call | fallback
    note: str = ""  # e.g. why the fallback was used
    kind: str = "fact"  # fact | list | all: how much Level 2 reads (engine/agent/parse.py)
    multi_hop: bool = False


@dataclass(frozen=True)
class Keywords(Event):
    type: ClassVar[str] = "keywords"
    english: tuple[str, ...]
    chinese: tuple[str, ...]
    query: str = ""  # the BM25 query built from them


@dataclass(frozen=True)
class QueryExpanded(Event):
    """Words a model imagined in the sentence that answers, added to Level 2's prefilter: a note
    rarely uses the question's own words."""

    type: ClassVar[str] = "query_expanded"
    sentence_en: str
    sentence_zh: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hits(Event):
    type: ClassVar[str] = "hits"
    purpose: str  # retrieval | prefilter | requery | context
    hits: tuple[ChunkRef, ...]
    total: int = 0  # how many matched before truncation
    seconds: float = 0.0


@dataclass(frozen=True)
class ScopeChosen(Event):
    type: ClassVar[str] = "scope"
    description: str  # "the whole corpus", "folder ~/notes", "file a.pdf"
    total_chunks: int
    read_chunks: int
    prefiltered: bool = False


@dataclass(frozen=True)
class ChunkVerdict(Event):
    type: ClassVar[str] = "chunk_verdict"
    chunk: ChunkRef
    relevant: bool
    quotes: tuple[str, ...]
    done: int
    total: int
    cached: bool = False
    grade: str = ""  # answers | related | no (engine/agent/prompts.py VERDICT_GRADES)
    answer: str = ""  # the short answer the quoted sentences give, in the question's language


@dataclass(frozen=True)
class EvidencePicked(Event):
    """Of the passages a wave's readers claimed answer, the ones a side-by-side look kept."""

    type: ClassVar[str] = "evidence_picked"
    claimed: int
    kept: tuple[ChunkRef, ...]


@dataclass(frozen=True)
class WaveStarted(Event):
    """Level 2 reads its candidates in ranked waves and stops when the evidence answers."""

    type: ClassVar[str] = "wave"
    wave: int  # 1, 2, …
    chunks: int  # how many this wave reads
    read_before: int  # chunks read by earlier waves
    ceiling: int  # the most this reading may read (the read budget, or the scope if smaller)
    reason: str = ""  # why this wave runs


@dataclass(frozen=True)
class Grounding(Event):
    """The check of a drafted answer against its cited passages (engine/agent/grounding.py)."""

    type: ClassVar[str] = "grounding"
    level: int
    grounded: bool
    reason: str  # "the answer's year 1902 occurs in none of the cited passages"
    method: str  # text | verify: free text checks, or a verification read by the model
    answer: str = ""  # the draft that was checked (an ungrounded one is never shown as found)
    support_chunk_id: str = ""  # an uncited chunk that states the answer (it is then cited)


@dataclass(frozen=True)
class SubQuestion(Event):
    type: ClassVar[str] = "sub_question"
    step: int
    question: str


@dataclass(frozen=True)
class SubAnswer(Event):
    type: ClassVar[str] = "sub_answer"
    step: int
    question: str
    answer: str
    chunk_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LlmCall(Event):
    type: ClassVar[str] = "llm_call"
    purpose: str  # parse | keywords | read | answer | plan
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclass(frozen=True)
class AnswerDelta(Event):
    type: ClassVar[str] = "answer_delta"
    text: str


@dataclass(frozen=True)
class Answer(Event):
    type: ClassVar[str] = "answer"
    text: str
    citations: tuple[Citation, ...]
    level: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    found: bool = True  # False when the documents did not contain the answer
    # True when the model cited nothing and the sources were inferred (shown as "probable").
    citations_inferred: bool = False
    # True only for a found answer whose cited passages support it (engine/agent/grounding.py).
    grounded: bool = False
    grounding: str = ""  # why it is (not) grounded, in words
    # When no grounded answer was found: the passages that came closest, best first. They are
    # not citations: the answer claims nothing from them.
    candidates: tuple[Citation, ...] = ()
    chunks_read: int = 0  # passages the model read one by one (Levels 2 and 3)
    # The user stopped the reading early: the answer comes from the passages read until then.
    partial: bool = False
    rewritten: str = ""  # the self-contained question a follow-up became (FollowUp)
    thread_id: str = ""  # the thread the answer was stored in ("" when it was not stored)
    turn: int = 0  # its position in that thread


@dataclass(frozen=True)
class ErrorEvent(Event):
    type: ClassVar[str] = "error"
    kind: str
    message: str
    hint: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        LevelStarted,
        FollowUp,
        QueryParsed,
        Keywords,
        QueryExpanded,
        Hits,
        ScopeChosen,
        ChunkVerdict,
        EvidencePicked,
        WaveStarted,
        Grounding,
        SubQuestion,
        SubAnswer,
        LlmCall,
        AnswerDelta,
        Answer,
        ErrorEvent,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of Event.to_dict, for clients that read recorded or streamed events."""
    cls = EVENT_TYPES[data["type"]]
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in ("hits", "kept"):
            value = tuple(ChunkRef(**h) for h in value)
        elif f.name == "chunk":
            value = ChunkRef(**value)
        elif f.name in ("citations", "candidates"):
            value = tuple(
                Citation(**{**c, "highlights": tuple(tuple(s) for s in c.get("highlights", ()))})
                for c in value
            )
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)
