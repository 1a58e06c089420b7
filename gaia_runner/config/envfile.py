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

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")
_KEY_LIKE = re.compile(r"\s*(?:export\s+)?(\S+?)\s*=")
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
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            problems.append(_bad_line(number, line))
            continue
        key, raw = match.group(1), match.group(2)
        try:
            values[key] = _value(raw)
        except ValueError as exc:
            problems.append(EnvFileProblem(number, key, str(exc)))
    return values, problems


def _bad_line(number: int, line: str) -> EnvFileProblem:
    key_like = _KEY_LIKE.match(line)
    if key_like is not None:
        # The name is safe to show; it is the value that may be secret.
        return EnvFileProblem(
            number,
            "",
            f"invalid variable name {key_like.group(1)!r}: "
            "use letters, digits and underscores, not starting with a digit",
        )
    return EnvFileProblem(number, "", "expected KEY=VALUE")


def _value(raw: str) -> str:
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end < 0:
            raise ValueError("unterminated single quote")
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
    raise ValueError("unterminated double quote")


def _only_comment_after(rest: str) -> None:
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise ValueError("unexpected text after the closing quote")


def read_env_file(path: Path) -> tuple[dict[str, str], list[EnvFileProblem]]:
    """Read and parse ``path``; OSError and UnicodeDecodeError propagate."""
    return parse_env_text(path.read_text(encoding="utf-8"))
