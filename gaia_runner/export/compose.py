"""`gaia export compose`: one service per app, one-shot services for prestart steps.

The compose file is meant to sit next to gaia.toml (paths are relative to it). `env`
values are written inline (`environment`), `env_file` files are referenced, never read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gaia_runner.config.depends import COMPLETED, SERVING, STARTED
from gaia_runner.config.model import AppConfig, GaiaConfig, RestartPolicy
from gaia_runner.export import yaml
from gaia_runner.export.mapping import (
    GRACE_MARGIN,
    IMAGE_USER_ID,
    Container,
    ContainerRunner,
    TlsPaths,
    compose_size,
    container_for,
    container_path,
    env_files,
    env_table,
    same_port_binds,
    seconds,
)

_RESTART = {
    RestartPolicy.ALWAYS: "always",
    RestartPolicy.ON_FAILURE: "on-failure",
    RestartPolicy.NEVER: "no",
}


def _duration(value: float) -> str:
    return f"{value:g}s"


def _rel(config: GaiaConfig, path: os.PathLike[str]) -> str:
    rel = os.path.relpath(path, config.source.parent)
    return rel if rel.startswith("..") else f"./{rel}"


def _tls(app: AppConfig, runner: ContainerRunner) -> TlsPaths | None:
    if app.https is None or runner is ContainerRunner.GAIA:
        return None
    ca = f"/run/secrets/{app.name}-ca" if app.https.ca_certs else None
    return TlsPaths(f"/run/secrets/{app.name}-cert", f"/run/secrets/{app.name}-key", ca)


def _healthcheck(app: AppConfig, box: Container) -> dict[str, Any]:
    if app.health is None:
        # The image's HEALTHCHECK belongs to one app; the others must not inherit it.
        return {"disable": True}
    scheme = "https" if app.is_https else "http"
    url = f"{scheme}://127.0.0.1:{box.port}{app.health.path}"
    # Python is in every image gaia exports: no curl or wget needed. urlopen raises on
    # 4xx/5xx; the certificate is not checked (it names the public host, not 127.0.0.1).
    # No spaces: podman's Docker API (4.3, Debian stable) splits a CMD health test at
    # spaces, so `import ssl` would reach Python as two arguments.
    probe = (
        "u=__import__('urllib.request').request;"
        "c=__import__('ssl')._create_unverified_context();"
        f"u.urlopen({url!r},timeout={seconds(app.health.timeout)},context=c)"
    )
    return {
        "test": ["CMD", "python", "-c", probe],
        "interval": _duration(app.health.interval),
        "timeout": _duration(app.health.timeout),
        "retries": app.health.failures,
        # No `start_interval`: Compose refuses the whole file for engines older than
        # Docker Engine 25 (Debian stable's docker.io, podman 4).
        "start_period": _duration(app.start_timeout),
    }


def _literal(node: Any) -> Any:
    """Every string value with `$` doubled: Compose interpolates `$VAR` in all of them, so
    `pa$$word` would reach the app as `pa$word` and `$HOME/x` as the host's home."""
    if isinstance(node, str):
        return node.replace("$", "$$")
    if isinstance(node, dict):
        return {key: _literal(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_literal(item) for item in node]
    return node


def _ports(app: AppConfig, box: Container) -> list[str]:
    assert box.port is not None
    # Every host address gaia binds on that port (both stacks of a dual-stack app), published
    # to the one container port.
    hosts = list(dict.fromkeys(b.host for b in same_port_binds(app))) or ["127.0.0.1"]
    shown = [f"[{host}]" if ":" in host else host for host in hosts]
    if box.replicas > 1:
        # Replicas cannot share one host port: each gets a free one (`docker compose port`).
        return [f"{host}::{box.port}" for host in shown]
    return [f"{host}:{box.port}:{box.port}" for host in shown]


def _base(config: GaiaConfig, app: AppConfig, image: str, env: Mapping[str, str]) -> dict[str, Any]:
    service: dict[str, Any] = {"image": image}
    files = env_files(config, app)
    if files:
        # raw: no `$VAR` expansion, as gaia reads it (cli/export.py checks the file first).
        service["env_file"] = [{"path": _rel(config, p), "format": "raw"} for p in files]
    service["environment"] = {**env, "GAIA_APP": app.name, "PYTHONUNBUFFERED": "1"}
    return service


def _service(
    config: GaiaConfig, app: AppConfig, box: Container, image: str, env: Mapping[str, str]
) -> dict[str, Any]:
    own_server = box.argv[0] != "gaia"  # with --runner gaia, gaia runs prestart and TLS
    service = _base(config, app, image, env)
    service["command"] = list(box.argv)
    service["working_dir"] = box.workdir
    if box.port is not None:
        service["ports"] = _ports(app, box)
    service["healthcheck"] = _healthcheck(app, box)
    deploy: dict[str, Any] = {"replicas": box.replicas}
    if box.memory_limit is not None:
        amount = compose_size(box.memory_limit)
        deploy["resources"] = {
            "limits": {"memory": amount},
            "reservations": {"memory": amount},
        }
    service["deploy"] = deploy
    service["restart"] = _RESTART[app.restart]
    service["stop_grace_period"] = f"{box.stop_seconds + GRACE_MARGIN}s"
    depends = _depends_on(config, app)
    if app.prestart and own_server:
        last = f"{app.name}-prestart-{len(app.prestart)}"
        depends[last] = {"condition": "service_completed_successfully"}
    if depends:
        service["depends_on"] = depends
    if app.https is not None and own_server:
        names = ["cert", "key", *(["ca"] if app.https.ca_certs else [])]
        service["secrets"] = [f"{app.name}-{n}" for n in names]
    return service


_CONDITIONS = {
    STARTED: "service_started",
    SERVING: "service_healthy",
    COMPLETED: "service_completed_successfully",
}


def _depends_on(config: GaiaConfig, app: AppConfig) -> dict[str, Any]:
    """gaia's conditions as Compose's. A `command` app has no readiness probe (nor a
    healthcheck here): "serving" it means started, as in gaia."""
    depends: dict[str, Any] = {}
    for dep, condition in app.depends_on.items():
        if condition == SERVING and config.apps[dep].is_command:
            condition = STARTED
        depends[dep] = {"condition": _CONDITIONS[condition]}
    return depends


def _prestart_services(
    config: GaiaConfig, app: AppConfig, image: str, env: Mapping[str, str]
) -> dict[str, Any]:
    services = {}
    previous = None
    for number, step in enumerate(app.prestart, 1):
        service = _base(config, app, image, env)
        service["command"] = list(step)
        service["working_dir"] = container_path(config, app.cwd)
        service["healthcheck"] = {"disable": True}  # not the image's, which is a web app's
        service["restart"] = "no"
        if previous is not None:
            service["depends_on"] = {previous: {"condition": "service_completed_successfully"}}
        previous = f"{app.name}-prestart-{number}"
        services[previous] = service
    return services


def _secrets(config: GaiaConfig, app: AppConfig) -> dict[str, Any]:
    if app.https is None:
        return {}
    files = {"cert": app.https.certfile, "key": app.https.keyfile, "ca": app.https.ca_certs}
    return {f"{app.name}-{k}": {"file": _rel(config, p)} for k, p in files.items() if p}


def export_compose(
    config: GaiaConfig,
    image: str,
    table_env: Mapping[str, Mapping[str, str]],
    runner: ContainerRunner = ContainerRunner.SERVER,
) -> str:
    services: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    notes: list[str] = []
    for name, app in config.apps.items():
        box = container_for(config, app, runner, _tls(app, runner))
        env = env_table(table_env, name)
        if runner is ContainerRunner.SERVER:
            services.update(_prestart_services(config, app, image, env))
            secrets.update(_secrets(config, app))
        services[name] = _service(config, app, box, image, env)
        notes += box.notes
    document: dict[str, Any] = {"services": _literal(services)}
    if secrets:
        document["secrets"] = secrets
        keys = " ".join(sorted({str(v["file"]) for k, v in secrets.items() if k.endswith("-key")}))
        notes.append(
            "note: outside swarm, file secrets are bind mounts: uid, gid and mode are ignored and "
            f"the host file's own apply, so the image's user (uid {IMAGE_USER_ID}) must be able "
            f"to read them: chown {IMAGE_USER_ID} {keys}"
        )
    head = ["Generated by `gaia export compose` from gaia.toml; keep it next to gaia.toml."]
    return yaml.dump(document, [*head, *notes])
