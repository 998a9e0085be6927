"""Start-up of the command line: how long `needle search WORD --json` takes, end to end, as a
user's shell runs it (a new Python process each time: imports, opening the library read-only,
the search, printing JSON).

    .venv/bin/python bench/startup_bench.py [CORPUS_DIR] [--runs 30] [--repo PATH] [--json out.json]

It indexes CORPUS_DIR (default ../shared/corpora/pg-essays, or a few generated notes when that is
absent) into a temporary data dir once, then times `python -m engine --data-dir D search WORD
--json` --runs times, alternating a few words. The baseline, measured in the same run the same way,
is the bare interpreter (`python -c pass`): the part of the start-up Needle cannot remove. The
figures to watch are p50 of the search and what it adds on top of the interpreter, as wall-clock
time and as CPU time (user + system of the child: steadier when other work shares the machine).

`--repo PATH` runs another checkout's engine (a `git worktree` of an older commit) against the same
index format, to compare before and after. To see where the time goes:

    python -X importtime -m engine --data-dir D search WORD --json 2> imports.txt
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "pg-essays"
WORDS = ("startup", "investors", "programming", "writing", "founders")


def timed_runs(
    command: list[str], runs: int, cwd: Path, env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) milliseconds of `runs` runs of `command`; every run
    must succeed. CPU time is the steadier figure on a machine other work is sharing."""
    wall, cpu = [], []
    for run in range(runs):
        argv = [part.replace("{word}", WORDS[run % len(WORDS)]) for part in command]
        started = time.perf_counter()
        child = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert child.stderr is not None
        errors = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((usage.ru_utime + usage.ru_stime) * 1000)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{errors.decode()}")
    return wall, cpu


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1),
        "min_ms": round(ordered[0], 1),
    }


def measure(command: list[str], runs: int, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    wall, cpu = timed_runs(command, runs, cwd, env)
    return {"wall": summary(wall), "cpu": summary(cpu)}


def build_library(data_dir: Path, corpus: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from engine.api import Engine

    if not corpus.is_dir():
        corpus = data_dir.parent / "notes"
        corpus.mkdir()
        for n in range(200):
            word = WORDS[n % len(WORDS)]
            (corpus / f"note{n}.md").write_text(f"# Note {n}\n\nAbout {word} and more {n}.\n")
    with Engine.open(data_dir, writer=True) as engine:
        engine.add_folder(str(corpus))
        return engine.index().chunks_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout whose engine to run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.repo.resolve()), "NO_COLOR": "1"}
    env.pop("NEEDLE_HOME", None)
    # An installed Needle runs from compiled bytecode (pip and the packaged app write it); the
    # warm-up runs below write it here, as a first run after installing would.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="needle-startup-") as tmp:
        data_dir = Path(tmp) / "data"
        chunks = build_library(data_dir, args.corpus)
        search = [sys.executable, "-m", "engine", "--data-dir", str(data_dir)]
        search += ["search", "{word}", "--json"]
        # Warm the page cache for both, so neither pays for the first read from disk, and let the
        # first run write the bytecode cache.
        timed_runs(search, 2, args.repo, env)
        timed_runs([sys.executable, "-c", "pass"], 2, args.repo, env)
        baseline = measure([sys.executable, "-c", "pass"], args.runs, args.repo, env)
        needle = measure(search, args.runs, args.repo, env)
    result: dict[str, Any] = {
        "corpus": str(args.corpus),
        "chunks": chunks,
        "runs": args.runs,
        "repo": str(args.repo),
        "interpreter": baseline,
        "needle_search_json": needle,
        "added_by_needle_p50_ms": {
            kind: round(needle[kind]["p50_ms"] - baseline[kind]["p50_ms"], 1)
            for kind in ("wall", "cpu")
        },
        "ratio_to_interpreter_p50": {
            kind: round(needle[kind]["p50_ms"] / baseline[kind]["p50_ms"], 2)
            for kind in ("wall", "cpu")
        },
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
