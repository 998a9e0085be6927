"""Needle engine: ingestion, index, search and the reading agent. No Qt, ever."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("needle")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
