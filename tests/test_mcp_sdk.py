"""`needle mcp` driven by the official MCP SDK's client (`pip install mcp`, a dev extra only: the
app does not depend on it), the way Claude Desktop and Cherry Studio start it: a child process
on stdio. initialize → list_tools → search → ask with progress → a cancelled ask."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from engine.api import Engine
from tests.helpers.fake_ollama import FakeOllama, Reply, RuleResponder, wants_json

mcp = pytest.importorskip("mcp")
anyio = pytest.importorskip("anyio")
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
PARSED = {
    "information": "where the pressure valve is",
    "instruction": "",
    "keywords_en": ["pressure", "valve"],
    "keywords_zh": [],
    "multi_hop": False,
}
ANSWER = "The pressure valve is behind the boiler [1]."


@pytest.fixture
def library(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "valve.md").write_text("# Boiler\n\nThe pressure valve is behind the boiler.\n")
    (notes / "garden.md").write_text("# Garden\n\nThe courgettes are enormous this year.\n")
    with Engine.open(tmp_path / "home") as engine:
        engine.add_folder(notes)
        engine.index()
    return tmp_path / "home"


def server_parameters(home: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "engine", "--data-dir", str(home), "mcp"],
        env={**os.environ},
        cwd=str(REPO_ROOT),
    )


@pytest.mark.slow
def test_the_sdk_client_initializes_lists_tools_and_searches(library: Path, tmp_path: Path) -> None:
    async def session() -> None:
        with (tmp_path / "stderr.log").open("w") as errlog:
            async with (
                stdio_client(server_parameters(library), errlog=errlog) as (read, write),
                ClientSession(read, write) as client,
            ):
                started = await client.initialize()
                assert started.server_info.name == "needle"
                listed = await client.list_tools()
                assert [tool.name for tool in listed.tools] == [
                    "search",
                    "ask",
                    "get_chunks",
                    "status",
                ]
                # The SDK checks structuredContent against each tool's outputSchema.
                found = await client.call_tool("search", {"query": "courgettes", "limit": 3})
                assert not found.is_error
                assert found.structured_content is not None
                hit = found.structured_content["hits"][0]
                assert hit["path"].endswith("garden.md")
                chunks = await client.call_tool("get_chunks", {"ids": [hit["chunk_id"]]})
                assert chunks.structured_content is not None
                assert "enormous" in chunks.structured_content["chunks"][0]["text"]
                status = await client.call_tool("status", {})
                assert status.structured_content is not None
                assert status.structured_content["files"] == 2
                missing = await client.call_tool("get_chunks", {"ids": ["nope"]})
                assert missing.is_error
                await client.send_ping()

    anyio.run(session)


@pytest.mark.slow
def test_the_sdk_client_asks_with_progress_then_cancels_an_ask(
    library: Path, tmp_path: Path
) -> None:
    responder = RuleResponder(
        [
            (wants_json, Reply(PARSED)),
            (lambda request: True, Reply(ANSWER + " More detail." * 150)),
        ]
    )
    with FakeOllama(responder=responder) as ollama:
        with Engine.open(library) as engine:
            engine.update_settings({"ollama_host": ollama.url})
        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((value, total, message))

        async def session() -> None:
            with (tmp_path / "stderr.log").open("w") as errlog:
                async with (
                    stdio_client(server_parameters(library), errlog=errlog) as (read, write),
                    ClientSession(read, write) as client,
                ):
                    await client.initialize()
                    answered = await client.call_tool(
                        "ask",
                        {"question": "Where is the pressure valve?", "level": "1"},
                        progress_callback=on_progress,
                    )
                    assert not answered.is_error, answered.content
                    assert answered.structured_content is not None
                    assert answered.structured_content["answer"].startswith(ANSWER)
                    citation = answered.structured_content["citations"][0]
                    assert citation["path"].endswith("valve.md")
                    assert progress and [p[0] for p in progress] == sorted(p[0] for p in progress)
                    assert any((p[2] or "").startswith("Level 1") for p in progress)

                    # The same question, now streamed slowly; the user gives up on it.
                    ollama.token_delay = 0.02
                    before = len(progress)
                    with anyio.move_on_after(30):
                        async with anyio.create_task_group() as group:

                            async def ask() -> None:
                                await client.call_tool(
                                    "ask",
                                    {"question": "Where is the pressure valve?", "level": "1"},
                                    progress_callback=on_progress,
                                )
                                raise AssertionError("the cancelled ask came back")

                            group.start_soon(ask)
                            while not any(p[2] == "Writing the answer" for p in progress[before:]):
                                await anyio.sleep(0.05)
                            stopped_at = time.monotonic()
                            group.cancel_scope.cancel()  # the SDK sends notifications/cancelled
                    assert ollama.wait_for_disconnects(1, timeout=5)
                    assert time.monotonic() - stopped_at < 5
                    await client.send_ping()  # the server reads on
                    again = await client.call_tool("search", {"query": "valve"})
                    assert not again.is_error

        anyio.run(session)
        assert ollama.rejections == []
