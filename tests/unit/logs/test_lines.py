"""Splitting a child's output into lines."""

from __future__ import annotations

from gaia_runner.logs.lines import LineSplitter


def test_lines_split_across_chunks_are_joined() -> None:
    s = LineSplitter()
    assert s.feed(b"hel") == []
    assert s.feed(b"lo\nwor") == ["hello"]
    assert s.feed(b"ld\r\n\n") == ["world", ""]
    assert s.close() == []


def test_invalid_utf8_and_split_multibyte_characters() -> None:
    s = LineSplitter()
    snow = "☃".encode()
    assert s.feed(b"a" + snow[:1]) == []
    assert s.feed(snow[1:] + b"\xff\n") == ["a☃\ufffd"]


def test_unterminated_tail_is_kept_and_huge_lines_are_cut() -> None:
    s = LineSplitter(max_line_bytes=10)
    assert s.feed(b"x" * 25) == ["x" * 10 + " [line cut]", "x" * 10 + " [line cut]"]
    assert s.close() == ["xxxxx"]
