"""The SQLite catalog: rows, folders, problems, renames' doc ids, schema versioning, threads."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import NeedleError
from engine.library.catalog import SCHEMA_VERSION, Catalog
from engine.models import FileRecord


def _record(path: Path | str, state: str = "indexed", **changes: object) -> FileRecord:
    record = FileRecord(
        path=str(path),
        size=10,
        mtime=1_700_000_000.25,
        content_hash="h-" + Path(path).name,
        state=state,  # type: ignore[arg-type]
        doc_id="doc-" + Path(path).name,
        chunk_count=2,
        kind="markdown",
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    opened = Catalog(tmp_path / "data" / "catalog.sqlite3")
    yield opened
    opened.close()


def test_upsert_get_roundtrip_keeps_every_field(catalog: Catalog, tmp_path: Path) -> None:
    record = _record(tmp_path / "a.pdf", page_count=7, error="", indexed_at=12.5, kind="pdf")
    catalog.upsert(record)
    assert catalog.get(record.path) == record
    record.state = "error"
    record.error_kind = "encrypted"
    record.error = "This PDF is password-protected."
    catalog.upsert(record)
    assert catalog.get(record.path) == record
    assert len(catalog) == 1


def test_wal_mode_and_schema_version(catalog: Catalog) -> None:
    with sqlite3.connect(catalog.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_catalog_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Catalog(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(NeedleError) as caught:
        Catalog(path)
    assert caught.value.kind == "catalog_too_new"


def test_garbage_file_is_reported_as_corrupt_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(NeedleError) as caught:
        Catalog(path)
    assert caught.value.kind == "catalog_corrupt"


def test_records_under_a_folder_excludes_lookalike_siblings(
    catalog: Catalog, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    inside = [notes / "a.md", notes / "deep" / "b.md", notes / "100%_sure.md"]
    outside = [tmp_path / "notes-old" / "c.md", tmp_path / "notesX.md", tmp_path / "other.md"]
    catalog.upsert_many(_record(p) for p in inside + outside)
    assert [r.path for r in catalog.records_under(notes)] == sorted(str(p) for p in inside)


def test_state_counts_and_problems_per_folder(catalog: Catalog, tmp_path: Path) -> None:
    notes, papers = tmp_path / "notes", tmp_path / "papers"
    catalog.upsert_many(
        [
            _record(notes / "a.md"),
            _record(notes / "b.md"),
            _record(notes / "c.txt", "error", error_kind="not_text", error="Binary content."),
            _record(papers / "scan.pdf", "skipped", error_kind="no_text", error="No text."),
            _record(papers / "d.pdf", "pending"),
        ]
    )
    assert catalog.state_counts(notes) == {"pending": 0, "indexed": 2, "error": 1, "skipped": 0}
    assert catalog.state_counts() == {"pending": 1, "indexed": 2, "error": 1, "skipped": 1}
    problems = catalog.problems()
    assert [(p.path, p.error_kind) for p in problems] == [
        (str(notes / "c.txt"), "not_text"),
        (str(papers / "scan.pdf"), "no_text"),
    ]
    assert [p.path for p in catalog.problems(papers)] == [str(papers / "scan.pdf")]
    assert [r.path for r in catalog.records_in_state("pending")] == [str(papers / "d.pdf")]
    assert catalog.total_chunks() == 4


def test_problems_include_indexed_files_that_lost_pages(catalog: Catalog, tmp_path: Path) -> None:
    """A PDF indexed without its unreadable pages is searchable, but the user must be told why
    some of its text never matches."""
    partial = _record(
        tmp_path / "report.pdf",
        error_kind="partial",
        error="Pages 4-6 could not be read and are not searchable.",
    )
    catalog.upsert_many([_record(tmp_path / "fine.pdf"), partial])
    assert [(p.path, p.state, p.error_kind) for p in catalog.problems()] == [
        (partial.path, "indexed", "partial")
    ]


def test_find_by_hash_and_replace_keep_doc_id_for_a_rename(
    catalog: Catalog, tmp_path: Path
) -> None:
    old = _record(tmp_path / "old.md", content_hash="same", doc_id="d1")
    catalog.upsert(old)
    (found,) = catalog.find_by_hash("same")
    assert found.path == old.path
    assert catalog.find_by_hash("") == []
    moved = _record(tmp_path / "new.md", content_hash="same", doc_id=found.doc_id)
    catalog.replace([old.path], [moved])
    assert catalog.get(old.path) is None
    assert catalog.get_by_doc_id("d1") == moved


def test_mark_pending_and_delete(catalog: Catalog, tmp_path: Path) -> None:
    paths = [str(tmp_path / f"{n}.md") for n in range(3)]
    catalog.upsert_many(_record(p) for p in paths)
    catalog.mark_pending(paths[:2])
    assert [r.path for r in catalog.records_in_state("pending")] == paths[:2]
    assert catalog.delete_many([*paths[:2], "/not/there.md"]) == 2
    assert catalog.delete(paths[2])
    assert not catalog.delete(paths[2])
    assert len(catalog) == 0


def test_new_doc_ids_are_unique(catalog: Catalog) -> None:
    ids = {catalog.new_doc_id() for _ in range(2000)}
    assert len(ids) == 2000


def test_failed_transaction_rolls_back_everything(catalog: Catalog, tmp_path: Path) -> None:
    good = _record(tmp_path / "good.md")
    bad = _record(tmp_path / "bad.md", state="exploded")  # violates the CHECK constraint
    with pytest.raises(sqlite3.IntegrityError):
        catalog.upsert_many([good, bad])
    assert catalog.get(good.path) is None


def test_one_writer_thread_and_reader_threads_see_committed_rows(
    catalog: Catalog, tmp_path: Path
) -> None:
    total = 300
    errors: list[BaseException] = []
    seen_counts: dict[int, list[int]] = {1: [], 2: []}
    writer_done = threading.Event()

    def write() -> None:
        try:
            for n in range(total):
                catalog.upsert(_record(tmp_path / f"{n:04d}.md"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            writer_done.set()

    def read(reader: int) -> None:
        try:
            while not writer_done.is_set():
                seen_counts[reader].append(len(catalog.records_under(tmp_path)))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=read, args=(reader,)) for reader in seen_counts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(catalog) == total
    for counts in seen_counts.values():
        # Each reader sees committed rows only, so its view never goes backwards.
        assert counts == sorted(counts)
        assert all(0 <= count <= total for count in counts)
    assert os.path.exists(str(catalog.path) + "-wal")


def test_closed_catalog_says_so(tmp_path: Path) -> None:
    closed = Catalog(tmp_path / "c.sqlite3")
    closed.close()
    with pytest.raises(NeedleError) as caught:
        closed.get("/x")
    assert caught.value.kind == "catalog_closed"


def test_connections_of_finished_threads_are_closed(catalog: Catalog, tmp_path: Path) -> None:
    catalog.upsert(_record(tmp_path / "a.md"))
    for _ in range(20):  # a service answering each request on a fresh thread
        thread = threading.Thread(target=lambda: catalog.get(str(tmp_path / "a.md")))
        thread.start()
        thread.join()
    assert len(catalog._connections) <= 2  # this thread's and the last request thread's


def test_opening_an_up_to_date_catalog_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Catalog(path).close()
    with sqlite3.connect(path) as blocker:
        blocker.execute("BEGIN IMMEDIATE")  # another process is writing right now
        reader = Catalog(path)  # must not wait for the write lock
        assert reader.get("/nothing") is None
        reader.close()
        blocker.execute("ROLLBACK")
