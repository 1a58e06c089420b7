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
        ("A=1\n\n1BAD=x\n", 3, "invalid variable name '1BAD'"),
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
