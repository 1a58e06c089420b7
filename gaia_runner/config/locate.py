"""Line numbers for TOML key paths.

tomllib returns plain dicts with no positions, yet every message should name a
line. This scanner walks the already-validated source once and records where
each key path first appears; lookups fall back to the longest recorded prefix,
so a problem inside an inline table points at the line that opens it and a
missing key points at its table's header.

It only ever sees text tomllib accepted, so it can be lenient: if it gets
confused it stops and keeps what it has rather than raising.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Sequence

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[\s,\]}#]")
_DECODE_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_DECODE_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


class _Confused(Exception):
    pass


class KeyLines:
    """Maps key paths such as ``("apps", "web", "workers")`` to 1-based lines."""

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        self._text = text
        self._pos = 0
        self._line = 1
        self._table: KeyPath = ()
        self._array_tables: dict[KeyPath, int] = {}
        with contextlib.suppress(_Confused, IndexError):
            self._scan_document()

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path``, or of its longest recorded prefix; None if nothing matches."""
        key = tuple(path)
        for end in range(len(key), 0, -1):
            line = self._lines.get(key[:end])
            if line is not None:
                return line
        return None

    # -- scanning -------------------------------------------------------------

    def _record(self, path: KeyPath, line: int) -> None:
        for end in range(1, len(path) + 1):
            self._lines.setdefault(path[:end], line)

    def _peek(self, n: int = 1) -> str:
        return self._text[self._pos : self._pos + n]

    def _advance(self, n: int = 1) -> None:
        chunk = self._text[self._pos : self._pos + n]
        self._line += chunk.count("\n")
        self._pos += n

    def _skip_blank(self, newlines: bool) -> None:
        """Skip spaces and comments, and newlines too when ``newlines``."""
        while self._pos < len(self._text):
            ch = self._text[self._pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self._advance()
            elif ch == "#":
                end = self._text.find("\n", self._pos)
                self._advance((len(self._text) if end < 0 else end) - self._pos)
            else:
                return

    def _scan_document(self) -> None:
        while True:
            self._skip_blank(newlines=True)
            if self._pos >= len(self._text):
                return
            if self._peek(2) == "[[":
                self._scan_header(array=True)
            elif self._peek() == "[":
                self._scan_header(array=False)
            else:
                self._scan_key_value(self._table)

    def _scan_header(self, *, array: bool) -> None:
        line = self._line
        self._advance(2 if array else 1)
        self._skip_blank(newlines=False)
        keys = self._scan_key()
        self._skip_blank(newlines=False)
        self._advance(2 if array else 1)
        path = self._resolve_header(keys)
        if array:
            index = self._array_tables.get(path, 0)
            self._array_tables[path] = index + 1
            path = (*path, index)
        self._record(path, line)
        self._table = path

    def _resolve_header(self, keys: Sequence[str]) -> KeyPath:
        # A header below an array of tables belongs to that array's latest element.
        path: KeyPath = ()
        for i, key in enumerate(keys):
            path = (*path, key)
            count = self._array_tables.get(path)
            if count is not None and i < len(keys) - 1:
                path = (*path, count - 1)
        return path

    def _scan_key_value(self, prefix: KeyPath) -> None:
        line = self._line
        keys = self._scan_key()
        self._skip_blank(newlines=False)
        if self._peek() != "=":
            raise _Confused
        self._advance()
        self._skip_blank(newlines=False)
        path = (*prefix, *keys)
        self._record(path, line)
        self._scan_value(path)

    def _scan_key(self) -> list[str]:
        keys = [self._scan_simple_key()]
        while True:
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return keys
            self._advance()
            self._skip_blank(newlines=False)
            keys.append(self._scan_simple_key())

    def _scan_simple_key(self) -> str:
        ch = self._peek()
        if ch in ('"', "'"):
            return self._scan_string()
        match = _BARE_KEY.match(self._text, self._pos)
        if match is None:
            raise _Confused
        self._advance(match.end() - self._pos)
        return match.group()

    def _scan_value(self, path: KeyPath) -> None:
        ch = self._peek()
        if ch == "{":
            self._scan_inline_table(path)
        elif ch == "[":
            self._scan_array(path)
        elif ch in ('"', "'"):
            self._scan_string()
        else:
            match = _SCALAR_END.search(self._text, self._pos)
            end = len(self._text) if match is None else match.start()
            if end == self._pos:
                raise _Confused
            self._advance(end - self._pos)

    def _scan_inline_table(self, path: KeyPath) -> None:
        self._advance()
        while True:
            self._skip_blank(newlines=False)
            if self._peek() == "}":
                self._advance()
                return
            self._scan_key_value(path)
            self._skip_blank(newlines=False)
            if self._peek() == ",":
                self._advance()

    def _scan_array(self, path: KeyPath) -> None:
        self._advance()
        index = 0
        while True:
            self._skip_blank(newlines=True)
            if self._peek() == "]":
                self._advance()
                return
            self._record((*path, index), self._line)
            self._scan_value((*path, index))
            index += 1
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self._advance()

    def _scan_string(self) -> str:
        quote = self._peek()
        if self._peek(3) == quote * 3:
            return self._scan_multiline_string(quote)
        self._advance()
        start = self._pos
        while True:
            ch = self._peek()
            if ch in ("", "\n"):
                raise _Confused
            if ch == "\\" and quote == '"':
                self._advance(2)
                continue
            if ch == quote:
                raw = self._text[start : self._pos]
                self._advance()
                return _unescape(raw) if quote == '"' else raw
            self._advance()

    def _scan_multiline_string(self, quote: str) -> str:
        self._advance(3)
        while True:
            ch = self._peek()
            if ch == "":
                raise _Confused
            if ch == "\\" and quote == '"':
                self._advance(2)
                continue
            if self._peek(3) == quote * 3:
                # Up to two quotes may sit right before the closing delimiter.
                while self._peek(4) == quote * 4:
                    self._advance()
                self._advance(3)
                return ""
            self._advance()


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        value = tomllib.loads(f'k = "{raw}"')["k"]
    except tomllib.TOMLDecodeError:
        return raw
    return value if isinstance(value, str) else raw


def decode_error_position(
    exc: tomllib.TOMLDecodeError, text: str | None = None
) -> tuple[str, int | None]:
    """Split a TOMLDecodeError into its message and 1-based line.

    Python 3.11-3.13 only put the position in the message text, as
    "Invalid value (at line 3, column 9)" or "... (at end of document)"; the
    latter is mapped to the last line when the source ``text`` is given.
    """
    message = str(exc.args[0]) if exc.args else str(exc)
    match = _DECODE_POSITION.search(message)
    if match is not None:
        return message[: match.start()], int(match.group(1))
    at_end = _DECODE_AT_END.search(message)
    if at_end is not None:
        # TOML lines end at \n only; str.splitlines() would also split at U+2028 and friends.
        last = max(1, len(text.rstrip("\n").split("\n"))) if text is not None else None
        return message[: at_end.start()] + " at end of file", last
    line = getattr(exc, "lineno", None)
    return message, line if isinstance(line, int) else None


def deepest_line(text: str) -> int | None:
    """The 1-based line where brackets nest deepest, for a file too deep to parse.

    A rough count that skips comments and strings; it only picks a line to show.
    """
    depth = deepest = 0
    line, found = 1, None
    quote = ""
    for i, ch in enumerate(text):
        if ch == "\n":
            line += 1
            quote = "" if quote in ('"', "'") else quote
        elif quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            quote = "#"
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, found = depth, line
        elif ch in "]}":
            depth = max(0, depth - 1)
    return found
