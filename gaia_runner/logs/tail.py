"""`gaia logs`: read state_dir/logs back as one merged, prefixed stream, and follow it.

Every line in those files starts with an ISO 8601 stamp (applog.py); lines are merged by
it. Following holds the files themselves open (see Follower), so a file that rolled over
(NAME.log -> NAME.log.1) or was removed is still read to its end before the next one.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?) ")
# Files in the log dir that are not an app's (or gaia's) stream.
NOT_STREAMS = ("gaia.stderr.log",)
EPOCH = datetime.fromtimestamp(0).astimezone()
# At most this much is read per poll, so that new files are looked for (and held open)
# often even while a backlog is being shown.
POLL_BYTES = 256 * 1024


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


def tagged(entry: Entry, tag: str | None) -> bool:
    """Whether gaia wrote the line with this source tag (`[slow] ...`); any line for None."""
    return tag is None or entry.text.startswith(f"[{tag}] ")


def recent(
    log_dir: Path, app: str, count: int, since: datetime | None, tag: str | None = None
) -> list[Entry]:
    """The app's last `count` entries (newer than `since`, with `tag`), from the rotated
    files too when the current one is short."""
    path = log_dir / f"{app}.log"
    found: list[Entry] = [e for e in _entries(app, _read_lines(path)) if tagged(e, tag)]
    n = 1
    while True:
        oldest = found[0].when if found else None
        enough = len(found) >= count and (since is None or (oldest is not None and oldest < since))
        older = path.with_name(f"{path.name}.{n}")
        if enough or not older.exists():
            break
        found = [e for e in _entries(app, _read_lines(older)) if tagged(e, tag)] + found
        n += 1
    if since is not None:
        found = [e for e in found if e.when >= since]
    return found[-count:] if count else []


def merged(
    log_dir: Path, apps: Sequence[str], count: int, since: datetime | None, tag: str | None = None
) -> list[Entry]:
    every = [e for app in apps for e in recent(log_dir, app, count, since, tag)]
    every.sort(key=lambda e: e.when)  # stable: one app's lines keep their order
    return every[-count:] if count else []


def format_entry(entry: Entry, width: int, timestamps: bool) -> str:
    head = f"{entry.app.ljust(width)} | "
    return (f"{entry.stamp} " if timestamps and entry.stamp else "") + head + entry.text


class Follower:
    """Reads what is appended to one NAME.log from now on, across rotations.

    It follows files, not names: every file it has seen is held open, so a file renamed
    (NAME.log -> NAME.log.1) or removed (past `keep`) is still read to its end, then the
    next newer one from its start. Only a file created and rotated away entirely between
    two polls can be missed; that shows as a line saying lines are missing there.
    """

    def __init__(self, path: Path, from_start: bool = False) -> None:
        self.path = path
        # poll() and discover() may run on two threads: discovery must not wait for a
        # backlog to be shown.
        self._lock = threading.Lock()
        # Oldest first: the file being read, then newer ones not yet reached; a str is a
        # gap to report between them. The last file is the newest known.
        self._queue: list[BinaryIO | str] = []
        self._partial = b""
        handle = _open(path)
        if handle is not None:
            if not from_start:
                handle.seek(0, os.SEEK_END)
            self._queue.append(handle)

    def poll(self) -> list[str]:
        with self._lock:
            self._discover()
            return self._read()

    def discover(self) -> None:
        """Hold open every file newer than the newest one held; cheap when nothing rotated."""
        with self._lock:
            self._discover()

    def _read(self) -> list[str]:
        lines: list[str] = []
        data = b""
        while self._queue:
            head = self._queue[0]
            if isinstance(head, str):
                lines += [*self._split(data, final=True), head]
                data = b""
                self._queue.pop(0)
                continue
            if len(self._queue) == 1 and _size(head) < head.tell():
                head.seek(0)  # truncated in place
            chunk = head.read(POLL_BYTES - len(data))
            data += chunk
            if len(self._queue) == 1 or len(data) >= POLL_BYTES:
                break
            # A newer file exists, so the writer closed this one before renaming it: done.
            head.close()
            self._queue.pop(0)
        return lines + self._split(data)

    def _split(self, data: bytes, final: bool = False) -> list[str]:
        data = self._partial + data
        complete, newline, self._partial = data.rpartition(b"\n")
        lines = complete.decode("utf-8", errors="replace").split("\n") if newline else []
        if final and self._partial:
            lines.append(self._partial.decode("utf-8", errors="replace"))
            self._partial = b""
        return lines

    def _newest(self) -> BinaryIO | None:
        files = [f for f in self._queue if not isinstance(f, str)]
        return files[-1] if files else None

    def _discover(self) -> None:
        """Open every file newer than the newest one held."""
        newest = self._newest()
        held = None if newest is None else os.fstat(newest.fileno()).st_ino
        if held is not None and _inode(self.path) in (held, None):
            return  # no rotation since the last poll (or NAME.log not re-created yet)
        chain = self._chain()
        if chain is None:
            return  # rotating right now: the next poll sees it settled
        inodes = [os.fstat(f.fileno()).st_ino for f in chain]
        if held is None:
            # Nothing followed yet (the file did not exist): NAME.log from its start.
            unread, seen = chain[-1:], chain[:-1]
        elif held in inodes:
            at = inodes.index(held)
            unread, seen = chain[at + 1 :], chain[: at + 1]
        else:
            unread, seen = chain, []
            self._queue.append(
                f"[gaia logs] lines may be missing here: {self.path.name} rotated more"
                " than its kept files allow between two reads"
            )
        for f in seen:
            f.close()
        self._queue += unread

    def _chain(self) -> list[BinaryIO] | None:
        """NAME.log.N .. NAME.log.1, NAME.log as open files, oldest first, from one
        instant: retried while a rotation renames them under our feet."""
        for _ in range(20):
            paths = [*self._rotated(), self.path]
            before = [_inode(p) for p in paths]
            files = [_open(p) for p in paths]
            after = [_inode(p) for p in paths]
            opened = [None if f is None else os.fstat(f.fileno()).st_ino for f in files]
            settled = before == after == opened and paths[:-1] == self._rotated()
            if settled and None not in opened:
                return [f for f in files if f is not None]
            for f in files:
                if f is not None:
                    f.close()
        return None

    def _rotated(self) -> list[Path]:
        """NAME.log.N .. NAME.log.1 as they are now, oldest first. Listed, not probed one
        by one: in the middle of a rotation NAME.log.1 is briefly missing while .2 exists."""
        found: list[tuple[int, Path]] = []
        try:
            names = [entry.name for entry in self.path.parent.iterdir()]
        except OSError:
            return []
        lead = f"{self.path.name}."
        for name in names:
            number = name.removeprefix(lead)
            if name.startswith(lead) and number.isdigit() and number.isascii():
                found.append((int(number), self.path.with_name(name)))
        return [path for _, path in sorted(found, reverse=True)]

    def close(self) -> None:
        with self._lock:
            for f in self._queue:
                if not isinstance(f, str):
                    f.close()
            self._queue.clear()


def _open(path: Path) -> BinaryIO | None:
    try:
        return path.open("rb")
    except OSError:
        return None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size


def follow_once(followers: dict[str, Follower]) -> Iterator[Entry]:
    batch = [e for app, f in followers.items() for e in _entries(app, f.poll())]
    batch.sort(key=lambda e: e.when)
    yield from batch
