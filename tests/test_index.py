"""The chunk index as its users see it: what they search for, they find, with the right location."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import NeedleError, WriterLocked
from engine.ingest.chunk import chunk_document
from engine.ingest.extract import extract_file
from engine.models import Chunk, SearchFilters
from engine.search.index import ChunkIndex
from engine.search.schema import SCHEMA_FILE

JAN_2023 = datetime(2023, 1, 15).timestamp()
JUN_2024 = datetime(2024, 6, 15).timestamp()


def _chunk(doc_id: str, ordinal: int, text: str, **extra: object) -> Chunk:
    return Chunk(
        chunk_id=f"{doc_id}#{ordinal}",
        doc_id=doc_id,
        ordinal=ordinal,
        text=text,
        start=ordinal * 1000,
        end=ordinal * 1000 + len(text),
        tokens=len(text) // 4 + 1,
        content_hash=f"hash-{doc_id}-{ordinal}",
        **extra,  # type: ignore[arg-type]
    )


def _fill(index: ChunkIndex) -> None:
    index.add_document(
        "notes",
        "/home/me/notes/work/plan.md",
        "Project plan",
        [
            _chunk("notes", 0, "We are indexing the archive this week.", heading=("Plan", "Now")),
            _chunk("notes", 1, "The quarterly report is due on Friday. Draft first."),
            _chunk("notes", 2, "孙悟空大闹天宫，玉帝大惊。我用Python写了一个爬虫。"),
        ],
        extension="md",
        modified=JUN_2024,
        size=1200,
        kind="markdown",
    )
    index.add_document(
        "paper",
        "/home/me/papers/search.pdf",
        "Search engines",
        [
            _chunk("paper", 0, "Indexed documents are ranked by BM25.", page=1),
            _chunk("paper", 1, "A report on quarterly growth of inverted indexes.", page=2),
        ],
        extension="pdf",
        modified=JAN_2023,
        size=50_000,
        kind="pdf",
    )
    index.commit()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ChunkIndex:
    """One filled index shared by the tests that only read it."""
    opened = ChunkIndex.open(tmp_path_factory.mktemp("read") / "index", writable=True)
    _fill(opened)
    return opened


@pytest.fixture
def fresh(tmp_path: Path) -> ChunkIndex:
    """A filled index of its own, for tests that change it."""
    opened = ChunkIndex.open(tmp_path / "index", writable=True)
    _fill(opened)
    return opened


def _ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.chunk_id for hit in hits]


def test_english_stemming_finds_other_forms(index: ChunkIndex) -> None:
    assert set(_ids(index.search("indexing"))) == {"notes#0", "paper#0", "paper#1"}


def test_chinese_query_finds_chinese_text(index: ChunkIndex) -> None:
    assert _ids(index.search("大闹天宫")) == ["notes#2"]
    assert _ids(index.search("悟空")) == ["notes#2"]


def test_single_chinese_character_is_found(index: ChunkIndex) -> None:
    assert _ids(index.search("惊")) == ["notes#2"]  # the last character of a run
    assert _ids(index.search("帝")) == ["notes#2"]  # inside a run


def test_mixed_language_query(index: ChunkIndex) -> None:
    assert _ids(index.search("Python 爬虫")) == ["notes#2"]
    assert _ids(index.search("用Python写")) == ["notes#2"]
    assert _ids(index.search('"一个爬虫"')) == ["notes#2"]
    assert _ids(index.search('"我用Python"')) == ["notes#2"]
    assert _ids(index.search('"用Python写"')) == ["notes#2"]
    assert index.search('"写Python用"') == []


def test_phrase_requires_adjacent_words(index: ChunkIndex) -> None:
    assert _ids(index.search('"quarterly report"')) == ["notes#1"]
    assert _ids(index.search('"大闹天宫"')) == ["notes#2"]
    assert index.search('"天宫大闹"') == []


def test_exclusion_removes_chunks(index: ChunkIndex) -> None:
    assert _ids(index.search("quarterly -draft")) == ["paper#1"]


def test_all_terms_preferred_then_any_term(index: ChunkIndex) -> None:
    assert _ids(index.search("quarterly friday")) == ["notes#1"]
    # No chunk has both words: chunks with either still come back.
    assert set(_ids(index.search("friday growth"))) == {"notes#1", "paper#1"}


def test_filters_by_folder_extension_and_date(index: ChunkIndex) -> None:
    assert _ids(index.search("report ext:pdf")) == ["paper#1"]
    assert _ids(index.search("report in:work")) == ["notes#1"]
    assert _ids(index.search("report in:/home/me/papers")) == ["paper#1"]
    assert _ids(index.search("report after:2024-01-01")) == ["notes#1"]
    assert _ids(index.search("report before:2024")) == ["paper#1"]
    folder = SearchFilters(folders=("/home/me/notes/",))
    assert _ids(index.search("report", filters=folder)) == ["notes#1"]
    assert _ids(index.search("report", filters=SearchFilters(modified_before=JUN_2024))) == [
        "paper#1"
    ]


def test_filter_only_query_lists_matching_chunks(index: ChunkIndex) -> None:
    assert set(_ids(index.search("ext:pdf", limit=10))) == {"paper#0", "paper#1"}


def test_paging_and_huge_limits(index: ChunkIndex) -> None:
    everything = _ids(index.search("indexing", limit=1 << 40))
    assert len(everything) == 3
    assert _ids(index.search("indexing", limit=2, offset=1)) == everything[1:]
    assert index.search("indexing", offset=10) == []


def test_bad_filter_is_a_clear_error(index: ChunkIndex) -> None:
    with pytest.raises(NeedleError) as caught:
        index.search("report after:someday")
    assert caught.value.kind == "bad_query"
    assert "after:someday" in caught.value.message


def test_hits_carry_location_and_highlighted_snippet(index: ChunkIndex) -> None:
    [hit] = index.search("ranked")
    assert (hit.path, hit.page, hit.title, hit.extension) == (
        "/home/me/papers/search.pdf",
        1,
        "Search engines",
        "pdf",
    )
    assert [hit.snippet[h.start : h.end] for h in hit.snippet_highlights] == ["ranked"]
    [planned] = index.search("archive")
    assert planned.heading == ("Plan", "Now")
    assert planned.page is None
    assert planned.content_hash == "hash-notes-0"


def test_title_matches_rank(index: ChunkIndex) -> None:
    hits = index.search("engines")
    assert {hit.doc_id for hit in hits} == {"paper"}


def test_search_keywords_or_semantics_any_language(index: ChunkIndex) -> None:
    hits = index.search_keywords(["growth", "玉帝"])
    assert set(_ids(hits)) == {"paper#1", "notes#2"}


@given(st.lists(st.text(max_size=30), max_size=5))
@settings(max_examples=60, deadline=None)
def test_search_keywords_never_raises(index: ChunkIndex, words: list[str]) -> None:
    index.search_keywords(words)


@pytest.mark.parametrize(
    "odd",
    ['"unbalanced', "(AND OR NOT", "title:x [1 TO 2]", "a:b:c", "\\*?~^", "***", "天宫)", ""],
)
def test_odd_characters_are_just_text(index: ChunkIndex, odd: str) -> None:
    index.search_keywords([odd, "report"])
    index.search(odd)


@given(st.text(max_size=40))
@settings(max_examples=80, deadline=None)
def test_search_box_never_crashes(index: ChunkIndex, query: str) -> None:
    try:
        index.search(query)
    except NeedleError as error:
        assert error.kind == "bad_query"


def test_full_width_filter_is_still_a_filter(index: ChunkIndex) -> None:
    # Typed with a Chinese input method: full-width letters and colon, NFKC makes it ext:md.
    assert _ids(index.search("ranked ｅｘｔ：ｐｄｆ")) == ["paper#0"]
    assert index.search("ranked ｅｘｔ：ｍｄ") == []


def test_rename_keeps_chunk_ids_and_changes_path(fresh: ChunkIndex) -> None:
    moved = fresh.rename_document("paper", "/home/me/archive/old-search.PDF", "Old search")
    fresh.commit()
    assert moved == 2
    chunks = fresh.document_chunks("paper")
    assert _ids(chunks) == ["paper#0", "paper#1"]
    assert {c.path for c in chunks} == {"/home/me/archive/old-search.PDF"}
    assert chunks[0].page == 1 and chunks[0].title == "Old search"
    assert _ids(fresh.search("report in:archive")) == ["paper#1"]
    assert fresh.search("report in:papers") == []


def test_delete_removes_every_chunk(fresh: ChunkIndex) -> None:
    fresh.delete_document("notes")
    fresh.commit()
    assert fresh.document_chunks("notes") == []
    assert fresh.search("archive") == []
    assert fresh.stats().num_docs == 1


def test_adding_again_replaces_the_old_chunks(fresh: ChunkIndex) -> None:
    fresh.add_document(
        "paper",
        "/home/me/papers/search.pdf",
        "Search engines",
        [_chunk("paper", 0, "Entirely new content.", page=1)],
        extension="pdf",
        modified=JAN_2023,
        size=10,
        kind="pdf",
    )
    fresh.commit()
    assert _ids(fresh.document_chunks("paper")) == ["paper#0"]
    assert fresh.search("ranked") == []


def test_listing_helpers(index: ChunkIndex) -> None:
    assert _ids(index.get_chunks(["paper#1", "missing", "notes#0"])) == ["paper#1", "notes#0"]
    assert _ids(index.document_chunks("notes")) == ["notes#0", "notes#1", "notes#2"]
    scoped = index.scope_chunks(SearchFilters(folders=("/home/me",)))
    assert _ids(scoped) == ["notes#0", "notes#1", "notes#2", "paper#0", "paper#1"]
    assert _ids(index.scope_chunks(None, limit=2)) == ["notes#0", "notes#1"]
    assert index.count(SearchFilters(extensions=("pdf",))) == 2
    assert index.count() == 5
    assert index.doc_ids_for_path_prefix("/home/me/notes") == {"notes"}
    assert index.doc_ids_for_path_prefix("/home/me/papers/search.pdf") == {"paper"}
    stats = index.stats()
    assert (stats.num_chunks, stats.num_docs) == (5, 2)
    assert stats.size_bytes > 0


def test_reopen_persists_and_read_only_sees_commits(tmp_path: Path) -> None:
    writer = ChunkIndex.open(tmp_path / "index", writable=True)
    _fill(writer)
    writer.close()
    reader = ChunkIndex.open(tmp_path / "index", writable=False)
    assert _ids(reader.search("ranked")) == ["paper#0"]
    with pytest.raises(NeedleError) as caught:
        reader.delete_document("paper")
    assert caught.value.kind == "read_only"
    again = ChunkIndex.open(tmp_path / "index", writable=True)
    assert not again.rebuilt
    assert again.stats().num_chunks == 5


def test_read_only_open_of_missing_index_is_clear(tmp_path: Path) -> None:
    with pytest.raises(NeedleError) as caught:
        ChunkIndex.open(tmp_path / "nowhere", writable=False)
    assert caught.value.kind == "index_missing"
    assert caught.value.hint
    assert not (tmp_path / "nowhere").exists()


def test_schema_mismatch_rebuilds_the_index(tmp_path: Path) -> None:
    first = ChunkIndex.open(tmp_path / "index", writable=True)
    _fill(first)
    first.close()
    (tmp_path / "index" / SCHEMA_FILE).write_text('{"version": 0, "segmentation": "bigram"}')
    with pytest.raises(NeedleError) as caught:
        ChunkIndex.open(tmp_path / "index", writable=False)
    assert caught.value.kind == "index_outdated"
    rebuilt = ChunkIndex.open(tmp_path / "index", writable=True)
    assert rebuilt.rebuilt
    assert rebuilt.count() == 0


def test_unreadable_index_is_rebuilt_by_a_writer(tmp_path: Path) -> None:
    first = ChunkIndex.open(tmp_path / "index", writable=True)
    _fill(first)
    first.close()
    (tmp_path / "index" / "meta.json").write_text("{not json")
    with pytest.raises(NeedleError) as caught:
        ChunkIndex.open(tmp_path / "index", writable=False)
    assert caught.value.kind == "index_corrupt"
    again = ChunkIndex.open(tmp_path / "index", writable=True)
    assert again.rebuilt and again.count() == 0
    _fill(again)
    assert again.count() == 5


def test_read_only_open_and_search_write_nothing(tmp_path: Path) -> None:
    writer = ChunkIndex.open(tmp_path / "index", writable=True)
    _fill(writer)
    writer.close()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "index").iterdir()}
    reader = ChunkIndex.open(tmp_path / "index", writable=False)
    reader.search("report")
    reader.reload()
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "index").iterdir()}
    assert after == before


def test_changing_segmentation_rebuilds_and_jieba_works(tmp_path: Path) -> None:
    first = ChunkIndex.open(tmp_path / "index", writable=True, segmentation="bigram")
    _fill(first)
    first.close()
    jieba_index = ChunkIndex.open(tmp_path / "index", writable=True, segmentation="jieba")
    assert jieba_index.rebuilt
    _fill(jieba_index)
    assert _ids(jieba_index.search("爬虫")) == ["notes#2"]
    assert _ids(jieba_index.search("Python 爬虫")) == ["notes#2"]


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    first = ChunkIndex.open(tmp_path / "index", writable=True)
    _fill(first)
    second = ChunkIndex.open(tmp_path / "index", writable=True)
    with pytest.raises(WriterLocked) as caught:
        second.delete_document("notes")
    assert "Another process" in caught.value.message
    first.close()


@pytest.mark.corpus
def test_real_chinese_and_english_documents(corpora: Path, tmp_path: Path) -> None:
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    files = sorted((corpora / "weekly").glob("issue-1*.md"))[:15]
    files += sorted((corpora / "pg-essays").glob("*.txt"))[:10]
    for number, path in enumerate(files):
        document = extract_file(path, max_bytes=10_000_000)
        doc_id = f"d{number}"
        index.add_document(
            doc_id,
            str(path),
            document.title,
            chunk_document(doc_id, document),
            extension=path.suffix,
            modified=path.stat().st_mtime,
            size=path.stat().st_size,
            kind=document.kind,
        )
    index.commit()
    chinese = index.search("科技 周刊", limit=5)
    assert chinese and all("weekly" in hit.path for hit in chinese)
    assert all(hit.snippet_highlights for hit in chinese)
    english = index.search("startups", limit=5)
    assert english and all("pg-essays" in hit.path for hit in english)


def test_quoted_sentence_ranks_its_chunk_first(index: ChunkIndex) -> None:
    hits = index.search_keywords(["A report on quarterly growth", "report"])
    assert hits[0].chunk_id == "paper#1"
    chinese = index.search_keywords(["孙悟空大闹天宫"])
    assert chinese[0].chunk_id == "notes#2"


def test_empty_query_finds_nothing(index: ChunkIndex) -> None:
    assert index.search("") == []
    assert index.search("   ", filters=SearchFilters()) == []
    assert index.search_keywords([]) == []


def test_rename_can_update_file_metadata(fresh: ChunkIndex) -> None:
    fresh.rename_document("paper", "/home/me/papers/moved.pdf", "Moved", modified=JUN_2024)
    fresh.commit()
    assert set(_ids(fresh.search("report after:2024-06-01"))) == {"notes#1", "paper#1"}


def test_undecodable_characters_are_stored_replaced(fresh: ChunkIndex) -> None:
    text = "broken \udcff byte here"
    bad = _chunk("bad", 0, text)
    fresh.add_document(
        "bad", "/home/me/\udcfe.txt", "T", [bad], extension="txt", modified=0.0, size=1, kind="text"
    )
    fresh.commit()
    [hit] = fresh.search("broken")
    assert hit.text == "broken \ufffd byte here"
    assert [hit.text[h.start : h.end] for h in hit.highlights] == ["broken"]
    assert fresh.count(SearchFilters(paths=("/home/me/\udcfe.txt",))) == 1
    assert fresh.search_keywords(["\udcff broken"])[0].chunk_id == "bad#0"


def test_chinese_question_words_do_not_match(fresh: ChunkIndex) -> None:
    fresh.add_document(
        "chat",
        "/home/me/chat.txt",
        "Chat",
        [
            _chunk("chat", 0, "你说什么？什么什么？他到底问了什么。"),
            _chunk("chat", 1, "船长每天早上喝桂花乌龙茶。"),
        ],
        extension="txt",
        modified=0.0,
        size=10,
        kind="text",
    )
    fresh.commit()
    assert _ids(fresh.search_keywords(["船长早上喝什么茶"])) == ["chat#1"]


def _prefix_index(tmp_path: Path) -> ChunkIndex:
    opened = ChunkIndex.open(tmp_path / "index", writable=True)
    opened.add_document(
        "bread",
        "/home/me/notes/bread.md",
        "Baking",
        [
            _chunk("bread", 0, "Feed the sourdough starter twice a day."),
            _chunk("bread", 1, "Rye bread keeps for a week."),
        ],
        extension="md",
        modified=JUN_2024,
        size=100,
        kind="markdown",
    )
    opened.commit()
    return opened


def test_the_word_being_typed_matches_as_a_prefix(tmp_path: Path) -> None:
    index = _prefix_index(tmp_path)
    assert index.search("sourd") == []  # a finished word is a whole word
    hits = index.search("sourd", prefix=True)
    assert _ids(hits) == ["bread#0"]
    assert [hits[0].text[h.start : h.end] for h in hits[0].highlights] == ["sourdough"]
    assert _ids(index.search("starter sourd", prefix=True)) == ["bread#0"]
    # Only the last word is being typed: a finished first word is not a prefix.
    (hit,) = index.search("sour starter", prefix=True)
    assert [hit.text[h.start : h.end] for h in hit.highlights] == ["starter"]
    # A space after the word says it is finished.
    assert index.search("sourd ", prefix=True) == []


def test_search_counts_every_match_beyond_the_limit(index: ChunkIndex) -> None:
    page = index.search_counted("report", limit=1)
    assert len(page.hits) == 1
    assert page.total == 2
    assert index.search_counted("zebra", limit=5).total == 0


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("lease " * 1000, "bytes long"),  # a pasted document, not a search
        ("x" * 1_000_000, "bytes long"),  # took 57 s and 3.4 GB before the bound
        (" ".join(f"w{i}" for i in range(65)), "65 words"),
    ],
)
def test_an_oversized_search_is_a_bad_query_at_once(
    index: ChunkIndex, query: str, said: str
) -> None:
    with pytest.raises(NeedleError) as refused:
        index.search(query)
    assert refused.value.kind == "bad_query" and said in refused.value.message


def test_a_search_of_the_largest_allowed_size_still_runs(index: ChunkIndex) -> None:
    assert index.search(" ".join(["lease"] * 64)) is not None


def test_chinese_file_shows_its_own_punctuation_and_matches_either_form(tmp_path: Path) -> None:
    path = tmp_path / "年报.txt"
    path.write_text("公司概况\n\n本公司的收入，主要由软件授权（约六成）和服务构成。\n", "utf-8")
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    document = extract_file(path, max_bytes=1_000_000)
    index.add_document(
        "report",
        str(path),
        document.title,
        chunk_document("report", document),
        extension="txt",
        modified=JUN_2024,
        size=path.stat().st_size,
        kind=document.kind,
    )
    index.commit()
    for query in ("收入,主要由", "收入，主要由", "收入", "(约六成)"):
        hits = index.search(query)
        assert [hit.doc_id for hit in hits] == ["report"], query
        hit = hits[0]
        assert "收入，主要由软件授权（约六成）" in hit.text
        assert "收入，主要由" in hit.snippet
        marked = [hit.snippet[h.start : h.end] for h in hit.snippet_highlights]
        assert marked and all("," not in word and "(" not in word for word in marked), query
    hit = index.search("收入,主要由")[0]
    assert [hit.text[h.start : h.end] for h in hit.highlights] == ["收入", "主要由"]
    index.close()
