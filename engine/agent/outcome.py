"""What a level hands back to the runner, and small conversions every level shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.agent.citations import Span
from engine.agent.events import ChunkRef, Citation
from engine.models import SearchHit
from engine.search.highlight import highlight_spans

HITS_SHOWN = 20  # hits listed in a Hits event; `total` still says how many matched


@dataclass(frozen=True)
class LevelOutcome:
    level: int
    text: str
    citations: tuple[Citation, ...]
    found: bool
    citations_inferred: bool = False
    nothing_matched: bool = False  # not found because the search or reading found no candidate
    grounded: bool = False  # a found answer whose cited passages support it
    grounding: str = ""  # why it is (not) grounded
    # The closest passages, when nothing grounded was found (numbered 1.., no claim attached).
    candidates: tuple[Citation, ...] = ()
    context: tuple[SearchHit, ...] = ()  # Level 1's context, ranked: auto's Level 2 reads it first
    partial: bool = False  # the user stopped the reading: answered from what was read so far


def hit_ref(hit: SearchHit) -> ChunkRef:
    return ChunkRef(
        chunk_id=hit.chunk_id,
        path=hit.path,
        title=hit.title,
        page=hit.page,
        heading=" > ".join(hit.heading),
        score=round(float(hit.score), 4),
        ocr=hit.ocr,
    )


def hit_refs(hits: Sequence[SearchHit], limit: int = HITS_SHOWN) -> tuple[ChunkRef, ...]:
    return tuple(hit_ref(h) for h in hits[:limit])


CLOSEST_SHOWN = 5


def closest(hits: Sequence[SearchHit], keywords: Sequence[str] = ()) -> tuple[Citation, ...]:
    """The passages that came closest to answering, as numbered citations without a claim."""
    from engine.agent.citations import citation_for_hit

    return tuple(
        citation_for_hit(hit, number, keyword_spans(hit.text, keywords))
        for number, hit in enumerate(hits[:CLOSEST_SHOWN], start=1)
    )


def keyword_spans(text: str, keywords: Sequence[str]) -> tuple[Span, ...]:
    if not keywords:
        return ()
    return tuple((h.start, h.end) for h in highlight_spans(text, list(keywords)))
