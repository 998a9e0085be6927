"""The About dialog and the app's version, which comes from one place: the package metadata
(pyproject.toml's version, as the engine also reports it)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.icon import app_icon
from desktop.rich_text import escape
from desktop.theme import COLORS

APP_NAME = "Needle"
ORGANIZATION = "Needle"
DESCRIPTION = "Ask questions of your own notes and PDFs, offline, with a local model."


def app_version() -> str:
    try:
        return version("needle")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


def about_html(engine_info: Mapping[str, Any]) -> str:
    lines = [
        f"<p style='font-size:16pt; font-weight:600; margin-bottom:0;'>{APP_NAME}</p>",
        f"<p style='color:{COLORS.muted}; margin-top:2px;'>Version {escape(app_version())}</p>",
        f"<p>{escape(DESCRIPTION)}</p>",
    ]
    details = []
    if engine_info.get("engine_version"):
        details.append(f"Engine {escape(str(engine_info['engine_version']))}")
    if engine_info.get("protocol"):
        details.append(f"protocol {escape(str(engine_info['protocol']))}")
    details.append(f"Qt for Python {escape(pyside_version)}")
    lines.append(f"<p style='color:{COLORS.muted};'>{' · '.join(details)}</p>")
    if engine_info.get("data_dir"):
        lines.append(
            f"<p style='color:{COLORS.muted};'>Data: {escape(str(engine_info['data_dir']))}</p>"
        )
    return "".join(lines)


class AboutDialog(QDialog):
    def __init__(self, engine_info: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(about_html(engine_info))
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setMinimumWidth(320)
        row = QHBoxLayout()
        row.setSpacing(18)
        row.addWidget(icon)
        row.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 14)
        layout.addLayout(row)
        layout.addWidget(buttons)
