"""Issue 19.12: every request a worker answered is counted, across graceful replaces,
restarts and scales under load (gunicorn-hosted apps lost 1-6 % when workers sent to a
named socket whose queue held 10 datagrams; each app's channel is now a socketpair, and
a worker's last flush waits for room)."""

from __future__ import annotations

import pytest
from harness import free_port, run_cli, wait_until
from load import SteadyLoad
from test_metrics import total

CONFIG = """
    [gaia]
    metrics = "127.0.0.1:{metrics}"
    stop_timeout = "10s"

    [apps.web]
    app = "{target}"
    {server}
    workers = {workers}
    bind = "127.0.0.1:{port}"
    env = {{ APP_VERSION = "{version}" }}
"""


KINDS = {
    "gunicorn-uvicorn-worker": ('server = "gunicorn"', "metrics_app:app"),
    "gunicorn-sync-wsgi": ('worker_class = "sync"', "metrics_app:application"),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", list(KINDS))
def test_counts_are_exact_across_replaces_restarts_and_scales(gaia, kind: str) -> None:  # type: ignore[no-untyped-def]
    server, target = KINDS[kind]
    port, metrics = free_port(), free_port()

    def config(workers: int, version: str) -> str:
        return CONFIG.format(
            metrics=metrics,
            server=server,
            target=target,
            port=port,
            workers=workers,
            version=version,
        )

    g = gaia(config(8, "v1"))
    g.wait_for(r"web: starting -> running", timeout=30)
    cli = ("-c", str(g.config_path))
    with SteadyLoad(port, rate=400, duration=14, threads=8) as load:
        for step, (workers, version) in enumerate([(8, "v2"), (3, "v2"), (8, "v3"), (8, "v4")]):
            mark = g.mark()
            g.write_config(config(workers, version))
            g.wait_for(r"reload plan: web", start=mark, timeout=15)
            # Traffic between the changes: each one meets requests in flight.
            before = load.result.ok
            wait_until(lambda b=before: load.result.ok >= b + 300, 15, "300 more answers")
            if step == 1:
                done = run_cli("restart", "web", *cli, cwd=g.workdir, timeout=60)
                assert done.returncode == 0, done.stderr
        load.end_after(1.0)
    assert load.result.failed == 0, load.result.errors[:5]
    answered = load.result.ok
    seen: list[int] = []

    def all_counted() -> bool:
        seen.append(total(metrics, "web"))
        return seen[-1] >= answered

    wait_until(all_counted, 20, f"{answered} answered requests counted")
    assert seen[-1] == answered, f"counted {seen[-1]}, answered {answered}"
    assert g.stop() == 0
