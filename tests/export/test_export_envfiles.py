"""Env files are exported only when Compose (format: raw) and kubectl read them as gaia does."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.export import Unexportable
from gaia_runner.export.envfiles import check_exportable, literal_problems

pytestmark = pytest.mark.timeout(10)


def test_plain_lines_with_dollars_and_percent_are_exportable() -> None:
    text = "# c\n\nA=pa$$word\nB=$HOME/x%h\nC=\nD=a=b\n"
    assert literal_problems(text) == []


@pytest.mark.parametrize(
    "line",
    [
        'S="secret value"',
        "S='secret'",
        "export S=secret",
        "S = secret",
        "S=secret # note",
        "S=secret ",
    ],
)
def test_lines_read_differently_are_named_without_their_value(line: str) -> None:
    problems = literal_problems(f"OK=1\n{line}\n")
    assert problems and all("line 2" in p for p in problems), problems
    assert not any("secret" in p for p in problems)


def test_the_error_names_the_file(tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text('TOKEN="hunter2"\n')
    with pytest.raises(Unexportable, match=r"app.env: line 1 \(TOKEN\)") as caught:
        check_exportable(env, "app.env")
    assert "hunter2" not in str(caught.value)
