"""EPUB books to blocks: the chapters in reading (spine) order, each read by the HTML extractor,
so headings give sections and footnotes are text like any other.

The container names the package document (OPF); its spine lists the chapters. A chapter without
a heading of its own gets its table-of-contents label (EPUB 3 nav document or EPUB 2 NCX) as one.
Books whose chapters are DRM-encrypted are reported as encrypted; font obfuscation, which every
EPUB tool applies to embedded fonts, is not encryption of the text."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag

from engine.errors import ErrorKind, NeedleError
from engine.ingest.document import Block, assemble, is_sane_title
from engine.ingest.html import html_content
from engine.ingest.office import attribute, local
from engine.ingest.package import Package
from engine.ingest.text import decode_bytes, normalize
from engine.models import ExtractedDocument

_CHAPTER_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/x-dtbook+xml"})
# Encryption algorithms that only hide embedded fonts (IDPF and Adobe obfuscation).
_FONT_OBFUSCATION = frozenset(
    {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
)


def extract_epub(path: Path, data: bytes) -> ExtractedDocument:
    """Raises NeedleError with kind corrupt | encrypted | unsafe | no_text."""
    package = Package(path, data, "EPUB book")
    opf_path = _package_document(package)
    opf = package.xml(opf_path)
    folder = posixpath.dirname(opf_path)
    manifest = _manifest(opf, folder)
    chapters = _spine(opf, manifest)
    if not chapters:
        raise package.corrupt("its spine lists no chapters")
    _refuse_drm(package, set(chapters))
    labels = _toc_labels(package, opf, manifest, folder)
    blocks: list[Block] = []
    for chapter in chapters:
        if not package.has(chapter):
            continue  # a broken manifest entry: the other chapters still read
        markup, _ = decode_bytes(package.read(chapter), name=f"{path} ({chapter})")
        content = html_content(markup)
        chapter_blocks = content.blocks
        label = labels.get(chapter, "")
        if label and not any(block.heading_level for block in chapter_blocks):
            chapter_blocks = _with_heading(chapter_blocks, label)
        blocks.extend(chapter_blocks)
    assembled = assemble(blocks)
    if not assembled.text.strip():
        raise NeedleError(
            ErrorKind.NO_TEXT,
            f"{path} is an EPUB book with no text.",
            "Nothing to index: its pages hold only images.",
        )
    title = _metadata_title(opf) or assembled.first_heading or path.stem
    return ExtractedDocument("epub", title, assembled.text, assembled.sections, encoding="")


def _with_heading(blocks: list[Block], label: str) -> list[Block]:
    """A chapter without heading tags, headed by its table-of-contents label: its first block
    when that is the label's text (a styled paragraph standing in for a heading), else the
    label itself."""
    if blocks and " ".join(normalize(blocks[0].text).split()) == label:
        return [Block(blocks[0].text, 1), *blocks[1:]]
    return [Block(label, 1), *blocks]


def _package_document(package: Package) -> str:
    container = package.xml("META-INF/container.xml")
    for element in container.iter():
        if local(element.tag) == "rootfile":
            full_path = unquote(attribute(element, "full-path"))
            if full_path and package.has(full_path):
                return full_path
    raise package.corrupt("META-INF/container.xml names no package document")


def _manifest(opf: ET.Element, folder: str) -> dict[str, tuple[str, str, str]]:
    """Manifest id -> (part path, media type, properties)."""
    items = {}
    for item in opf.iter():
        if local(item.tag) == "item":
            href = unquote(urldefrag(attribute(item, "href")).url)
            items[attribute(item, "id")] = (
                posixpath.normpath(posixpath.join(folder, href)),
                attribute(item, "media-type"),
                attribute(item, "properties"),
            )
    return items


def _spine(opf: ET.Element, manifest: dict[str, tuple[str, str, str]]) -> list[str]:
    chapters = []
    for itemref in opf.iter():
        if local(itemref.tag) != "itemref":
            continue
        item = manifest.get(attribute(itemref, "idref"))
        if item is not None and item[1] in _CHAPTER_TYPES and item[0] not in chapters:
            chapters.append(item[0])
    return chapters


def _refuse_drm(package: Package, chapters: set[str]) -> None:
    if not package.has("META-INF/encryption.xml"):
        return
    encryption = package.xml("META-INF/encryption.xml")
    for data in encryption.iter():
        if local(data.tag) != "EncryptedData":
            continue
        method = next((e for e in data.iter() if local(e.tag) == "EncryptionMethod"), None)
        reference = next((e for e in data.iter() if local(e.tag) == "CipherReference"), None)
        if method is None or reference is None:
            continue
        if attribute(method, "Algorithm") in _FONT_OBFUSCATION:
            continue
        if unquote(attribute(reference, "URI")) in chapters:
            raise NeedleError(
                ErrorKind.ENCRYPTED,
                f"{package.path} is protected by DRM: its chapters are encrypted.",
                "Only DRM-free books can be searched; the shop may offer a DRM-free download.",
            )


def _toc_labels(
    package: Package, opf: ET.Element, manifest: dict[str, tuple[str, str, str]], folder: str
) -> dict[str, str]:
    """Chapter part -> its first table-of-contents label."""
    labels: dict[str, str] = {}
    nav = next((item for item in manifest.values() if "nav" in item[2].split()), None)
    if nav is not None and package.has(nav[0]):
        _nav_labels(package, nav[0], labels)
    ncx = next((item for item in manifest.values() if item[1] == "application/x-dtbncx+xml"), None)
    if ncx is not None and package.has(ncx[0]) and not labels:
        _ncx_labels(package, ncx[0], labels)
    return labels


def _nav_labels(package: Package, nav_part: str, labels: dict[str, str]) -> None:
    """Labels from the EPUB 3 navigation document, read as HTML (it is XHTML, and may use
    entities such as &nbsp; that an XML parser without the DTD would reject)."""
    folder = posixpath.dirname(nav_part)
    markup, _ = decode_bytes(package.read(nav_part), name=f"{package.path} ({nav_part})")
    links = _Links()
    links.feed(markup)
    links.close()
    for href, label in links.found:
        target = unquote(urldefrag(href).url)
        text = " ".join(normalize(label).split())
        if target and text:
            labels.setdefault(posixpath.normpath(posixpath.join(folder, target)), text)


class _Links(HTMLParser):
    """(href, text) of every <a> in a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((self._href, "".join(self._text)))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)


def _ncx_labels(package: Package, ncx_part: str, labels: dict[str, str]) -> None:
    folder = posixpath.dirname(ncx_part)
    for point in package.xml(ncx_part).iter():
        if local(point.tag) != "navPoint":
            continue
        text = next((e for e in point.iter() if local(e.tag) == "text"), None)
        content = next((e for e in point.iter() if local(e.tag) == "content"), None)
        if text is None or content is None:
            continue
        href = unquote(urldefrag(attribute(content, "src")).url)
        label = " ".join(normalize(text.text or "").split())
        if href and label:
            labels.setdefault(posixpath.normpath(posixpath.join(folder, href)), label)


def _metadata_title(opf: ET.Element) -> str:
    for element in opf.iter():
        if local(element.tag) == "title" and element.text:
            title = " ".join(normalize(element.text).split())
            return title if is_sane_title(title) else ""
    return ""
