"""packaging/lean.py: what the bundle leaves out. No build needed: the rules run on made-up
PyInstaller file lists, so a cut that would break the app fails here in milliseconds."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT


def load_lean() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lean", REPO_ROOT / "packaging" / "lean.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lean"] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


lean = load_lean()

QT_PLUGINS = "PySide6/Qt/plugins"


@pytest.mark.parametrize(
    "path",
    [
        f"{QT_PLUGINS}/platforms/libqoffscreen.so",  # --self-test and CI
        f"{QT_PLUGINS}/platforms/libqxcb.so",
        f"{QT_PLUGINS}/platforms/libqwayland.so",
        f"{QT_PLUGINS}/platforms/libqminimal.so",
        "PySide6/plugins/platforms/qwindows.dll",
        f"{QT_PLUGINS}/imageformats/libqsvg.so",  # the combo-box arrow is an SVG
        f"{QT_PLUGINS}/iconengines/libqsvgicon.so",
        f"{QT_PLUGINS}/platforminputcontexts/libibusplatforminputcontextplugin.so",  # Pinyin
        f"{QT_PLUGINS}/platformthemes/libqxdgdesktopportal.so",
        f"{QT_PLUGINS}/wayland-shell-integration/libxdg-shell.so",
        f"{QT_PLUGINS}/wayland-decoration-client/libadwaita.so",
        "jieba/dict.txt",  # the Chinese field cannot segment without it
        "resources/icons/needle-256.png",
        "desktop/chevron-down.svg",
        "desktop/translations/needle_zh_CN.qm",  # the Chinese interface
        "PySide6/Qt/translations/qtbase_zh_CN.qm",  # its standard dialogs
        "PySide6/Qt/lib/libQt6Core.so.6",
        "libxkbcommon.so.0",
    ],
)
def test_what_the_app_needs_is_kept(path: str) -> None:
    assert lean.cut_for(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6/Qt/translations/qtdeclarative_zh_CN.qm",
        "PySide6/translations/qt_de.qm",  # the Windows wheel's layout
        f"{QT_PLUGINS}/platforms/libqvnc.so",
        f"{QT_PLUGINS}/platforms/libqeglfs.so",
        "PySide6/plugins/imageformats/qjpeg.dll",
        f"{QT_PLUGINS}/platformthemes/libqgtk3.so",
        f"{QT_PLUGINS}/generic/libqevdevmouseplugin.so",
        "jieba/lac_small/model_baseline/word_emb",
        "libstdc++.so.6",  # the system's: newer GL drivers need a C++ runtime as new as theirs
        "libfontconfig.so.1",  # the system's: it must understand the system's /etc/fonts
        "jieba/finalseg/prob_emit.p",
    ],
)
def test_what_the_app_never_uses_is_cut_with_a_reason(path: str) -> None:
    cut = lean.cut_for(path)
    assert cut is not None and cut.reason


def test_jieba_hmm_modules_are_not_data_and_stay() -> None:
    # finalseg's tables are imported as Python on CPython; only the pickles are cut.
    assert lean.cut_for("jieba/finalseg/prob_emit.py") is None


def fake_linker(graph: dict[str, list[str]]) -> Callable[[str], Iterable[str]]:
    return lambda source: graph.get(source, [])


def entry(path: str, kind: str = "BINARY") -> tuple[str, str, str]:
    return (path, f"/src/{path}", kind)


def test_libraries_only_a_cut_plugin_needed_are_pruned_transitively() -> None:
    toc = [
        entry("PySide6/QtGui.abi3.so", "EXTENSION"),
        entry("PySide6/Qt/lib/libQt6Gui.so.6"),
        entry("libxkbcommon.so.0"),
        entry(f"{QT_PLUGINS}/platformthemes/libqgtk3.so"),
        entry("libcairo.so.2"),
        entry("libpixman-1.so.0"),
        entry("libpython3.11.so.1.0"),  # loaded by the bootloader, linked by nobody
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
    ]
    linker = fake_linker(
        {
            "/src/PySide6/QtGui.abi3.so": ["libQt6Gui.so.6"],
            "/src/PySide6/Qt/lib/libQt6Gui.so.6": ["libxkbcommon.so.0", "libc.so.6"],
            f"/src/{QT_PLUGINS}/platformthemes/libqgtk3.so": ["libcairo.so.2", "libQt6Gui.so.6"],
            "/src/libcairo.so.2": ["libpixman-1.so.0"],
        }
    )

    kept = {path for path, _, _ in lean.lean_toc(toc, linker)}

    assert kept == {
        "PySide6/QtGui.abi3.so",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "libxkbcommon.so.0",
        "libpython3.11.so.1.0",
        "libQt6Gui.so.6",
    }


def test_a_link_to_a_pruned_library_goes_with_it() -> None:
    toc = [
        entry("PySide6/Qt/lib/libQt6Network.so.6"),
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
        entry("tantivy/tantivy.abi3.so", "EXTENSION"),
    ]
    kept = lean.lean_toc(toc, fake_linker({}))
    assert [path for path, _, _ in kept] == ["tantivy/tantivy.abi3.so"]


def test_without_a_linker_only_the_cuts_apply() -> None:
    toc = [
        entry("libcairo.so.2"),
        entry(f"{QT_PLUGINS}/platforms/libqvnc.so"),
        entry("PySide6/Qt/translations/qt_fr.qm", "DATA"),
        entry("jieba/dict.txt", "DATA"),
    ]
    assert [path for path, _, _ in lean.lean_toc(toc)] == ["libcairo.so.2", "jieba/dict.txt"]


def test_data_files_are_neither_walked_nor_pruned() -> None:
    walked: list[str] = []

    def linker(source: str) -> list[str]:
        walked.append(source)
        return []

    toc = [entry("base_library.zip", "DATA"), entry("tantivy/tantivy.abi3.so", "EXTENSION")]
    assert lean.lean_toc(toc, linker) == toc
    assert walked == ["/src/tantivy/tantivy.abi3.so"]


needs_objdump = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("objdump") is None,
    reason="reads Linux ELF files with binutils' objdump",
)


@needs_objdump
def test_elf_needed_lists_direct_dependencies_only() -> None:
    needed = lean.elf_needed(sys.executable)
    assert any(name.startswith("libc.so") for name in needed)
    # Names as the file records them (sonames), not the resolved paths ldd would print.
    assert all("/" not in name for name in needed)


@needs_objdump
def test_elf_needed_refuses_a_file_that_is_not_elf(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a library", "utf-8")
    with pytest.raises(RuntimeError, match="objdump cannot read"):
        lean.elf_needed(str(text))


def test_libraries_patchelf_rewrote_are_kept_unstripped() -> None:
    needed = {
        "/site/numpy/core/_multiarray_umath.so": ["libscipy_openblas64_-32a4b2a6.so"],
        "/site/numpy.libs/libscipy_openblas64_-32a4b2a6.so": ["libc.so.6"],
        "/site/tantivy/tantivy.so": ["libc.so.6"],
    }
    toc = [
        ("numpy/core/_multiarray_umath.so", "/site/numpy/core/_multiarray_umath.so", "EXTENSION"),
        (
            "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
            "/site/numpy.libs/libscipy_openblas64_-32a4b2a6.so",
            "BINARY",
        ),
        ("tantivy/tantivy.so", "/site/tantivy/tantivy.so", "EXTENSION"),
        ("jieba/dict.txt", "/site/jieba/dict.txt", "DATA"),
    ]
    kept = lean.keep_repaired_unstripped(toc, lambda source: needed.get(source, []))
    assert [entry[2] for entry in kept] == ["DATA", "DATA", "EXTENSION", "DATA"]
