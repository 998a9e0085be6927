"""The Linux archives a user downloads: the .tar.gz with install.sh/uninstall.sh, and the .deb.
Runs only when `make package` has built them (marker `bundle`); everything is installed into
temporary folders through HOME, XDG_* and NEEDLE_BIN_DIR, never into the real home."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

APP_ID = "io.github.needle.Needle"  # desktop/about.py; tests/test_desktop_integration.py

DIST = REPO_ROOT / "dist"
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
TARBALLS = sorted(DIST.glob(f"needle-{VERSION}-linux-*.tar.gz"))
DEBS = sorted(DIST.glob(f"needle_{VERSION}_*.deb"))

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux archives"),
]
needs_tarball = pytest.mark.skipif(not TARBALLS, reason="no tarball: run `make package` first")
needs_deb = pytest.mark.skipif(
    not DEBS or shutil.which("dpkg-deb") is None, reason="no .deb or no dpkg-deb"
)


@dataclass(frozen=True)
class UserHome:
    """A pretend user's folders; `env` is what their shell would export."""

    home: Path
    data: Path  # XDG_DATA_HOME
    config: Path
    cache: Path
    state: Path
    bin: Path  # NEEDLE_BIN_DIR

    @property
    def env(self) -> dict[str, str]:
        kept = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        kept.pop("NEEDLE_HOME", None)  # the installed app must use the XDG folders below
        return {
            **kept,
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.data),
            "XDG_CONFIG_HOME": str(self.config),
            "XDG_CACHE_HOME": str(self.cache),
            "XDG_STATE_HOME": str(self.state),
            "NEEDLE_BIN_DIR": str(self.bin),
            "QT_QPA_PLATFORM": "offscreen",
        }

    @property
    def app_dir(self) -> Path:
        return self.data / "needle-app"

    @property
    def desktop_entry(self) -> Path:
        return self.data / "applications" / f"{APP_ID}.desktop"

    def installed_icons(self) -> list[Path]:
        return sorted((self.data / "icons" / "hicolor").glob(f"*/apps/{APP_ID}.png"))

    def run(self, args: list[str | Path], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(arg) for arg in args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive unpacked once for the module (it holds the whole bundle)."""
    if not TARBALLS:
        pytest.skip("no tarball: run `make package` first")
    target = tmp_path_factory.mktemp("archive")
    with tarfile.open(TARBALLS[-1]) as archive:
        archive.extractall(target, filter="tar")
    (folder,) = target.iterdir()
    return folder


@pytest.fixture
def user(tmp_path: Path) -> UserHome:
    folders = {name: tmp_path / name for name in ("home", "data", "config", "cache", "state")}
    # A space in the install path: the menu entry must quote it, the scripts must not split it.
    folders["data"] = tmp_path / "local data"
    for folder in folders.values():
        folder.mkdir()
    return UserHome(**folders, bin=tmp_path / "home" / "bin")


def install(user: UserHome, unpacked: Path) -> str:
    result = user.run(["sh", unpacked / "install.sh"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Needle {VERSION} installed" in result.stdout
    return result.stdout


def libraries_the_window_lacks(app_dir: Path) -> set[str]:
    """System libraries Qt's X11/Wayland plugins link to and this machine does not have."""
    internal = app_dir / "_internal"
    env = {**os.environ, "LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6/Qt/lib'}"}
    missing: set[str] = set()
    for plugin in internal.glob("PySide6/Qt/plugins/platforms/libq*.so"):
        if plugin.name in ("libqxcb.so", "libqwayland.so"):
            listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, env=env)
            missing |= {
                line.split()[0] for line in listing.stdout.splitlines() if "not found" in line
            }
    return missing


def read_desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text("utf-8"))
    return parser["Desktop Entry"]


def assert_valid_desktop_entry(path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is not None:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "error" not in result.stdout.lower(), result.stdout
    entry = read_desktop_entry(path)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Needle"
    assert entry["Icon"] == APP_ID
    assert entry["Categories"].endswith(";")


@needs_tarball
def test_archive_holds_the_bundle_scripts_and_icons(unpacked: Path) -> None:
    assert unpacked.name == TARBALLS[-1].name.removesuffix(".tar.gz")
    assert (unpacked / "VERSION").read_text("utf-8").strip() == VERSION
    for executable in ("needle/needle", "needle/needle-desktop", "install.sh", "uninstall.sh"):
        assert os.access(unpacked / executable, os.X_OK), executable
    icons = unpacked / "share" / "icons" / "hicolor"
    assert sorted(p.parent.parent.name for p in icons.glob(f"*/apps/{APP_ID}.*")) == sorted(
        [*(f"{p.stem.split('-')[1]}x{p.stem.split('-')[1]}" for p in
           (REPO_ROOT / "resources" / "icons").glob("needle-*.png")), "scalable"]
    )  # fmt: skip
    assert (unpacked / "share" / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    # The licences, at the top and inside the bundle where the About dialog links them.
    for folder in (unpacked, unpacked / "needle" / "_internal"):
        assert (folder / "LICENSE").read_text("utf-8").startswith("MIT License")
        third_party = (folder / "THIRD-PARTY-LICENSES.txt").read_text("utf-8")
        assert "PySide6_Essentials" in third_party and "GNU LESSER GENERAL PUBLIC" in third_party


@needs_tarball
def test_install_puts_commands_menu_entry_and_icons_in_place(
    user: UserHome, unpacked: Path
) -> None:
    output = install(user, unpacked)

    for command in ("needle", "needle-desktop"):
        link = user.bin / command
        assert link.is_symlink() and link.resolve() == (user.app_dir / command).resolve()
    version = user.run([user.bin / "needle", "--version"])
    assert version.stdout.split() == ["needle", VERSION], version.stderr

    assert_valid_desktop_entry(user.desktop_entry)
    exec_path = Path(shlex.split(read_desktop_entry(user.desktop_entry)["Exec"])[0])
    assert exec_path == user.app_dir / "needle-desktop" and os.access(exec_path, os.X_OK)

    sizes = sorted(int(icon.parent.parent.name.split("x")[0]) for icon in user.installed_icons())
    assert sizes == sorted(
        int(p.stem.split("-")[1]) for p in (REPO_ROOT / "resources" / "icons").glob("needle-*.png")
    )
    assert not (user.data / "needle-app.new").exists()

    # A window that cannot open is explained at install time, naming what to install.
    lacking = libraries_the_window_lacks(user.app_dir) if shutil.which("ldd") else set()
    for library in lacking:
        assert library in output
    assert ("need system libraries" in output) == bool(lacking), output


@needs_tarball
def test_installed_desktop_app_starts_its_engine_and_exits_cleanly(
    user: UserHome, unpacked: Path
) -> None:
    install(user, unpacked)
    # Started through the link in the bin folder, as the menu entry or a shell would.
    result = user.run([user.bin / "needle-desktop", "--self-test"], timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"starting the engine: {user.app_dir / 'needle'}" in result.stderr


@needs_tarball
def test_reinstall_replaces_the_app_and_keeps_the_library(user: UserHome, unpacked: Path) -> None:
    install(user, unpacked)
    notes = user.home / "notes"
    notes.mkdir()
    added = user.run([user.bin / "needle", "folders", "add", notes])
    assert added.returncode == 0, added.stderr
    (user.app_dir / "stale-file-from-an-old-version").write_text("old", "utf-8")

    install(user, unpacked)

    assert not (user.app_dir / "stale-file-from-an-old-version").exists()
    listed = user.run([user.bin / "needle", "folders", "list", "--json"])
    assert listed.returncode == 0, listed.stderr
    assert [Path(folder["path"]) for folder in json.loads(listed.stdout)["folders"]] == [notes]


@needs_tarball
def test_uninstall_removes_the_app_and_keeps_the_library(user: UserHome, unpacked: Path) -> None:
    install(user, unpacked)
    notes = user.home / "notes"
    notes.mkdir()
    assert user.run([user.bin / "needle", "folders", "add", notes]).returncode == 0
    library = user.data / "Needle"
    assert library.is_dir()
    # Someone else's command of the same name in the same folder is not ours to delete.
    (user.bin / "needle-desktop").unlink()
    (user.bin / "needle-desktop").symlink_to("/bin/true")

    result = user.run(["sh", unpacked / "uninstall.sh"])

    assert result.returncode == 0, result.stderr
    assert "kept" in result.stdout
    assert not user.app_dir.exists()
    assert not (user.bin / "needle").is_symlink()
    assert (user.bin / "needle-desktop").readlink() == Path("/bin/true")
    assert not user.desktop_entry.exists()
    assert user.installed_icons() == []
    assert library.is_dir() and any(library.iterdir())


@needs_tarball
def test_uninstall_purge_also_removes_the_library(user: UserHome, unpacked: Path) -> None:
    install(user, unpacked)
    notes = user.home / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\nalpha\n", "utf-8")
    assert user.run([user.bin / "needle", "folders", "add", notes]).returncode == 0
    assert user.run([user.bin / "needle", "index", "-q"]).returncode == 0
    written = [
        folder
        for folder in (user.data / "Needle", user.config / "Needle", user.cache / "Needle")
        if folder.exists()
    ]
    assert user.data / "Needle" in written

    result = user.run(["sh", unpacked / "uninstall.sh", "--purge"])

    assert result.returncode == 0, result.stderr
    assert not user.app_dir.exists()
    assert [folder for folder in written if folder.exists()] == []
    assert not (user.state / "Needle").exists()
    assert (notes / "a.md").exists()  # the user's own files are never touched


@needs_tarball
def test_install_refuses_to_run_outside_the_archive(user: UserHome, tmp_path: Path) -> None:
    stray = tmp_path / "stray"
    stray.mkdir()
    shutil.copy2(REPO_ROOT / "packaging" / "linux" / "install.sh", stray / "install.sh")
    result = user.run(["sh", stray / "install.sh"])
    assert result.returncode != 0
    assert "unpacked Needle archive" in result.stderr
    assert not user.app_dir.exists() and not user.bin.exists()


def dpkg_field(deb: Path, field: str) -> str:
    result = subprocess.run(
        ["dpkg-deb", "--field", str(deb), field], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@needs_deb
def test_deb_declares_the_package_and_its_system_libraries() -> None:
    deb = DEBS[-1]
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert dpkg_field(deb, "Package") == "needle"
    assert dpkg_field(deb, "Version") == VERSION
    depends = dpkg_field(deb, "Depends")
    # Qt's X11 plugin needs these from the system: the build machine may not have them to bundle.
    for library in (
        "libstdc++6",
        "libegl1",
        "libgl1",
        "libfontconfig1",
        "libxcb1",
        "libxcb-icccm4",
        "libxcb-keysyms1",
    ):
        assert library in depends
    assert "fonts-noto-cjk" in dpkg_field(deb, "Recommends")


@needs_deb
def test_deb_installs_opt_bundle_commands_menu_entry_and_icons(tmp_path: Path) -> None:
    deb = DEBS[-1]
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    for expected in (
        "/opt/needle/needle",
        "/opt/needle/needle-desktop",
        "/usr/bin/needle",
        "/usr/bin/needle-desktop",
        f"/usr/share/applications/{APP_ID}.desktop",
        f"/usr/share/icons/hicolor/256x256/apps/{APP_ID}.png",
        f"/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
        f"/usr/share/metainfo/{APP_ID}.metainfo.xml",
        "/usr/share/doc/needle/copyright",
    ):
        assert expected in paths, expected
    assert "/usr/bin/needle -> /opt/needle/needle" in listing.replace("./usr", "/usr")
    # Everything belongs to root, whoever built it.
    assert all(line.split()[1] == "root/root" for line in listing.splitlines())

    unpacked = tmp_path / "deb"
    subprocess.run(["dpkg-deb", "--extract", str(deb), str(unpacked)], check=True)
    copyright_file = (unpacked / "usr/share/doc/needle/copyright").read_text("utf-8")
    assert copyright_file.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    assert "opt/needle/_internal/PySide6/*" in copyright_file
    entry = unpacked / "usr/share/applications" / f"{APP_ID}.desktop"
    assert_valid_desktop_entry(entry)
    assert read_desktop_entry(entry)["Exec"] == "/opt/needle/needle-desktop"
    version = subprocess.run(
        [str(unpacked / "opt/needle/needle"), "--version"], capture_output=True, text=True
    )
    assert version.stdout.split() == ["needle", VERSION], version.stderr
