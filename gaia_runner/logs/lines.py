"""Turn a byte stream into whole text lines: none lost, none split, any bytes accepted."""

from __future__ import annotations

import re

# A child that writes megabytes without a newline must not grow gaia without bound;
# past this a line is cut, and the cut is marked.
MAX_LINE_BYTES = 256 * 1024
CUT_MARK = " [line cut]"
_CR_BEFORE_NEWLINE = re.compile(r"\r+\n")


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


class LineSplitter:
    """Splits a whole chunk at once: a chatty app's output costs a few C-level passes per
    read, not Python work per line."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_line_bytes

    def feed(self, chunk: bytes) -> list[str]:
        end = chunk.rfind(b"\n")
        if end < 0:
            self._buffer += chunk
            return self._cut_overlong()
        # Cut only at the last newline, so a multi-byte character split across reads is
        # decoded whole with the next chunk.
        if self._buffer:
            self._buffer += chunk[: end + 1]
            whole = bytes(self._buffer)
            self._buffer.clear()
        else:
            whole = chunk[: end + 1]
        self._buffer += chunk[end + 1 :]
        text = whole.decode("utf-8", errors="replace")
        if "\r" in text:
            text = _CR_BEFORE_NEWLINE.sub("\n", text)
        lines = text.split("\n")
        lines.pop()  # the empty string after the final newline
        return lines + self._cut_overlong()

    def _cut_overlong(self) -> list[str]:
        lines: list[str] = []
        while len(self._buffer) > self._max:
            lines.append(decode(bytes(self._buffer[: self._max])) + CUT_MARK)
            del self._buffer[: self._max]
        return lines

    def close(self) -> list[str]:
        """The unterminated tail, if any, is still a line."""
        if not self._buffer:
            return []
        rest = decode(bytes(self._buffer))
        self._buffer.clear()
        return [rest]
