"""YAML loading that remembers the line of every node, so errors can say `PATH:LINE`."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from arflow.errors import InvalidFiles, Problem


class Located:
    """A loaded YAML document plus a map from a key path to the line it starts on."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple, int]):
        self.path = path
        self.data = data
        self._lines = lines

    def line(self, loc: tuple) -> int | None:
        """The line of the deepest node along `loc` that exists (1-based)."""
        loc = tuple(loc)
        while loc:
            if loc in self._lines:
                return self._lines[loc]
            loc = loc[:-1]
        return self._lines.get((), 1)


def _walk(node: yaml.Node, loc: tuple, lines: dict[tuple, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                child = (*loc, key.value)
                _walk(value, child, lines)
                # an unknown or misspelt key is reported on the key's own line
                lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), lines)


# libyaml's parser when PyYAML was built with it (its wheels are): the same documents, nodes and
# marks as the pure-Python one, about ten times faster
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, loader_class) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its `safe_load` value, in one parse."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _decode(raw: bytes, shown: str) -> str:
    """The file's text (UTF-8, with or without BOM); another encoding names its first bad byte."""
    body = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        line_start = body.rfind(b"\n", 0, exc.start) + 1
        column = len(body[line_start:exc.start].decode("utf-8")) + 1
        message = (f"not UTF-8 text (byte 0x{body[exc.start]:02X} at line {line}, column "
                   f"{column}); save the file as UTF-8")
        raise InvalidFiles([Problem(shown, line, "", message)]) from None


def load_located(path: Path, display: str | None = None) -> Located:
    """Read a YAML file with `safe_load` semantics; every problem becomes a located Problem."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidFiles([Problem(shown, None, "", f"cannot read: {exc.strerror}")]) from None
    text = _decode(raw, shown)
    try:
        try:
            node, data = _parse(text, _FAST_LOADER)
        except yaml.YAMLError:
            node, data = _parse(text, yaml.SafeLoader)  # the pure-Python parser's message
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
        raise InvalidFiles([Problem(shown, line, "", message)]) from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return Located(path, data, lines)
