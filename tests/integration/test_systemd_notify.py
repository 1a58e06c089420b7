"""`Type=notify` without systemd: a real AF_UNIX datagram socket stands in for the manager,
NOTIFY_SOCKET points a real `gaia up` at it, and every datagram's sender is checked with
SO_PASSCRED, so a READY=1 from gunicorn's arbiter (which sends one when it sees
NOTIFY_SOCKET) could not pass for gaia's."""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time
from pathlib import Path

import psutil
import pytest
from harness import free_port, try_get, wait_until

pytestmark = pytest.mark.timeout(120)

WATCHDOG_USEC = 2_000_000


class FakeManager:
    """Collects (sender pid, fields) for every datagram, as systemd would receive them."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        creds = struct.calcsize("3i")
        while not self._done.is_set():
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(creds))
            except TimeoutError:
                continue
            pid = next(
                struct.unpack("3i", d[:creds])[0]
                for level, kind, d in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            )
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
            with self._lock:
                self.messages.append((pid, fields))

    def values(self, key: str) -> list[str]:
        with self._lock:
            return [m[key] for _, m in self.messages if key in m]

    def senders(self) -> set[int]:
        with self._lock:
            return {pid for pid, _ in self.messages}

    def index(self, key: str, value: str, after: int = -1) -> int:
        with self._lock:
            for i, (_, m) in enumerate(self.messages):
                if i > after and m.get(key) == value:
                    return i
        return -1

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def manager(tmp_path: Path):  # type: ignore[no-untyped-def]
    found = FakeManager(tmp_path / "notify.sock")
    yield found
    found.close()


def test_gaia_tells_a_notify_socket_ready_status_watchdog_reloading_stopping(
    gaia, manager: FakeManager, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    web, api = free_port(), free_port()
    go = tmp_path / "go"
    config = f"""
        [apps.web]
        app = "wsgi_hello:application"
        bind = "127.0.0.1:{web}"
        workers = 1
        prestart = [["sh", "-c", "while [ ! -e {go} ]; do sleep 0.05; done"]]

        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{api}"
    """
    env = {"NOTIFY_SOCKET": manager.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    g = gaia(config, env=env)
    # While prestart runs, gaia is not ready and asks for more start time.
    wait_until(lambda: manager.values("EXTEND_TIMEOUT_USEC"), 30, "EXTEND_TIMEOUT_USEC")
    assert manager.values("READY") == []
    go.touch()
    wait_until(lambda: manager.values("READY"), 60, "READY=1")
    assert try_get(web) is not None and try_get(api) is not None  # READY=1 means serving
    assert manager.values("STATUS")[-1] == "2/2 apps serving"
    # Pings keep coming from the loop, at least every half period.
    pings = len(manager.values("WATCHDOG"))
    wait_until(lambda: len(manager.values("WATCHDOG")) >= pings + 2, 10, "WATCHDOG=1 pings")

    # No process of an app (servers, workers, prestart) was handed systemd's variables.
    tree = psutil.Process(g.pid).children(recursive=True)
    assert len(tree) >= 3, tree  # gunicorn master + worker, uvicorn
    for proc in tree:
        environ = proc.environ()
        assert "NOTIFY_SOCKET" not in environ and "WATCHDOG_USEC" not in environ, proc

    ready_at = manager.index("READY", "1")
    g.signal(signal.SIGHUP)  # what `systemctl reload` amounts to, without ExecReload
    wait_until(lambda: manager.index("READY", "1", ready_at) > ready_at, 30, "READY after reload")
    reloading = manager.index("RELOADING", "1")
    assert ready_at < reloading < manager.index("READY", "1", ready_at)
    usec = int(manager.values("MONOTONIC_USEC")[-1])
    assert abs(usec / 1e6 - time.monotonic()) < 30  # CLOCK_MONOTONIC, as systemd reads it

    assert g.stop() == 0
    assert "1" in manager.values("STOPPING")
    assert manager.values("READY") == ["1", "1"]  # gaia's two, no arbiter's
    assert manager.senders() == {g.pid}
