"""The models of arflow's files: the rules they share, and their validation errors turned into
`PATH:LINE: where: message` problems with a fix."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from arflow.errors import Problem
from arflow.yamlfile import Located, dotted

M = TypeVar("M", bound=BaseModel)


# every section of a file: unknown keys are errors, and the values are frozen (each module's
# `Strict` base takes it, so that ruff sees its models are pydantic's)
STRICT = ConfigDict(extra="forbid", frozen=True)


def as_list(value: Any) -> Any:
    """One value for a list of one (`cc: controller`), before a list field validates."""
    return [value] if isinstance(value, (str, int, float)) else value


SECRET_KEYS = {"password", "auth_token", "account_sid", "api_key", "token", "secret"}


def _known_keys(model: type[BaseModel], seen: set | None = None) -> set[str]:
    """Every field name reachable from `model`, for "did you mean" suggestions."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for sub in _models_in(field.annotation):
            keys |= _known_keys(sub, seen)
    return keys


def _homes(
    model: type[BaseModel], key: str, prefix: str = "", seen: frozenset = frozenset()
) -> list[str]:
    """Where `key` may be written: the dotted paths of the mappings that take it (a mapping of
    names shows as `NAME`), for "belongs under company:"."""
    if model in seen:
        return []
    found = [prefix] if prefix and key in _fields(model) else []
    for name, field in model.model_fields.items():
        part = field.alias or name
        keyed = getattr(field.annotation, "__origin__", None) is dict or "dict[" in str(
            field.annotation
        )
        path = f"{prefix}.{part}" if prefix else part
        for sub in _models_in(field.annotation):
            found += _homes(sub, key, f"{path}.NAME" if keyed else path, seen | {model})
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _models_in(arg)
    return found


def _fields(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _section(model: type[BaseModel], path: tuple) -> type[BaseModel] | None:
    """The model that validates the mapping at `path` (a pydantic error location), or None
    when it cannot be told (a union of several models)."""
    annotation: Any = model
    for part in path:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (f for n, f in annotation.model_fields.items() if (f.alias or n) == part), None
            )
            if field is None:
                return None
            annotation = field.annotation
            continue
        args = [a for a in getattr(annotation, "__args__", ()) or () if a is not type(None)]
        if len(args) == 1:  # X | None
            annotation = args[0]
        elif args and isinstance(part, (str, int)):  # dict[str, X] or list[X]: a key, an index
            annotation = args[-1]
        else:
            return None
    args = [a for a in getattr(annotation, "__args__", ()) or () if a is not type(None)]
    if len(args) == 1:
        annotation = args[0]
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _message(err: ErrorDetails, vocabulary: set[str], model: type[BaseModel] | None = None) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if key.lower() in SECRET_KEYS:
            return (
                f"secrets never go in YAML: remove {key!r}, put the value in an environment "
                f"variable and name it with {key}_env"
            )
        section = _section(model, tuple(loc[:-1])) if model is not None else None
        # suggest only what this mapping takes (never the unknown key itself: it is not there)
        words = _fields(section) if section is not None else sorted(vocabulary - {key})
        close = difflib.get_close_matches(key, words, n=1, cutoff=0.75)
        if close:
            return f"unknown key {key!r}; did you mean {close[0]!r}?"
        if section is not None and key in vocabulary:  # a key of another section
            homes = _homes(model, key) if model is not None else []
            if len(homes) == 1:
                return f"{key!r} belongs under {homes[0]}:; indent it there"
            where = ".".join(str(p) for p in loc[:-1]) or "the top level"
            found = f" ({key!r} belongs under one of {', '.join(homes)})" if homes else ""
            return f"unknown key {key!r}; {where} takes: {', '.join(_fields(section))}{found}"
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if msg.startswith("Assertion failed, "):
        return msg[len("Assertion failed, ") :]
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return f"{msg} (got {value!r})"
    return msg


def parse_model(
    model: type[M], located: Located, display: str, context: dict | None = None
) -> tuple[M | None, list[Problem]]:
    """Validate a loaded YAML document against `model`; all errors at once, each with its line."""
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        return None, [
            Problem(
                display,
                located.line(()),
                "",
                "expected a mapping of keys to values at the top of the file",
            )
        ]
    try:
        return model.model_validate(data, context=context), []
    except ValidationError as exc:
        vocabulary = _known_keys(model)
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(
                Problem(display, located.line(loc), dotted(loc), _message(err, vocabulary, model))
            )
        return None, problems
