"""Datagrams from any same-uid process cannot grow a scrape without bound: only apps gaia
runs are exposed, each with a bounded number of status-code series."""

from __future__ import annotations

from prometheus_client import generate_latest

from gaia_runner.metrics.exposition import Scrape, make_registry
from gaia_runner.metrics.store import MAX_CODES, RequestStore
from gaia_runner.metrics.wire import Batch
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState


def test_spoofed_apps_and_codes_stay_out_of_the_scrape() -> None:
    store = RequestStore()
    store.add(Batch("web", {200: 5}, {0: 5}, 0.01), now=1.0)
    store.add(Batch("web", {code: 1 for code in range(100, 1000)}, {0: 900}, 0.1), now=1.0)
    for n in range(500):
        store.add(Batch(f"spoof{n}", {200: 1}, {0: 1}, 0.001), now=1.0)
    snapshot = Snapshot(apps=(AppSnapshot(name="web", server="uvicorn", state=AppState.RUNNING),))

    text = generate_latest(make_registry(lambda: Scrape(snapshot, store.apps))).decode()

    series = [line for line in text.splitlines() if line.startswith("gaia_requests_total{")]
    assert len(series) == MAX_CODES + 1
    assert 'gaia_requests_total{app="web",code="200"} 6.0' in series
    other = 900 - (MAX_CODES - 1) - 1  # 29 more codes apart, and 200 already was
    assert f'gaia_requests_total{{app="web",code="other"}} {other}.0' in series
    assert "spoof" not in text
    assert store.apps["web"].count == 905  # nothing is lost, only grouped
