"""What Level 2 reads: one file, one folder, or the whole corpus, as index filters plus the words
the steps panel shows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.agent.session import AgentIndex
from engine.errors import ErrorKind, NeedleError
from engine.models import SearchFilters

ScopeSpec = str | os.PathLike[str] | SearchFilters | None


@dataclass(frozen=True)
class Scope:
    filters: SearchFilters | None
    description: str


WHOLE_CORPUS = Scope(None, "the whole corpus")


def resolve_scope(spec: ScopeSpec, index: AgentIndex) -> Scope:
    """A Scope for a path (file or folder, on disk or only in the index), ready-made filters,
    or None for everything. A path with nothing indexed under it is an error, not an empty read."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return WHOLE_CORPUS
    if isinstance(spec, SearchFilters):
        return Scope(spec, _describe_filters(spec))
    path = Path(os.fspath(spec)).expanduser().resolve()
    as_file = Scope(SearchFilters(paths=(str(path),)), f"file {path.name}")
    as_folder = Scope(SearchFilters(folders=(str(path),)), f"folder {path}")
    if path.is_file():
        candidates = [as_file]
    elif path.is_dir():
        candidates = [as_folder]
    else:
        candidates = [as_file, as_folder]
    for scope in candidates:
        if index.count(scope.filters) > 0:
            return scope
    raise NeedleError(
        ErrorKind.SCOPE_EMPTY,
        f"Nothing under {path} is in the index.",
        "Add and index that folder first, or choose another scope.",
    )


def _describe_filters(filters: SearchFilters) -> str:
    parts: list[str] = []
    if filters.paths:
        names = ", ".join(Path(p).name for p in filters.paths[:3])
        parts.append(f"file {names}" if len(filters.paths) == 1 else f"files {names}")
    if filters.folders:
        parts.append("folder " + ", ".join(filters.folders[:3]))
    if filters.extensions:
        parts.append("type " + ", ".join(filters.extensions))
    if filters.modified_after is not None or filters.modified_before is not None:
        parts.append("a date range")
    return "; ".join(parts) or "the whole corpus"
