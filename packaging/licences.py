"""The licences of what the bundle ships, collected at package build time from the installed
distributions' own metadata (importlib.metadata: `License-File` entries, `License-Expression`,
`License`, classifiers), so the texts are those of the versions actually bundled.

Three outputs: THIRD-PARTY-LICENSES.txt (inside the bundle, where the About dialog links it, and
at the top of the .tar.gz), and the .deb's /usr/share/doc/needle/copyright in Debian's
machine-readable format (https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/).
Qt's wheels carry no licence file, so its LGPL notice and the LGPL/GPL texts come from
packaging/licences/ (the FSF texts, as Debian ships them in /usr/share/common-licenses)."""

from __future__ import annotations

import re
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEXTS = HERE / "licences"
PROJECT = "needle"
# The extras the bundle is built with (packaging/needle.spec collects rapidocr).
BUNDLED_EXTRAS = frozenset({"ocr"})
# In the bundle without being a requirement: PyInstaller's bootloader starts both executables.
BUILD_TOOLS = ("pyinstaller",)
QT_DISTRIBUTIONS = frozenset({"pyside6-essentials", "pyside6", "shiboken6"})
LICENCE_FILE_RE = re.compile(r"(^|/)(licen[cs]e|copying|notice|authors)[^/]*$", re.IGNORECASE)
RULE = "=" * 78

QT_NOTICE = """\
Qt for Python (PySide6, shiboken6) and the Qt 6 libraries it contains are used under the GNU
Lesser General Public License version 3 (LGPL-3.0-only); the LGPL-3.0 text follows, and the
GPL-3.0 text it builds on is at the end of this file. Copyright (C) The Qt Company Ltd. and
other contributors.

Needle uses Qt as unmodified shared libraries, loaded at run time from the bundle's
_internal/PySide6/Qt/lib folder (and its plugins from _internal/PySide6/Qt/plugins). You may
replace them with your own build of the same Qt version, compatible with this PySide6 build,
and Needle will use it. The source code of Qt is available from https://download.qt.io/ and
https://code.qt.io/; that of Qt for Python from https://code.qt.io/pyside/pyside-setup.git.
"""


@dataclass(frozen=True)
class Licensed:
    """One bundled component: what it is called, its licence in a word, and its texts."""

    name: str
    version: str
    licence: str
    texts: tuple[tuple[str, str], ...]  # (file name, text)
    top_level: tuple[str, ...] = ()  # its import names, i.e. its folders in the bundle


def runtime_distributions(
    project: str = PROJECT, extras: Iterable[str] = BUNDLED_EXTRAS
) -> list[Distribution]:
    """`project`'s installed requirements, recursively, with `extras` (sorted by name; the
    project itself left out)."""
    seen: dict[str, Distribution] = {}
    pending: list[tuple[str, frozenset[str]]] = [(project, frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        key = canonicalize_name(dist.metadata["Name"])
        if key in seen:
            continue
        seen[key] = dist
        for line in dist.requires or ():
            requirement = Requirement(line)
            if _applies(requirement, wanted):
                pending.append((requirement.name, frozenset(requirement.extras)))
    seen.pop(canonicalize_name(project), None)
    return sorted(seen.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = {k: str(v) for k, v in default_environment().items()}
    return any(
        requirement.marker.evaluate({**environment, "extra": extra})
        for extra in (*sorted(extras), "")
    )


def licensed(dist: Distribution) -> Licensed:
    name = str(dist.metadata["Name"])
    texts = licence_texts(dist)
    if canonicalize_name(name) in QT_DISTRIBUTIONS:
        texts = [("Qt licence notice", QT_NOTICE), ("LGPL-3.0", _text("LGPL-3.0.txt")), *texts]
    return Licensed(name, dist.version, licence_name(dist), tuple(texts), top_level(dist))


def licence_name(dist: Distribution) -> str:
    """The licence in a word: the SPDX expression, else a one-line License field, else the
    classifiers' names."""
    meta = dist.metadata
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 80:
        return field
    classifiers = [
        c.split("::")[-1].strip() for c in meta.get_all("Classifier") or () if "License" in c
    ]
    return ", ".join(classifiers) or "see the licence text"


def licence_texts(dist: Distribution) -> list[tuple[str, str]]:
    """The texts of the distribution's licence files: those its metadata names (License-File,
    in .dist-info/licenses/ or, before metadata 2.4, beside the metadata), else any licence
    file in its .dist-info; else a long License field, which some projects fill with the text."""
    texts: list[tuple[str, str]] = []
    for path in dist.metadata.get_all("License-File") or ():
        text = _read(dist, f"licenses/{path}") or _read(dist, path)
        if text:
            texts.append((path, text))
    if not texts:
        for file in dist.files or ():
            parts = file.parts
            if (
                len(parts) >= 2
                and parts[0].endswith(".dist-info")
                and LICENCE_FILE_RE.search("/".join(parts[1:]))
            ):
                text = _read(dist, "/".join(parts[1:]))
                if text:
                    texts.append(("/".join(parts[1:]), text))
    field = (dist.metadata.get("License") or "").strip()
    if not texts and "\n" in field:
        texts.append(("License", field))
    return texts


def _read(dist: Distribution, relative: str) -> str | None:
    """A file of the distribution's metadata folder; a few licence files are Latin-1."""
    try:
        return dist.read_text(relative)
    except UnicodeDecodeError:
        for file in dist.files or ():
            if file.parts[0].endswith(".dist-info") and "/".join(file.parts[1:]) == relative:
                return Path(str(dist.locate_file(file))).read_bytes().decode("latin-1")
        return None


def top_level(dist: Distribution) -> tuple[str, ...]:
    listed = (dist.read_text("top_level.txt") or "").split()
    if listed:
        return tuple(sorted(set(listed)))
    names = {
        file.parts[0].removesuffix(".py")
        for file in dist.files or ()
        if len(file.parts) >= 1
        and not file.parts[0].endswith((".dist-info", ".data"))
        and file.parts[0] not in ("..", "__pycache__")
    }
    return tuple(sorted(n for n in names if n and not n.endswith(".pth")))


def python_licence() -> Licensed:
    """The interpreter and standard library the bundle carries."""
    import platform

    path = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    texts = (("LICENSE.txt", path.read_text("utf-8")),) if path.is_file() else ()
    # The interpreter's library and the frozen standard library, where PyInstaller puts them.
    files = ("libpython*", "base_library.zip", "lib-dynload")
    return Licensed("Python", platform.python_version(), "PSF-2.0", texts, files)


def bundled_components() -> list[Licensed]:
    """Everything the bundle ships besides Needle itself, Python first."""
    components = [python_licence()]
    components += [licensed(dist) for dist in runtime_distributions()]
    for tool in BUILD_TOOLS:
        try:
            components.append(licensed(distribution(tool)))
        except PackageNotFoundError:
            continue
    return components


def _text(name: str) -> str:
    return (TEXTS / name).read_text("utf-8")


def third_party_text(components: Sequence[Licensed]) -> str:
    """THIRD-PARTY-LICENSES.txt: a list of the components, then each one's texts."""
    lines = [
        "Needle includes the following third-party software. Each is listed with its version",
        "and licence, followed by the licence texts as its own distribution ships them.",
        "",
    ]
    lines += [f"  {c.name} {c.version} -- {c.licence}" for c in components]
    for component in components:
        lines += ["", RULE, f"{component.name} {component.version} -- {component.licence}", RULE]
        if not component.texts:
            lines += ["", "(The distribution ships no licence text; its licence is named above.)"]
        for file_name, text in component.texts:
            lines += ["", f"--- {file_name} ---", "", text.rstrip()]
    lines += ["", RULE, "GNU General Public License version 3 (referenced by the LGPL-3.0)", RULE]
    lines += ["", _text("GPL-3.0.txt").rstrip(), ""]
    return "\n".join(lines)


def debian_copyright(components: Sequence[Licensed], own_licence: str) -> str:
    """/usr/share/doc/needle/copyright in the machine-readable format: Needle's own files, then
    one paragraph per component (its folders in the bundle), each with its licence text."""
    paragraphs = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: needle\n"
        "Comment: Third-party licences are also in\n"
        " /opt/needle/_internal/THIRD-PARTY-LICENSES.txt.",
        "Files: *\nCopyright: 2026 The Needle developers\nLicense: MIT\n"
        + _continuation(own_licence.strip()),
    ]
    for component in components:
        files = " ".join(_bundle_pattern(name) for name in component.top_level)
        licence = _short_name(component.licence)
        body = "\n\n".join(text.strip() for _, text in component.texts) or (
            f"{component.name} is distributed under {component.licence}."
        )
        paragraphs.append(
            f"Files: {files or 'opt/needle/_internal/*'}\n"
            f"Copyright: {_copyright_line(component)}\n"
            f"Comment: {component.name} {component.version}, {component.licence}\n"
            f"License: {licence}\n" + _continuation(body)
        )
    return "\n\n".join(paragraphs) + "\n"


# Licence names from older metadata, as the format's short names.
_SHORT_NAMES = {
    "MIT License": "MIT",
    "Apache 2.0": "Apache-2.0",
    "Apache License 2.0": "Apache-2.0",
    "BSD License": "BSD",
    "3-Clause BSD License": "BSD-3-Clause",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
}
_SYNOPSIS_RE = re.compile(r"[\w.+-]+(?: (?:and|or|AND|OR|WITH|with) [\w.+-]+)*")


def _short_name(licence: str) -> str:
    """The License: synopsis: short names joined by "and"/"or"; a name the format has no
    short form for is "other" (the paragraph's Comment and text say which)."""
    name = _SHORT_NAMES.get(licence, licence)
    return name if _SYNOPSIS_RE.fullmatch(name) else "other"


def _bundle_pattern(name: str) -> str:
    """A component's files in the installed bundle: a package folder, or a file pattern."""
    if "*" in name or name.endswith(".zip"):
        return f"opt/needle/_internal/{name}"
    return f"opt/needle/_internal/{name}/*"


# A line that states a copyright: the word, then (maybe "(c)") a year.
_COPYRIGHT_RE = re.compile(r"^\s*copyright\s*(?:\(c\)|©)?\s*(\d{4}.*)$", re.I | re.M)


def _copyright_line(component: Licensed) -> str:
    for _, text in component.texts:
        match = _COPYRIGHT_RE.search(text)
        holder = " ".join(match.group(1).split()) if match else ""
        # Licence templates name no one: "[name of copyright owner]", "<copyright holders>".
        if holder and not re.search(r"[\[<]|copyright owner|copyright holder", holder, re.I):
            return holder[:200]
    return f"the {component.name} authors"


def _continuation(text: str) -> str:
    """Text as a field's continuation lines: each indented by a space, blank lines as " ."."""
    return "\n".join(f" {line.rstrip()}" if line.strip() else " ." for line in text.splitlines())


def write_licences(folder: Path, components: Sequence[Licensed] | None = None) -> Path:
    """Needle's LICENSE and THIRD-PARTY-LICENSES.txt into `folder`; returns the latter."""
    components = bundled_components() if components is None else components
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "LICENSE").write_text((ROOT / "LICENSE").read_text("utf-8"), "utf-8")
    target = folder / "THIRD-PARTY-LICENSES.txt"
    target.write_text(third_party_text(components), "utf-8")
    return target
