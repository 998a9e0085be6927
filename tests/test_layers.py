"""The engine's layers, as docs/architecture.md draws them: each folder imports only from the layers
below it, nothing in the engine touches Qt or the desktop, the desktop reaches the engine only
through the protocol and its data types, and the command line starts without the heavy libraries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
DESKTOP = ROOT / "desktop"

FACADE_MODULES = {"engine.api", "engine.doctor"}
BELOW_FACADE = {"foundation", "ingest", "search", "library", "llm", "agent"}
ALLOWED: dict[str, set[str]] = {
    "foundation": {"foundation"},
    "ingest": {"foundation", "ingest"},
    "search": {"foundation", "ingest", "search"},
    "library": {"foundation", "ingest", "search", "library"},
    "llm": {"foundation", "llm"},
    "agent": {"foundation", "search", "llm", "agent"},
    "facade": BELOW_FACADE | {"facade"},
    # `needle serve` is a command of the CLI, so the CLI may start the service; not the reverse.
    "cli": BELOW_FACADE | {"facade", "cli", "service", "mcp"},
    "service": BELOW_FACADE | {"facade", "service"},
    # `needle mcp` runs its tool calls on the service's workers and writes through its writer.
    "mcp": BELOW_FACADE | {"facade", "service", "mcp"},
    "entry": {"cli"},
}
# What the desktop may import from the engine: the protocol and plain data types, never the work.
DESKTOP_MAY_IMPORT = {
    "engine.errors",
    "engine.models",
    "engine.settings",
    "engine.agent.events",
    "engine.service.protocol",
    "engine.lang",  # the CJK character classes, to show Chinese text the way it is written
    "engine.paths",  # where a library keeps its files: the app's log and its one-window socket
    "engine.threads",  # the question history's data: threads, turns, stored citations
}
HEAVY_FOR_THE_CLI = (
    *("PySide6", "pypdf", "pypdfium2", "watchdog", "ollama", "pathspec"),
    *("numpy", "PIL", "cv2", "onnxruntime", "rapidocr"),  # OCR
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if module == "engine.__main__":
        return "entry"
    if module in FACADE_MODULES:
        return "facade"
    if len(parts) == 2 or module == "engine":
        return "foundation"
    return parts[1]


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, at any depth (lazy imports inside functions count too)."""
    tree = ast.parse(path.read_text("utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from engine import x` may name a module.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def existing_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_engine_module_has_a_layer() -> None:
    layers = {layer_of(module_name(path)) for path in engine_files()}
    assert layers <= set(ALLOWED), layers - set(ALLOWED)


def test_engine_imports_follow_the_layers() -> None:
    wrong = []
    for path in engine_files():
        source = module_name(path)
        allowed = ALLOWED[layer_of(source)]
        for line, name in imports_of(path):
            if not name.startswith("engine") or not existing_module(name) or name == "engine":
                continue
            if layer_of(name) not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_the_engine_never_imports_qt_or_the_desktop() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in engine_files()
        for line, name in imports_of(path)
        if name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6", "desktop"}
    ]
    assert wrong == []


def test_the_desktop_reaches_the_engine_only_through_the_protocol_and_data_types() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted(DESKTOP.rglob("*.py"))
        for line, name in imports_of(path)
        if name.startswith("engine.") and existing_module(name) and name not in DESKTOP_MAY_IMPORT
    ]
    assert wrong == []


@pytest.mark.parametrize("module", ["engine.cli", "engine.cli.main"])
def test_the_command_line_starts_without_the_heavy_libraries(module: str) -> None:
    """The start-up promise of engine/api.py: `needle search` must not pay for Qt, PDF parsing,
    file watching or the HTTP client of the model server."""
    script = (
        f"import json, sys, {module}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert loaded.isdisjoint(HEAVY_FOR_THE_CLI), loaded & set(HEAVY_FOR_THE_CLI)
