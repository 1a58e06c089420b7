"""Is the running config what its files read now? The config watch reports every content
check here, and each applied load records what it read, so `applied` cannot stay true
while an edit went unseen (a symlink's target edited, a watch lost with its directory)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from gaia_runner.config import GaiaConfig, derive
from gaia_runner.config.inputs import ReadAs
from gaia_runner.supervise.timing import Timings
from gaia_runner.watch import Readers, fingerprint, watch_named_files


def readers(config: GaiaConfig) -> Readers:
    return {p: ReadAs.for_user(u) for p, u in derive.config_file_users(config).items()}


def _digest(config: GaiaConfig) -> str:
    return fingerprint(derive.watched_config_files(config), readers=readers(config))


class ConfigOnDisk:
    def __init__(self, config: GaiaConfig) -> None:
        self.applied = self.on_disk = _digest(config)

    def now_running(self, config: GaiaConfig) -> GaiaConfig:
        """`config` was just loaded to be applied: its files, as they read now."""
        self.applied = self.on_disk = _digest(config)
        return config

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
        )
        async for _ in watch:
            if changed is not None:
                changed()
