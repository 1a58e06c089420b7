"""gaia's YAML emitter: PyYAML reads back exactly what was written, for awkward values."""

from __future__ import annotations

import random

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
    "2001-12-14",
    "2001-12-14 21:59:43.10 -5",
    "😀 emoji",
    "next\x85line",
    "sep\u2028arator",
    "\ufeffbom",
    "nul\x00",
    "del\x7f",
    "back\\slash",
    "$HOME",
    "%h",
]

# Every character class that has broken a YAML writer somewhere.
HOSTILE = "ab yZ09:#-?!&*|>%@`'\"\\\n\t\r\x00\x1b\x7f\x85\xa0\u2028\u2029\ufeffé😀{}[],$~="


def test_awkward_strings_round_trip() -> None:
    data = {"values": AWKWARD, "map": {v: v for v in AWKWARD if v}}
    assert yaml.safe_load(dump(data)) == data


def test_generated_hostile_strings_round_trip() -> None:
    rng = random.Random(20261206)  # fixed: a failure replays
    values = ["".join(rng.choices(HOSTILE, k=rng.randint(0, 12))) for _ in range(2000)]
    data = {"values": values, "map": {v: v for v in values}}
    assert yaml.safe_load(dump(data)) == data


def test_every_string_value_is_quoted() -> None:
    assert dump({"a": "plain"}) == 'a: "plain"\n'
    assert dump({"yes": 1, "ok": 2}) == '"yes": 1\nok: 2\n'


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
