"""Level 1 — keyword RAG: keywords in both languages -> BM25 -> the hits the scores support packed
into the window -> one streamed answer with citations, checked against the cited passages.

A small model answers from whatever is in front of it, so the context holds only what the
scores support: hits far below the best one, or holding none of the query's terms, would only
dilute it (with the 0.5B model a keyword needle scored 116 against 5.5 for the next hit, and a
dozen such padding chunks made it answer NOT_FOUND)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from engine.agent.answering import context_room, write_answer
from engine.agent.citations import Span, cite_blocks
from engine.agent.context import pack_context, query_terms
from engine.agent.events import Hits
from engine.agent.grounding import ground_cited
from engine.agent.keywords import is_chinese, text_keywords
from engine.agent.outcome import LevelOutcome, closest, hit_refs, keyword_spans
from engine.agent.parse import ParsedQuestion
from engine.agent.prompts import no_documents_reply
from engine.agent.session import Session
from engine.models import SearchFilters, SearchHit

RETRIEVAL_LIMIT = 40  # more than fit in an 8k window (about 13 chunks): packing picks from these
COMPRESSED_RETRIEVAL_FACTOR = 3  # compressed chunks are ~4x smaller, so offer more of them
SCORE_FLOOR = 0.2  # a hit scoring below this share of the best one does not enter the context
MIN_CONTEXT_HITS = 3  # … unless it is among the first few, which still clear the lower floor
LOW_SCORE_FLOOR = 0.08


def search_terms(parsed: ParsedQuestion) -> list[str]:
    """The parse step's keywords, or the question's own words when it gave none."""
    if parsed.keywords:
        return list(parsed.keywords)
    english, chinese = text_keywords(parsed.information)
    return english + chinese or [parsed.information]


def retrieve(
    session: Session, terms: list[str], filters: SearchFilters | None, limit: int, purpose: str
) -> list[SearchHit]:
    started = time.monotonic()
    hits = session.index.search_keywords(terms, limit=limit, filters=filters)
    seconds = time.monotonic() - started
    session.add_time("search", seconds)
    session.emit(Hits(purpose, hit_refs(hits), total=len(hits), seconds=round(seconds, 4)))
    return hits


def supported_hits(hits: Sequence[SearchHit], terms: Sequence[str]) -> list[SearchHit]:
    """The hits worth a small model's attention: close enough to the best score and holding at
    least one of the query's terms. The best hit always stays."""
    if not hits:
        return []
    best = max(float(hits[0].score), 1e-9)
    wanted = query_terms(terms)
    kept: list[SearchHit] = []
    for rank, hit in enumerate(hits):
        share = float(hit.score) / best
        floor = LOW_SCORE_FLOOR if rank < MIN_CONTEXT_HITS else SCORE_FLOOR
        if rank > 0 and (share < floor or not (wanted & query_terms([hit.text]))):
            continue
        kept.append(hit)
    return kept


def with_prior(hits: Sequence[SearchHit], prior: Sequence[SearchHit]) -> list[SearchHit]:
    """The hits, then the earlier turns' cited chunks they do not already hold: packing keeps
    those only when room is left after this question's own hits."""
    seen = {hit.chunk_id for hit in hits}
    return [*hits, *(hit for hit in prior if hit.chunk_id not in seen)]


def run_level1(
    session: Session, parsed: ParsedQuestion, filters: SearchFilters | None
) -> LevelOutcome:
    terms = search_terms(parsed)
    compress = session.options.compress_context
    limit = RETRIEVAL_LIMIT * (COMPRESSED_RETRIEVAL_FACTOR if compress else 1)
    hits = retrieve(session, terms, filters, limit, "retrieval")
    if not hits and not session.prior:
        reply = no_documents_reply(is_chinese(parsed.question))
        return LevelOutcome(
            1, reply, (), found=False, nothing_matched=True, grounding="nothing matched the search"
        )
    offered = supported_hits(hits, terms) if session.options.score_gap else hits
    offered = with_prior(offered, session.prior)
    room = context_room(session, parsed.information, parsed.instruction)
    compress_for = [parsed.information, *terms] if compress else []
    packed = pack_context(offered, room, compress_for=compress_for, count=session.budget.tokens)
    context_hits = [h for block in packed.blocks for h in block.hits]
    session.emit(Hits("context", hit_refs(context_hits, len(context_hits)), total=len(hits)))
    candidates = closest(context_hits, terms)
    draft = write_answer(session, packed.blocks, parsed.information, parsed.instruction)
    if not draft.found:
        return LevelOutcome(
            1,
            draft.text,
            (),
            found=False,
            grounding="the answer said the retrieved passages do not contain the answer",
            candidates=candidates,
            context=tuple(context_hits),
        )

    def highlighter(hit: SearchHit) -> tuple[Span, ...]:
        return keyword_spans(hit.text, terms)

    cited, grounding = ground_cited(
        session,
        level=1,
        question=parsed.information,
        cited=cite_blocks(draft.text, packed.blocks, highlighter),
        blocks=packed.blocks,
        highlighter=highlighter,
    )
    return LevelOutcome(
        1,
        cited.text,
        cited.citations,
        True,
        cited.inferred,
        grounded=grounding.grounded,
        grounding=grounding.reason,
        candidates=candidates,
        context=tuple(context_hits),
    )
