"""Desktop integration on Linux, without building the bundle: one desktop-entry template named
by the app's reverse-DNS id, which the running app (setDesktopFileName), the icons and the
AppStream metadata share, and the archive's install/uninstall scripts putting them in place
(run here against a stand-in bundle; tests/test_install_scripts.py runs the real one)."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from desktop.about import APP_ID
from tests.conftest import REPO_ROOT

LINUX = REPO_ROOT / "packaging" / "linux"
SKIPPED_FOLDERS = {".venv", "dist", "build", ".git", ".hypothesis", "needle.egg-info"}


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("needle_build", REPO_ROOT / "packaging/build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()


def read_entry(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(text)
    return parser["Desktop Entry"]


def validate_entry(path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is not None:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    entry = read_entry(path.read_text("utf-8"))
    assert entry["Type"] == "Application" and entry["Name"] == "Needle"
    assert entry["Icon"] == APP_ID


def test_one_desktop_entry_template_named_by_the_app_id() -> None:
    entries = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in REPO_ROOT.rglob("*.desktop*")
        if not SKIPPED_FOLDERS & set(path.relative_to(REPO_ROOT).parts)
    ]
    assert entries == [f"packaging/linux/{APP_ID}.desktop.in"]
    assert build.APP_ID == APP_ID
    assert APP_ID.count(".") >= 2 and APP_ID.split(".")[-1] == "Needle"


def test_the_menu_entry_is_valid_and_names_the_app_id(tmp_path: Path) -> None:
    path = tmp_path / f"{APP_ID}.desktop"
    path.write_text(build.desktop_entry("/opt/needle/needle-desktop"), "utf-8")
    validate_entry(path)
    assert read_entry(path.read_text("utf-8"))["Exec"] == "/opt/needle/needle-desktop"


def test_appstream_metadata_names_the_same_app() -> None:
    metainfo = LINUX / f"{APP_ID}.metainfo.xml"
    component = ET.parse(metainfo).getroot()
    assert component.tag == "component" and component.get("type") == "desktop-application"
    for required in ("id", "metadata_license", "project_license", "name", "summary"):
        element = component.find(required)
        assert element is not None and (element.text or "").strip(), required
    assert component.findtext("id") == APP_ID
    assert component.findtext("project_license") == "MIT"
    launchable = component.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == f"{APP_ID}.desktop"
    assert component.find("description/p") is not None
    assert component.find("content_rating") is not None
    assert component.find("releases/release") is not None
    validator = shutil.which("appstreamcli")
    if validator is not None:
        result = subprocess.run(
            [validator, "validate", "--no-net", str(metainfo)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_system_install_lays_out_entry_icons_and_metadata(tmp_path: Path) -> None:
    share = tmp_path / "usr" / "share"
    build.lay_out_share(share, "/opt/needle/needle-desktop")
    validate_entry(share / "applications" / f"{APP_ID}.desktop")
    svg = share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg"
    assert svg.read_text("utf-8").startswith("<svg")
    for size in build.ICON_SIZES:
        assert (share / "icons/hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux archive's scripts")
def test_install_and_uninstall_scripts_place_and_remove_the_integration(tmp_path: Path) -> None:
    archive = tmp_path / "needle-0.1.0-linux-x86_64"
    bundle = archive / "needle"
    bundle.mkdir(parents=True)
    for exe in ("needle", "needle-desktop"):
        (bundle / exe).write_text("#!/bin/sh\necho needle 0.1.0\n", "utf-8")
        (bundle / exe).chmod(0o755)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy2(LINUX / script, archive / script)
    build.lay_out_icons_and_metainfo(archive / "share")
    shutil.copy2(build.DESKTOP_TEMPLATE, archive / build.DESKTOP_TEMPLATE.name)
    (archive / "VERSION").write_text("0.1.0\n", "utf-8")
    data = tmp_path / "local data"  # a space: the menu entry must quote the path
    # What a version before the app id left behind.
    (data / "applications").mkdir(parents=True)
    (data / "applications" / "needle.desktop").write_text("[Desktop Entry]\n", "utf-8")
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(data),
        "NEEDLE_BIN_DIR": str(tmp_path / "bin"),
    }

    def run(script: str) -> None:
        result = subprocess.run(["sh", str(archive / script)], env=env, capture_output=True)
        assert result.returncode == 0, result.stdout + result.stderr

    run("install.sh")
    entry = data / "applications" / f"{APP_ID}.desktop"
    validate_entry(entry)
    exec_path = Path(shlex.split(read_entry(entry.read_text("utf-8"))["Exec"])[0])
    assert exec_path == data / "needle-app" / "needle-desktop"
    assert (data / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    assert (data / "icons/hicolor/256x256/apps" / f"{APP_ID}.png").is_file()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert not (data / "applications" / "needle.desktop").exists()

    run("uninstall.sh")
    assert not entry.exists()
    assert not list((data / "icons").rglob(f"{APP_ID}.*"))
    assert not (data / "metainfo" / f"{APP_ID}.metainfo.xml").exists()
