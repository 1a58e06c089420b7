"""gaia's own control socket: `gaia status`, `stop`, `scale`... talk to a running gaia.

One JSON request line in, one JSON answer line out, over a unix socket only the
owner may open; `subscribe` (`gaia top`) keeps its connection for a stream of snapshot
lines (subscribers.py). Whatever arrives (garbage, a huge line, silence, the wrong types) gets
an error answer or a closed connection and one log line: never a traceback, and gaia
keeps running. Snapshots travel in their one wire form (Snapshot.to_json/from_json),
so `gaia status` renders exactly what the live table shows.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gaia_runner import __version__
from gaia_runner.process.unix_path import bind_unix, connect_unix
from gaia_runner.statedir import ensure_private_dir

Handler = Callable[["Request"], Awaitable[Mapping[str, Any]]]
# A request that keeps its connection (`subscribe`): it writes its own lines.
Streamer = Callable[["Request", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Log = Callable[[str], None]

MAX_REQUEST_BYTES = 64 * 1024
REQUEST_TIMEOUT = 10.0


class ControlError(Exception):
    pass


class NotRunning(ControlError):
    """Nobody answers on the control socket: no gaia runs for this state dir."""


class OtherVersion(ControlError):
    """The gaia that answers speaks another control protocol: it was started from an
    older (or newer) install, and has to be restarted to match this command."""


class BadRequest(Exception):
    pass


PROTOCOL = 2
"""The control protocol's version, in every request and answer. 1: before it was sent.
A newer gaia serves an older CLI (requests only ever gain optional fields); a CLI
that finds another protocol in the answer says which gaia runs and to restart it."""


@dataclass(frozen=True)
class Request:
    command: str
    apps: tuple[str, ...] = ()
    """Each name once, in order: `gaia start web web` must not start a second,
    unsupervised tree (the client is not trusted to have deduplicated)."""
    workers: int | Literal["auto"] | None = None
    skip_prestart: bool = False
    protocol: int = 1


def parse_request(line: bytes) -> Request:
    """A request is {"command": str} plus "apps": [str, ...], "workers" (scale),
    "skip_prestart" (restart) and "protocol"."""
    try:
        message = json.loads(line)
    except ValueError:
        raise BadRequest("not a JSON line") from None
    except RecursionError:  # 60,000 `[` fit in the size limit; no request nests deeper than 2
        raise BadRequest("nested too deeply") from None
    if not isinstance(message, dict):
        raise BadRequest("expected a JSON object")
    if not isinstance(message.get("command"), str):
        raise BadRequest('"command" must be a string')
    apps = message.get("apps") or []
    if not isinstance(apps, list) or not all(isinstance(name, str) for name in apps):
        raise BadRequest('"apps" must be a list of app names')
    workers, protocol = message.get("workers"), message.get("protocol", 1)
    return Request(
        message["command"],
        tuple(dict.fromkeys(apps)),
        workers
        if workers == "auto" or (isinstance(workers, int) and not isinstance(workers, bool))
        else None,
        message.get("skip_prestart") is True,
        protocol if isinstance(protocol, int) else 1,
    )


def control_path(state_dir: Path) -> Path:
    """Always in the state dir, however deep (see unix_path): where the socket is must not
    depend on the environment of the command that looks for it."""
    return state_dir / "gaia.sock"


async def _read_request(reader: asyncio.StreamReader, log: Log) -> Request | dict[str, Any] | None:
    """The request, or the error to answer with, or None (no request: just close)."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            line = await reader.readline()
    except TimeoutError:
        log(f"control: no request within {REQUEST_TIMEOUT:g}s, connection closed")
        return None
    except ValueError:  # the stream's limit: a line longer than MAX_REQUEST_BYTES
        log(f"control: request over {MAX_REQUEST_BYTES} bytes refused")
        return {"error": "bad request: too large"}
    if not line:
        return None
    try:
        return parse_request(line)
    except BadRequest as exc:
        log(f"control: bad request refused: {exc}")
        return {"error": f"bad request: {exc}"}


async def _answer(message: Request, handler: Handler, log: Log) -> Mapping[str, Any]:
    try:
        return await handler(message)
    except Exception as exc:  # one bad request must not cost gaia its control socket
        log(f"control: {message.command!r} failed: {type(exc).__name__}: {exc}")
        return {"error": f"internal error: {type(exc).__name__}"}


async def serve(
    path: Path, handler: Handler, log: Log, streams: Mapping[str, Streamer] | None = None
) -> asyncio.Server:
    ensure_private_dir(path.parent)
    path.unlink(missing_ok=True)
    streams = streams or {}

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            read = await _read_request(reader, log)
            if isinstance(read, Request) and read.command in streams:
                await _stream(streams[read.command], read, reader, writer, log)
                return
            answer = await _answer(read, handler, log) if isinstance(read, Request) else read
            if answer is not None:
                answer = {**answer, "protocol": PROTOCOL, "gaia": __version__}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass  # the client left; nothing to answer
        finally:
            writer.close()

    sock = bind_unix(path)
    try:
        path.chmod(0o600)
        return await asyncio.start_unix_server(on_client, sock=sock, limit=MAX_REQUEST_BYTES)
    except BaseException:
        sock.close()
        raise


async def _stream(
    streamer: Streamer,
    message: Request,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    log: Log,
) -> None:
    try:
        await streamer(message, reader, writer)
    except TimeoutError:
        log(f"control: a {message.command} client stopped reading, disconnected")
    except Exception as exc:  # one client must not cost gaia its control socket
        if not isinstance(exc, ConnectionError):
            log(f"control: {message.command!r} failed: {type(exc).__name__}: {exc}")


def request(path: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Blocking client for the CLI."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            connect_unix(sock, path)
        except OSError as exc:
            raise NotRunning(f"no running gaia answers at {path} ({exc.strerror})") from exc
        sock.sendall(json.dumps({**message, "protocol": PROTOCOL}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    try:
        answer: dict[str, Any] = json.loads(data)
    except ValueError:
        raise NotRunning(f"gaia closed the connection at {path} without an answer") from None
    if answer.get("protocol", 1) != PROTOCOL:
        running = answer.get("gaia", "a version before the control protocol was versioned")
        raise OtherVersion(
            f"the running gaia is {running} (control protocol {answer.get('protocol', 1)}); "
            f"this command is gaia {__version__} (protocol {PROTOCOL}): restart it "
            "(`gaia down`, then `gaia up`) to use this version"
        )
    if "error" in answer:
        raise ControlError(answer["error"])
    return answer
