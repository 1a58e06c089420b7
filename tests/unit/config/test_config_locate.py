from __future__ import annotations

import tomllib

import pytest

from gaia_runner.config.locate import KeyLines, decode_error_position

SOURCE = """\
# a comment with [brackets] and key = value
[gaia]
state_dir = ".gaia"

[apps.web]
app = "app:app"   # trailing comment
https = { certfile = "c.pem", keyfile = "k.pem", nested = { deep = 1 } }
bind = [
  "127.0.0.1:8000",  # first
  "unix:/tmp/web.sock",
]
notes = \"\"\"
[apps.fake]
workers = 99
\"\"\"
literal = '''
x = 1'''
"quoted.key" = 1
memory.worker = "1GiB"

[apps."odd name"]
command = ["a", "b"]

[[things]]
name = "one"
[things.sub]
x = 1
[[things]]
name = "two"

[ apps . web . health ]
path = "/h"
"""


@pytest.fixture(scope="module")
def lines() -> KeyLines:
    tomllib.loads(SOURCE)  # the scanner only ever sees valid TOML
    return KeyLines(SOURCE)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("gaia",), 2),
        (("gaia", "state_dir"), 3),
        (("apps", "web"), 5),
        (("apps", "web", "app"), 6),
        (("apps", "web", "https"), 7),
        (("apps", "web", "https", "keyfile"), 7),
        (("apps", "web", "https", "nested", "deep"), 7),
        (("apps", "web", "bind"), 8),
        (("apps", "web", "bind", 0), 9),
        (("apps", "web", "bind", 1), 10),
        (("apps", "web", "notes"), 12),
        (("apps", "web", "literal"), 16),
        (("apps", "web", "quoted.key"), 18),
        (("apps", "web", "memory"), 19),
        (("apps", "web", "memory", "worker"), 19),
        (("apps", "odd name"), 21),
        (("apps", "odd name", "command"), 22),
        (("things", 0), 24),
        (("things", 0, "name"), 25),
        (("things", 0, "sub", "x"), 27),
        (("things", 1, "name"), 29),
        (("apps", "web", "health", "path"), 32),
    ],
)
def test_line_of_known_keys(lines: KeyLines, path: tuple[str | int, ...], line: int) -> None:
    assert lines.line_of(path) == line


def test_strings_that_look_like_tables_are_not_tables(lines: KeyLines) -> None:
    assert lines.line_of(("apps", "fake")) == 5  # falls back to [apps]


def test_missing_key_falls_back_to_its_table(lines: KeyLines) -> None:
    assert lines.line_of(("apps", "web", "workers")) == 5


def test_inside_an_inline_table_falls_back_to_its_line(lines: KeyLines) -> None:
    assert lines.line_of(("apps", "web", "https", "ca_certs")) == 7
    assert lines.line_of(("apps", "web", "bind", 5)) == 8


def test_unknown_path_has_no_line(lines: KeyLines) -> None:
    assert lines.line_of(("nothing", "here")) is None
    assert lines.line_of(()) is None


def test_confusing_text_does_not_raise() -> None:
    assert KeyLines("x = \n[[[").line_of(("x",)) == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [("a = 1\nb = \n", 2), ("a = 1\n[x\n", 2), ("a = 1\na = 2\n", 2), ('a = "open', 1)],
)
def test_decode_error_position(text: str, line: int) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as info:
        tomllib.loads(text)
    message, found = decode_error_position(info.value, text)
    assert found == line
    assert "at line" not in message
    assert message


def test_decode_error_at_end_without_text_has_no_line() -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as info:
        tomllib.loads('a = "open')
    assert decode_error_position(info.value)[1] is None
