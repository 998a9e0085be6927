"""The app's own preferences (not the engine's settings): the interface language, light or dark,
whether Needle keeps watching in the background when its window closes, and whether it starts at
login. Kept in the window's QSettings store; the Settings dialog shows them beside the engine's.

Starting at login writes an XDG autostart entry (`~/.config/autostart/`) on Linux and a `Run`
value in the user's registry on Windows; the entry starts `needle-desktop --background`, which
opens no window: the engine watches the folders and the tray icon (where the desktop has one)
brings the window back."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from desktop.about import APP_ID, APP_NAME
from desktop.i18n import SYSTEM as SYSTEM_LANGUAGE
from desktop.theme import SYSTEM as SYSTEM_APPEARANCE

BACKGROUND_FLAG = "--background"
WINDOWS_RUN_KEY = r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run"


@dataclass
class Preferences:
    language: str = SYSTEM_LANGUAGE
    appearance: str = SYSTEM_APPEARANCE
    keep_watching: bool = False  # closing the window leaves Needle running in the tray
    start_at_login: bool = False

    @classmethod
    def load(cls, store: QSettings) -> Preferences:
        return cls(
            language=str(store.value("interface/language", SYSTEM_LANGUAGE)),
            appearance=str(store.value("interface/appearance", SYSTEM_APPEARANCE)),
            keep_watching=_flag(store.value("background/keep_watching", False)),
            start_at_login=_flag(store.value("background/start_at_login", False)),
        )

    def save(self, store: QSettings) -> None:
        store.setValue("interface/language", self.language)
        store.setValue("interface/appearance", self.appearance)
        store.setValue("background/keep_watching", self.keep_watching)
        store.setValue("background/start_at_login", self.start_at_login)
        store.sync()


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def launch_command(data_dir: str | None = None) -> list[str]:
    """How to start this app again, as the user started it (the bundle, the installed script,
    or this Python), keeping a chosen data folder."""
    if getattr(sys, "frozen", False):
        command = [str(Path(sys.executable).resolve())]
    else:
        script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
        if script is not None and script.name == "needle-desktop" and script.exists():
            command = [str(script.resolve())]
        else:
            command = [str(Path(sys.executable).resolve()), "-m", "desktop"]
    if data_dir:
        command += ["--data-dir", str(Path(data_dir).expanduser().resolve())]
    return command


def autostart_file() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / f"{APP_ID}.desktop"


def _desktop_exec(arguments: list[str]) -> str:
    """An Exec= value: each argument quoted as the desktop-entry rules ask."""
    quoted = []
    for argument in arguments:
        if argument and all(c.isalnum() or c in "-_./=:" for c in argument):
            quoted.append(argument)
        else:
            escaped = (
                argument.replace("\\", "\\\\")
                .replace('"', '\\"')
                .replace("`", "\\`")
                .replace("$", "\\$")
            )
            quoted.append(f'"{escaped}"'.replace("\\", "\\\\"))
    return " ".join(quoted)


def autostart_entry(command: list[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={APP_NAME}\n"
        "Comment=Keep your notes and PDFs indexed in the background\n"
        "Comment[zh_CN]=在后台保持笔记和 PDF 的索引\n"
        f"Exec={_desktop_exec([*command, BACKGROUND_FLAG])}\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "NoDisplay=true\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def autostart_supported() -> bool:
    return sys.platform.startswith("linux") or sys.platform == "win32"


def set_start_at_login(enabled: bool, data_dir: str | None = None) -> None:
    """Add or remove the login entry. Raises OSError when it cannot be written."""
    command = launch_command(data_dir)
    if sys.platform == "win32":
        run = QSettings(WINDOWS_RUN_KEY, QSettings.Format.NativeFormat)
        if enabled:
            run.setValue(APP_NAME, shlex.join([*command, BACKGROUND_FLAG]))
        else:
            run.remove(APP_NAME)
        run.sync()
        return
    path = autostart_file()
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(autostart_entry(command), "utf-8")
    elif path.exists():
        path.unlink()


def starts_at_login() -> bool:
    if sys.platform == "win32":
        return QSettings(WINDOWS_RUN_KEY, QSettings.Format.NativeFormat).contains(APP_NAME)
    return autostart_file().exists()
