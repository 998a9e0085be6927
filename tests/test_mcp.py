"""`needle mcp`: the MCP server, driven as a child process by a client written from the spec (one
JSON-RPC message per line) and by the official `mcp` SDK's client, against a small real library
and a fake Ollama. What an assistant's user would notice: the answers, the progress, that a
cancelled question stops, that nothing outside the watched folders comes back, and that the
server never dies of a bad line."""

from __future__ import annotations

import io
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import Engine
from engine.mcp.server import LATEST_PROTOCOL_VERSION, McpServer
from engine.mcp.tools import TOOLS
from tests.helpers.fake_ollama import FakeOllama, Reply, RuleResponder, wants_json

REPO_ROOT = Path(__file__).resolve().parents[1]
CLOSED_OLLAMA = "http://127.0.0.1:9"  # the discard port: nothing answers there

PARSED = {
    "information": "where the pressure valve is",
    "instruction": "",
    "keywords_en": ["pressure", "valve"],
    "keywords_zh": ["阀门"],
    "multi_hop": False,
}
ANSWER = "The pressure valve is behind the boiler [1]."


# ----------------------------------------------------------------------------------------------
# A library, and a client written from the spec


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A data dir with two indexed folders: notes/ (watched) and old/ (indexed, then dropped
    from the settings the way the app drops a folder before it cleans the index)."""
    notes, old = tmp_path / "notes", tmp_path / "old"
    notes.mkdir()
    old.mkdir()
    (notes / "valve.md").write_text("# Boiler\n\nThe pressure valve is behind the boiler.\n")
    (notes / "garden.md").write_text("# Garden\n\nThe courgettes are enormous this year.\n")
    (old / "diary.md").write_text("# Diary\n\nMy secret pressure valve diary entry.\n")
    home = tmp_path / "home"
    with Engine.open(home) as engine:
        engine.add_folder(notes)
        engine.add_folder(old)
        engine.index()
        engine.update_settings({"ollama_host": CLOSED_OLLAMA})
        settings_file = engine.paths.settings_file
    data = json.loads(settings_file.read_text("utf-8"))
    data["folders"] = [str(notes.resolve())]
    settings_file.write_text(json.dumps(data), "utf-8")
    return home


def set_settings(home: Path, **changes: Any) -> None:
    settings_file = next(home.rglob("settings.json"))
    data = json.loads(settings_file.read_text("utf-8"))
    data.update(changes)
    tmp = settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), "utf-8")
    os.replace(tmp, settings_file)  # as the app saves: atomically


class McpProcess:
    """`python -m engine --data-dir HOME mcp`, spoken to line by line. A reader thread keeps
    every line it writes; each must be one JSON-RPC 2.0 message."""

    def __init__(self, home: Path, stderr: Path) -> None:
        self._stderr_path = stderr
        self._stderr = stderr.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "--data-dir", str(home), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO_ROOT,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            assert message["jsonrpc"] == "2.0", message
            self.lines.put(message)

    def write(self, line: bytes | str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line if isinstance(line, bytes) else line.encode())
        self.process.stdin.write(b"\n")
        self.process.stdin.flush()

    def send(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> int:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, **extra}
        if params is not None:
            message["params"] = params
        self.write(json.dumps(message))
        return self._next_id

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.write(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}))

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        for message in self.seen:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                stderr = self._stderr_path.read_text("utf-8", "replace")[-3000:]
                raise AssertionError(f"no such line in time; seen {self.seen}\n{stderr}") from None
            self.seen.append(message)
            if predicate(message):
                return message

    def answer(self, request_id: int | str | None, timeout: float = 30) -> dict[str, Any]:
        return self.wait_for(
            lambda m: m.get("id") == request_id and ("result" in m or "error" in m), timeout
        )

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self.answer(self.send(method, params))
        assert "result" in reply, reply
        result: dict[str, Any] = reply["result"]
        return result

    def tool(self, name: str, **arguments: Any) -> dict[str, Any]:
        return self.call("tools/call", {"name": name, "arguments": arguments})

    def initialize(self, version: str = LATEST_PROTOCOL_VERSION) -> dict[str, Any]:
        result = self.call(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "test"}},
        )
        self.notify("notifications/initialized", {})
        return result

    def close(self) -> int:
        """Close stdin, as a client ends the session; the exit code."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            return self.process.wait(timeout=20)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


@pytest.fixture
def mcp(library: Path, tmp_path: Path) -> Iterator[McpProcess]:
    server = McpProcess(library, tmp_path / "mcp-stderr.log")
    try:
        yield server
    finally:
        server.kill()


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"] if block["type"] == "text")


# ----------------------------------------------------------------------------------------------
# Lifecycle and protocol errors


def test_initialize_answers_the_clients_version_or_the_latest(mcp: McpProcess) -> None:
    result = mcp.initialize("2025-06-18")
    assert result["protocolVersion"] == "2025-06-18"
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["serverInfo"]["name"] == "needle"
    assert "notes" in result["instructions"]
    future = mcp.call("initialize", {"protocolVersion": "2099-01-01", "capabilities": {}})
    assert future["protocolVersion"] == LATEST_PROTOCOL_VERSION
    assert mcp.close() == 0


def test_ping_works_at_once_and_tools_wait_for_initialize(mcp: McpProcess) -> None:
    assert mcp.call("ping") == {}
    early = mcp.answer(mcp.send("tools/list"))
    assert early["error"]["code"] == -32600 and "initialize" in early["error"]["message"]
    mcp.initialize()
    names = [tool["name"] for tool in mcp.call("tools/list")["tools"]]
    assert names == ["search", "ask", "get_chunks", "status"]


def test_tools_list_describes_every_tool_with_valid_json_schemas(mcp: McpProcess) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    mcp.initialize()
    for tool in mcp.call("tools/list")["tools"]:
        assert tool["description"] and tool["inputSchema"]["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
        jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])
    old = mcp.call("initialize", {"protocolVersion": "2025-03-26", "capabilities": {}})
    assert old["protocolVersion"] == "2025-03-26"
    # Before 2025-06-18 there were no output schemas and no structured results.
    assert all("outputSchema" not in t for t in mcp.call("tools/list")["tools"])
    result = mcp.tool("search", query="courgettes")
    assert "structuredContent" not in result and "courgettes" in text_of(result)


def test_protocol_errors_have_their_json_rpc_codes_and_the_server_reads_on(
    mcp: McpProcess,
) -> None:
    mcp.initialize()
    mcp.write("this is not json")
    assert mcp.answer(None)["error"]["code"] == -32700
    mcp.seen.clear()
    mcp.write(b"\xff\xfe not utf-8")
    assert mcp.answer(None)["error"]["code"] == -32700
    mcp.seen.clear()
    mcp.write(json.dumps([{"jsonrpc": "2.0", "id": 90, "method": "ping"}]))
    assert mcp.answer(None)["error"]["code"] == -32600  # batches are not part of MCP any more
    mcp.write(json.dumps({"id": 91, "method": "ping"}))  # no "jsonrpc": "2.0"
    assert mcp.answer(91)["error"]["code"] == -32600
    assert mcp.answer(mcp.send("resources/list"))["error"]["code"] == -32601
    assert mcp.answer(mcp.send("tools/call", {"name": "delete_everything"}))["error"] == {
        "code": -32602,
        "message": "Unknown tool 'delete_everything'. Tools: search, ask, get_chunks, status.",
    }
    bad_arguments = mcp.send("tools/call", {"name": "search", "arguments": ["courgettes"]})
    assert mcp.answer(bad_arguments)["error"]["code"] == -32602
    assert mcp.answer(mcp.send("tools/call", {"arguments": {}}))["error"]["code"] == -32602
    mcp.seen.clear()
    mcp.notify("notifications/unknown", {})  # a notification gets no answer, even unknown
    string_id = "ping-π"
    mcp.write(json.dumps({"jsonrpc": "2.0", "id": string_id, "method": "ping"}))
    assert mcp.answer(string_id)["result"] == {}
    assert mcp.seen == [{"jsonrpc": "2.0", "id": string_id, "result": {}}]


def test_bad_tool_arguments_are_tool_errors_the_model_can_read(mcp: McpProcess) -> None:
    mcp.initialize()
    cases = [
        ({"query": ""}, "'query' must be a non-empty string"),
        ({"query": "valve", "limit": 0}, "'limit' must be a whole number from 1 to 50"),
        ({"query": "valve", "colour": "red"}, "unknown argument 'colour'"),
        ({"query": "valve", "filters": {"modified_after": "last week"}}, "must be a date"),
        ({"query": "valve", "filters": {"paths": ["notes"]}}, "not an absolute path"),
    ]
    for arguments, problem in cases:
        result = mcp.tool("search", **arguments)
        assert result["isError"] is True, arguments
        assert problem in text_of(result)
        assert result["_meta"]["needle/errorKind"] == "invalid_argument"


# ----------------------------------------------------------------------------------------------
# The tools


def test_search_returns_passages_with_path_page_and_snippet(mcp: McpProcess, library: Path) -> None:
    mcp.initialize()
    result = mcp.tool("search", query="pressure valve", limit=5)
    assert "isError" not in result
    hits = result["structuredContent"]["hits"]
    assert [Path(hit["path"]).name for hit in hits] == ["valve.md"]
    assert hits[0]["page"] is None and "behind the boiler" in hits[0]["snippet"]
    assert "valve.md" in text_of(result) and hits[0]["chunk_id"] in text_of(result)
    only_pdf = mcp.tool("search", query="valve", filters={"extensions": ["pdf"]})
    assert only_pdf["structuredContent"]["hits"] == []
    assert "No passage matches" in text_of(only_pdf)
    garden = str(library.parent / "notes" / "garden.md")
    in_garden = mcp.tool("search", query="courgettes OR valve", filters={"paths": [garden]})
    assert [h["path"] for h in in_garden["structuredContent"]["hits"]] == [garden]


def test_nothing_from_outside_the_watched_folders_comes_back(
    mcp: McpProcess, library: Path
) -> None:
    """old/ is still in the index (the app dropped it from the settings and has not cleaned the
    index yet): no tool may show its text or its paths."""
    with Engine.open(library, writer=False) as reader:
        stale = reader.search("secret diary").hits  # unrestricted: it is still in the index
        assert stale and "old" in stale[0].path
    mcp.initialize()
    result = mcp.tool("search", query="secret diary pressure valve")
    paths = [hit["path"] for hit in result["structuredContent"]["hits"]]
    assert paths and all("/notes/" in path for path in paths)
    assert "entry" not in json.dumps(result) and "diary.md" not in json.dumps(result)

    chunk = mcp.tool("get_chunks", ids=[stale[0].chunk_id])
    assert chunk["isError"] is True and "entry" not in json.dumps(chunk)
    assert "no indexed passage in the watched folders" in text_of(chunk)

    old = str(library.parent / "old")
    refused = mcp.tool("search", query="diary", filters={"paths": [old]})
    assert refused["isError"] is True and "not inside any indexed folder" in text_of(refused)
    assert str(library.parent / "notes") in text_of(refused)  # where it may search instead
    asked = mcp.tool("ask", question="What is in my diary?", scope="/etc")
    assert asked["isError"] is True and asked["_meta"]["needle/errorKind"] == "scope_missing"


def test_get_chunks_gives_the_whole_passage_and_refuses_unknown_ids(mcp: McpProcess) -> None:
    mcp.initialize()
    hit = mcp.tool("search", query="courgettes")["structuredContent"]["hits"][0]
    chunks = mcp.tool("get_chunks", ids=[hit["chunk_id"]])["structuredContent"]["chunks"]
    assert chunks[0]["text"].strip().endswith("The courgettes are enormous this year.")
    unknown = mcp.tool("get_chunks", ids=[hit["chunk_id"], "no-such-chunk"])
    assert unknown["isError"] is True and "'no-such-chunk'" in text_of(unknown)
    assert mcp.tool("get_chunks", ids=[])["isError"] is True


def test_status_lists_the_watched_folders_and_says_who_keeps_the_index_current(
    mcp: McpProcess, library: Path
) -> None:
    mcp.initialize()
    status = mcp.tool("status")["structuredContent"]
    assert [Path(f["path"]).name for f in status["folders"]] == ["notes"]
    assert status["files"] == 2 and status["kept_current"] is False
    assert "No Needle process is keeping the index current" in status["freshness"]
    with Engine.open(library, writer=True, holder="app"):
        busy = mcp.tool("status")
        assert busy["structuredContent"]["kept_current"] is True
        assert "keeps the index current" in text_of(busy)


def test_the_server_runs_beside_the_app_and_sees_what_it_indexes(
    mcp: McpProcess, library: Path
) -> None:
    """The app holds the writer while the MCP server runs; a folder it adds and indexes is
    searchable over MCP without a restart (the reader follows the saved settings)."""
    mcp.initialize()
    assert mcp.tool("search", query="tomatoes")["structuredContent"]["hits"] == []
    recipes = library.parent / "recipes"
    recipes.mkdir()
    (recipes / "soup.md").write_text("# Soup\n\nRoast the tomatoes first.\n")
    with Engine.open(library, writer=True, holder="app") as app:
        app.add_folder(recipes)
        app.index()
        hits = mcp.tool("search", query="tomatoes")["structuredContent"]["hits"]
        assert [Path(hit["path"]).name for hit in hits] == ["soup.md"]
        assert len(mcp.tool("status")["structuredContent"]["folders"]) == 2


@pytest.mark.slow
def test_ask_answers_with_citations_and_reports_progress(mcp: McpProcess, library: Path) -> None:
    responder = RuleResponder([(wants_json, Reply(PARSED)), (lambda request: True, Reply(ANSWER))])
    with FakeOllama(responder=responder) as ollama:
        set_settings(library, ollama_host=ollama.url)
        mcp.initialize()
        ask_id = mcp.send(
            "tools/call",
            {
                "name": "ask",
                "arguments": {"question": "Where is the pressure valve?", "level": "1"},
                "_meta": {"progressToken": "ask-1"},
            },
        )
        reply = mcp.answer(ask_id)
        assert ollama.rejections == []
    result = reply["result"]
    answer = result["structuredContent"]
    assert answer["answer"] == ANSWER and answer["found"] is True
    assert Path(answer["citations"][0]["path"]).name == "valve.md"
    assert text_of(result).startswith(ANSWER) and "Sources:" in text_of(result)
    progress = [m["params"] for m in mcp.seen if m.get("method") == "notifications/progress"]
    assert progress and all(p["progressToken"] == "ask-1" for p in progress)
    values = [p["progress"] for p in progress]
    assert values == sorted(set(values)), "progress must grow with every notification"
    assert any(p["message"].startswith("Level 1") for p in progress)
    assert mcp.seen.index(reply) > max(mcp.seen.index(m) for m in mcp.seen if "method" in m)
    # The assistant's questions are its own conversation: the user's history stays as it was.
    with Engine.open(library, writer=False) as engine:
        assert engine.threads() == []


@pytest.mark.slow
def test_a_cancelled_ask_stops_reading_and_gets_no_answer(mcp: McpProcess, library: Path) -> None:
    long_answer = Reply("The pressure valve is behind the boiler [1]. " + "More detail. " * 200)
    responder = RuleResponder([(wants_json, Reply(PARSED)), (lambda request: True, long_answer)])
    with FakeOllama(responder=responder, token_delay=0.02) as ollama:
        set_settings(library, ollama_host=ollama.url)
        mcp.initialize()
        ask_id = mcp.send(
            "tools/call",
            {
                "name": "ask",
                "arguments": {"question": "Where is the pressure valve?", "level": "1"},
                "_meta": {"progressToken": 7},
            },
        )
        mcp.wait_for(
            lambda m: (
                m.get("method") == "notifications/progress"
                and m["params"]["message"] == "Writing the answer"
            )
        )
        duplicate = json.dumps(
            {"jsonrpc": "2.0", "id": ask_id, "method": "tools/call", "params": {"name": "status"}}
        )
        mcp.write(duplicate)  # the same id while the ask runs
        refused = mcp.wait_for(lambda m: m.get("id") == ask_id)
        assert (
            refused["error"]["code"] == -32600 and "already running" in refused["error"]["message"]
        )
        started = time.monotonic()
        mcp.notify("notifications/cancelled", {"requestId": ask_id, "reason": "user stopped"})
        assert ollama.wait_for_disconnects(1, timeout=5), "the model call itself was abandoned"
        assert time.monotonic() - started < 3
        assert mcp.call("ping") == {}  # the server reads on
        time.sleep(0.3)
        assert mcp.call("ping") == {}
        assert [m for m in mcp.seen if m.get("id") == ask_id] == [refused], "no answer to a cancel"
        seen = len(mcp.seen)
        assert mcp.tool("search", query="valve")["structuredContent"]["hits"]
        late = [m for m in mcp.seen[seen:] if m.get("method") == "notifications/progress"]
        assert late == [], "no progress after the cancel"
        # Cancelling what already finished is a no-op.
        mcp.notify("notifications/cancelled", {"requestId": ask_id})
        assert mcp.call("ping") == {}
    assert mcp.close() == 0


def test_a_library_that_cannot_open_answers_with_the_reason_until_it_is_fixed(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Engine.open(home) as engine:
        settings_file = engine.paths.settings_file
    settings_file.write_text("{ not json", "utf-8")
    server = McpProcess(home, tmp_path / "stderr.log")
    try:
        server.initialize()
        result = server.tool("status")
        assert result["isError"] is True
        assert result["_meta"]["needle/errorKind"] == "settings_corrupt"
        assert "needle settings --reset" in text_of(result)
        settings_file.write_text("{}", "utf-8")  # the user fixed it (or ran the reset)
        assert server.tool("status")["structuredContent"]["folders"] == []
    finally:
        server.kill()


def test_stdout_carries_nothing_but_protocol_lines(mcp: McpProcess, tmp_path: Path) -> None:
    mcp.initialize()
    mcp.tool("search", query="valve")
    assert mcp.close() == 0
    assert mcp.lines.empty()  # the reader parsed every line as JSON-RPC 2.0 (it asserts so)
    assert "needle mcp" in (tmp_path / "mcp-stderr.log").read_text("utf-8")


# ----------------------------------------------------------------------------------------------
# Arbitrary input never kills the server


class Lines(io.RawIOBase):
    """What the server wrote, as parsed messages."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.lock = threading.Lock()

    def write(self, data: Any) -> int:
        with self.lock:
            self.buffer += bytes(data)
        return len(data)

    def flush(self) -> None:
        pass

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            data = bytes(self.buffer)
        # Split where MCP clients split: at "\n" only (a U+2028 or U+0085 inside a string is text).
        return [json.loads(line) for line in data.split(b"\n") if line]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans()),
        "method": st.sampled_from(
            ["initialize", "ping", "tools/list", "tools/call", "notifications/cancelled", "x"]
        )
        | st.text(max_size=8),
        "params": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"name": st.sampled_from([*TOOLS, "nope"])},
                optional={
                    "arguments": st.dictionaries(
                        st.sampled_from(["query", "question", "ids", "limit", "filters", "scope"]),
                        json_values,
                        max_size=3,
                    ),
                    "_meta": st.dictionaries(st.just("progressToken"), json_values),
                    "protocolVersion": json_values,
                    "requestId": json_values,
                },
            ),
        ),
    },
)
lines = st.one_of(
    messages.map(json.dumps), json_values.map(json.dumps), st.text(), st.binary()
).filter(lambda line: "\n" not in str(line) and b"\n" not in str(line).encode())


@pytest.fixture(scope="module")
def fuzz_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    notes = root / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\nThe pressure valve is behind the boiler.\n")
    with Engine.open(root / "home") as writer:
        writer.add_folder(notes)
        writer.index()
        writer.update_settings({"ollama_host": CLOSED_OLLAMA})
    return root / "home"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=lines)
def test_arbitrary_lines_never_kill_the_server(fuzz_library: Path, line: str | bytes) -> None:
    output = Lines()
    server = McpServer(
        lambda: Engine.open(fuzz_library, writer=False), output, progress_interval=0.0
    )
    try:
        server.handle_line(
            '{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"x"}}'
        )
        server.handle_line(line)
        server.handle_line('{"jsonrpc":"2.0","id":"after","method":"ping"}')
        deadline = time.monotonic() + 10
        while not any(m.get("id") == "after" for m in output.messages()):
            assert time.monotonic() < deadline, output.messages()
            time.sleep(0.01)
    finally:
        server.close()  # waits for a tool call the line started, then closes the engine
    for message in output.messages():
        assert message["jsonrpc"] == "2.0"
        assert ("result" in message) != ("error" in message) or "method" in message
        if "error" in message:
            assert message["error"]["code"] in (-32700, -32600, -32601, -32602), message
