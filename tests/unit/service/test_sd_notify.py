"""The sd_notify datagram, against a real AF_UNIX datagram socket (no systemd needed)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from gaia_runner.service.sd_notify import notifier_from, watchdog_seconds


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_a_path_socket_gets_newline_separated_fields(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with _receiver(path) as sock:
        notifier = notifier_from({"NOTIFY_SOCKET": path})
        assert notifier is not None
        notifier.send({"READY": "1", "STATUS": "2/2 apps serving"})
        assert sock.recv(4096) == b"READY=1\nSTATUS=2/2 apps serving\n"
        notifier.close()


def test_an_abstract_socket_is_reached_through_its_at_sign() -> None:
    name = f"gaia-test-notify-{os.getpid()}"
    with _receiver("\0" + name) as sock:
        notifier = notifier_from({"NOTIFY_SOCKET": "@" + name})
        assert notifier is not None
        notifier.send({"STOPPING": "1"})
        assert sock.recv(4096) == b"STOPPING=1\n"
        notifier.close()


def test_a_manager_that_went_away_is_not_gaias_problem(tmp_path: Path) -> None:
    notifier = notifier_from({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier is not None
    notifier.send({"WATCHDOG": "1"})  # no exception
    notifier.close()


def test_no_socket_or_an_unusable_one_means_no_notifier() -> None:
    assert notifier_from({}) is None
    assert notifier_from({"NOTIFY_SOCKET": "relative/path"}) is None


def test_the_watchdog_is_for_this_process_only() -> None:
    env = {"WATCHDOG_USEC": "30000000"}
    assert watchdog_seconds(env, pid=7) == 30.0
    assert watchdog_seconds({**env, "WATCHDOG_PID": "7"}, pid=7) == 30.0
    assert watchdog_seconds({**env, "WATCHDOG_PID": "8"}, pid=7) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_seconds({}) is None
