"""X-Request-Start: its units told by magnitude, absurd waits dropped, and the trust rule
the middlewares apply before recording a wait (metrics/request_start.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from gaia_runner.config import parse_config_text
from gaia_runner.metrics.middleware import ASGIMetrics, NotePeer, WSGIMetrics
from gaia_runner.metrics.recorder import Recorder
from gaia_runner.metrics.request_start import TRUST_ENV, ProxyTrust, parse_stamp, queue_seconds
from gaia_runner.metrics.store import RequestStore
from gaia_runner.metrics.wire import CHANNEL_ENV, decode, encode
from gaia_runner.process.launch import child_environment

NOW = 1_765_000_000.25


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("t=1765000000.125", 1_765_000_000.125),  # nginx: t=${msec}
        ("1765000000.125", 1_765_000_000.125),
        ("t=1765000000125", 1_765_000_000.125),  # milliseconds
        ("1765000000125000", 1_765_000_000.125),  # microseconds (Heroku)
        ("t=1765000000125000", 1_765_000_000.125),
        (" t= 1765000000.125 ", 1_765_000_000.125),
    ],
)
def test_the_stamp_is_read_in_seconds_milliseconds_or_microseconds(
    header: str, expected: float
) -> None:
    assert parse_stamp(header) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("header", ["", "t=", "soon", "t=nan", "inf", "-5", "0", "t=1e400"])
def test_a_malformed_stamp_is_none(header: str) -> None:
    assert parse_stamp(header) is None


def test_the_wait_is_arrival_minus_the_stamp() -> None:
    assert queue_seconds("t=1765000000.125", NOW) == pytest.approx(0.125)
    assert queue_seconds("t=1765000000.250", NOW) == 0.0


@pytest.mark.parametrize("header", ["t=1765000001.000", "t=1764990000.000"])
def test_a_stamp_from_the_future_or_over_an_hour_old_is_dropped(header: str) -> None:
    """Clock skew between the proxy and the app, or a forged value: not a wait."""
    assert queue_seconds(header, NOW) is None


def test_the_trust_rule_is_the_forwarded_headers_one() -> None:
    trust = ProxyTrust(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert trust.trusts("127.0.0.1") and trust.trusts("10.2.3.4") and trust.trusts("::1")
    assert not trust.trusts("127.0.0.2") and not trust.trusts("192.168.1.1")
    # A unix socket peer (no address, or gunicorn's socket name): only local processes.
    assert trust.trusts(None) and trust.trusts("")
    assert ProxyTrust.from_env("*").trusts("203.0.113.9")
    assert not ProxyTrust.from_env("").trusts("127.0.0.1")


class Noted:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.codes: list[int] = []

    def finish(self, code: int, seconds: float) -> None:
        if code:
            self.codes.append(code)

    def note_queue(self, seconds: float) -> None:
        self.waits.append(seconds)

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass


def wsgi_ok(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def wsgi_call(app: WSGIMetrics, peer: str, stamp: str) -> None:
    environ = {"REMOTE_ADDR": peer, "HTTP_X_REQUEST_START": stamp}
    body = app(environ, lambda *args: None)
    list(body)
    body.close()  # type: ignore[attr-defined]


def test_wsgi_records_the_wait_only_from_a_trusted_peer() -> None:
    noted = Noted()
    app = WSGIMetrics(wsgi_ok, noted, trust=ProxyTrust(["127.0.0.1"]))
    stamp = f"t={time.time() - 2:.3f}"
    wsgi_call(app, "127.0.0.2", stamp)
    assert noted.waits == [] and noted.codes == [200]
    wsgi_call(app, "127.0.0.1", stamp)
    assert len(noted.waits) == 1 and 1.9 < noted.waits[0] < 10


def test_without_a_trust_list_nothing_is_recorded() -> None:
    noted = Noted()
    wsgi_call(WSGIMetrics(wsgi_ok, noted), "127.0.0.1", "t=1")
    assert noted.waits == [] and noted.codes == [200]


async def asgi_ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def rewriting_client(inner: Any) -> Any:
    """What uvicorn's ProxyHeadersMiddleware does to a trusted peer's request."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["client"] = ("203.0.113.9", 0)
        await inner(scope, receive, send)

    return app


def asgi_call(app: Any, client: tuple[str, int] | None, stamp: str) -> None:
    scope = {"type": "http", "client": client, "headers": [(b"x-request-start", stamp.encode())]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    asyncio.run(app(scope, receive, send))


def test_asgi_takes_the_peer_noted_before_the_proxy_headers_rewrote_the_client() -> None:
    noted = Noted()
    metrics = ASGIMetrics(asgi_ok, noted, trust=ProxyTrust(["127.0.0.1"]))
    stamp = f"t={time.time() - 1:.3f}"
    asgi_call(metrics, ("127.0.0.2", 5000), stamp)
    assert noted.waits == []
    asgi_call(rewriting_client(metrics), ("127.0.0.1", 5000), stamp)
    assert noted.waits == []  # the rewritten client is not the proxy
    asgi_call(NotePeer(rewriting_client(metrics)), ("127.0.0.1", 5000), stamp)
    assert len(noted.waits) == 1
    asgi_call(metrics, None, stamp)  # a unix socket's peer: the proxy
    assert len(noted.waits) == 2


def test_waits_travel_to_the_store_and_its_window() -> None:
    recorder = Recorder("web")
    recorder.record(200, 0.01)
    recorder.note_queue(0.5)
    recorder.note_queue(0.5)
    batch = recorder.take()
    assert batch is not None
    decoded = decode(encode(batch))
    assert decoded is not None and decoded.queue == batch.queue
    store = RequestStore()
    store.add(decoded, now=100.0)
    stats = store.window("web", 100.5)
    assert stats.wait_p50 is not None and 0.4 < stats.wait_p50 <= 0.5
    assert stats.wait_p99 is not None and 0.4 < stats.wait_p99 <= 0.5
    assert store.apps["web"].cumulative_queue()[-1] == (float("inf"), 2)
    quiet = Recorder("web")
    quiet.record(200, 0.01)
    plain = quiet.take()
    assert plain is not None and b'"q"' not in encode(plain)
    store.add(plain, now=200.0)
    assert store.window("web", 200.0).wait_p99 is None  # the window moved past the waits


@pytest.mark.parametrize(
    ("extra", "trusted"),
    [
        ("", "127.0.0.1,::1"),  # gunicorn (UvicornWorker included): gunicorn's default
        ('server = "uvicorn"\n', "127.0.0.1"),  # uvicorn's own default
        ('forwarded_allow_ips = ["10.0.0.0/8"]\n', "10.0.0.0/8"),
        ('bind = "unix:/run/web.sock"\n', "*"),  # gaia's default for a unix-only app
    ],
)
def test_workers_are_told_whom_the_server_trusts(tmp_path: Path, extra: str, trusted: str) -> None:
    text = f'[apps.web]\napp = "hello:app"\n{extra}'
    app = parse_config_text(text, tmp_path / "gaia.toml", check_files=False).config.apps["web"]
    assert child_environment(app, {CHANNEL_ENV: "7"})[TRUST_ENV] == trusted
    off = dataclasses.replace(app, metrics=False)
    assert TRUST_ENV not in child_environment(off, {CHANNEL_ENV: "7"})
