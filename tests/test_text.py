"""Decoding file bytes and normalizing text: what a user sees is what gets indexed."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import NeedleError
from engine.ingest.text import decode_bytes, looks_binary, normalize

CHINESE = "这里记录过去一周，我看到的值得分享的东西。欢迎投稿，或推荐你自己的项目。"
WESTERN = "Résumé of a naïve café owner — déjà vu, “quoted”, 50 € and œuvre."


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"plain ASCII text\n", "utf-8"),
        (f"{CHINESE} and English".encode(), "utf-8"),
        (codecs.BOM_UTF8 + CHINESE.encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + CHINESE.encode("utf-16-be"), "utf-16"),
    ],
)
def test_unicode_encodings_decode_exactly(data: bytes, encoding: str) -> None:
    text, detected = decode_bytes(data)
    assert detected == encoding
    assert CHINESE in text or text == "plain ASCII text\n"
    assert "\ufeff" not in text  # the byte-order mark is not part of the text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised(encoding: str) -> None:
    original = "Meeting notes\r\nBudget: 1200 EUR, café, 会议\r\n" * 20
    assert decode_bytes(original.encode(encoding)) == (original, encoding)


def test_legacy_chinese_file_is_detected_as_gb18030() -> None:
    text, encoding = decode_bytes((CHINESE + "\n第二行 with ASCII 123").encode("gb18030"))
    assert encoding == "gb18030"
    assert text == CHINESE + "\n第二行 with ASCII 123"


def test_short_gb_text_is_still_chinese() -> None:
    assert decode_bytes("中文笔记".encode("gbk")) == ("中文笔记", "gb18030")


def test_traditional_chinese_big5_file_is_detected() -> None:
    traditional = "這是一個繁體中文的測試文件，包含常用的漢字與標點符號。\n第二段：臺北的天氣很好。"
    text, encoding = decode_bytes(traditional.encode("big5"))
    assert (text, encoding) == (traditional, "cp950")


@pytest.mark.parametrize(
    "western", [WESTERN, "Bücher für Straßen, Größe: groß", "Größe", "élève créée", "Ärger"]
)
def test_western_legacy_text_is_not_mistaken_for_chinese(western: str) -> None:
    # "üc", "ür", "öß" are valid GB18030 or Big5 byte pairs too: only the result tells.
    text, encoding = decode_bytes(western.encode("cp1252"))
    assert encoding == "cp1252"
    assert text == western


def test_bytes_undefined_in_cp1252_still_decode() -> None:
    # 0x81 and 0x8D have no cp1252 meaning; the file must still be readable, not rejected.
    text, encoding = decode_bytes(b"caf\xe9 \x81 menu \x8d")
    assert encoding == "latin-1"
    assert text.startswith("café")


def test_nul_bytes_mean_binary() -> None:
    with pytest.raises(NeedleError) as caught:
        decode_bytes(b"PK\x03\x04\x00\x00binary zip header" * 20, name="notes.txt")
    assert caught.value.kind == "not_text"
    assert "notes.txt" in caught.value.message
    assert caught.value.hint


def test_many_control_bytes_mean_binary() -> None:
    data = bytes(range(1, 32)) * 40 + b"a little text"
    assert looks_binary(data)
    with pytest.raises(NeedleError) as caught:
        decode_bytes(data)
    assert caught.value.kind == "not_text"


def test_terminal_log_with_escape_codes_is_still_text() -> None:
    log = b"\x1b[32mPASSED\x1b[0m test_one\n" * 50
    text, _ = decode_bytes(log)
    assert "PASSED" in text


def test_utf16_bom_in_front_of_binary_is_refused() -> None:
    with pytest.raises(NeedleError) as caught:
        decode_bytes(codecs.BOM_UTF16_LE + bytes(400))
    assert caught.value.kind == "not_text"


def test_empty_file_is_empty_text() -> None:
    assert decode_bytes(b"") == ("", "utf-8")


def test_ligatures_are_written_out_and_full_width_forms_kept() -> None:
    # Ligatures are the PDF's typesetting; full-width letters and digits are what the file says.
    assert normalize("ﬁle ﬂow ＡＢＣ１２３") == "file flow ＡＢＣ１２３"


def test_decomposed_accents_are_composed() -> None:
    assert normalize("cafe\u0301") == "café"


def test_line_breaks_become_lf_and_controls_go() -> None:
    assert normalize("one\r\ntwo\rthree\x0cfour\u2028five") == "one\ntwo\nthree\nfour\nfive"
    assert normalize("tab\tkept\x00\x07\x1b[0m\x7f\x9f") == "tab\tkept[0m"
    assert normalize("\ufeffstarts with a BOM") == "starts with a BOM"
    assert normalize("lone \ud835 surrogate") == "lone  surrogate"


def test_chinese_text_keeps_its_own_punctuation() -> None:
    assert normalize(CHINESE) == CHINESE
    written = "收入，主要由（一）：工资；……　全角空格"
    assert normalize(written) == written


# Text as files hold it: Latin, accented (composed), Chinese, full-width forms, ideographic space.
_SHOWN_ALPHABET = "abcXYZ019 .,;:!?-\t\néü中文收入主要由，。、！？：；（）「」…　ＡＢＣ１２３"


@given(st.text(alphabet=_SHOWN_ALPHABET), st.sampled_from(["\n", "\r\n", "\r"]))
def test_shown_text_is_the_files_text_but_for_line_endings(raw: str, newline: str) -> None:
    assert normalize(raw.replace("\n", newline)) == raw


@given(st.text())
def test_normalize_is_idempotent_and_leaves_no_control_characters(raw: str) -> None:
    once = normalize(raw)
    assert normalize(once) == once
    assert "\r" not in once
    assert all(c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in once)


@given(st.text() | st.text(alphabet="a\x00é中\n", max_size=50))
def test_utf8_bytes_always_round_trip(raw: str) -> None:
    data = raw.encode("utf-8", "surrogatepass")
    try:
        text, encoding = decode_bytes(data)
    except NeedleError as error:
        assert error.kind == "not_text"
        assert looks_binary(data)
        return
    if encoding.startswith("utf-16"):
        # NULs in every other byte: read as BOM-less UTF-16, which must then be exact.
        assert text.encode(encoding) == data
    elif not raw.startswith("\ufeff"):
        assert (text, encoding) == (raw, "utf-8")
