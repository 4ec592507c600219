"""YAML loading that remembers the line of every node, so errors can say `PATH:LINE`.

arflow's files are small and written by hand, so a few YAML features are refused while the file
is composed, before they can cost anything: anchors and aliases (a few hundred bytes of them
expand to gigabytes, `a: &a [*a]` to an endless structure), nesting deeper than any arflow file
needs, and a key given twice in one mapping (YAML would silently keep only the last).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor

from arflow.errors import InvalidFiles, Problem
from arflow.textfile import bad_bytes, decode_utf8

# arflow's deepest structure (steps.N.actions.N.task.assignee) is six levels down
MAX_DEPTH = 50
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


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


def dotted(loc: tuple) -> str:
    """A key path as problems show it: `steps.0.actions.1`."""
    return ".".join(str(part) for part in loc)


class _Refused(Exception):
    """A YAML feature or value arflow does not accept, met at `mark` while loading."""

    def __init__(self, mark: Any, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


class _StrictComposer(Composer):
    """PyYAML's composer, refusing an anchor or alias at the event that carries it (so no node
    is ever shared and nothing is expanded) and nesting deeper than MAX_DEPTH."""

    peek_event: Callable[[], yaml.Event]  # the parser's, libyaml's or the pure-Python one
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        # a node's event carries its anchor (`&name`); an alias's (`*name`), the anchor it names
        if getattr(event, "anchor", None) is not None:
            raise _Refused(
                event.start_mark,
                "YAML anchors and aliases (&name / *name) are not "
                "accepted in arflow's files; write the values out",
            )
        if self._depth >= MAX_DEPTH:
            raise _Refused(
                event.start_mark,
                f"YAML nested more than {MAX_DEPTH} levels deep; arflow's files need only a few",
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    """PyYAML's date, with one that does not exist (`2026-02-30`) a located problem, not a
    ValueError."""
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise _Refused(
            node.start_mark, f"{node.value!r} is not a date ({exc}); write a real one as YYYY-MM-DD"
        ) from None


class _PureLoader(_StrictComposer, yaml.SafeLoader):
    """The pure-Python parser: used when libyaml is missing, and for its clearer syntax errors."""


_PureLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


# libyaml's parser when PyYAML was built with it (its wheels are): the same events and marks as
# the pure-Python one, about ten times faster. Its own composer (C) cannot refuse anchors, so
# the events are composed by _StrictComposer, which keeps most of the speed.
_FAST_LOADER: type = _PureLoader
if hasattr(yaml, "CSafeLoader"):

    class _LibyamlLoader(_StrictComposer, yaml.CSafeLoader):
        def __init__(self, stream: str):
            yaml.CSafeLoader.__init__(self, stream)
            Composer.__init__(self)

    _LibyamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    _FAST_LOADER = _LibyamlLoader


def _walk(
    node: yaml.Node,
    loc: tuple,
    lines: dict[tuple, int],
    keys: SafeConstructor,
    duplicates: list[tuple[int, str, str]],
) -> None:
    """Record the line of every key path, and each key given twice in one mapping as
    (line, where, message)."""
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                child = (*loc, key.value)
                line = key.start_mark.line + 1
                # `<<:` merges a mapping in, and a key written beside it wins, as in YAML
                if key.tag != _MERGE_TAG:
                    # the key as the loaded mapping holds it: `1`/`01`, `true`/`yes` collide
                    same = key.value if key.tag == _STR_TAG else keys.construct_object(key)
                    if same in first_line:
                        message = (
                            f"duplicate key {key.value!r} (also on line "
                            f"{first_line[same]}); keep one"
                        )
                        duplicates.append((line, dotted(child), message))
                    else:
                        first_line[same] = line
                _walk(value, child, lines, keys, duplicates)
                # an unknown or misspelt key is reported on the key's own line
                lines[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), lines, keys, duplicates)


def _parse(
    text: str, loader_class: type
) -> tuple[Any, dict[tuple, int], list[tuple[int, str, str]]]:
    """The document's `safe_load` value, the line of each key path and the duplicate keys, in
    one parse."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        lines: dict[tuple, int] = {}
        duplicates: list[tuple[int, str, str]] = []
        if node is None:
            return None, lines, duplicates
        # walked before it is constructed, which folds `<<:` merges into their mapping
        _walk(node, (), lines, loader, duplicates)
        return loader.construct_document(node), lines, duplicates
    finally:
        loader.dispose()


def _decode(raw: bytes, shown: str) -> str:
    """The file's text (UTF-8, with or without BOM); another encoding names its first bad byte."""
    try:
        return decode_utf8(raw)
    except UnicodeDecodeError:
        bad = bad_bytes(raw)
        assert bad is not None
        raise InvalidFiles(
            [Problem(shown, bad.line, "", f"{bad.describe()}; save the file as UTF-8")]
        ) from None


def _syntax_problem(exc: yaml.YAMLError, text: str, shown: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, a position
        at = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return Problem(
            shown,
            at,
            "",
            f"character U+{exc.character:04X} at line {at}, column "
            f"{column} is not allowed in YAML; remove it",
        )
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    opened = getattr(exc, "context_mark", None)
    worded = _reworded(problem, context, mark, opened, text.split("\n"))
    if worded is not None:
        return Problem(shown, worded[0], "", worded[1])
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return Problem(shown, line, "", message)


def _reworded(
    problem: str,
    context: str | None,
    mark: yaml.Mark | None,
    opened: yaml.Mark | None,
    lines: list[str],
) -> tuple[int, str] | None:
    """(line, message) in a person's words for the syntax errors people make most: a tab, a
    quote or bracket never closed, a line indented out of step, a value holding ': '."""
    if mark is None:
        return None
    at = mark.line + 1
    here = lines[mark.line] if mark.line < len(lines) else ""
    if "'\\t'" in problem:  # PyYAML shows the tab as '\\t'
        return at, f"line {at} is indented with a tab; YAML indents with spaces only"
    if context and "quoted scalar" in context and opened is not None:
        first = opened.line + 1
        return first, (
            f"the quoted value that starts on line {first} is never closed; add its closing quote"
        )
    if context and "flow" in context and opened is not None:
        bracket = "{" if "mapping" in context else "["
        # libyaml marks a bracket left open at the end of the file at the end: the line is the
        # last one at or above its mark that holds one
        first = opened.line + 1
        while first > 1 and bracket not in (lines[first - 1] if first <= len(lines) else ""):
            first -= 1
        close = "}" if bracket == "{" else "]"
        # the file may end first (nothing below the bracket's line): then no line to name
        ends = not any(line.strip() for line in lines[first:])
        until = "before the file ends" if ends or at <= first else f"before line {at}"
        return (
            first,
            f"the {bracket} on line {first} is not closed {until}; add {close} where it ends",
        )
    if problem == "mapping values are not allowed here":
        before = here[: mark.column]
        if ": " in before.strip():
            key = before.split(":", 1)[0].strip().lstrip("- ")
            value = here.split(":", 1)[1].strip()
            return at, (
                f"the value of {key} holds ': ', which YAML reads as a new key; quote "
                f'it: {key}: "{value}"'
            )
        return at, (
            f"line {at} is indented more than the line above it; keys of one section "
            "line up under each other"
        )
    if problem.startswith("expected <block end>") or (
        context and "block" in context and problem.startswith("expected")
    ):
        return at, (
            f"line {at} is indented out of step with the lines above it; keys of one "
            "section line up under each other, and a list's items under its first"
        )
    return None


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
            data, lines, duplicates = _parse(text, _FAST_LOADER)
        except yaml.YAMLError:
            data, lines, duplicates = _parse(text, _PureLoader)  # the pure-Python parser's message
    except yaml.YAMLError as exc:
        raise InvalidFiles([_syntax_problem(exc, text, shown)]) from None
    except _Refused as exc:
        raise InvalidFiles([Problem(shown, exc.mark.line + 1, "", exc.message)]) from None
    if duplicates:
        raise InvalidFiles(
            [Problem(shown, line, where, message) for line, where, message in duplicates]
        )
    return Located(path, data, lines)
