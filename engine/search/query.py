"""The search box's syntax, parsed into a plain structure the index turns into a Tantivy query.

    word            a term; every term should match (the index falls back to any term when no
                    chunk has them all)
    "two words"     a phrase: the words next to each other, in this order
    -word -"a b"    exclude chunks containing the word or phrase
    ext:pdf         only files with this extension (ext:md,txt for several)
    in:FOLDER       only files under FOLDER: an absolute path, or folder names ("in:notes",
                    "in:work/2024" means a folder "work" containing a folder "2024")
    after:DATE      modified on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD, local time)
    before:DATE     modified before DATE

Parsing never raises: whatever cannot be read as a filter (a bad date, an empty `ext:`) is kept as
an error message in `ParsedQuery.errors`, and the index reports it to the user.
Unknown prefixes such as "note:" or "http://x" are ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import ErrorKind, NeedleError

FILTER_NAMES = ("ext", "in", "after", "before")
# A token: optional '-', then either a quoted string (closing quote optional, so half-typed
# queries still parse), or a filter with a quoted value, or a run of non-space characters.
_TOKEN_RE = re.compile(
    r"""(?P<neg>-)?(?:
        "(?P<phrase>[^"]*)"?
      | (?P<fname>[A-Za-z]+):"(?P<fquoted>[^"]*)"?
      | (?P<word>\S+)
    )""",
    re.VERBOSE,
)
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[str, ...] = ()  # bare words, as typed
    phrases: tuple[str, ...] = ()  # quoted text, without the quotes
    excluded: tuple[str, ...] = ()  # words and phrases after '-'
    extensions: tuple[str, ...] = ()  # lower case, no dot
    folders: tuple[str, ...] = ()  # as typed after in:, trailing separators removed
    modified_after: float | None = None  # unix seconds, inclusive
    modified_before: float | None = None  # unix seconds, exclusive
    errors: tuple[str, ...] = field(default=())

    @property
    def positive(self) -> tuple[str, ...]:
        """What the user wants to find: terms and phrases (for highlighting)."""
        return self.terms + self.phrases

    @property
    def has_filters(self) -> bool:
        return bool(
            self.extensions
            or self.folders
            or self.modified_after is not None
            or self.modified_before is not None
        )

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.excluded or self.has_filters)


@dataclass
class _Builder:
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    after: float | None = None
    before: float | None = None
    errors: list[str] = field(default_factory=list)

    def build(self) -> ParsedQuery:
        return ParsedQuery(
            terms=tuple(self.terms),
            phrases=tuple(self.phrases),
            excluded=tuple(self.excluded),
            extensions=tuple(dict.fromkeys(self.extensions)),
            folders=tuple(dict.fromkeys(self.folders)),
            modified_after=self.after,
            modified_before=self.before,
            errors=tuple(self.errors),
        )


def parse_date(text: str) -> float | None:
    """Unix seconds at the start (local time) of YYYY, YYYY-MM or YYYY-MM-DD; None if invalid."""
    match = _DATE_RE.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    try:
        return datetime(year, month, day).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _add_filter(builder: _Builder, name: str, value: str, raw: str) -> None:
    value = value.strip()
    if name == "ext":
        exts = [e.strip().lstrip(".").lower() for e in value.split(",")]
        exts = [e for e in exts if e]
        if exts:
            builder.extensions.extend(exts)
        else:
            builder.errors.append(f"'{raw}' names no extension (write e.g. ext:pdf).")
    elif name == "in":
        folder = value.rstrip("/\\") or value
        if folder:
            builder.folders.append(folder)
        else:
            builder.errors.append(f"'{raw}' names no folder (write e.g. in:notes).")
    else:
        moment = parse_date(value)
        if moment is None:
            builder.errors.append(f"'{raw}' is not a date: write {name}:YYYY-MM-DD.")
        elif name == "after":
            builder.after = moment if builder.after is None else max(builder.after, moment)
        else:
            builder.before = moment if builder.before is None else min(builder.before, moment)


def _filter_parts(match: re.Match[str]) -> tuple[str, str] | None:
    """(name, value) when the token is a known filter, else None."""
    if match["fname"] is not None:
        name = match["fname"].lower()
        return (name, match["fquoted"]) if name in FILTER_NAMES else None
    word = match["word"]
    if word is None or ":" not in word:
        return None
    name, _, value = word.partition(":")
    return (name.lower(), value) if name.lower() in FILTER_NAMES else None


# A search box holds a few words; a megabyte of query took a minute and gigabytes of memory.
MAX_QUERY_BYTES = 4096
MAX_QUERY_TERMS = 64


def check_query_size(text: str) -> None:
    """Raise bad_query when `text` is longer than a search (bytes) or has too many terms."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_QUERY_BYTES:
        raise NeedleError(
            ErrorKind.BAD_QUERY,
            f"The search is {size} bytes long; at most {MAX_QUERY_BYTES} are allowed.",
            "Search for a few words or a phrase; to ask about a long text, use `needle ask`.",
        )
    terms = sum(1 for _ in _TOKEN_RE.finditer(text))
    if terms > MAX_QUERY_TERMS:
        raise NeedleError(
            ErrorKind.BAD_QUERY,
            f"The search has {terms} words, phrases and filters; at most {MAX_QUERY_TERMS} "
            "are allowed.",
            "Leave out the words that matter least.",
        )


def parse_query(text: str) -> ParsedQuery:
    """Split a search-box query into terms, phrases, exclusions and filters. Never raises."""
    builder = _Builder()
    for match in _TOKEN_RE.finditer(text):
        negated = match["neg"] is not None
        parts = _filter_parts(match)
        if parts is not None:
            if negated:
                builder.errors.append(f"'{match.group()}': filters cannot be excluded.")
            else:
                _add_filter(builder, parts[0], parts[1], match.group())
            continue
        if match["phrase"] is not None:
            content = match["phrase"].strip()
        elif match["fname"] is not None:
            # A quoted value after an unknown prefix: plain text.
            content = f"{match['fname']}:{match['fquoted']}".strip()
        else:
            content = match["word"] or ""
        if not content:
            continue
        if negated:
            builder.excluded.append(content)
        elif match["phrase"] is not None:
            builder.phrases.append(content)
        else:
            builder.terms.append(content)
    return builder.build()


MIN_PREFIX_CHARS = 3


def typed_prefix(text: str, parsed: ParsedQuery) -> str | None:
    """The word still being typed at the end of `text`, when it may be the start of a longer
    word: a bare last term (not a phrase, filter or exclusion) of letters and digits outside
    the CJK scripts, at least MIN_PREFIX_CHARS long, with no space typed after it yet."""
    if not parsed.terms or not text or text[-1].isspace():
        return None
    matches = list(_TOKEN_RE.finditer(text))
    last = matches[-1] if matches else None
    if last is None or last.end() != len(text) or last["word"] is None or last["neg"]:
        return None
    word = last["word"]
    if _filter_parts(last) is not None or word != parsed.terms[-1]:
        return None
    if len(word) < MIN_PREFIX_CHARS or not all(c.isalnum() and ord(c) < 0x2E80 for c in word):
        return None
    return word


UNINDEXED_TYPE = "unindexed_type"


def unindexed_types(parsed: ParsedQuery, indexed: Collection[str]) -> list[str]:
    """The `ext:` values of a query that name a type Needle never indexes (so they match
    nothing), in the order typed. `indexed` holds extensions with or without the dot."""
    known = {e.lstrip(".").lower() for e in indexed}
    return [e for e in parsed.extensions if e not in known]
