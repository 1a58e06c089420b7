"""A strict, predictable `.env` reader.

Supported: ``KEY=VALUE``, ``export KEY=VALUE``, ``#`` comment lines, blank
lines, ``'single'`` quotes (literal) and ``"double"`` quotes (``\\n``, ``\\t``,
``\\r``, ``\\"``, ``\\\\`` escapes). An unquoted value ends at `` #`` (a comment
after whitespace). There is deliberately no ``$VAR`` interpolation: values are
taken exactly as written, so what you see in the file is what the app gets.

Values are often secrets, so error messages mention line numbers and key names,
never the text of a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config.inputs import InputError, ReadAs, read_input

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")
# Only \n (or \r\n) ends a line: str.splitlines() would also split at U+2028,
# \x1c, \x85 and others, turning the rest of a value into a variable of its own.
_LINE_END = re.compile(r"\r?\n")
_UNQUOTED_COMMENT = re.compile(r"\s+#.*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class EnvFileProblem:
    """A malformed line: 1-based ``line``, the variable name if one was readable."""

    line: int
    key: str
    message: str


def parse_env_text(text: str) -> tuple[dict[str, str], list[EnvFileProblem]]:
    """Variables in file order (a repeated key keeps its last value) and all problems."""
    values: dict[str, str] = {}
    problems: list[EnvFileProblem] = []
    for number, line in enumerate(_LINE_END.split(text.removeprefix("\ufeff")), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            problems.append(_bad_line(number, line))
            continue
        key, raw = match.group(1), match.group(2)
        try:
            values[key] = _checked(_value(raw))
        except ValueError as exc:
            problems.append(EnvFileProblem(number, key, str(exc)))
    return values, problems


def _checked(value: str) -> str:
    if "\0" in value:
        raise ValueError("the value contains a NUL character, which no process can receive")
    return value


def _bad_line(number: int, line: str) -> EnvFileProblem:
    # Nothing from the line is quoted: what looks like a name before "=" is as
    # likely a fragment of a multi-line value (a PEM key's base64 padding).
    if "=" not in line:
        return EnvFileProblem(number, "", "expected KEY=VALUE")
    return EnvFileProblem(
        number,
        "",
        "expected KEY=VALUE with a name of letters, digits and underscores, "
        "not starting with a digit",
    )


def _value(raw: str) -> str:
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end < 0:
            raise ValueError("unterminated single quote (a value cannot span lines)")
        _only_comment_after(raw[end + 1 :])
        return raw[1:end]
    if raw[:1] == '"':
        return _double_quoted(raw)
    return _UNQUOTED_COMMENT.sub("", raw)


def _double_quoted(raw: str) -> str:
    out: list[str] = []
    i = 1
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            _only_comment_after(raw[i + 1 :])
            return "".join(out)
        out.append(ch)
        i += 1
    raise ValueError("unterminated double quote (a value cannot span lines: use \\n)")


def _only_comment_after(rest: str) -> None:
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise ValueError("unexpected text after the closing quote")


def read_env_file(
    path: Path, *, as_user: ReadAs | None = None, trusted: bool = False
) -> tuple[dict[str, str], list[EnvFileProblem]]:
    """Read (see inputs.read_input) and parse ``path``; InputError when it cannot be read."""
    data = read_input(path, what="env file", as_user=as_user, trusted=trusted)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "env file", "is not UTF-8 text") from None
    return parse_env_text(text)
