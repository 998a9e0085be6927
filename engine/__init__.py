"""Needle engine: ingestion, index, search and the reading agent. No Qt, ever."""

from __future__ import annotations

from functools import cache

__all__ = ["__version__"]


@cache
def _installed_version() -> str:
    # importlib.metadata costs more than the rest of `needle search`'s start-up: read it only
    # when something asks for the version.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("needle")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
