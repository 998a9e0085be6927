"""engine.api.Engine, the facade the CLI and the service share, on a small real library."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import Engine, normalize_folder_path
from engine.doctor import check_catalog
from engine.errors import ErrorKind, NeedleError, OllamaError, WriterLocked
from engine.library.catalog import Catalog
from engine.models import IndexSummary, SearchFilters, SearchResult
from engine.search.index import ChunkIndex
from engine.settings import load_settings
from tests.helpers.deep_tree import build_deep_tree, remove_deep_tree
from tests.helpers.fake_ollama import FakeOllama
from tests.helpers.pdf_factory import write_pdf


def make_notes(root: Path) -> Path:
    """A few notes in English and Chinese, a PDF, and a binary file posing as text."""
    notes = root / "notes"
    (notes / "projects").mkdir(parents=True)
    (notes / "ranking.md").write_text(
        "# Ranking\n\nTantivy ranks chunks with BM25.\n\n## Stemming\n\nRunning matches run.\n",
        "utf-8",
    )
    (notes / "projects" / "garden.md").write_text(
        "# Garden\n\nPlant the tomatoes after the last frost in May.\n", "utf-8"
    )
    (notes / "中文.txt").write_text("今天我们讨论了全文检索和中文分词的问题。\n", "utf-8")
    write_pdf(notes / "lease.pdf", ["Cover page", "The notice period is two calendar months."])
    (notes / "broken.txt").write_bytes(bytes(range(256)) * 8)
    return notes


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return make_notes(tmp_path)


@pytest.fixture
def engine(needle_home: Path) -> Iterator[Engine]:
    with Engine.open() as opened:
        yield opened


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# Folders


def test_add_folder_then_index_makes_notes_searchable_and_reports_states(
    engine: Engine, notes: Path
) -> None:
    info = engine.add_folder(notes)
    assert info.path == str(notes.resolve())
    assert info.state == "indexing"  # added but never indexed: not yet up to date

    summary = engine.index()

    assert summary.added == 4 and summary.errors == 1
    [folder] = engine.folders()
    assert (folder.files, folder.indexed, folder.errors) == (5, 4, 1)
    assert folder.state == "errors" and folder.chunks >= 4
    assert [h.path for h in engine.search("tomatoes").hits] == [
        str(notes / "projects" / "garden.md")
    ]
    lease = engine.search("notice period").hits[0]
    assert lease.path.endswith("lease.pdf") and lease.page == 2
    assert engine.search("中文分词").hits[0].path.endswith("中文.txt")


def test_folder_state_is_up_to_date_without_problems_and_missing_when_deleted(
    engine: Engine, notes: Path
) -> None:
    (notes / "broken.txt").unlink()
    engine.add_folder(notes)
    engine.index()
    assert engine.folders()[0].state == "up_to_date"

    shutil.rmtree(notes)

    assert engine.folders()[0].state == "missing"


@pytest.mark.parametrize(
    ("make_path", "kind", "words"),
    [
        (lambda n: n.parent / "nowhere", "folder_missing", "does not exist"),
        (lambda n: n / "ranking.md", "not_a_directory", "is a file"),
        (lambda n: n, "folder_exists", "already indexed"),
        (lambda n: n / "projects", "folder_overlap", "is inside"),
        (lambda n: n.parent, "folder_overlap", "contains"),
    ],
)
def test_add_folder_refuses_bad_folders_with_a_reason(
    engine: Engine, notes: Path, make_path: object, kind: str, words: str
) -> None:
    engine.add_folder(notes)
    target = make_path(notes)  # type: ignore[operator]

    with pytest.raises(NeedleError) as raised:
        engine.add_folder(target)

    assert raised.value.kind == kind
    assert words in raised.value.message and raised.value.hint
    assert engine.settings.folders == [str(notes.resolve())]


@pytest.mark.parametrize("folder", ["/", "/etc", "/proc/self", "/dev", "/usr/share", "~"])
def test_add_folder_refuses_system_folders_and_the_home_folder(engine: Engine, folder: str) -> None:
    """`folders.add` accepted /proc/self, /etc, /dev and ~ (issue 9, item 5)."""
    target = Path(folder).expanduser()
    if not target.is_dir():
        pytest.skip(f"{folder} does not exist here")
    with pytest.raises(NeedleError) as raised:
        engine.add_folder(target)
    assert raised.value.kind == "system_folder" and raised.value.hint
    assert engine.settings.folders == []


def test_remove_folder_drops_its_files_from_search_and_catalog(
    engine: Engine, notes: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "tomatoes.md").write_text("Tomatoes need sun.\n", "utf-8")
    engine.add_folder(notes)
    engine.add_folder(other)
    engine.index()
    assert len(engine.search("tomatoes").hits) == 2

    removed = engine.remove_folder(str(notes) + "/")

    assert removed.files == 5
    assert [h.path for h in engine.search("tomatoes").hits] == [str(other / "tomatoes.md")]
    assert engine.status().total_files == 1
    assert [f.path for f in engine.folders()] == [str(other)]


def test_remove_unknown_folder_names_the_known_ones(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    with pytest.raises(NeedleError) as raised:
        engine.remove_folder(notes.parent)
    assert raised.value.kind == "folder_unknown"
    assert str(notes) in raised.value.hint


def test_folders_persist_across_reopen(needle_home: Path, notes: Path) -> None:
    with Engine.open() as first:
        first.add_folder(notes)
    with Engine.open() as second:
        assert [f.path for f in second.folders()] == [str(notes)]


# ---------------------------------------------------------------------------------------------
# Search, scope, status, problems


def test_search_filters_by_extension_and_scope(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    engine.index()

    only_pdf = engine.search("notice OR tomatoes", filters=SearchFilters(extensions=("pdf",))).hits
    in_projects = engine.search("tomatoes", filters=engine.resolve_scope(notes / "projects")).hits
    outside = engine.search("notice", filters=engine.resolve_scope(notes / "projects")).hits

    assert {Path(h.path).suffix for h in only_pdf} == {".pdf"}
    assert len(in_projects) == 1 and outside == ()


def test_resolve_scope_refuses_paths_outside_the_library(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes / "projects")
    with pytest.raises(NeedleError) as raised:
        engine.resolve_scope(notes / "ranking.md")
    assert raised.value.kind == "scope_missing" and "not inside" in raised.value.message
    assert engine.resolve_scope(notes / "projects" / "garden.md").paths == (
        str(notes / "projects" / "garden.md"),
    )


def test_status_counts_files_and_names_each_problem(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    engine.index()

    report = engine.status()
    data = report.to_dict()

    assert report.counts == {"pending": 0, "indexed": 4, "error": 1, "skipped": 0}
    assert report.chunks == sum(f.chunks for f in report.folders) > 0
    assert report.index_bytes > 0
    [problem] = data["problems"]
    assert problem["path"] == str(notes / "broken.txt") and problem["error_kind"] == "not_text"
    assert engine.problems(notes) == engine.problems()
    json.dumps(data)  # everything in the report is plain data


def test_empty_query_and_bad_limit(engine: Engine) -> None:
    assert engine.search("anything").hits == ()
    with pytest.raises(NeedleError) as raised:
        engine.search("x", limit=0)
    assert raised.value.kind == "invalid_argument"


# ---------------------------------------------------------------------------------------------
# Settings


def test_update_settings_validates_and_persists(needle_home: Path) -> None:
    with Engine.open() as engine:
        updated = engine.update_settings({"read_budget": 120, "ollama_host": "localhost:9999"})
        assert updated.read_budget == 120
        assert updated.ollama_host == "http://localhost:9999"
        for bad in ({"read_budget": 0}, {"read_budget": "many"}, {"colour": "red"}):
            with pytest.raises(NeedleError) as raised:
                engine.update_settings(bad)
            assert raised.value.kind == "invalid_settings"
    with Engine.open() as reopened:
        assert reopened.settings.read_budget == 120


def test_a_new_ignore_pattern_removes_indexed_files_at_once(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    engine.index()
    assert engine.search("tomatoes").hits

    engine.update_settings({"ignore_patterns": ["projects/"]})

    # No index run and no restart: the change takes effect now.
    assert engine.search("tomatoes").hits == ()
    assert not any("garden" in record.path for record in engine.problems())
    assert engine.status().total_files == 4
    engine.update_settings({"ignore_patterns": []})
    assert engine.index().added == 1 and engine.search("tomatoes").hits


@pytest.mark.parametrize("pattern", ["/", "!", "!/", "file[z-a].txt"])
def test_an_ignore_pattern_the_scanner_cannot_use_is_refused(
    needle_home: Path, pattern: str
) -> None:
    with Engine.open() as engine:
        with pytest.raises(NeedleError) as refused:
            engine.update_settings({"ignore_patterns": ["*.log", pattern]})
        assert refused.value.kind == "invalid_settings" and repr(pattern) in refused.value.message
        assert engine.settings.ignore_patterns == []
    with Engine.open() as reopened:  # nothing was saved that could stop it from opening
        assert reopened.settings.ignore_patterns == []


@pytest.mark.expect_log("ignore pattern left out")
def test_a_library_whose_settings_hold_a_bad_ignore_pattern_still_opens(
    needle_home: Path, notes: Path
) -> None:
    """An older Needle saved such patterns; the library must open and the doctor name them."""
    settings_file = needle_home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(
        json.dumps({"folders": [str(notes)], "ignore_patterns": ["/", "projects/"]}), "utf-8"
    )
    with Engine.open() as engine:
        engine.index()
        assert engine.search("tantivy").hits and engine.search("tomatoes").hits == ()
        checks = {check.name: check for check in engine.doctor().checks}
        assert checks["settings"].status == "fail" and "'/'" in checks["settings"].message


@pytest.mark.parametrize(
    "change",
    [
        {"request_timeout": float("nan")},
        {"request_timeout": float("inf")},
        {"request_timeout": json.loads("1e400")},
        {"request_timeout": 0},
        {"context_window": 10**9},
        {"max_file_mb": -1},
        {"model": "  "},
        {"default_level": "4"},
        {"parallel_requests": True},
    ],
)
def test_settings_refuse_values_out_of_their_declared_bounds(
    engine: Engine, change: dict[str, object]
) -> None:
    before = engine.settings
    with pytest.raises(NeedleError) as refused:
        engine.update_settings(change)
    assert refused.value.kind == "invalid_settings"
    assert engine.settings == before


@pytest.mark.expect_log("settings file .*The default .* is used")
def test_unusable_saved_settings_are_read_as_defaults_and_can_be_corrected(
    needle_home: Path, notes: Path
) -> None:
    """NaN (or 1e400, or an empty model) saved by hand or by an older Needle must not brick the
    library: it opens, indexes, doctor names the bad values, and `update_settings` fixes them."""
    settings_file = needle_home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(
        f'{{"folders": ["{notes}"], "max_file_mb": NaN, "request_timeout": -5,'
        ' "context_window": 1e400, "model": "", "max_steps": 3}',
        "utf-8",
    )
    with Engine.open() as engine:
        assert engine.settings.max_file_mb == 64.0 and engine.settings.model == "qwen2:7b-instruct"
        assert engine.settings.max_steps == 3  # the usable values are kept
        assert engine.index().added > 0
        check = {c.name: c for c in engine.doctor().checks}["settings"]
        assert check.status == "fail" and "max_file_mb" in check.message
        engine.update_settings({"max_file_mb": 10})
    saved = json.loads(settings_file.read_text("utf-8"))
    assert saved["max_file_mb"] == 10.0 and saved["request_timeout"] == 300.0
    assert saved["model"] == "qwen2:7b-instruct"


def test_the_library_is_private_to_its_user(needle_home: Path, notes: Path) -> None:
    """The index holds the full text of every file: folders 0700, files 0600 (issue 9, 11)."""
    (needle_home / "data").mkdir(parents=True, mode=0o755)  # made by an older Needle
    with Engine.open() as engine:
        engine.add_folder(notes)
        engine.index()
    for folder in ("data", "config", "cache", "logs"):
        assert (needle_home / folder).stat().st_mode & 0o777 == 0o700, folder
    catalog = needle_home / "data" / "catalog.sqlite3"
    for file in (catalog, Path(f"{catalog}-wal"), needle_home / "config" / "settings.json"):
        if file.exists():
            assert file.stat().st_mode & 0o077 == 0, file


def test_a_failing_engine_constructor_leaves_nothing_held(needle_home: Path) -> None:
    closed: list[str] = []
    real_catalog_close, real_index_close = Catalog.close, ChunkIndex.close

    def close_catalog(catalog: Catalog) -> None:
        closed.append("catalog")
        real_catalog_close(catalog)

    def close_index(index: ChunkIndex) -> None:
        closed.append("index")
        real_index_close(index)

    def broken(*args: object) -> None:
        raise NeedleError(ErrorKind.INTERNAL, "The indexer could not be made.")

    # A context of its own: undoing it must not undo needle_home's private NEEDLE_HOME.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Catalog, "close", close_catalog)
        patch.setattr(ChunkIndex, "close", close_index)
        patch.setattr("engine.api._new_indexer", broken)
        with pytest.raises(NeedleError):
            Engine.open()
    assert sorted(closed) == ["catalog", "index"]
    with Engine.open() as engine:  # the writer lock was released
        assert engine.writable
        assert engine.paths.data.is_relative_to(needle_home)


def test_corrupt_settings_file_is_a_clear_error(needle_home: Path) -> None:
    settings_file = needle_home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("{not json", "utf-8")
    with pytest.raises(NeedleError) as raised:
        Engine.open()
    assert raised.value.kind == "settings_corrupt" and str(settings_file) in raised.value.message


# ---------------------------------------------------------------------------------------------
# One writer, many readers


def test_second_writer_is_refused_and_a_reader_sees_the_writers_commits(
    needle_home: Path, notes: Path
) -> None:
    with Engine.open() as writer:
        writer.add_folder(notes)
        with pytest.raises(WriterLocked) as raised:
            Engine.open()
        assert "Another Needle process" in raised.value.message

        with Engine.open(writer=False) as reader:
            assert reader.search("tomatoes").hits == ()
            writer.index()
            assert len(reader.search("tomatoes").hits) == 1
            assert reader.status().writer_busy
            with pytest.raises(NeedleError) as refused:
                reader.add_folder(notes.parent)
            assert refused.value.kind == "read_only"


def test_a_long_lived_reader_follows_the_settings_the_writer_saves(
    needle_home: Path, notes: Path
) -> None:
    """`needle mcp` reads for hours beside the app: a folder added or removed there, or another
    model, is what it uses next, and a chunk whose folder was removed is no longer given out."""
    with Engine.open(writer=False) as reader, Engine.open() as writer:
        assert reader.settings.folders == []
        writer.add_folder(notes)
        writer.index()
        writer.update_settings({"model": "llama3:8b"})
        assert reader.settings.folders == [str(notes.resolve())]
        assert reader.settings.model == "llama3:8b"
        hit = reader.search("tomatoes").hits[0]
        assert [c.chunk_id for c in reader.get_chunks([hit.chunk_id, "unknown"])] == [hit.chunk_id]
        writer.remove_folder(notes)
        assert reader.settings.folders == []
        assert reader.get_chunks([hit.chunk_id]) == []


def test_reader_opens_a_library_that_was_never_indexed(needle_home: Path) -> None:
    with Engine.open(writer=False) as reader:
        assert reader.search("anything").hits == ()
        assert reader.status().chunks == 0


# ---------------------------------------------------------------------------------------------
# Watching


def test_watching_indexes_a_new_note_and_reports_the_change(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    engine.index()
    changes: list[IndexSummary] = []
    arrived = threading.Event()

    def on_change(summary: IndexSummary) -> None:
        changes.append(summary)
        arrived.set()

    engine.start_watching(on_change)
    try:
        assert engine.folders()[0].watch_mode in ("events", "polling")
        (notes / "new.md").write_text("Zucchini grow fast.\n", "utf-8")
        assert arrived.wait(10), "the watcher never reported the new note"
        deadline = time.monotonic() + 5
        while not engine.search("zucchini").hits and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        engine.stop_watching()
    assert sum(c.added for c in changes) == 1
    assert engine.search("zucchini").hits[0].path == str(notes / "new.md")
    assert engine.folders()[0].watch_mode == "off"


# ---------------------------------------------------------------------------------------------
# Doctor


def test_doctor_reports_each_problem_with_its_fix(needle_home: Path, notes: Path) -> None:
    with Engine.open() as engine:
        engine.update_settings({"ollama_host": f"http://127.0.0.1:{closed_port()}"})
        engine.add_folder(notes)
        engine.index()
        healthy = {c.name: c for c in engine.doctor().checks}
        shutil.rmtree(notes)
        after = {c.name: c for c in engine.doctor().checks}

    for name in ("data folder", "settings", "catalog", "index", f"folder {notes}"):
        assert healthy[name].status == "ok", healthy[name]
    assert healthy["ollama"].status == "fail" and "ollama serve" in healthy["ollama"].hint
    assert after[f"folder {notes}"].status == "fail"
    assert "needle folders remove" in after[f"folder {notes}"].hint


def test_doctor_finds_index_and_catalog_disagreeing(needle_home: Path, notes: Path) -> None:
    with Engine.open() as engine:
        engine.add_folder(notes)
        engine.index()
    shutil.rmtree(needle_home / "data" / "index")
    with Engine.open(writer=False) as reader:
        index_check = next(c for c in reader.doctor().checks if c.name == "index")
    assert index_check.status == "fail" and "needle index" in index_check.hint


def test_doctor_finds_indexed_files_that_are_gone(needle_home: Path, notes: Path) -> None:
    """A delete the watcher missed leaves a file searchable that no longer exists (issue 9):
    doctor says so, and `needle index` is the fix. Files of a missing folder are not counted."""
    with Engine.open() as engine:
        engine.add_folder(notes)
        engine.index()
        healthy = next(c for c in engine.doctor().checks if c.name == "files")
        victim = next(p for p in sorted(notes.rglob("*")) if p.is_file())
        victim.unlink()  # no watcher is running: the catalog still lists it
        gone = next(c for c in engine.doctor().checks if c.name == "files")
        engine.index()
        fixed = next(c for c in engine.doctor().checks if c.name == "files")
    assert healthy.status == "ok"
    assert gone.status == "warn" and str(victim) in gone.message and "needle index" in gone.hint
    assert fixed.status == "ok"


def test_catalog_check_detects_a_damaged_file(tmp_path: Path) -> None:
    damaged = tmp_path / "catalog.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    check = check_catalog(damaged)
    assert check.status == "fail" and "delete" in check.hint.lower()


# ---------------------------------------------------------------------------------------------
# The model


def test_ask_with_ollama_down_raises_the_specific_error(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    engine.index()
    host = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(OllamaError) as raised:
        engine.ask("When is the notice period?", host=host)
    assert raised.value.kind == "ollama_unreachable"
    assert host in raised.value.message and "ollama serve" in raised.value.hint


def test_ask_with_model_missing_says_how_to_pull_it(engine: Engine, notes: Path) -> None:
    engine.add_folder(notes)
    engine.index()
    with FakeOllama(models=["llama3:8b"]) as fake:
        with pytest.raises(OllamaError) as raised:
            engine.ask("When is the notice period?", host=fake.url, model="qwen2:7b-instruct")
        status = engine.ollama_status(host=fake.url)
    assert (
        raised.value.kind == "model_missing"
        and "ollama pull qwen2:7b-instruct" in raised.value.hint
    )
    assert status.state == "model_missing" and status.models == ["llama3:8b"]


def test_ask_before_anything_is_indexed_says_what_to_do(needle_home: Path) -> None:
    with (
        FakeOllama() as fake,
        Engine.open(writer=False) as reader,
        pytest.raises(NeedleError) as raised,
    ):
        reader.ask("anything?", host=fake.url)
    assert raised.value.kind == "index_missing" and "needle index" in raised.value.hint


def test_normalize_folder_path_expands_home_and_refuses_empty() -> None:
    assert normalize_folder_path("~") == Path.home().resolve()
    with pytest.raises(NeedleError):
        normalize_folder_path("  ")


def test_search_reports_the_total_and_warns_of_types_never_indexed(
    needle_home: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for n in range(3):
        (notes / f"n{n}.md").write_text(f"# Note {n}\n\nThe lease notice is due.\n", "utf-8")
    with Engine.open(needle_home, writer=True) as engine:
        engine.add_folder(notes)
        engine.index()
        result = engine.search("lease", limit=2)
        assert (result.count, result.total, result.more) == (2, 3, True)
        assert result.warnings == ()
        warned = engine.search("lease ext:xyz")
        assert [(w.kind, w.subject) for w in warned.warnings] == [("unindexed_type", "xyz")]
        assert ".xyz files are not indexed" in warned.warnings[0].message
        assert SearchResult.from_dict(warned.to_dict()).warnings == warned.warnings


def test_retry_reads_a_problem_file_again_though_it_did_not_change(
    needle_home: Path, tmp_path: Path
) -> None:
    """A file fixed outside Needle keeps its size and time; only Retry makes Needle look again."""
    notes = tmp_path / "notes"
    notes.mkdir()
    broken = notes / "broken.md"
    broken.write_bytes(b"\x00\x01binary\x00" * 8)
    stamp = broken.stat().st_mtime
    with Engine.open(needle_home, writer=True) as engine:
        engine.add_folder(notes)
        engine.index()
        assert [p.path for p in engine.problems()] == [str(broken)]
        fixed = b"lighthouse keeper notes " * 3
        broken.write_bytes(fixed[: broken.stat().st_size].ljust(broken.stat().st_size, b" "))
        os.utime(broken, (stamp, stamp))
        assert engine.index().updated == 0  # unchanged on disk: the scan leaves it alone
        summary = engine.retry([str(broken), str(tmp_path / "unknown.md")])
        assert summary.errors == 0
        assert engine.problems() == []
        assert engine.search("lighthouse").count == 1


@pytest.mark.parametrize("relative", ["..", "../..", ".", "tmp/..", "./"])
def test_add_folder_refuses_the_root_however_it_is_written(
    engine: Engine, relative: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`folders.add ..` from `/` saved the root after an `internal` error (issue 9, item 8)."""
    monkeypatch.chdir("/")
    with pytest.raises(NeedleError) as raised:
        engine.add_folder(relative)
    assert raised.value.kind == "system_folder"
    assert engine.settings.folders == []
    assert load_settings(engine.paths.settings_file).folders == []


@pytest.mark.expect_log("could not be watched by events")
def test_add_folder_saves_nothing_when_it_fails_midway(
    engine: Engine, notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.start_watching()
    try:

        def fail(self: object, folder: object) -> None:
            raise RecursionError("maximum recursion depth exceeded")

        monkeypatch.setattr("engine.library.watcher.FolderWatcher.add_folder", fail)
        with pytest.raises(RecursionError):
            engine.add_folder(notes)
        assert engine.settings.folders == []
        assert load_settings(engine.paths.settings_file).folders == []
        monkeypatch.undo()

        deep = notes.parent / "deep"
        build_deep_tree(deep, 999)
        try:
            info = engine.add_folder(deep)
            assert info.watch_mode == "polling" and "nested" in info.watch_note
            assert engine.add_folder(notes).watch_mode == "events"
        finally:
            remove_deep_tree(deep)
    finally:
        engine.stop_watching()


def test_files_past_path_max_are_listed_as_skipped_with_a_reason(
    engine: Engine, notes: Path
) -> None:
    """v0.1 dropped them with no record: the folder said "up to date" (issue 9, item 8)."""
    build_deep_tree(notes / "deep", 250, name="folder-name-of-twenty")
    try:
        engine.add_folder(notes)
        summary = engine.index()
        [problem] = [p for p in summary.problems if p.error_kind != "not_text"]  # broken.txt
        assert problem.error_kind == "path_too_long" and problem.state == "skipped"
        assert "longer than the system can open" in problem.error
        info = engine.folders()[0]
        assert info.skipped == 1 and info.state == "errors" and info.indexed >= 1
        engine.index()
        assert engine.folders()[0].skipped == 1  # kept by the next run, once
        checks = {check.name: check for check in engine.doctor().checks}
        assert checks["files"].status == "ok", checks["files"].message  # it is not "gone"
    finally:
        remove_deep_tree(notes / "deep")
