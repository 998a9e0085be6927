"""Which files and folders Needle never indexes: built-in defaults, the user's patterns, and the
`.gitignore` and `.ignore` files inside the watched folders.

Defaults: anything hidden (a name starting with a dot, which covers `.git`, `.obsidian`,
`.DS_Store`, `.#lockfiles`), `node_modules`, `__pycache__`, and the temporary, lock and backup files
editors and browsers leave next to real documents (`~$x.docx`, `.~lock.x#`, `x~`, `x.swp`,
`x.tmp`, `#x#`, `x.part`, `x.crdownload`). Nothing re-includes what the defaults exclude.

Patterns, in Settings and in ignore files alike, have git's exact semantics (pathspec's
`GitIgnoreSpec`, the 24 cases of git's own documentation, `\\#`, `\\!` and a trailing `\\ `
included):
- `*.log` (no slash) matches a file or folder of that name at any depth;
- `drafts/` (trailing slash) matches only folders, and then everything inside them;
- `notes/old/*.md`, `/top.md` (a slash before the end) are anchored where the patterns live;
- `**` matches any number of folders: `**/build/**`, `archive/**/tmp`;
- `!pattern` re-includes what an earlier pattern excluded (not inside an excluded folder);
- blank lines and lines starting with `#` are ignored.

Where patterns live decides what they apply to, and who wins, as in git: the Settings patterns
apply relative to each watched folder, like git's own exclude file; an ignore file applies to the
subtree of the folder that holds it, relative to that folder. The most specific source with an
opinion decides: a deeper folder's file over a shallower one's, any ignore file over the Settings
patterns, and `.ignore` over `.gitignore` in the same folder (ripgrep's rule); within one source
the last matching line wins. An ignore file is read when a walk first meets its folder and kept
until `refresh()`, which the indexer calls before each scan and the watcher when one changes.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath

from pathspec import GitIgnoreSpec

from engine.errors import ErrorKind, NeedleError

log = logging.getLogger(__name__)

DEFAULT_IGNORED_NAMES = frozenset({"node_modules", "__pycache__"})
DEFAULT_IGNORED_GLOBS = (
    "~$*",  # Office owner files
    ".~lock.*#",  # LibreOffice locks (also hidden, kept for clarity)
    "*~",  # backup files
    "*.swp",
    "*.swx",
    "*.tmp",
    "#*#",  # Emacs autosave
    ".#*",  # Emacs lock links
    "*.part",
    "*.crdownload",
)
# Ignore files read in every folder; a later one wins over an earlier one in the same folder.
IGNORE_FILE_NAMES = (".gitignore", ".ignore")
# An "ignore file" larger than this is not one a person wrote; it is skipped.
MAX_IGNORE_FILE_BYTES = 1024 * 1024

# Windows and macOS file systems are case-insensitive by default, so patterns should be too.
_CASE_INSENSITIVE = sys.platform in ("win32", "darwin")
_DEFAULT_GLOB_RE = re.compile(
    "|".join(fnmatch.translate(glob) for glob in DEFAULT_IGNORED_GLOBS),
    re.IGNORECASE if _CASE_INSENSITIVE else 0,
)


def is_default_ignored_name(name: str) -> bool:
    """True for a single file or folder name the defaults exclude."""
    if name.startswith("."):
        return True
    if name in DEFAULT_IGNORED_NAMES:
        return True
    return _DEFAULT_GLOB_RE.match(name) is not None


def is_ignore_file(path: Path) -> bool:
    return path.name in IGNORE_FILE_NAMES


def _folded(text: str) -> str:
    return text.lower() if _CASE_INSENSITIVE else text


def _check_pattern(raw: str) -> None:
    """Raise NeedleError(invalid_ignore_pattern) for a Settings pattern that cannot be used."""
    if not raw.strip() or raw.lstrip().startswith("#"):
        return
    if not raw.strip().removeprefix("!").strip("/ "):
        raise NeedleError(
            ErrorKind.INVALID_IGNORE_PATTERN,
            f"The ignore pattern {raw!r} matches nothing.",
            "Write a file or folder glob such as *.log, drafts/ or **/build/**.",
        )
    try:
        spec = GitIgnoreSpec.from_lines([raw])
    except (ValueError, re.error) as error:  # pathspec's pattern errors are ValueErrors
        raise NeedleError(
            ErrorKind.INVALID_IGNORE_PATTERN,
            f"The ignore pattern {raw!r} is not a valid pattern ({error}).",
            "Write a file or folder glob such as *.log, drafts/ or **/build/**.",
        ) from error
    if all(pattern.include is None for pattern in spec.patterns):
        raise NeedleError(
            ErrorKind.INVALID_IGNORE_PATTERN,
            f"The ignore pattern {raw!r} matches nothing.",
            "Write a file or folder glob such as *.log, drafts/ or **/build/**.",
        )


def pattern_problems(patterns: Iterable[str]) -> list[str]:
    """Why each unusable pattern would be refused, compiled exactly as `IgnoreRules` compiles
    it: settings validation runs this, so no pattern is saved that the scanner cannot use."""
    problems = []
    for pattern in patterns:
        try:
            _check_pattern(pattern)
        except NeedleError as error:
            problems.append(error.message)
    return problems


def _spec(lines: Iterable[str]) -> GitIgnoreSpec | None:
    """The spec of the usable lines (a bad line in someone's ignore file is skipped, as git
    skips it); None when no line says anything."""
    usable = []
    for line in lines:
        try:
            GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error):
            log.debug("ignore line skipped: %r", line)
            continue
        usable.append(_folded(line))
    spec = GitIgnoreSpec.from_lines(usable)
    return spec if any(pattern.include is not None for pattern in spec.patterns) else None


def _opinion(spec: GitIgnoreSpec | None, relative: str) -> bool | None:
    """True: excluded; False: re-included; None: no line matches."""
    if spec is None:
        return None
    include = spec.check_file(relative).include
    return None if include is None else bool(include)


_UNREAD = object()


class _IgnoreFiles:
    """The compiled ignore files of each folder met so far (None for a folder without any)."""

    def __init__(self) -> None:
        self._specs: dict[str, GitIgnoreSpec | None] = {}
        self._lock = threading.Lock()

    def spec(self, folder: str) -> GitIgnoreSpec | None:
        # Looked up for every folder above every entry: a read of one dict key needs no lock.
        known = self._specs.get(folder, _UNREAD)
        if known is not _UNREAD:
            return known  # type: ignore[return-value]
        spec = _spec(line for name in IGNORE_FILE_NAMES for line in _lines(Path(folder, name)))
        with self._lock:
            self._specs[folder] = spec
        return spec

    def clear(self) -> None:
        with self._lock:
            self._specs.clear()


def _lines(path: Path) -> list[str]:
    try:
        if path.stat().st_size > MAX_IGNORE_FILE_BYTES:
            log.info("%s is too large to be an ignore file; skipped", path)
            return []
        data = path.read_bytes()
    except OSError:
        return []  # none here (the common case), or unreadable: no rules from it
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff").splitlines()


class IgnoreRules:
    """Defaults, Settings patterns and ignore files. Build once, ask many times; thread-safe.

    Raises `NeedleError(kind="invalid_ignore_pattern")` for a Settings pattern that cannot be
    used; `IgnoreRules.usable` leaves such patterns out instead. `ignore_files=False` judges by
    defaults and patterns only."""

    def __init__(
        self,
        patterns: Iterable[str] = (),
        *,
        use_defaults: bool = True,
        ignore_files: bool = True,
    ) -> None:
        self.patterns: tuple[str, ...] = tuple(patterns)
        self.use_defaults = use_defaults
        self.ignore_files = ignore_files
        for pattern in self.patterns:
            _check_pattern(pattern)
        self._spec = _spec(self.patterns)
        self._files = _IgnoreFiles()

    @classmethod
    def usable(cls, patterns: Iterable[str]) -> IgnoreRules:
        """The rules of the patterns that can be used, the others left out with a warning: a
        settings file saved by an older Needle (or edited by hand) must not stop the library
        from opening; `needle doctor` names the pattern to fix."""
        patterns = tuple(patterns)
        for problem in pattern_problems(patterns):
            log.warning("ignore pattern left out: %s", problem)
        return cls(p for p in patterns if not pattern_problems([p]))

    def refresh(self) -> None:
        """Forget the ignore files read so far: they are read again when next needed."""
        self._files.clear()

    def ignored(self, path: Path, root: Path, *, is_dir: bool = False) -> bool:
        """True when `path` (a file, or a folder when `is_dir`) under watched folder `root`, or
        any folder between them, is excluded. A path outside `root` is judged by its name."""
        try:
            parts = PurePath(path).relative_to(root).parts
            base: Path | None = Path(root)
        except ValueError:
            parts, base = (PurePath(path).name,), None
        if not parts:
            return False
        for depth in range(1, len(parts) + 1):
            entry_is_dir = is_dir or depth < len(parts)
            if self.ignored_relative(parts[:depth], is_dir=entry_is_dir, root=base):
                return True
        return False

    def ignored_relative(
        self, parts: Sequence[str], *, is_dir: bool, root: Path | None = None
    ) -> bool:
        """Judge only the last entry of a path relative to watched folder `root` whose parent
        folders already passed. The scanner uses this so each folder level is checked once.
        Without `root`, ignore files are not consulted."""
        if self.use_defaults and is_default_ignored_name(parts[-1]):
            return True
        suffix = "/" if is_dir else ""
        verdict = _opinion(self._spec, _folded("/".join(parts)) + suffix)
        if self.ignore_files and root is not None:
            # Folder names joined as text, not with Path.joinpath: the check runs for every
            # entry at every level above it, and a tree 1,000 levels deep made that minutes.
            folder = os.fspath(root)
            for depth in range(len(parts)):
                if depth:
                    folder = os.path.join(folder, parts[depth - 1])
                spec = self._files.spec(folder)
                if spec is not None:
                    opinion = _opinion(spec, _folded("/".join(parts[depth:])) + suffix)
                    if opinion is not None:
                        verdict = opinion
        return bool(verdict)

    def __repr__(self) -> str:
        return (
            f"IgnoreRules({list(self.patterns)!r}, use_defaults={self.use_defaults}, "
            f"ignore_files={self.ignore_files})"
        )
