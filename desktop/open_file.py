"""Opening a source file in the user's own viewer (at the cited page where the viewer allows it),
showing it in its folder, or putting its path on the clipboard."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

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


def _spawn(command: list[str]) -> bool:
    try:
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        log.warning("%s failed: %s", command[0], exc)
        return False
    return True


def show_in_folder(path: str) -> bool:
    """The file selected in the system's file manager where that is possible (Windows Explorer,
    the Finder, a Linux file manager that speaks org.freedesktop.FileManager1), else its folder
    opened. False when neither the file nor its folder exists or nothing opened."""
    target = Path(path)
    folder = target if target.is_dir() else target.parent
    if not folder.exists():
        return False
    if target.exists():
        if sys.platform == "win32":
            return _spawn(["explorer", f"/select,{target}"])
        if sys.platform == "darwin":
            return _spawn(["open", "-R", str(target)])
        dbus_send = shutil.which("dbus-send")
        if dbus_send is not None:
            _show_item_over_dbus(dbus_send, target, folder)
            return True
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))


def _show_item_over_dbus(dbus_send: str, target: Path, folder: Path) -> None:
    """Ask the file manager to select the file; if none answers, open the folder. Runs in the
    background: a slow session bus must not hold the window."""
    process = QProcess(QCoreApplication.instance())
    uri = QUrl.fromLocalFile(str(target)).toString()
    process.setProgram(dbus_send)
    process.setArguments(
        [
            "--session",
            "--print-reply",
            "--reply-timeout=3000",
            "--dest=org.freedesktop.FileManager1",
            "--type=method_call",
            "/org/freedesktop/FileManager1",
            "org.freedesktop.FileManager1.ShowItems",
            f"array:string:{uri}",
            "string:",
        ]
    )

    def finished(code: int, status: QProcess.ExitStatus) -> None:
        if code != 0 or status != QProcess.ExitStatus.NormalExit:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        process.deleteLater()

    process.finished.connect(finished)
    process.errorOccurred.connect(
        lambda error: (
            error == QProcess.ProcessError.FailedToStart
            and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        )
    )
    process.start()


def copy_path(path: str) -> None:
    QGuiApplication.clipboard().setText(path)
