"""Reading text in images and scanned PDF pages: English and Chinese, OCR-marked sections and
chunks, the page-keyed cache, the per-page time limit, and what happens without OCR.

Tests that run the real engine skip when the OCR extra is not installed (`make test` installs
it). The fixtures are two small scans drawn once with Noto Sans CJK (tests/fixtures/ocr/make.py)."""

from __future__ import annotations

import io
import multiprocessing
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engine.errors import NeedleError
from engine.ingest import pdf as pdf_module
from engine.ingest.chunk import chunk_document
from engine.ingest.document import PartialDocument, extraction_problem
from engine.ingest.extract import extract_file, scanned_extensions
from engine.ingest.ocr import (
    OcrLine,
    OcrSession,
    Recogniser,
    ocr_status,
    reading_order,
    shared_recogniser,
)
from engine.ingest.ocr_cache import OcrCache
from engine.library.catalog import Catalog
from engine.library.indexer import Indexer
from engine.models import ExtractedDocument, IndexProgress, SearchFilters
from engine.search.index import ChunkIndex
from engine.settings import Settings
from tests.helpers.pdf_factory import pdf_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "ocr"
MB = 1024 * 1024
needs_ocr = pytest.mark.skipif(not ocr_status().available, reason="the OCR extra is not installed")
Image = pytest.importorskip("PIL.Image")
np = pytest.importorskip("numpy")


def scanned_pdf(path: Path, *images: str, stamp: str = "") -> Path:
    """An image-only PDF with one page per fixture image, as a scanner writes it; `stamp`
    adds a line of real text on the first page (a scanner app's "Scanned with ..." mark)."""
    pages = [Image.open(FIXTURES / name).convert("RGB") for name in images]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    data = buffer.getvalue()
    if stamp:
        data = _with_stamp(data, stamp)
    path.write_bytes(data)
    return path


def _with_stamp(data: bytes, stamp: str) -> bytes:
    """The scan with a line of real text drawn over its first page."""
    from pypdf import PdfReader, PdfWriter, Transformation

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(data)))
    overlay = PdfReader(io.BytesIO(pdf_bytes([stamp]))).pages[0]
    # pdf_factory draws an inch below the top of a letter page; move that to the scan's foot.
    writer.pages[0].merge_transformed_page(overlay, Transformation().translate(-60, -712))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def session(cache: OcrCache | None = None, **options: Any) -> OcrSession:
    return OcrSession(shared_recogniser(), cache, **options)


# -- reading order (no engine needed) ---------------------------------------------------------


def test_reading_order_joins_rows_and_keeps_chinese_unspaced() -> None:
    lines = [
        OcrLine("world", 120, 10, 200, 30),
        OcrLine("Hello", 10, 12, 100, 32),
        OcrLine("第二行", 10, 60, 100, 80),
        OcrLine("文字", 110, 62, 160, 82),
        OcrLine("total: 12", 10, 110, 100, 130),
    ]
    assert reading_order(lines) == "Hello world\n第二行文字\ntotal: 12"


def test_scanned_extensions_take_images_only_with_ocr() -> None:
    assert ".png" in scanned_extensions(ocr=True)
    assert ".png" not in scanned_extensions(ocr=False)
    assert {".pdf", ".docx", ".epub", ".doc"} <= scanned_extensions(ocr=False)


# -- the real engine --------------------------------------------------------------------------


@needs_ocr
def test_english_and_chinese_images_are_read(tmp_path: Path) -> None:
    english = extract_file(FIXTURES / "receipt_en.png", max_bytes=MB, ocr=session())
    assert english.kind == "image" and english.ocr_pages == 1
    assert "Harbour Books" in english.text and "1,280.00 EUR" in english.text
    assert all(section.ocr for section in english.sections)
    chinese = extract_file(FIXTURES / "minutes_zh.png", max_bytes=MB, ocr=session())
    # The full-width colon as the image shows it, as for every other format.
    assert "会议纪要：预算审查" in chinese.text and "下季度计划已经批准" in chinese.text


@needs_ocr
def test_scanned_pdf_pages_are_recognised_page_by_page(tmp_path: Path) -> None:
    pdf = scanned_pdf(tmp_path / "scan.pdf", "receipt_en.png", "minutes_zh.png")
    progress: list[tuple[int, int]] = []
    document = extract_file(
        pdf, max_bytes=MB, ocr=session(progress=lambda p, n: progress.append((p, n)))
    )
    assert document.page_count == 2 and document.ocr_pages == 2
    assert [(s.page, s.ocr) for s in document.sections] == [(1, True), (2, True)]
    assert "Harbour Books" in document.sections[0].text
    assert "下季度计划" in document.sections[1].text
    assert progress == [(1, 2), (2, 2)]
    chunks = chunk_document("doc", document, target_tokens=16, max_tokens=20)
    assert chunks and all(chunk.ocr and chunk.page in (1, 2) for chunk in chunks)


@needs_ocr
def test_a_scanners_stamp_is_kept_once_and_the_image_is_still_read(tmp_path: Path) -> None:
    stamp = "Scanned with PocketScan"
    pdf = scanned_pdf(tmp_path / "stamped.pdf", "receipt_en.png", stamp=stamp)
    document = extract_file(pdf, max_bytes=MB, ocr=session())
    layer, recognised = document.sections
    assert (layer.ocr, recognised.ocr) == (False, True)
    assert stamp in layer.text and "Harbour Books" in recognised.text
    assert stamp not in recognised.text
    chunks = chunk_document("doc", document)
    assert [chunk.ocr for chunk in chunks] == [False, True]  # never mixed in one chunk


@needs_ocr
def test_the_cache_is_keyed_by_page_content(tmp_path: Path) -> None:
    cache = OcrCache(tmp_path / "cache.sqlite3")
    first = session(cache)
    original = scanned_pdf(tmp_path / "a.pdf", "receipt_en.png")
    extract_file(original, max_bytes=MB, ocr=first)
    assert first.pages_read == 1 and len(cache) == 1
    # The same page in another file (a copy, a re-saved scan) is not recognised again.
    copy = tmp_path / "copy of a.pdf"
    copy.write_bytes(original.read_bytes())
    second = session(cache)
    document = extract_file(copy, max_bytes=MB, ocr=second)
    assert second.pages_read == 0 and "Harbour Books" in document.text
    # A different page is.
    third = session(cache)
    extract_file(FIXTURES / "minutes_zh.png", max_bytes=MB, ocr=third)
    assert third.pages_read == 1 and len(cache) == 2


@needs_ocr
def test_a_photo_without_text_is_no_text_with_a_reason(tmp_path: Path) -> None:
    photo = tmp_path / "sky.jpg"
    gradient = np.tile(np.linspace(80, 200, 640, dtype=np.uint8), (480, 1))
    Image.fromarray(gradient).convert("RGB").save(photo, quality=90)
    with pytest.raises(NeedleError) as caught:
        extract_file(photo, max_bytes=MB, ocr=session())
    assert caught.value.kind == "no_text" and "found no text" in caught.value.message


def test_image_bytes_that_are_not_an_image_are_corrupt(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 50)
    with pytest.raises(NeedleError) as caught:
        extract_file(fake, max_bytes=MB, ocr=OcrSession(_Refuses()))
    assert caught.value.kind == "corrupt" and "fake.png" in caught.value.message


def test_an_image_too_large_to_decode_is_refused_before_decoding(tmp_path: Path) -> None:
    huge = tmp_path / "bomb.png"
    Image.new("1", (12000, 9000)).save(huge)  # 108 million pixels in a few kilobytes
    assert huge.stat().st_size < 100_000
    with pytest.raises(NeedleError) as caught:
        extract_file(huge, max_bytes=MB, ocr=OcrSession(_Refuses()))
    assert caught.value.kind == "too_large" and "12000×9000" in caught.value.message


def test_without_ocr_images_and_scanned_pages_say_why(tmp_path: Path) -> None:
    with pytest.raises(NeedleError) as caught:
        extract_file(FIXTURES / "receipt_en.png", max_bytes=MB)
    assert caught.value.kind == "ocr_unavailable" and caught.value.hint
    pdf = scanned_pdf(tmp_path / "scan.pdf", "receipt_en.png")
    with pytest.raises(NeedleError) as caught:
        extract_file(pdf, max_bytes=MB)
    assert caught.value.kind == "ocr_unavailable" and "scanned images" in caught.value.message


def test_a_scanned_page_among_text_pages_is_a_noted_loss_without_ocr(tmp_path: Path) -> None:
    stamp = "Scanned with PocketScan"
    pdf = scanned_pdf(tmp_path / "stamped.pdf", "receipt_en.png", stamp=stamp)
    document = extract_file(pdf, max_bytes=MB)
    assert isinstance(document, PartialDocument) and stamp in document.text
    problem = extraction_problem(document)
    assert problem is not None and problem.kind == "ocr_unavailable"
    assert "page 1" in problem.message


# -- the per-page time limit (a recogniser that stalls in Python) ------------------------------


class _Refuses(Recogniser):
    def load(self) -> Any:
        return None

    def lines(self, image: Any) -> list[OcrLine]:
        raise AssertionError("this test must not reach recognition")


class _Crawls(Recogniser):
    """Takes 5 CPU seconds on pages whose top-left pixel is dark, answers at once on others."""

    def load(self) -> Any:
        return None

    def lines(self, image: Any) -> list[OcrLine]:
        if int(image[0, 0].min()) < 128:
            spent = time.process_time() + 5
            while time.process_time() < spent:  # 5 CPU seconds of Python: the limit can stop it
                pass
        return [OcrLine("quick page", 0, 0, 10, 10)]


def _read_with_crawler(path: Path) -> ExtractedDocument:
    return extract_file(path, max_bytes=MB, ocr=OcrSession(_Crawls(), page_seconds=0.3))


def test_a_page_over_the_time_limit_is_given_up_and_the_others_kept(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("white", "black", "white")]
    tiff = tmp_path / "fax.tif"
    frames[0].save(tiff, save_all=True, append_images=frames[1:])
    # In a forked worker, as the indexer runs it: pytest-timeout's alarm is in this process.
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        document = pool.submit(_read_with_crawler, tiff).result(timeout=300)
    # Had the limit not stopped page 2, it would have been read ("quick page") after 5 s.
    assert isinstance(document, PartialDocument) and document.failed_pages == (2,)
    assert [s.page for s in document.sections] == [1, 3]
    assert "took over 0.3 CPU seconds" in document.reason


def test_pdf_pages_rendered_for_ocr_are_capped_in_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, ...]] = []

    class Measures(Recogniser):
        def load(self) -> Any:
            return None

        def lines(self, image: Any) -> list[OcrLine]:
            seen.append(tuple(image.shape))
            return [OcrLine("a poster", 0, 0, 10, 10)]

    big = Image.new("RGB", (3000, 4000), "white")
    big.paste(Image.open(FIXTURES / "receipt_en.png").convert("RGB"), (0, 0))
    pdf = tmp_path / "poster.pdf"
    big.save(pdf, "PDF", resolution=50)  # a 60×80 inch page
    extract_file(pdf, max_bytes=4 * MB, ocr=OcrSession(Measures()))
    assert seen and max(seen[0][:2]) == pdf_module.OCR_MAX_SIDE


# -- the indexer ------------------------------------------------------------------------------


@needs_ocr
@pytest.mark.slow
@pytest.mark.timeout(600)  # OCR in spawned workers: minutes on a loaded machine
def test_indexing_marks_ocr_hits_reports_pages_and_never_re_recognises(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    scanned_pdf(notes / "scan.pdf", "receipt_en.png", "minutes_zh.png")
    (notes / "whiteboard.png").write_bytes((FIXTURES / "minutes_zh.png").read_bytes())
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    cache_file = tmp_path / "ocr.sqlite3"
    indexer = Indexer(catalog, index, Settings(), ocr=True, ocr_cache=cache_file, workers=1)
    seen: list[IndexProgress] = []
    summary = indexer.reconcile([notes], progress=seen.append)
    assert (summary.added, summary.errors) == (2, 0)
    assert any(p.activity == "recognising text (page 2 of 2)" for p in seen)
    assert catalog.get(str(notes / "scan.pdf")).ocr_pages == 2  # type: ignore[union-attr]
    hits = index.search("Harbour Books", limit=5)
    assert hits and hits[0].ocr and hits[0].page == 1
    assert {hit.path for hit in index.search("下季度计划", limit=5)} == {
        str(notes / "scan.pdf"),
        str(notes / "whiteboard.png"),
    }
    # What the cache holds is what a copy gets: proof that it was not recognised again.
    with sqlite3.connect(cache_file) as cache:
        cache.execute("UPDATE pages SET text = 'cached sentinel text'")
    (notes / "scan copy.pdf").write_bytes((notes / "scan.pdf").read_bytes())
    (notes / "scan.pdf").rename(notes / "renamed.pdf")
    summary = indexer.reconcile([notes])
    assert (summary.added, summary.renamed) == (1, 1)
    copy_hits = index.search(
        "sentinel", limit=5, filters=SearchFilters(paths=(str(notes / "scan copy.pdf"),))
    )
    assert copy_hits and all(hit.ocr for hit in copy_hits)
    assert index.search(
        "Harbour Books", limit=5, filters=SearchFilters(paths=(str(notes / "renamed.pdf"),))
    )


@pytest.mark.slow
@pytest.mark.timeout(600)  # OCR in spawned workers: minutes on a loaded machine
def test_files_read_without_ocr_are_read_again_once_it_is_there(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    pdf = scanned_pdf(notes / "scan.pdf", "receipt_en.png")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    without = Indexer(catalog, index, Settings(), ocr=False, workers=1)
    without.reconcile([notes])
    record = catalog.get(str(pdf))
    assert record is not None and (record.state, record.error_kind) == (
        "skipped",
        "ocr_unavailable",
    )
    assert without.reconcile([notes]).unchanged == 1  # not retried while OCR is still absent
    if not ocr_status().available:
        pytest.skip("the OCR extra is not installed")
    with_ocr = Indexer(catalog, index, Settings(), ocr=True, workers=1)
    summary = with_ocr.reconcile([notes])
    record = catalog.get(str(pdf))
    assert summary.updated == 1 and record is not None and record.state == "indexed"
    assert index.search("Harbour", limit=3)


@needs_ocr
@pytest.mark.slow
@pytest.mark.timeout(600)  # OCR in spawned workers: minutes on a loaded machine
def test_the_command_line_shows_ocr_with_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.api import Engine
    from engine.cli.main import main

    monkeypatch.delenv("NEEDLE_HOME", raising=False)
    notes = tmp_path / "notes"
    notes.mkdir()
    scanned_pdf(notes / "scan.pdf", "minutes_zh.png", "receipt_en.png")
    with Engine.open(tmp_path / "home") as engine:
        engine.add_folder(notes)
        assert engine.index().errors == 0
    assert main(["--data-dir", str(tmp_path / "home"), "search", "Harbour Books"]) == 0
    assert "scan.pdf — page 2 (OCR)" in capsys.readouterr().out
