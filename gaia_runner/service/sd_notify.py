"""The sd_notify(3) datagram, written out: one AF_UNIX datagram of `KEY=value` lines to the
socket named by NOTIFY_SOCKET. No libsystemd: gaia only ever sends a handful of fields."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from typing import Protocol

# What systemd hands the main process; no child of gaia may see them (see launch.py):
# gunicorn's arbiter would send READY=1 on gaia's behalf, before gaia's apps serve.
SYSTEMD_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class Notifier(Protocol):
    def send(self, fields: Mapping[str, str]) -> None: ...


class SocketNotifier:
    def __init__(self, address: str) -> None:
        # '@' names a socket in the abstract namespace, written with a leading NUL byte.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.setblocking(False)

    def send(self, fields: Mapping[str, str]) -> None:
        message = "".join(f"{key}={value}\n" for key, value in fields.items())
        # A manager that is gone or busy must never stop gaia supervising its apps.
        with contextlib.suppress(OSError):
            self.sock.sendto(message.encode(), self.address)

    def close(self) -> None:
        self.sock.close()


def notifier_from(environ: Mapping[str, str]) -> SocketNotifier | None:
    address = environ.get("NOTIFY_SOCKET", "")
    return SocketNotifier(address) if address.startswith(("/", "@")) else None


def watchdog_seconds(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """The watchdog period systemd expects pings within, when it is meant for this process."""
    owner = environ.get("WATCHDOG_PID")
    if owner is not None and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
