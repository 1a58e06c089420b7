"""The middlewares on fake ASGI and WSGI apps: what they count, and that they change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gaia_runner.metrics.middleware import ASGIMetrics, WSGIMetrics


class Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []
        self.in_flight = 0

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1

    def finish(self, code: int, seconds: float) -> None:
        self.in_flight -= 1
        if code:
            self.calls.append((code, seconds))

    @property
    def codes(self) -> list[int]:
        return [code for code, _ in self.calls]


class Boom(Exception):
    pass


def http_scope(path: str = "/", agent: bytes = b"curl/8") -> dict[str, Any]:
    return {"type": "http", "path": path, "headers": [(b"host", b"x"), (b"user-agent", agent)]}


async def _run(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def run_asgi(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    return asyncio.run(_run(app, scope))


START = {"type": "http.response.start", "status": 201, "headers": [(b"x-app", b"kept")]}


async def answering(scope: Any, receive: Any, send: Any) -> None:
    await send(START)
    await send({"type": "http.response.body", "body": b"hi"})


def test_asgi_counts_the_status_and_passes_messages_untouched() -> None:
    recorded = Recorded()
    sent = run_asgi(ASGIMetrics(answering, recorded), http_scope())
    assert sent == [START, {"type": "http.response.body", "body": b"hi"}]
    assert sent[0] is START  # the very same message object, headers included
    assert recorded.codes == [201]
    assert 0 <= recorded.calls[0][1] < 1


def test_asgi_raising_handler_counts_500_and_the_exception_propagates() -> None:
    async def raising(scope: Any, receive: Any, send: Any) -> None:
        raise Boom("original")

    recorded = Recorded()
    with pytest.raises(Boom, match="original"):
        run_asgi(ASGIMetrics(raising, recorded), http_scope())
    assert recorded.codes == [500]


def test_asgi_raise_after_the_response_started_counts_500() -> None:
    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send(START)
        raise Boom

    recorded = Recorded()
    with pytest.raises(Boom):
        run_asgi(ASGIMetrics(half, recorded), http_scope())
    assert recorded.codes == [500]


def test_asgi_streaming_counts_once_when_finished_with_the_whole_duration() -> None:
    recorded = Recorded()
    counted_during_stream: list[int] = []

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(3):
            await asyncio.sleep(0.02)
            counted_during_stream.append(len(recorded.calls))
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    run_asgi(ASGIMetrics(streaming, recorded), http_scope())
    assert counted_during_stream == [0, 0, 0]
    assert recorded.codes == [200]
    assert recorded.calls[0][1] >= 0.06


def test_asgi_returning_without_a_response_counts_500() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    recorded = Recorded()
    run_asgi(ASGIMetrics(silent, recorded), http_scope())
    assert recorded.codes == [500]


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
def test_asgi_websocket_and_lifespan_are_not_requests(kind: str) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    recorded = Recorded()
    run_asgi(ASGIMetrics(app, recorded), {"type": kind, "headers": []})
    assert seen == [kind]
    assert recorded.calls == []


def test_asgi_gaia_probes_are_not_counted() -> None:
    recorded = Recorded()
    run_asgi(ASGIMetrics(answering, recorded), http_scope(agent=b"gaia-probe"))
    assert recorded.calls == []


# -- WSGI ----------------------------------------------------------------------------------


def call_wsgi(app: Any, path: str = "/", agent: str = "curl/8") -> tuple[list[Any], bytes, Any]:
    started: list[Any] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda data: None

    environ = {"PATH_INFO": path, "HTTP_USER_AGENT": agent}
    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return started, data, body


HEADERS = [("Content-Type", "text/plain"), ("X-App", "kept")]


def wsgi_ok(environ: Any, start_response: Any) -> list[bytes]:
    start_response("404 Not Found", HEADERS)
    return [b"nope"]


def test_wsgi_counts_the_status_and_passes_headers_untouched() -> None:
    recorded = Recorded()
    started, data, _ = call_wsgi(WSGIMetrics(wsgi_ok, recorded))
    assert started == [("404 Not Found", HEADERS)]
    assert started[0][1] is HEADERS
    assert data == b"nope"
    assert recorded.codes == [404]


def test_wsgi_raising_handler_counts_500_and_the_exception_propagates() -> None:
    def raising(environ: Any, start_response: Any) -> list[bytes]:
        raise Boom("original")

    recorded = Recorded()
    with pytest.raises(Boom, match="original"):
        call_wsgi(WSGIMetrics(raising, recorded))
    assert recorded.codes == [500]


def test_wsgi_streaming_counts_at_close_and_the_app_close_is_called() -> None:
    recorded = Recorded()
    closed: list[bool] = []

    class Stream:
        def __iter__(self) -> Iterator[bytes]:
            for chunk in (b"a", b"b"):
                assert recorded.calls == []  # not counted while streaming
                yield chunk

        def close(self) -> None:
            closed.append(True)

    def app(environ: Any, start_response: Any) -> Stream:
        start_response("200 OK", [])
        return Stream()

    _, data, _ = call_wsgi(WSGIMetrics(app, recorded))
    assert data == b"ab"
    assert closed == [True]
    assert recorded.codes == [200]


def test_wsgi_error_while_streaming_counts_500() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"a"
        raise Boom

    recorded = Recorded()
    with pytest.raises(Boom):
        call_wsgi(WSGIMetrics(app, recorded))
    assert recorded.codes == [500]


def test_wsgi_probe_gets_the_app_response_itself() -> None:
    recorded = Recorded()
    body = [b"x"]

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return body

    _, _, returned = call_wsgi(WSGIMetrics(app, recorded), agent="gaia-probe")
    assert returned is body
    assert recorded.calls == []


def test_a_request_is_in_flight_until_it_is_counted_whatever_its_end() -> None:
    recorded = Recorded()
    seen: list[int] = []

    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        seen.append(recorded.in_flight)
        start_response("200 OK", HEADERS)
        return [b"ok"]

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(recorded.in_flight)
        raise Boom("x")

    call_wsgi(WSGIMetrics(wsgi_app, recorded))
    with pytest.raises(Boom):
        run_asgi(ASGIMetrics(asgi_app, recorded), http_scope())
    assert seen == [1, 1] and recorded.in_flight == 0
