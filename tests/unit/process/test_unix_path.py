"""A unix socket deeper than sun_path allows is bound and reached where it is."""

from __future__ import annotations

import socket
from pathlib import Path

from gaia_runner.process.unix_path import bind_unix, connect_unix


def test_a_socket_past_the_sun_path_limit_stays_in_its_directory(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = deep / "gaia.sock"
    assert len(bytes(path)) > 108
    with bind_unix(path) as server:
        server.listen(1)
        assert path.is_socket()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            connect_unix(client, path)
            peer, _ = server.accept()
            with peer:
                client.sendall(b"x")
                assert peer.recv(1) == b"x"
