"""The agent's building blocks on their own: JSON repair, packing, compression, citations and the
not-found signal."""

from __future__ import annotations

from engine.agent.answering import MarkerGate, says_not_found, strip_marker
from engine.agent.citations import cite_blocks, locate_quote, renumber_marks
from engine.agent.context import (
    compress_text,
    measure_compression,
    pack_context,
    rendered_tokens,
)
from engine.agent.jsonreply import boolean, extract_json_object, string_list
from engine.agent.keywords import chinese_keywords, english_keywords, is_chinese
from engine.models import SearchHit

# ---------------------------------------------------------------- JSON from weak models


def test_json_is_found_around_text_fences_and_python_quotes() -> None:
    assert extract_json_object('Sure!\n{"a": 1}\nHope that helps.') == {"a": 1}
    assert extract_json_object('```json\n{"a": [1, 2,],}\n```') == {"a": [1, 2]}
    assert extract_json_object("{'a': true, 'b': None}") == {"a": True, "b": None}
    assert extract_json_object("{'a': true, 'b': null}") == {"a": True, "b": None}
    assert extract_json_object('first {"x": "a } brace"} then') == {"x": "a } brace"}
    assert extract_json_object("no json here") is None
    assert extract_json_object("[1, 2]") is None


def test_the_malformed_reply_shapes_of_weak_models_are_repaired() -> None:
    """The five shapes a weak model writes that were lost before (a raw newline in a string,
    unquoted keys, a missing comma, a // comment, unescaped inner quotes), and a reply in
    full-width punctuation."""
    shapes = {
        '{"quotes": ["line one\nline two"], "verdict": "answers"}': {
            "quotes": ["line one\nline two"],
            "verdict": "answers",
        },
        '{quotes: ["a"], verdict: "no"}': {"quotes": ["a"], "verdict": "no"},
        '{"quotes": ["a"] "verdict": "no"}': {"quotes": ["a"], "verdict": "no"},
        '{"quotes": ["a"], // the sentence\n "verdict": "no"}': {"quotes": ["a"], "verdict": "no"},
        '{"answer": "He said "yes" then", "verdict": "answers"}': {
            "answer": 'He said "yes" then',
            "verdict": "answers",
        },
        "｛“quotes”：［“他说。”］，“verdict”：“answers”｝": {
            "quotes": ["他说。"],
            "verdict": "answers",
        },
    }
    for reply, expected in shapes.items():
        assert extract_json_object(reply) == expected, reply


def test_a_reply_cut_off_by_the_token_limit_keeps_its_finished_values() -> None:
    cut = '{"information": "when", "keywords_en": ["boiler", "serv'
    assert extract_json_object(cut) == {"information": "when", "keywords_en": ["boiler"]}


def test_fields_are_coerced_the_way_models_write_them() -> None:
    assert string_list("boiler, service；维修") == ["boiler", "service", "维修"]
    assert string_list(["a", "", "a", 3, None, True]) == ["a", "3"]
    assert string_list(None) == []
    assert boolean("yes") and not boolean("false") and boolean(None, default=True)


def test_question_words_fallback_drops_stopwords_in_both_languages() -> None:
    assert english_keywords("What did Ada Lovelace write about the Analytical Engine?") == [
        "ada",
        "lovelace",
        "write",
        "analytical",
        "engine",
    ]
    words = chinese_keywords("请问龙井茶的价格是多少？")
    assert "龙井茶" in words or "龙井" in words
    assert not {"的", "是", "请问", "多少"} & set(words)
    assert is_chinese("龙井茶多少钱？") and not is_chinese("What does 龙井 mean in English?")


# ---------------------------------------------------------------- packing


def hit(doc: str, ordinal: int, text: str, start: int | None = None) -> SearchHit:
    begin = ordinal * 1000 if start is None else start
    return SearchHit(
        chunk_id=f"{doc}-{ordinal}",
        doc_id=doc,
        path=f"/notes/{doc}.md",
        title=doc,
        score=1.0,
        text=text,
        snippet="",
        snippet_highlights=(),
        highlights=(),
        ordinal=ordinal,
        start=begin,
        end=begin + len(text),
    )


def sentences(n: int, topic: str) -> str:
    return " ".join(f"Sentence {i} talks about {topic} at length." for i in range(n))


def test_packing_merges_neighbours_orders_by_position_and_respects_the_budget() -> None:
    ranked = [
        hit("b", 4, "Bee four."),
        hit("a", 2, "Ay two."),
        hit("b", 3, "Bee three."),
        hit("a", 7, "Ay seven."),
        hit("c", 0, sentences(400, "filler")),  # far too big for the budget
        hit("b", 3, "Bee three."),  # duplicate
    ]
    packed = pack_context(ranked, 200)
    assert [b.chunk_ids for b in packed.blocks] == [("b-3", "b-4"), ("a-2",), ("a-7",)]
    assert [b.number for b in packed.blocks] == [1, 2, 3]
    assert packed.blocks[0].text == "Bee three.\nBee four."
    assert packed.tokens == rendered_tokens(packed.blocks) <= 200
    assert "c-0" in packed.dropped_ids


def test_packing_stops_at_the_budget_keeping_the_best_first() -> None:
    ranked = [hit("d", i, sentences(10, f"topic{i}")) for i in range(10)]
    packed = pack_context(ranked, 400)
    kept = [cid for block in packed.blocks for cid in block.chunk_ids]
    assert kept == [f"d-{i}" for i in range(len(kept))] and 0 < len(kept) < 10
    assert packed.tokens <= 400


def test_compression_keeps_a_sentence_written_in_full_width_letters() -> None:
    text = "公司成立于北京。总部后来迁往上海。２０２３年ＣＥＯ换人。员工约五百人。"
    kept = compress_text(text, ["CEO 2023"], keep_at_least=1)
    assert "２０２３年ＣＥＯ换人。" in kept and "员工约五百人" not in kept


def test_compression_fits_more_evidence_and_measures_it() -> None:
    ranked = [
        hit("d", i, sentences(12, "weather") + f" The boiler part {i} was replaced.")
        for i in range(0, 20, 2)
    ]
    words = ["boiler", "replaced"]
    compressed = compress_text(ranked[0].text, words)
    assert compressed.startswith("… The boiler part 0") or "boiler part 0" in compressed
    assert "weather" not in compressed
    report = measure_compression(ranked, words, 500, needle_ids=[h.chunk_id for h in ranked])
    assert report.compressed_chunks > report.plain_chunks
    assert report.compressed_needles > report.plain_needles
    assert report.compressed_tokens <= 500 and report.plain_tokens <= 500


# ---------------------------------------------------------------- citations


def test_marks_are_renumbered_by_first_use_in_all_written_forms() -> None:
    text, order = renumber_marks("A [3]. B [1, 3]. C【2】. D [7]. E [3][1].", {1, 2, 3})
    assert order == [3, 1, 2]
    assert text == "A [1]. B [2][1]. C[3]. D. E [1][2]."


def test_citations_point_at_the_chunk_with_the_evidence() -> None:
    blocks = pack_context([hit("a", 0, "Alpha fact."), hit("a", 1, "Beta fact here.")], 500).blocks
    cited = cite_blocks(
        "Beta [1].", blocks, lambda h: ((0, 4),) if h.text.startswith("Beta") else ()
    )
    (citation,) = cited.citations
    assert citation.chunk_id == "a-1" and citation.highlights == ((0, 4),)
    assert citation.path == "/notes/a.md" and citation.start == 1000


def test_quotes_are_located_despite_whitespace_case_and_quote_marks() -> None:
    text = "He said “hello   world”.\nThe  boiler was\nserviced in May. 奶奶的 自行车 丢了。"
    span = locate_quote(text, "the boiler was serviced in may.")
    assert span is not None and text[span[0] : span[1]] == "The  boiler was\nserviced in May."
    span = locate_quote(text, 'He said "hello world".')
    assert span is not None and text[span[0] : span[1]].startswith("He said")
    span = locate_quote(text, "奶奶的自行车丢了。")
    assert span is not None and text[span[0] : span[1]] == "奶奶的 自行车 丢了。"
    assert locate_quote(text, "The boiler exploded in June.") is None


def test_a_quote_in_either_punctuation_width_marks_the_files_own_characters() -> None:
    text = "年报。本公司的收入，主要由软件授权（约六成）构成。其他: 服务(四成)。"
    span = locate_quote(text, "本公司的收入,主要由软件授权(约六成)构成。")
    assert span is not None
    assert text[span[0] : span[1]] == "本公司的收入，主要由软件授权（约六成）构成。"
    span = locate_quote(text, "其他：服务（四成）。")
    assert span is not None and text[span[0] : span[1]] == "其他: 服务(四成)。"


# ---------------------------------------------------------------- the not-found signal


def test_not_found_marker_and_phrases() -> None:
    assert strip_marker("**NOT_FOUND**\nNo date given.") == ("No date given.", True)
    assert strip_marker("It was May [1].") == ("It was May [1].", False)
    assert says_not_found("NOT_FOUND\nThe notes do not say.")
    assert says_not_found("The documents do not mention the date.")
    assert says_not_found("文档中没有提到日期。")
    assert not says_not_found("The documents do not mention June, but May is given [1].")
    assert not says_not_found("It was serviced in May [2].")
    assert says_not_found("[1] [2][3]") and says_not_found("【1】。")


def test_marker_gate_swallows_a_marker_split_across_stream_pieces() -> None:
    shown: list[str] = []
    gate = MarkerGate(shown.append)
    for piece in ["NOT", "_FO", "UND\nNo ", "date."]:
        gate.feed(piece)
    gate.close()
    assert "".join(shown) == "No date."
    shown.clear()
    gate = MarkerGate(shown.append)
    for piece in ["No", "w it ", "works."]:
        gate.feed(piece)
    gate.close()
    assert "".join(shown) == "Now it works."
    shown.clear()
    gate = MarkerGate(shown.append)
    for piece in ["Not f", "ound:", " 文档没有日期。"]:
        gate.feed(piece)
    gate.close()
    assert "".join(shown) == "文档没有日期。"


def test_compression_keeps_the_passages_that_state_the_answer_whole() -> None:
    """Level 2 compresses by what its readers quoted, but never the chunks they quoted from: a
    paraphrased answer sentence sharing no word with the question must survive."""
    evidence = hit("a", 0, "The weather was grey. Mirela hid the key in the hollow oak. Tea.")
    other = hit("b", 0, "Boats need paint. The hollow oak is old. Nothing else happened here.")
    words = ["Where is the key?", "Mirela hid the key in the hollow oak."]
    packed = pack_context(
        [evidence, other], 500, compress_for=words, keep_whole=frozenset({evidence.chunk_id})
    )
    texts = {block.first.chunk_id: block.text for block in packed.blocks}
    assert texts[evidence.chunk_id] == evidence.text
    assert "hollow oak" in texts[other.chunk_id] and "Boats need paint" not in texts[other.chunk_id]
