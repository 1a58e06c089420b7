"""The metrics pieces that live in gaia's one asyncio process: the channels workers send
their batches on, and the optional HTTP endpoint serving /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from gaia_runner.config.model import AppConfig, Bind
from gaia_runner.metrics.channels import Channels
from gaia_runner.metrics.store import WINDOW, RequestStore
from gaia_runner.metrics.wire import CHANNEL_ENV, RECORD_TAG, decode, decode_record
from gaia_runner.model.snapshot import AppSnapshot, Snapshot

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from gaia_runner.metrics.exposition import Encoded

HTTP_READ_TIMEOUT = 5.0
# Slow-request and blocked-loop records written per app per minute, whatever the number of
# workers each limiting its own (watchdog.py); the rest are counted, not written.
RECORDS_PER_MINUTE = 20


class Log(Protocol):
    def write_lines(self, source: str, lines: Sequence[str]) -> None: ...


class Logged(Protocol):
    """A running app (its supervisor): where its records go."""

    @property
    def log(self) -> Log: ...


MAX_REQUEST_HEAD = 16 * 1024


class MetricsError(Exception):
    """The metrics endpoint could not be bound."""


class MetricsService:
    def __init__(
        self,
        endpoint: Bind | None,
        snapshot: Callable[[], Snapshot],
        clock: Callable[[], float] = time.monotonic,
        running: Mapping[str, Logged] | None = None,
        lag_window: float = WINDOW,
    ) -> None:
        self.endpoint = endpoint
        self.running = running if running is not None else {}
        self._record_times: dict[str, list[float]] = {}
        self.store = RequestStore(lag_window)
        self.clock = clock
        self.channels = Channels(self._received)
        self._snapshot = snapshot
        self._http: asyncio.Server | None = None
        # prometheus_client is imported on the first scrape: most gaias serve no endpoint.
        self._registry: CollectorRegistry | None = None

    def child_env(self, app: str) -> dict[str, str]:
        """What an app's processes need to send: their channel's fd (see launch.py)."""
        return {CHANNEL_ENV: str(self.channels.workers_fd(app))}

    def _received(self, app: str, data: bytes) -> None:
        lines = decode_record(data)
        if lines is not None:
            self._record(app, lines)
            return
        batch = decode(data)
        if batch is not None:  # malformed datagrams are dropped: they cannot be answered
            batch.app = app  # the channel says whose counts these are, not the datagram
            self.store.add(batch, self.clock())

    def _record(self, app: str, lines: list[str]) -> None:
        now = self.clock()
        times = [t for t in self._record_times.get(app, []) if now - t < 60.0]
        log = self.running[app].log if app in self.running else None
        if len(times) >= RECORDS_PER_MINUTE or log is None or not lines:
            self._record_times[app] = times
            return
        times.append(now)
        self._record_times[app] = times
        # One write to the app's log: records from several workers never interleave.
        log.write_lines(RECORD_TAG, lines)

    async def start(self) -> None:
        if self.endpoint is not None:
            try:
                self._http = await asyncio.start_server(
                    self._answer, self.endpoint.host, self.endpoint.port, limit=MAX_REQUEST_HEAD
                )
            except OSError as exc:
                raise MetricsError(
                    f"cannot serve metrics on {self.endpoint}: {exc.strerror or exc}"
                ) from None

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.channels.close()

    def annotate(self, snap: AppSnapshot, app: AppConfig) -> AppSnapshot:
        """The snapshot with the app's last-10-seconds request figures, if it is measured."""
        if not app.is_measured:
            return snap
        stats = self.store.window(app.name, self.clock())
        return dataclasses.replace(
            snap,
            requests_per_second=stats.requests_per_second,
            latency_p50=stats.p50,
            latency_p99=stats.p99,
            errors_5xx_share=stats.errors_5xx_share,
            slow_requests=self.store.slow(app.name),
            loop_lag=stats.loop_lag,
            wait_p50=stats.wait_p50,
            wait_p99=stats.wait_p99,
        )

    def exposition(self, accept: str = "", accept_encoding: str = "") -> Encoded:
        from gaia_runner.metrics.exposition import Scrape, encode, make_registry

        if self._registry is None:
            self._registry = make_registry(lambda: Scrape(self._snapshot(), self.store.apps))
        return encode(self._registry, accept, accept_encoding)

    def _scrape(self, head: bytes) -> tuple[str, bytes, str, bool]:
        fields = request_headers(head)
        try:
            done = self.exposition(fields.get("accept", ""), fields.get("accept-encoding", ""))
        except Exception as exc:
            # A scrape must never take gaia's loop down, nor print over the live table.
            return (
                "500 Internal Server Error",
                f"{type(exc).__name__}\n".encode(),
                "text/plain",
                False,
            )
        return "200 OK", done.body, done.content_type, done.gzip

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(HTTP_READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            words = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            method, target = [*words, "", ""][:2]
            path = target.split("?", 1)[0]
            zipped = False
            if method not in ("GET", "HEAD"):
                status, body, kind = "405 Method Not Allowed", b"GET only\n", "text/plain"
            elif path != "/metrics":
                status, body, kind = "404 Not Found", b"see /metrics\n", "text/plain"
            else:
                status, body, kind, zipped = self._scrape(head)
            headers = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                + ("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" if zipped else "")
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(headers.encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def request_headers(head: bytes) -> dict[str, str]:
    """The request's header fields by lower-case name (the last of a repeated one)."""
    fields: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields
