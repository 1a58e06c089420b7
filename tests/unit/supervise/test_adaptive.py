"""The adaptive-workers decision, driven by a fake clock and made-up queue readings."""

from __future__ import annotations

from dataclasses import replace

from gaia_runner.adaptive_workers import PERIOD
from gaia_runner.config.model import WorkersRange
from gaia_runner.supervise.adaptive import Policy, Sample, ScaleDecision

LIMITS = WorkersRange(min=2, max=8, up_after=1.0, down_after=5.0, step=2)
MIB = 1024 * 1024


def run(policy: Policy, start: Sample, until: float, tick: float = 0.2) -> list[ScaleDecision]:
    """Samples every `tick` seconds until `until`, the app following each decision."""
    decisions, sample = [], start
    while sample.now <= until + 1e-9:
        decision = policy.decide(sample)
        if decision is not None:
            decisions.append(decision)
            sample = replace(sample, workers=decision.workers)
        sample = replace(sample, now=round(sample.now + tick, 6))
    return decisions


def test_a_queue_that_persists_adds_workers_in_steps() -> None:
    decisions = run(Policy(LIMITS), Sample(now=0.0, workers=2, queue=14), until=1.0)
    assert decisions == [ScaleDecision(4, "accept queue 14 for 1.0s")]
    assert decisions[0].describe(2) == "2 -> 4 workers: accept queue 14 for 1.0s"


def test_a_blip_shorter_than_up_after_adds_nothing() -> None:
    policy = Policy(LIMITS)
    assert run(policy, Sample(now=0.0, workers=2, queue=3), until=0.8) == []
    assert run(policy, Sample(now=1.0, workers=2, queue=0), until=1.2) == []
    # The queue came back: its time counts from now, not from the first blip.
    assert run(policy, Sample(now=1.4, workers=2, queue=3), until=2.2) == []


def test_never_above_max_nor_below_min() -> None:
    policy = Policy(LIMITS)
    ups = run(policy, Sample(now=0.0, workers=2, queue=50), until=30.0)
    assert [d.workers for d in ups] == [4, 6, 8]
    downs = run(policy, Sample(now=31.0, workers=8, queue=0), until=100.0)
    assert [d.workers for d in downs] == [7, 6, 5, 4, 3, 2]


def test_idle_removes_one_worker_per_quiet_period() -> None:
    decisions = run(Policy(LIMITS), Sample(now=0.0, workers=4, queue=0), until=10.0)
    assert decisions == [ScaleDecision(3, "idle for 5.0s"), ScaleDecision(2, "idle for 5.0s")]


def test_a_steady_load_keeps_the_workers_it_needs() -> None:
    # 3 requests in service on 4 workers: one fewer would leave no half-worker spare.
    sample = Sample(now=0.0, workers=4, queue=0, busy=3.0)
    assert run(Policy(LIMITS), sample, until=60.0) == []
    light = replace(sample, busy=1.5)
    assert [d.workers for d in run(Policy(LIMITS), light, until=60.0)] == [3]


def test_event_loop_lag_is_pressure_for_asyncio_workers() -> None:
    decisions = run(Policy(LIMITS), Sample(now=0.0, workers=2, loop_lag=0.25), until=1.0)
    assert decisions == [ScaleDecision(3, "event loop lag 250ms for 1.0s")]


def test_memory_total_caps_the_workers_added() -> None:
    sample = Sample(
        now=0.0, workers=2, queue=20, worker_bytes=100 * MIB, app_bytes=250 * MIB,
        app_limit=400 * MIB,
    )  # fmt: skip
    decisions = run(Policy(LIMITS), sample, until=1.0)
    assert [d.workers for d in decisions] == [3]
    full = replace(sample, app_bytes=350 * MIB)
    held = run(Policy(LIMITS), full, until=5.0)
    assert len(held) == 1  # said once, not every sample
    assert held[0].workers == 2
    assert "memory.total 400MiB leaves no room for a worker of 100MiB" in held[0].reason


def test_machine_memory_available_holds() -> None:
    sample = Sample(now=0.0, workers=2, queue=20, worker_bytes=100 * MIB, available_bytes=50 * MIB)
    (held,) = run(Policy(LIMITS), sample, until=1.0)
    assert held.workers == 2
    assert "50MiB available leaves no room" in held.reason


def test_a_saturated_cpu_holds() -> None:
    (held,) = run(Policy(LIMITS), Sample(now=0.0, workers=2, queue=9, cpu_busy=0.99), until=3.0)
    assert held == ScaleDecision(2, "accept queue 9 for 1.0s, but CPU is saturated (99%)")
    assert held.describe(2).startswith("2 workers held: accept queue 9")


def test_gthread_threads_all_busy_add_workers_with_an_empty_queue() -> None:
    # gthread accepts eagerly: 8 requests in flight on 2 workers x 4 threads, no queue.
    busy = Sample(now=0.0, workers=2, queue=0, threads=4, in_flight=8)
    decisions = run(Policy(LIMITS), busy, until=3.0)
    assert decisions == [ScaleDecision(3, "8 of 8 threads busy for 1.0s")]  # 4 threads more: enough


def test_gthread_threads_partly_busy_add_nothing() -> None:
    busy = Sample(now=0.0, workers=2, queue=0, threads=4, in_flight=6)
    assert run(Policy(LIMITS), busy, until=10.0) == []
    # Not a gthread app (in_flight None): threads say nothing about load.
    assert run(Policy(LIMITS), replace(busy, in_flight=None), until=10.0) == []


# The defaults, read on the sampler's own period: what figure 15 measures.
DEFAULTS = WorkersRange(min=1, max=4)


def test_a_burst_is_answered_within_0_4s_of_its_queue_in_one_step() -> None:
    # The queue appears at 0, at every phase of the readings (the worst: just after one).
    for phase in (0.001, 0.05, 0.099):
        policy = Policy(DEFAULTS)
        readings = (Sample(now=phase + i * PERIOD, workers=1, queue=15) for i in range(20))
        at, decision = next((s.now, d) for s in readings if (d := policy.decide(s)) is not None)
        assert at <= 0.4, phase
        assert decision == ScaleDecision(4, "accept queue 15 for 0.3s")  # not 1 -> 3 -> 4


def test_a_200ms_blip_adds_nothing_at_any_phase_of_the_readings() -> None:
    # A queue that lasts 200 ms (both ends read, the worst case) is seen for 0.2 s at most.
    for offset in range(0, 100, 5):
        policy, blip_start = Policy(DEFAULTS), 1.0 + offset / 1000
        now = 0.0
        while now < 3.0:
            queued = blip_start <= now <= blip_start + 0.2
            assert policy.decide(Sample(now=now, workers=1, queue=9 if queued else 0)) is None
            now = round(now + PERIOD, 6)


def test_blips_in_a_row_add_nothing_while_a_reading_between_them_is_empty() -> None:
    # Queues seen by 3 readings (0.2 s), then one empty reading: each counts alone.
    policy = Policy(DEFAULTS)
    for i in range(50):
        queued = i % 4 != 3
        sample = Sample(now=round(i * PERIOD, 6), workers=1, queue=5 if queued else 0)
        assert policy.decide(sample) is None
