"""The index's Tantivy schema, the file that records which schema and segmentation built an
index, and opening (or creating) the Tantivy index in a folder. docs/index-schema.md describes
every field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tantivy

from engine.errors import ErrorKind, NeedleError
from engine.jsonfile import write_json_atomic
from engine.search.analysis import (
    CJK_TOKENIZER,
    EN_TOKENIZER,
    register_analyzers,
)

# 3: the `ocr` field (chunks of text recognised in images).
# 4: the stored text keeps the file's own characters (full-width punctuation and digits); only
# the analyzed fields are NFKC-folded, so a version 3 index shows "," where the file has "，".
SCHEMA_VERSION = 4
SCHEMA_FILE = "needle-schema.json"


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text_en", tokenizer_name=EN_TOKENIZER)
    builder.add_text_field("text_cjk", tokenizer_name=CJK_TOKENIZER)
    # Stored only: a bytes field is the one kind Tantivy keeps without indexing it.
    builder.add_bytes_field("text", stored=True)
    builder.add_text_field("path", stored=True, tokenizer_name="raw")
    builder.add_text_field("folders", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("folder_names", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title", stored=True, tokenizer_name=EN_TOKENIZER)
    builder.add_text_field("title_cjk", tokenizer_name=CJK_TOKENIZER)
    builder.add_text_field("heading", stored=True, tokenizer_name=EN_TOKENIZER)
    builder.add_text_field("heading_cjk", tokenizer_name=CJK_TOKENIZER)
    builder.add_unsigned_field("page", stored=True)
    builder.add_unsigned_field("ocr", stored=True)  # 1: the text was recognised in an image
    builder.add_unsigned_field("ordinal", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("start", stored=True)
    builder.add_unsigned_field("end", stored=True)
    builder.add_unsigned_field("tokens", stored=True)
    builder.add_text_field("content_hash", stored=True, tokenizer_name="raw")
    builder.add_text_field("extension", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_float_field("modified", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("size", stored=True)
    return builder.build()


def read_schema_file(index_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((index_dir / SCHEMA_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_schema_file(index_dir: Path, data: dict[str, Any]) -> None:
    write_json_atomic(index_dir / SCHEMA_FILE, data)


def empty_folder(folder: Path) -> None:
    if not folder.exists():
        return
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            import shutil  # only a rebuild needs it; opening an index is faster without

            shutil.rmtree(entry)
        else:
            entry.unlink()


def create_or_open(index_dir: Path, *, create: bool) -> tantivy.Index:
    try:
        if create:
            index = tantivy.Index(build_schema(), path=str(index_dir), reuse=False)
        else:
            index = tantivy.Index.open(str(index_dir))
    except ValueError as error:
        raise NeedleError(
            ErrorKind.INDEX_CORRUPT,
            f"The search index at {index_dir} cannot be opened: {error}",
            "Delete that folder and index again.",
        ) from error
    register_analyzers(index)
    index.config_reader(reload_policy="manual")
    return index
