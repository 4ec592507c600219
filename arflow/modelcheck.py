"""The models of arflow's files: the rules they share, and their validation errors turned into
`PATH:LINE: where: message` problems with a fix."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic_core import ErrorDetails, core_schema

from arflow.errors import Problem
from arflow.yamlfile import Located, dotted

M = TypeVar("M", bound=BaseModel)

# --- rules a model checks and its JSON Schema says, written once ---------------------------------
# (`arflow schema` is made from the models: a rule written only in a validator's body would be
# one the schema does not know, and an editor would take a file `arflow validate` refuses)

# a value that counts as given: not null, false, 0 or empty
GIVEN: dict[str, Any] = {"not": {"enum": [None, False, 0, "", [], {}]}}


def _key(model: type[BaseModel], name: str) -> str:
    """A field's key in the file (its alias: `from` for `sender`)."""
    return model.model_fields[name].alias or name


@dataclass(frozen=True)
class Needs:
    """With `key` set to `value`, each of `keys` must be given: `transport smtp needs host:`."""

    key: str
    value: str
    keys: tuple[str, ...]
    hint: str = ""  # said after the keys: " (the Maildir folder)"
    message: str | None = None  # said instead

    def problem(self, model: BaseModel) -> str | None:
        if getattr(model, self.key) != self.value:
            return None
        missing = [_key(type(model), k) for k in self.keys if not getattr(model, k)]
        if not missing:
            return None
        return self.message or (
            f"{self.key} {self.value} needs {', '.join(f'{k}:' for k in missing)}{self.hint}"
        )

    def schema(self, model: type[BaseModel]) -> dict:
        keys = [_key(model, k) for k in self.keys]
        return {
            "if": {"properties": {self.key: {"const": self.value}}, "required": [self.key]},
            "then": {"required": keys, "properties": dict.fromkeys(keys, GIVEN)},
        }


@dataclass(frozen=True)
class NotBoth:
    """Two keys that may not both be given: `give either table: or query:, not both`."""

    first: str
    second: str
    message: str

    def problem(self, model: BaseModel) -> str | None:
        both = getattr(model, self.first) and getattr(model, self.second)
        return self.message if both else None

    def schema(self, model: type[BaseModel]) -> dict:
        keys = [_key(model, self.first), _key(model, self.second)]
        return {"not": {"required": keys, "properties": dict.fromkeys(keys, GIVEN)}}


@dataclass(frozen=True)
class OneOf:
    """Keys of which one at least must be given: `give path: (a file) or command: (...)`."""

    keys: tuple[str, ...]
    message: str

    def problem(self, model: BaseModel) -> str | None:
        return None if any(getattr(model, k) for k in self.keys) else self.message

    def schema(self, model: type[BaseModel]) -> dict:
        return {
            "anyOf": [
                {"required": [_key(model, k)], "properties": {_key(model, k): GIVEN}}
                for k in self.keys
            ]
        }


Rule = Needs | NotBoth | OneOf


def check_rules(model: M) -> M:
    """A model's `RULES` checked: its validator, as
    `_rules = model_validator(mode="after")(check_rules)`."""
    for rule in getattr(type(model), "RULES", ()):
        problem = rule.problem(model)
        if problem:
            raise ValueError(problem)
    return model


def _rules_schema(schema: dict[str, Any], model: type) -> None:
    """The model's `RULES` in its JSON Schema (`if`/`then`, `not`)."""
    rules: tuple[Rule, ...] = getattr(model, "RULES", ())
    if rules:
        schema["allOf"] = [*schema.get("allOf", []), *(r.schema(model) for r in rules)]


@dataclass(frozen=True)
class Matching:
    """A text that must be `pattern` whole (`Annotated[str, Matching(...)]`), said by its
    validator (with `message`, where `{value!r}` is the text) and by its JSON Schema. Write
    `pattern` in the regular expressions Python and JSON Schema share (no lookbehind, no
    named groups)."""

    pattern: str
    message: str

    def check(self, value: str) -> str:
        if not re.fullmatch(self.pattern, value):
            raise ValueError(self.message.format(value=value))
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {**handler(schema), "pattern": f"^(?:{self.pattern})$"}


WebAddress = Annotated[
    str,
    Matching(
        r"https?://[^/\s?#]+\S*",
        "{value!r} is not a web address: one starting with http:// or https://, with no spaces",
    ),
]
# a start of `public_urls:` (arflow.secrets)
PublicPrefix = Annotated[
    str,
    Matching(
        r"https?://[^/\s?#@]+(?:[/?#]\S*)?",
        "{value!r} is not a web address without a user name and password (one starting with "
        "http:// or https://, no spaces); a password is never shown",
    ),
]
EnvName = Annotated[
    str,
    Matching(
        r"[A-Za-z_][A-Za-z0-9_]*",
        "{value!r} is not an environment variable name (letters, digits, _)",
    ),
]

# every section of a file: unknown keys are errors, and the values are frozen (each module's
# `Strict` base takes it, so that ruff sees its models are pydantic's); its `RULES`, if any,
# go into its JSON Schema
STRICT = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_rules_schema)


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
