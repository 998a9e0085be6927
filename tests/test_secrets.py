"""The API key: kept in the keyring (or a 0600 file), never in settings.json; set from Settings,
from `needle settings api_key=-`, and sent to the OpenAI-compatible server."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from desktop.settings_dialog import SecretEditor, SettingsDialog
from engine.api import Engine
from engine.cli.main import main
from engine.secrets import FILE_STORE, INDEX_FILE, SecretStore
from engine.settings import Settings, SettingsSnapshot
from tests.helpers.fake_openai import FakeOpenAI


class MemoryKeyring:
    """A keyring backend holding passwords in a dict, standing in for the platform's."""

    priority = 10

    def __init__(self) -> None:
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.passwords.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.passwords[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        self.passwords.pop((service, user), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    import keyring
    from keyring.backend import KeyringBackend

    class Backend(MemoryKeyring, KeyringBackend):  # type: ignore[misc]
        pass

    backend = Backend()
    monkeypatch.delenv("NEEDLE_SECRET_STORE")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_without_a_keyring_the_key_goes_to_a_file_only_the_user_can_read(tmp_path: Path) -> None:
    store = SecretStore(tmp_path)
    assert store.set("api_key", "sk-123") == "file"
    assert store.get("api_key") == "sk-123" and store.where("api_key") == "file"
    assert stat.S_IMODE((tmp_path / FILE_STORE).stat().st_mode) == 0o600
    assert "sk-123" not in (tmp_path / INDEX_FILE).read_text()
    store.set("api_key", "")
    assert store.get("api_key") == "" and store.where("api_key") is None
    assert "sk-123" not in (tmp_path / FILE_STORE).read_text()


def test_with_a_keyring_the_key_goes_there_and_nowhere_else(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    store = SecretStore(tmp_path)
    assert store.set("api_key", "sk-456") == "keyring"
    assert list(memory_keyring.passwords.values()) == ["sk-456"]
    assert not (tmp_path / FILE_STORE).exists()
    assert store.where("api_key") == "keyring" and store.get("api_key") == "sk-456"
    # Two libraries never share a key.
    assert SecretStore(tmp_path / "other").get("api_key") == ""
    store.delete("api_key")
    assert memory_keyring.passwords == {} and store.stored() == []


def test_the_engine_keeps_the_key_out_of_settings_json_and_sends_it(needle_home: Path) -> None:
    with FakeOpenAI() as server, Engine.open() as engine:
        server.api_key = "sk-789"
        engine.update_settings({"backend": "openai", "openai_url": server.url + "/"})
        assert engine.ollama_status(model="qwen2.5-7b-instruct").state == "error"  # 401
        engine.update_settings({"api_key": "sk-789", "model": "qwen2.5-7b-instruct"})
        assert engine.ollama_status().ready
        assert engine.settings.openai_url == server.url  # trailing slash dropped
        assert engine.settings_snapshot().secrets_set == ("api_key",)
        settings_text = engine.paths.settings_file.read_text("utf-8")
        assert "sk-789" not in settings_text and "api_key" not in settings_text


def test_needle_settings_reads_the_key_from_stdin_and_never_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    monkeypatch.setattr("sys.stdin", io.StringIO("sk-from-stdin\n"))
    assert main(["--data-dir", str(home), "settings", "api_key=-"]) == 0
    out = capsys.readouterr().out
    assert 'api_key = "(set, in a file only you can read)"' in out
    assert "sk-from-stdin" not in out
    assert SecretStore(home / "config").get("api_key") == "sk-from-stdin"
    assert main(["--data-dir", str(home), "settings", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["api_key"] == "(set, in a file only you can read)"


def test_the_dialog_sends_the_key_only_when_it_was_typed_or_removed(qtbot: Any) -> None:
    dialog = SettingsDialog(SettingsSnapshot(Settings(), secrets_set=("api_key",)))
    qtbot.addWidget(dialog)
    editor = dialog.editor("api_key")
    assert isinstance(editor, SecretEditor)
    assert editor.remove.isVisibleTo(dialog) and editor.line.text() == ""
    assert "api_key" not in dialog.changes()
    editor.line.setText("sk-new")
    assert dialog.changes()["api_key"] == "sk-new"
    editor.remove.setChecked(True)
    assert dialog.changes()["api_key"] == "" and not editor.line.isEnabled()


def test_pulling_with_an_openai_server_says_only_ollama_pulls(needle_home: Path) -> None:
    from engine.errors import ErrorKind, NeedleError

    with Engine.open() as engine:
        engine.update_settings({"backend": "openai"})
        with pytest.raises(NeedleError) as caught:
            engine.pull_model("qwen2:7b-instruct")
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT
    assert "Only Ollama can download models" in caught.value.message
