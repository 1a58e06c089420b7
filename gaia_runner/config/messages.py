"""Pydantic validation errors rephrased for people editing a TOML file."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from gaia_runner.config.locate import KeyPath
from gaia_runner.config.raw import RawFile

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}
# Short tables get their whole key list when a typo has no close match.
_LIST_ALLOWED_UP_TO = 8


def describe(value: object, *, redact: bool) -> str:
    """``string 'four'``, ``integer 5``, ``an array``... or just the type when ``redact``."""
    if isinstance(value, bool):
        return "a boolean" if redact else ("true" if value else "false")
    if isinstance(value, int | float | str) and not redact:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        kind = {str: "string", int: "integer", float: "number"}[type(value)]
        return f"{kind} {shown}"
    for scalar, words in ((str, "a string"), (int, "an integer"), (float, "a number")):
        if isinstance(value, scalar):
            return words
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


def translate(error: ErrorDetails, data: object) -> tuple[KeyPath, str]:
    """The TOML key path and a friendly message for one pydantic error in ``data``."""
    path = _as_written(tuple(error["loc"]), data)
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error["input"]
    # env values may be secrets: describe their type, never their content.
    redact = "env" in path
    if kind == "missing":
        return path, "required key is missing"
    if kind == "extra_forbidden":
        return path, _unknown_key(path)
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return path, str(ctx["error"])
    if kind == "literal_error":
        return path, f"must be {ctx['expected']}, got {describe(value, redact=redact)}"
    if kind in _EXPECTED:
        return path, f"expected {_EXPECTED[kind]}, got {describe(value, redact=redact)}"
    if kind in _BOUNDS:
        op, name = _BOUNDS[kind]
        shown = "a value out of range" if redact else repr(value)
        return path, f"must be {op} {ctx[name]}, got {shown}"
    if kind == "too_short":
        return path, "must not be empty"
    # pydantic's own wording may quote the input, so it is not used for env.
    return path, "invalid value" if redact else error["msg"]


def _as_written(loc: KeyPath, data: object) -> KeyPath:
    """Drop list indexes pydantic added for a value the user wrote as a single item.

    ``bind = "x"`` is validated as ``["x"]``; the user should read
    ``apps.web.bind``, not ``apps.web.bind[0]``.
    """
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(part, int) and not isinstance(current, list):
            continue
        if part == "[key]":
            # pydantic's marker for "the key itself", not a key the user wrote.
            continue
        path.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(path)


def _unknown_key(path: KeyPath) -> str:
    key = str(path[-1])
    allowed = allowed_keys(path[:-1])
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    if allowed and len(allowed) <= _LIST_ALLOWED_UP_TO:
        return f"{message}; expected one of: {', '.join(allowed)}"
    return message


def allowed_keys(path: Sequence[str | int]) -> list[str]:
    """The keys the table at ``path`` accepts, found by walking the raw models."""
    model = _model_at(RawFile, path)
    return list(model.model_fields) if model is not None else []


def _model_at(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    current: object = model
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
        elif typing.get_origin(current) is dict:
            current = _unwrap(typing.get_args(current)[1])
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: object) -> object:
    """Strip ``Annotated`` and ``| None`` down to the type that holds keys."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
