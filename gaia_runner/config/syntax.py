"""A TOML syntax error as a message that never shows text from an env value.

A syntax error can sit anywhere: in the middle of a multi-line string holding a
private key, on a line of an inline env table, inside an `[apps.x.env]` table. What
tomllib says is a fixed phrase plus, for a few errors, the offending character: that
character is dropped. The offending line is quoted only when it is provably outside
every env value: it starts outside any string, array or inline table, no `env` table
is open, and the word "env" appears nowhere on it. Otherwise only the place is given.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config.errors import ConfigIssue
from gaia_runner.config.locate import decode_error_position

_SHOWN_LINE_MAX = 100
_COLUMN = re.compile(r"\(at line \d+, column (\d+)\)")
# The only tomllib messages that quote the source: one character, maybe from a value.
_QUOTED_CHARACTER = re.compile(r"^(Illegal character|Found invalid character) .*$")
_HIDDEN = "(the line is not shown: it may be part of an env value)"


def syntax_issue(exc: tomllib.TOMLDecodeError, text: str, path: Path) -> ConfigIssue:
    message, line = decode_error_position(exc, text)
    message = _QUOTED_CHARACTER.sub(r"\1", message)
    column = _COLUMN.search(str(exc.args[0]) if exc.args else str(exc))
    if column is not None:
        message = f"{message} at column {column.group(1)}"
    if line is not None:
        source = _quotable_line(text, line)
        message = f"{message} in: {source}" if source is not None else f"{message} {_HIDDEN}"
    return ConfigIssue(path, line, "", f"invalid TOML: {message}")


def _quotable_line(text: str, line: int) -> str | None:
    """Line ``line`` (1-based) of ``text`` when it is provably outside any env value."""
    # TOML lines end at \n only; str.splitlines() would also split at U+2028 and friends.
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    state = _scan("\n".join(lines[: line - 1]) + "\n")
    source = lines[line - 1].rstrip("\r").strip()
    if state.inside or state.env_table or "env" in source:
        return None
    if len(source) > _SHOWN_LINE_MAX:
        source = source[: _SHOWN_LINE_MAX - 3] + "..."
    return source


@dataclass
class _State:
    inside: bool  # in a string, an array or an inline table
    env_table: bool  # the latest table header names an env table


def _scan(text: str) -> _State:
    """Where a TOML reader stands at the end of ``text``: a rough scanner that errs
    towards "inside", since it only decides whether a line may be shown."""
    depth = 0
    quote = ""  # '"', "'", '"""' or "'''" while in a string
    env_table = False
    i = 0
    at_line_start = True
    while i < len(text):
        ch = text[i]
        if quote:
            if (quote == '"' and ch == "\\") or (quote == '"""' and ch == "\\"):
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
            if ch == "\n" and len(quote) == 1:
                quote = ""  # an unterminated one-line string ends with its line
                at_line_start = True
            i += 1
            continue
        if ch == "\n":
            at_line_start = True
            i += 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if at_line_start and depth == 0 and ch == "[":
            end = text.find("\n", i)
            header = text[i : len(text) if end < 0 else end]
            env_table = _names_env(header.split("]", 1)[0])
            i = len(text) if end < 0 else end
            continue
        at_line_start = False
        if text.startswith(('"""', "'''"), i):
            quote = text[i : i + 3]
            i += 3
        elif ch in "\"'":
            quote = ch
            i += 1
        else:
            depth += ch in "[{"
            depth -= ch in "]}" and depth > 0
            i += 1
    return _State(inside=bool(quote) or depth > 0, env_table=env_table)


def _names_env(header: str) -> bool:
    parts = header.strip("[ \t").split(".")
    return any(part.strip(" \t\"'") == "env" for part in parts)
