"""Opening a source file in the user's own viewer, at the cited page where the viewer allows it."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def file_url(path: str, page: int | None = None) -> QUrl:
    """file:///x.pdf#page=3 for PDFs with a page (the PDF open-parameters convention that many
    viewers honour); the plain file URL otherwise."""
    url = QUrl.fromLocalFile(path)
    if page and Path(path).suffix.lower() == ".pdf":
        url.setFragment(f"page={int(page)}")
    return url


def open_file(path: str, page: int | None = None) -> bool:
    """Ask the desktop to open `path`; if the viewer refuses the page fragment, open the file.
    Returns False when the file is gone or nothing could open it."""
    if not Path(path).exists():
        log.warning("cannot open %s: the file no longer exists", path)
        return False
    with_page = file_url(path, page)
    if with_page.hasFragment() and QDesktopServices.openUrl(with_page):
        return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))
