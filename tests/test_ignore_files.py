"""The .gitignore and .ignore files people already have: git's exact pattern semantics (the
escapes included), where each file applies, which one wins, and that editing one takes effect:
files newly ignored leave the index, files no longer ignored come in."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.api import Engine
from engine.errors import NeedleError
from engine.library.catalog import Catalog
from engine.library.ignore import IgnoreRules
from engine.library.indexer import Indexer
from engine.library.scanner import scan_folders
from engine.library.watcher import ChangeBatch, FolderWatcher
from engine.search.index import ChunkIndex
from engine.settings import Settings

EXTENSIONS = frozenset({".md", ".txt"})

# (patterns, path relative to the watched folder, is it ignored) — git's documented behaviour,
# including the three cases a hand-written translator got wrong (escaped #, escaped !, and an
# escaped trailing space).
GIT_CASES = [
    (["\\#notes.md"], "#notes.md", True),
    (["#notes.md"], "#notes.md", False),  # a comment, not a pattern
    (["\\!important.md"], "!important.md", True),
    (["!important.md"], "!important.md", False),
    (["trail\\ "], "trail ", True),
    (["trail\\ "], "trail", False),
    (["trail "], "trail", True),  # unescaped trailing spaces are dropped
    (["*.log"], "deep/down/x.log", True),
    (["*.log", "!keep.log"], "keep.log", False),
    (["*.log", "!keep.log"], "a.log", True),
    (["/top.md"], "top.md", True),
    (["/top.md"], "sub/top.md", False),
    (["docs/*.md"], "docs/a.md", True),
    (["docs/*.md"], "docs/a/b.md", False),
    (["docs/**/b.md"], "docs/a/c/b.md", True),
    (["**/tmp"], "x/y/tmp/z.md", True),
    (["a/**"], "a/x/y.md", True),
    (["a/**"], "a.md", False),
    (["drafts/"], "drafts/a.md", True),
    (["drafts/"], "drafts.md", False),
    (["build/", "!build/x.md"], "build/x.md", True),  # no re-including inside an excluded folder
    (["file[0-9].md"], "file7.md", True),
    (["file[!0-9].md"], "file7.md", False),
    (["?.md"], "ab.md", False),
]


@pytest.mark.parametrize(("patterns", "relative", "expected"), GIT_CASES)
def test_settings_patterns_follow_git(
    tmp_path: Path, patterns: list[str], relative: str, expected: bool
) -> None:
    assert IgnoreRules(patterns).ignored(tmp_path / relative, tmp_path) is expected


@pytest.mark.parametrize(("patterns", "relative", "expected"), GIT_CASES)
def test_gitignore_files_follow_git(
    tmp_path: Path, patterns: list[str], relative: str, expected: bool
) -> None:
    (tmp_path / ".gitignore").write_text("\n".join(patterns) + "\n", encoding="utf-8")
    assert IgnoreRules().ignored(tmp_path / relative, tmp_path) is expected


def test_unusable_settings_patterns_are_refused_clearly() -> None:
    for pattern in ("/", "!", "\\"):
        with pytest.raises(NeedleError) as caught:
            IgnoreRules([pattern])
        assert caught.value.kind == "invalid_ignore_pattern"


def tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def found(root: Path, rules: IgnoreRules | None = None) -> set[str]:
    result = scan_folders([root], rules or IgnoreRules(), EXTENSIONS)
    return {f.path.relative_to(root).as_posix() for f in result.files}


def test_an_ignore_file_applies_to_its_own_subtree_relative_to_its_folder(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "top.md": "x",
            "journal/top.md": "x",
            "journal/deep/top.md": "x",
            "journal/.gitignore": "/top.md\n",
            "journal/private.md": "x",
            "other/private.md": "x",
            "journal/deep/.ignore": "private.md\n",
            "journal/deep/private.md": "x",
        },
    )
    assert found(tmp_path) == {
        "top.md",  # the journal's file says nothing about its parent
        "journal/deep/top.md",  # anchored at journal/, not at journal/deep/
        "journal/private.md",
        "other/private.md",
    }


def test_the_deeper_file_wins_and_ignore_beats_gitignore(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            ".gitignore": "*.txt\n",
            "keep/.gitignore": "!wanted.txt\n",
            "keep/wanted.txt": "x",
            "keep/other.txt": "x",
            "both/.gitignore": "!draft.md\n",
            "both/.ignore": "draft.md\n",
            "both/draft.md": "x",
            "both/final.md": "x",
        },
    )
    assert found(tmp_path) == {"keep/wanted.txt", "both/final.md"}


def test_an_ignore_file_overrides_the_settings_patterns(tmp_path: Path) -> None:
    tree(tmp_path, {"a.log.md": "x", "b.log.md": "x", ".gitignore": "!a.log.md\n"})
    assert found(tmp_path, IgnoreRules(["*.log.md"])) == {"a.log.md"}


def test_an_ignore_file_inside_an_ignored_folder_has_no_say(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {".gitignore": "archive/\n", "archive/.gitignore": "!*\n", "archive/old.md": "x"},
    )
    assert found(tmp_path) == set()


def test_ignore_files_can_be_turned_off(tmp_path: Path) -> None:
    tree(tmp_path, {".gitignore": "*.md\n", "a.md": "x"})
    assert found(tmp_path, IgnoreRules(ignore_files=False)) == {"a.md"}


def test_an_edited_ignore_file_is_read_again_after_refresh(tmp_path: Path) -> None:
    tree(tmp_path, {"a.md": "x", "b.md": "x"})
    rules = IgnoreRules()
    assert not rules.ignored(tmp_path / "a.md", tmp_path)
    (tmp_path / ".gitignore").write_text("a.md\n", encoding="utf-8")
    rules.refresh()
    assert rules.ignored(tmp_path / "a.md", tmp_path)


# -- taking effect ------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path: Path) -> tuple[Indexer, ChunkIndex, Path]:
    notes = tree(
        tmp_path / "notes",
        {"public.md": "harbour lighthouse", "diary/secret.md": "harbour lighthouse"},
    )
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    return Indexer(catalog, index, Settings(), ocr=False), index, notes


def indexed_paths(index: ChunkIndex, notes: Path) -> set[str]:
    return {Path(hit.path).relative_to(notes).as_posix() for hit in index.search("harbour")}


def test_reconcile_applies_an_edited_ignore_file_both_ways(
    library: tuple[Indexer, ChunkIndex, Path],
) -> None:
    indexer, index, notes = library
    indexer.reconcile([notes])
    assert indexed_paths(index, notes) == {"public.md", "diary/secret.md"}
    (notes / ".gitignore").write_text("diary/\n", encoding="utf-8")
    summary = indexer.reconcile([notes])
    assert summary.removed == 1 and indexed_paths(index, notes) == {"public.md"}
    (notes / ".gitignore").write_text("# nothing ignored any more\n", encoding="utf-8")
    summary = indexer.reconcile([notes])
    assert summary.added == 1 and indexed_paths(index, notes) == {"public.md", "diary/secret.md"}


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_watcher_reports_an_edited_ignore_file(tmp_path: Path) -> None:
    notes = tree(tmp_path / "notes", {"a.md": "x", "sub/b.md": "x"})
    batches: list[ChangeBatch] = []
    with FolderWatcher([notes], IgnoreRules(), batches.append, debounce_seconds=0.1):
        time.sleep(0.3)
        (notes / "sub" / ".gitignore").write_text("b.md\n", encoding="utf-8")
        assert wait_for(lambda: any(batch.rules_changed for batch in batches))
    assert {folder for batch in batches for folder in batch.rules_changed} == {notes / "sub"}


@pytest.mark.slow
def test_a_watched_library_follows_its_ignore_files(tmp_path: Path) -> None:
    notes = tree(
        tmp_path / "notes",
        {"public.md": "harbour lighthouse", "diary/secret.md": "harbour lighthouse"},
    )
    engine = Engine.open(tmp_path / "home")
    try:
        engine.add_folder(notes)
        engine.index()
        engine.start_watching()

        def paths() -> set[str]:
            hits = engine.search("harbour").hits
            return {Path(hit.path).relative_to(notes).as_posix() for hit in hits}

        assert paths() == {"public.md", "diary/secret.md"}
        (notes / ".gitignore").write_text("diary/\n", encoding="utf-8")
        assert wait_for(lambda: paths() == {"public.md"})
        (notes / ".gitignore").unlink()
        assert wait_for(lambda: paths() == {"public.md", "diary/secret.md"})
    finally:
        engine.close()
