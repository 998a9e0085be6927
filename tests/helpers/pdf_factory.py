"""Small real PDFs for tests, written byte by byte (no PDF-generating dependency needed).

    write_pdf(path, ["page one text", "page two"], title="T", password=None) -> Path
    write_image_only_pdf(path, page_count=2) -> Path    # pages, but no text layer
    write_corrupt_pdf(path) -> Path                     # starts like a PDF, is not one
    pdf_bytes(pages, title=None) -> bytes               # the bytes write_pdf would write

Text may be any Unicode from the Basic Multilingual Plane (English, Chinese, ligatures such as
"ﬁ"): each character is drawn with a two-byte code and a ToUnicode map gives the code's
character back, which is exactly what pypdf's extract_text reads. Lines ("\\n") are drawn one
below the other. Encryption uses RC4 (pypdf needs no extra package to read it)."""

from __future__ import annotations

import io
from pathlib import Path

_PAGE_WIDTH, _PAGE_HEIGHT = 612, 792
_FONT_SIZE, _LINE_GAP = 11, 14


def write_pdf(
    path: Path, pages: list[str], *, password: str | None = None, title: str | None = None
) -> Path:
    """Write a PDF with one page per string in `pages`; `password` encrypts it (user password),
    `title` goes into the document information dictionary."""
    data = pdf_bytes(pages, title=title)
    if password is not None:
        data = _encrypt(data, password)
    path.write_bytes(data)
    return path


def write_image_only_pdf(path: Path, page_count: int = 1) -> Path:
    """A PDF whose pages carry only drawn shapes, like a scan without OCR: no extractable text."""
    drawing = b"0.2 0.4 0.8 rg 72 72 300 400 re f 0 0 0 RG 2 w 72 72 m 372 472 l S"
    data = _assemble([drawing] * page_count, with_font=False, title=None)
    path.write_bytes(data)
    return path


def write_corrupt_pdf(path: Path) -> Path:
    """Bytes that start with a PDF header but hold no readable objects, cross-reference or
    trailer: what a truncated download or a mislabeled file looks like."""
    garbage = bytes((index * 37 + 11) % 256 for index in range(2048))
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + garbage + b"\n%%EOF\n")
    return path


def pdf_bytes(pages: list[str], *, title: str | None = None) -> bytes:
    """The bytes of an unencrypted PDF drawing `pages` (one string per page)."""
    return _assemble(
        [_text_stream(page) for page in pages], with_font=True, title=title, text=pages
    )


def _text_stream(page: str) -> bytes:
    commands = [f"BT /F1 {_FONT_SIZE} Tf {_LINE_GAP} TL 72 {_PAGE_HEIGHT - 72} Td"]
    for line in page.split("\n"):
        commands.append(f"<{_hex_codes(line)}> Tj T*")
    commands.append("ET")
    return "\n".join(commands).encode("ascii")


def _hex_codes(line: str) -> str:
    for char in line:
        if ord(char) > 0xFFFF:
            raise ValueError(f"pdf_factory draws BMP characters only, not {char!r}")
    return "".join(f"{ord(char):04X}" for char in line)


def _to_unicode_cmap(characters: set[str]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Needle-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    ordered = sorted(characters)
    # A bfchar block may hold at most 100 entries.
    for block_start in range(0, len(ordered), 100):
        block = ordered[block_start : block_start + 100]
        lines.append(f"{len(block)} beginbfchar")
        lines.extend(f"<{ord(c):04X}> <{ord(c):04X}>" for c in block)
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def _assemble(
    contents: list[bytes], *, with_font: bool, title: str | None, text: list[str] | None = None
) -> bytes:
    """Lay out objects: 1 catalog, 2 page tree, 3 info, 4-6 font (when used), then a page and
    its content stream per page."""
    objects: dict[int, bytes] = {}
    first_page = 7
    page_ids = [first_page + 2 * index for index in range(len(contents))]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    objects[3] = b"<< /Producer (Needle test pdf_factory)" + _title_entry(title) + b" >>"
    resources = b"<< >>"
    if with_font:
        characters = {char for page in text or [] for char in page if char != "\n"}
        objects[4] = (
            b"<< /Type /Font /Subtype /Type0 /BaseFont /NeedleSans /Encoding /Identity-H"
            b" /DescendantFonts [5 0 R] /ToUnicode 6 0 R >>"
        )
        objects[5] = (
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NeedleSans"
            b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
            b" /DW 600 /CIDToGIDMap /Identity >>"
        )
        objects[6] = _stream(_to_unicode_cmap(characters))
        resources = b"<< /Font << /F1 4 0 R >> >>"
    for page_id, content in zip(page_ids, contents, strict=True):
        objects[page_id] = (
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}]"
                f" /Contents {page_id + 1} 0 R /Resources "
            ).encode()
            + resources
            + b" >>"
        )
        objects[page_id + 1] = _stream(content)
    return _serialize(objects)


def _title_entry(title: str | None) -> bytes:
    if title is None:
        return b""
    # UTF-16BE with a BOM is how PDF spells a text string that is not plain ASCII.
    encoded = (b"\xfe\xff" + title.encode("utf-16-be")).hex().upper()
    return f" /Title <{encoded}>".encode()


def _stream(content: bytes) -> bytes:
    return f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"


def _serialize(objects: dict[int, bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n")
    xref_at = out.tell()
    size = max(objects) + 1
    out.write(f"xref\n0 {size}\n0000000000 65535 f \n".encode())
    for number in range(1, size):
        if number in offsets:
            out.write(f"{offsets[number]:010d} 00000 n \n".encode())
        else:
            out.write(b"0000000000 65535 f \n")
    trailer = f"trailer\n<< /Size {size} /Root 1 0 R /Info 3 0 R >>\n"
    out.write(f"{trailer}startxref\n{xref_at}\n%%EOF\n".encode())
    return out.getvalue()


def _encrypt(data: bytes, password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_heavy_forms_pdf(
    path: Path, *, forms: int = 50, operations: int = 20_000, pages: int = 4
) -> Path:
    """The crafted PDF of the fault campaign (issue 9, item 3), rebuilt: every page draws
    `forms` form XObjects, each a Flate-compressed stream of `operations` tiny text-showing
    operations. ~200 KB on disk; reading its text costs a parser seconds per form."""
    import zlib

    objects: dict[int, bytes] = {}
    first_form, first_page = 5, 5 + forms
    page_ids = [first_page + 2 * index for index in range(pages)]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()
    objects[3] = b"<< /Producer (Needle test pdf_factory, heavy forms) >>"
    objects[4] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    drawing = b"BT /F1 1 Tf " + b"(xo) Tj 0.01 0 Td " * operations + b"ET"
    packed = zlib.compress(drawing, 9)
    for number in range(first_form, first_form + forms):
        objects[number] = (
            (
                f"<< /Type /XObject /Subtype /Form /BBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}]"
                f" /Resources << /Font << /F1 4 0 R >> >> /Filter /FlateDecode"
                f" /Length {len(packed)} >>\nstream\n"
            ).encode()
            + packed
            + b"\nendstream"
        )
    names = " ".join(f"/X{n} {first_form + n} 0 R" for n in range(forms))
    shows = b" ".join(f"q /X{n} Do Q".encode() for n in range(forms))
    for page_id in page_ids:
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}]"
            f" /Contents {page_id + 1} 0 R /Resources << /XObject << {names} >> >> >>"
        ).encode()
        objects[page_id + 1] = _stream(shows)
    path.write_bytes(_serialize(objects))
    return path
