"""`gaia status --json` carries everything the table shows: the note under a narrow table
sends the reader there."""

from __future__ import annotations

import dataclasses
import json

from test_status_metrics import WEB  # 1.2k req/s, p50 4 ms, p99 250 ms, 1.5 % 5xx

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.status_json import SCHEMA, status_document

WORKER = AppSnapshot(name="worker", server="command", state=AppState.RUNNING)


def test_the_request_columns_are_in_the_document() -> None:
    document = json.loads(json.dumps(status_document(Snapshot(apps=(WEB, WORKER)))))
    assert document["schema"] == SCHEMA == 1  # fields added: the schema stays
    web, worker = document["apps"]
    assert web["requests"] == {
        "per_second": 1234.5,
        "p50_seconds": 0.0042,
        "p99_seconds": 0.25,
        "errors_5xx_share": 0.015,
        "window_seconds": 10.0,
        "rate_window_seconds": 2.0,
        "loop_lag_seconds": None,
        "wait_p50_seconds": None,
        "wait_p99_seconds": None,
    }
    assert worker["requests"] is None  # not measured: no request columns either
    assert web["accept_queue"] is None and worker["accept_queue"] is None


def test_apps_keep_the_snapshot_order() -> None:
    document = status_document(Snapshot(apps=(WORKER, WEB)))
    assert [app["name"] for app in document["apps"]] == ["worker", "web"]


def test_the_wait_from_the_proxys_stamp_is_in_the_document() -> None:
    stamped = dataclasses.replace(WEB, wait_p50=0.02, wait_p99=0.4)
    requests = status_document(Snapshot(apps=(stamped,)))["apps"][0]["requests"]
    assert (requests["wait_p50_seconds"], requests["wait_p99_seconds"]) == (0.02, 0.4)
