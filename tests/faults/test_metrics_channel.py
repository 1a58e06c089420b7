"""Request counts reach gaia from an app that runs as another user, and only from the app
they are counted for: no other process, of gaia's uid or the app's, can add to its series."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import FIXTURES, free_port, http_get, run_cli, wait_until
from test_metrics import total

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(os.geteuid() != 0, reason="a second user needs root"),
]

SERVERS = {
    "uvicorn": 'server = "uvicorn"',  # workers spawned by uvicorn, not forked
    "gunicorn-uvicorn-worker": 'server = "gunicorn"',
    "gunicorn-sync-wsgi": 'worker_class = "sync"',
}

AS_USER = """
    [gaia]
    metrics = "127.0.0.1:{metrics}"

    [apps.web]
    app = "{target}"
    {server}
    workers = 2
    bind = "127.0.0.1:{port}"
    user = "{user}"
    cwd = "{cwd}"
"""


@pytest.mark.parametrize("kind", list(SERVERS))
def test_an_app_run_as_another_user_is_counted(gaia, app_user: str, kind: str) -> None:
    port, metrics = free_port(), free_port()
    target = "metrics_app:application" if "wsgi" in kind else "metrics_app:app"
    text = AS_USER.format(
        metrics=metrics, target=target, server=SERVERS[kind], port=port, user=app_user, cwd=FIXTURES
    )
    g = gaia(text)
    g.wait_for(r"web: starting -> running", timeout=40)
    for _ in range(20):
        assert http_get(port, "/")[0] == 200
    wait_until(lambda: total(metrics, "web") == 20, 15, "20 requests counted")
    status = run_cli("status", "-c", str(g.config_path), cwd=g.workdir, env={"COLUMNS": "200"})
    assert status.returncode == 0, status.stderr
    header = next(line for line in status.stdout.splitlines() if line.startswith("app")).split()
    row = next(line for line in status.stdout.splitlines() if line.startswith("web")).split()
    # p50 covers the last 10 s; req/s only the last 2 s, which a loaded machine may outlast.
    assert row[header.index("p50")] != "-"
    assert "cannot reach gaia" not in g.output()
    assert g.stop() == 0


# Sent by a process outside every app's tree, as gaia's uid and as the app's: a batch naming
# app "web" to every named unix datagram socket gaia holds or that lies under its work dir
# or /tmp, and to each of gaia's fds.
OUTSIDER = """
import os, re, socket, sys
gaia, data, places = int(sys.argv[1]), sys.argv[2].encode(), tuple(sys.argv[3:])
held, targets = set(), []
try:
    for fd in os.listdir(f"/proc/{gaia}/fd"):
        targets.append(f"/proc/{gaia}/fd/{fd}")
        link = re.fullmatch(r"socket:\\[(\\d+)\\]", os.readlink(f"/proc/{gaia}/fd/{fd}"))
        if link:
            held.add(link.group(1))
except OSError:
    pass  # not gaia's uid
for line in open("/proc/net/unix").read().splitlines()[1:]:
    fields = line.split()
    if len(fields) == 8 and fields[4] == "0002":
        if fields[6] in held or fields[7].startswith(places):
            targets.append(fields[7])
sent = 0
for target in targets:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(data, target)
            sent += 1
        except OSError:
            pass
print(sent)
"""

SPOOFED = """
    [gaia]
    metrics = "127.0.0.1:{metrics}"

    [apps.web]
    app = "metrics_app:app"
    bind = "127.0.0.1:{port}"
    workers = 1

    [apps.other]
    app = "spoofer:app"
    bind = "127.0.0.1:{other}"
    workers = 1
"""


def outsider(gaia_pid: int, user: str | None, workdir: Path) -> None:
    from gaia_runner.metrics.wire import Batch, encode

    claim = encode(Batch("web", {200: 1000}, {0: 1000}, 1.0)).decode()
    subprocess.run(
        [sys.executable, "-c", OUTSIDER, str(gaia_pid), claim, str(workdir), "/tmp/gaia-"],
        user=user,
        group=user,
        extra_groups=[] if user else None,
        env={},
        check=True,
        timeout=30,
        capture_output=True,
    )


def test_no_other_process_can_add_to_an_apps_series(gaia, app_user: str) -> None:
    port, other, metrics = free_port(), free_port(), free_port()
    text = SPOOFED.format(metrics=metrics, port=port, other=other)
    g = gaia(text)
    g.wait_for(r"web: starting -> running", timeout=40)
    g.wait_for(r"other: starting -> running", timeout=40)
    for _ in range(3):
        assert http_get(port, "/")[0] == 200
    wait_until(lambda: total(metrics, "web") == 3, 15, "web's 3 requests counted")

    outsider(g.pid, None, g.workdir)  # gaia's own uid (root), outside every app
    outsider(g.pid, app_user, g.workdir)  # another uid
    # Another app's worker (of the same uid), on what gaia gave it: the claim counts for
    # that app, if at all.
    assert http_get(other, "/spoof")[0] == 200
    wait_until(
        lambda: total(metrics, "other") >= 1000 or total(metrics, "web") != 3, 15, "the claim"
    )
    assert total(metrics, "web") == 3
    assert g.stop() == 0
