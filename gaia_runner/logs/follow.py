"""`gaia logs -f` across rotations: the log directory watched for the files that replace
the followed ones."""

from __future__ import annotations

import select
import threading
import time
from pathlib import Path

from gaia_runner.inotify import DirWatch
from gaia_runner.logs.tail import Follower

FOLLOW_POLL = 0.2
DISCOVER_POLL = 0.02  # without inotify


class RotationWatcher:
    """Finds rotated files on a thread of its own, woken by inotify: a file created and
    rotated away entirely before the follower holds it open is lost, and printing a
    backlog must not delay that. The followed files themselves are never lost."""

    def __init__(self, log_dir: Path, followers: dict[str, Follower]) -> None:
        self._followers = followers
        self._changed = threading.Event()
        try:
            self._watch: DirWatch | None = DirWatch([log_dir])
        except OSError:
            self._watch = None
        threading.Thread(target=self._run, name="gaia-logs-watch", daemon=True).start()

    def wait(self, timeout: float) -> None:
        self._changed.wait(timeout)
        self._changed.clear()

    def _run(self) -> None:
        while True:
            if self._watch is not None:
                select.select([self._watch.fd], [], [], FOLLOW_POLL)
                self._watch.read()
            else:
                time.sleep(DISCOVER_POLL)
            for follower in list(self._followers.values()):
                follower.discover()
            self._changed.set()
