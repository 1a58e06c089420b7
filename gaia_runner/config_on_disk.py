"""Is the running config what its files read now? The config watch reports every content
check here, and each applied load records what it read, so `applied` cannot stay true
while an edit went unseen (a symlink's target edited, a watch lost with its directory)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from gaia_runner.config import GaiaConfig, derive
from gaia_runner.config.inputs import ReadAs
from gaia_runner.config.load import source_digest
from gaia_runner.supervise.timing import Timings
from gaia_runner.watch import Readers, fingerprint, watch_named_files


def readers(config: GaiaConfig) -> Readers:
    return {p: ReadAs.for_user(u) for p, u in derive.config_file_users(config).items()}


def _digest(config: GaiaConfig) -> str:
    return fingerprint(derive.watched_config_files(config), readers=readers(config))


# `applied` when the files changed while a load read them: equal to no reading.
_MOVED = "<changed while it was read>"


class ConfigOnDisk:
    def __init__(self, config: GaiaConfig) -> None:
        self.applied = self.on_disk = _digest(config)
        self._refused = False

    def now_running(self, config: GaiaConfig, read: str | None = None) -> GaiaConfig:
        """`config` was just loaded to be applied: its files, as they read now; none at
        all when gaia.toml no longer reads as the load's `read` digest (a save between the
        load and this reading must not count as applied)."""
        self.applied = self.on_disk = _digest(config)
        if read is not None and source_digest(config.source) != read:
            self.applied = _MOVED
        return config

    def refused(self) -> None:
        """A reload refused what it read. The watch's next check reloads even when the
        files read as the watch last saw them: a save read half-done by a SIGHUP ends as
        content the watch saw before, and would not be reported again."""
        self._refused = True

    def _unseen(self) -> bool:
        refused, self._refused = self._refused, False
        return refused

    async def read_now(self, config: GaiaConfig) -> None:
        """For `gaia status`: the watch reads the files only after a save's quiet time, and
        `applied` must not say true for a save it has not read yet."""
        self.on_disk = await asyncio.to_thread(_digest, config)

    def _read(self, digest: str) -> None:
        self.on_disk = digest

    @property
    def pending(self) -> bool:
        """The files changed since the running config was read from them."""
        return self.on_disk != self.applied

    async def watch(
        self,
        config: Callable[[], GaiaConfig],
        timings: Timings,
        stop: asyncio.Event,
        changed: Callable[[], object] | None,
    ) -> None:
        """Call `changed` once per content change of the running config's files."""

        def files() -> list[Path]:
            return derive.watched_config_files(config())

        watch = watch_named_files(
            files,
            timings.debounce,
            stop,
            check_every=timings.config_check,
            read=self._read,
            readers=lambda: readers(config()),
            unseen=self._unseen,
        )
        async for _ in watch:
            if changed is not None:
                changed()
