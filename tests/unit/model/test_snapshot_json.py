"""The snapshot's one wire form: what the control socket carries is what the CLI reads."""

from __future__ import annotations

import dataclasses
import json

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState

# Every field differs from its default, so a field the wire form drops is caught here.
FULL = AppSnapshot(
    name="web",
    server="uvicorn",
    state=AppState.BACKOFF,
    pid=10,
    workers_live=2,
    worker_pids=(11, 12),
    workers_desired=3,
    urls=("http://127.0.0.1:8000",),
    memory_bytes=1 << 20,
    memory_limit=1 << 30,
    largest_worker_bytes=1 << 19,
    worker_limit=1 << 29,
    cpu_percent=12.5,
    restarts=4,
    last_restart_reason="crashed",
    uptime_seconds=3.5,
    backoff_seconds_left=1.5,
    detail="waiting",
    last_lines=("a", "b"),
    unwritten_lines=7,
    generation=5,
    rejected="bad edit",
    stopped_by_request=True,
    workers_in_file=2,
    requests_per_second=100.0,
    latency_p50=0.01,
    latency_p99=0.2,
    wait_p50=0.004,
    wait_p99=0.04,
    errors_5xx_share=0.05,
    loop_lag=0.003,
    accept_queue=9,
    cpu_seconds_total=42.0,
    restart_reasons=(("crashed", 3), ("memory", 1)),
    slow_requests=(2, 1),
    completed=True,
    workers_range=(2, 8),
    scale_events=(("up", 3), ("down", 1)),
)
SNAPSHOT = Snapshot(
    apps=(FULL, AppSnapshot(name="worker", server="command", state=AppState.RUNNING)),
    config_path="/srv/gaia.toml",
    config_error="line 3: bad",
    config_pending=True,
    notices=("one", "two"),
)


def test_the_sample_sets_every_field() -> None:
    defaults = AppSnapshot(name="", server="", state=AppState.STARTING)
    same = [
        f.name
        for f in dataclasses.fields(AppSnapshot)
        if getattr(FULL, f.name) == getattr(defaults, f.name)
    ]
    assert not same


def test_a_snapshot_survives_the_socket_whole() -> None:
    wire = json.loads(json.dumps(SNAPSHOT.to_json()))
    assert Snapshot.from_json(wire) == SNAPSHOT


def test_keys_from_a_newer_gaia_are_ignored() -> None:
    wire = json.loads(json.dumps(SNAPSHOT.to_json()))
    wire["future"] = 1
    wire["apps"][0]["future_field"] = [1, 2]
    assert Snapshot.from_json(wire) == SNAPSHOT
