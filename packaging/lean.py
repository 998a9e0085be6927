"""What the bundle leaves out of PyInstaller's analysis, and why.

needle.spec passes the analysis' binaries and datas through `lean_toc`. The rules live here, not
in the spec, so they can be read in one place and checked without a build
(tests/test_packaging_lean.py). Paths are bundle paths in POSIX form; the globs are written so they
match the Linux/macOS layout (PySide6/Qt/plugins/...) and the Windows one (PySide6/plugins/...).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath

# (bundle path, source path, PyInstaller type code), as in PyInstaller's TOC lists.
TocEntry = tuple[str, str, str]


@dataclass(frozen=True)
class Cut:
    pattern: str  # fnmatch glob over the POSIX bundle path ("*" also crosses "/")
    reason: str


def _plugins(folder: str, *names: str) -> list[str]:
    return [f"PySide6/*plugins/{folder}/*{name}*" for name in names]


CUTS: tuple[Cut, ...] = (
    *(
        Cut(
            pattern,
            "Qt's translations other than qtbase_zh_CN (the standard dialogs of the Chinese "
            "interface, desktop/i18n.py): the app has English and Simplified Chinese only",
        )
        for pattern in (
            "PySide6/*translations/[!q]*",
            "PySide6/*translations/qt_*",
            "PySide6/*translations/qt[!b]*",
            "PySide6/*translations/qtbase_[!z]*",
            "PySide6/*translations/qtbase_zh_TW*",
        )
    ),
    *(
        Cut(pattern, "platforms for embedded devices and remote screens, not desktops")
        for pattern in _plugins(
            "platforms", "qeglfs", "qlinuxfb", "qminimalegl", "qvkkhrdisplay", "qvnc"
        )
    ),
    Cut("PySide6/*plugins/egldeviceintegrations/*", "only used by the eglfs platform"),
    Cut("PySide6/*plugins/generic/*", "evdev/tuio input for eglfs/linuxfb kiosks"),
    *(
        Cut(pattern, "the app shows PNG icons and one SVG; it never decodes these formats")
        for pattern in _plugins(
            "imageformats", "qgif", "qicns", "qico", "qjpeg", "qtga", "qtiff", "qwbmp", "qwebp"
        )
    ),
    Cut(
        "PySide6/*plugins/platformthemes/*qgtk3*",
        "needs the system's GTK 3 yet drags in its own cairo/pango/gdk-pixbuf; the portal theme "
        "(xdgdesktopportal) still gives native file dialogs",
    ),
    *(
        Cut(pattern, "compositor-side Wayland buffer integrations, for embedded Qt compositors")
        for pattern in _plugins(
            "wayland-graphics-integration-client",
            "dmabuf-server",
            "drm-egl-server",
            "shm-emulation-server",
            "vulkan-server",
        )
    ),
    *(
        Cut(pattern, "Wayland shells of kiosks and cars; desktops speak xdg-shell")
        for pattern in _plugins(
            "wayland-shell-integration", "fullscreen-shell-v1", "ivi-shell", "qt-shell"
        )
    ),
    # Linux system libraries the bundle must take from the system instead (top-level names).
    *(
        Cut(
            pattern,
            "every Linux has one at least as new as the build machine's (the bundle needs its "
            "glibc anyway); an older bundled copy keeps newer GL drivers (mesa) from loading",
        )
        for pattern in ("libstdc++.so*", "libgcc_s.so*")
    ),
    *(
        Cut(
            pattern,
            "must match the system's font configuration (/etc/fonts): an older bundled copy "
            "misreads newer configs and Qt ends up with wrong or no fonts",
        )
        for pattern in ("libfontconfig.so*", "libfreetype.so*")
    ),
    Cut("jieba/lac_small/*", "jieba's paddle model: only for cut(use_paddle=True)"),
    Cut("jieba/analyse/*", "TF-IDF keyword extraction (jieba.analyse), not used"),
    Cut("jieba/posseg/*", "part-of-speech tables (jieba.posseg), not used"),
    Cut("jieba/finalseg/*.p", "pickled HMM tables read only on Jython; CPython imports the .py"),
)

# Python modules kept out of the bundle. Each is pulled in by something Needle never runs.
EXCLUDED_MODULES: tuple[str, ...] = (
    "tkinter",
    "unittest",
    "pydoc_data",
    "test",
    "pytest",
    "hypothesis",
    "mypy",
    "ruff",
    "rank_bm25",  # a benchmark baseline, not the app
    # RapidOCR's other inference back ends (Needle runs ONNX Runtime) and its drawing of results.
    "torch",
    "tensorrt",
    "paddle",
    "openvino",
    "MNN",
    "rapidocr.inference_engine.pytorch",
    "rapidocr.inference_engine.tensorrt",
    "rapidocr.inference_engine.paddle",
    "rapidocr.inference_engine.openvino",
    "rapidocr.inference_engine.mnn",
    "IPython",
    "pkg_resources",  # jieba only tries it, and falls back to reading its files beside itself
    "setuptools",
    "httpx._main",  # httpx's own command line, which imports pygments, rich and click
    "pygments",
    "readline",  # interactive prompts; needs libreadline/libtinfo
    "desktop.screenshots",  # a developer tool that renders the docs' screenshots
)

# PyInstaller's type codes of files that link to libraries; data, modules and links are not walked.
LINKED_TYPES = frozenset({"BINARY", "EXTENSION", "EXECUTABLE"})
_SHARED_LIBRARY = re.compile(r"^lib.+\.so(\.\d+)*$")


def bundle_path(entry: TocEntry) -> str:
    return PurePath(entry[0]).as_posix()


def cut_for(path: str) -> Cut | None:
    """The rule that leaves `path` out of the bundle, if one does."""
    return next((cut for cut in CUTS if fnmatch.fnmatchcase(path, cut.pattern)), None)


def is_dependency_library(entry: TocEntry) -> bool:
    """A Linux shared library that is in the bundle only because something else links to it:
    the system libraries at the top level and Qt's own libraries. Extension modules, plugins and
    libpython are never dependency-only."""
    path = bundle_path(entry)
    name = PurePath(path).name
    if entry[2] != "BINARY" or not _SHARED_LIBRARY.match(name) or name.startswith("libpython"):
        return False
    return "/" not in path or path.startswith("PySide6/Qt/lib/")


def prune_orphans(
    binaries: list[TocEntry], imports_of: Callable[[str], Iterable[str]]
) -> list[TocEntry]:
    """Drop dependency libraries nothing left in the bundle links to, transitively.

    `imports_of(source path)` names the libraries a binary links to (DT_NEEDED). After plugins
    are cut, the libraries only they needed (cairo and pango for the GTK theme, QtNetwork for
    the VNC platform, …) would otherwise stay behind as dead weight."""
    files = [entry for entry in binaries if entry[2] in LINKED_TYPES]
    by_name: dict[str, list[TocEntry]] = {}
    for entry in files:
        by_name.setdefault(PurePath(bundle_path(entry)).name, []).append(entry)
    pending = [entry for entry in files if not is_dependency_library(entry)]
    reached = {bundle_path(entry) for entry in pending}
    while pending:
        entry = pending.pop()
        for needed in imports_of(entry[1]):
            for dependency in by_name.get(PurePath(needed).name, []):
                if bundle_path(dependency) not in reached:
                    reached.add(bundle_path(dependency))
                    pending.append(dependency)
    return [
        entry for entry in binaries if entry[2] not in LINKED_TYPES or bundle_path(entry) in reached
    ]


def elf_needed(path: str) -> list[str]:
    """The libraries an ELF file names as its direct dependencies (DT_NEEDED), read with binutils'
    objdump, which PyInstaller needs on Linux anyway. Unlike ldd's transitive list this lets
    `prune_orphans` see that only fontconfig needed expat, say."""
    dump = subprocess.run(["objdump", "-p", path], capture_output=True, text=True, check=False)
    if dump.returncode != 0:
        raise RuntimeError(f"objdump cannot read {path}: {dump.stderr.strip()}")
    return [
        fields[1]
        for fields in (line.split() for line in dump.stdout.splitlines())
        if len(fields) == 2 and fields[0] == "NEEDED"
    ]


def apply_cuts(toc: list[TocEntry]) -> list[TocEntry]:
    return [entry for entry in toc if cut_for(bundle_path(entry)) is None]


def lean_toc(
    toc: list[TocEntry], imports_of: Callable[[str], Iterable[str]] | None = None
) -> list[TocEntry]:
    """`toc` without the cut files and, when `imports_of` is given, without the libraries only
    they needed. Symbolic links to dropped files are dropped with them."""
    kept = apply_cuts(toc)
    if imports_of is not None:
        known: dict[str, list[str]] = {}

        def needed(source: str) -> list[str]:  # each file is read once (objdump is slow)
            if source not in known:
                known[source] = list(imports_of(source))
            return known[source]

        kept = prune_orphans(kept, needed)
        kept = keep_repaired_unstripped(kept, needed)
    return _without_dangling_links(kept)


# auditwheel names the libraries it vendors into a wheel "libfoo-<8 hex digits>.so...".
_VENDORED_LIBRARY = re.compile(r"-[0-9a-f]{8}\.so(\.|$)")


def is_repaired(entry: TocEntry, imports_of: Callable[[str], Iterable[str]]) -> bool:
    """A library auditwheel vendored into a wheel (in a `*.libs/` folder), or an extension whose
    dependencies it renamed to such libraries: patchelf rewrote their headers."""
    if entry[2] not in LINKED_TYPES:
        return False
    path = PurePath(bundle_path(entry))
    if path.parts and path.parts[0].endswith(".libs"):
        return True
    return any(_VENDORED_LIBRARY.search(PurePath(name).name) for name in imports_of(entry[1]))


def keep_repaired_unstripped(
    toc: list[TocEntry], imports_of: Callable[[str], Iterable[str]]
) -> list[TocEntry]:
    """Files patchelf rewrote (numpy, OpenCV, Pillow, shapely — the OCR stack) are typed DATA,
    so PyInstaller copies them as they are instead of running `strip` on them: stripping breaks
    them ("ELF load command address/offset not page-aligned" on numpy's OpenBLAS, seen in the
    bundle). In a one-folder bundle an extension or library is loaded from its file whatever
    its type; only the build-time processing differs."""
    return [
        (entry[0], entry[1], "DATA") if is_repaired(entry, imports_of) else entry for entry in toc
    ]


def _without_dangling_links(toc: list[TocEntry]) -> list[TocEntry]:
    """Drop PyInstaller's links (top-level libQt6Core.so.6 -> PySide6/Qt/lib/...) whose target
    is gone. A SYMLINK entry's source field holds the target's bundle path."""
    targets = {bundle_path(entry) for entry in toc if entry[2] != "SYMLINK"}
    return [e for e in toc if e[2] != "SYMLINK" or PurePath(e[1]).as_posix() in targets]
