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

from gaia_runner.config.derive import tls_files
from gaia_runner.config.inputs import TLS_LIMIT, InputError, ReadAs, read_input
from gaia_runner.config.model import AppConfig
from gaia_runner.inotify import DirWatch, dir_changes
from gaia_runner.watch_targets import WatchTargets, watch_targets

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
        # Where apps and their prestart steps write, not where code is edited: Django's
        # usual STATIC_ROOT / MEDIA_ROOT names, uploads, coverage reports.
        "staticfiles",
        "static_root",
        "collected_static",
        "media",
        "mediafiles",
        "uploads",
        "htmlcov",
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


Readers = Mapping[Path, "ReadAs | None"]
"""Who reads each file: an app's own inputs are read as its user (see config/inputs.py)."""


def fingerprint(
    paths: Iterable[Path], as_user: ReadAs | None = None, readers: Readers | None = None
) -> str:
    """A digest of the files' contents, read as config inputs are (a FIFO or a hung mount
    gives its error, never a wait; each app's files as its user, so even this check cannot
    be pointed at root's files). Blocking: call it off the event loop."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode())
        reader = readers.get(path, as_user) if readers is not None else as_user
        try:
            digest.update(read_input(path, what="file", limit_bytes=TLS_LIMIT, as_user=reader))
        except InputError as exc:
            digest.update(f"<{exc.reason}>".encode())
    return digest.hexdigest()


def tls_digests(apps: Mapping[str, AppConfig]) -> dict[str, str]:
    """Renewed certificates keep their paths, so their content is compared; each app's
    are read as its user, like every per-app input."""
    return {n: fingerprint(tls_files(a), ReadAs.for_user(a.user)) for n, a in apps.items()}


class _NamedFiles:
    def __init__(self, targets: WatchTargets) -> None:
        self._targets = targets

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        return self._targets.matters(Path(path))


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
    changes: AsyncIterator[set[Path] | None], targets: WatchTargets
) -> AsyncIterator[set[Path]]:
    """inotify reports every entry of the directories: keep those that matter (all of
    them when the kernel's queue overflowed)."""
    async for batch in changes:
        named = set(targets.names) if batch is None else {p for p in batch if targets.matters(p)}
        if named:
            yield named


class _Batches:
    """The next batch of an async iterator, awaited with a timeout: a batch that comes
    late is not lost, it is the next call's answer."""

    def __init__(self, changes: AsyncIterator[set[Path]]) -> None:
        self._iterator = changes.__aiter__()
        self._next: asyncio.Future[set[Path]] | None = None

    async def next(self, timeout: float | None) -> set[Path] | None:
        """None if nothing came within `timeout`; StopAsyncIteration at the end."""
        if self._next is None:
            self._next = asyncio.ensure_future(self._iterator.__anext__())
        done, _ = await asyncio.wait({self._next}, timeout=timeout)
        if not done:
            return None
        future, self._next = self._next, None
        return future.result()

    def cancel(self) -> None:
        # Closed early (the watched directories changed): the read in flight ends its
        # watch too, rather than keeping a descriptor until gaia stops.
        if self._next is not None:
            self._next.cancel()


async def _ticking(
    changes: AsyncIterator[set[Path]], every: float, tick: frozenset[Path]
) -> AsyncGenerator[set[Path], None]:
    """`changes`, and `tick` whenever nothing came for `every` seconds: inotify misses
    edits on NFS and some bind mounts, so the content is also compared now and then."""
    batches = _Batches(changes)
    try:
        while True:
            try:
                batch = await batches.next(every)
            except StopAsyncIteration:
                return
            yield set(tick) if batch is None else batch
    finally:
        batches.cancel()


async def _debounced(
    changes: AsyncIterator[set[Path]], quiet: float
) -> AsyncGenerator[set[Path], None]:
    """Merge bursts: yield once nothing more arrived for `quiet` seconds."""
    pending: set[Path] = set()
    batches = _Batches(changes)
    try:
        while True:
            try:
                batch = await batches.next(quiet if pending else None)
            except StopAsyncIteration:
                return
            if batch is not None:
                pending |= batch
                continue
            yield pending
            pending = set()
    finally:
        batches.cancel()


async def watch_named_files(
    paths: Callable[[], Iterable[Path]],
    quiet: float,
    stop: asyncio.Event,
    *,
    check_every: float = 5.0,
    read: Callable[[str], None] = lambda digest: None,
    readers: Callable[[], Readers] = dict,
    unseen: Callable[[], bool] = lambda: False,
) -> AsyncIterator[set[Path]]:
    """Yield whenever one of `paths()` (re-read each time: the set follows the config)
    changed content, through whatever symlinks and directories lead to it (see
    watch_targets.py). Every content check's fingerprint goes to `read`. Watching
    re-arms when what the paths resolve to changes. `unseen()` true: the next check
    yields even for content seen before (a reload read something else in between)."""
    last: tuple[frozenset[Path], str] | None = None
    while not stop.is_set():
        wanted = frozenset(p.absolute() for p in paths())
        targets = watch_targets(wanted)
        # Armed before the content is read: an edit between the two is then both in what
        # was read and reported by the watch, never in neither.
        raw = _ticking(_named_file_changes(targets, stop), check_every, targets.names)
        changes = _debounced(raw, quiet)
        async with contextlib.aclosing(changes):
            now = await asyncio.to_thread(fingerprint, wanted, None, readers())
            read(now)
            if last is not None and last[0] == wanted and now != last[1]:
                last = wanted, now
                yield set(wanted)  # changed while the watch was re-armed
            last = wanted, now
            async for changed in changes:
                now = await asyncio.to_thread(fingerprint, wanted, None, readers())
                read(now)
                moved = watch_targets(wanted) != targets
                if now != last[1] or unseen():
                    last = wanted, now
                    yield changed
                if moved or frozenset(p.absolute() for p in paths()) != wanted:
                    break


def _named_file_changes(targets: WatchTargets, stop: asyncio.Event) -> AsyncIterator[set[Path]]:
    """inotify where the system has it: it costs nothing while nothing changes. watchfiles
    otherwise (a thread that wakes every `step` ms)."""
    try:
        watch = DirWatch(targets.paths)
    except OSError:
        import watchfiles

        raw = watchfiles.awatch(
            *targets.paths,
            watch_filter=_NamedFiles(targets),
            debounce=50,
            step=20,
            stop_event=stop,
            recursive=False,
        )
        return _paths(raw)
    return _named(dir_changes(watch, stop), targets)


async def watch_sources(
    root: Path, ignored: Iterable[Path], quiet: float, stop: asyncio.Event
) -> AsyncIterator[set[Path]]:
    import watchfiles

    raw = watchfiles.awatch(
        root, watch_filter=_SourceFiles(ignored), debounce=RAW_BATCH_MS, step=20, stop_event=stop
    )
    async for changed in _debounced(_paths(raw), quiet):
        yield changed


async def follow_app_sources(
    cwds: Callable[[], Mapping[str, Path]],
    may_have_moved: asyncio.Event,
    ignored: Iterable[Path],
    stop: asyncio.Event,
    changed: Callable[[list[str], set[Path]], None],
) -> None:
    """watch_app_sources for the directories `cwds()` names now, and again whenever
    `may_have_moved` is set (a reload) and they differ: an app a reload adds, or a changed
    `cwd`, is watched from then on."""
    ignored = list(ignored)
    while not stop.is_set():
        watching = dict(cwds())
        # This watch's own: watchfiles sets its stop event when it is cancelled.
        ends = asyncio.Event()
        watch = asyncio.create_task(watch_app_sources(watching, ignored, ends, changed))
        try:
            while not stop.is_set() and dict(cwds()) == watching:
                await _first_of(watch, stop, may_have_moved)
                may_have_moved.clear()
        finally:
            ends.set()
            await watch


async def _first_of(task: asyncio.Task[None], *events: asyncio.Event) -> None:
    waiters = {asyncio.create_task(e.wait()) for e in events}
    try:
        await asyncio.wait({task, *waiters}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if task.done():
        task.result()  # a watch that failed says why


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
