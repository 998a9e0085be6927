"""The question history (engine/library/threads.py): threads and turns kept in SQLite, found by
search, renamed, deleted, pruned; a crash in the middle of writing loses at most the turn being
written, never the file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ErrorKind, NeedleError
from engine.library.threads import SCHEMA_VERSION, ThreadStore
from engine.threads import ReadPassage, StoredCitation, Thread, TraceFilter, Turn

ROOT = Path(__file__).resolve().parents[1]


def a_turn(thread_id: str, question: str = "Where is the key?", **changes: object) -> Turn:
    base = Turn(
        thread_id=thread_id,
        position=0,
        question=question,
        answer="Under the mat [1].",
        level=1,
        model="qwen2.5:3b",
        found=True,
        grounded=True,
        citations=(
            StoredCitation(
                1, "c1", "/notes/home.md", "home", 2, "Keys", "The key is under the mat.", "h1"
            ),
        ),
        events=({"type": "level", "level": 1, "reason": "first"},),
        read=(ReadPassage("c1", "/notes/home.md", "The key is under the mat."),),
        prompt_tokens=900,
        completion_tokens=20,
        asked_at=time.time(),
    )
    return Turn.from_dict({**base.to_dict(), **changes})


@pytest.fixture
def store(tmp_path: Path) -> ThreadStore:
    opened = ThreadStore(tmp_path / "threads.sqlite3")
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_thread_keeps_its_turns_in_order_with_everything_they_were_made_of(
    store: ThreadStore,
) -> None:
    thread_id = store.new_thread("Where is the key?")
    first = store.add_turn(a_turn(thread_id))
    second = store.add_turn(
        a_turn(thread_id, "and the spare one?", rewritten="Where is the spare key?")
    )
    assert (first.position, second.position) == (1, 2)
    thread = store.thread(thread_id)
    assert isinstance(thread, Thread) and thread.title == "Where is the key?"
    assert [t.question for t in thread.turns] == ["Where is the key?", "and the spare one?"]
    assert thread.turns[1].asked == "Where is the spare key?"
    assert thread.turns[0].citations[0].quote == "The key is under the mat."
    assert thread.turns[0].read[0].text == "The key is under the mat."
    assert thread.turns[0].events[0]["type"] == "level"
    assert Thread.from_dict(thread.to_dict()) == thread


def test_the_file_is_private_and_versioned(tmp_path: Path, store: ThreadStore) -> None:
    store.add_turn(a_turn(store.new_thread("q")))
    mode = stat.S_IMODE(os.stat(tmp_path / "threads.sqlite3").st_mode)
    assert mode == 0o600
    import sqlite3

    with sqlite3.connect(tmp_path / "threads.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_history_from_a_newer_needle_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "threads.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(NeedleError) as raised:
        ThreadStore(path)
    assert raised.value.kind == ErrorKind.HISTORY_TOO_NEW


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(NeedleError) as raised:
        ThreadStore(path)
    assert raised.value.kind == ErrorKind.HISTORY_CORRUPT


def test_search_finds_names_questions_and_answers_newest_first(store: ThreadStore) -> None:
    old = store.new_thread("Keys", now=1000.0)
    store.add_turn(a_turn(old, asked_at=1000.0))
    new = store.new_thread("Garden", now=2000.0)
    store.add_turn(
        a_turn(new, "When do tomatoes go out?", answer="In May 50%_off [1].", asked_at=2000.0)
    )
    assert [s.thread_id for s in store.threads()] == [new, old]
    assert [s.thread_id for s in store.threads("tomatoes")] == [new]
    assert [s.thread_id for s in store.threads("UNDER THE")] == [old]  # in the answer, any case
    assert [s.thread_id for s in store.threads("50%_")] == [new]  # wildcards are literal
    assert store.threads("0%x") == []
    summary = store.threads("garden")[0]
    assert (summary.turns, summary.last_question) == (1, "When do tomatoes go out?")


def test_rename_delete_and_unknown_threads(store: ThreadStore) -> None:
    thread_id = store.new_thread("q")
    store.add_turn(a_turn(thread_id))
    store.rename(thread_id, "  My   keys ")
    assert store.thread(thread_id).title == "My keys"
    with pytest.raises(NeedleError) as empty:
        store.rename(thread_id, "   ")
    assert empty.value.kind == ErrorKind.INVALID_ARGUMENT
    store.delete(thread_id)
    for action in (
        lambda: store.thread(thread_id),
        lambda: store.delete(thread_id),
        lambda: store.rename(thread_id, "x"),
        lambda: store.add_turn(a_turn(thread_id)),
    ):
        with pytest.raises(NeedleError) as raised:
            action()
        assert raised.value.kind == ErrorKind.THREAD_UNKNOWN
    assert store.turns() == []  # the turns went with the thread


def test_prune_and_kept_and_trace_filters(store: ThreadStore) -> None:
    old = store.new_thread("old", now=100.0)
    store.add_turn(a_turn(old, asked_at=100.0, level=2, grounded=False))
    store._db.execute("UPDATE threads SET updated = 100 WHERE id = ?", (old,))
    new = store.new_thread("new")
    store.add_turn(a_turn(new, level=1))
    store.add_turn(a_turn(new, level=3))
    store.set_kept(new, [2])
    assert [t.kept for t in store.thread(new).turns] == [False, True]
    assert len(store.turns(TraceFilter(grounded_only=True))) == 2
    assert [t.level for t in store.turns(TraceFilter(level=3))] == [3]
    assert [t.thread_id for t in store.turns(TraceFilter(since=1000.0))] == [new, new]
    assert store.prune(older_than=1000.0) == 1
    assert [s.thread_id for s in store.threads()] == [new]


@settings(max_examples=30, deadline=None)
@given(
    question=st.text(min_size=1, max_size=200).filter(str.strip),
    answer=st.text(max_size=300),
    title=st.text(min_size=1, max_size=100).filter(str.strip),
)
def test_any_text_round_trips(
    tmp_path_factory: pytest.TempPathFactory, question: str, answer: str, title: str
) -> None:
    store = ThreadStore(tmp_path_factory.mktemp("h") / "threads.sqlite3")
    try:
        thread_id = store.new_thread(title)
        store.add_turn(a_turn(thread_id, question, answer=answer))
        (turn,) = store.thread(thread_id).turns
        assert (turn.question, turn.answer) == (question, answer)
        assert store.threads(question.strip()[:20])[0].thread_id == thread_id
    finally:
        store.close()


WRITER = """
import sys, time
from engine.library.threads import ThreadStore
from tests.test_threads import a_turn
store = ThreadStore(sys.argv[1])
thread_id = store.new_thread("crash")
print(thread_id, flush=True)
n = 0
while True:
    n += 1
    store.add_turn(a_turn(thread_id, f"question {n}", answer="x" * 5000))
"""


def test_a_process_killed_while_writing_leaves_a_sound_history(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    thread_id = writer.stdout.readline().strip()
    time.sleep(1.0)  # hundreds of turns are written by now, one is always half-way
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    store = ThreadStore(path)
    try:
        assert store.integrity() == "ok"
        turns = store.thread(thread_id).turns
        assert len(turns) > 5
        assert [t.position for t in turns] == list(range(1, len(turns) + 1))
        assert all(t.answer == "x" * 5000 and t.citations for t in turns)
        store.add_turn(a_turn(thread_id, "after the crash"))  # still writable
        assert store.thread(thread_id).turns[-1].question == "after the crash"
    finally:
        store.close()


def test_passages_are_stored_once_and_go_with_the_last_thread_that_read_them(
    store: ThreadStore,
) -> None:
    first = store.new_thread("a")
    store.add_turn(a_turn(first))
    store.add_turn(a_turn(first, "again?"))  # the same passage read again
    second = store.new_thread("b")
    store.add_turn(a_turn(second))
    (count,) = store._db.execute("SELECT COUNT(*) FROM passages").fetchone()
    assert count == 1
    store.delete(first)
    assert store.thread(second).turns[0].read[0].text == "The key is under the mat."
    store.delete(second)
    assert store._db.execute("SELECT COUNT(*) FROM passages").fetchone() == (0,)
    assert store._db.execute("SELECT COUNT(*) FROM turn_reads").fetchone() == (0,)


def test_a_version_1_history_is_migrated_with_its_passages(tmp_path: Path) -> None:
    import json
    import sqlite3

    from engine.library.threads import _SCHEMA_V1

    path = tmp_path / "threads.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA_V1)
        db.execute("INSERT INTO threads VALUES ('t1', 'Keys', 1.0, 2.0)")
        read = [ReadPassage("c1", "/notes/home.md", "The key is under the mat.", 4).to_dict()]
        db.execute(
            "INSERT INTO turns (thread_id, position, asked_at, question, answer, read) "
            "VALUES ('t1', 1, 1.0, 'Where is the key?', 'Under the mat.', ?)",
            (json.dumps(read),),
        )
        db.execute("PRAGMA user_version = 1")
    store = ThreadStore(path)
    try:
        (turn,) = store.thread("t1").turns
        assert turn.read == (ReadPassage("c1", "/notes/home.md", "The key is under the mat.", 4),)
        assert store._db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert store._db.execute("SELECT read FROM turns").fetchone() == ("[]",)
    finally:
        store.close()


def test_doctor_checks_the_history(tmp_path: Path) -> None:
    from engine.doctor import check_history

    path = tmp_path / "threads.sqlite3"
    assert check_history(path).status == "ok"  # nothing asked yet is not a problem
    store = ThreadStore(path)
    store.add_turn(a_turn(store.new_thread("q")))
    store.close()
    assert check_history(path).status == "ok"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    damaged = check_history(path)
    assert damaged.status == "fail" and "move" in damaged.hint.lower()
