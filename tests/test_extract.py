"""Extraction of every supported format, and a specific, named error for every kind of bad file."""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PageObject

from engine.errors import NeedleError
from engine.ingest import pdf as pdf_module
from engine.ingest.document import PartialDocument, extraction_problem
from engine.ingest.extract import extract_file, kind_for_path
from engine.ingest.text import normalize
from engine.models import ExtractedDocument
from tests.helpers.pdf_factory import (
    write_corrupt_pdf,
    write_heavy_forms_pdf,
    write_image_only_pdf,
    write_pdf,
)

MB = 1024 * 1024
ORIGINAL_EXTRACT_TEXT = PageObject.extract_text


@pytest.fixture
def pypdf_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """PDFium refuses every file, as it does the ones pypdf is kept for."""
    monkeypatch.setattr(pdf_module, "_read_with_pdfium", lambda *args: None)


def extract(path: Path) -> ExtractedDocument:
    return extract_file(path, max_bytes=MB)


def assert_sections_tile(document: ExtractedDocument) -> None:
    """Sections are contiguous, in order, and concatenate to the document text exactly."""
    assert "".join(section.text for section in document.sections) == document.text
    offset = 0
    for section in document.sections:
        assert section.start == offset
        assert document.text[section.start : section.start + len(section.text)] == section.text
        offset += len(section.text)


def failure(path: Path, max_bytes: int = MB) -> NeedleError:
    with pytest.raises(NeedleError) as caught:
        extract_file(path, max_bytes=max_bytes)
    error = caught.value
    assert path.name in error.message, "every message names the file"
    assert error.hint, "every error says what to do"
    return error


# --- Markdown -------------------------------------------------------------------------------

MARKDOWN = """\
---
title: Front Matter Title
tags: [a, b]
---
Intro before any heading.

# Guide

Some **bold** text and a [link](http://example.com).

## Install

```bash
# not a heading: inside a fenced code block
pip install needle
```

## Use
Run it.

Setext Part
===========

Second level, setext style
--------------------------
Last words.
"""


def test_markdown_heading_paths_follow_the_outline(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "guide.md", MARKDOWN))
    assert document.kind == "markdown"
    assert_sections_tile(document)
    headings = [section.heading for section in document.sections]
    assert headings == [
        (),
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Use"),
        ("Setext Part",),
        ("Setext Part", "Second level, setext style"),
    ]
    install = document.sections[2].text
    assert install.startswith("## Install") and "# not a heading" in install
    assert document.sections[4].text.startswith("Setext Part\n====")


def test_markdown_keeps_the_source_text_the_user_wrote(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "guide.md", MARKDOWN))
    assert document.text == MARKDOWN  # nothing rendered, so character spans point at the file
    assert "**bold**" in document.text


def test_markdown_title_prefers_h1_then_front_matter_then_file_name(tmp_path: Path) -> None:
    assert extract(write(tmp_path / "a.md", MARKDOWN)).title == "Guide"
    no_h1 = MARKDOWN.replace("# Guide", "## Guide").replace("===========", "-----------")
    assert extract(write(tmp_path / "b.md", no_h1)).title == "Front Matter Title"
    assert extract(write(tmp_path / "plain-notes.markdown", "just text\n")).title == "plain-notes"


def test_markdown_heading_decoration_is_not_part_of_the_path(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "d.md", "# The `needle` [tool](http://x) ##\nbody\n"))
    assert document.sections[0].heading == ("The needle tool",)
    assert document.title == "The needle tool"


def test_toml_front_matter_title_and_heading_attributes(tmp_path: Path) -> None:
    text = '+++\ntitle = "Hugo Post"\ndate = 2024-01-01\n+++\n## Setup {#setup .unnumbered}\nx\n'
    document = extract(write(tmp_path / "post.md", text))
    assert document.title == "Hugo Post"
    assert document.sections[-1].heading == ("Setup",)


def test_unclosed_front_matter_is_a_thematic_break_not_a_title(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "rule.md", "---\ntitle: nope\n\nno closing line\n"))
    assert document.title == "rule"


# --- Plain text and HTML ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".txt", ".text", ".rst", ".org"])
def test_plain_text_is_one_section_titled_by_file_name(tmp_path: Path, suffix: str) -> None:
    document = extract(write(tmp_path / f"essay{suffix}", "Line one.\r\nLine two.\r\n"))
    assert document.kind == "text"
    assert document.text == "Line one.\nLine two.\n"
    assert document.title == "essay"
    assert_sections_tile(document)


RST = """\
=========
 Project
=========

Intro paragraph.

Install
=======

From source
-----------

Build it.

Usage
=====

----

A transition above is not a title.
"""


def test_rst_section_titles_give_headings_and_title(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "readme.rst", RST))
    assert document.title == "Project"
    assert [s.heading for s in document.sections] == [
        ("Project",),
        ("Project", "Install"),
        ("Project", "Install", "From source"),
        ("Project", "Usage"),
    ]
    assert document.sections[0].text.startswith("=========\n Project")
    assert "A transition above" in document.sections[-1].text
    assert_sections_tile(document)


def test_org_outline_gives_headings_and_title(tmp_path: Path) -> None:
    org = "#+TITLE: My Org Notes\nintro\n* Tasks\n** Today\nbuy milk\n* Ideas\nmore\n"
    document = extract(write(tmp_path / "notes.org", org))
    assert document.title == "My Org Notes"
    assert [s.heading for s in document.sections] == [
        (),
        ("Tasks",),
        ("Tasks", "Today"),
        ("Ideas",),
    ]
    assert_sections_tile(document)


HTML = """<!doctype html>
<html><head><title>Page &amp; Title</title>
<style>body { color: red }</style><script>var hidden = "do not index";</script></head>
<body>
<h1>Main heading</h1>
<p>First   paragraph
spread over lines with &eacute;l&egrave;ve and &#xFB01;le.</p>
<div>Second<br>line two</div>
<h2>Details</h2>
<pre>  keep   this
    spacing</pre>
<ul><li>item one</li><li>item two</li></ul>
<noscript>enable javascript</noscript>
</body></html>
"""


def test_html_text_keeps_blocks_and_drops_scripts(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "page.html", HTML))
    assert document.kind == "html"
    assert document.title == "Page & Title"
    assert "do not index" not in document.text and "color: red" not in document.text
    assert "enable javascript" not in document.text
    paragraphs = document.text.split("\n\n")
    assert "First paragraph spread over lines with élève and file." in paragraphs
    assert "Second\nline two" in paragraphs
    assert "  keep   this\n    spacing" in paragraphs
    assert "item one" in paragraphs and "item two" in paragraphs
    assert_sections_tile(document)
    assert [s.heading for s in document.sections] == [
        ("Main heading",),
        ("Main heading", "Details"),
    ]


def test_html_table_rows_are_lines_and_svg_titles_are_not_the_page_title(tmp_path: Path) -> None:
    html = (
        "<title>Prices</title><svg><title>icon tooltip</title></svg>"
        "<table><tr><th>Item</th><th>Cost</th></tr><tr><td>Tea</td><td>3 EUR</td></tr></table>"
    )
    document = extract(write(tmp_path / "table.html", html))
    assert document.title == "Prices"
    assert "Item | Cost\n\nTea | 3 EUR" in document.text
    assert "tooltip" not in document.text


def test_html_without_title_uses_first_h1_then_file_name(tmp_path: Path) -> None:
    assert extract(write(tmp_path / "a.htm", "<h1>Only H1</h1><p>x</p>")).title == "Only H1"
    assert extract(write(tmp_path / "bare.htm", "<p>no headings</p>")).title == "bare"


def test_html_body_after_an_unclosed_head_is_kept(tmp_path: Path) -> None:
    html = "<html><head><title>T</title><meta name=x><body><p>visible body text</p></html>"
    document = extract(write(tmp_path / "nohead.html", html))
    assert document.title == "T"
    assert document.text == "visible body text\n\n"


def test_html_in_a_declared_legacy_charset(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gbk"></head><body><p>中文网页内容</p></body></html>'
    path = tmp_path / "gbk.html"
    path.write_bytes(html.encode("gbk"))
    assert "中文网页内容" in extract(path).text


# --- Encodings ----------------------------------------------------------------------------

CHINESE = "《红楼梦》是中国古典小说。第一回：甄士隐梦幻识通灵。"


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("gb18030", "gb18030"),
    ],
)
def test_every_text_encoding_reads_the_same_text(
    tmp_path: Path, encoding: str, reported: str
) -> None:
    path = tmp_path / "novel.txt"
    path.write_bytes(CHINESE.encode(encoding))
    document = extract(path)
    assert document.encoding == reported
    # The file's own characters, full-width colon included.
    assert document.text == CHINESE


def test_cp1252_file_reads_sensibly(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("naïve café — “smart quotes”".encode("cp1252"))
    assert extract(path).text == "naïve café — “smart quotes”"


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_pages_keep_their_numbers(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "report.pdf", ["First page text.", "", "Third page, 第三页。"])
    document = extract(path)
    assert document.kind == "pdf"
    assert document.page_count == 3
    assert [s.page for s in document.sections] == [1, 3]  # the empty page has no section
    assert "First page text." in document.sections[0].text
    assert "第三页。" in document.sections[1].text
    assert_sections_tile(document)
    assert extraction_problem(document) is None


def test_pdf_ligatures_are_written_out_and_full_width_kept(tmp_path: Path) -> None:
    document = extract(write_pdf(tmp_path / "lig.pdf", ["The ﬁrst ﬂoor, room ＡＢ１２."]))
    assert "The first floor, room ＡＢ１２." in document.text


def test_pdf_title_from_metadata_else_first_line_else_name(tmp_path: Path) -> None:
    assert extract(write_pdf(tmp_path / "a.pdf", ["Body"], title="Annual Report")).title == (
        "Annual Report"
    )
    junk = write_pdf(tmp_path / "b.pdf", ["Real Heading\nbody"], title="Microsoft Word - b.doc")
    assert extract(junk).title == "Real Heading"
    assert extract(write_pdf(tmp_path / "c.pdf", ["12 34"])).title == "c"


def test_encrypted_pdf_without_password_is_reported_as_encrypted(tmp_path: Path) -> None:
    error = failure(write_pdf(tmp_path / "secret.pdf", ["classified"], password="hunter2"))
    assert error.kind == "encrypted"


def test_pdf_encrypted_with_empty_password_opens(tmp_path: Path) -> None:
    document = extract(write_pdf(tmp_path / "restricted.pdf", ["readable anyway"], password=""))
    assert "readable anyway" in document.text


def test_aes_pdf_without_crypto_support_is_encrypted_not_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pypdf_only: None
) -> None:
    # What pypdf does without 'cryptography' when an AES-128 file opened with the empty password
    # and its streams are then decrypted.
    from pypdf.errors import DependencyError

    def needs_cryptography(self: PageObject, *args: Any, **kwargs: Any) -> str:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(PageObject, "extract_text", needs_cryptography)
    error = failure(write_pdf(tmp_path / "aes.pdf", ["text"]))
    assert error.kind == "encrypted" and "AES" in error.message


def test_corrupt_pdf(tmp_path: Path) -> None:
    assert failure(write_corrupt_pdf(tmp_path / "broken.pdf")).kind == "corrupt"


def test_truncated_pdf_is_corrupt_or_partial_never_a_crash(tmp_path: Path) -> None:
    whole = write_pdf(tmp_path / "whole.pdf", ["page one", "page two"]).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    try:
        document = extract(path)
    except NeedleError as error:
        assert error.kind in ("corrupt", "no_text")
    else:
        assert_sections_tile(document)


def test_drawing_only_pdf_has_no_extractable_text(tmp_path: Path) -> None:
    error = failure(write_image_only_pdf(tmp_path / "drawing.pdf", page_count=2))
    assert error.kind == "no_text"
    assert "no extractable text" in error.message and "2 page" in error.message


@pytest.mark.parametrize("reader", ["pdfium", "pypdf"])
def test_one_bad_page_does_not_lose_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    path = write_pdf(tmp_path / "mixed.pdf", ["good one", "bad page", "good three"])
    if reader == "pypdf":
        monkeypatch.setattr(pdf_module, "_read_with_pdfium", lambda *args: None)
        real_pypdf = pdf_module._pypdf_page_text

        def flaky_pypdf(reader: object, index: int) -> str | None:
            return None if index == 1 else real_pypdf(reader, index)  # type: ignore[arg-type]

        monkeypatch.setattr(pdf_module, "_pypdf_page_text", flaky_pypdf)
    else:
        real_pdfium = pdf_module._page_text

        def flaky_pdfium(page: Any) -> tuple[str, bool]:
            if "bad page" in real_pdfium(page)[0]:
                raise RuntimeError("PDFium: broken content stream")
            return real_pdfium(page)

        monkeypatch.setattr(pdf_module, "_page_text", flaky_pdfium)
    document = extract_file(path, max_bytes=MB)
    assert isinstance(document, PartialDocument)
    assert [s.page for s in document.sections] == [1, 3]
    assert document.failed_pages == (2,)
    problem = extraction_problem(document)
    assert problem is not None and problem.kind == "partial"
    assert "page 2" in problem.message and "mixed.pdf" in problem.message


def test_a_page_that_raises_inside_pypdf_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pypdf_only: None
) -> None:
    path = write_pdf(tmp_path / "raises.pdf", ["alpha", "beta"])
    original = PageObject.extract_text

    def explode_on_beta(self: PageObject, *args: object, **kwargs: object) -> str:
        text = original(self, *args, **kwargs)  # type: ignore[arg-type]
        if "beta" in text:
            raise KeyError("/Font")
        return text

    monkeypatch.setattr(PageObject, "extract_text", explode_on_beta)
    document = extract_file(path, max_bytes=MB)
    assert "alpha" in document.text and "beta" not in document.text
    assert isinstance(document, PartialDocument) and document.failed_pages == (2,)


def crawl_on_slow_pages(self: PageObject, *args: Any, **kwargs: Any) -> str:
    """PageObject.extract_text, but pages that say "slow" take 5 s to read."""
    text = ORIGINAL_EXTRACT_TEXT(self, *args, **kwargs)
    if "slow" in text:
        time.sleep(5)
    return text


def test_a_pathologically_slow_page_is_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a forked pool worker, as the indexer runs it: the patches below are inherited, and
    # the worker's main thread has no other alarm pending (pytest-timeout's is in this process).
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method to carry the patched page into a worker")
    path = write_pdf(tmp_path / "slow.pdf", ["quick page", "slow page"])
    monkeypatch.setattr(pdf_module, "_read_with_pdfium", lambda *args: None)
    monkeypatch.setattr(PageObject, "extract_text", crawl_on_slow_pages)
    monkeypatch.setattr(pdf_module, "PDF_PAGE_SECONDS", 0.2)
    started = time.monotonic()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        document = pool.submit(extract_file, path, max_bytes=MB).result(timeout=30)
    assert time.monotonic() - started < 3
    assert "quick page" in document.text and "slow page" not in document.text
    assert isinstance(document, PartialDocument) and document.failed_pages == (2,)
    assert "took" not in document.reason and "could not be read" in document.reason


@pytest.mark.parametrize("reader", ["pdfium", "pypdf"])
def test_document_time_budget_skips_the_remaining_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    path = write_pdf(tmp_path / "long.pdf", [f"page {n}" for n in range(1, 6)])
    if reader == "pypdf":
        monkeypatch.setattr(pdf_module, "_read_with_pdfium", lambda *args: None)
    monkeypatch.setattr(pdf_module, "PDF_DOCUMENT_SECONDS", -1.0)  # spent before it starts
    error = failure(path)
    assert error.kind == "corrupt" and "too long" in error.message


# --- Bad input ------------------------------------------------------------------------------


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "huge.txt", "x" * 5000)
    error = failure(path, max_bytes=1000)
    assert error.kind == "too_large"
    assert "limit" in error.message


def test_file_that_vanished(tmp_path: Path) -> None:
    assert failure(tmp_path / "gone.md").kind == "vanished"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "private.txt", "secret")
    path.chmod(0)
    try:
        error = failure(path)
    finally:
        path.chmod(0o644)
    assert error.kind == "unreadable" and "permission" in error.message


def test_permission_error_is_reported_as_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs even as root (where chmod 000 cannot block reading): the OS refusal is simulated.
    path = write(tmp_path / "locked.md", "text")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    error = failure(path)
    assert error.kind == "unreadable" and "permission denied" in error.message


def test_directory_with_a_text_extension_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert failure(folder).kind == "unreadable"


def test_binary_under_a_text_extension(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    assert failure(path).kind == "not_text"


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "sheet.xlsx", "x")
    assert failure(path).kind == "unsupported"
    assert kind_for_path(path) is None
    assert kind_for_path(Path("A.MD")) == "markdown"


def test_empty_text_file_is_an_empty_document(tmp_path: Path) -> None:
    document = extract(write(tmp_path / "empty.md", ""))
    assert document.text == "" and document.sections == ()


# --- Process pool ---------------------------------------------------------------------------


def test_extract_file_runs_in_a_process_pool(tmp_path: Path) -> None:
    md = write(tmp_path / "a.md", "# Title\nbody\n")
    pdf = write_pdf(tmp_path / "b.pdf", ["pdf body"])
    assert pickle.loads(pickle.dumps(extract_file)) is extract_file
    with ProcessPoolExecutor(max_workers=1) as pool:
        results = list(pool.map(functools.partial(extract_file, max_bytes=MB), [md, pdf]))
    assert results[0].title == "Title"
    assert results[1].sections[0].page == 1


def test_partial_documents_pickle(tmp_path: Path) -> None:
    partial = PartialDocument(
        "pdf", "t", "x\n\n", (), 2, "", failed_pages=(2,), reason="page 2 failed"
    )
    assert pickle.loads(pickle.dumps(partial)) == partial


# --- Properties -------------------------------------------------------------------------------

MARKDOWN_LINES = st.sampled_from(
    [
        "# Title",
        "## Sub",
        "### Deep #",
        "Text line",
        "",
        "===",
        "---",
        "```",
        "~~~~",
        "    # code",
        "+++",
        "title: x",
        "* item",
        "- item",
        "中文段落。",
        "\t",
        "> quote",
        "<h1>html</h1>",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(MARKDOWN_LINES, max_size=40), st.sampled_from(["\n", "\r\n"]))
def test_any_markdown_gives_tiled_sections(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], newline: str
) -> None:
    path = tmp_path_factory.mktemp("md") / "random.md"
    raw = newline.join(lines)
    path.write_bytes(raw.encode())
    document = extract(path)
    assert document.text == normalize(raw)
    assert_sections_tile(document)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' abcphd1&;#x\n")), max_size=300))
def test_any_html_extracts_without_crashing(
    tmp_path_factory: pytest.TempPathFactory, markup: str
) -> None:
    path = tmp_path_factory.mktemp("html") / "random.html"
    path.write_text(markup, encoding="utf-8")
    document = extract(path)
    assert_sections_tile(document)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_under_a_text_extension_extract_or_fail_as_not_text(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("bin") / "random.txt"
    path.write_bytes(data)
    try:
        document = extract(path)
    except NeedleError as error:
        assert error.kind == "not_text"
        return
    assert_sections_tile(document)


# --- Corpus -----------------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_pdf_extracts_or_fails_with_a_reason(corpora: Path) -> None:
    pdf_root = corpora / "pdfs"
    listing = json.loads((pdf_root / "files.json").read_text("utf-8"))["data"]
    expected_encrypted = {entry["path"] for entry in listing if entry.get("encrypted")}
    assert expected_encrypted, "files.json should list at least one encrypted PDF"
    outcomes: dict[str, str] = {}
    for path in sorted(pdf_root.rglob("*.pdf")):
        relative = path.relative_to(pdf_root).as_posix()
        try:
            document = extract_file(path, max_bytes=64 * MB)
        except NeedleError as error:
            # Without an OCR session, pages that are images are reported as such.
            assert error.kind in ("encrypted", "corrupt", "no_text", "ocr_unavailable"), (
                relative,
                error,
            )
            outcomes[relative] = error.kind
            continue
        assert_sections_tile(document)
        assert all(section.page for section in document.sections)
        outcomes[relative] = "ok"
    for relative in expected_encrypted:
        assert outcomes[relative] == "encrypted"
    assert sum(kind == "ok" for kind in outcomes.values()) >= len(outcomes) // 2


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_a_pdf_pdfium_refuses_is_read_by_pypdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    def refuse(*args: object, **kwargs: object) -> None:
        raise pypdfium2.PdfiumError("Failed to load document", err_code=pdfium_c.FPDF_ERR_FORMAT)

    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    document = extract(write_pdf(tmp_path / "odd.pdf", ["read by the fallback"]))
    assert "read by the fallback" in document.text


def test_pdfium_hyphen_marks_become_hyphens(tmp_path: Path) -> None:
    # PDFium writes U+0002 for a hyphen it joined across a line break ("Schwarz\x02Weiß" in
    # the GeoTopo sample); readers saw "-".
    assert "Schwarz\x02Weiß".translate(pdf_module._PDFIUM_HYPHEN) == "Schwarz-Weiß"
    assert "black-and-white" in extract(write_pdf(tmp_path / "h.pdf", ["black-and-white"])).text


def test_a_page_drawing_heavy_form_xobjects_is_read_in_seconds(tmp_path: Path) -> None:
    """The crafted PDF of issue 9 (item 3), one page of it: 50 forms of 20,000 text operations.
    Looking for scanned images walked its million objects one Python object each (17 s a page;
    59 s at the 170 KB size) — now the walk stops at PDF_MAX_PAGE_OBJECTS (~4 s, most of it
    PDFium loading the page)."""
    path = write_heavy_forms_pdf(tmp_path / "forms.pdf", operations=20_000, pages=1)
    started = time.monotonic()
    document = extract_file(path, max_bytes=10 * MB)
    assert time.monotonic() - started < 12
    assert document.page_count == 1 and extraction_problem(document) is None


def test_the_look_for_images_stops_at_its_object_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(tests/test_ocr.py shows scanned pages are still found.)"""
    import pypdfium2 as pdfium

    path = write_heavy_forms_pdf(tmp_path / "forms.pdf", operations=10, pages=1)
    with pdfium.PdfDocument(path.read_bytes()) as opened:
        page = opened[0]
        assert list(pdf_module._image_bounds(page)) == []  # text forms: no image
        monkeypatch.setattr(pdf_module, "PDF_MAX_PAGE_OBJECTS", 10)
        assert pdf_module._image_share(page) == 0.0
