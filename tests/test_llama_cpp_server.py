"""OpenAIChatModel against a real third-party OpenAI-compatible server: llama-cpp-python's own
(`python -m llama_cpp.server`) with the 0.5B Qwen2.5 GGUF that
../shared/tools/ollama-compat/setup.sh assembles.

Slow and not part of `make test` (marked llama_server). Run them with

    .venv/bin/python -m pytest -m llama_server tests/test_llama_cpp_server.py

They start a server from the evaluation venv (NEEDLE_EVAL_HOME, default ~/.cache/needle-eval:
venv/bin/python with `llama-cpp-python[server]`, qwen2.5-coder-0.5b-instruct.gguf), or use one
already running at NEEDLE_LLAMA_SERVER_URL (its model alias in NEEDLE_LLAMA_SERVER_MODEL), and
skip when neither is there."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.llm.openai.chat import OpenAIChatModel
from engine.llm.openai.server import probe
from engine.llm.types import Message

pytestmark = [pytest.mark.llama_server, pytest.mark.slow]

EVAL_HOME = Path(os.environ.get("NEEDLE_EVAL_HOME", Path.home() / ".cache" / "needle-eval"))
PYTHON = EVAL_HOME / "venv" / "bin" / "python"
GGUF = EVAL_HOME / "qwen2.5-coder-0.5b-instruct.gguf"
ALIAS = "qwen2.5-coder-0.5b"


def _has_server_extra() -> bool:
    if not PYTHON.exists():
        return False
    check = subprocess.run(
        [str(PYTHON), "-c", "import llama_cpp.server.app"], capture_output=True, check=False
    )
    return check.returncode == 0


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    running = os.environ.get("NEEDLE_LLAMA_SERVER_URL")
    if running:
        yield running.rstrip("/"), os.environ.get("NEEDLE_LLAMA_SERVER_MODEL", ALIAS)
        return
    if not GGUF.exists() or not _has_server_extra():
        pytest.skip(f"no llama-cpp-python server or {GGUF.name} under {EVAL_HOME}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            str(PYTHON),
            "-m",
            "llama_cpp.server",
            "--model",
            str(GGUF),
            "--model_alias",
            ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "1",
            "--verbose",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while not probe(url, ALIAS).ready:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start on port {port}")
            time.sleep(0.5)
        yield url, ALIAS
    finally:
        process.terminate()
        process.wait(timeout=30)


def model_for(server: tuple[str, str], **kwargs: object) -> OpenAIChatModel:
    url, alias = server
    return OpenAIChatModel(url, alias, timeout=600.0, **kwargs)  # type: ignore[arg-type]


def test_the_probe_finds_the_model(server: tuple[str, str]) -> None:
    url, alias = server
    status = probe(url, alias)
    assert status.ready and alias in status.models
    missing = probe(url, "qwen2:72b")
    assert missing.state == "model_missing" and alias in missing.hint


def test_a_streamed_answer(server: tuple[str, str]) -> None:
    deltas: list[str] = []
    result = model_for(server).chat(
        [Message("user", "What is the capital of France? Answer with one word.")],
        on_delta=deltas.append,
        max_tokens=8,
    )
    assert "paris" in result.content.lower()
    assert "".join(deltas) == result.content
    assert result.prompt_tokens > 0 and result.done_reason in ("stop", "length")


def test_a_schema_falls_back_to_the_form_the_server_takes_and_holds(
    server: tuple[str, str],
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    model = model_for(server)
    result = model.chat(
        [Message("user", "Name the capital of France and its country as JSON.")],
        json_schema=schema,
        max_tokens=40,
    )
    assert model.structured_form == "json_object_schema"  # json_schema is refused with a 500
    assert set(json.loads(result.content)) == {"city", "country"}


def test_cancel_stops_a_long_reply(server: tuple[str, str]) -> None:
    token = CancelToken()
    threading.Timer(1.0, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        model_for(server).chat(
            [Message("user", "Count from 1 to 500, one number per line.")],
            max_tokens=2000,
            cancel=token,
        )
    assert time.monotonic() - started < 10.0


def test_a_single_model_server_answers_any_name_but_the_probe_names_its_own(
    server: tuple[str, str],
) -> None:
    # llama-cpp-python (like llama.cpp's llama-server) serves its one model whatever name a
    # request gives; Needle's check before a question is stricter on purpose, so calibration,
    # the verdict cache and the steps panel carry the model's real name.
    url, alias = server
    result = OpenAIChatModel(url, "qwen2:72b", retries=0).chat(
        [Message("user", "Say hi.")], max_tokens=2
    )
    assert result.content
    status = probe(url, "qwen2:72b")
    assert status.state == "model_missing" and f"model={alias}" in status.hint
