"""Small real indexes and event recording for the agent tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from engine.agent.events import Event
from engine.ingest.chunk import chunk_document
from engine.models import ExtractedDocument, Section
from engine.search.index import ChunkIndex

E = TypeVar("E", bound=Event)

FILLER_EN = (
    "The weekly meeting covered the garden budget and the order of seeds. "
    "Someone suggested painting the fence blue before the rain season starts. "
)


@dataclass
class Notes:
    index: ChunkIndex
    folder: Path
    paths: dict[str, Path] = field(default_factory=dict)


def build_index(
    tmp_path: Path, notes: dict[str, str], *, target_tokens: int = 512, max_tokens: int = 640
) -> Notes:
    """A committed ChunkIndex of `notes` (relative file name -> text), with the files on disk."""
    folder = tmp_path / "notes"
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    built = Notes(index, folder)
    for number, (name, text) in enumerate(notes.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        document = ExtractedDocument(
            kind="markdown", title=path.stem, text=text, sections=(Section(text, 0),)
        )
        doc_id = f"doc{number}"
        chunks = chunk_document(
            doc_id, document, target_tokens=target_tokens, max_tokens=max_tokens
        )
        index.add_document(
            doc_id,
            str(path),
            path.stem,
            chunks,
            extension=path.suffix,
            modified=1_700_000_000.0,
            size=len(text.encode()),
            kind="markdown",
        )
        built.paths[name] = path
    index.commit()
    return built


class Recorder:
    """An on_event sink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)
