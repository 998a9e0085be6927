"""Lists whose rows are word-wrapped labels (the folders and the history panels)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QListWidget


def fit_rows_to_width(rows: QListWidget) -> None:
    """Give each row the height its label needs at the list's current width: a wrapped label's
    height depends on the width, which Qt's own size hint does not know."""
    width = max(120, rows.viewport().width() - 2 * rows.spacing())
    for index in range(rows.count()):
        item = rows.item(index)
        label = rows.itemWidget(item)
        if label is not None:
            label.ensurePolished()
            item.setSizeHint(QSize(width, label.heightForWidth(width) + 2))
