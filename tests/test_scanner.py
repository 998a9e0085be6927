"""Walking folders: ignore rules, extensions, symlinks and loops, unreadable folders, cancel."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, NeedleError
from engine.library.ignore import IgnoreRules
from engine.library.scanner import scan_folders
from tests.helpers.deep_tree import build_deep_tree, remove_deep_tree

EXTENSIONS = (".md", ".txt", "pdf", "HTML")
needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")


def _touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")


def _scan_relative(root: Path, rules: IgnoreRules | None = None) -> list[str]:
    result = scan_folders([root], rules or IgnoreRules(), EXTENSIONS)
    return sorted(f.path.relative_to(root).as_posix() for f in result.files)


# -- ignore rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        ".hidden.md",
        ".git/config.md",
        ".obsidian/workspace.md",
        "a/node_modules/pkg/readme.md",
        "__pycache__/x.txt",
        "~$report.md",
        ".~lock.notes.md#",
        "notes.md~",
        ".notes.md.swp",
        "notes.md.swx",
        "save.tmp",
        "#notes.md#",
        ".#notes.md",
        "paper.pdf.part",
        "paper.pdf.crdownload",
    ],
)
def test_default_rules_ignore_hidden_vcs_and_editor_files(relative: str, tmp_path: Path) -> None:
    assert IgnoreRules().ignored(tmp_path / relative, tmp_path)


@pytest.mark.parametrize("relative", ["notes.md", "a/b/c.txt", "my~file.md", "tmp/notes.md"])
def test_default_rules_keep_ordinary_files(relative: str, tmp_path: Path) -> None:
    assert not IgnoreRules().ignored(tmp_path / relative, tmp_path)


def test_hidden_watched_folder_itself_is_not_ignored(tmp_path: Path) -> None:
    root = tmp_path / ".notes"
    assert not IgnoreRules().ignored(root / "a.md", root)


@pytest.mark.parametrize(
    ("patterns", "relative", "expected"),
    [
        (["*.log"], "deep/er/run.log", True),
        (["*.log"], "run.log.md", False),
        (["drafts/"], "drafts/idea.md", True),
        (["drafts/"], "x/drafts/idea.md", True),
        (["drafts/"], "drafts", False),  # a *file* named drafts: directory-only rule
        (["**/build/**"], "src/build/out.md", True),
        (["**/build/**"], "build/out.md", True),
        (["**/build/**"], "builder/out.md", False),
        (["/top.md"], "top.md", True),
        (["/top.md"], "sub/top.md", False),
        (["notes/old/*.md"], "notes/old/a.md", True),
        (["notes/old/*.md"], "notes/old/deeper/a.md", False),
        (["archive/**/tmp"], "archive/2020/01/tmp/a.md", True),
        (["file[0-9].md"], "file7.md", True),
        (["file[!0-9].md"], "file7.md", False),
        (["file?.md"], "fileA.md", True),
        (["*.md", "!keep.md"], "keep.md", False),
        (["*.md", "!keep.md"], "drop.md", True),
        (["# a comment", "", "  "], "a.md", False),
    ],
)
def test_user_patterns_follow_gitignore_rules(
    patterns: list[str], relative: str, expected: bool, tmp_path: Path
) -> None:
    assert IgnoreRules(patterns).ignored(tmp_path / relative, tmp_path) is expected


def test_a_pattern_that_matches_nothing_is_a_clear_error() -> None:
    with pytest.raises(NeedleError) as caught:
        IgnoreRules(["/"])
    assert caught.value.kind == "invalid_ignore_pattern"
    assert "'/'" in caught.value.message


# -- scanning ---------------------------------------------------------------------------------


def test_scan_lists_supported_files_and_skips_ignored(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "a.md",
        "B.TXT",
        "doc.pdf",
        "page.html",
        "image.png",
        "no_extension",
        ".git/HEAD.md",
        "node_modules/x/readme.md",
        "sub/deeper/c.md",
        "sub/.cache/d.md",
        "logs/run.log",
        "drafts/e.md",
        "sub/f.md~",
    )
    rules = IgnoreRules(["drafts/"])
    assert _scan_relative(tmp_path, rules) == [
        "B.TXT",
        "a.md",
        "doc.pdf",
        "page.html",
        "sub/deeper/c.md",
    ]


def test_scan_records_size_and_mtime(tmp_path: Path) -> None:
    note = tmp_path / "a.md"
    note.write_text("hello world", encoding="utf-8")
    os.utime(note, (1_600_000_000.5, 1_600_000_000.5))
    (found,) = scan_folders([tmp_path], IgnoreRules(), EXTENSIONS).files
    assert (found.path, found.size, found.mtime) == (note, 11, 1_600_000_000.5)


def test_missing_watched_folder_is_reported_not_fatal(tmp_path: Path) -> None:
    _touch(tmp_path / "here", "a.md")
    result = scan_folders([tmp_path / "gone", tmp_path / "here"], IgnoreRules(), EXTENSIONS)
    assert result.missing_roots == [tmp_path / "gone"]
    assert [f.path.name for f in result.files] == ["a.md"]


def test_nested_watched_folders_list_each_file_once(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md", "inner/b.md")
    result = scan_folders([tmp_path / "inner", tmp_path], IgnoreRules(), EXTENSIONS)
    assert sorted(f.path.name for f in result.files) == ["a.md", "b.md"]


def test_deep_tree_does_not_hit_recursion_limit(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d"] * 150)
    _touch(deep, "bottom.md")
    assert _scan_relative(tmp_path) == ["/".join(["d"] * 150) + "/bottom.md"]


@needs_symlinks
def test_symlink_loop_is_recorded_not_followed(tmp_path: Path) -> None:
    _touch(tmp_path, "a/real.md")
    (tmp_path / "a" / "back").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self.md").symlink_to(tmp_path / "self.md")
    result = scan_folders([tmp_path], IgnoreRules(), EXTENSIONS)
    assert [f.path for f in result.files] == [tmp_path / "a" / "real.md"]
    problems = sorted((p.path, p.kind) for p in result.problems)
    assert problems == [
        (tmp_path / "a" / "back", "symlink_loop"),
        (tmp_path / "self.md", "symlink_loop"),
    ]


@needs_symlinks
def test_a_symlinked_folder_inside_the_tree_is_followed_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _touch(root, "shared/shared.md")
    (root / "link1").symlink_to(root / "shared", target_is_directory=True)
    (root / "link2").symlink_to(root / "shared", target_is_directory=True)
    result = scan_folders([root], IgnoreRules(), EXTENSIONS)
    assert len(result.files) == 1 and result.files[0].path.name == "shared.md"
    assert result.problems == []


@needs_symlinks
def test_links_out_of_the_watched_folders_are_reported_not_followed(tmp_path: Path) -> None:
    """A note folder holding `passwd.txt -> /etc/passwd` made /etc/passwd searchable, and a link
    to /proc/self read the process environment (issue 9, item 5)."""
    secret = tmp_path / "elsewhere"
    _touch(secret, "private.md", "folder/inner.md")
    root = tmp_path / "root"
    _touch(root, "mine.md", "other/kept.md")
    (root / "passwd.txt").symlink_to(secret / "private.md")
    (root / "proc").symlink_to(secret / "folder", target_is_directory=True)
    (root / "inside.md").symlink_to(root / "mine.md")  # inside the tree: fine
    (root / "second").symlink_to(tmp_path / "second", target_is_directory=True)
    _touch(tmp_path / "second", "also.md")  # another watched folder: fine
    (root / "image.png").symlink_to(secret / "private.md")  # unsupported: silent
    result = scan_folders([root, tmp_path / "second"], IgnoreRules(), EXTENSIONS)
    names = sorted(f.path.relative_to(tmp_path).as_posix() for f in result.files)
    assert names == ["root/inside.md", "root/mine.md", "root/other/kept.md", "root/second/also.md"]
    problems = sorted((p.path.name, p.kind) for p in result.problems)
    assert problems == [("passwd.txt", "outside_folders"), ("proc", "outside_folders")]
    assert all(str(secret) in p.message for p in result.problems)


@needs_symlinks
def test_a_dangling_link_in_a_folder_named_loop_is_not_a_loop(tmp_path: Path) -> None:
    """The loop check read the error text, and the text holds the path (issue 9, minor)."""
    folder = tmp_path / "loop"
    folder.mkdir()
    (folder / "dangling.md").symlink_to(folder / "nowhere.md")
    result = scan_folders([folder], IgnoreRules(), EXTENSIONS)
    assert [(p.path.name, p.kind) for p in result.problems] == [("dangling.md", "unreadable")]


@needs_symlinks
def test_broken_link_is_reported_as_unreadable(tmp_path: Path) -> None:
    (tmp_path / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")  # unsupported: silent
    result = scan_folders([tmp_path], IgnoreRules(), EXTENSIONS)
    assert [(p.path.name, p.kind) for p in result.problems] == [("dangling.md", "unreadable")]


def test_unreadable_folder_is_recorded_and_the_walk_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path, "locked/secret.md", "open/fine.md")
    locked = tmp_path / "locked"
    real_scandir = os.scandir

    # chmod cannot lock out root (tests may run as root), so refuse the listing the way the OS
    # does for a folder without read permission.
    def refusing_scandir(path: os.PathLike[str] | str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    result = scan_folders([tmp_path], IgnoreRules(), EXTENSIONS)
    assert [f.path.name for f in result.files] == ["fine.md"]
    assert [(p.path, p.kind) for p in result.problems] == [(locked, "unreadable")]
    assert result.problems[0].message == "Cannot open this folder: Permission denied."


def test_cancel_stops_the_walk(tmp_path: Path) -> None:
    _touch(tmp_path, "a/x.md", "b/y.md")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        scan_folders([tmp_path], IgnoreRules(), EXTENSIONS, cancel=token)


def test_progress_reports_files_found_after_each_folder(tmp_path: Path) -> None:
    _touch(tmp_path, "a.md", "sub/b.md", "sub/c.md", "sub/deeper/d.md")
    reports: list[tuple[int, str]] = []
    scan_folders(
        [tmp_path],
        IgnoreRules(),
        EXTENSIONS,
        progress=lambda found, folder: reports.append((found, folder.name)),
    )
    assert reports == [(1, tmp_path.name), (3, "sub"), (4, "deeper")]


def test_files_past_path_max_are_listed_with_a_reason(tmp_path: Path) -> None:
    """Found in the fault campaign: a tree past PATH_MAX was dropped without a word, as if the
    files were not there."""
    top = tmp_path / "deep"
    build_deep_tree(top, 250, name="folder-name-of-twenty")  # ~5,300 bytes at the bottom
    _touch(tmp_path, "shallow.md")
    try:
        result = scan_folders([tmp_path], IgnoreRules(), EXTENSIONS)
        assert [f.path.name for f in result.files] == ["shallow.md"]
        [problem] = result.problems
        assert problem.kind == "path_too_long"
        assert len(os.fsencode(problem.path)) > 4096
        assert "longer than the system can open" in problem.message
        assert "nothing inside it can be indexed" in problem.message
    finally:
        remove_deep_tree(top)


def test_a_thousand_levels_within_path_max_are_walked(tmp_path: Path) -> None:
    build_deep_tree(tmp_path / "d", 999)
    try:
        [found] = scan_folders([tmp_path], IgnoreRules(), EXTENSIONS).files
        assert found.path.name == "bottom.md" and len(found.path.parts) > 1000
    finally:
        remove_deep_tree(tmp_path / "d")
