"""gaia's totals across workers and generations: counters only ever grow."""

from __future__ import annotations

import random

from gaia_runner.metrics.cpu import CpuCounter
from gaia_runner.metrics.exposition import Scrape, make_registry
from gaia_runner.metrics.recorder import Recorder
from gaia_runner.metrics.store import RequestStore
from gaia_runner.metrics.wire import decode, encode
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState


def test_workers_of_several_generations_add_up_and_never_decrease() -> None:
    store = RequestStore()
    rng = random.Random(7)
    sent = 0
    last_total = 0
    # Generation 1 has two workers, one is recycled (a fresh recorder), generation 2 replaces them.
    workers = [Recorder("web") for _ in range(5)]
    for step in range(200):
        worker = workers[min(step // 40, 4)] if step % 2 else workers[step % 5]
        n = rng.randint(0, 3)
        for _ in range(n):
            worker.record(rng.choice([200, 404, 500]), rng.random() / 10)
        sent += n
        batch = worker.take()
        if batch is not None:
            decoded = decode(encode(batch))
            assert decoded is not None
            store.add(decoded, now=float(step))
        total = store.apps["web"].count if "web" in store.apps else 0
        assert total >= last_total
        last_total = total
    assert last_total == sent


def test_two_apps_are_kept_apart() -> None:
    store = RequestStore()
    for app in ("a", "b", "b"):
        recorder = Recorder(app)
        recorder.record(200, 0.01)
        batch = recorder.take()
        assert batch is not None
        store.add(batch, now=0.0)
    assert store.apps["a"].count == 1
    assert store.apps["b"].count == 2


def test_cpu_counter_keeps_what_exited_processes_used() -> None:
    cpu = CpuCounter()
    cpu.observe([(1, 1.0), (2, 2.0)])
    assert cpu.total == 3.0
    cpu.observe([(1, 1.5), (3, 0.5)])  # worker 2 recycled into worker 3
    assert cpu.total == 4.0
    cpu.observe([(1, 0.25)])  # pid 1 reused by a new process
    assert cpu.total == 4.25


def test_exposition_names_and_labels() -> None:
    store = RequestStore()
    recorder = Recorder("web")
    recorder.record(200, 0.2)
    recorder.record(500, 0.001)
    recorder.note_queue(0.03)
    batch = recorder.take()
    assert batch is not None
    store.add(batch, now=0.0)
    app = AppSnapshot(
        name="web",
        server="gunicorn",
        state=AppState.FATAL,
        workers_live=0,
        cpu_seconds_total=1.5,
        restart_reasons=(("exit 1", 4),),
    )
    from prometheus_client import generate_latest

    text = generate_latest(make_registry(lambda: Scrape(Snapshot(apps=(app,)), store.apps)))
    lines = set(text.decode().splitlines())
    for line in (
        'gaia_requests_total{app="web",code="200"} 1.0',
        'gaia_requests_total{app="web",code="500"} 1.0',
        'gaia_request_duration_seconds_bucket{app="web",le="0.1"} 1.0',
        'gaia_request_duration_seconds_bucket{app="web",le="0.25"} 2.0',
        'gaia_request_duration_seconds_count{app="web"} 2.0',
        'gaia_request_queue_seconds_bucket{app="web",le="0.025"} 0.0',
        'gaia_request_queue_seconds_bucket{app="web",le="0.05"} 1.0',
        'gaia_request_queue_seconds_count{app="web"} 1.0',
        'gaia_app_up{app="web"} 0.0',
        'gaia_app_state{app="web",state="fatal"} 1.0',
        'gaia_app_state{app="web",state="running"} 0.0',
        'gaia_app_restarts_total{app="web",reason="exit 1"} 4.0',
        'gaia_app_workers{app="web"} 0.0',
        'gaia_app_cpu_seconds_total{app="web"} 1.5',
    ):
        assert line in lines, line
    assert "# TYPE gaia_request_duration_seconds histogram" in lines
