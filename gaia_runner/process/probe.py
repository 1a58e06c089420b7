"""HTTP probes through a socket: the only proof that an app is serving."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from gaia_runner.config.model import Bind, BindKind
from gaia_runner.process.sockets import connect_address


@dataclass(frozen=True)
class ProbeResult:
    status: int | None  # None: no HTTP answer at all
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def healthy(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    def describe(self, path: str) -> str:
        """What the probe got, for a user wondering why the app is not RUNNING."""
        if self.status is not None:
            return f"GET {path} answered {self.status}"
        return f"GET {path}: {self.error}"


async def _open(
    bind: Bind, ctx: ssl.SSLContext | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    family, address = connect_address(bind)
    if bind.kind is BindKind.UNIX:
        assert isinstance(address, str)
        return await asyncio.open_unix_connection(address, ssl=ctx)
    assert isinstance(address, tuple)
    host, port = address
    return await asyncio.open_connection(
        host, port, family=family, ssl=ctx, server_hostname="localhost" if ctx else None
    )


async def http_probe(
    bind: Bind, path: str, timeout: float, tls: ssl.SSLContext | None = None
) -> ProbeResult:
    """One GET; any status line counts as an answer. `tls` comes from probe_tls."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await _open(bind, tls)
            host = "localhost" if bind.kind is BindKind.UNIX else bind.host or "localhost"
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gaia-probe\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(request.encode("ascii", errors="replace"))
            await writer.drain()
            status_line = await reader.readline()
    except TimeoutError:
        return ProbeResult(None, f"timed out after {timeout:g}s")
    except ConnectionRefusedError:
        return ProbeResult(None, "connection refused")
    except ssl.SSLError as exc:
        return ProbeResult(None, f"TLS error: {exc.reason or exc}")
    except ValueError:  # StreamReader's limit: a "status line" of over 64 KiB
        return ProbeResult(None, "no HTTP status line (an over-long first line)")
    except (OSError, asyncio.IncompleteReadError) as exc:
        return ProbeResult(
            None, exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        )
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    parts = status_line.split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return ProbeResult(int(parts[1]))
    return ProbeResult(None, "not an HTTP answer")
