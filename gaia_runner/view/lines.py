"""Turn a byte stream into whole text lines: none lost, none split, any bytes accepted."""

from __future__ import annotations

# A child that writes megabytes without a newline must not grow gaia without bound;
# past this a line is cut, and the cut is marked.
MAX_LINE_BYTES = 256 * 1024


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


class LineSplitter:
    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_line_bytes

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        lines: list[str] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            lines.append(decode(bytes(self._buffer[:end])))
            del self._buffer[: end + 1]
        while len(self._buffer) > self._max:
            lines.append(decode(bytes(self._buffer[: self._max])) + " [line cut]")
            del self._buffer[: self._max]
        return lines

    def close(self) -> list[str]:
        """The unterminated tail, if any, is still a line."""
        if not self._buffer:
            return []
        rest = decode(bytes(self._buffer))
        self._buffer.clear()
        return [rest]
