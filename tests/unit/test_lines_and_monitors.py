from __future__ import annotations

from gaia_runner.supervise.monitors import OverLimit, WorkerTurnover
from gaia_runner.view.lines import LineSplitter


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


def test_turnover_counts_births_after_the_first_set_within_the_window() -> None:
    t = WorkerTurnover(window=10.0, expected=2)
    assert t.observe(0.0, [1]) == 0  # the second initial worker is still booting
    assert t.observe(0.5, [1, 2]) == 0
    assert t.observe(1.0, [1, 2]) == 0
    assert t.observe(2.0, [1, 3]) == 1
    assert t.observe(3.0, [4, 5]) == 3
    assert t.observe(12.5, [4, 5]) == 2  # the birth at 2.0 left the window
    assert t.observe(20.0, [4, 5]) == 0


def test_over_limit_needs_consecutive_samples() -> None:
    o = OverLimit(needed=3)
    assert o.observe([7], [7, 8]) == []
    assert o.observe([7], [7, 8]) == []
    assert o.observe([], [7, 8]) == []  # a dip resets the count
    assert o.observe([7], [7, 8]) == []
    assert o.observe([7], [7, 8]) == []
    assert o.observe([7], [7, 8]) == [7]


def test_post_mortem_keeps_the_exception_that_ended_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gaia_runner.view.applog import AppLog

    log = AppLog("web", tmp_path, lambda app, source, line: None)
    for line in [
        "booting",
        "Traceback (most recent call last):",
        '  File "app.py", line 1, in <module>',
        "RuntimeError: boom",
        "worker exiting",
        "shutting down",
        "reason: worker failed to boot",
        "bye",
        "really bye",
    ]:
        log.write("", line)
    assert log.post_mortem(4) == (
        "RuntimeError: boom",
        "reason: worker failed to boot",
        "bye",
        "really bye",
    )
    log.close()


def test_log_files_roll_over_and_keep_three(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gaia_runner.view.applog import AppLog

    log = AppLog("web", tmp_path, lambda app, source, line: None, max_bytes=100)
    for i in range(100):
        log.write("", f"line {i:03d} " + "x" * 20)
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["web.log", "web.log.1", "web.log.2", "web.log.3"]
    last = (tmp_path / "web.log").read_text().splitlines()[-1]
    assert last.split(" ", 1)[1].startswith("line 099")  # after its timestamp
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
