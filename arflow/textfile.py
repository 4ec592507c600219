"""Where a file stops being text in its encoding: the line, column and byte, for every file
arflow reads (CSV sources, YAML, templates), and which legacy encoding the bytes may be in."""

from __future__ import annotations

import codecs
from typing import NamedTuple


class BadBytes(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based, in characters
    offset: int  # in the file, BOM included
    byte: int

    def describe(self, encoding: str = "UTF-8") -> str:
        return (
            f"not {encoding} text (byte 0x{self.byte:02X} at line {self.line}, column "
            f"{self.column})"
        )


def bad_bytes(data: bytes, encoding: str = "utf-8") -> BadBytes | None:
    """The first bytes of `data` that do not decode (a UTF-8 BOM is skipped), or None."""
    body = data.removeprefix(codecs.BOM_UTF8) if encoding.lower().startswith("utf") else data
    try:
        body.decode(encoding)
    except UnicodeDecodeError as exc:
        at = exc.start
        line_start = max(body.rfind(b"\n", 0, at), body.rfind(b"\r", 0, at)) + 1
        line = body.count(b"\n", 0, at) + body.count(b"\r", 0, at) - body.count(b"\r\n", 0, at) + 1
        column = len(body[line_start:at].decode(encoding, "replace")) + 1
        return BadBytes(line, column, at + len(data) - len(body), body[at])
    return None


def legacy_encoding(data: bytes) -> str:
    """The encoding a file that is not UTF-8 was most likely saved in: Windows' cp1252 (Excel
    and most Western-European Windows programs) when its bytes fit, else latin-1."""
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def decode_utf8(data: bytes) -> str:
    """A UTF-8 file's text (with or without BOM); UnicodeDecodeError as the codec raises it."""
    return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
