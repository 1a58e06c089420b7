"""Watching gaia.toml and the files it names: saves are noticed (in place or by rename),
saves that change nothing are not, and the inotify descriptor wakes gaia only then."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gaia_runner.inotify import DirWatch, dir_changes
from gaia_runner.watch import watch_named_files

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux only")
QUIET = 0.05
DEADLINE = 5.0


async def _next(changes: AsyncIterator[set[Path]]) -> set[Path]:
    return await asyncio.wait_for(changes.__anext__(), DEADLINE)


def test_dir_watch_reports_entries_of_the_directory_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    watch = DirWatch([tmp_path])
    try:
        assert watch.read() == set()
        (tmp_path / "sub" / "deep.toml").write_text("x")  # not watched: not recursive
        (tmp_path / "gaia.toml").write_text("x")
        (tmp_path / "tmp.swp").write_text("y")
        (tmp_path / "tmp.swp").replace(tmp_path / "key.pem")
        assert watch.read() == {tmp_path / "gaia.toml", tmp_path / "tmp.swp", tmp_path / "key.pem"}
        assert watch.read() == set()
    finally:
        watch.close()


def test_dir_watch_of_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        DirWatch([tmp_path / "nope"])


def test_dir_changes_ends_when_stopped(tmp_path: Path) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        watch = DirWatch([tmp_path])
        changes = dir_changes(watch, stop)
        pending = asyncio.ensure_future(changes.__anext__())
        (tmp_path / "a").write_text("1")
        assert tmp_path / "a" in (await asyncio.wait_for(pending, DEADLINE) or set())
        pending = asyncio.ensure_future(changes.__anext__())
        stop.set()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(pending, DEADLINE)
        with pytest.raises(OSError):
            os.fstat(watch.fd)  # closed

    asyncio.run(scenario())


def test_named_files_yield_real_content_changes_only(tmp_path: Path) -> None:
    config, other = tmp_path / "gaia.toml", tmp_path / "notes.txt"
    config.write_text("a = 1\n")

    async def scenario() -> None:
        stop = asyncio.Event()
        changes = watch_named_files(lambda: [config], QUIET, stop)
        pending = asyncio.ensure_future(_next(changes))
        await asyncio.sleep(0.1)  # the watch is in place
        other.write_text("not watched")
        config.write_text("a = 1\n")  # same content: not a change
        await asyncio.sleep(3 * QUIET)
        assert not pending.done()
        config.write_text("a = 2\n")
        assert await pending == {config}
        # An editor's atomic save: write a temp file, rename it over the original.
        pending = asyncio.ensure_future(_next(changes))
        (tmp_path / ".gaia.toml.swp").write_text("a = 3\n")
        (tmp_path / ".gaia.toml.swp").replace(config)
        assert await pending == {config}
        stop.set()
        with pytest.raises(StopAsyncIteration):
            await _next(changes)

    asyncio.run(scenario())


def test_a_new_directory_to_watch_closes_the_old_watch(tmp_path: Path) -> None:
    config, other_dir = tmp_path / "gaia.toml", tmp_path / "env"
    other_dir.mkdir()
    config.write_text("a = 1\n")
    named = [config]

    def open_fds() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    async def scenario() -> None:
        stop = asyncio.Event()
        changes = watch_named_files(lambda: list(named), QUIET, stop)
        pending = asyncio.ensure_future(_next(changes))
        await asyncio.sleep(0.1)
        before = open_fds()
        named.append(other_dir / "app.env")  # the config now names a file elsewhere
        config.write_text("a = 2\n")
        assert await pending == {config}
        pending = asyncio.ensure_future(_next(changes))
        await asyncio.sleep(0.1)
        assert open_fds() == before  # one watch replaced by one, none left behind
        (other_dir / "app.env").write_text("X=1\n")
        assert await pending == {other_dir / "app.env"}
        stop.set()
        with pytest.raises(StopAsyncIteration):
            await _next(changes)

    asyncio.run(scenario())
