"""gaia's YAML emitter: PyYAML reads back exactly what was written, for awkward values."""

from __future__ import annotations

import pytest
import yaml

from gaia_runner.export.yaml import dump, dump_all

pytestmark = pytest.mark.timeout(10)

AWKWARD = [
    "yes",
    "No",
    "on",
    "null",
    "~",
    "",
    "1",
    "1.5",
    "0x1f",
    "1e3",
    "1:30",
    "-",
    "--host",
    "a: b",
    "#x",
    "x #y",
    "*a",
    "&a",
    "!t",
    "@x",
    "`x",
    "'q'",
    '"q"',
    "line\nbreak",
    "tab\there",
    " lead",
    "trail ",
    "café",
    "{}",
    "[1]",
    "%x",
    "?",
    "|",
    ">",
    "0.0.0.0",
    "8443",
    "true",
    ".inf",
    "=",
    "a,b",
]


def test_awkward_strings_round_trip() -> None:
    data = {"values": AWKWARD, "map": {v: v for v in AWKWARD if v}}
    assert yaml.safe_load(dump(data)) == data


def test_scalars_nesting_and_empties_round_trip() -> None:
    data = {
        "n": 1,
        "f": 0.5,
        "b": False,
        "none": None,
        "empty": {},
        "list": [],
        "deep": [{"a": [1, {"b": []}]}, [1, 2]],
    }
    assert yaml.safe_load(dump(data)) == data


def test_comments_and_documents() -> None:
    text = dump_all([dump({"a": 1}, ["one", "two\nthree"]), dump({"b": 2})])
    assert text.startswith("---\n# one\n# two\n# three\na: 1\n---\n")
    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": 2}]
