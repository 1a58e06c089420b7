"""The control protocol's version: typed requests, and what a CLI does when the gaia
that answers is another version (an upgrade while it runs)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from gaia_runner import control
from gaia_runner.cli.options import EXIT_OTHER_GAIA
from gaia_runner.cli.remote import ask


def test_requests_are_typed_and_an_old_clients_request_is_served() -> None:
    old = control.parse_request(b'{"command": "restart", "apps": ["web", "web"]}\n')
    assert old == control.Request("restart", ("web",), protocol=1)
    new = control.parse_request(
        b'{"command": "scale", "apps": ["web"], "workers": 3, "protocol": 2}\n'
    )
    assert new.workers == 3 and new.protocol == control.PROTOCOL
    odd = control.parse_request(b'{"command": "scale", "workers": true}\n')
    assert odd.workers is None  # a boolean is not a count: the scale says what it needs


def _answer_once(path: Path, answer: dict[str, object]) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(json.dumps(answer).encode() + b"\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_gaia_from_before_the_protocol_is_named_with_its_own_exit_code(
    tmp_path: Path,
) -> None:
    state = tmp_path / ".gaia"
    state.mkdir(mode=0o700)
    config = tmp_path / "gaia.toml"
    config.write_text('[apps.web]\napp = "m:app"\n')
    thread = _answer_once(state / "gaia.sock", {"snapshot": {}})  # what gaia 0.1.0 answers
    with pytest.raises(SystemExit) as exited:
        ask(config, {"command": "status"}, timeout=10)
    thread.join(10)
    assert exited.value.code == EXIT_OTHER_GAIA


def test_another_protocol_says_which_gaia_runs(tmp_path: Path) -> None:
    path = tmp_path / "gaia.sock"
    thread = _answer_once(path, {"error": "unknown command 'x'", "protocol": 9, "gaia": "9.0"})
    with pytest.raises(control.OtherVersion, match=r"running gaia is 9\.0 \(control protocol 9\)"):
        control.request(path, {"command": "x"}, timeout=10)
    thread.join(10)
