"""Changes in a few directories (not their subdirectories), from Linux inotify, read on
the event loop itself.

watchfiles polls from a thread every `step` ms and takes the GIL each time: for the
files gaia watches all the time (gaia.toml and the files it names) that was about a
quarter of an idle gaia's CPU with 20 apps. inotify wakes gaia only when an entry of a
watched directory changes. Where inotify cannot be had (not Linux, no watches left),
`open_watch` raises OSError and the caller falls back to watchfiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import struct
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_ONLYDIR = 0x1000000
# Everything that can change what a file in the directory reads as: an in-place write, an
# editor's rename over it, a delete, a chmod (a key that became unreadable).
WATCHED = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then `len` bytes of NUL-padded name
_READ_SIZE = 64 * 1024


class DirWatch:
    """One inotify descriptor watching `dirs`; `read()` drains what is queued."""

    def __init__(self, dirs: Iterable[Path]) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except AttributeError:
            raise OSError("inotify is not available") from None
        fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise _errno_error("inotify_init1")
        self.fd = fd
        self._dirs: dict[int, Path] = {}
        for directory in dirs:
            wd = add(fd, os.fsencode(directory), WATCHED | IN_ONLYDIR)
            if wd < 0:
                error = _errno_error(f"inotify_add_watch {directory}")
                os.close(fd)
                raise error
            self._dirs[wd] = directory

    def read(self) -> set[Path] | None:
        """The paths that changed since the last read; None when the kernel's queue
        overflowed and anything may have changed."""
        changed: set[Path] = set()
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return changed
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                name = data[start : start + length].rstrip(b"\0")
                offset = start + length
                if mask & IN_Q_OVERFLOW:
                    return None
                directory = self._dirs.get(wd)
                if directory is not None:
                    changed.add(directory / os.fsdecode(name) if name else directory)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _errno_error(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


async def dir_changes(watch: DirWatch, stop: asyncio.Event) -> AsyncIterator[set[Path] | None]:
    """Yield what `watch` reports each time its descriptor becomes readable, until `stop`
    is set. Closes the watch when done."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(watch.fd, readable.set)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            waiting = asyncio.ensure_future(readable.wait())
            try:
                await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
            if stop.is_set():
                return
            readable.clear()
            changed = watch.read()
            if changed is None or changed:
                yield changed
    finally:
        stopping.cancel()
        loop.remove_reader(watch.fd)
        watch.close()
