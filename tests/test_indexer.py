"""Reconciling folders with the catalog and the Tantivy index: what users see after indexing."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.ingest.chunk import chunk_document
from engine.ingest.extract import extract_file
from engine.library.catalog import Catalog
from engine.library.indexer import (
    ExtractJob,
    Indexer,
    ProgressReport,
    default_text_pool_threshold,
    split_jobs,
)
from engine.models import IndexProgress, IndexSummary, SearchFilters
from engine.search.index import ChunkIndex
from engine.settings import Settings
from tests.helpers.pdf_factory import write_corrupt_pdf, write_image_only_pdf, write_pdf


class Library:
    """A data folder (catalog + index) and a notes folder, reopenable like an app restart."""

    def __init__(self, root: Path, settings: Settings | None = None) -> None:
        self.notes = root / "notes"
        self.notes.mkdir(parents=True, exist_ok=True)
        self.data = root / "data"
        self.settings = settings or Settings()
        self.catalog: Catalog
        self.index: ChunkIndex
        self.indexer: Indexer
        self.open()

    def open(self) -> None:
        self.catalog = Catalog(self.data / "catalog.sqlite3")
        self.index = ChunkIndex.open(self.data / "index", writable=True)
        self.indexer = Indexer(self.catalog, self.index, self.settings)

    def close(self) -> None:
        """Like the process ending: uncommitted index writes are lost."""
        self.index.close()
        self.catalog.close()

    def restart(self) -> None:
        self.close()
        self.open()

    def reconcile(self, **kwargs: object) -> IndexSummary:
        return self.indexer.reconcile([self.notes], **kwargs)  # type: ignore[arg-type]

    def write(self, relative: str, text: str) -> Path:
        path = self.notes / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def paths_matching(self, query: str) -> set[str]:
        self.index.reload()
        return {Path(hit.path).name for hit in self.index.search(query, limit=50)}

    def assert_consistent(self) -> None:
        """Catalog and index agree: every indexed file has exactly its chunks, nothing else."""
        self.index.reload()
        assert self.catalog.records_in_state("pending") == []
        for record in self.catalog.all_records():
            in_index = self.index.count(SearchFilters(paths=(record.path,)))
            expected = record.chunk_count if record.state == "indexed" else 0
            assert in_index == expected, record
        assert self.index.count(SearchFilters()) == self.catalog.total_chunks()


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    opened = Library(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def extractions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of files extracted in this process (text files; PDFs go to the pool)."""
    calls: list[str] = []
    real = extract_file

    def counting(path: Path, *, max_bytes: int) -> object:
        calls.append(Path(path).name)
        return real(path, max_bytes=max_bytes)

    monkeypatch.setattr("engine.library.indexer.extract_file", counting)
    return calls


def test_first_index_makes_notes_and_pdfs_searchable(library: Library) -> None:
    library.write("fox.md", "# Foxes\n\nThe quick brown fox jumps over the lazy dog.\n")
    library.write("deep/tea.txt", "Green tea is brewed at eighty degrees.")
    write_pdf(library.notes / "paper.pdf", ["Abstract about glaciers", "Results on moraines"])
    summary = library.reconcile()
    assert (summary.added, summary.errors, summary.removed) == (3, 0, 0)
    assert library.paths_matching("fox") == {"fox.md"}
    assert library.paths_matching("moraines") == {"paper.pdf"}
    assert library.paths_matching("tea") == {"tea.txt"}
    paper = library.catalog.get(str(library.notes / "paper.pdf"))
    assert paper is not None
    assert (paper.state, paper.kind, paper.page_count) == ("indexed", "pdf", 2)
    assert paper.content_hash and paper.doc_id
    library.assert_consistent()


def test_unchanged_rescan_extracts_nothing(library: Library, extractions: list[str]) -> None:
    for n in range(5):
        library.write(f"n{n}.md", f"note number {n}")
    library.reconcile()
    extractions.clear()
    summary = library.reconcile()
    assert extractions == []
    assert (summary.unchanged, summary.added, summary.updated) == (5, 0, 0)


def test_edit_reindexes_and_touch_without_edit_does_not(
    library: Library, extractions: list[str]
) -> None:
    note = library.write("a.md", "apples are red")
    library.write("b.md", "bananas are yellow")
    library.reconcile()
    extractions.clear()
    note.write_text("apricots are orange", encoding="utf-8")
    os.utime(library.notes / "b.md", (2_000_000_000, 2_000_000_000))  # touched, same bytes
    summary = library.reconcile()
    assert (summary.updated, summary.unchanged) == (1, 1)
    assert extractions == ["a.md"]
    assert library.paths_matching("apricots") == {"a.md"}
    assert library.paths_matching("apples") == set()
    touched = library.catalog.get(str(library.notes / "b.md"))
    assert touched is not None and touched.mtime == 2_000_000_000
    extractions.clear()
    assert library.reconcile().unchanged == 2
    assert extractions == []
    library.assert_consistent()


def test_deleted_file_leaves_search_and_catalog(library: Library) -> None:
    gone = library.write("gone.md", "ephemeral zebra")
    library.write("kept.md", "permanent zebra")
    library.reconcile()
    gone.unlink()
    summary = library.reconcile()
    assert summary.removed == 1
    assert library.paths_matching("zebra") == {"kept.md"}
    assert library.catalog.get(str(gone)) is None
    library.assert_consistent()


def test_rename_moves_chunks_without_extracting(library: Library, extractions: list[str]) -> None:
    old = library.write("draft.md", "# Plan\n\nThe walrus migration plan for spring.")
    library.reconcile()
    before = library.catalog.get(str(old))
    assert before is not None
    extractions.clear()
    new = library.notes / "archive" / "final.md"
    new.parent.mkdir()
    old.rename(new)
    summary = library.reconcile()
    assert (summary.renamed, summary.added, summary.removed) == (1, 0, 0)
    assert extractions == []
    after = library.catalog.get(str(new))
    assert after is not None and library.catalog.get(str(old)) is None
    assert (after.doc_id, after.content_hash, after.state) == (
        before.doc_id,
        before.content_hash,
        "indexed",
    )
    library.index.reload()
    (hit,) = library.index.search("walrus", limit=5)
    assert hit.path == str(new)
    library.assert_consistent()


def test_rename_of_a_pdf_keeps_its_chunks(library: Library) -> None:
    write_pdf(library.notes / "a.pdf", ["narwhal tusks on page one"])
    library.reconcile()
    (library.notes / "a.pdf").rename(library.notes / "b.pdf")
    summary = library.reconcile()
    assert summary.renamed == 1
    library.index.reload()
    (hit,) = library.index.search("narwhal", limit=5)
    assert (Path(hit.path).name, hit.page) == ("b.pdf", 1)


def test_bad_files_are_recorded_with_reasons_and_the_run_continues(tmp_path: Path) -> None:
    library = Library(tmp_path, Settings(max_file_mb=0.01))
    try:
        library.write("good.md", "a perfectly good note about otters")
        write_pdf(library.notes / "locked.pdf", ["secret otters"], password="pw")
        write_corrupt_pdf(library.notes / "broken.pdf")
        write_image_only_pdf(library.notes / "scan.pdf", page_count=2)
        (library.notes / "binary.txt").write_bytes(bytes(range(256)) * 8)
        library.write("huge.md", "otter " * 5000)
        if sys.platform != "win32":
            (library.notes / "loop").symlink_to(library.notes, target_is_directory=True)
        summary = library.reconcile()
        problems = {Path(p.path).name: (p.state, p.error_kind) for p in library.catalog.problems()}
        expected = {
            "locked.pdf": ("error", "encrypted"),
            "broken.pdf": ("error", "corrupt"),
            "scan.pdf": ("skipped", "no_text"),
            "binary.txt": ("error", "not_text"),
            "huge.md": ("skipped", "too_large"),
        }
        if sys.platform != "win32":
            expected["loop"] = ("skipped", "symlink_loop")
        assert problems == expected
        assert summary.errors == len(expected)
        assert all(p.error for p in library.catalog.problems())
        assert library.paths_matching("otters") == {"good.md"}
        # Unchanged bad files are not retried and not re-reported.
        again = library.reconcile()
        assert (again.errors, again.added) == (0, 0)
        library.assert_consistent()
    finally:
        library.close()


@pytest.mark.expect_log("unexpected failure while extracting")
def test_an_unexpected_exception_in_one_file_is_recorded_as_internal(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    library.write("ok.md", "regular badger content")
    library.write("boom.md", "content that trips a bug")
    real = chunk_document

    def buggy(doc_id: str, document: object) -> object:
        if "trips" in document.text:  # type: ignore[attr-defined]
            raise RuntimeError("chunker bug")
        return real(doc_id, document)  # type: ignore[arg-type]

    monkeypatch.setattr("engine.library.indexer.chunk_document", buggy)
    summary = library.reconcile()
    assert summary.added == 1 and summary.errors == 1
    boom = library.catalog.get(str(library.notes / "boom.md"))
    assert boom is not None
    assert (boom.state, boom.error_kind) == ("error", "internal")
    assert "RuntimeError: chunker bug" in boom.error
    assert library.paths_matching("badger") == {"ok.md"}
    # Internal errors are retried on the next reconcile, and succeed once the bug is gone.
    monkeypatch.setattr("engine.library.indexer.chunk_document", real)
    assert library.reconcile().updated == 1
    library.assert_consistent()


def test_a_file_that_grows_past_the_limit_or_becomes_readable_is_retried(tmp_path: Path) -> None:
    library = Library(tmp_path, Settings(max_file_mb=0.001))
    try:
        library.write("big.md", "heron " * 400)
        library.reconcile()
        library.restart()
        library.indexer = Indexer(library.catalog, library.index, Settings(max_file_mb=1))
        assert library.indexer.reconcile([library.notes]).updated == 1
        assert library.paths_matching("heron") == {"big.md"}
    finally:
        library.close()


# -- crash consistency ------------------------------------------------------------------------


class SimulatedCrash(BaseException):
    """Raised where the process would have died; BaseException so nothing handles it."""


def _seed(library: Library) -> None:
    library.write("stays.md", "steady lighthouse")
    library.write("edited.md", "first version mentions a kestrel")
    library.write("deleted.md", "doomed albatross")
    library.reconcile()
    (library.notes / "edited.md").write_text("second version mentions an osprey", "utf-8")
    (library.notes / "deleted.md").unlink()
    library.write("added.md", "newcomer pelican")


def _assert_recovered(library: Library) -> None:
    library.assert_consistent()
    assert library.paths_matching("lighthouse") == {"stays.md"}
    assert library.paths_matching("osprey") == {"edited.md"}
    assert library.paths_matching("kestrel") == set()
    assert library.paths_matching("albatross") == set()
    assert library.paths_matching("pelican") == {"added.md"}


@pytest.mark.expect_log("index and catalog disagree")
def test_crash_before_the_index_commit_is_repaired(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(library)

    def crash() -> None:
        raise SimulatedCrash()

    monkeypatch.setattr(library.index, "commit", crash)
    with pytest.raises(SimulatedCrash):
        library.reconcile()
    assert library.catalog.records_in_state("pending")  # the crash left marks behind
    monkeypatch.undo()
    library.restart()
    library.reconcile()
    _assert_recovered(library)


@pytest.mark.expect_log("index and catalog disagree")
def test_crash_after_the_index_commit_before_the_catalog_is_repaired(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(library)
    real_replace = library.catalog.replace
    calls = {"n": 0}

    def replace_then_crash(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # 1 = pending marks, 2 = final states after the index commit
            raise SimulatedCrash()
        real_replace(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(library.catalog, "replace", replace_then_crash)
    with pytest.raises(SimulatedCrash):
        library.reconcile()
    monkeypatch.undo()
    library.restart()
    # The index already holds the new text while the catalog still says "pending".
    assert library.catalog.records_in_state("pending")
    library.reconcile()
    _assert_recovered(library)


@pytest.mark.expect_log("index and catalog disagree")
def test_crash_mid_rename_is_repaired(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    library.write("old.md", "migrating caribou")
    library.reconcile()
    (library.notes / "old.md").rename(library.notes / "new.md")

    def crash() -> None:
        raise SimulatedCrash()

    monkeypatch.setattr(library.index, "commit", crash)
    with pytest.raises(SimulatedCrash):
        library.reconcile()
    monkeypatch.undo()
    library.restart()
    library.reconcile()
    library.assert_consistent()
    assert library.paths_matching("caribou") == {"new.md"}


@pytest.mark.expect_log("index and catalog disagree")
def test_deleted_index_is_rebuilt_from_the_catalog_and_disk(library: Library) -> None:
    library.write("a.md", "the marmot burrow")
    write_pdf(library.notes / "b.pdf", ["a marmot diagram"])
    library.reconcile()
    library.close()
    shutil.rmtree(library.data / "index")
    library.open()
    summary = library.reconcile()
    assert summary.updated == 2
    assert library.paths_matching("marmot") == {"a.md", "b.pdf"}
    library.assert_consistent()


@pytest.mark.expect_log("index and catalog disagree")
def test_index_missing_a_document_is_detected_and_repaired(library: Library) -> None:
    library.write("a.md", "the lonely ibex")
    library.write("b.md", "another ibex")
    library.reconcile()
    record = library.catalog.get(str(library.notes / "a.md"))
    assert record is not None
    library.index.delete_document(record.doc_id)  # the index lost a file behind our back
    library.index.commit()
    summary = library.reconcile()
    assert summary.updated == 1
    assert library.paths_matching("ibex") == {"a.md", "b.md"}
    library.assert_consistent()


# -- cancellation and progress ----------------------------------------------------------------


def test_cancel_stops_and_leaves_a_consistent_index(library: Library) -> None:
    for n in range(40):
        library.write(f"n{n:02d}.md", f"note {n} about the cancellable capybara")
    token = CancelToken()
    seen: list[IndexProgress] = []

    def on_progress(progress: IndexProgress) -> None:
        seen.append(progress)
        if progress.phase == "indexing" and progress.done >= 5:
            token.cancel()

    # Every update delivered (no throttling) so the test can cancel after an exact count.
    library.indexer = Indexer(
        library.catalog,
        library.index,
        library.settings,
        commit_every_files=3,
        progress_interval=0.0,
    )
    with pytest.raises(Cancelled):
        library.reconcile(progress=on_progress, cancel=token)
    indexed = library.catalog.state_counts()["indexed"]
    assert 5 <= indexed < 40
    library.assert_consistent()
    summary = library.reconcile()
    assert summary.added == 40 - indexed
    library.assert_consistent()


def test_progress_is_throttled_and_ends_with_the_final_value() -> None:
    clock = {"now": 0.0}
    sent: list[IndexProgress] = []
    report = ProgressReport(sent.append, clock=lambda: clock["now"])
    for step in range(1, 1001):  # 1000 updates over one simulated second
        clock["now"] = step / 1000
        report.update(done=step, total=1000)
    report.update(phase="done", force=True)
    assert len(sent) <= 11
    assert sent[-1].phase == "done" and sent[-1].done == 1000
    # Callers get snapshots, not the live object.
    assert [p.done for p in sent] == sorted(p.done for p in sent)


def test_reconcile_reports_phases_and_totals(library: Library) -> None:
    for n in range(3):
        library.write(f"n{n}.md", f"note {n}")
    seen: list[IndexProgress] = []
    library.indexer = Indexer(
        library.catalog, library.index, library.settings, progress_interval=0.0
    )
    library.reconcile(progress=seen.append)
    phases = [p.phase for p in seen]
    assert phases[0] == "scanning" and phases[-1] == "done"
    assert phases.index("indexing") < phases.index("committing")
    scanning = [p for p in seen if p.phase == "scanning"]
    assert scanning[-1].done == 3 and scanning[-1].current == str(library.notes)
    assert seen[-1].done == seen[-1].total == 3


# -- watcher batches and folder removal -------------------------------------------------------


def test_apply_changes_handles_edits_deletes_moves_and_ignored_paths(
    library: Library, extractions: list[str]
) -> None:
    a = library.write("a.md", "original quokka")
    b = library.write("b.md", "soon deleted wombat")
    c = library.write("c.md", "moving numbat")
    library.reconcile()
    extractions.clear()
    a.write_text("edited quokka and dingo", "utf-8")
    b.unlink()
    moved = library.notes / "sub" / "c2.md"
    moved.parent.mkdir()
    c.rename(moved)
    new = library.write("d.md", "brand new echidna")
    temp = library.write("d.md.tmp", "editor temp echidna")
    summary = library.indexer.apply_changes(
        [a, new, temp], [b], [(c, moved)], folders=[library.notes]
    )
    assert (summary.updated, summary.added, summary.removed, summary.renamed) == (1, 1, 1, 1)
    assert sorted(extractions) == ["a.md", "d.md"]
    assert library.paths_matching("dingo") == {"a.md"}
    assert library.paths_matching("wombat") == set()
    assert library.paths_matching("numbat") == {"c2.md"}
    assert library.paths_matching("echidna") == {"d.md"}
    library.assert_consistent()


def test_apply_changes_pairs_delete_and_create_of_same_content_as_a_rename(
    library: Library, extractions: list[str]
) -> None:
    old = library.write("x.md", "identical platypus text")
    library.reconcile()
    extractions.clear()
    new = library.notes / "y.md"
    old.rename(new)
    summary = library.indexer.apply_changes([new], [old], [], folders=[library.notes])
    assert summary.renamed == 1 and extractions == []
    assert library.paths_matching("platypus") == {"y.md"}


def test_changed_path_that_vanished_counts_as_deleted(library: Library) -> None:
    note = library.write("brief.md", "short lived gecko")
    library.reconcile()
    note.unlink()
    summary = library.indexer.apply_changes([note], [], [], folders=[library.notes])
    assert summary.removed == 1
    assert library.paths_matching("gecko") == set()


def test_remove_folder_and_reconcile_without_it(library: Library) -> None:
    library.write("keep/a.md", "kept yak")
    library.write("drop/b.md", "dropped yak")
    library.write("drop/deeper/c.md", "dropped yak too")
    library.reconcile()
    assert library.indexer.remove_folder(library.notes / "drop") == 2
    assert library.paths_matching("yak") == {"a.md"}
    library.assert_consistent()


def test_folder_no_longer_watched_is_dropped_but_a_missing_one_is_kept(
    library: Library, tmp_path: Path
) -> None:
    other = tmp_path / "usb-drive"
    other.mkdir()
    (other / "u.md").write_text("removable lemur", "utf-8")
    library.write("n.md", "local lemur")
    library.indexer.reconcile([library.notes, other])
    other.rename(tmp_path / "unplugged")  # the drive goes away
    summary = library.indexer.reconcile([library.notes, other])
    assert summary.removed == 0
    assert library.paths_matching("lemur") == {"n.md", "u.md"}
    summary = library.indexer.reconcile([library.notes])  # the user stopped watching it
    assert summary.removed == 1
    assert library.paths_matching("lemur") == {"n.md"}


def test_many_text_files_are_extracted_in_the_pool_with_the_same_result(tmp_path: Path) -> None:
    library = Library(tmp_path)
    try:
        library.indexer = Indexer(
            library.catalog, library.index, library.settings, text_pool_threshold=0
        )
        for n in range(6):
            library.write(f"n{n}.md", f"# Note {n}\n\npooled note {n} about the pangolin")
        (library.notes / "binary.txt").write_bytes(bytes(range(256)) * 8)
        summary = library.reconcile()
        assert (summary.added, summary.errors) == (6, 1)
        assert len(library.paths_matching("pangolin")) == 6
        library.assert_consistent()
    finally:
        library.close()


def test_text_goes_to_the_pool_only_on_machines_with_cores_to_spare() -> None:
    assert default_text_pool_threshold(2) is None
    assert default_text_pool_threshold(8) == 64


def test_split_jobs_sends_pdfs_to_the_pool_and_few_texts_stay_here() -> None:
    jobs = [ExtractJob(f"/n/{n}.md", "d", 1) for n in range(3)] + [ExtractJob("/n/p.PDF", "d", 1)]
    pooled, local = split_jobs(jobs, use_pool=True, text_pool_threshold=4)
    assert ([j.path for j in pooled], len(local)) == (["/n/p.PDF"], 3)
    pooled, local = split_jobs(jobs, use_pool=True, text_pool_threshold=3)
    assert (len(pooled), local) == (4, [])
    pooled, local = split_jobs(jobs, use_pool=False, text_pool_threshold=0)
    assert (pooled, len(local)) == ([], 4)
    pooled, local = split_jobs(jobs, use_pool=True, text_pool_threshold=None)
    assert ([j.path for j in pooled], len(local)) == (["/n/p.PDF"], 3)


def test_apply_changes_indexes_a_new_pdf(library: Library) -> None:
    library.reconcile()
    pdf = write_pdf(library.notes / "new.pdf", ["first page", "the second page has a kiwi"])
    summary = library.indexer.apply_changes([pdf], [], [], folders=[library.notes])
    assert summary.added == 1
    library.index.reload()
    (hit,) = library.index.search("kiwi", limit=5)
    assert (Path(hit.path).name, hit.page) == ("new.pdf", 2)


@pytest.mark.expect_log("index and catalog disagree")
def test_interrupted_rebuild_resumes_without_redoing_finished_files(library: Library) -> None:
    for n in range(6):
        library.write(f"n{n}.md", f"note {n} on the resumable tortoise")
    library.reconcile()
    library.close()
    shutil.rmtree(library.data / "index")
    library.open()
    token = CancelToken()

    def cancel_after_three(progress: IndexProgress) -> None:
        if progress.phase == "indexing" and progress.done >= 3:
            token.cancel()

    library.indexer = Indexer(
        library.catalog, library.index, library.settings, progress_interval=0.0
    )
    with pytest.raises(Cancelled):
        library.reconcile(progress=cancel_after_three, cancel=token)
    library.restart()  # the reopened index no longer says "rebuilt"
    assert not library.index.rebuilt
    summary = library.reconcile()
    assert summary.updated == 6 - 3
    assert len(library.paths_matching("tortoise")) == 6
    library.assert_consistent()


@pytest.mark.expect_log("an extraction worker died")
def test_a_worker_killed_mid_run_is_replaced_and_its_files_retried(
    library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(12):
        pages = [f"page {page} of report {n} about the resilient marmoset" for page in range(15)]
        write_pdf(library.notes / f"r{n:02d}.pdf", pages)
    killed: list[int] = []

    def kill_a_worker_once(progress: IndexProgress) -> None:
        if progress.phase == "indexing" and progress.done >= 1 and not killed:
            workers = multiprocessing.active_children()
            assert workers, "the extraction pool should be running"
            killed.append(workers[0].pid or 0)
            os.kill(workers[0].pid or 0, signal.SIGKILL)

    library.indexer = Indexer(
        library.catalog, library.index, library.settings, progress_interval=0.0
    )
    summary = library.reconcile(progress=kill_a_worker_once)
    assert killed
    assert "an extraction worker died" in caplog.text
    assert (summary.added, summary.errors) == (12, 0)
    assert library.catalog.state_counts()["indexed"] == 12
    library.assert_consistent()  # every file has all its chunks in the index


class _AlwaysBrokenPool:
    """A process pool that cannot start workers (what a broken install or no memory gives)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def submit(self, *args: object, **kwargs: object) -> object:
        raise BrokenProcessPool("cannot start a worker")

    def shutdown(self, *args: object, **kwargs: object) -> None:
        pass


@pytest.mark.expect_log("an extraction worker died", "extraction pool failed")
def test_when_worker_processes_cannot_run_files_are_extracted_in_process(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.library.indexer.ProcessPoolExecutor", _AlwaysBrokenPool)
    write_pdf(library.notes / "a.pdf", ["the stubborn armadillo"])
    library.write("b.md", "another armadillo")
    summary = library.reconcile()
    assert (summary.added, summary.errors) == (2, 0)
    assert library.paths_matching("armadillo") == {"a.pdf", "b.md"}


def test_file_deleted_between_scan_and_extraction_is_simply_gone(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = library.write("kept.md", "a lasting quail")
    doomed = library.write("doomed.md", "a fleeting quail")
    library.reconcile()
    kept.write_text("a lasting quail, edited", "utf-8")
    doomed.write_text("a fleeting quail, edited", "utf-8")
    fresh = library.write("fresh.md", "a brand new quail")

    def delete_first(path: Path, *, max_bytes: int) -> object:
        if path.name in ("doomed.md", "fresh.md"):
            path.unlink()  # deleted by the user while Needle was busy
        return extract_file(path, max_bytes=max_bytes)

    monkeypatch.setattr("engine.library.indexer.extract_file", delete_first)
    summary = library.reconcile()
    assert (summary.updated, summary.removed, summary.errors) == (1, 1, 0)
    assert library.catalog.get(str(doomed)) is None and library.catalog.get(str(fresh)) is None
    assert library.paths_matching("quail") == {"kept.md"}
    library.assert_consistent()


def test_cancel_during_pdf_extraction_stops_the_workers(library: Library) -> None:
    for n in range(16):
        pages = [f"page {page} of paper {n} on the patient sloth" for page in range(20)]
        write_pdf(library.notes / f"p{n:02d}.pdf", pages)
    token = CancelToken()

    def cancel_after_first(progress: IndexProgress) -> None:
        if progress.phase == "indexing" and progress.done >= 1:
            token.cancel()

    library.indexer = Indexer(
        library.catalog, library.index, library.settings, progress_interval=0.0
    )
    with pytest.raises(Cancelled):
        library.reconcile(progress=cancel_after_first, cancel=token)
    # No worker outlives the cancelled run.
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []
    assert 1 <= library.catalog.state_counts()["indexed"] < 16
    library.assert_consistent()
