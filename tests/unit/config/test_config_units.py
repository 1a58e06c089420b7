from __future__ import annotations

import math

import pytest

from gaia_runner.config.units import parse_duration, parse_size
from gaia_runner.model.units import format_duration, format_size


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (30, 30.0),
        (1.5, 1.5),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("1m30s", 90.0),
        ("1h 2m 3s", 3723.0),
        ("2d", 172800.0),
        ("45", 45.0),
        (" 10S ", 10.0),
    ],
)
def test_parse_duration_accepts(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["abc", "", "5x", "s", "1m30", "m5", True, None, [1], math.inf])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="expected a duration such as"):
        parse_duration(value)


def test_parse_duration_message_shows_the_input() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("abc")
    assert str(info.value) == (
        'expected a duration such as "500ms", "30s", "5m" or a number of seconds, got "abc"'
    )


@pytest.mark.parametrize("value", [-1, "-5", -0.5])
def test_parse_duration_rejects_negative(value: object) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (0, 0),
        (2048, 2048),
        ("2048", 2048),
        ("512MiB", 512 * 1024**2),
        ("1GB", 1000**3),
        ("1.5GiB", 3 * 1024**3 // 2),
        ("100KB", 100_000),
        ("100KiB", 102_400),
        ("512m", 512 * 1024**2),
        ("2G", 2 * 1024**3),
        ("1k", 1024),
        ("10 MB", 10_000_000),
        ("7b", 7),
        ("1TiB", 1024**4),
    ],
)
def test_parse_size_accepts(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["abc", "", "12XB", "MiB", "1.2.3MB", True, None, {}])
def test_parse_size_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="expected a size such as"):
        parse_size(value)


def test_parse_size_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_size(-1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.45, "450ms"),
        (12, "12s"),
        (12.9, "12s"),
        (185, "3m05s"),
        (3720, "1h02m"),
        (90000, "1d01h"),
        (-1, "-"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (900, "900B"),
        (900 * 1024, "900KiB"),
        (512 * 1024**2, "512MiB"),
        (3 * 1024**3 // 2, "1.5GiB"),
        (1024**3 - 1, "1GiB"),
        (12 * 1024**3, "12GiB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_size_round_trip() -> None:
    for text in ("512MiB", "1.5GiB", "900KiB"):
        assert format_size(parse_size(text)) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(900, "900B"), (3 * 1024**3 // 2, "1.5GiB"), (int(12.4 * 1024**2), "12MiB"), (-2048, "-2KiB")],
)
def test_format_size_short_keeps_a_decimal_only_below_ten(size: int, text: str) -> None:
    assert format_size(size, short=True) == text
