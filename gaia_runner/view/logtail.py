"""`gaia logs`: read state_dir/logs back as one merged, prefixed stream, and follow it.

Every line in those files starts with an ISO 8601 stamp (applog.py); lines are merged by
it. A file that rolled over (NAME.log -> NAME.log.1) is read to its end before the new
NAME.log is opened, so following loses nothing across a rotation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?) ")
# Files in the log dir that are not an app's (or gaia's) stream.
NOT_STREAMS = ("gaia.stderr.log",)
EPOCH = datetime.fromtimestamp(0).astimezone()


@dataclass(frozen=True)
class Entry:
    when: datetime
    stamp: str
    app: str
    text: str


def parse_line(app: str, line: str, previous: datetime = EPOCH) -> Entry:
    """A line without a stamp (written before stamps existed) takes the previous one's."""
    match = _STAMP.match(line)
    if match is None:
        return Entry(previous, "", app, line)
    stamp = match.group(1)
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return Entry(previous, "", app, line)
    if when.tzinfo is None:
        when = when.astimezone()
    return Entry(when, stamp, app, line[match.end() :])


def streams(log_dir: Path) -> list[str]:
    names = sorted(
        p.name.removesuffix(".log")
        for p in log_dir.glob("*.log")
        if p.is_file() and p.name not in NOT_STREAMS
    )
    return names


def _entries(app: str, lines: Sequence[str]) -> list[Entry]:
    out, last = [], EPOCH
    for line in lines:
        entry = parse_line(app, line, last)
        last = entry.when
        out.append(entry)
    return out


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []


def recent(log_dir: Path, app: str, count: int, since: datetime | None) -> list[Entry]:
    """The app's last `count` entries (newer than `since`), from the rotated files too
    when the current one is short."""
    path = log_dir / f"{app}.log"
    found: list[Entry] = _entries(app, _read_lines(path))
    n = 1
    while True:
        oldest = found[0].when if found else None
        enough = len(found) >= count and (since is None or (oldest is not None and oldest < since))
        older = path.with_name(f"{path.name}.{n}")
        if enough or not older.exists():
            break
        found = _entries(app, _read_lines(older)) + found
        n += 1
    if since is not None:
        found = [e for e in found if e.when >= since]
    return found[-count:] if count else []


def merged(log_dir: Path, apps: Sequence[str], count: int, since: datetime | None) -> list[Entry]:
    every = [e for app in apps for e in recent(log_dir, app, count, since)]
    every.sort(key=lambda e: e.when)  # stable: one app's lines keep their order
    return every[-count:] if count else []


def format_entry(entry: Entry, width: int, timestamps: bool) -> str:
    head = f"{entry.app.ljust(width)} | "
    return (f"{entry.stamp} " if timestamps and entry.stamp else "") + head + entry.text


class Follower:
    """Reads what is appended to one NAME.log from now on, across rotations."""

    def __init__(self, path: Path, from_start: bool = False) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._inode: int | None = None
        self._partial = b""
        self._open(from_start)

    def _open(self, from_start: bool) -> None:
        try:
            handle = self.path.open("rb")
        except OSError:
            return
        self._file = handle
        self._inode = os.fstat(handle.fileno()).st_ino
        if not from_start:
            handle.seek(0, os.SEEK_END)

    def _drain(self) -> bytes:
        assert self._file is not None
        return self._file.read()

    def poll(self) -> list[str]:
        if self._file is None:
            self._open(from_start=True)
            if self._file is None:
                return []
        data = self._drain()
        try:
            now = self.path.stat()
        except OSError:
            now = None
        if now is None or now.st_ino != self._inode:
            # Rotated: the old file was read to its end above (an open file survives its
            # rename); files rotated after it, unseen so far, are read whole; then the
            # new NAME.log from its start.
            data += b"".join(p.read_bytes() for p in self._rotated_since())
            self.close()
            self._open(from_start=True)
            if self._file is not None:
                data += self._drain()
        elif self._file is not None and now.st_size < self._file.tell():
            self._file.seek(0)  # truncated in place
            data += self._drain()
        data = self._partial + data
        complete, newline, self._partial = data.rpartition(b"\n")
        if not newline:
            return []
        return complete.decode("utf-8", errors="replace").split("\n")

    def _rotated_since(self) -> list[Path]:
        """NAME.log.K-1 .. NAME.log.1, where NAME.log.K is the file followed so far: more
        than one rotation between two polls (a burst) must not lose the middle files."""
        rotated = []
        n = 1
        while (older := self.path.with_name(f"{self.path.name}.{n}")).exists():
            try:
                if older.stat().st_ino == self._inode:
                    break
            except OSError:
                break
            rotated.append(older)
            n += 1
        return rotated[::-1]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def follow_once(followers: dict[str, Follower]) -> Iterator[Entry]:
    batch = [e for app, f in followers.items() for e in _entries(app, f.poll())]
    batch.sort(key=lambda e: e.when)
    yield from batch
