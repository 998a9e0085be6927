"""Level 2 — chunk-by-chunk reading of a scope.

Every candidate chunk of the scope is read by the model (the reader model when one is set),
several at once (as many as the reading model's servers take), and judged: relevant or not, with
the sentences that matter quoted verbatim. Quotes that do not occur in the chunk are dropped.
When the scope holds more chunks than `settings.read_budget`, a broad BM25 query (question words +
keywords) picks which to read, and the ScopeChosen event says "read N of M". Verdicts are cached,
so asking again costs no reads.

The quoted sentences then become a BM25 re-query, and the final context holds the relevant chunks,
the re-queried ones and, in an <evidence> section, the quotes themselves with their block ids."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from engine.agent import prompts
from engine.agent.answering import context_room, write_answer
from engine.agent.citations import cite_blocks, locate_quote, quote_highlighter
from engine.agent.context import (
    ContextBlock,
    PackResult,
    pack_context,
    short_source,
)
from engine.agent.events import ChunkVerdict, Hits, ScopeChosen
from engine.agent.jsonreply import boolean, extract_json_object, string_list
from engine.agent.keywords import is_chinese, text_keywords
from engine.agent.level1 import retrieve
from engine.agent.outcome import LevelOutcome, hit_ref, hit_refs, keyword_spans
from engine.agent.scope import Scope
from engine.agent.session import Session
from engine.agent.verdict_cache import Verdict, VerdictCache, verdict_key
from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.lang import split_sentences
from engine.models import SearchHit

READ_REPLY_TOKENS = 400
MAX_QUOTES_PER_CHUNK = 5
REQUERY_LIMIT = 20
EVIDENCE_SHARE = 3  # quotes may take at most 1/3 of the context room
WHOLE_PASSAGE_SHARE = 0.5  # a "quote" longer than this share of its chunk is no evidence


@dataclass(frozen=True)
class ReadResult:
    hit: SearchHit
    verdict: Verdict
    cached: bool


def run_level2(
    session: Session,
    question: str,
    instruction: str,
    keywords: Sequence[str],
    scope: Scope,
    cache: VerdictCache,
    *,
    stream: bool = True,
) -> LevelOutcome:
    """Read the scope for `question` and answer from what was found."""
    candidates = choose_candidates(session, question, keywords, scope)
    if not candidates:
        return _not_found(question)
    results = read_candidates(session, candidates, question, cache)
    relevant = _in_candidate_order(candidates, [r for r in results if r.verdict.relevant])
    if not relevant:
        return _not_found(question)
    quotes_by_chunk = {r.hit.chunk_id: r.verdict.quotes for r in relevant if r.verdict.quotes}
    requeried = _requery(session, quotes_by_chunk, scope)
    ranked = [r.hit for r in relevant] + requeried
    blocks, evidence = _build_context(session, question, instruction, ranked, quotes_by_chunk)
    draft = write_answer(session, blocks, question, instruction, evidence=evidence, stream=stream)
    if not draft.found:
        return LevelOutcome(2, draft.text, (), found=False)
    terms = list(keywords) or [question]
    highlighter = quote_highlighter(quotes_by_chunk, lambda hit: keyword_spans(hit.text, terms))
    cited = cite_blocks(draft.text, blocks, highlighter)
    return LevelOutcome(2, cited.text, cited.citations, True, cited.inferred)


def _not_found(question: str) -> LevelOutcome:
    reply = prompts.no_documents_reply(is_chinese(question))
    return LevelOutcome(2, reply, (), found=False, nothing_matched=True)


# ---------------------------------------------------------------- choosing what to read


def choose_candidates(
    session: Session, question: str, keywords: Sequence[str], scope: Scope
) -> list[SearchHit]:
    """All chunks of the scope when they fit the read budget, else the best of a broad BM25
    query. Emits ScopeChosen (and Hits for the prefilter)."""
    budget = session.settings.read_budget
    total = session.index.count(scope.filters)
    if total <= budget:
        candidates = session.index.scope_chunks(scope.filters) if total else []
        session.emit(ScopeChosen(scope.description, total, len(candidates), prefiltered=False))
        return candidates
    english, chinese = text_keywords(question)
    terms = list(dict.fromkeys([*keywords, *english, *chinese]))
    candidates = retrieve(session, terms, scope.filters, budget, "prefilter")
    session.emit(ScopeChosen(scope.description, total, len(candidates), prefiltered=True))
    return candidates


# ---------------------------------------------------------------- reading, in parallel


def read_candidates(
    session: Session, candidates: list[SearchHit], question: str, cache: VerdictCache
) -> list[ReadResult]:
    """Verdicts for every candidate, emitted as ChunkVerdict events in completion order.
    Cached verdicts cost no call. On cancellation or error no further read is started and the
    ones in flight are aborted through a child token."""
    total = len(candidates)
    results: list[ReadResult] = []
    to_read: deque[SearchHit] = deque()
    for hit in candidates:
        cached = cache.get(verdict_key(hit.text, question, session.model_for("read").name))
        if cached is None:
            to_read.append(hit)
        else:
            results.append(ReadResult(hit, cached, cached=True))
            _emit_verdict(session, results[-1], len(results), total)
    if not to_read:
        return results
    reads = CancelToken()
    unlink = session.cancel.on_cancel(reads.cancel)
    started = time.monotonic()
    try:
        _read_in_pool(session, to_read, question, cache, reads, results, total)
    finally:
        unlink()
        session.add_time("read", time.monotonic() - started)
    return results


def _read_in_pool(
    session: Session,
    to_read: deque[SearchHit],
    question: str,
    cache: VerdictCache,
    reads: CancelToken,
    results: list[ReadResult],
    total: int,
) -> None:
    workers = session.read_concurrency
    running: dict[Future[Verdict], SearchHit] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="needle-read")
    try:
        while to_read or running:
            while to_read and len(running) < workers and not reads.cancelled:
                hit = to_read.popleft()
                running[pool.submit(read_chunk, session, hit, question, reads)] = hit
            if reads.cancelled:
                raise Cancelled()
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                hit = running.pop(future)
                verdict = future.result()  # a failed read stops the whole reading
                cache.put(verdict_key(hit.text, question, session.model_for("read").name), verdict)
                results.append(ReadResult(hit, verdict, cached=False))
                _emit_verdict(session, results[-1], len(results), total)
    except BaseException:
        reads.cancel()  # abort the reads still in flight
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    session.cancel.raise_if_cancelled()


def _emit_verdict(session: Session, result: ReadResult, done: int, total: int) -> None:
    session.emit(
        ChunkVerdict(
            chunk=hit_ref(result.hit),
            relevant=result.verdict.relevant,
            quotes=result.verdict.quotes,
            done=done,
            total=total,
            cached=result.cached,
        )
    )


def read_chunk(session: Session, hit: SearchHit, question: str, cancel: CancelToken) -> Verdict:
    """One model call judging one chunk; quotes not found in the chunk are dropped."""
    text = _fit_chunk_text(session, hit, question)
    block = prompts.DocumentBlock(
        1, short_source(hit.path), text, hit.page, " > ".join(hit.heading)
    )
    reply = session.chat(
        prompts.read_messages(block, question),
        purpose="read",
        json_schema=prompts.VERDICT_SCHEMA,
        max_tokens=READ_REPLY_TOKENS,
        cancel=cancel,
    )
    return verdict_from_reply(reply.content, hit.text)


def _fit_chunk_text(session: Session, hit: SearchHit, question: str) -> str:
    """The chunk text, cut at a sentence when (rarely) it would not fit beside the prompt."""
    room = session.budget.available_for_context(
        prompts.READ_SYSTEM, "", prompts.question_section(question)
    )
    room -= session.budget.tokens(prompts.render_document(prompts.DocumentBlock(1, hit.path, "")))
    return session.budget.truncate(hit.text, max(room, 0))


def verdict_from_reply(reply: str, chunk_text: str) -> Verdict:
    """Parse a verdict and keep only quotes that really occur in the chunk, as the chunk spells
    them. A reply whose every quote was invented is not relevant; a bare "none" or unparsable
    reply is not relevant either. A "quote" that is most of the passage (small models copy it
    all) points at nothing in particular: it is dropped, and the model's own relevant flag
    decides."""
    data = extract_json_object(reply)
    if data is None:
        return Verdict(False)
    claimed = boolean(data.get("relevant"), default=False)
    offered = string_list(data.get("quotes"))
    located = [_located(chunk_text, quote) for quote in offered]
    found = [text for text in located if text]
    if offered and not found:
        return Verdict(False)
    precise = [text for text in dict.fromkeys(found) if not _most_of(text, chunk_text)]
    return Verdict(claimed or bool(precise), tuple(precise[:MAX_QUOTES_PER_CHUNK]))


def _located(chunk_text: str, quote: str) -> str:
    span = locate_quote(chunk_text, quote)
    return chunk_text[span[0] : span[1]] if span else ""


def _most_of(quote: str, chunk_text: str) -> bool:
    return len(quote) > WHOLE_PASSAGE_SHARE * len(chunk_text) and len(split_sentences(quote)) > 2


def _in_candidate_order(candidates: list[SearchHit], results: list[ReadResult]) -> list[ReadResult]:
    position = {hit.chunk_id: i for i, hit in enumerate(candidates)}
    return sorted(results, key=lambda r: position.get(r.hit.chunk_id, len(position)))


# ---------------------------------------------------------------- re-query and final context


def _requery(
    session: Session, quotes_by_chunk: dict[str, tuple[str, ...]], scope: Scope
) -> list[SearchHit]:
    quotes = [q for quotes in quotes_by_chunk.values() for q in quotes]
    if not quotes:
        return []
    return retrieve(session, quotes, scope.filters, REQUERY_LIMIT, "requery")


def _build_context(
    session: Session,
    question: str,
    instruction: str,
    ranked: list[SearchHit],
    quotes_by_chunk: dict[str, tuple[str, ...]],
) -> tuple[list[ContextBlock], str]:
    """Blocks for the relevant and re-queried chunks, plus the <evidence> section. A quoted chunk
    that does not fit whole is still represented by a small block of its quotes alone."""
    quote_hits = {h.chunk_id: h for h in ranked if h.chunk_id in quotes_by_chunk}
    quotes_by_chunk = _cap_quotes(session, question, instruction, quotes_by_chunk)
    draft_evidence = _evidence(quotes_by_chunk, {cid: 999 for cid in quotes_by_chunk})
    room = context_room(session, question, instruction, draft_evidence)
    compress_for = [question] if session.options.compress_context else []
    reserve = 0
    packed: PackResult | None = None
    blocks: list[ContextBlock] = []
    for _ in range(4):
        packed = pack_context(ranked, max(room - reserve, 0), compress_for=compress_for)
        blocks = _with_quote_blocks(packed.blocks, quotes_by_chunk, quote_hits)
        needed = sum(
            session.budget.tokens(prompts.render_document(b.document())) + 1 for b in blocks
        )
        if needed <= room:
            break
        reserve += needed - room
    numbers = {cid: b.number for b in blocks for cid in b.chunk_ids}
    context_hits = [h for b in blocks for h in b.hits]
    session.emit(Hits("context", hit_refs(context_hits, len(context_hits)), total=len(ranked)))
    return blocks, _evidence(quotes_by_chunk, numbers)


def _with_quote_blocks(
    packed: list[ContextBlock],
    quotes_by_chunk: dict[str, tuple[str, ...]],
    quote_hits: dict[str, SearchHit],
) -> list[ContextBlock]:
    present = {cid for b in packed for cid in b.chunk_ids}
    blocks = list(packed)
    for chunk_id, quotes in quotes_by_chunk.items():
        if chunk_id not in present and chunk_id in quote_hits:
            blocks.append(
                ContextBlock(
                    number=len(blocks) + 1,
                    hits=(quote_hits[chunk_id],),
                    text=" … ".join(quotes),
                    note="quoted sentences only",
                )
            )
    return blocks


def _cap_quotes(
    session: Session, question: str, instruction: str, quotes_by_chunk: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Keep quotes (best chunks first) until they take a third of the context room."""
    room = context_room(session, question, instruction) // EVIDENCE_SHARE
    kept: dict[str, tuple[str, ...]] = {}
    spent = 0
    for chunk_id, quotes in quotes_by_chunk.items():
        chosen: list[str] = []
        for quote in quotes:
            cost = 2 * (session.budget.tokens(quote) + 4)  # once in evidence, once in a block
            if spent + cost > room:
                break
            chosen.append(quote)
            spent += cost
        if chosen:
            kept[chunk_id] = tuple(chosen)
    return kept


def _evidence(quotes_by_chunk: dict[str, tuple[str, ...]], numbers: dict[str, int]) -> str:
    pairs = [
        (numbers[cid], quote)
        for cid, quotes in quotes_by_chunk.items()
        if cid in numbers
        for quote in quotes
    ]
    return prompts.evidence_section(pairs) if pairs else ""
