"""The orphan registry's decisions, on a fake process table."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from gaia_runner.process.orphans import Orphans

GAIA = 1


@dataclass
class Proc:
    parent: int
    started: int
    origin: str | None = None
    zombie: bool = False


@dataclass
class FakeProcfs:
    table: dict[int, Proc] = field(default_factory=dict)
    killed: list[tuple[int, int]] = field(default_factory=list)
    reaped: list[int] = field(default_factory=list)

    def children(self, pid: int) -> list[int]:
        return [p for p, proc in self.table.items() if proc.parent == pid]

    def descendants(self, pid: int) -> list[int]:
        out, queue = [], self.children(pid)
        while queue:
            child = queue.pop()
            out.append(child)
            queue += self.children(child)
        return out

    def started(self, pid: int) -> int | None:
        proc = self.table.get(pid)
        return proc.started if proc else None

    def origin(self, pid: int) -> str | None:
        proc = self.table.get(pid)
        return proc.origin if proc and not proc.zombie else None

    def is_zombie(self, pid: int) -> bool:
        return pid in self.table and self.table[pid].zombie

    def kill(self, pid: int, sig: int) -> None:
        self.killed.append((pid, sig))

    def reap(self, pid: int) -> bool:
        self.reaped.append(pid)
        self.table.pop(pid, None)
        return True


def test_an_adopted_orphan_goes_with_the_child_whose_mark_it_carries() -> None:
    procs = FakeProcfs({10: Proc(GAIA, 5, "a"), 20: Proc(GAIA, 6, "b"), 21: Proc(20, 7)})
    orphans = Orphans(procs, me=GAIA)
    assert orphans.escaped("b") == {20, 21}  # and what the daemon started
    orphans.kill("a")
    assert procs.killed == [(10, signal.SIGKILL)]


def test_a_spawned_child_is_never_taken_for_an_orphan() -> None:
    procs = FakeProcfs({10: Proc(GAIA, 5, "a", zombie=True)})
    orphans = Orphans(procs, me=GAIA)
    orphans.spawned(10)
    assert orphans.escaped("a") == set()
    orphans.reap()
    assert procs.reaped == []  # asyncio's child watcher waits for it


def test_nothing_is_reaped_while_a_spawn_is_under_way() -> None:
    procs = FakeProcfs({30: Proc(GAIA, 5, zombie=True)})
    orphans = Orphans(procs, me=GAIA)
    with orphans.spawning():
        orphans.reap()
        assert procs.reaped == []
    orphans.reap()
    assert procs.reaped == [30]


def test_a_remembered_descendant_counts_only_while_its_start_time_matches() -> None:
    procs = FakeProcfs({40: Proc(99, 8)})  # left the tree, cleared its environment
    orphans = Orphans(procs, me=GAIA)
    orphans.remember("a", [40])
    orphans.remember("a", [])  # gone from the tree, still alive: kept
    assert orphans.escaped("a") == {40}
    procs.table[40] = Proc(99, 9)  # the pid was reused by another process
    assert orphans.escaped("a") == set()
    orphans.remember("a", [])
    procs.table[40] = Proc(99, 8)
    assert orphans.escaped("a") == set()  # forgotten once seen gone


def test_at_exit_every_adopted_process_is_killed_and_reaped() -> None:
    procs = FakeProcfs({50: Proc(GAIA, 1), 51: Proc(50, 2), 60: Proc(GAIA, 3)})
    orphans = Orphans(procs, me=GAIA)
    orphans.spawned(60)
    assert orphans.kill_all() == []
    assert sorted(pid for pid, _ in procs.killed) == [50, 51]
    assert 60 not in procs.reaped
