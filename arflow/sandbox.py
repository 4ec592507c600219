"""The sandbox templates render in (SPEC 5): Jinja2's immutable sandbox, and every render
limited in size and time, so that a slip in a template costs one message, not the run."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator, MutableMapping
from time import monotonic
from typing import Any, cast

from jinja2 import Template, TemplateRuntimeError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

# --- limits --------------------------------------------------------------------------------
# A template is code a person writes; a slip (a loop over the wrong thing, `10**10` for `10*10`)
# must cost one message, not the night's run. The limits are far above any real message.
MAX_OUTPUT = 1_000_000  # characters one render may produce ("1 MB")
MAX_SECONDS = 2.0  # time one render may take
MAX_RANGE = 10_000  # numbers one range() may hold
MAX_INT_BITS = 12_000  # an integer `*` or `**` may make: 3,600 digits (Python prints 4,300)
_SURROGATE = re.compile("[\ud800-\udfff]")
TOO_LARGE = "too large (over 1 MB); look for a loop that prints more than it should"
TOO_SLOW = "too slow (over 2 s); look for a loop or macro that runs more often than it should"
TOO_BIG_OPERANDS = "the ** or * operands are too large"


class LimitExceeded(TemplateRuntimeError):
    """A render went over one of the limits above."""


class _Deadline:
    """When the render under way must end; shared by a Templates' environments."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = float("inf")  # no render under way: Jinja's own render runs unlimited


# the filter every loop's iterable passes through; a name no template can write
_LOOP_GUARD = "arflow loop guard"


class _LoopGuardCodeGenerator(CodeGenerator):
    """Compiles every `{% for x in ITERABLE %}` as `{% for x in ITERABLE|guard %}` with the
    filter `Sandbox.guard_loop`: a loop that prints nothing, so that no output reaches
    `render_limited`'s check, still ends at the time limit. (A filter is called directly by the
    compiled code; a call would go through the sandbox's checks, ~1 µs a loop.)"""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, _LOOP_GUARD, [], [], None, None, lineno=loop.iter.lineno
            )
        super().visit_Template(node, frame)


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with limits: `**` and `*` (the sandbox docs' own example of
    intercepted operators), range(), and the loops' time."""

    intercepted_binops = frozenset(["*", "**"])
    code_generator_class = _LoopGuardCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.deadline = _Deadline()
        self.globals["range"] = _limited_range
        self.filters[_LOOP_GUARD] = self.guard_loop

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if (
                _is_int(left)
                and _is_int(right)
                and right > 0
                and right * max(abs(left).bit_length() - 1, 0) > MAX_INT_BITS
            ):
                raise LimitExceeded(TOO_BIG_OPERANDS)
        elif _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise LimitExceeded(TOO_BIG_OPERANDS)
        else:
            seq, times = (left, right) if _is_int(right) else (right, left)
            if (
                isinstance(seq, str | list | tuple)
                and _is_int(times)
                and len(seq) * times > MAX_OUTPUT
            ):
                raise LimitExceeded(TOO_BIG_OPERANDS)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `invoice.number` on a context's dict: Jinja tries the attribute first, and a dict has
        # none of that name, so the AttributeError raised and caught costs more than the item
        # lookup; a name that is a dict attribute (`items`, `__class__`) goes the sandbox's way.
        # A dict of arflow's own kind (the customer whose number is checked when read, the
        # sample's `extra`) answers its items the same way, `__missing__` included
        if isinstance(obj, dict) and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # each template's globals as a plain dict rather than Jinja's ChainMap over the
        # environment's: every render, include and layout copies them into a new context, and
        # iterating a ChainMap costs more than that copy. The environment's globals are set once
        # in __init__ and never changed, so nothing a ChainMap would show later is missed.
        return {**self.globals, **(d or {})}

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # every call a template makes (a macro, a method) checks the clock: a macro that
        # calls itself twice over runs long without a loop or any output
        if monotonic() > __self.deadline.at:
            raise LimitExceeded(TOO_SLOW)
        return super().call(__context, __obj, *args, **kwargs)

    def guard_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        deadline = self.deadline
        for item in iterable:
            if monotonic() > deadline.at:
                raise LimitExceeded(TOO_SLOW)
            yield item

    def render_limited(self, template: Template, variables: dict) -> str:
        """Render piece by piece, stopping at MAX_OUTPUT characters; loops and calls inside
        the template stop it at MAX_SECONDS (`call`, `guard_loop`).

        Only Jinja's public API: `Template.generate` yields the output piece by piece. A limit
        is thrown into that generator, so the error carries the template line that printed the
        piece going over it; `generate` rewrites a failing render's traceback to template
        lines, as `Template.render` does (so no failing render runs twice).

        Cost (benchmarks/bench_render.py, 20,000 renders, 2 cores, ratio to a plain
        `jinja2.Environment`'s `template.render` in the same run): reminder.txt 0.49,
        reminder.subject 0.57; Jinja's own `render` of the same sandboxed template, without the
        limits, 0.45 and 0.43. Both are below the plain environment because `Sandbox` gives
        templates plain-dict globals and looks a context's `invoice.number` up as an item
        first (see there). `generate` is the only public way to stop a render as it grows."""
        deadline = self.deadline
        deadline.at = monotonic() + MAX_SECONDS
        chunks: list[str] = []
        size = 0
        pieces = cast(Generator[str, None, None], template.generate(variables))
        try:
            for chunk in pieces:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_OUTPUT:
                    pieces.throw(LimitExceeded(TOO_LARGE))
        finally:
            deadline.at = float("inf")
        text = "".join(chunks).strip()
        if not text.isascii():
            try:
                text.encode()  # fails only on a surrogate; 5× faster than searching for one
            except UnicodeEncodeError:
                # half of a character (an emoji split in a source, `"\\ud83d"` in a template):
                # no mail, SMS or file can carry it, so it fails here, before anything is
                # recorded
                odd = cast(re.Match, _SURROGATE.search(text))
                raise ValueError(
                    f"it renders U+{ord(odd.group()):04X}, half of a character, "
                    "which cannot be written as UTF-8; fix the text it comes "
                    "from"
                ) from None
        return text


_DICT_ATTRIBUTES = frozenset(dir({}))


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _limited_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range() of {len(numbers):,} numbers: at most {MAX_RANGE:,}")
    return numbers
