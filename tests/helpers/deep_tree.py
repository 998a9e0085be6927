"""Folder trees deeper than the system lets a path reach: built one level at a time relative to an
open folder (a path past PATH_MAX cannot be passed to mkdir), and removed the same way."""

from __future__ import annotations

import itertools
import os
from pathlib import Path


def build_deep_tree(
    top: Path, levels: int, *, name: str = "d", leaf: str = "bottom.md", text: str = "deep okapi"
) -> None:
    """`top/name/name/.../leaf`, `levels` folders deep, `leaf` holding `text`."""
    top.mkdir(parents=True, exist_ok=True)
    folder = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=folder)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = inner
        handle = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=folder)
        try:
            os.write(handle, text.encode("utf-8"))
        finally:
            os.close(handle)
    finally:
        os.close(folder)


def remove_deep_tree(top: Path) -> None:
    """Remove `top` however deep it goes (`shutil.rmtree` recurses, and Python's stack does not
    reach 1,000 levels): each subfolder is first renamed up to `top`'s level, so every path used
    stays short."""
    if not top.exists():
        return
    serial = itertools.count()
    pending = [top]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            listed = list(entries)
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                shallow = top.parent / f".{top.name}-removing-{next(serial)}"
                os.rename(entry.path, shallow)
                pending.append(shallow)
            else:
                os.unlink(entry.path)
        if folder != top:
            os.rmdir(folder)
    os.rmdir(top)
