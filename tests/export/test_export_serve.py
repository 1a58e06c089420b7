"""The exported commands really serve: each web app's container command/args, run with the
exported env as a plain local process in a copy of the project, answers 200 on the exported
port, and its prestart (init container) commands exit 0 first.

The only rewrites are the ones the container runtime does: /app becomes the copy's
directory, and the all-interfaces address 0.0.0.0 becomes 127.0.0.1 (tests listen on
loopback only).
"""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from export_support import IMAGE, REPO, by_kind, copy_full, load_project, parse_all, stop_group
from harness import free_port, try_get, wait_until

from gaia_runner.config.envfile import read_env_file
from gaia_runner.export.compose import export_compose
from gaia_runner.export.kubernetes import KubeOptions, TlsMode, as_stream, export_kubernetes
from gaia_runner.export.mapping import env_files

pytestmark = pytest.mark.timeout(120)


def local_dir(root: Path, container_dir: str) -> Path:
    return root / PurePosixPath(container_dir).relative_to("/app")


def exported_env(
    project_root: Path,
    docs: list[dict[str, Any]],
    container: dict[str, Any],
    secret: dict[str, str],
) -> dict[str, str]:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(project_root)}
    env["GAIA_TEST_RUN"] = os.environ["GAIA_TEST_RUN"]  # lets the suite find leftovers
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            env.update(secret)  # what `kubectl create secret --from-env-file` would hold
        else:
            env.update(by_kind(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


def run_exported(config_path: Path) -> list[str]:
    """Run every exported web app; returns the apps that answered 200."""
    project = load_project(config_path)
    root = project.root
    # The image has the state dir (its Dockerfile makes it) and the pod mounts one there.
    project.config.gaia.state_dir.mkdir(exist_ok=True)
    docs = parse_all(
        as_stream(export_kubernetes(project.config, KubeOptions(IMAGE), project.table_env))
    )
    served = []
    for service in (d for d in docs if d["kind"] == "Service"):
        name = service["metadata"]["annotations"]["gaia/app"]
        app = project.config.apps[name]
        secret: dict[str, str] = {}
        for path in env_files(project.config, app):
            secret.update(read_env_file(path)[0])
        pod = by_kind(docs, "Deployment", service["metadata"]["name"])["spec"]["template"]["spec"]
        for init in pod.get("initContainers", []):
            step = subprocess.run(
                [*init["command"], *init["args"]],
                cwd=local_dir(root, init["workingDir"]),
                env=exported_env(root, docs, init, secret),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert step.returncode == 0, step.stdout + step.stderr
        container = pod["containers"][0]
        argv = [
            a.replace("0.0.0.0", "127.0.0.1") for a in [*container["command"], *container["args"]]
        ]
        port = container["ports"][0]["containerPort"]
        path = container.get("readinessProbe", {}).get("httpGet", {}).get("path", "/")
        log = (root / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv,
            cwd=local_dir(root, container["workingDir"]),
            env=exported_env(root, docs, container, secret),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(
                lambda port=port, path=path: (r := try_get(port, path)) and r[0] == 200,
                30,
                f"{name} serving {path}",
            )
            status = try_get(port, "/")
            assert status is not None and status[0] == 200, status
            served.append(name)
        except AssertionError:
            log.flush()
            print((root / f"{name}.log").read_text())  # shown by pytest on failure
            raise
        finally:
            log.close()
            stop_group(proc)
    return served


def with_free_ports(config: Path, ports: list[int]) -> None:
    text = config.read_text()
    for port in ports:
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    config.write_text(text)


def test_full_example_commands_serve(tmp_path: Path) -> None:
    config = copy_full(tmp_path)
    with_free_ports(config, [8443, 8080])
    assert run_exported(config) == ["api", "site"]


def test_root_config_commands_serve(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(
        REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "gaia.toml", root / "gaia.toml")
    (root / ".gaia").mkdir()  # the exported Dockerfile's `RUN mkdir -p /app/.gaia`
    with_free_ports(root / "gaia.toml", [8000, 8001])
    assert run_exported(root / "gaia.toml") == ["web", "wsgi"]


def test_compose_commands_match_and_serve_https_with_mounted_secrets(tmp_path: Path) -> None:
    """Compose runs the same commands as Kubernetes; its TLS variant serves HTTPS with the
    certificate at the path the `secrets` entry mounts it to."""

    config = copy_full(tmp_path)
    with_free_ports(config, [8443, 8080])
    project = load_project(config)
    services = yaml.safe_load(export_compose(project.config, IMAGE, project.table_env))["services"]
    docs = parse_all(
        as_stream(export_kubernetes(project.config, KubeOptions(IMAGE), project.table_env))
    )
    site = by_kind(docs, "Deployment", "full-site")["spec"]["template"]["spec"]["containers"][0]
    assert services["site"]["command"] == [*site["command"], *site["args"]]
    mounted = parse_all(
        as_stream(
            export_kubernetes(
                project.config, KubeOptions(IMAGE, tls=TlsMode.APP), project.table_env
            )
        )
    )
    api = by_kind(mounted, "Deployment", "full-api")["spec"]["template"]["spec"]["containers"][0]
    k8s_args = [
        a.replace("/etc/gaia/tls/tls.crt", "/run/secrets/api-cert").replace(
            "/etc/gaia/tls/tls.key", "/run/secrets/api-key"
        )
        for a in api["args"]
    ]
    assert services["api"]["command"] == [*api["command"], *k8s_args]

    # What Compose does for `secrets`: the file appears at /run/secrets/NAME.
    secrets = yaml.safe_load(export_compose(project.config, IMAGE, project.table_env))["secrets"]
    mounts = {
        f"/run/secrets/{name}": str(project.root / entry["file"]) for name, entry in secrets.items()
    }
    argv = [mounts.get(a, a).replace("0.0.0.0", "127.0.0.1") for a in services["api"]["command"]]
    env = {**services["api"]["environment"], "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    env["GAIA_TEST_RUN"] = os.environ["GAIA_TEST_RUN"]
    port = int(argv[argv.index("--port") + 1])
    cwd = local_dir(project.root, services["api"]["working_dir"])
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def https_status() -> int | None:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=2, context=ssl._create_unverified_context()
        )
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    try:
        assert wait_until(lambda: https_status() == 200, 30, "api over HTTPS")
    finally:
        stop_group(proc)
