"""Scaling in place sends one TTIN per worker, each once the one before was taken: at once
when the master forks at once, after the fixed gap when it does not (or for TTOU)."""

from __future__ import annotations

import asyncio
import itertools
import signal

from gaia_runner.process.worker_signals import GAP, send_each


class FakeMaster:
    """A master on a fake clock: it forks `fork_after` seconds after each TTIN (None:
    never), and records when each signal arrived."""

    def __init__(self, fork_after: float | None) -> None:
        self.now = 0.0
        self.fork_after = fork_after
        self.received: list[tuple[float, int]] = []
        self.pids: list[int] = [100]
        self._forks: list[float] = []

    def send(self, sig: int) -> None:
        self.received.append((self.now, sig))
        if sig == signal.SIGTTIN and self.fork_after is not None:
            self._forks.append(self.now + self.fork_after)

    def children(self) -> list[int]:
        while self._forks and self._forks[0] <= self.now + 1e-9:
            self._forks.pop(0)
            self.pids.append(self.pids[-1] + 1)
        return list(self.pids)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now = round(self.now + seconds, 6)


def sent_at(master: FakeMaster, delta: int) -> list[float]:
    asyncio.run(
        send_each(master.send, master.children, delta, clock=master.clock, sleep=master.sleep)
    )
    return [at for at, _ in master.received]


def test_a_master_that_forks_at_once_gets_the_next_ttin_at_once() -> None:
    master = FakeMaster(fork_after=0.01)
    times = sent_at(master, 3)
    # Each signal once the fork before it was seen, not 200 ms apart (a burst waited
    # 0.2 s more for each added worker after the first).
    assert times[0] == 0.0
    assert all(0 < b - a <= 0.02 for a, b in itertools.pairwise(times))
    assert len(master.pids) == 4
    assert {sig for _, sig in master.received} == {signal.SIGTTIN}


def test_a_master_that_forks_late_gets_its_signals_a_gap_apart() -> None:
    # uvicorn's supervisor acts on its signals on a 0.5 s loop: sent sooner, a TTIN could
    # be merged with one still pending, and a worker would be lost.
    times = sent_at(FakeMaster(fork_after=None), 3)
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [GAP, GAP]


def test_ttou_signals_go_a_gap_apart() -> None:
    # A retired worker leaves only once its requests are done: nothing to wait for.
    master = FakeMaster(fork_after=0.0)
    times = sent_at(master, -2)
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [GAP]
    assert {sig for _, sig in master.received} == {signal.SIGTTOU}
