"""A stop prints nothing alarming: gunicorn's uvicorn workers closing their listeners
used to log "Error while closing socket [Errno 9]" once per listener per worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness import Gaia, free_port, http_get, wait_until


def test_stopping_uvicorn_workers_logs_no_bad_fd(gaia: Callable[..., Gaia], tmp_path: Path) -> None:
    port = free_port()
    g = gaia(
        f"""
        [apps.web]
        app = "hello:app"
        server = "gunicorn"
        bind = "127.0.0.1:{port}"
        workers = 2
        """
    )
    g.wait_for(r"web: starting -> running", timeout=30)
    assert http_get(port)[0] == 200
    log = tmp_path / ".gaia" / "logs" / "web.log"
    # RUNNING means one worker answered; a worker still booting when the stop comes dies by
    # SIGTERM before uvicorn's handlers exist, and never says "Finished".
    wait_until(
        lambda: log.read_text().count("Application startup complete") == 2, 30, "both workers up"
    )
    assert g.stop() == 0
    wait_until(lambda: "Shutting down: Master" in log.read_text(), 10, "the master's last line")
    text = log.read_text()
    assert text.count("Finished server process") == 2
    assert "Errno 9" not in text and "Error while closing socket" not in text
    assert "Errno 9" not in g.output()
