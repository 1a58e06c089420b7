def test_an_uptime_shows_seconds_only_in_its_first_minute() -> None:
    """A table of long-running apps changes once a minute, not every second."""
    from gaia_runner.model.units import format_age

    assert [format_age(s) for s in (0, 59.9, 60, 93, 3599, 3600, 3725, 90000)] == [
        "0s",
        "59s",
        "1m",
        "1m",
        "59m",
        "1h00m",
        "1h02m",
        "1d01h",
    ]
    assert format_age(-1) == "-"
