"""What an assistant's user waits for with `needle mcp`: start-up and search round trips.

    .venv/bin/python bench/mcp_bench.py --data-dir HOME [--spawns 10] [--rounds 5]

HOME is a library that is already indexed (`needle --data-dir HOME folders add DIR` and
`needle --data-dir HOME index`). It measures, speaking MCP over the child's stdin/stdout as
Claude Desktop does:
- spawn → `initialize` answered (ms), over --spawns fresh processes (median and worst);
- the first `tools/call search` after that (a cold index searcher);
- `tools/call search` round trips (limit 10) over a fixed set of English queries, --rounds times
  each, as median and p95; and the server's own search time for the same queries, so the
  protocol's share is visible.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUERIES = (
    "python",
    "git rebase",
    "postgres index",
    "docker compose volumes",
    "sqlite full text search",
    "rust lifetimes",
    '"pull request"',
    "bash loop over files",
    "javascript async await",
    "kubernetes",
)


class Client:
    """A minimal MCP client over a child process's pipes."""

    def __init__(self, data_dir: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "--data-dir", data_dir, "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        self.next_id = 0

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()
        while True:
            reply = json.loads(self.process.stdout.readline())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                result: dict[str, Any] = reply["result"]
                return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def initialize(client: Client) -> None:
    client.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}})


def search(client: Client, query: str) -> dict[str, Any]:
    result = client.call(
        "tools/call", {"name": "search", "arguments": {"query": query, "limit": 10}}
    )
    assert not result.get("isError"), result
    return result


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--spawns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    starts, firsts = [], []
    for _ in range(args.spawns):
        started = time.perf_counter()
        client = Client(args.data_dir)
        initialize(client)
        starts.append(time.perf_counter() - started)
        started = time.perf_counter()
        search(client, "python")
        firsts.append(time.perf_counter() - started)
        client.close()

    client = Client(args.data_dir)
    initialize(client)
    status = client.call("tools/call", {"name": "status", "arguments": {}})["structuredContent"]
    round_trips, server_side = [], []
    for _ in range(args.rounds):
        for query in QUERIES:
            started = time.perf_counter()
            result = search(client, query)
            round_trips.append(time.perf_counter() - started)
            server_side.append(result["structuredContent"]["seconds"])
    client.close()
    report = {
        "library": {"files": status["files"], "chunks": status["chunks"]},
        "spawn_to_initialize_ms": {"median": ms(statistics.median(starts)), "max": ms(max(starts))},
        "first_search_ms": {"median": ms(statistics.median(firsts)), "max": ms(max(firsts))},
        "search_round_trip_ms": {
            "median": ms(statistics.median(round_trips)),
            "p95": ms(p95(round_trips)),
            "calls": len(round_trips),
        },
        "search_in_engine_ms": {
            "median": ms(statistics.median(server_side)),
            "p95": ms(p95(server_side)),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
