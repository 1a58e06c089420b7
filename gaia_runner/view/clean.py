"""Child output made safe for the terminal: no escapes, no control characters, one line
per line. Kept apart from the status table so plain output never loads Rich."""

from __future__ import annotations

import re
from collections.abc import Sequence

# CSI (colours, cursor moves), OSC (titles, hyperlinks) and the remaining two-byte escapes:
# a child's output must not be able to move the cursor under the live table.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# The same, for many lines at once: nothing may match across a newline.
_BLOCK_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
)
_BLOCK_CR_AT_END = re.compile(r"\r+(?=\n|$)")
_BLOCK_OVERDRAWN = re.compile(r"[^\n]*\r")
_BLOCK_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ASCII_CONTROLS = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


def clean_line(line: str) -> str:
    """Make one line of child output safe to put on the terminal as plain text, on one line."""
    line = _ESCAPES.sub("", line.rstrip("\r\n"))
    # A progress bar redraws with \r: keep what a terminal would have left visible.
    line = line.rsplit("\r", 1)[-1]
    line = _CONTROLS.sub("", line.expandtabs())
    # Lone surrogates (undecodable bytes) would raise on every later write.
    return line.encode("utf-8", "replace").decode("utf-8")


def clean_block(text: str) -> str:
    """clean_line for newline-separated lines at once: a few passes over a whole batch
    instead of Python work per line, which a chatty app would turn into gaia's CPU."""
    if "\x1b" in text:
        text = _BLOCK_ESCAPES.sub("", text)
    if "\r" in text:
        text = _BLOCK_OVERDRAWN.sub("", _BLOCK_CR_AT_END.sub("", text))
    text = text.expandtabs()
    if text.isascii():
        # Most output: deleting bytes by table is several times faster than a regex pass,
        # and pure ASCII holds no lone surrogates.
        return text.encode("ascii").translate(None, _ASCII_CONTROLS).decode("ascii")
    text = _BLOCK_CONTROLS.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8")


# A child that prints a megabyte without a newline must not stall every redraw.
MAX_LINE_CHARS = 10_000


def prefix(app: str, source: str = "") -> str:
    return f"{app}:{source}" if source else app


def printable_block(texts: Sequence[str]) -> str:
    """The batch as one cleaned, newline-separated text: one pass per batch, not per line,
    so a chatty app costs gaia little."""
    text = clean_block("\n".join(texts))
    # Cleaning only shortens a line, except for tabs (at most 8 columns each): most
    # batches are proven short from their input lengths without splitting them.
    if max(map(len, texts), default=0) * 8 > MAX_LINE_CHARS:
        text = "\n".join(
            line[:MAX_LINE_CHARS] + "…" if len(line) > MAX_LINE_CHARS else line
            for line in text.split("\n")
        )
    return text


def printable_lines(texts: Sequence[str]) -> list[str]:
    return printable_block(texts).split("\n")
