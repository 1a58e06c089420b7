"""The exports on a real engine (podman), unedited: the Dockerfile builds, the Compose file runs
under the real Compose v2 binary, and every Kubernetes container command runs in the built image.

What a pass proves: the image builds from the exported Dockerfile as written (hadolint-clean),
the Compose file starts prestart before the web replicas, each replica answers its health path
with exactly the env values `gaia up` gives, a command app runs, and `down` leaves nothing; each
Deployment container and init container of the Kubernetes manifests starts in that image with
the manifest's command, args, env, user and working directory. What it cannot prove: the base
image is a debootstrap stand-in for `python:3.12-slim` (Debian's Python 3.11, not 3.12); podman
4.3 stands in for Docker (it answers as Docker API 1.41, Engine 20.10: the oldest engine a user
is likely to have) and runs no health checks by itself (no systemd here), so health is run with
`podman healthcheck run`; Kubernetes objects are schema-checked, not scheduled.

Containers are only reached from inside (`podman exec` to their own loopback).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine import Podman, compose_cmd, podman
from export_support import REPO, copy_full, load_project, parse_all
from harness import run_cli
from test_export_validate import compose_binary

from gaia_runner.export.dockerfile import BASE_IMAGE
from gaia_runner.export.mapping import container_port

pytestmark = [pytest.mark.timeout(900)]

HADOLINT = Path(sys.executable).parent / "hadolint"


@dataclass
class Built:
    root: Path
    config: Path
    tag: str
    engine: Podman


def _copy_root(dest: Path) -> Path:
    root = dest / "root"
    root.mkdir()
    for name in ("gaia.toml", "requirements.txt"):
        shutil.copy(REPO / name, root / name)
    for example in ("fastapi_app", "wsgi_app"):
        shutil.copytree(
            REPO / "examples" / example,
            root / "examples" / example,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return root / "gaia.toml"


def _copy_full(dest: Path) -> Path:
    config = copy_full(dest)
    # Compose mounts secrets as they are on the host: the image's user must be able to read
    # the key (the README says so); 0600 root-owned would stop the TLS app.
    key = config.parent / "certs" / "key.pem"
    os.chown(key, 10001, 10001)
    return config


@pytest.fixture(scope="module", params=["root", "full"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    engine = podman(f"docker.io/library/{BASE_IMAGE}")
    dest = tmp_path_factory.mktemp(request.param)
    config = (_copy_root if request.param == "root" else _copy_full)(dest)
    root = config.parent
    exported = run_cli(
        "export", "dockerfile", "-c", str(config), "-o", str(root / "Dockerfile"), cwd=root
    )
    assert exported.returncode == 0, exported.stderr
    if HADOLINT.exists():
        lint = subprocess.run(
            [str(HADOLINT), str(root / "Dockerfile")], capture_output=True, text=True, timeout=60
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
    tag = f"localhost/gaia-engine-{request.param}:{uuid.uuid4().hex[:8]}"
    engine.build(root, tag)
    try:
        yield Built(root, config, tag, engine)
    finally:
        engine.run("rmi", "-f", tag, check=False)


def _inspect(engine: Podman, name: str) -> dict[str, Any]:
    return json.loads(engine.run("inspect", name).stdout)[0]  # type: ignore[no-any-return]


def _wait(what: str, check: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def _healthy(engine: Podman, container: str) -> bool:
    return engine.run("healthcheck", "run", container, check=False, timeout=60).returncode == 0


def _answers(engine: Podman, container: str, port: int | None) -> bool:
    code = (
        "import urllib.request,urllib.error\n"
        f"try: urllib.request.urlopen('http://127.0.0.1:{port}/',timeout=3)\n"
        "except urllib.error.HTTPError: pass"
    )
    return engine.run("exec", container, "python", "-c", code, check=False).returncode == 0


def _environ(engine: Podman, container: str) -> dict[str, str]:
    code = "import json,os;print(json.dumps(dict(os.environ)))"
    return json.loads(engine.run("exec", container, "python", "-c", code).stdout)  # type: ignore[no-any-return]


def test_compose_runs_unedited(built: Built, tmp_path: Path) -> None:
    engine, root = built.engine, built.root
    compose_file = root / "compose.yaml"
    exported = run_cli(
        "export",
        "compose",
        "-c",
        str(built.config),
        "--image",
        built.tag,
        "-o",
        str(compose_file),
        cwd=root,
    )
    assert exported.returncode == 0, exported.stderr
    project = load_project(built.config)
    name = f"gaiaengine{uuid.uuid4().hex[:6]}"
    with engine.service() as host:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DOCKER_HOST": host}
        compose = compose_cmd(compose_binary(), name, [compose_file], root)

        def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*compose, *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                cwd=root,
            )

        try:
            up = run("up", "-d")
            assert up.returncode == 0, up.stderr
            for app in project.config.apps.values():
                if app.prestart:
                    last = f"{name}-{app.name}-prestart-{len(app.prestart)}-1"
                    state = _inspect(engine, last)["State"]
                    assert state["ExitCode"] == 0 and state["Status"] == "exited", state
                if app.is_command:
                    box = f"{name}-{app.name}-1"
                    _wait(
                        f"{box} to run",
                        lambda b=box: (
                            _inspect(engine, b)["State"]["Status"] in ("running", "exited")
                        ),
                    )
                    continue
                replicas = [f"{name}-{app.name}-{i}" for i in range(1, app.workers + 1)]
                for box in replicas:
                    if app.health is not None:
                        _wait(f"{box} healthy", lambda b=box: _healthy(engine, b))
                    else:  # no health check: any HTTP answer on the app's port will do
                        port = container_port(app)
                        _wait(f"{box} answers", lambda b=box, p=port: _answers(engine, b, p))
                    started = _inspect(engine, box)["State"]["StartedAt"]
                    if app.prestart:
                        assert _inspect(engine, last)["State"]["FinishedAt"] <= started
                    seen = _environ(engine, box)
                    for key, value in app.env.items():
                        assert seen.get(key) == value, f"{box}: {key}"
        finally:
            down = run("down", "--remove-orphans")
        assert down.returncode == 0, down.stderr
        left = engine.run(
            "ps", "-a", "--filter", f"label=com.docker.compose.project={name}", "-q"
        ).stdout
        assert left.strip() == ""


def test_kubernetes_containers_run_in_the_image(built: Built, tmp_path: Path) -> None:
    engine, root = built.engine, built.root
    out = tmp_path / "k8s"
    exported = run_cli(
        "export",
        "kubernetes",
        "-c",
        str(built.config),
        "--image",
        built.tag,
        "-o",
        str(out),
        cwd=root,
    )
    assert exported.returncode == 0, exported.stderr
    docs = [d for p in sorted(out.iterdir()) for d in parse_all(p.read_text())]
    project = load_project(built.config)
    config_maps = {
        d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"
    }
    started: list[str] = []
    made_volumes: list[str] = []
    try:
        for doc in docs:
            if doc["kind"] not in ("Deployment", "Job"):
                continue
            app = project.config.apps[doc["metadata"]["annotations"]["gaia/app"]]
            pod = doc["spec"]["template"]["spec"]
            # The pod's emptyDirs: one podman volume each, shared by its containers as in a
            # pod, owned by the pod's user (fsGroup).
            volumes = {}
            for volume in pod.get("volumes", []):
                if "emptyDir" in volume:
                    volumes[volume["name"]] = f"gaiak8s-{uuid.uuid4().hex[:8]}"
                    engine.run("volume", "create", volumes[volume["name"]])
                    made_volumes.append(volumes[volume["name"]])
            user = str(pod["securityContext"]["runAsUser"])
            for box in pod.get("initContainers", []) + pod["containers"]:
                args = ["--user", user, "--workdir", box["workingDir"], "--network", "none"]
                sc = box["securityContext"]
                if sc.get("readOnlyRootFilesystem"):
                    args.append("--read-only")
                args += [f"--cap-drop={c}" for c in sc["capabilities"]["drop"]]
                args += [f"--cap-add={c}" for c in sc["capabilities"].get("add", [])]
                if sc.get("allowPrivilegeEscalation") is False:
                    args += ["--security-opt", "no-new-privileges"]
                for mount in box.get("volumeMounts", []):
                    if mount["name"] in volumes:
                        args += ["-v", f"{volumes[mount['name']]}:{mount['mountPath']}:U"]
                env: dict[str, str] = {}
                for source in box.get("envFrom", []):
                    if "configMapRef" in source:
                        env.update(config_maps[source["configMapRef"]["name"]])
                    else:  # the Secret made by `kubectl create secret --from-env-file`
                        env.update(app.env)
                env.update({item["name"]: item["value"] for item in box.get("env", [])})
                for key, value in env.items():
                    args += ["--env", f"{key}={value}"]
                args += ["--entrypoint", json.dumps(box["command"]), built.tag, *box["args"]]
                if box in pod.get("initContainers", []) or doc["kind"] == "Job":
                    done = engine.run("run", "--rm", *args, timeout=120, check=False)
                    assert done.returncode == 0, f"{box['name']}: {done.stderr}"
                    continue
                name = f"gaiak8s-{uuid.uuid4().hex[:8]}"
                engine.run("run", "-d", "--name", name, *args)
                started.append(name)
                probe = box.get("readinessProbe", {}).get("httpGet")
                if probe is not None:
                    url = f"http://127.0.0.1:{box['ports'][0]['containerPort']}{probe['path']}"
                    code = f"import urllib.request;urllib.request.urlopen({url!r},timeout=3)"
                    _wait(
                        f"{name} answers {url}",
                        lambda n=name, c=code: (
                            engine.run("exec", n, "python", "-c", c, check=False).returncode == 0
                        ),
                    )
                for key, value in app.env.items():
                    assert _environ(engine, name).get(key) == value, f"{name}: {key}"
    finally:
        for name in started:
            engine.run("rm", "-f", "-t", "2", name, check=False)
        for volume in made_volumes:
            engine.run("volume", "rm", "-f", volume, check=False)
