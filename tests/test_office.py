"""Office documents and e-books: real files made by LibreOffice (tests/fixtures/office/make.sh),
hand-made ones for what LibreOffice does not write, and hostile ones, each refused with a clear
kind (zip bombs, XML entity expansion, missing parts, encryption)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import NeedleError
from engine.ingest import package as package_module
from engine.ingest.chunk import chunk_document
from engine.ingest.extract import extract_file
from engine.models import ExtractedDocument

FIXTURES = Path(__file__).parent / "fixtures" / "office"
MB = 1024 * 1024
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def extract(path: Path) -> ExtractedDocument:
    return extract_file(path, max_bytes=16 * MB)


def failure(path: Path) -> NeedleError:
    with pytest.raises(NeedleError) as caught:
        extract(path)
    assert path.name in caught.value.message and caught.value.hint
    return caught.value


def section_of(document: ExtractedDocument, needle: str) -> tuple[str, ...]:
    return next(s.heading for s in document.sections if needle in s.text)


# -- made by LibreOffice ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.docx", "report.odt"])
def test_word_processor_documents_keep_headings_tables_and_footnotes(name: str) -> None:
    document = extract(FIXTURES / name)
    assert document.title == "Field Trip Report"
    assert section_of(document, "Each station") == ("Field Trip Report", "Measurements")
    assert section_of(document, "Return in spring") == ("Conclusions",)
    # A table row is one line, cells in order.
    assert "Konkordia | 2850 m | 41 m" in document.text.split("\n")
    # The footnote follows the paragraph citing it, in the same section.
    assert "morning.[1] The ice" in document.text
    assert section_of(document, "[1] The Aletsch glacier") == ("Field Trip Report",)
    assert section_of(document, "冰川在过去十年里退缩了六十多米") == (
        "Field Trip Report",
        "中文摘要",
    )
    assert "[2] 数据来自瑞士冰川监测网。" in document.text


@pytest.mark.parametrize("name", ["slides.pptx", "slides.odp"])
def test_presentations_read_slide_by_slide_with_titles_and_notes(name: str) -> None:
    document = extract(FIXTURES / name)
    assert document.page_count == 2
    first, second = document.sections
    assert (first.page, first.heading) == (1, ("Quarterly Review",))
    assert "Revenue grew by twelve percent" in first.text and "销售额增长百分之十二" in first.text
    assert "Notes: Mention the new warehouse in Leipzig." in first.text
    assert (second.page, second.heading) == (2, ("Next Steps",))
    chunks = chunk_document("deck", document)
    assert [chunk.page for chunk in chunks] == [1, 2]


def test_an_epub_reads_in_spine_order_with_chapter_headings() -> None:
    document = extract(FIXTURES / "report.epub")
    assert document.kind == "epub" and document.title == "Field Trip Report"
    assert section_of(document, "Return in spring") == ("Conclusions",)
    assert document.text.index("glacier") < document.text.index("Return in spring")
    assert "Konkordia | 2850 m | 41 m" in document.text.split("\n")


def test_a_legacy_word_file_is_unsupported_with_the_fix() -> None:
    error = failure(FIXTURES / "report.doc")
    assert error.kind == "unsupported" and "Word 97-2003" in error.message
    assert ".docx" in error.hint


def test_a_modern_document_under_an_old_name_is_read(tmp_path: Path) -> None:
    misnamed = tmp_path / "report.doc"
    misnamed.write_bytes((FIXTURES / "report.docx").read_bytes())
    assert "Konkordia" in extract(misnamed).text


# -- hand-made: what real documents also contain -------------------------------------------


def docx(path: Path, body: str, *, extra: dict[str, bytes] | None = None) -> Path:
    parts = {
        "[Content_Types].xml": b"<Types/>",
        "word/document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>'
            f"{body}</w:body></w:document>"
        ).encode(),
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def paragraph(text: str, style: str = "") -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{properties}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def test_word_tracked_deletions_and_field_codes_are_left_out(tmp_path: Path) -> None:
    body = (
        "<w:p><w:r><w:t>kept </w:t></w:r><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del>"
        "<w:ins><w:r><w:t>inserted</w:t></w:r></w:ins>"
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r>'
        "<w:r><w:t> 7</w:t></w:r></w:p>"
    )
    document = extract(docx(tmp_path / "tracked.docx", body))
    assert document.text.strip() == "kept inserted 7"


def test_word_headings_come_from_the_style_names_of_any_language(tmp_path: Path) -> None:
    styles = (
        f'<w:styles xmlns:w="{W}">'
        '<w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Kapitel"><w:name w:val="Kapitel"/>'
        '<w:basedOn w:val="Base"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Base"><w:name w:val="Base"/>'
        '<w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>'
        "</w:styles>"
    ).encode()
    body = paragraph("标题一", "1") + paragraph("Unterkapitel", "Kapitel") + paragraph("Text")
    document = extract(docx(tmp_path / "styles.docx", body, extra={"word/styles.xml": styles}))
    assert section_of(document, "Text") == ("标题一", "Unterkapitel")
    assert document.title == "标题一"


def test_an_empty_document_has_no_text(tmp_path: Path) -> None:
    assert failure(docx(tmp_path / "empty.docx", "<w:p/>")).kind == "no_text"


def epub(path: Path, chapters: dict[str, str], *, encryption: bytes | None = None) -> Path:
    manifest = "".join(
        f'<item id="c{n}" href="{name}" media-type="application/xhtml+xml"/>'
        for n, name in enumerate(chapters)
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    opf = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>A Small Book</dc:title>'
        f"</metadata><manifest>{manifest}</manifest><spine>{spine}</spine></package>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OPS/book.opf"/></rootfiles></container>',
        )
        archive.writestr("OPS/book.opf", opf)
        for name, body in chapters.items():
            archive.writestr(f"OPS/{name}", f"<html><body>{body}</body></html>")
        if encryption is not None:
            archive.writestr("META-INF/encryption.xml", encryption)
    return path


def test_epub_chapter_headings_and_footnotes(tmp_path: Path) -> None:
    book = epub(
        tmp_path / "book.epub",
        {
            "one.xhtml": "<h1>Chapter One</h1><p>It began at dawn&nbsp;today.<a href='#n1'>1</a>"
            "</p><h2>The Harbour</h2><p>Boats.</p><aside id='n1'>1. A footnote.</aside>",
            "two.xhtml": "<h1>第二章</h1><p>天亮了。</p>",
        },
    )
    document = extract(book)
    assert document.title == "A Small Book"
    assert section_of(document, "Boats.") == ("Chapter One", "The Harbour")
    assert section_of(document, "A footnote.") == ("Chapter One", "The Harbour")
    assert section_of(document, "天亮了") == ("第二章",)
    assert "dawn today" in document.text


def test_a_drm_protected_epub_is_encrypted(tmp_path: Path) -> None:
    encryption = (
        b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        b'<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        b'<enc:CipherData><enc:CipherReference URI="OPS/one.xhtml"/></enc:CipherData>'
        b"</enc:EncryptedData></encryption>"
    )
    book = epub(tmp_path / "drm.epub", {"one.xhtml": "<p>x</p>"}, encryption=encryption)
    assert failure(book).kind == "encrypted"


# -- hostile and broken ------------------------------------------------------------------------


def test_xml_entity_expansion_is_refused_as_unsafe(tmp_path: Path) -> None:
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    document = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY l0 "lol">{laughs}]>'
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body>'
        "</w:document>"
    )
    bomb = tmp_path / "laughs.docx"
    with zipfile.ZipFile(bomb, "w") as archive:
        archive.writestr("word/document.xml", document)
    error = failure(bomb)
    assert error.kind == "unsafe" and "entities" in error.message


def test_an_external_entity_is_refused_as_unsafe(tmp_path: Path) -> None:
    document = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&secret;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    leak = tmp_path / "leak.odt"
    with zipfile.ZipFile(leak, "w") as archive:
        archive.writestr("content.xml", document)
    assert failure(leak).kind == "unsafe"


def test_a_zip_bomb_is_refused_before_it_fills_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package_module, "PART_MAX_BYTES", 8 * MB)
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" + b" " * (40 * MB) + b"/>")
    assert bomb.stat().st_size < 100_000
    error = failure(bomb)
    assert error.kind == "unsafe" and "inflates" in error.message


def test_a_package_missing_its_main_part_is_corrupt(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pptx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    error = failure(broken)
    assert error.kind == "corrupt" and "ppt/presentation.xml" in error.message


def test_not_a_zip_and_broken_xml_are_corrupt(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.epub"
    garbage.write_bytes(b"this is not a zip file at all" * 10)
    assert failure(garbage).kind == "corrupt"
    assert failure(docx(tmp_path / "halfxml.docx", "<w:p><w:r>")).kind == "corrupt"


def test_a_password_protected_word_file_is_encrypted(tmp_path: Path) -> None:
    # What Word writes for "Encrypt with password": an OLE compound file whose directory holds
    # an EncryptedPackage stream, not a zip.
    header = package_module.OLE_MAGIC + bytes(504)
    directory = "EncryptionInfo".encode("utf-16-le") + bytes(50)
    directory += "EncryptedPackage".encode("utf-16-le") + bytes(50)
    locked = tmp_path / "locked.docx"
    locked.write_bytes(header + directory + bytes(2048))
    error = failure(locked)
    assert error.kind == "encrypted" and "password" in error.message


def test_a_zip_encrypted_part_is_encrypted(tmp_path: Path) -> None:
    path = docx(tmp_path / "zipcrypto.docx", paragraph("secret"))
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag bit in the local and central headers of every member.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (found := data.find(signature, start)) >= 0:
            data[found + offset] |= 0x01
            start = found + 4
    path.write_bytes(bytes(data))
    assert failure(path).kind == "encrypted"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([".docx", ".odt", ".pptx", ".odp", ".epub"]))
def test_any_bytes_under_an_office_name_fail_with_a_kind_never_a_crash(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("office") / f"random{suffix}"
    path.write_bytes(data)
    with pytest.raises(NeedleError) as caught:
        extract(path)
    assert caught.value.kind in ("corrupt", "unsafe", "encrypted", "unsupported", "no_text")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<w:p>",
                "</w:p>",
                "<w:r>",
                "</w:r>",
                "<w:t>x</w:t>",
                "<w:tbl>",
                "</w:tbl>",
                "<w:tr>",
                "</w:tr>",
                "<w:tc>",
                "</w:tc>",
                "<w:footnoteReference w:id='1'/>",
                "<w:tab/>",
                "中",
            ]
        ),
        max_size=30,
    )
)
def test_any_word_body_extracts_or_fails_cleanly(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str]
) -> None:
    path = docx(tmp_path_factory.mktemp("docx") / "random.docx", "".join(pieces))
    try:
        document = extract(path)
    except NeedleError as error:
        assert error.kind in ("corrupt", "no_text")
        return
    assert "".join(section.text for section in document.sections) == document.text


def test_office_files_are_read_in_the_pool_safe_form(tmp_path: Path) -> None:
    """The extracted document crosses a process boundary like any other."""
    import pickle

    document = extract(FIXTURES / "report.docx")
    assert pickle.loads(pickle.dumps(document)) == document
