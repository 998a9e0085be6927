"""PDF files to located text: one section per page, and a second, OCR-marked section for the
text recognised on a page that is a scanned image.

PDFium (pypdfium2) reads the text layer: about 11× faster than pypdf on the sample PDFs with the
same words, and proper Unicode where pypdf emits font codes (docs/benchmarks.md, "PDF text").
pypdf reads the files PDFium refuses to open (other than for a wrong password). A page whose text
layer is (nearly) empty and that is an image is rendered by PDFium and recognised by OCR when the
OCR extra is installed (engine/ingest/ocr.py).

PDFium's C code cannot be interrupted by the per-page alarm; `on_page` is called before every
page so the indexer's watchdog knows the worker is alive and stops it when one page hangs."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ErrorKind, NeedleError
from engine.ingest.deadline import TimeLimitExceeded, time_limit
from engine.ingest.document import (
    PartialDocument,
    describe_pages,
    first_line_title,
    is_sane_title,
)
from engine.ingest.ocr import INSTALL_HINT, OCR_MAX_SIDE, OcrSession, ocr_status
from engine.ingest.text import normalize
from engine.models import ExtractedDocument, Section

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader
    from pypdfium2 import PdfDocument, PdfPage

# pypdf fallback only: a single page whose text takes longer than this is skipped (recorded).
PDF_PAGE_SECONDS: float = 15.0
# Past this much time reading one PDF's text layer the remaining pages are skipped, so one
# pathological file cannot hold a worker for minutes while the rest of the corpus waits.
PDF_DOCUMENT_SECONDS: float = 120.0
# pypdf fallback only: content streams this large are drawings or scans rendered as vector
# paths, not prose; reading them costs seconds and yields nothing.
PDF_MAX_CONTENT_BYTES: int = 16 * 1024 * 1024
# Past this many objects on one page (form XObjects included) images are not looked for: a
# scan is a few objects, and a drawing of millions is not one.
PDF_MAX_PAGE_OBJECTS: int = 50_000
# A page with at least this many visible characters in its text layer is never OCR'd ...
OCR_TEXT_ENOUGH = 200
# ... and one with fewer is, when images cover this share of it (a scan with a "Scanned with
# ..." stamp, a photo of a whiteboard with a caption), or when it has images and no text at all.
# Pages of vector drawings only are not: OCR finds nothing there but seconds of work.
OCR_MIN_IMAGE_SHARE = 0.15
# Pages are rendered for OCR at this resolution, capped at OCR_MAX_SIDE pixels on the long side.
OCR_RENDER_DPI = 200

PageCallback = Callable[[], None]

# PDFium marks a hyphen it joined across a line break with U+0002; the reader saw "-".
_PDFIUM_HYPHEN = str.maketrans({"\x02": "-"})
_WHITESPACE_RE = re.compile(r"\s+")


@dataclass
class _Pages:
    """What was read of a PDF, page by page (lists are indexed by page number - 1)."""

    count: int
    texts: list[str] = field(default_factory=list)  # text layer, normalized; "" when none
    ocr_texts: list[str] = field(default_factory=list)  # recognised text; "" when none
    failed: list[int] = field(default_factory=list)  # pages whose text layer could not be read
    out_of_time: bool = False  # the document's time budget ran out before the last page
    needs_ocr: list[int] = field(default_factory=list)  # image pages, whether OCR ran or not
    unrecognised: list[int] = field(default_factory=list)  # image pages OCR could not read
    ocr_failure: str = ""  # why (the first reason)
    title: str = ""  # from the document information dictionary, when sane

    @property
    def ocr_pages(self) -> int:
        return sum(1 for text in self.ocr_texts if text)

    def give_up_from(self, index: int) -> None:
        """The document's time ran out before page `index` (0-based): it and every later page
        are failed, with no text."""
        self.failed.extend(range(index + 1, self.count + 1))
        self.texts.extend("" for _ in range(index, self.count))
        self.out_of_time = True


def extract_pdf(
    path: Path, data: bytes, *, ocr: OcrSession | None, on_page: PageCallback | None = None
) -> ExtractedDocument:
    """Raises NeedleError with kind encrypted | corrupt | no_text | ocr_unavailable."""
    pages = _read_with_pdfium(path, data, ocr, on_page)
    if pages is None:
        pages = _read_with_pypdf(path, data, on_page)
    return _document(path, pages, ocr)


def _document(path: Path, pages: _Pages, ocr: OcrSession | None) -> ExtractedDocument:
    sections: list[Section] = []
    offset = 0
    for number in range(1, pages.count + 1):
        for text, from_ocr in (
            (pages.texts[number - 1], False),
            (pages.ocr_texts[number - 1], True),
        ):
            if not text.strip():
                continue
            section_text = text.rstrip() + "\n\n"
            sections.append(Section(section_text, offset, page=number, ocr=from_ocr))
            offset += len(section_text)
    if not sections:
        raise _nothing_extracted(path, pages, ocr)
    text = "".join(section.text for section in sections)
    title = pages.title or first_line_title(text) or path.stem
    kind, reason, lost = _what_was_lost(path, pages, ocr)
    if lost:
        return PartialDocument(
            "pdf",
            title,
            text,
            tuple(sections),
            pages.count,
            encoding="",
            ocr_pages=pages.ocr_pages,
            failed_pages=tuple(lost),
            reason=reason,
            problem_kind=kind,
        )
    return ExtractedDocument(
        "pdf", title, text, tuple(sections), pages.count, encoding="", ocr_pages=pages.ocr_pages
    )


def _what_was_lost(
    path: Path, pages: _Pages, ocr: OcrSession | None
) -> tuple[ErrorKind, str, list[int]]:
    """The kind, message and pages of what could not be made searchable; no pages when none."""
    if pages.failed:
        why = "took too long to read" if pages.out_of_time else "could not be read"
        reason = (
            f"{path}: {describe_pages(pages.failed)} {why} and are not searchable; "
            f"the other {pages.count - len(pages.failed)} page(s) are indexed."
        )
        return ErrorKind.PARTIAL, reason, sorted(set(pages.failed) | set(pages.unrecognised))
    if pages.unrecognised and ocr is None:
        reason = (
            f"{path}: {describe_pages(pages.unrecognised)} are scanned images and "
            f"{_ocr_missing_reason()} Their text is not searchable; the other pages are indexed."
        )
        return ErrorKind.OCR_UNAVAILABLE, reason, pages.unrecognised
    if pages.unrecognised:
        reason = (
            f"{path}: text recognition failed on {describe_pages(pages.unrecognised)} "
            f"({pages.ocr_failure}); the other pages are indexed."
        )
        return ErrorKind.PARTIAL, reason, pages.unrecognised
    return ErrorKind.PARTIAL, "", []


def _ocr_missing_reason() -> str:
    reason = ocr_status().reason or "text recognition (OCR) is turned off."
    return reason[0].lower() + reason[1:]


def _nothing_extracted(path: Path, pages: _Pages, ocr: OcrSession | None) -> NeedleError:
    if pages.count == 0:
        return NeedleError(
            ErrorKind.NO_TEXT,
            f"{path} has no pages, so there is no extractable text.",
            "Nothing to index; open it in a PDF viewer to check it is complete.",
        )
    if pages.out_of_time:
        return NeedleError(
            ErrorKind.CORRUPT,
            f"{path} took too long to read (over {PDF_DOCUMENT_SECONDS:g} s) and was skipped.",
            "It may be damaged or extremely complex; re-export it (for example print to PDF).",
        )
    if pages.failed:
        return NeedleError(
            ErrorKind.CORRUPT,
            f"{path}: no page could be read ({describe_pages(pages.failed)} failed).",
            "The file is probably damaged; re-download or re-export it.",
        )
    if pages.needs_ocr and ocr is None:
        return NeedleError(
            ErrorKind.OCR_UNAVAILABLE,
            f"{path} has {pages.count} page(s) of scanned images and no text layer, and "
            f"{_ocr_missing_reason()}",
            INSTALL_HINT,
        )
    if pages.unrecognised:
        return NeedleError(
            ErrorKind.NO_TEXT,
            f"{path} has {pages.count} page(s) of scanned images, and text recognition failed "
            f"({pages.ocr_failure}).",
            "It is tried again when the file changes.",
        )
    if pages.needs_ocr:
        return NeedleError(
            ErrorKind.NO_TEXT,
            f"{path} has {pages.count} page(s) but no text: no text layer, and text recognition "
            "(OCR) found none in its images.",
            "If the pages do show text, it may be too small or faint: scan at 300 dpi.",
        )
    return NeedleError(
        ErrorKind.NO_TEXT,
        f"{path} has {pages.count} page(s) but no extractable text.",
        "Nothing to index: its pages hold no text and no images.",
    )


def _encrypted(path: Path) -> NeedleError:
    return NeedleError(
        ErrorKind.ENCRYPTED,
        f"{path} is encrypted with a password, so its text cannot be read.",
        "Save an unprotected copy (print to PDF or remove the password) to make it searchable.",
    )


def _corrupt(path: Path, exc: BaseException) -> NeedleError:
    detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return NeedleError(
        ErrorKind.CORRUPT,
        f"{path} is not a readable PDF ({detail}).",
        "The file is probably damaged or incomplete; re-download or re-export it.",
    )


def _clean_title(raw: object) -> str:
    if not isinstance(raw, str):
        return ""
    title = " ".join(normalize(raw).split())
    return title if is_sane_title(title) else ""


# ---------------------------------------------------------------------------------------------
# PDFium


def _read_with_pdfium(
    path: Path, data: bytes, ocr: OcrSession | None, on_page: PageCallback | None
) -> _Pages | None:
    """The pages as PDFium reads them, or None when PDFium cannot open the file (pypdf may)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise _encrypted(path) from error
        if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise NeedleError(
                ErrorKind.ENCRYPTED,
                f"{path} uses a protection scheme Needle cannot open.",
                "Save an unprotected copy (print to PDF) to make it searchable.",
            ) from error
        return None
    try:
        pages = _Pages(count=len(document))
        pages.title = _clean_title(_pdfium_metadata_title(document))
        _read_text_layer(document, pages, on_page)
        _recognise_image_pages(document, pages, ocr, on_page)
    finally:
        document.close()
    return pages


def _pdfium_metadata_title(document: PdfDocument) -> object:
    try:
        return document.get_metadata_dict().get("Title", "")
    except Exception:  # a broken info dictionary just means no title
        return ""


def _read_text_layer(document: PdfDocument, pages: _Pages, on_page: PageCallback | None) -> None:
    deadline = time.monotonic() + PDF_DOCUMENT_SECONDS
    for index in range(pages.count):
        if time.monotonic() > deadline:
            pages.give_up_from(index)
            break
        if on_page is not None:
            on_page()
        try:
            page = document[index]
        except Exception:  # a broken page object: one bad page must not lose the others
            pages.failed.append(index + 1)
            pages.texts.append("")
            continue
        try:
            text, needs_ocr = _page_text(page)
        except Exception:
            pages.failed.append(index + 1)
            text, needs_ocr = "", False
        finally:
            page.close()
        pages.texts.append(text)
        if needs_ocr:
            pages.needs_ocr.append(index + 1)
    pages.ocr_texts = ["" for _ in range(pages.count)]


def _page_text(page: PdfPage) -> tuple[str, bool]:
    """The page's text layer (normalized) and whether the page is an image to recognise."""
    textpage = page.get_textpage()
    try:
        raw = textpage.get_text_bounded()
    finally:
        textpage.close()
    text = normalize(raw.translate(_PDFIUM_HYPHEN))
    visible = len(_WHITESPACE_RE.sub("", text))
    if visible >= OCR_TEXT_ENOUGH:
        return text, False
    share = _image_share(page)
    return text, share >= OCR_MIN_IMAGE_SHARE or (visible == 0 and share > 0)


def _image_share(page: PdfPage) -> float:
    """How much of the page images cover (overlaps counted twice, capped at 1)."""
    width, height = (float(value) for value in page.get_size())
    if width <= 0 or height <= 0:
        return 0.0
    covered = 0.0
    for left, bottom, right, top in _image_bounds(page):
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(
            0.0, min(top, height) - max(bottom, 0.0)
        )
    return min(1.0, covered / (width * height))


def _image_bounds(page: PdfPage) -> Iterator[tuple[float, float, float, float]]:
    """The bounds of the page's image objects, form XObjects included, looking at no more than
    PDF_MAX_PAGE_OBJECTS objects: a page of millions of objects is a drawing, not a scan, and
    pypdfium2's own walk (a Python object per PDFium object) took 59 s on one page of the
    crafted PDF of issue 9."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    pending = [
        pdfium_c.FPDFPage_GetObject(page.raw, index)
        for index in range(pdfium_c.FPDFPage_CountObjects(page.raw))
    ]
    seen = len(pending)
    while pending:
        item = pending.pop()
        kind = pdfium_c.FPDFPageObj_GetType(item)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            inner = pdfium_c.FPDFFormObj_CountObjects(item)
            seen += max(0, inner)
            if seen > PDF_MAX_PAGE_OBJECTS:
                return
            pending.extend(pdfium_c.FPDFFormObj_GetObject(item, n) for n in range(inner))
        elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE and pdfium_c.FPDFPageObj_GetBounds(
            item, left, bottom, right, top
        ):
            yield left.value, bottom.value, right.value, top.value


def _recognise_image_pages(
    document: PdfDocument, pages: _Pages, ocr: OcrSession | None, on_page: PageCallback | None
) -> None:
    if ocr is None:
        pages.unrecognised = list(pages.needs_ocr)
        return
    for position, number in enumerate(pages.needs_ocr, start=1):
        if on_page is not None:
            on_page()
        try:
            image = _render(document, number - 1)
        except Exception as error:  # PDFium could not draw the page
            pages.unrecognised.append(number)
            pages.ocr_failure = pages.ocr_failure or f"the page could not be drawn: {error}"
            continue
        result = ocr.read(image, page=position, pages=len(pages.needs_ocr))
        if result.failed:
            pages.unrecognised.append(number)
            pages.ocr_failure = pages.ocr_failure or result.failed
            continue
        pages.ocr_texts[number - 1] = _new_lines(result.text, pages.texts[number - 1])


def _render(document: PdfDocument, index: int) -> Any:
    """The page as a BGR pixel array, at OCR_RENDER_DPI but no more than OCR_MAX_SIDE pixels."""
    page = document[index]
    try:
        width, height = page.get_size()
        scale = min(OCR_RENDER_DPI / 72, OCR_MAX_SIDE / max(width, height, 1.0))
        bitmap = page.render(scale=scale)
        try:
            return bitmap.to_numpy().copy()
        finally:
            bitmap.close()
    finally:
        page.close()


def _new_lines(recognised: str, text_layer: str) -> str:
    """OCR lines the text layer does not already hold (a scanner's stamp is read by both)."""
    if not text_layer.strip():
        return recognised
    known = {_WHITESPACE_RE.sub("", line) for line in text_layer.split("\n")}
    kept = [line for line in recognised.split("\n") if _WHITESPACE_RE.sub("", line) not in known]
    return "\n".join(kept)


# ---------------------------------------------------------------------------------------------
# pypdf (fallback)


def _read_with_pypdf(path: Path, data: bytes, on_page: PageCallback | None) -> _Pages:
    from pypdf.errors import DependencyError

    with _quiet_pypdf():
        reader = _open_with_pypdf(path, data)
        pages = _Pages(count=_page_count(path, reader))
        try:
            _read_pypdf_pages(reader, pages, on_page)
        except DependencyError as exc:
            # AES-128 files often open with the empty password (its check needs no AES), and
            # then every stream fails to decrypt without the optional 'cryptography' package.
            raise _aes_unsupported(path) from exc
        pages.title = _pypdf_title(reader)
    pages.ocr_texts = ["" for _ in range(pages.count)]
    return pages


def _open_with_pypdf(path: Path, data: bytes) -> PdfReader:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if not reader.is_encrypted:
            return reader
        # Many "encrypted" PDFs only restrict printing and open with the empty user password.
        opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except DependencyError as exc:
        # AES-256 needs the optional 'cryptography' package even to try the empty password.
        raise _aes_unsupported(path) from exc
    except Exception as exc:  # pypdf raises many types on malformed files; all mean "corrupt"
        raise _corrupt(path, exc) from exc
    if not opened:
        raise _encrypted(path)
    return reader


def _aes_unsupported(path: Path) -> NeedleError:
    return NeedleError(
        ErrorKind.ENCRYPTED,
        f"{path} is AES-encrypted, and this installation cannot decrypt AES "
        "(the optional 'cryptography' package is missing).",
        "Install 'cryptography' into Needle's environment, or save an unprotected copy.",
    )


def _page_count(path: Path, reader: PdfReader) -> int:
    try:
        return len(reader.pages)
    except Exception as exc:  # a broken page tree
        raise _corrupt(path, exc) from exc


def _read_pypdf_pages(reader: PdfReader, pages: _Pages, on_page: PageCallback | None) -> None:
    deadline = time.monotonic() + PDF_DOCUMENT_SECONDS
    for index in range(pages.count):
        if time.monotonic() > deadline:
            pages.give_up_from(index)
            break
        if on_page is not None:
            on_page()
        text = _pypdf_page_text(reader, index)
        if text is None:
            pages.failed.append(index + 1)
            pages.texts.append("")
        else:
            pages.texts.append(normalize(text))


def _pypdf_page_text(reader: PdfReader, index: int) -> str | None:
    """One page's raw text; None when it cannot be read (broken, too heavy or too slow)."""
    from pypdf.errors import DependencyError

    try:
        page = reader.pages[index]
        if _content_size(page) > PDF_MAX_CONTENT_BYTES:
            return None
        with time_limit(PDF_PAGE_SECONDS):
            text = page.extract_text()
        return text if isinstance(text, str) else ""
    except DependencyError:
        raise  # AES content: no page of this file will read either (see _read_with_pypdf)
    except (TimeLimitExceeded, RecursionError):
        return None
    except Exception:  # one bad page must not lose the others
        return None


def _content_size(page: PageObject) -> int:
    contents = page.get_contents()
    if contents is None:
        return 0
    return len(contents.get_data())


def _pypdf_title(reader: PdfReader) -> str:
    try:
        metadata = reader.metadata
        raw = metadata.title if metadata is not None else None
    except Exception:  # metadata is optional; a broken info dictionary just means no title
        return ""
    return _clean_title(raw)


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every small defect it repairs; on a real corpus that floods the
    terminal. Problems that matter reach the user as NeedleErrors instead."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)
