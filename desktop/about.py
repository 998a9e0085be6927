"""The About dialog and the app's version, which comes from one place: the package metadata
(pyproject.toml's version, as the engine also reports it)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.i18n import QT_TR_NOOP, tr
from desktop.icon import app_icon, resources_dir
from desktop.rich_text import escape
from desktop.theme import colors

APP_NAME = "Needle"
ORGANIZATION = "Needle"
# The reverse-DNS id: the desktop entry, the icon, the AppStream component and Wayland's app id.
APP_ID = "io.github.needle.Needle"
DESCRIPTION = QT_TR_NOOP("Ask questions of your own notes and PDFs, offline, with a local model.")
LICENSE_FILE = "LICENSE"
THIRD_PARTY_FILE = "THIRD-PARTY-LICENSES.txt"


def licence_file(name: str) -> Path | None:
    """LICENSE or the third-party licence texts: beside resources/ in the bundle, at the top of
    a source tree."""
    for folder in (resources_dir().parent, Path(__file__).resolve().parents[1]):
        if (folder / name).is_file():
            return folder / name
    return None


def app_version() -> str:
    try:
        return version("needle")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


def about_html(engine_info: Mapping[str, Any]) -> str:
    muted = colors().muted
    version = escape(tr("Version {version}").format(version=app_version()))
    lines = [
        f"<p style='font-size:16pt; font-weight:600; margin-bottom:0;'>{APP_NAME}</p>",
        f"<p style='color:{muted}; margin-top:2px;'>{version}</p>",
        f"<p>{escape(tr(DESCRIPTION))}</p>",
    ]
    details = []
    if engine_info.get("engine_version"):
        details.append(tr("Engine {version}").format(version=engine_info["engine_version"]))
    if engine_info.get("protocol"):
        details.append(tr("protocol {version}").format(version=engine_info["protocol"]))
    details.append(f"Qt for Python {pyside_version}")
    lines.append(f"<p style='color:{muted};'>{escape(' · '.join(details))}</p>")
    if engine_info.get("data_dir"):
        data = tr("Data: {folder}").format(folder=engine_info["data_dir"])
        lines.append(f"<p style='color:{muted};'>{escape(data)}</p>")
    links = []
    own, others = licence_file(LICENSE_FILE), licence_file(THIRD_PARTY_FILE)
    if own is not None:
        label = escape(tr("MIT licence"))
        links.append(f"<a href='{own.as_uri()}'>{label}</a>")
    if others is not None:
        label = escape(tr("Third-party licences"))
        links.append(f"<a href='{others.as_uri()}'>{label}</a>")
    if links:
        lines.append(f"<p>{' · '.join(links)}</p>")
    return "".join(lines)


class AboutDialog(QDialog):
    def __init__(self, engine_info: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("About {app}").format(app=APP_NAME))
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(about_html(engine_info))
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.text.setOpenExternalLinks(True)
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
