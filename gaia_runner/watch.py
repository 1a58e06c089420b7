"""Notice saved files reliably: editors save by writing a temp file and renaming it over
the original, which a watch on the file itself misses after the first time. So the
directories are watched, filtered on the names, and a save only counts when the
content really changed.

watchfiles is imported when watching starts, after the apps were spawned: its import
(with anyio and multiprocessing) is not on the path to the first generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gaia_runner.inotify import DirWatch, dir_changes

if TYPE_CHECKING:
    import watchfiles

IGNORED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".gaia",
    }
)
SOURCE_SUFFIXES = frozenset(
    {
        ".py",
        ".html",
        ".jinja",
        ".jinja2",
        ".j2",
        ".txt",
        ".toml",
        ".json",
        ".yaml",
        ".yml",
        ".css",
        ".js",
    }
)


# watchfiles hands over what it gathered at least every RAW_BATCH_MS while files keep
# changing. A burst only ends after a gap clearly longer than that: with a quiet time equal
# to it, every batch of a long write (a checkout, 10,000 files) looked like the end of one
# and each started a replace of its own.
RAW_BATCH_MS = 50
CODE_QUIET = 2 * RAW_BATCH_MS / 1000


def fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode())
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            digest.update(f"<{exc.errno}>".encode())
    return digest.hexdigest()


class _NamedFiles:
    def __init__(self, names: frozenset[Path]) -> None:
        self._names = names

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        return Path(path) in self._names


class _SourceFiles:
    def __init__(self, ignored: Iterable[Path]) -> None:
        import watchfiles

        self._default = watchfiles.DefaultFilter(ignore_dirs=tuple(IGNORED_DIRS))
        self._ignored = tuple(p.resolve() for p in ignored)

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        if p.suffix not in SOURCE_SUFFIXES or not self._default(change, path):
            return False
        return not any(p.is_relative_to(root) for root in self._ignored)


async def _paths(
    changes: AsyncIterator[set[tuple[watchfiles.Change, str]]],
) -> AsyncIterator[set[Path]]:
    async for batch in changes:
        yield {Path(p) for _, p in batch}


async def _named(
    changes: AsyncIterator[set[Path] | None], wanted: frozenset[Path]
) -> AsyncIterator[set[Path]]:
    """inotify reports every entry of the directories: keep the named files (all of
    them when the kernel's queue overflowed)."""
    async for batch in changes:
        named = set(wanted) if batch is None else batch & wanted
        if named:
            yield named


async def _debounced(
    changes: AsyncIterator[set[Path]], quiet: float
) -> AsyncGenerator[set[Path], None]:
    """Merge bursts: yield once nothing more arrived for `quiet` seconds."""
    pending: set[Path] = set()
    iterator = changes.__aiter__()
    next_batch: asyncio.Future[set[Path]] | None = None
    try:
        while True:
            if next_batch is None:
                next_batch = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({next_batch}, timeout=quiet if pending else None)
            if next_batch in done:
                try:
                    batch = next_batch.result()
                except StopAsyncIteration:
                    return
                next_batch = None
                pending |= batch
                continue
            yield pending
            pending = set()
    finally:
        # Closed early (the watched directories changed): the read in flight ends its
        # watch too, rather than keeping a descriptor until gaia stops.
        if next_batch is not None:
            next_batch.cancel()


async def watch_named_files(
    paths: Callable[[], Iterable[Path]], quiet: float, stop: asyncio.Event
) -> AsyncIterator[set[Path]]:
    """Yield whenever one of `paths()` (re-read each time: the set follows the config)
    changed content. Watching restarts when the set of directories changes."""
    while not stop.is_set():
        wanted = frozenset(p.absolute() for p in paths())
        dirs = sorted({p.parent for p in wanted if p.parent.is_dir()})
        last = fingerprint(wanted)
        changes = _debounced(_named_file_changes(dirs, wanted, stop), quiet)
        async with contextlib.aclosing(changes):
            async for changed in changes:
                now = fingerprint(wanted)
                if now == last:
                    continue  # a touch, or a save of identical content
                last = now
                yield changed
                if frozenset(p.absolute() for p in paths()) != wanted:
                    break


def _named_file_changes(
    dirs: list[Path], wanted: frozenset[Path], stop: asyncio.Event
) -> AsyncIterator[set[Path]]:
    """inotify where the system has it: it costs nothing while nothing changes. watchfiles
    otherwise (a thread that wakes every `step` ms)."""
    try:
        watch = DirWatch(dirs)
    except OSError:
        import watchfiles

        raw = watchfiles.awatch(
            *dirs,
            watch_filter=_NamedFiles(wanted),
            debounce=50,
            step=20,
            stop_event=stop,
            recursive=False,
        )
        return _paths(raw)
    return _named(dir_changes(watch, stop), wanted)


async def watch_sources(
    root: Path, ignored: Iterable[Path], quiet: float, stop: asyncio.Event
) -> AsyncIterator[set[Path]]:
    import watchfiles

    raw = watchfiles.awatch(
        root, watch_filter=_SourceFiles(ignored), debounce=RAW_BATCH_MS, step=20, stop_event=stop
    )
    async for changed in _debounced(_paths(raw), quiet):
        yield changed


async def watch_app_sources(
    cwds: Mapping[str, Path],
    ignored: Iterable[Path],
    stop: asyncio.Event,
    changed: Callable[[list[str], set[Path]], None],
) -> None:
    """Dev mode: one watch per distinct app directory; `changed` gets the apps living
    there and the files that changed."""
    roots: dict[Path, list[str]] = {}
    for name, cwd in cwds.items():
        roots.setdefault(cwd, []).append(name)

    async def watch_root(root: Path, names: list[str]) -> None:
        async for paths in watch_sources(root, ignored, CODE_QUIET, stop):
            changed(names, paths)

    await asyncio.gather(*(watch_root(root, names) for root, names in roots.items()))
