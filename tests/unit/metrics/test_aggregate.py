"""Worker-side sums, the wire format, and gaia's totals, windows and quantiles."""

from __future__ import annotations

import json

import pytest

from gaia_runner.metrics.recorder import Recorder
from gaia_runner.metrics.store import RATE_WINDOW, WINDOW, AppRequests, RequestStore, quantile
from gaia_runner.metrics.wire import (
    BOUNDS,
    N_BUCKETS,
    PROMETHEUS_BOUNDS,
    Batch,
    bucket_index,
    decode,
    encode,
)


def test_every_prometheus_bound_is_a_fine_bound() -> None:
    assert set(PROMETHEUS_BOUNDS) <= set(BOUNDS)
    assert list(BOUNDS) == sorted(set(BOUNDS))


@pytest.mark.parametrize(
    ("seconds", "le"), [(0.0, 0.0001), (0.005, 0.005), (0.0051, None), (0.2, None), (99.0, None)]
)
def test_bucket_index_is_prometheus_le(seconds: float, le: float | None) -> None:
    index = bucket_index(seconds)
    if index < len(BOUNDS):
        assert seconds <= BOUNDS[index]
        if le is not None:
            assert BOUNDS[index] == le
    if index > 0:
        assert BOUNDS[index - 1] < seconds
    if seconds > BOUNDS[-1]:
        assert index == len(BOUNDS)  # +Inf


def test_recorder_sums_and_take_resets() -> None:
    recorder = Recorder("web")
    for code, seconds in [(200, 0.001), (200, 0.002), (500, 0.2)]:
        recorder.record(code, seconds)
    batch = recorder.take()
    assert batch is not None
    assert batch.app == "web"
    assert batch.codes == {200: 2, 500: 1}
    assert sum(batch.buckets.values()) == 3
    assert batch.seconds == pytest.approx(0.203)
    assert recorder.take() is None


def test_a_batch_that_could_not_be_sent_is_merged_into_the_next() -> None:
    recorder = Recorder("web")
    recorder.record(200, 0.01)
    first = recorder.take()
    assert first is not None
    recorder.record(404, 0.01)
    recorder.put_back(first)
    merged = recorder.take()
    assert merged is not None and merged.codes == {200: 1, 404: 1}


def test_wire_round_trip() -> None:
    batch = Batch("web", {200: 3, 503: 1}, {0: 2, N_BUCKETS - 1: 2}, 12.5)
    assert decode(encode(batch)) == batch


@pytest.mark.parametrize(
    "message",
    [
        b"not json",
        b"[]",
        {"v": 2},
        {"c": {"200": -1}},
        {"c": {"abc": 1}},
        {"c": {"200": True}},
        {"b": [[N_BUCKETS, 1]]},
        {"b": [[0]]},
        {"s": "1"},
        {"s": -1},
        {"app": ""},
        {"n": N_BUCKETS + 1},
    ],
)
def test_malformed_datagrams_are_dropped(message: bytes | dict[str, object]) -> None:
    if isinstance(message, dict):
        good = json.loads(encode(Batch("web", {200: 1}, {0: 1}, 0.1)))
        message = json.dumps({**good, **message}).encode()
    assert decode(message) is None


def test_quantiles_interpolate_inside_a_bucket() -> None:
    buckets = [0] * N_BUCKETS
    index = bucket_index(0.2)
    buckets[index] = 100
    p50 = quantile(buckets, 0.5)
    assert p50 is not None and BOUNDS[index - 1] <= p50 <= BOUNDS[index]
    assert quantile([0] * N_BUCKETS, 0.5) is None


def test_p50_and_p99_of_a_mix() -> None:
    requests = AppRequests()
    fast = Batch("web", {200: 99}, {bucket_index(0.002): 99}, 0.198)
    slow = Batch("web", {500: 1}, {bucket_index(0.2): 1}, 0.2)
    requests.add(fast, now=100.0)
    requests.add(slow, now=100.5)
    stats = requests.window(now=101.0)
    assert stats.p50 is not None and stats.p50 <= 0.0025
    assert stats.p99 is not None and stats.p99 <= 0.0025  # rank 99 of 100 is still fast
    assert stats.errors_5xx_share == pytest.approx(0.01)
    assert stats.requests_per_second == pytest.approx(100 / 1.0)


def test_the_window_forgets_old_batches_but_totals_do_not() -> None:
    requests = AppRequests()
    requests.add(Batch("web", {200: 10}, {0: 10}, 0.0), now=0.0)
    requests.add(Batch("web", {500: 5}, {0: 5}, 0.0), now=WINDOW + 5)
    stats = requests.window(now=WINDOW + 5)
    assert stats.requests_per_second == pytest.approx(5 / RATE_WINDOW)
    assert stats.errors_5xx_share == 1.0
    assert requests.codes == {200: 10, 500: 5}
    assert requests.window(now=100 * WINDOW).errors_5xx_share is None


def test_cumulative_buckets_are_exact_at_prometheus_bounds() -> None:
    requests = AppRequests()
    for seconds in (0.004, 0.005, 0.2, 0.2, 20.0):
        requests.add(Batch("web", {200: 1}, {bucket_index(seconds): 1}, seconds), now=0.0)
    cumulative = dict(requests.cumulative_buckets())
    assert cumulative[0.005] == 2
    assert cumulative[0.1] == 2
    assert cumulative[0.25] == 4
    assert cumulative[10.0] == 4
    assert cumulative[float("inf")] == 5


def test_unknown_app_has_an_empty_window() -> None:
    stats = RequestStore().window("nope", now=1.0)
    assert stats.requests_per_second == 0 and stats.p50 is None


def test_req_per_second_is_a_recent_rate() -> None:
    """A 2-second burst at 25,000 req/s showed as 5,000: averaged over the 10 s window."""
    requests = AppRequests()
    requests.add(Batch("web", {200: 10}, {0: 10}, 0.0), now=0.0)  # a quiet start
    for tick in range(4):  # then 2 s at 25,000 req/s, in half-second batches
        requests.add(Batch("web", {200: 12_500}, {0: 12_500}, 0.0), now=8.5 + tick / 2)
    stats = requests.window(now=10.0)
    assert stats.requests_per_second == pytest.approx(25_000)
    later = requests.window(now=10.0 + RATE_WINDOW + 0.1)
    assert later.requests_per_second == 0  # the burst is over; 5xx and latency still show it
    assert later.p50 is not None
