"""The pure counters behind the crash-loop and memory watchers."""

from __future__ import annotations

from gaia_runner.supervise.monitors import OverLimit, StartingWorkers, WorkerTurnover


def test_turnover_counts_births_after_the_first_set_within_the_window() -> None:
    t = WorkerTurnover(window=10.0, expected=2)
    assert t.observe(0.0, [1]) == 0  # the second initial worker is still booting
    assert t.observe(0.5, [1, 2]) == 0
    assert t.observe(1.0, [1, 2]) == 0
    assert t.observe(2.0, [1, 3]) == 1
    assert t.observe(3.0, [4, 5]) == 3
    assert t.observe(12.5, [4, 5]) == 2  # the birth at 2.0 left the window
    assert t.observe(20.0, [4, 5]) == 0


def test_over_limit_needs_consecutive_samples() -> None:
    o = OverLimit(needed=3)
    assert o.observe([7], [7, 8]) == []
    assert o.observe([7], [7, 8]) == []
    assert o.observe([], [7, 8]) == []  # a dip resets the count
    assert o.observe([7], [7, 8]) == []
    assert o.observe([7], [7, 8]) == []
    assert o.observe([7], [7, 8]) == [7]


def test_a_start_fails_at_the_first_worker_death() -> None:
    w = StartingWorkers(expected=2)
    assert w.observe([]) is None  # nothing forked yet
    assert w.observe([11]) is None  # the second worker is still being spawned
    assert w.observe([11, 12]) is None
    assert w.observe([11, 12]) is None
    assert w.observe([12]) == "worker 11 died before the app answered"


def test_a_start_fails_at_a_replacement_whose_death_was_not_seen() -> None:
    w = StartingWorkers(expected=2)
    assert w.observe([11, 12]) is None
    # Died and replaced between two looks: the newcomer gives it away.
    assert w.observe([11, 12, 13]) == "a worker was replaced before the app answered"
