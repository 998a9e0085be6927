"""Secrets (an API key) kept outside settings.json: in the platform's keyring (macOS Keychain,
Windows Credential Locker, the Secret Service on Linux desktops) when one is usable, else in a
file only the user can read (mode 0600) beside the settings.

Which names are stored, and where, is recorded in a small index file without values, so asking
"is a key set?" (the Settings dialog does on opening) never touches the keyring: a locked keyring
would prompt the user for a password just to draw a dialog. The value is read only when a model
call needs it. NEEDLE_SECRET_STORE=file forces the file (tests set it, so no test reaches the
user's real keyring)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

from engine.jsonfile import write_json_atomic

log = logging.getLogger(__name__)

STORE_ENV = "NEEDLE_SECRET_STORE"
INDEX_FILE = "secrets-index.json"  # names and where each is kept; never values
FILE_STORE = "secrets.json"  # values, mode 0600, only when no keyring is usable
KEYRING_SERVICE = "Needle"

Place = Literal["keyring", "file"]


class SecretStore:
    """Named secrets of one library (its config folder)."""

    def __init__(self, config_dir: Path) -> None:
        self._dir = config_dir
        # Keyring entries are per library: two libraries (or a test's) never share a key.
        self._account_prefix = str(config_dir.resolve())

    def where(self, name: str) -> Place | None:
        """Where `name` is kept, or None when it is not set. Reads only the index file."""
        place = _read_json(self._dir / INDEX_FILE).get(name)
        return place if place in ("keyring", "file") else None

    def stored(self) -> list[str]:
        return sorted(n for n in _read_json(self._dir / INDEX_FILE) if self.where(n))

    def get(self, name: str) -> str:
        """The secret, or "" when it is not set or its keyring cannot be read now."""
        place = self.where(name)
        if place == "file":
            return str(_read_json(self._dir / FILE_STORE).get(name, ""))
        if place == "keyring":
            keyring = _keyring()
            if keyring is None:
                return ""
            try:
                return keyring.get_password(KEYRING_SERVICE, self._account(name)) or ""
            except Exception as error:  # a locked or vanished keyring: say so, do not crash
                log.warning("the system keyring could not be read: %s", error)
                return ""
        return ""

    def set(self, name: str, value: str) -> Place:
        """Keep `value` (in the keyring when one is usable); returns where it went. An empty
        value deletes the secret."""
        if not value:
            self.delete(name)
            return "file"
        place: Place = "file"
        keyring = _keyring()
        if keyring is not None:
            try:
                keyring.set_password(KEYRING_SERVICE, self._account(name), value)
                place = "keyring"
            except Exception as error:
                log.info("the system keyring refused the secret (%s); using a private file", error)
        if place == "keyring":
            self._drop_from_file(name)
        else:
            values = _read_json(self._dir / FILE_STORE)
            values[name] = value
            _write_private(self._dir / FILE_STORE, values)
        self._set_index(name, place)
        return place

    def delete(self, name: str) -> None:
        if self.where(name) == "keyring":
            keyring = _keyring()
            if keyring is not None:
                with contextlib.suppress(Exception):
                    keyring.delete_password(KEYRING_SERVICE, self._account(name))
        self._drop_from_file(name)
        self._set_index(name, None)

    def _account(self, name: str) -> str:
        return f"{self._account_prefix}:{name}"

    def _drop_from_file(self, name: str) -> None:
        values = _read_json(self._dir / FILE_STORE)
        if name in values:
            del values[name]
            _write_private(self._dir / FILE_STORE, values)

    def _set_index(self, name: str, place: Place | None) -> None:
        index = _read_json(self._dir / INDEX_FILE)
        if place is None:
            index.pop(name, None)
        else:
            index[name] = place
        write_json_atomic(self._dir / INDEX_FILE, index, sort_keys=True)


def _keyring() -> Any:
    """The keyring module when a real backend is usable here, else None (no keyring package, a
    headless Linux without a Secret Service, or NEEDLE_SECRET_STORE=file)."""
    if os.environ.get(STORE_ENV, "").lower() == "file":
        return None
    try:
        import keyring  # loaded only when a secret is read or written
        from keyring.backends import fail
    except Exception:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", ()):
        return None
    return keyring


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """write_json_atomic writes through tempfile.mkstemp, whose file is 0600 from the start, and
    renames it over `path`: the value is never readable by others, not even for a moment."""
    write_json_atomic(path, data, sort_keys=True)
