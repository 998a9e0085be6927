"""Walking the watched folders: which supported files are on disk now, and what could not be read.

The walk is iterative (`os.scandir` with an explicit stack, so deep trees never hit the recursion
limit), skips ignored entries and unsupported extensions, follows symbolic links, and never visits
a folder twice: folders are identified by (st_dev, st_ino), so a link pointing back at one of its
own parent folders is reported as a `symlink_loop` instead of being followed forever, and a folder
reachable twice (two links, or nested watched folders) is walked once. Unreadable folders and
broken links are reported, never fatal. A link is followed only when its target resolves inside
a watched folder: a link to `/etc/passwd` or `/proc/self` is reported as `outside_folders`.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.cancel import NEVER, CancelToken
from engine.errors import ErrorKind
from engine.library.ignore import IgnoreRules

log = logging.getLogger(__name__)

SCAN_PROBLEM_KINDS = frozenset(
    {
        ErrorKind.SYMLINK_LOOP,
        ErrorKind.UNREADABLE,
        ErrorKind.FOLDER_MISSING,
        ErrorKind.OUTSIDE_FOLDERS,
        ErrorKind.PATH_TOO_LONG,
    }
)
OUTSIDE_MESSAGE = "This link points outside the watched folders ({target}); not followed."
# Past PATH_MAX (4,096 bytes on Linux, 1,024 on macOS) no program can open a file by its path:
# not the extractor, not the index, not the app that would show it.
TOO_LONG_MESSAGE = (
    "This {what} is nested so deeply that its path ({length:,} bytes) is longer than the system "
    "can open, so {rest} be indexed. Move it to a shallower folder or shorten folder names."
)


@dataclass(frozen=True)
class DiskFile:
    """A supported file as seen on disk (`path` as reached through the watched folder)."""

    path: Path
    size: int
    mtime: float


@dataclass(frozen=True)
class ScanProblem:
    """An entry the walk had to skip. `kind` is one of SCAN_PROBLEM_KINDS."""

    path: Path
    kind: str
    message: str


@dataclass
class ScanResult:
    files: list[DiskFile] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    missing_roots: list[Path] = field(default_factory=list)  # watched folders not there now


def normalize_extensions(extensions: Iterable[str]) -> frozenset[str]:
    """Lower-case extensions with a leading dot, whichever way the caller wrote them."""
    return frozenset(
        ext.lower() if ext.startswith(".") else "." + ext.lower() for ext in extensions if ext
    )


def is_supported(path: Path, extensions: frozenset[str]) -> bool:
    return path.suffix.lower() in extensions


def real_roots(folders: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    """The watched folders with every link resolved: where a link may lead."""
    return tuple(os.path.realpath(folder) for folder in folders)


def outside(path: str | os.PathLike[str], roots: tuple[str, ...]) -> str | None:
    """Where `path` really is when that is outside every folder of `roots`, else None."""
    target = os.path.realpath(path)
    if any(target == root or target.startswith(os.path.join(root, "")) for root in roots):
        return None
    return target


@dataclass(frozen=True)
class _Pending:
    folder: Path
    relative: tuple[str, ...]
    ancestors: frozenset[tuple[int, int]]  # (st_dev, st_ino) of every folder above, itself included


class _Walk:
    """One walk over one watched folder; shares `visited` across folders of the same scan."""

    def __init__(
        self,
        root: Path,
        rules: IgnoreRules,
        extensions: frozenset[str],
        visited: set[tuple[int, int]],
        result: ScanResult,
        progress: Callable[[int, Path], None] | None,
        roots: tuple[str, ...] = (),
    ) -> None:
        """`roots`: the real paths links may lead into (default: this folder's)."""
        self.roots = roots or real_roots([root])
        self.root = root
        self.rules = rules
        self.extensions = extensions
        self.visited = visited
        self.result = result
        self.progress = progress

    def run(self, cancel: CancelToken) -> None:
        try:
            root_stat = self.root.stat()
        except OSError as error:
            log.info("watched folder %s is not available: %s", self.root, error)
            self.result.missing_roots.append(self.root)
            return
        if not stat.S_ISDIR(root_stat.st_mode):
            self.result.missing_roots.append(self.root)
            return
        root_key = (root_stat.st_dev, root_stat.st_ino)
        if root_key in self.visited:
            return
        self.visited.add(root_key)
        stack = [_Pending(self.root, (), frozenset({root_key}))]
        while stack:
            cancel.raise_if_cancelled()
            pending = stack.pop()
            stack.extend(self._list(pending))
            if self.progress is not None:
                self.progress(len(self.result.files), pending.folder)

    def _list(self, pending: _Pending) -> list[_Pending]:
        try:
            with os.scandir(pending.folder) as entries:
                listed = list(entries)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:
                self._too_long(pending.folder, is_dir=True)
            else:
                self._problem(
                    pending.folder,
                    ErrorKind.UNREADABLE,
                    f"Cannot open this folder: {_reason(error)}.",
                )
            return []
        subfolders: list[_Pending] = []
        # Sorted so the scan order (and so the progress display) is stable between runs.
        for entry in sorted(listed, key=lambda e: e.name):
            subfolder = self._visit(entry, pending)
            if subfolder is not None:
                subfolders.append(subfolder)
        subfolders.reverse()  # the stack pops the last one first; keep alphabetical order
        return subfolders

    def _visit(self, entry: os.DirEntry[str], parent: _Pending) -> _Pending | None:
        path = Path(entry.path)
        relative = (*parent.relative, entry.name)
        try:
            entry_stat = entry.stat(follow_symlinks=True)
        except OSError as error:
            self._unstattable(entry, path, relative, error)
            return None
        if entry.is_symlink() and self._leads_outside(path, relative, entry_stat):
            return None
        if stat.S_ISDIR(entry_stat.st_mode):
            return self._folder(path, relative, entry_stat, parent)
        if not stat.S_ISREG(entry_stat.st_mode):
            return None  # sockets, fifos, devices
        if self.rules.ignored_relative(relative, is_dir=False, root=self.root):
            return None
        if not is_supported(path, self.extensions):
            return None
        self.result.files.append(DiskFile(path, entry_stat.st_size, entry_stat.st_mtime))
        return None

    def _folder(
        self,
        path: Path,
        relative: tuple[str, ...],
        folder_stat: os.stat_result,
        parent: _Pending,
    ) -> _Pending | None:
        if self.rules.ignored_relative(relative, is_dir=True, root=self.root):
            return None
        key = (folder_stat.st_dev, folder_stat.st_ino)
        if key in parent.ancestors:
            self._problem(
                path,
                ErrorKind.SYMLINK_LOOP,
                "This link points back at a folder that contains it; not followed.",
            )
            return None
        if key in self.visited:
            log.debug("folder %s already walked through another path", path)
            return None
        self.visited.add(key)
        return _Pending(path, relative, parent.ancestors | {key})

    def _leads_outside(self, path: Path, relative: tuple[str, ...], target: os.stat_result) -> bool:
        """A link whose target is outside the watched folders; reported when it would have been
        indexed (a supported file, or any folder), never followed."""
        where = outside(path, self.roots)
        if where is None:
            return False
        is_dir = stat.S_ISDIR(target.st_mode)
        wanted = is_dir or (stat.S_ISREG(target.st_mode) and is_supported(path, self.extensions))
        if wanted and not self.rules.ignored_relative(relative, is_dir=is_dir, root=self.root):
            self._problem(path, ErrorKind.OUTSIDE_FOLDERS, OUTSIDE_MESSAGE.format(target=where))
        return True

    def _unstattable(
        self, entry: os.DirEntry[str], path: Path, relative: tuple[str, ...], error: OSError
    ) -> None:
        """A link that cannot be followed, or an entry past PATH_MAX; only worth reporting when
        it would have been indexed (a folder that deep hides every file below it)."""
        if error.errno == errno.ENAMETOOLONG:
            is_dir = _is_folder(entry)
            if not self.rules.ignored_relative(relative, is_dir=is_dir, root=self.root) and (
                is_dir or is_supported(path, self.extensions)
            ):
                self._too_long(path, is_dir=is_dir)
            return
        if self.rules.ignored_relative(relative, is_dir=False, root=self.root):
            return
        if not is_supported(path, self.extensions):
            return
        if error.errno == getattr(os, "ELOOP", 40):
            self._problem(path, ErrorKind.SYMLINK_LOOP, "This link points at itself in a loop.")
        elif entry.is_symlink():
            self._problem(
                path, ErrorKind.UNREADABLE, "This link points at a file that does not exist."
            )
        else:
            self._problem(path, ErrorKind.UNREADABLE, f"Cannot read this file: {_reason(error)}.")

    def _too_long(self, path: Path, *, is_dir: bool) -> None:
        what, rest = ("folder", "nothing inside it can") if is_dir else ("file", "it cannot")
        length = len(os.fsencode(path))
        message = TOO_LONG_MESSAGE.format(what=what, length=length, rest=rest)
        self._problem(path, ErrorKind.PATH_TOO_LONG, message)

    def _problem(self, path: Path, kind: str, message: str) -> None:
        self.result.problems.append(ScanProblem(path, kind, message))


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """From the listing's file type; an entry past PATH_MAX cannot be stat'ed to ask."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def scan_folders(
    folders: Sequence[Path],
    rules: IgnoreRules,
    extensions: Iterable[str],
    *,
    cancel: CancelToken = NEVER,
    progress: Callable[[int, Path], None] | None = None,
) -> ScanResult:
    """Every supported, non-ignored file under `folders` (absolute paths), plus the problems met.

    `progress(files_found_so_far, folder_just_listed)` is called after each folder (the caller
    throttles). Raises `Cancelled` when `cancel` is set mid-walk. A watched folder that does not
    exist now is listed in `missing_roots` (the caller keeps its catalog rows: an unplugged
    drive is not a deletion).
    """
    result = ScanResult()
    visited: set[tuple[int, int]] = set()
    normalized = normalize_extensions(extensions)
    roots = real_roots(folders)
    for folder in folders:
        _Walk(Path(folder), rules, normalized, visited, result, progress, roots).run(cancel)
    return result
