"""Bytes to clean text: encoding detection and the one normalization every extractor applies.

Decoding order: a byte-order mark decides outright (UTF-16 without one is recognised by its
pattern of NUL bytes); then strict UTF-8 (by far the most common);
then GB18030 when the bytes look like Simplified Chinese, Big5 (cp950) when they look like
Traditional Chinese; then cp1252 (falling back to Latin-1, which
accepts every byte) so legacy Western files read sensibly instead of failing. Binary content is
refused before any of that, because decoding a binary as cp1252 "succeeds" and indexes garbage.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from engine.errors import ErrorKind, NeedleError

# C0 controls that never occur in real text (tab, LF, VT, FF, CR and ESC excluded: ESC shows up
# in terminal logs saved as .txt, which are still text). DEL is included.
_BINARY_CONTROL_BYTES = bytes(
    [*range(0x00, 0x09), 0x0E, 0x0F, *range(0x10, 0x1B), 0x1C, 0x1D, 0x1E, 0x1F, 0x7F]
)
# A file whose sample has more than this share of such bytes is binary, not text.
MAX_CONTROL_SHARE = 0.05
# Only the head of a file decides: enough to be sure, cheap on large files.
SNIFF_BYTES = 64 * 1024

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # must precede UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Legacy Chinese detection. Western cp1252 text often decodes as GB18030 or Big5 by accident
# (an accented letter and the byte after it form one double-byte character), so a decode that
# succeeds proves little; what the characters are decides.
# GB2312 rows real Simplified Chinese is made of: punctuation (0xA1-0xA3) and Hanzi (0xB0-0xF7);
# kana, Greek, Cyrillic, pinyin and box rows are left out.
_GB_CHINESE_LEADS = bytes([0xA1, 0xA2, 0xA3, *range(0xB0, 0xF8)])
# Big5 rows 0xA1-0xA3 hold punctuation and symbols, 0xA4-0xC6 the 5,401 frequent characters.
_BIG5_FREQUENT_LEADS = bytes(range(0xA1, 0xC7))
_HIGH_BYTES = bytes(range(0xA1, 0x100))
# Share of non-ASCII characters that must come from those rows.
MIN_CHINESE_SHARE = 0.9
# Misread Western text pairs an accented letter with the ASCII letter after it, so its trail
# bytes are below 0xA1. GB2312 characters all have trail bytes from 0xA1; about half of real
# Big5 text's do.
MIN_GB_HIGH_TRAIL_SHARE = 0.9
MIN_BIG5_HIGH_TRAIL_SHARE = 0.25
# In a text with only a few non-ASCII characters the shares above prove little. Chinese is
# written in runs of characters; misread Western text gives isolated ones ("Größe" reads as
# "Gr" + one Hanzi + "e"), so there the runs decide.
FEW_CHARACTERS = 8
MIN_CHINESE_RUN_LENGTH = 1.5

_ASCII_RUN_RE = re.compile(r"[\x00-\x7f]+")
_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")
_LINE_BREAKS_RE = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Every control character except tab and newline (C0, DEL, C1), the zero-width no-break space
# (a stray BOM), and lone surrogates (broken PDF text maps produce them; they
# cannot be encoded as UTF-8, so the index and the JSON protocol would choke on them).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ud800-\udfff]")
# The Latin and Armenian typographic ligatures (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ, ﬓ-ﬗ): the only compatibility
# characters the shown form folds.
_LIGATURE_RE = re.compile("[\ufb00-\ufb06\ufb13-\ufb17]")


def decode_bytes(data: bytes, *, name: str = "This file") -> tuple[str, str]:
    """Decode file bytes to text; returns (text, encoding name).

    Raises NeedleError("not_text") when the bytes are binary (NUL bytes or many control bytes).
    `name` is how error messages refer to the file."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data, encoding, name), encoding
    utf16 = _decode_if_bomless_utf16(data)
    if utf16 is not None:
        return utf16
    _refuse_binary(data, name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    chinese = _decode_if_chinese(data)
    if chinese is not None:
        return chinese, "gb18030"
    traditional = _decode_if_big5(data)
    if traditional is not None:
        return traditional, "cp950"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps every byte, so this cannot fail.
        return data.decode("latin-1"), "latin-1"


def normalize(text: str) -> str:
    """The shown form of extracted text (engine/textforms.py): the file's own characters in NFC
    (full-width "，" and "１" stay as written; matching folds them), Latin ligatures written out
    ("ﬁ" becomes "fi": a PDF's typesetting, not the author's spelling, and a model reading the
    passage copies "fi"), every line break style becomes LF, and control characters other than
    tab and LF are removed."""
    text = _LINE_BREAKS_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text)
    if not text.isascii():
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        text = _LIGATURE_RE.sub(_unligature, text)
    return text


def _unligature(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def looks_binary(data: bytes) -> bool:
    """True when `data` (without a BOM) has NUL bytes or a high share of control bytes."""
    sample = data[:SNIFF_BYTES]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _BINARY_CONTROL_BYTES))
    return controls / len(sample) > MAX_CONTROL_SHARE


def _refuse_binary(data: bytes, name: str) -> None:
    if looks_binary(data):
        raise NeedleError(
            ErrorKind.NOT_TEXT,
            f"{name} looks like binary data, not text (it contains NUL or control bytes).",
            "Rename it if it is not really a text file, or add it to the ignore patterns.",
        )


def _decode_with_bom(data: bytes, encoding: str, name: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise NeedleError(
            ErrorKind.NOT_TEXT,
            f"{name} starts with a {encoding.upper()} byte-order mark but is not valid "
            f"{encoding.upper()} text (bad bytes at offset {exc.start}).",
            "Re-save it from your editor as UTF-8.",
        ) from exc
    # After a UTF-16/32 decode NUL bytes are gone, so look for binary in the decoded text.
    head = text[:SNIFF_BYTES]
    controls = len(_CONTROL_RE.findall(head))
    if "\x00" in head or (head and controls / len(head) > MAX_CONTROL_SHARE):
        raise NeedleError(
            ErrorKind.NOT_TEXT,
            f"{name} looks like binary data, not text (it contains NUL or control characters).",
            "Rename it if it is not really a text file, or add it to the ignore patterns.",
        )
    return text


def _decode_if_bomless_utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 written without a byte-order mark: text that is mostly ASCII (Latin letters, digits,
    spaces, newlines) has a NUL in every other byte, on the odd side for little-endian and the
    even side for big-endian, and almost never on the other side."""
    sample = data[:SNIFF_BYTES]
    if len(sample) < 4 or len(data) % 2 or b"\x00" not in sample:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    for encoding, ascii_side, other_side in (
        ("utf-16-le", odd_nuls, even_nuls),
        ("utf-16-be", even_nuls, odd_nuls),
    ):
        if ascii_side >= 0.6 * half and other_side <= 0.02 * half:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            head = text[:SNIFF_BYTES]
            if len(_CONTROL_RE.findall(head)) <= MAX_CONTROL_SHARE * len(head):
                return text, encoding
    return None


def _decode_if_big5(data: bytes) -> str | None:
    """Traditional Chinese in Big5, as Windows writes it (cp950)."""
    return _decode_as_chinese(data, "cp950", _BIG5_FREQUENT_LEADS, MIN_BIG5_HIGH_TRAIL_SHARE)


def _decode_if_chinese(data: bytes) -> str | None:
    """Simplified Chinese in GB2312/GBK/GB18030."""
    return _decode_as_chinese(data, "gb18030", _GB_CHINESE_LEADS, MIN_GB_HIGH_TRAIL_SHARE)


def _decode_as_chinese(
    data: bytes, codec: str, chinese_leads: bytes, min_high_trails: float
) -> str | None:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    non_ascii = _ASCII_RUN_RE.sub("", text)
    if not non_ascii:
        return None
    if len(non_ascii) < FEW_CHARACTERS:
        runs = len(_NON_ASCII_RUN_RE.findall(text))
        if len(non_ascii) / runs < MIN_CHINESE_RUN_LENGTH:
            return None
    # Re-encoded in the two-byte form (GB18030's four-byte characters are not Chinese text's),
    # every character is a lead byte and a trail byte.
    double_byte_codec = "gbk" if codec == "gb18030" else codec
    # GBK alone among them writes the euro sign as one byte, which would shift every pair after.
    encoded = non_ascii.replace("\u20ac", "").encode(double_byte_codec, errors="ignore")
    leads, trails = encoded[0::2], encoded[1::2]
    chinese = len(leads) - len(leads.translate(None, chinese_leads))
    high_trails = len(trails) - len(trails.translate(None, _HIGH_BYTES))
    if chinese < MIN_CHINESE_SHARE * len(non_ascii):
        return None
    return text if high_trails >= min_high_trails * len(non_ascii) else None
