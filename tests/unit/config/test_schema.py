"""The small validator under raw.py: shapes, paths and messages."""

from __future__ import annotations

from pathlib import Path

import tomli_w

from gaia_runner.config import ConfigError, parse_config_text
from gaia_runner.config.schema import (
    INVALID,
    ListOf,
    MapOf,
    Problems,
    Scalar,
    Table,
    at_least,
    one_of,
    one_or_many,
    validate,
)
from gaia_runner.config.settings import FILE

PORTS = Table(
    {
        "name": Scalar(str),
        "port": Scalar(int, (at_least(1),)),
        "ratio": Scalar(float),
        "mode": one_of("a", "b", "c"),
        "hosts": ListOf(Scalar(str), non_empty=True, shorthand=one_or_many),
        "env": MapOf(Scalar(str)),
    },
    required=("name",),
)


def check(data: object) -> tuple[object, Problems]:
    problems: Problems = []
    return validate(PORTS, data, ("t",), problems), problems


def test_a_valid_table_comes_back_with_only_the_keys_written() -> None:
    value, problems = check({"name": "x", "ratio": 2, "hosts": "h"})
    assert problems == []
    assert value == {"name": "x", "ratio": 2, "hosts": ["h"]}


def test_every_problem_is_reported_with_its_key_path() -> None:
    value, problems = check({"port": 0, "mode": "d", "hosts": ["h", 5], "prot": 1})
    assert value is INVALID
    assert sorted(problems) == sorted(
        [
            (("t", "name"), "required key is missing"),
            (("t", "port"), "must be >= 1, got 0"),
            (("t", "mode"), "must be 'a', 'b' or 'c', got string 'd'"),
            (("t", "hosts", 1), "expected a string, got integer 5"),
            (("t", "prot"), "unknown key 'prot'; did you mean 'port'?"),
        ]
    )


def test_booleans_are_not_numbers_and_nothing_is_coerced() -> None:
    _, problems = check({"name": "x", "port": True, "ratio": "1.5"})
    assert (("t", "port"), "expected an integer, got true") in problems
    assert (("t", "ratio"), "expected a number, got string '1.5'") in problems


def test_a_single_item_written_without_the_array_is_reported_at_the_key() -> None:
    _, problems = check({"name": "x", "hosts": 7})
    assert problems == [(("t", "hosts"), "expected an array, got integer 7")]
    _, problems = check({"name": "x", "hosts": []})
    assert problems == [(("t", "hosts"), "must not be empty")]


def test_env_values_are_described_by_type_only() -> None:
    _, problems = check({"name": "x", "env": {"TOKEN": 12345}})
    assert problems == [(("t", "env", "TOKEN"), "expected a string, got an integer")]


def test_a_table_in_the_wrong_shape() -> None:
    value, problems = check(["not", "a", "table"])
    assert value is INVALID
    assert problems == [(("t",), "expected a table, got an array")]


def _leaf_paths(spec: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every key, tables included (a wrong value where a table belongs, too)."""
    here = [path] if path else []
    if isinstance(spec, Table):
        return here + [
            p for key, sub in spec.fields.items() for p in _leaf_paths(sub, (*path, key))
        ]
    if isinstance(spec, MapOf):
        return here + _leaf_paths(spec.value, (*path, "web" if path == ("apps",) else "KEY"))
    return here


def _nest(path: tuple[str, ...], value: object) -> dict[str, object]:
    data: dict[str, object] = {}
    here = data
    for key in path[:-1]:
        here = here.setdefault(key, {})  # type: ignore[assignment]
    here[path[-1]] = value
    return data


WRONG = [
    True,
    -(2**63),
    1e308,
    "",
    "\0",
    [],
    [{}],
    {"x": {}},
    __import__("datetime").date(2026, 1, 1),
]


def test_no_wrong_value_anywhere_is_a_crash(tmp_path: Path) -> None:
    # Every key of gaia.toml, every kind of wrong value, through the whole loader (cross-key
    # checks and building included): reported, never an internal error.
    for path in _leaf_paths(FILE, ()):
        for value in WRONG:
            data = _nest(path, value)
            apps = data.setdefault("apps", {})
            if isinstance(apps, dict) and isinstance(apps.setdefault("web", {}), dict):
                apps["web"].setdefault("app", "m:app")
            try:
                parse_config_text(tomli_w.dumps(data), tmp_path / "gaia.toml", check_files=False)
            except ConfigError as exc:
                assert "bug" not in str(exc), (path, value, str(exc))
