from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config.envfile import parse_env_text, read_env_file


def test_supported_syntax() -> None:
    values, problems = parse_env_text(
        "\ufeff# comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "  SPACED  =  padded  \n"
        "EMPTY=\n"
        "SINGLE='no $interp \\n here' # trailing\n"
        'DOUBLE="line\\nbreak \\"q\\" \\\\ \\t"\n'
        "HASH=a#b\n"
        "COMMENTED=value # note\n"
        "URL=postgres://u:p@h/db?x=1\n"
        "REPEATED=1\n"
        "REPEATED=2\n"
    )
    assert problems == []
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "padded",
        "EMPTY": "",
        "SINGLE": "no $interp \\n here",
        "DOUBLE": 'line\nbreak "q" \\ \t',
        "HASH": "a#b",
        "COMMENTED": "value",
        "URL": "postgres://u:p@h/db?x=1",
        "REPEATED": "2",
    }


def test_no_interpolation() -> None:
    values, _ = parse_env_text('A=1\nB=$A\nC="${A}"\n')
    assert values == {"A": "1", "B": "$A", "C": "${A}"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("A=1\njust words\n", 2, "expected KEY=VALUE"),
        ("A=1\n\n1BAD=x\n", 3, "expected KEY=VALUE with a name of letters"),
        ("A='open\n", 1, "unterminated single quote"),
        ('A="open\n', 1, "unterminated double quote"),
        ('A="x" y\n', 1, "unexpected text after the closing quote"),
    ],
)
def test_malformed_lines(text: str, line: int, message: str) -> None:
    _, problems = parse_env_text(text)
    assert len(problems) == 1
    assert problems[0].line == line
    assert message in problems[0].message


def test_all_problems_reported_and_values_never_echoed() -> None:
    _, problems = parse_env_text("oops hunter2\nTOKEN='hunter2\nOK=1\nx y=hunter2\n")
    assert [p.line for p in problems] == [1, 2, 4]
    assert problems[1].key == "TOKEN"
    assert all("hunter2" not in p.message for p in problems)


def test_read_env_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\r\nB=2\r\n")
    assert read_env_file(path) == ({"A": "1", "B": "2"}, [])


PEM_BODY = "u5ZQ7y9r+Kd0cW1x3mJ8bN2vT6aQeR4s/LpY0hZ=\nAbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/==\n"


def test_a_multi_line_value_is_reported_without_any_fragment_of_it() -> None:
    _, problems = parse_env_text(f'TLS_KEY="-----BEGIN PRIVATE KEY-----\n{PEM_BODY}-----END"\n')
    assert problems[0].line == 1
    assert problems[0].key == "TLS_KEY"
    assert "cannot span lines" in problems[0].message
    assert [p.line for p in problems] == [1, 2, 3, 4]
    for fragment in ("u5ZQ", "AbCd", "BEGIN", "END", "PRIVATE"):
        assert all(fragment not in p.message for p in problems), fragment


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"])
def test_only_newlines_end_a_variable(separator: str) -> None:
    values, problems = parse_env_text(f"NOTE='a{separator}B=stolen'\nNEXT=1\r\nLAST=2")
    assert problems == []
    assert values == {"NOTE": f"a{separator}B=stolen", "NEXT": "1", "LAST": "2"}


def test_a_nul_in_a_value_is_an_error_that_does_not_show_it() -> None:
    _, problems = parse_env_text("TOKEN=hunter2\0x\n")
    assert [(p.line, p.key) for p in problems] == [(1, "TOKEN")]
    assert "NUL" in problems[0].message
    assert "hunter2" not in problems[0].message
