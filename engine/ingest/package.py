"""Reading zip-packaged documents (.docx, .pptx, .odt, .odp, .epub) without trusting them.

- Zip: parts are inflated in blocks and counted as they come, so a part whose header lies about
  its size still cannot inflate past PART_MAX_BYTES, nor the whole document past
  PACKAGE_MAX_BYTES (a zip bomb). Encrypted members and absurd member counts are refused.
- XML: expat, with every entity declaration refused (the "billion laughs" and external-entity
  attacks need one; OOXML, ODF and EPUB package files never declare entities). The expat in
  this Python also limits entity amplification, but that depends on how Python was built, and
  it takes seconds to trip; refusing the declaration costs nothing. The tree is an ordinary
  `xml.etree.ElementTree` element with `{namespace}tag` names.
- An encrypted Office file is not a zip at all: it is an OLE compound file holding an
  `EncryptedPackage` stream; a legacy .doc/.ppt is the same container without it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from io import BytesIO
from pathlib import Path
from xml.parsers import expat

from engine.errors import ErrorKind, NeedleError

PART_MAX_BYTES = 64 * 1024 * 1024
PACKAGE_MAX_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 20_000
# A real document part compresses 2-20×; text of one repeated byte reaches ~1000×.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 4 * 1024 * 1024  # parts smaller than this may have any ratio
_BLOCK = 1 << 16

OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# The stream name an encrypted OOXML package is stored under, in the OLE directory (UTF-16LE).
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


class Package:
    """A zip archive whose parts are read within the limits above. Raises NeedleError."""

    def __init__(self, path: Path, data: bytes, what: str) -> None:
        self.path = path
        self.what = what  # "Word document", "EPUB book", ... for messages
        if data.startswith(OLE_MAGIC):
            raise ole_problem(path, data, what)
        try:
            self._zip = zipfile.ZipFile(BytesIO(data))
            members = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
            raise self.corrupt(f"not a valid zip package: {error}") from error
        if len(members) > MAX_MEMBERS:
            raise unsafe(path, f"it holds {len(members)} parts")
        self._members = {member.filename: member for member in members}
        self._inflated = 0

    @property
    def names(self) -> list[str]:
        return list(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str) -> bytes:
        """One part's bytes. Raises NeedleError (corrupt when missing or damaged)."""
        member = self._members.get(name)
        if member is None:
            raise self.corrupt(f"the part {name} is missing")
        if member.flag_bits & 0x1:
            raise NeedleError(
                ErrorKind.ENCRYPTED,
                f"{self.path}: its parts are encrypted with a password.",
                "Save an unprotected copy to make it searchable.",
            )
        chunks: list[bytes] = []
        size = 0
        try:
            with self._zip.open(member) as stream:
                while block := stream.read(_BLOCK):
                    size += len(block)
                    self._inflated += len(block)
                    self._check(name, size, member.compress_size)
                    chunks.append(block)
        except NeedleError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise self.corrupt(f"the part {name} cannot be read: {error}") from error
        return b"".join(chunks)

    def xml(self, name: str) -> ET.Element:
        return parse_xml(self.read(name), self.path, name)

    def _check(self, name: str, size: int, compressed: int) -> None:
        if size > PART_MAX_BYTES:
            raise unsafe(self.path, f"its part {name} inflates past {_mb(PART_MAX_BYTES)}")
        if self._inflated > PACKAGE_MAX_BYTES:
            raise unsafe(self.path, f"its parts inflate past {_mb(PACKAGE_MAX_BYTES)}")
        if size > RATIO_FLOOR_BYTES and size > MAX_RATIO * max(1, compressed):
            raise unsafe(self.path, f"its part {name} inflates over {MAX_RATIO}× its size")

    def corrupt(self, detail: str) -> NeedleError:
        return NeedleError(
            ErrorKind.CORRUPT,
            f"{self.path} is not a readable {self.what} ({detail}).",
            "The file is probably damaged or incomplete; open it and save it again.",
        )


def parse_xml(data: bytes, path: Path, part: str) -> ET.Element:
    """`data` as an element tree, refusing entity declarations. Raises NeedleError."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_entities(*args: object) -> int:
        raise _EntityDeclared()

    def start(tag: str, attributes: dict[str, str]) -> None:
        builder.start(_clark(tag), {_clark(k): v for k, v in attributes.items()})

    def end(tag: str) -> None:
        builder.end(_clark(tag))

    parser.EntityDeclHandler = refuse_entities
    parser.UnparsedEntityDeclHandler = refuse_entities
    parser.ExternalEntityRefHandler = refuse_entities
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except _EntityDeclared as error:
        raise unsafe(path, f"its part {part} declares XML entities") from error
    except (expat.ExpatError, AssertionError, ValueError) as error:
        # TreeBuilder asserts when the document has no root element.
        raise NeedleError(
            ErrorKind.CORRUPT,
            f"{path} is not readable: its part {part} is not well-formed XML ({error}).",
            "The file is probably damaged or incomplete; open it and save it again.",
        ) from error


def _clark(name: str) -> str:
    """expat's "namespace}local" to ElementTree's "{namespace}local"."""
    return "{" + name if "}" in name else name


class _EntityDeclared(Exception):
    pass


def unsafe(path: Path, detail: str) -> NeedleError:
    return NeedleError(
        ErrorKind.UNSAFE,
        f"{path} was not read: {detail}, which no real document does.",
        "If you trust the file, open it and save it again to make it searchable.",
    )


def ole_problem(path: Path, data: bytes, what: str) -> NeedleError:
    """An OLE compound file where a zip package was expected: encrypted, or the legacy format."""
    if _ENCRYPTED_PACKAGE in data[: 1 << 20] or _ENCRYPTED_PACKAGE in data[-(1 << 20) :]:
        return NeedleError(
            ErrorKind.ENCRYPTED,
            f"{path} is a password-protected {what}, so its text cannot be read.",
            "Save a copy without the password (File > Info > Protect) to make it searchable.",
        )
    return NeedleError(
        ErrorKind.UNSUPPORTED,
        f"{path} is in the old binary Office format, though its name says {path.suffix}.",
        f"Open it and save it as {path.suffix} again to make it searchable.",
    )


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"
