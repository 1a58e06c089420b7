"""The middlewares gaia wraps around an app: time every HTTP request, count it by status code.

They change nothing the app or the client sees (but for slow_request_action = "cancel", see
watchdog.py): every message and header passes through as is, and an exception propagates
unchanged (it is counted as a 500, which is what the server
answers, or the failure it is if the response had already started). WebSocket and lifespan
scopes are not requests and are not counted; neither are gaia's own probes. A streaming
response counts when it finishes, with its whole duration. Given a ProxyTrust, a request
stamped with X-Request-Start by a trusted peer also records its wait (request_start.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any, Generic, Protocol, TypeVar, cast

from gaia_runner.metrics.request_start import ProxyTrust, queue_seconds
from gaia_runner.metrics.watchdog import InFlight, Watchdog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
AppT = TypeVar("AppT")

# Where NotePeer keeps the connection's own peer, before uvicorn's ProxyHeadersMiddleware
# replaces scope["client"] with the address X-Forwarded-For names.
PEER_KEY = "gaia.peer"
PROBE_AGENT = "gaia-probe"  # the User-Agent of gaia's readiness and health probes
_PROBE_AGENT_BYTES = PROBE_AGENT.encode()
SERVER_ERROR = 500
GATEWAY_TIMEOUT = 504


class Record(Protocol):
    def begin(self) -> None: ...

    def finish(self, code: int, seconds: float) -> None: ...

    def note_queue(self, seconds: float) -> None: ...


def note_wait(
    recorder: Record, trust: ProxyTrust | None, peer: str | None, stamp: str | None
) -> None:
    """The request's wait before the app, if a trusted peer stamped it (request_start.py)."""
    if stamp is None or trust is None or not trust.trusts(peer):
        return
    wait = queue_seconds(stamp, time.time())
    if wait is not None:
        recorder.note_queue(wait)


class NotePeer:
    """Outermost in a gunicorn UvicornWorker (whose ProxyHeadersMiddleware sits outside
    ASGIMetrics): keeps the connection's peer for the X-Request-Start trust rule."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[PEER_KEY] = scope.get("client")
        await self.app(scope, receive, send)


class _Wrapping(Generic[AppT]):
    """What both middlewares are given: the app, where to count, and the optional parts."""

    def __init__(
        self,
        app: AppT,
        recorder: Record,
        watchdog: Watchdog | None = None,
        trust: ProxyTrust | None = None,
    ) -> None:
        self.app = app
        self.recorder = recorder
        self.watchdog = watchdog
        self.trust = trust


class ASGIMetrics(_Wrapping[ASGIApp]):
    # Every line here is on every request's path, against a server that answers a
    # hello-world request in ~100 us: one pass over the headers, one lock, no objects
    # beyond the send wrapper (bench figure 11 measures it).
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stamp = None
        for name, value in scope.get("headers", ()):
            if name == b"user-agent":
                if value == _PROBE_AGENT_BYTES:  # gaia's own probe: not a request
                    await self.app(scope, receive, send)
                    return
            elif name == b"x-request-start":
                stamp = value
        if stamp is not None and self.trust is not None:
            peer = scope[PEER_KEY] if PEER_KEY in scope else scope.get("client")
            stamp_text = bytes(stamp).decode("latin-1")
            note_wait(self.recorder, self.trust, str(peer[0]) if peer else None, stamp_text)
        recorder, watchdog = self.recorder, self.watchdog
        watched = watchdog.begin_asgi(scope) if watchdog is not None else None
        recorder.begin()
        started = time.perf_counter()
        status = 0
        code = 0  # 0: not a finished request (the server's own cancel), only ended

        # Not a coroutine of its own: it hands back the server's, which the app awaits
        # directly (one frame and one coroutine less on each of a request's sends).
        def send_and_note(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if watched is not None:
                    watched.response_started = True
            return send(message)

        try:
            await self.app(scope, receive, send_and_note)
            # An app that returns without answering gets a 500 from every server.
            code = status or SERVER_ERROR
        except asyncio.CancelledError:
            if watched is None or not watched.cancelled:
                raise  # the server's own cancel (a shutdown): not a request that finished
            await self._timed_out(watched, send, status)
            code = GATEWAY_TIMEOUT
        except Exception:
            code = SERVER_ERROR
            raise
        finally:
            recorder.finish(code, time.perf_counter() - started)
            if watched is not None:
                watchdog.end(watched)  # type: ignore[union-attr]

    @staticmethod
    async def _timed_out(watched: InFlight, send: Send, status: int) -> None:
        """slow_request_action = "cancel" cancelled the app: a 504 if nothing was sent yet;
        a response already under way is left incomplete, which makes the server close the
        connection (the client sees a cut response, not a complete wrong one)."""
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # this cancel was ours, and it is handled
        if status:
            return
        body = b"Gateway Timeout: the request took longer than slow_request\n"
        await send(
            {
                "type": "http.response.start",
                "status": GATEWAY_TIMEOUT,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Body:
    """The app's response iterable, seen through: counted when the server closes it
    (PEP 3333 says it must), so a streamed body is counted once it has been sent."""

    def __init__(self, body: Iterable[bytes], done: Callable[[bool], None]) -> None:
        self._body = body
        self._done = done
        self._failed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except Exception:
            self._failed = True
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._failed)


class WSGIMetrics(_Wrapping[WSGIApp]):
    def _note_queue(self, environ: dict[str, Any]) -> None:
        # gunicorn leaves REMOTE_ADDR the connection's peer, whatever X-Forwarded-For says.
        stamp = environ.get("HTTP_X_REQUEST_START")
        peer = environ.get("REMOTE_ADDR") or None
        note_wait(self.recorder, self.trust, peer, stamp if isinstance(stamp, str) else None)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_USER_AGENT") == PROBE_AGENT:
            return self.app(environ, start_response)
        self._note_queue(environ)
        started = time.perf_counter()
        status = [0]
        watchdog = self.watchdog
        watched = watchdog.begin_wsgi(environ) if watchdog is not None else None
        self.recorder.begin()

        def start_and_note(*args: Any, **kwargs: Any) -> Any:
            status[0] = int(str(args[0])[:3])
            return start_response(*args, **kwargs)

        def done(failed: bool) -> None:
            if watched is not None:
                watchdog.end(watched)  # type: ignore[union-attr]
            code = SERVER_ERROR if failed or not status[0] else status[0]
            self.recorder.finish(code, time.perf_counter() - started)

        try:
            body = self.app(environ, start_and_note)
        except Exception:
            done(True)
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            # Wrapping it would hide the file from the server's sendfile path.
            return _on_close(body, done)
        return _Body(body, done)


def _on_close(body: Any, done: Callable[[bool], None]) -> Iterable[bytes]:
    original = getattr(body, "close", None)

    def close() -> None:
        try:
            if original is not None:
                original()
        finally:
            done(False)

    try:
        body.close = close
    except AttributeError:
        done(False)
    return cast(Iterable[bytes], body)
