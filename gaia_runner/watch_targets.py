"""What to watch so that a file is seen to change however a deployment swaps it.

A path like `current/gaia.toml`, or Kubernetes' `gaia.toml -> ..data/gaia.toml` with
`..data -> ..2026_x`, reads through symlinks: an edit can happen at any hop (the link
renamed over, the target edited). So the directory of every hop is watched, and the
entry names there that matter. A directory that is gone (renamed away, deleted) is
replaced by its nearest existing ancestor, watched for the missing name to come back.
Each directory is named by its real path and its inode: the same path holding a new
directory is a new watch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_HOPS = 40  # as the kernel's own symlink limit


@dataclass(frozen=True)
class WatchTargets:
    dirs: frozenset[tuple[Path, int, int]]  # (real path, device, inode)
    names: frozenset[Path]  # entries of those directories whose change matters

    @property
    def paths(self) -> list[Path]:
        return sorted({d for d, _, _ in self.dirs})

    def matters(self, path: Path) -> bool:
        """An event on `path`: a named entry, or a watched directory itself (moved,
        deleted, unmounted)."""
        return path in self.names or any(path == d for d, _, _ in self.dirs)


def hops(path: Path) -> list[Path]:
    """`path`, then every symlink met while resolving it and where each one leads."""
    seen: list[Path] = []
    # abspath, not resolve(): each symlink on the way is itself a hop to watch.
    pending = [Path(os.path.abspath(path))]  # noqa: PTH100
    while pending and len(seen) < MAX_HOPS:
        current = pending.pop()
        seen.append(current)
        parts = current.parts
        for i in range(2, len(parts) + 1):
            prefix = Path(*parts[:i])
            try:
                target = prefix.readlink()
            except OSError:  # not a symlink, or not there
                continue
            if prefix != current:
                seen.append(prefix)
            leads_to = prefix.parent / target / Path(*parts[i:])
            pending.append(Path(os.path.abspath(leads_to)))  # noqa: PTH100
            break
    return seen


def _existing_ancestor(entry: Path) -> Path:
    """`entry` itself is what may be missing: the deepest directory that exists above it,
    then the name in it that leads towards `entry`."""
    while not entry.parent.is_dir() and entry.parent != entry:
        entry = entry.parent
    return entry


def watch_targets(paths: Iterable[Path]) -> WatchTargets:
    dirs: set[tuple[Path, int, int]] = set()
    names: set[Path] = set()
    for path in paths:
        for hop in hops(path):
            entry = _existing_ancestor(Path(os.path.realpath(hop.parent)) / hop.name)
            try:
                info = entry.parent.stat()
            except OSError:
                continue
            dirs.add((entry.parent, info.st_dev, info.st_ino))
            names.add(entry)
    return WatchTargets(frozenset(dirs), frozenset(names))
