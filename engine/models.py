"""The data every engine module shares: extracted documents, chunks, search hits, file states."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

DocKind = Literal["markdown", "text", "html", "pdf", "image", "docx", "odt", "pptx", "odp", "epub"]
FileState = Literal["pending", "indexed", "error", "skipped"]
# How a folder is followed for changes: OS notifications, polling, or not at all (no watcher).
WatchMode = Literal["off", "events", "polling"]
FolderState = Literal["indexing", "up_to_date", "errors", "missing"]


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of dataclass `cls`: a newer peer may send more."""
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass(frozen=True)
class Section:
    """A run of a document's text that shares one location: a PDF page (or slide, or image
    frame) or a heading path. `start` is the offset of `text` in ExtractedDocument.text;
    sections are contiguous and in order. `ocr` marks text recognised in an image, which may
    hold misread characters."""

    text: str
    start: int
    page: int | None = None  # 1-based PDF page, slide or image frame
    heading: tuple[str, ...] = ()  # heading path, outermost first
    ocr: bool = False


@dataclass(frozen=True)
class ExtractedDocument:
    """A file turned into normalized text (NFKC). Sections concatenated equal `text`."""

    kind: DocKind
    title: str
    text: str
    sections: tuple[Section, ...]
    page_count: int | None = None
    encoding: str = "utf-8"
    ocr_pages: int = 0  # pages (or images) whose text came from OCR


@dataclass(frozen=True)
class Chunk:
    """About 512 tokens of one document. `start`/`end` index ExtractedDocument.text, so
    text == document.text[start:end]. chunk_id = hash(doc_id, ordinal, content_hash)."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    tokens: int
    content_hash: str
    page: int | None = None
    heading: tuple[str, ...] = ()
    ocr: bool = False  # the text was recognised in an image (a chunk never mixes the two)

    @property
    def heading_path(self) -> str:
        return " > ".join(self.heading)


@dataclass(frozen=True)
class Highlight:
    """A span [start, end) of a hit's text that matched the query."""

    start: int
    end: int


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    doc_id: str
    path: str
    title: str
    score: float
    text: str  # the whole chunk text
    snippet: str  # a short window of text around the best matches
    snippet_highlights: tuple[Highlight, ...]  # spans inside `snippet`
    highlights: tuple[Highlight, ...]  # spans inside `text`
    ordinal: int
    start: int
    end: int
    page: int | None = None
    heading: tuple[str, ...] = ()
    ocr: bool = False  # the chunk's text was recognised in an image (may hold misreadings)
    extension: str = ""
    modified: float = 0.0
    content_hash: str = ""  # of the chunk text (Chunk.content_hash)
    kind: str = ""  # DocKind of the file
    tokens: int = 0  # estimated tokens of `text`
    size: int = 0  # file size in bytes

    def to_dict(self) -> dict[str, Any]:
        # A shallow copy: asdict() deep-copies every highlight, which was about half the cost of
        # answering a search over the protocol.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["snippet_highlights"] = [[h.start, h.end] for h in self.snippet_highlights]
        data["highlights"] = [[h.start, h.end] for h in self.highlights]
        data["heading"] = list(self.heading)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchHit:
        values = _known(cls, data)
        for key in ("snippet_highlights", "highlights"):
            values[key] = tuple(Highlight(int(a), int(b)) for a, b in data.get(key, ()))
        values["heading"] = tuple(data.get("heading", ()))
        return cls(**values)


@dataclass(frozen=True)
class QueryWarning:
    """Something about a query the user should know: `kind` says what (the desktop words it
    itself), `subject` what it is about, `message` the English sentence the CLI prints."""

    kind: str  # unindexed_type: an ext: naming a type that is never indexed
    subject: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryWarning:
        return cls(
            str(data.get("kind", "")), str(data.get("subject", "")), str(data.get("message", ""))
        )


@dataclass(frozen=True)
class SearchResult:
    """What one search found: the hits, best first, how many chunks matched in all (`total`;
    the hits are the best of them), how long the search took, and notes on the query the user
    should see (an `ext:` naming a type that is never indexed, say)."""

    query: str
    hits: tuple[SearchHit, ...]
    seconds: float = 0.0
    total: int = 0
    warnings: tuple[QueryWarning, ...] = ()

    def __post_init__(self) -> None:
        # At least the hits matched, however the result was made (a caller that knows no total).
        if self.total < len(self.hits):
            object.__setattr__(self, "total", len(self.hits))

    @property
    def count(self) -> int:
        return len(self.hits)

    @property
    def more(self) -> bool:
        """More chunks matched than the hits hold."""
        return self.total > self.count

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "count": self.count,
            "total": self.total,
            "seconds": round(self.seconds, 4),
            "warnings": [warning.to_dict() for warning in self.warnings],
            "hits": [hit.to_dict() for hit in self.hits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchResult:
        hits = tuple(SearchHit.from_dict(hit) for hit in data.get("hits", ()))
        return cls(
            str(data.get("query", "")),
            hits,
            float(data.get("seconds", 0.0)),
            int(data.get("total", 0)),  # at least the hits' count: see __post_init__
            tuple(QueryWarning.from_dict(w) for w in data.get("warnings", ())),
        )


@dataclass(frozen=True)
class SearchFilters:
    folders: tuple[str, ...] = ()  # absolute folder paths; a hit must lie under one of them
    paths: tuple[str, ...] = ()  # exact files
    extensions: tuple[str, ...] = ()  # without the dot, lower case: "md", "pdf"
    modified_after: float | None = None  # unix seconds
    modified_before: float | None = None


@dataclass
class FileRecord:
    """One row of the catalog."""

    path: str
    size: int
    mtime: float
    content_hash: str
    state: FileState
    error_kind: str = ""
    error: str = ""
    chunk_count: int = 0
    indexed_at: float = 0.0
    doc_id: str = ""
    kind: str = ""
    page_count: int | None = None
    ocr_pages: int = 0  # pages (or images) whose text was recognised by OCR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRecord:
        return cls(**_known(cls, data))


@dataclass
class IndexProgress:
    """Latest-value-wins progress of a scan or an index run."""

    phase: Literal["scanning", "indexing", "committing", "done"]
    done: int = 0
    total: int = 0
    current: str = ""
    errors: int = 0
    # While OCR reads `current`: the page it is on, of how many to recognise (0 otherwise).
    ocr_page: int = 0
    ocr_pages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexProgress:
        return cls(**_known(cls, data))

    @property
    def activity(self) -> str:
        return ocr_activity(self.ocr_page, self.ocr_pages)


def ocr_activity(page: int, pages: int) -> str:
    """What the status shows while OCR reads a file: "recognising text (page 3 of 40)"."""
    if page <= 0:
        return ""
    return f"recognising text (page {page} of {pages})" if pages > 1 else "recognising text"


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    renamed: int = 0
    removed: int = 0
    unchanged: int = 0
    errors: int = 0
    chunks_written: int = 0
    seconds: float = 0.0
    problems: list[FileRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [p.to_dict() for p in self.problems]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexSummary:
        values = _known(cls, data)
        values["problems"] = [FileRecord.from_dict(p) for p in data.get("problems", ())]
        return cls(**values)


CheckStatus = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One diagnosis. `hint` is the fix, phrased as something to do (a command where possible)."""

    name: str
    status: CheckStatus
    message: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class DoctorReport:
    """Every health check, in order; `ok` when none failed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [check.to_dict() for check in self.checks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DoctorReport:
        return cls(tuple(Check.from_dict(check) for check in data.get("checks", ())))


@dataclass(frozen=True)
class FolderInfo:
    """One watched folder as the user sees it.

    `files` counts every file the catalog knows under the folder; `indexed`, `pending`, `errors`
    (could not be read) and `skipped` (readable but not searchable: too large, no text layer)
    split it by state. `state` is "missing" when the folder is gone, "indexing" while files are
    pending or the folder was never fully indexed, "errors" when some files are not searchable,
    else "up_to_date". `watch_mode` is "off", "events" or "polling" (`watch_note` says why).
    """

    path: str
    state: FolderState
    files: int = 0
    indexed: int = 0
    pending: int = 0
    errors: int = 0
    skipped: int = 0
    chunks: int = 0
    watch_mode: WatchMode = "off"
    watch_note: str = ""
    last_indexed: float | None = None  # unix seconds of the last complete index run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FolderInfo:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class StatusReport:
    """The whole library at a glance. `counts` has every file state as a key; `problems` are the
    files in state error or skipped, each with `error_kind` and `error` saying why."""

    data_dir: str
    counts: dict[str, int]
    total_files: int
    chunks: int
    index_bytes: int
    folders: list[FolderInfo]
    problems: list[FileRecord]
    watching: bool = False
    indexing: bool = False  # this engine is running an index pass right now
    writer_busy: bool = False  # another process holds the writer lock (readers only)
    read_only: bool = False
    # Why scanned PDF pages and images are not read (OCR not installed); "" when they are.
    ocr_unavailable: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["folders"] = [folder.to_dict() for folder in self.folders]
        data["problems"] = [record.to_dict() for record in self.problems]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatusReport:
        values = _known(cls, data)
        values["folders"] = [FolderInfo.from_dict(f) for f in data.get("folders", ())]
        values["problems"] = [FileRecord.from_dict(r) for r in data.get("problems", ())]
        return cls(**values)
