"""Level 1 — keyword RAG: keywords in both languages -> BM25 -> best chunks packed into the
window -> one streamed answer with citations."""

from __future__ import annotations

import time

from engine.agent.answering import context_room, write_answer
from engine.agent.citations import cite_blocks
from engine.agent.context import pack_context
from engine.agent.events import Hits
from engine.agent.keywords import is_chinese, text_keywords
from engine.agent.outcome import LevelOutcome, hit_refs, keyword_spans
from engine.agent.parse import ParsedQuestion
from engine.agent.prompts import no_documents_reply
from engine.agent.session import Session
from engine.models import SearchFilters, SearchHit

RETRIEVAL_LIMIT = 40  # more than fit in an 8k window (about 13 chunks): packing picks from these
COMPRESSED_RETRIEVAL_FACTOR = 3  # compressed chunks are ~4x smaller, so offer more of them


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


def run_level1(
    session: Session, parsed: ParsedQuestion, filters: SearchFilters | None
) -> LevelOutcome:
    terms = search_terms(parsed)
    compress = session.options.compress_context
    limit = RETRIEVAL_LIMIT * (COMPRESSED_RETRIEVAL_FACTOR if compress else 1)
    hits = retrieve(session, terms, filters, limit, "retrieval")
    if not hits:
        reply = no_documents_reply(is_chinese(parsed.question))
        return LevelOutcome(1, reply, (), found=False, nothing_matched=True)
    room = context_room(session, parsed.information, parsed.instruction)
    compress_for = [parsed.information, *terms] if compress else []
    packed = pack_context(hits, room, compress_for=compress_for)
    context_hits = [h for block in packed.blocks for h in block.hits]
    session.emit(Hits("context", hit_refs(context_hits, len(context_hits)), total=len(hits)))
    draft = write_answer(session, packed.blocks, parsed.information, parsed.instruction)
    if not draft.found:
        return LevelOutcome(1, draft.text, (), found=False)
    cited = cite_blocks(draft.text, packed.blocks, lambda hit: keyword_spans(hit.text, terms))
    return LevelOutcome(1, cited.text, cited.citations, True, cited.inferred)
