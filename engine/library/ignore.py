"""Which files and folders Needle never indexes: built-in defaults plus the user's glob patterns.

Defaults: anything hidden (a name starting with a dot, which covers `.git`, `.obsidian`,
`.DS_Store`, `.#lockfiles`), `node_modules`, `__pycache__`, and the temporary, lock and backup files
editors and browsers leave next to real documents (`~$x.docx`, `.~lock.x#`, `x~`, `x.swp`,
`x.tmp`, `#x#`, `x.part`, `x.crdownload`).

User patterns follow .gitignore rules, relative to the watched folder:
- `*.log` (no slash) matches a file or folder of that name at any depth;
- `drafts/` (trailing slash) matches only folders, and then everything inside them;
- `notes/old/*.md`, `/top.md` (a slash before the end) are anchored at the watched folder;
- `**` matches any number of folders: `**/build/**`, `archive/**/tmp`;
- `!pattern` re-includes what an earlier pattern excluded (not inside an excluded folder);
- blank lines and lines starting with `#` are ignored.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

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


@dataclass(frozen=True)
class _Rule:
    pattern: str
    regex: re.Pattern[str]
    directories_only: bool
    negated: bool


def _glob_to_regex(glob: str) -> str:
    """Translate a gitignore-style glob (already stripped of `!`, leading and trailing `/`)."""
    parts: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            parts.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif char == "*":
            parts.append("[^/]*")
            i += 1
        elif char == "?":
            parts.append("[^/]")
            i += 1
        elif char == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                parts.append(re.escape(char))
                i += 1
                continue
            body = glob[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            parts.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            parts.append(re.escape(char))
            i += 1
    return "".join(parts)


def _compile_rule(raw: str) -> _Rule | None:
    pattern = raw.strip()
    if not pattern or pattern.startswith("#"):
        return None
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    directories_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    if not body:
        raise NeedleError(
            ErrorKind.INVALID_IGNORE_PATTERN,
            f"The ignore pattern {raw!r} matches nothing.",
            "Write a file or folder glob such as *.log, drafts/ or **/build/**.",
        )
    translated = _glob_to_regex(body)
    if not anchored:
        translated = "(?:.*/)?" + translated
    try:
        regex = re.compile(translated, re.IGNORECASE if _CASE_INSENSITIVE else 0)
    except re.error as error:
        raise NeedleError(
            ErrorKind.INVALID_IGNORE_PATTERN,
            f"The ignore pattern {raw!r} is not a valid glob ({error}).",
            "Check the brackets in the pattern, e.g. file[0-9].txt.",
        ) from error
    return _Rule(pattern, regex, directories_only, negated)


def pattern_problems(patterns: Iterable[str]) -> list[str]:
    """Why each unusable pattern would be refused, compiled exactly as `IgnoreRules` compiles
    it: settings validation runs this, so no pattern is saved that the scanner cannot use."""
    problems = []
    for pattern in patterns:
        try:
            _compile_rule(pattern)
        except NeedleError as error:
            problems.append(error.message)
    return problems


class IgnoreRules:
    """Defaults plus user patterns. Build once, ask many times; immutable and thread-safe.

    Raises `NeedleError(kind="invalid_ignore_pattern")` for a pattern that cannot be used;
    `IgnoreRules.usable` leaves such patterns out instead.
    """

    def __init__(self, patterns: Iterable[str] = (), *, use_defaults: bool = True) -> None:
        self.patterns: tuple[str, ...] = tuple(patterns)
        self.use_defaults = use_defaults
        compiled = (_compile_rule(p) for p in self.patterns)
        self._rules: tuple[_Rule, ...] = tuple(rule for rule in compiled if rule is not None)

    @classmethod
    def usable(cls, patterns: Iterable[str]) -> IgnoreRules:
        """The rules of the patterns that can be used, the others left out with a warning: a
        settings file saved by an older Needle (or edited by hand) must not stop the library
        from opening; `needle doctor` names the pattern to fix."""
        patterns = tuple(patterns)
        for problem in pattern_problems(patterns):
            log.warning("ignore pattern left out: %s", problem)
        return cls(p for p in patterns if not pattern_problems([p]))

    def ignored(self, path: Path, root: Path, *, is_dir: bool = False) -> bool:
        """True when `path` (a file, or a folder when `is_dir`) under watched folder `root`, or
        any folder between them, is excluded. A path outside `root` is judged by its name."""
        try:
            parts = PurePath(path).relative_to(root).parts
        except ValueError:
            parts = (PurePath(path).name,)
        if not parts:
            return False
        for depth in range(1, len(parts) + 1):
            entry_is_dir = is_dir or depth < len(parts)
            if self.ignored_relative(parts[:depth], is_dir=entry_is_dir):
                return True
        return False

    def ignored_relative(self, parts: Sequence[str], *, is_dir: bool) -> bool:
        """Judge only the last entry of a relative path whose parent folders already passed.
        The scanner uses this so each folder level is checked once."""
        if self.use_defaults and is_default_ignored_name(parts[-1]):
            return True
        if not self._rules:
            return False
        relative = "/".join(parts)
        verdict = False
        for rule in self._rules:
            if rule.directories_only and not is_dir:
                continue
            if rule.regex.fullmatch(relative):
                verdict = not rule.negated
        return verdict

    def __repr__(self) -> str:
        return f"IgnoreRules({list(self.patterns)!r}, use_defaults={self.use_defaults})"
