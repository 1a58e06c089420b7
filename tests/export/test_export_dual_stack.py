"""Dual-stack binds stay dual-stack in every export: an app gaia serves on IPv4 and IPv6 is
served on both by the exported container command, and Compose publishes both addresses.

The exported command listens on every interface (as in a container), so it runs in a network
namespace of its own (`unshare --net`, loopback only), with the client beside it: nothing
outside the test can reach it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from export_support import IMAGE, load_project, parse_all

from gaia_runner.export.compose import export_compose
from gaia_runner.export.kubernetes import KubeOptions, export_kubernetes

pytestmark = pytest.mark.timeout(120)

PORT = 8000  # inside its own namespace, any port is free
APPS = """\
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"asgi"})

def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Length", "4")])
    return [b"wsgi"]
"""
CLIENT = textwrap.dedent(
    """
    import http.client, sys, time
    port, deadline, seen = int(sys.argv[1]), time.monotonic() + 30, {}
    while time.monotonic() < deadline and len(seen) < 2:
        for host in ("127.0.0.1", "::1"):
            conn = http.client.HTTPConnection(host, port, timeout=2)
            try:
                conn.request("GET", "/")
                seen[host] = conn.getresponse().read().decode()
            except OSError:
                time.sleep(0.1)  # the server is still starting; the deadline bounds it
            finally:
                conn.close()
    print(sorted(seen.items()))
    """
)


def project(tmp_path: Path) -> Path:
    root = tmp_path / "dual"
    root.mkdir()
    (root / "dualapps.py").write_text(APPS)
    both = f'bind = ["127.0.0.1:{PORT}", "[::1]:{PORT}"]'
    other = f'bind = ["127.0.0.1:{PORT + 2}", "[::1]:{PORT + 2}"]'
    (root / "gaia.toml").write_text(
        f"""
[apps.asgi]
app = "dualapps:app"
server = "uvicorn"
{both}

[apps.wsgi]
app = "dualapps:wsgi"
worker_class = "sync"
{other}

[apps.four]
app = "dualapps:app"
server = "uvicorn"
bind = "127.0.0.1:{PORT + 1}"
"""
    )
    return root / "gaia.toml"


def containers(config: Path) -> dict[str, dict[str, Any]]:
    found = load_project(config)
    manifests = export_kubernetes(found.config, KubeOptions(IMAGE, project="t"), found.table_env)
    return {
        d["metadata"]["annotations"]["gaia/app"]: d["spec"]["template"]["spec"]["containers"][0]
        for m in manifests
        for d in parse_all(m.text)
        if d["kind"] == "Deployment"
    }


def answers_in_own_namespace(root: Path, argv: list[str], port: int) -> str:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare and ip (util-linux, iproute2) are needed for a private network")
    script = (
        'ip link set lo up && { "$@" & server=$!; '
        f'{sys.executable} -c "$CLIENT" {port}; code=$?; '
        "kill -TERM $server; wait $server; exit $code; }"
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/bin", "CLIENT": CLIENT}
    done = subprocess.run(
        ["unshare", "--net", "--fork", "--kill-child", "sh", "-c", script, "sh", *argv],
        cwd=root, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    if "Operation not permitted" in done.stderr and done.returncode != 0:
        pytest.skip("no permission for a network namespace (needs root)")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("app", ["asgi", "wsgi"])
def test_a_dual_stack_app_answers_on_both_stacks_from_its_exported_command(
    tmp_path: Path, app: str
) -> None:
    config = project(tmp_path)
    box = containers(config)[app]
    argv = [*box["command"], *box["args"]]
    answer = answers_in_own_namespace(config.parent, argv, box["ports"][0]["containerPort"])
    assert answer == str([("127.0.0.1", app), ("::1", app)]), argv


def test_an_ipv4_only_app_keeps_listening_on_ipv4(tmp_path: Path) -> None:
    args = containers(project(tmp_path))["four"]["args"]
    assert args[args.index("--host") + 1] == "0.0.0.0"


def test_compose_publishes_both_addresses(tmp_path: Path) -> None:
    found = load_project(project(tmp_path))
    services = yaml.safe_load(export_compose(found.config, IMAGE, found.table_env))["services"]
    assert services["asgi"]["ports"] == [f"127.0.0.1:{PORT}:{PORT}", f"[::1]:{PORT}:{PORT}"]
    assert services["four"]["ports"] == [f"127.0.0.1:{PORT + 1}:{PORT + 1}"]
