from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gaia_runner.logs import applog
from gaia_runner.logs.applog import AppLog

SNOWMEN = "☃" * 20  # 20 characters, 60 bytes


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ", re.M)


def unstamped(path: Path) -> str:
    """The file's text without the ISO 8601 stamps, checking that every line has one."""
    text = path.read_text()
    assert all(STAMP.match(line) for line in text.splitlines()), text
    return STAMP.sub("", text)


def test_rotation_counts_bytes_not_characters(tmp_path: Path) -> None:
    log = AppLog("web", tmp_path, lambda app, source, lines: None, max_bytes=200)
    for i in range(40):
        log.write("", f"{i:02d} {SNOWMEN}")
    log.close()
    files = sorted(tmp_path.iterdir())
    assert [p.name for p in files] == ["web.log", "web.log.1", "web.log.2", "web.log.3"]
    assert all(p.stat().st_size <= 200 for p in files)
    assert unstamped(tmp_path / "web.log").splitlines()[-1] == f"39 {SNOWMEN}"


def test_a_source_prefixes_every_line_of_a_batch(tmp_path: Path) -> None:
    log = AppLog("web", tmp_path, lambda app, source, lines: None)
    log.write_lines("prestart", ["one", "two"])
    log.write_lines("", ["three"])
    log.close()
    assert unstamped(tmp_path / "web.log") == "[prestart] one\n[prestart] two\nthree\n"


def _full_disk_log(
    tmp_path: Path, warnings: list[str], shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> AppLog:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    # The log opens whatever the disk gives it; /dev/full answers every write with ENOSPC.
    monkeypatch.setattr(
        applog, "open_private_append_fd", lambda path: os.open("/dev/full", os.O_WRONLY)
    )
    return AppLog(
        "web",
        tmp_path,
        lambda app, source, lines: shown.extend(lines),
        warn=warnings.append,
    )


def test_a_full_disk_counts_lines_warns_once_and_still_forwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    shown: list[str] = []
    log = _full_disk_log(tmp_path, warnings, shown, monkeypatch)
    for i in range(5):
        log.write_lines("", [f"a{i}", f"b{i}"])
    assert log.unwritten == 10
    assert len(warnings) == 1
    assert "No space left on device" in warnings[0]
    assert len(shown) == 10
    assert log.tail(2) == ("a4", "b4")
    log.close()


def test_writing_resumes_and_records_the_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    real_open = applog.open_private_append_fd
    log = _full_disk_log(tmp_path, warnings, [], monkeypatch)
    log.write_lines("", ["lost one", "lost two"])
    # Space is back: a closed log reopens its path at the next write.
    monkeypatch.setattr(applog, "open_private_append_fd", real_open)
    log.close()
    log.write_lines("", ["kept"])
    assert unstamped(tmp_path / "web.log") == (
        "[gaia] 2 lines could not be written here (No space left on device)\nkept\n"
    )
    assert log.unwritten == 2
    assert len(warnings) == 2
    assert "writing" in warnings[1]
    assert "2 lines were lost" in warnings[1]
    log.close()


def test_a_failing_display_does_not_stop_the_log_file(tmp_path: Path) -> None:
    def broken(app: str, source: str, lines: object) -> None:
        raise BrokenPipeError

    log = AppLog("web", tmp_path, broken)
    log.write_lines("", ["still logged"])
    log.close()
    assert unstamped(tmp_path / "web.log") == "still logged\n"


def test_rotation_keeps_as_many_files_as_configured(tmp_path: Path) -> None:
    log = AppLog("web", tmp_path, lambda app, source, lines: None, max_bytes=100, keep=1)
    for i in range(20):
        log.write("", f"line {i:02d} of some length")
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.log", "web.log.1"]


def test_post_mortem_keeps_the_exception_that_ended_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gaia_runner.logs.applog import AppLog

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
    from gaia_runner.logs.applog import AppLog

    log = AppLog("web", tmp_path, lambda app, source, line: None, max_bytes=100)
    for i in range(100):
        log.write("", f"line {i:03d} " + "x" * 20)
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["web.log", "web.log.1", "web.log.2", "web.log.3"]
    last = (tmp_path / "web.log").read_text().splitlines()[-1]
    assert last.split(" ", 1)[1].startswith("line 099")  # after its timestamp
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
