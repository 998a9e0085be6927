"""Documents to chunks of about 512 tokens, cut where a reader would pause.

A document is first cut into pieces no larger than the target: whole sections when they fit,
otherwise paragraphs, then lines, then sentences, and only a sentence longer than the target is cut
inside (at a space when there is one). Pieces are then packed greedily; when a chunk is full it is
closed at the strongest boundary past half the target (heading > paragraph > line > sentence), so
chunks rarely end mid-paragraph. Page changes always close a chunk, so every chunk has one page;
so does the switch between a page's text layer and its OCR text, so a chunk is OCR or not.

Spans tile the document: chunk i ends where chunk i+1 starts, whitespace between them belongs to
the earlier chunk, and the chunk texts joined give the document text back exactly.

Each character is estimated about once, as part of the piece it ends up in; `Chunk.tokens` is the
sum over the chunk's pieces, within a few tokens of estimate_tokens(chunk.text) (rounding), and
estimate_tokens(chunk.text) never exceeds `max_tokens`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from engine.lang import CJK_SENTENCE_ENDS, HAN, LATIN_SENTENCE_ENDS
from engine.models import Chunk, ExtractedDocument
from engine.tokens import estimate_tokens

DEFAULT_TARGET_TOKENS = 512
DEFAULT_MAX_TOKENS = 640
# Below this the hard split of a single character could exceed the limit (a CJK character or
# digit may count as one token each); callers never need limits this small.
MIN_MAX_TOKENS = 8
CHARS_PER_TOKEN_CEILING = 4

# Boundary strengths: how good a place to cut it is to cut *before* a piece.
_PAGE = 5  # always cut
_HEADING = 4
_PARAGRAPH = 3
_LINE = 2
_SENTENCE = 1
_INSIDE = 0  # inside a sentence that was too long to keep whole

_PARAGRAPH_RE = re.compile(r"\n(?:[ \t]*\n)+")
_LINE_RE = re.compile(r"\n")
_CLOSERS = "\"')\\]」』”’"
_SENTENCE_RE = re.compile(
    rf"[{re.escape(LATIN_SENTENCE_ENDS)}…]+[{_CLOSERS}]*[ \t]+"  # English: then a space
    rf"|[{CJK_SENTENCE_ENDS}；]+[{_CLOSERS}]*[ \t]*"  # Chinese terminals need no space after them
    rf"|(?<=[{HAN}])[!?;]+[{_CLOSERS}]*[ \t]*"  # ASCII !?; written after Han text
)
_SPLIT_LEVELS: tuple[tuple[re.Pattern[str], int], ...] = (
    (_PARAGRAPH_RE, _PARAGRAPH),
    (_LINE_RE, _LINE),
    (_SENTENCE_RE, _SENTENCE),
)
_SPACE_RE = re.compile(r"\s")


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int
    strength: int  # of the boundary before this piece
    page: int | None
    heading: tuple[str, ...]
    ocr: bool


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    page: int | None
    heading: tuple[str, ...]
    ocr: bool = False


def chunk_id(doc_id: str, ordinal: int, content_hash: str) -> str:
    """A stable 16-hex-digit id: the same document, position and content give the same id."""
    key = f"{doc_id}\x1f{ordinal}\x1f{content_hash}".encode()
    return hashlib.sha1(key).hexdigest()[:16]


def content_hash(text: str) -> str:
    """SHA-1 of the chunk text, 40 hex digits."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def chunk_document(
    doc_id: str,
    document: ExtractedDocument,
    *,
    target_tokens: int = DEFAULT_TARGET_TOKENS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> list[Chunk]:
    """Cut `document` into chunks of about `target_tokens` (never over `max_tokens`, as counted
    by estimate_tokens) that tile its text, never cross a PDF page and carry the page and heading
    path of the place where they start."""
    if not MIN_MAX_TOKENS <= target_tokens <= max_tokens:
        raise ValueError(
            f"need {MIN_MAX_TOKENS} <= target_tokens <= max_tokens, "
            f"got target_tokens={target_tokens}, max_tokens={max_tokens}"
        )
    text = document.text
    if not text:
        return []
    cutter = _Cutter(text, target_tokens)
    for span, strength in _section_spans(document):
        cutter.cut(span, strength)
    groups = _pack(cutter.pieces, target_tokens, max_tokens)
    return _make_chunks(doc_id, text, groups, max_tokens)


def _section_spans(document: ExtractedDocument) -> Iterator[tuple[_Span, int]]:
    """Section spans that tile the whole text (each runs to the next section's start, so a
    document with gaps between sections still loses nothing), with the boundary strength
    before each."""
    sections = sorted(
        (s for s in document.sections if 0 <= s.start < len(document.text)),
        key=lambda s: s.start,
    )
    if not sections or sections[0].start > 0:
        first_page = sections[0].page if sections else None
        yield _Span(0, sections[0].start if sections else len(document.text), first_page, ()), _PAGE
    previous: tuple[int | None, bool] = (None, False)
    for index, section in enumerate(sections):
        end = sections[index + 1].start if index + 1 < len(sections) else len(document.text)
        if end <= section.start:
            continue
        # A new page, or the switch between a page's text layer and its recognised text.
        where = (section.page, section.ocr)
        strength = _PAGE if index == 0 or where != previous else _HEADING
        previous = where
        yield _Span(section.start, end, section.page, section.heading, section.ocr), strength


class _Cutter:
    """Cuts spans into pieces of at most `target` tokens at the best available boundaries."""

    def __init__(self, text: str, target: int) -> None:
        self.text = text
        self.target = target
        # No ASCII span longer than this fits in `target` tokens in practice (English averages
        # about 4.5 characters a token), so estimating it first would be wasted work.
        self.estimate_limit = target * CHARS_PER_TOKEN_CEILING
        self.pieces: list[_Piece] = []

    def cut(self, span: _Span, strength: int, level: int = 0, tokens: int | None = None) -> None:
        """Append pieces for `span`. Spans too long to possibly fit are split without being
        estimated first, so most text is estimated once, as the piece it ends up in."""
        if tokens is None and self._worth_estimating(span, level):
            tokens = estimate_tokens(self.text[span.start : span.end])
        if tokens is not None and tokens <= self.target:
            piece = _Piece(
                span.start, span.end, tokens, strength, span.page, span.heading, span.ocr
            )
            self.pieces.append(piece)
            return
        if level == len(_SPLIT_LEVELS):
            assert tokens is not None  # estimated above at this level
            self._hard_split(span, strength, tokens)
            return
        pattern, inner_strength = _SPLIT_LEVELS[level]
        cuts = [
            match.end()
            for match in pattern.finditer(self.text, span.start, span.end)
            if span.start < match.end() < span.end
        ]
        if not cuts:
            self.cut(span, strength, level + 1, tokens)
            return
        start = span.start
        for cut in [*cuts, span.end]:
            self.cut(_Span(start, cut, span.page, span.heading, span.ocr), strength, level + 1)
            strength = inner_strength
            start = cut

    def _worth_estimating(self, span: _Span, level: int) -> bool:
        length = span.end - span.start
        if length <= self.target or level == len(_SPLIT_LEVELS):
            return True
        # Non-ASCII text (Chinese above all) can spend a token per character, so only short
        # spans of it have a chance to fit.
        return length <= self.estimate_limit and self.text[span.start : span.end].isascii()

    def _hard_split(self, span: _Span, strength: int, tokens: int) -> None:
        """Cut one over-long sentence into runs of at most `target` tokens, at spaces when the
        sentence has any (a URL, a base64 blob or unpunctuated CJK text may have none)."""
        chars_per_token = (span.end - span.start) / tokens
        start = span.start
        while start < span.end:
            end = min(span.end, start + max(1, int(self.target * chars_per_token * 0.9)))
            if end < span.end:
                end = self._back_to_space(start, end)
            piece_tokens = estimate_tokens(self.text[start:end])
            while piece_tokens > self.target and end - start > 1:
                end = start + max(1, (end - start) * 4 // 5)
                piece_tokens = estimate_tokens(self.text[start:end])
            self.pieces.append(
                _Piece(start, end, piece_tokens, strength, span.page, span.heading, span.ocr)
            )
            strength = _INSIDE
            start = end

    def _back_to_space(self, start: int, end: int) -> int:
        """The position after the last whitespace in the second half of [start, end), or end."""
        low = start + (end - start) // 2
        position = self.text.rfind(" ", low, end)
        if position < 0:
            spaces = [match.start() for match in _SPACE_RE.finditer(self.text, low, end)]
            position = spaces[-1] if spaces else -1
        return position + 1 if position >= 0 else end


def _pack(pieces: list[_Piece], target: int, max_tokens: int) -> list[list[_Piece]]:
    """Group consecutive pieces into chunks of at most `target` tokens each."""
    min_fill = target // 2
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    current_tokens = 0
    for piece in pieces:
        if current and piece.strength == _PAGE:
            groups.append(current)
            _merge_tiny_tail(groups, target, max_tokens)
            current, current_tokens = [], 0
        while current and current_tokens + piece.tokens > target:
            cut = _best_cut(current, piece, min_fill)
            groups.append(current[:cut])
            current = current[cut:]
            current_tokens = sum(p.tokens for p in current)
        current.append(piece)
        current_tokens += piece.tokens
    if current:
        groups.append(current)
        _merge_tiny_tail(groups, target, max_tokens)
    return groups


def _best_cut(current: list[_Piece], following: _Piece, min_fill: int) -> int:
    """How many pieces of `current` to close the chunk with: the strongest boundary at which
    the chunk holds at least `min_fill` tokens, the later one on ties; all when there is none."""
    best_cut, best_strength = len(current), -1
    filled = 0
    for cut in range(1, len(current) + 1):
        filled += current[cut - 1].tokens
        if filled < min_fill:
            continue
        strength = current[cut].strength if cut < len(current) else following.strength
        if strength >= best_strength:
            best_cut, best_strength = cut, strength
    return best_cut


def _merge_tiny_tail(groups: list[list[_Piece]], target: int, max_tokens: int) -> None:
    """A small remainder at the end of a page or document joins the chunk before it when the
    two share a page and the result stays within `max_tokens`."""
    if len(groups) < 2:
        return
    last, previous = groups[-1], groups[-2]
    last_tokens = sum(p.tokens for p in last)
    if last_tokens >= target // 8 or last[0].page != previous[0].page:
        return
    if last[0].strength == _PAGE:
        return
    if sum(p.tokens for p in previous) + last_tokens <= max_tokens:
        groups[-2:] = [previous + last]


def _make_chunks(
    doc_id: str, text: str, groups: list[list[_Piece]], max_tokens: int
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for group in _within_max(text, groups, max_tokens):
        start, end = group[0].start, group[-1].end
        chunk_text = text[start:end]
        digest = content_hash(chunk_text)
        ordinal = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=chunk_id(doc_id, ordinal, digest),
                doc_id=doc_id,
                ordinal=ordinal,
                text=chunk_text,
                start=start,
                end=end,
                tokens=sum(p.tokens for p in group),
                content_hash=digest,
                page=group[0].page,
                heading=group[0].heading,
                ocr=group[0].ocr,
            )
        )
    return chunks


def _within_max(text: str, groups: list[list[_Piece]], max_tokens: int) -> Iterator[list[_Piece]]:
    """Pieces are estimated one by one, and the estimate of their concatenation may differ by
    rounding (under one token per piece). Where that could cross the limit, the whole text is
    estimated and a group over the limit is split in two."""
    for group in groups:
        summed = sum(p.tokens for p in group)
        if len(group) == 1 or summed + len(group) <= max_tokens:
            yield group
            continue
        if estimate_tokens(text[group[0].start : group[-1].end]) <= max_tokens:
            yield group
            continue
        filled, middle = 0, 1
        for index, piece in enumerate(group[:-1], start=1):
            filled += piece.tokens
            middle = index
            if filled >= summed / 2:
                break
        yield from _within_max(text, [group[:middle], group[middle:]], max_tokens)
