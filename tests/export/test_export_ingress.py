"""Behind the exported Ingress (TLS terminated by the controller), the app sees `https` and
the client's address: the exported server command trusts the ingress network's forwarded
headers. Each exported command runs as a real local server, and a request carries the
headers an ingress controller adds."""

from __future__ import annotations

import http.client
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from export_support import IMAGE, load_project, parse_all, stop_group
from harness import free_port, make_self_signed, run_cli, wait_until

from gaia_runner.export.ingress import INGRESS_NETWORKS
from gaia_runner.export.kubernetes import KubeOptions, export_kubernetes

pytestmark = pytest.mark.timeout(120)

# gunicorn leaves REMOTE_ADDR the peer's, as under gaia: a WSGI app reads X-Forwarded-For
# itself (README, "Trusted proxies"); the scheme is the server's to set.
WSGI = """\
def application(environ, start_response):
    body = f"{environ['wsgi.url_scheme']} {environ['HTTP_X_FORWARDED_FOR']}".encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""
CLIENT = "203.0.113.7"


def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    make_self_signed(root)
    (root / "wsgi_scope.py").write_text(WSGI)
    https = 'https = { certfile = "cert.pem", keyfile = "key.pem" }'
    mtls = (
        'https = { certfile = "cert.pem", keyfile = "key.pem", ca_certs = "cert.pem", '
        'client_auth = "required" }'
    )
    (root / "gaia.toml").write_text(
        f"""
[apps.asgi]
app = "hello:app"
server = "uvicorn"
bind = "127.0.0.1:{free_port()}"
{https}

[apps.wsgi]
app = "wsgi_scope:application"
worker_class = "sync"
bind = "127.0.0.1:{free_port()}"
{mtls}
"""
    )
    return root / "gaia.toml"


def deployments(config: Path, **options: Any) -> list[dict[str, Any]]:
    found = load_project(config)
    manifests = export_kubernetes(found.config, KubeOptions(IMAGE, **options), found.table_env)
    return [d for m in manifests for d in parse_all(m.text) if d["kind"] == "Deployment"]


def seen_through_ingress(root: Path, container: dict[str, Any]) -> str:
    argv = [a.replace("0.0.0.0", "127.0.0.1") for a in container["command"] + container["args"]]
    port = container["ports"][0]["containerPort"]
    fixtures = Path(__file__).parents[1] / "fixtures"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": f"{root}:{fixtures}",
    }
    with (root / "server.log").open("ab") as log:  # shown by pytest when the test fails
        proc = subprocess.Popen(
            argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def ask() -> str | None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                headers = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
                conn.request("GET", "/scope", headers=headers)
                return conn.getresponse().read().decode()
            except OSError:
                return None
            finally:
                conn.close()

        answer = wait_until(ask, 30, f"{argv[0]} answering (its output: server.log)")
        assert isinstance(answer, str)
        return answer
    finally:
        stop_group(proc)


def test_the_app_sees_https_and_the_client_the_ingress_saw(tmp_path: Path) -> None:
    config = project(tmp_path)
    # The test's "ingress" connects from loopback: the option names its network.
    docs = deployments(config, forwarded_allow_ips=("127.0.0.0/8",))
    assert len(docs) == 2
    for doc in docs:
        container = doc["spec"]["template"]["spec"]["containers"][0]
        answer = seen_through_ingress(config.parent, container)
        assert answer.split()[:2] == ["https", CLIENT], (container["command"], answer)


def test_the_servers_believe_the_exported_networks_not_their_own_default(tmp_path: Path) -> None:
    """Both servers trust loopback by default, which no ingress controller connects from. The
    exported list replaces that default: a loopback peer outside it is not believed (before,
    the export passed no list, and a cluster's ingress was not believed instead)."""
    config = project(tmp_path)
    asgi = next(d for d in deployments(config) if d["metadata"]["name"] == "shop-asgi")
    answer = seen_through_ingress(config.parent, asgi["spec"]["template"]["spec"]["containers"][0])
    assert answer.split()[:2] == ["http", "127.0.0.1"], answer


def test_by_default_the_private_networks_are_trusted_and_mtls_is_said_unmapped(
    tmp_path: Path,
) -> None:
    config = project(tmp_path)
    found = load_project(config)
    manifests = export_kubernetes(found.config, KubeOptions(IMAGE), found.table_env)
    text = "".join(m.text for m in manifests)
    for doc in deployments(config):
        args = doc["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--forwarded-allow-ips") + 1] == ",".join(INGRESS_NETWORKS)
    assert "not mapped: wsgi: client_auth = required" in text
    assert "auth-tls-verify-client: on" in text
    assert "not mapped: asgi: client_auth" not in text


def test_the_cli_takes_the_ingress_network_and_refuses_a_bad_one(tmp_path: Path) -> None:
    config = project(tmp_path)
    ok = run_cli(
        "export", "kubernetes", "--image", "x", "--forwarded-allow-ips", "10.42.0.0/16, fd00::/8",
        "-c", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert '"10.42.0.0/16,fd00::/8"' in ok.stdout
    bad = run_cli(
        "export", "kubernetes", "--image", "x", "--forwarded-allow-ips", "10.0.0.0/8,ingress",
        "-c", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2 and "'ingress' is not an IP address or network" in bad.stderr
