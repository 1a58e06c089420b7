"""`gaia logs`: merging by timestamp, --since, and following across a rotation."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from gaia_runner.logs.applog import AppLog
from gaia_runner.logs.tail import Follower, format_entry, merged, parse_line, streams


def write(path: Path, *lines: str) -> None:
    with path.open("a") as out:
        out.writelines(f"{line}\n" for line in lines)


def test_lines_are_merged_by_their_stamps(tmp_path: Path) -> None:
    write(
        tmp_path / "web.log",
        "2026-01-01T10:00:01.000+00:00 one",
        "2026-01-01T10:00:03.000+00:00 three",
    )
    write(tmp_path / "api.log", "2026-01-01T10:00:02.000+00:00 two")
    write(tmp_path / "gaia.stderr.log", "not a stream")
    assert streams(tmp_path) == ["api", "web"]
    entries = merged(tmp_path, ["web", "api"], 10, None)
    assert [(e.app, e.text) for e in entries] == [("web", "one"), ("api", "two"), ("web", "three")]
    assert format_entry(entries[1], 3, timestamps=False) == "api | two"
    assert format_entry(entries[1], 3, timestamps=True) == "2026-01-01T10:00:02.000+00:00 api | two"


def test_count_and_since_reach_into_rotated_files(tmp_path: Path) -> None:
    now = datetime.now().astimezone()
    stamp = lambda minutes: (now - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")  # noqa: E731
    write(tmp_path / "web.log.1", f"{stamp(30)} old", f"{stamp(5)} recent in .1")
    write(tmp_path / "web.log", f"{stamp(1)} newest")
    assert [e.text for e in merged(tmp_path, ["web"], 2, None)] == ["recent in .1", "newest"]
    since = now - timedelta(minutes=10)
    assert [e.text for e in merged(tmp_path, ["web"], 100, since)] == ["recent in .1", "newest"]


def test_a_line_without_a_stamp_takes_the_previous_one() -> None:
    first = parse_line("web", "2026-01-01T10:00:01.000+00:00 stamped")
    plain = parse_line("web", "continued", first.when)
    assert plain.when == first.when and plain.text == "continued" and plain.stamp == ""


def test_following_loses_nothing_across_a_rotation(tmp_path: Path) -> None:
    log = AppLog("web", tmp_path, lambda app, source, lines: None, max_bytes=400, keep=2)
    log.write("", "before following")
    follower = Follower(tmp_path / "web.log")
    seen: list[str] = []
    for i in range(30):  # several rotations
        log.write("", f"line {i:02d} " + "x" * 30)
        if i % 7 == 0:
            seen += follower.poll()
    log.close()
    seen += follower.poll()
    texts = [parse_line("web", line).text for line in seen]
    assert texts == [f"line {i:02d} " + "x" * 30 for i in range(30)]
    follower.close()


def test_following_waits_for_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    path.write_text("")
    follower = Follower(path)
    with path.open("a") as out:
        out.write("half")
    assert follower.poll() == []
    with path.open("a") as out:
        out.write(" done\n")
    assert follower.poll() == ["half done"]
    follower.close()


def test_the_private_probe_listener_is_not_shown_as_public() -> None:
    from gaia_runner.config.model import Bind, BindKind
    from gaia_runner.process.generation import PROBE_NOTE, hiding_private

    got: list[str] = []
    sink = hiding_private(got.extend, Bind(kind=BindKind.TCP, host="127.0.0.1", port=4178))
    sink(
        [
            "[INFO] Listening at: http://127.0.0.1:8000,http://127.0.0.1:4178 (42)",
            "public 127.0.0.1:41787 stays",
            "an app line",
        ]
    )
    assert got == [
        "[INFO] Listening at: http://127.0.0.1:8000 (42)" + PROBE_NOTE,
        "public 127.0.0.1:41787 stays",
        "an app line",
    ]


def _numbers(lines: list[str]) -> list[int]:
    return [int(parse_line("web", line).text.split()[1]) for line in lines if "line " in line]


def test_a_followed_file_rotated_away_is_still_read_to_its_end(tmp_path: Path) -> None:
    log = AppLog("web", tmp_path, lambda app, source, lines: None, max_bytes=200, keep=1)
    follower = Follower(tmp_path / "web.log")
    seen: list[str] = []
    for i in range(40):
        log.write("", f"line {i:02d} " + "x" * 40)
        if i % 2 == 0:  # one rotation or less between two looks: nothing may be missed
            follower.discover()
    log.close()
    seen += follower.poll()
    assert _numbers(seen) == list(range(40))
    assert not any("missing" in line for line in seen)
    follower.close()


def test_files_rotated_away_unseen_are_a_gap_line_not_a_crash(tmp_path: Path) -> None:
    log = AppLog("web", tmp_path, lambda app, source, lines: None, max_bytes=200, keep=1)
    follower = Follower(tmp_path / "web.log")
    for i in range(40):  # many rotations, nobody looking
        log.write("", f"line {i:02d} " + "x" * 40)
    log.close()
    seen = follower.poll()
    gaps = [n for n, line in enumerate(seen) if "lines may be missing here" in line]
    assert len(gaps) == 1
    numbers = _numbers(seen)
    assert numbers == sorted(numbers) and numbers[-1] == 39
    follower.close()


def test_a_rotation_caught_halfway_loses_nothing(tmp_path: Path) -> None:
    def stamped(n: int) -> str:
        return f"2026-01-01T10:00:0{n}.000+00:00 line {n:02d} x\n"

    path = tmp_path / "web.log"
    path.write_text(stamped(0))
    follower = Follower(path, from_start=True)
    assert _numbers(follower.poll()) == [0]
    # Two whole rotations, then a third caught halfway: web.log.1 already renamed to .2,
    # web.log not yet renamed to .1 (a name-by-name walk stops at the missing .1).
    path.rename(tmp_path / "web.log.1")
    path.write_text(stamped(1))
    (tmp_path / "web.log.1").rename(tmp_path / "web.log.2")
    path.rename(tmp_path / "web.log.1")
    path.write_text(stamped(2))
    (tmp_path / "web.log.2").rename(tmp_path / "web.log.3")
    (tmp_path / "web.log.1").rename(tmp_path / "web.log.2")
    assert _numbers(follower.poll()) == [1, 2]
    follower.close()
