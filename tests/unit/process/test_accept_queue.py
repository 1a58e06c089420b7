"""The accept-queue reader against real kernel sockets: connections nobody accepted yet."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gaia_runner.process.accept_queue import accept_queue, total_queue


def _connect(family: socket.AddressFamily, address: object, n: int) -> list[socket.socket]:
    clients = []
    for _ in range(n):
        client = socket.socket(family, socket.SOCK_STREAM)
        client.connect(address)
        clients.append(client)
    return clients


def test_a_tcp_listener_counts_unaccepted_connections() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        assert accept_queue(listener) == 0
        clients = _connect(socket.AF_INET, listener.getsockname(), 3)
        try:
            assert accept_queue(listener) == 3
            conn, _ = listener.accept()
            conn.close()
            assert accept_queue(listener) == 2
        finally:
            for client in clients:
                client.close()


def test_a_unix_listener_counts_them_or_says_unknown(tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(16)
        clients = _connect(socket.AF_UNIX, path, 2)
        try:
            found = accept_queue(listener)
            if found is None:  # sock_diag needs the unix_diag module: then it is unknown
                pytest.skip("no unix socket diagnostics (unix_diag) on this kernel")
            assert found == 2
        finally:
            for client in clients:
                client.close()


def test_not_listening_is_unknown_and_the_sum_skips_it() -> None:
    with socket.socket() as idle, socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        assert accept_queue(idle) is None
        assert total_queue([idle, listener]) == 0
        assert total_queue([idle]) is None
