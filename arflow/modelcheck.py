"""Turn pydantic validation errors into `PATH:LINE: where: message` problems with a fix."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from arflow.errors import Problem
from arflow.yamlfile import Located, dotted

M = TypeVar("M", bound=BaseModel)

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


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _models_in(arg)
    return found


def _message(err: ErrorDetails, vocabulary: set[str]) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if key.lower() in SECRET_KEYS:
            return (f"secrets never go in YAML: remove {key!r}, put the value in an environment "
                    f"variable and name it with {key}_env")
        close = difflib.get_close_matches(key, sorted(vocabulary), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if msg.startswith("Assertion failed, "):
        return msg[len("Assertion failed, "):]
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return f"{msg} (got {value!r})"
    return msg


def parse_model(model: type[M], located: Located, display: str,
                context: dict | None = None) -> tuple[M | None, list[Problem]]:
    """Validate a loaded YAML document against `model`; all errors at once, each with its line."""
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        return None, [Problem(display, located.line(()), "",
                              "expected a mapping of keys to values at the top of the file")]
    try:
        return model.model_validate(data, context=context), []
    except ValidationError as exc:
        vocabulary = _known_keys(model)
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(display, located.line(loc), dotted(loc),
                                    _message(err, vocabulary)))
        return None, problems
