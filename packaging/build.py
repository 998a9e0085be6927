"""Build the one-folder bundle with PyInstaller, then the Linux archives around it.

    python packaging/build.py            # bundle + .tar.gz (+ .deb where dpkg-deb exists)
    python packaging/build.py --no-deb   # skip the .deb

Outputs go to dist/: dist/needle/ (the bundle), dist/needle-VERSION-linux-ARCH.tar.gz and
dist/needle_VERSION_ARCH.deb. At the end it prints the bundle size and the measured start-up time
of the bundled binaries, the figures recorded in packaging/README.md."""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
BUNDLE = DIST / "needle"
IS_LINUX = sys.platform.startswith("linux")
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
CLI = BUNDLE / f"needle{EXE_SUFFIX}"
DESKTOP = BUNDLE / f"needle-desktop{EXE_SUFFIX}"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# The reverse-DNS id (desktop/about.py APP_ID): the desktop entry's, the icon's and the AppStream
# component's file names, so the desktop matches the running window to its entry and icon.
APP_ID = "io.github.needle.Needle"
LINUX = PACKAGING / "linux"
DESKTOP_TEMPLATE = LINUX / f"{APP_ID}.desktop.in"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
SVG_ICON = ROOT / "resources" / "needle.svg"
# What the bundle takes from the system (ldd over every library in it, with the bundle first on
# the library path); everything else ships inside. packaging/lean.py leaves the C++ runtime and
# the font libraries to the system on purpose.
DEB_DEPENDS = (
    "libc6, libstdc++6, libgcc-s1, libegl1, libgl1, libfontconfig1, libfreetype6, libxcb1, "
    "libxcb-icccm4, libxcb-keysyms1"
)
# The Wayland platform plugin (Qt falls back to X11 without it) and a font for Chinese text.
DEB_RECOMMENDS = "libwayland-client0, libwayland-cursor0, libwayland-egl1, fonts-noto-cjk"


def project_version() -> str:
    """The one source of the version: pyproject.toml."""
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"])


def machine_arch() -> str:
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )


def run_pyinstaller() -> None:
    shutil.rmtree(BUNDLE, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(ROOT / "build" / "pyinstaller"),
            str(PACKAGING / "needle.spec"),
        ],
        check=True,
        cwd=ROOT,
    )


def icon_file(size: int) -> Path:
    return ROOT / "resources" / "icons" / f"needle-{size}.png"


def desktop_entry(exec_path: str) -> str:
    """The menu entry, from the one template, starting `exec_path`."""
    return DESKTOP_TEMPLATE.read_text("utf-8").replace("@EXEC@", exec_path)


def lay_out_icons_and_metainfo(share: Path) -> None:
    """Under `share` (a prefix's share/ folder): the icons in every size and as SVG, and the
    AppStream metadata, all named by the app id."""
    for size in ICON_SIZES:
        if icon_file(size).exists():
            target = share / "icons/hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(icon_file(size), target)
    scalable = share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SVG_ICON, scalable)
    metainfo = share / "metainfo" / METAINFO.name
    metainfo.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(METAINFO, metainfo)


def lay_out_share(share: Path, exec_path: str) -> None:
    """Everything a system-wide install puts under share/ besides the docs: the menu entry
    starting `exec_path`, the icons and the AppStream metadata."""
    apps = share / "applications"
    apps.mkdir(parents=True, exist_ok=True)
    (apps / f"{APP_ID}.desktop").write_text(desktop_entry(exec_path), "utf-8")
    lay_out_icons_and_metainfo(share)


def write_bundle_licences() -> None:
    """LICENSE and THIRD-PARTY-LICENSES.txt into the bundle's _internal/ folder, beside its
    resources/, where the About dialog finds them (desktop/about.py licence_file)."""
    from licences import write_licences  # packaging/licences.py; build.py runs from packaging/

    write_licences(BUNDLE / "_internal")


def build_tarball(version: str) -> Path:
    name = f"needle-{version}-linux-{machine_arch()}"
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / name
        shutil.copytree(BUNDLE, stage / "needle", symlinks=True)
        for script in ("install.sh", "uninstall.sh"):
            shutil.copy2(LINUX / script, stage / script)
            (stage / script).chmod(0o755)
        # install.sh copies share/ into the user's data folder and writes the menu entry from
        # the template with the path the app was installed to.
        lay_out_icons_and_metainfo(stage / "share")
        shutil.copy2(DESKTOP_TEMPLATE, stage / DESKTOP_TEMPLATE.name)
        for licence in ("LICENSE", "THIRD-PARTY-LICENSES.txt"):
            shutil.copy2(BUNDLE / "_internal" / licence, stage / licence)
        (stage / "VERSION").write_text(version + "\n", "utf-8")
        archive = DIST / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(stage, arcname=name)
    return archive


def build_deb(version: str) -> Path | None:
    if not shutil.which("dpkg-deb"):
        print("dpkg-deb not found: skipping the .deb")
        return None
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(BUNDLE, root / "opt" / "needle", symlinks=True)
        bin_dir = root / "usr" / "bin"
        bin_dir.mkdir(parents=True)
        for exe in ("needle", "needle-desktop"):
            (bin_dir / exe).symlink_to(f"/opt/needle/{exe}")
        lay_out_share(root / "usr" / "share", "/opt/needle/needle-desktop")
        write_debian_copyright(root / "usr" / "share" / "doc" / "needle")
        installed_kb = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) // 1024
        control = root / "DEBIAN" / "control"
        control.parent.mkdir()
        control.write_text(
            f"Package: needle\nVersion: {version}\nSection: utils\nPriority: optional\n"
            f"Architecture: {arch}\nInstalled-Size: {installed_kb}\nDepends: {DEB_DEPENDS}\n"
            f"Recommends: {DEB_RECOMMENDS}\n"
            "Maintainer: Needle developers <needle@localhost>\n"
            "Description: Ask questions of your own notes and PDFs, offline\n"
            " Needle indexes Markdown, text, HTML and PDF files in watched folders and answers\n"
            " questions about them with a local Ollama model, citing the passages it used.\n",
            "utf-8",
        )
        deb = DIST / f"needle_{version}_{arch}.deb"
        subprocess.run(
            ["fakeroot", "dpkg-deb", "--build", "-Zxz", str(root), str(deb)]
            if shutil.which("fakeroot")
            else ["dpkg-deb", "--root-owner-group", "--build", "-Zxz", str(root), str(deb)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return deb


def write_debian_copyright(doc: Path) -> None:
    """/usr/share/doc/needle/copyright, in Debian's machine-readable format."""
    from licences import bundled_components, debian_copyright

    doc.mkdir(parents=True, exist_ok=True)
    own = (ROOT / "LICENSE").read_text("utf-8")
    (doc / "copyright").write_text(debian_copyright(bundled_components(), own), "utf-8")


def folder_size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return 0 if path.is_symlink() else path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


# Folders whose contents are listed one by one in the size report, because one entry for all of
# Qt says nothing about what could be cut.
EXPANDED_FOLDERS = ("PySide6", "PySide6/Qt", "PySide6/Qt/lib")


def largest_parts(bundle: Path, count: int = 15) -> list[tuple[str, int]]:
    """The biggest entries of the bundle's library folder, biggest first."""
    internal = bundle / "_internal"
    parts: list[tuple[str, int]] = []
    pending = [internal]
    while pending:
        for entry in pending.pop().iterdir():
            name = entry.relative_to(internal).as_posix()
            if name in EXPANDED_FOLDERS:
                pending.append(entry)
            else:
                parts.append((name, folder_size(entry)))
    return sorted(parts, key=lambda part: part[1], reverse=True)[:count]


def check_bundled_version(version: str) -> None:
    """The bundle must report pyproject's version: stale package metadata would not."""
    shown = subprocess.run(
        [str(CLI), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    if shown.split()[-1:] != [version]:
        raise SystemExit(
            f"the bundle reports {shown!r} but pyproject.toml says {version}: the installed "
            "package metadata is stale; run `pip install -e .` and build again"
        )


STARTUP_RUNS = 5
HANDSHAKE = re.compile(r"engine ready in ([\d.]+) s")


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one run, and what it wrote to stderr."""
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, check=True, capture_output=True, timeout=60, text=True
    )
    return time.perf_counter() - started, result.stderr


def measure_startup() -> dict[str, float]:
    """Medians over STARTUP_RUNS warm starts: the CLI's `--version`, the desktop's whole
    self-test (start, engine handshake, one request, clean shutdown) and, inside it, the time from
    the window's creation to the engine's handshake as the self-test reports it."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "NEEDLE_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        version_runs = [timed_run([str(CLI), "--version"], env)[0] for _ in range(STARTUP_RUNS)]
        self_tests = [timed_run([str(DESKTOP), "--self-test"], env) for _ in range(STARTUP_RUNS)]
    handshakes = [float(m.group(1)) for _, err in self_tests if (m := HANDSHAKE.search(err))]
    return {
        "needle --version": statistics.median(version_runs),
        "needle-desktop --self-test (start to exit)": statistics.median(t for t, _ in self_tests),
        "  of which engine start + handshake": statistics.median(handshakes or [float("nan")]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-deb", action="store_true", help="do not build the .deb")
    parser.add_argument("--no-measure", action="store_true", help="skip the start-up timing")
    args = parser.parse_args(argv)
    version = project_version()
    run_pyinstaller()
    write_bundle_licences()
    check_bundled_version(version)
    print(f"bundle: {BUNDLE} ({folder_size(BUNDLE) / 2**20:.1f} MiB)")
    for name, size in largest_parts(BUNDLE):
        print(f"  {size / 2**20:6.1f} MiB  {name}")
    # The archives and install scripts are Linux's; elsewhere the folder (or Needle.app) is the
    # product, see packaging/README.md.
    if IS_LINUX:
        archive = build_tarball(version)
        print(f"archive: {archive} ({archive.stat().st_size / 2**20:.1f} MiB)")
    if IS_LINUX and not args.no_deb:
        deb = build_deb(version)
        if deb:
            print(f"deb: {deb} ({deb.stat().st_size / 2**20:.1f} MiB)")
    if not args.no_measure:
        for what, seconds in measure_startup().items():
            print(f"start-up, median of {STARTUP_RUNS}: {what}: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
