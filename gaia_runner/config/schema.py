"""A small validator for parsed TOML: tables, maps, arrays and checked scalars.

gaia.toml is validated here rather than by a general-purpose model library
because the running gaia keeps its validator for every reload: this module and
its declarations cost a fraction of a megabyte and a millisecond to import.
TOML values are already typed, so nothing is coerced: ``workers = true`` or
``port = "80"`` are mistakes to report. Every problem is collected (not just the
first) as a key path and a message in the words a TOML editor uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from gaia_runner.config.locate import KeyPath

Check: TypeAlias = Callable[[Any], object]
"""Returns the value to keep (possibly converted), or raises ValueError(message)."""

Problems: TypeAlias = list[tuple[KeyPath, str]]

# Short tables get their whole key list when a typo has no close match.
_LIST_ALLOWED_UP_TO = 8


class _Invalid:
    """Returned in place of a value that was reported."""


INVALID = _Invalid()


@dataclass(frozen=True)
class Table:
    """A TOML table with known keys; any other key is reported as unknown."""

    fields: Mapping[str, Spec]
    required: tuple[str, ...] = ()
    shorthand: Check | None = None
    """Turns a non-table written in the table's place (``health = "/up"``) into a table."""
    scalar: Check | None = None
    """Checks a non-table written in the table's place and keeps it as it is: the key
    takes either form (``workers = 4`` or ``workers = { min = 2, max = 8 }``)."""


@dataclass(frozen=True)
class MapOf:
    """A table whose keys the user chooses (``[apps.NAME]``, ``env``)."""

    value: Spec
    key: Check | None = None


@dataclass(frozen=True)
class ListOf:
    item: Spec
    non_empty: bool = False
    shorthand: Check | None = None
    """Turns a non-array written in the array's place into the array (``bind = "x"``)."""


@dataclass(frozen=True)
class Scalar:
    """One of the TOML scalar types, then any further checks."""

    kind: type
    checks: tuple[Check, ...] = field(default=())


Spec: TypeAlias = Check | Table | MapOf | ListOf | Scalar


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


EXPECTED: Mapping[type, str] = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


def is_kind(value: object, kind: type) -> bool:
    """A TOML value of this Python type; a boolean is not a number, an integer is a float."""
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def validate(spec: Spec, value: object, path: KeyPath, problems: Problems) -> object:
    """The checked value, or INVALID after appending what is wrong to ``problems``."""
    if isinstance(spec, Table):
        return _table(spec, value, path, problems)
    if isinstance(spec, MapOf):
        return _map(spec, value, path, problems)
    if isinstance(spec, ListOf):
        return _list(spec, value, path, problems)
    if isinstance(spec, Scalar):
        if not is_kind(value, spec.kind):
            return _wrong_type(spec.kind, value, path, problems)
        return _checked(spec.checks, value, path, problems)
    return _checked((spec,), value, path, problems)


def _wrong_type(kind: type, value: object, path: KeyPath, problems: Problems) -> _Invalid:
    # env values may be secrets: describe their type, never their content.
    shown = describe(value, redact="env" in path)
    problems.append((path, f"expected {EXPECTED[kind]}, got {shown}"))
    return INVALID


def _checked(checks: tuple[Check, ...], value: object, path: KeyPath, problems: Problems) -> object:
    try:
        for check in checks:
            value = check(value)
    except ValueError as exc:
        problems.append((path, str(exc)))
        return INVALID
    return value


def _table(spec: Table, value: object, path: KeyPath, problems: Problems) -> object:
    if spec.scalar is not None and not isinstance(value, dict):
        return _checked((spec.scalar,), value, path, problems)
    if spec.shorthand is not None and not isinstance(value, dict):
        value = _checked((spec.shorthand,), value, path, problems)
        if value is INVALID:
            return INVALID
    if not isinstance(value, dict):
        return _wrong_type(dict, value, path, problems)
    out: dict[str, object] = {}
    ok = True
    for key in spec.required:
        if key not in value:
            problems.append(((*path, key), "required key is missing"))
            ok = False
    for key, item in value.items():
        if key not in spec.fields:
            problems.append(((*path, key), unknown_key(key, list(spec.fields))))
            ok = False
            continue
        checked = validate(spec.fields[key], item, (*path, key), problems)
        ok = ok and checked is not INVALID
        out[key] = checked
    return out if ok else INVALID


def _map(spec: MapOf, value: object, path: KeyPath, problems: Problems) -> object:
    if not isinstance(value, dict):
        return _wrong_type(dict, value, path, problems)
    out: dict[str, object] = {}
    ok = True
    for key, item in value.items():
        here = (*path, key)
        if spec.key is not None and _checked((spec.key,), key, here, problems) is INVALID:
            ok = False
        checked = validate(spec.value, item, here, problems)
        ok = ok and checked is not INVALID
        out[key] = checked
    return out if ok else INVALID


def _list(spec: ListOf, value: object, path: KeyPath, problems: Problems) -> object:
    written_as_array = isinstance(value, list)
    if spec.shorthand is not None and not written_as_array:
        value = _checked((spec.shorthand,), value, path, problems)
        if value is INVALID:
            return INVALID
    if not isinstance(value, list):
        return _wrong_type(list, value, path, problems)
    if spec.non_empty and not value:
        problems.append((path, "must not be empty"))
        return INVALID
    # Items of an array the user did not write are reported at the key itself.
    out = [
        validate(spec.item, item, (*path, i) if written_as_array else path, problems)
        for i, item in enumerate(value)
    ]
    return INVALID if any(item is INVALID for item in out) else out


def unknown_key(key: str, allowed: list[str]) -> str:
    import difflib

    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    if allowed and len(allowed) <= _LIST_ALLOWED_UP_TO:
        return f"{message}; expected one of: {', '.join(allowed)}"
    return message


def at_least(bound: float) -> Check:
    def check(value: object) -> object:
        if value < bound:  # type: ignore[operator]
            raise ValueError(f"must be >= {bound}, got {value!r}")
        return value

    return check


def at_most(bound: float) -> Check:
    def check(value: object) -> object:
        if value > bound:  # type: ignore[operator]
            raise ValueError(f"must be <= {bound}, got {value!r}")
        return value

    return check


def one_of(*choices: str) -> Check:
    expected = " or ".join(", ".join(repr(c) for c in choices).rsplit(", ", 1))

    def check(value: object) -> object:
        if value not in choices:
            raise ValueError(f"must be {expected}, got {describe(value, redact=False)}")
        return value

    return check


def one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def non_empty(value: object) -> object:
    if not value:
        raise ValueError("must not be empty")
    return value
