"""`gaia export dockerfile`: one image for every app of this gaia.toml.

Kubernetes and Compose give each app its own command, so the image's CMD and
HEALTHCHECK only serve `docker run IMAGE`: they belong to one app (the first web app,
or the one named).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from gaia_runner.config.model import AppConfig, GaiaConfig, ServerKind
from gaia_runner.export import Unexportable
from gaia_runner.export.mapping import (
    APP_ROOT,
    IMAGE_USER_ID,
    ContainerRunner,
    container_for,
    container_path,
    container_port,
    is_asgi_on_uvicorn,
    seconds,
)

BASE_IMAGE = "python:3.12-slim"


def _server_packages(config: GaiaConfig, runner: ContainerRunner) -> list[str]:
    """What the exported commands call: the servers, with gaia's own lower bounds, and gaia
    itself (the version exporting) when the manifests run `gaia up` in the container."""
    web = [a for a in config.apps.values() if not a.is_command]
    packages = [f"gaia-runner=={gaia_version()}"] if runner is ContainerRunner.GAIA else []
    if any(a.server is ServerKind.GUNICORN and not is_asgi_on_uvicorn(a) for a in web):
        packages.append("gunicorn>=25.1")
    if any(is_asgi_on_uvicorn(a) for a in web):
        packages.append("uvicorn[standard]>=0.51")
    return packages


def _healthcheck(app: AppConfig) -> list[str]:
    if app.health is None:
        return []
    # The image's CMD serves plain HTTP: TLS keys stay out of images (see export_dockerfile).
    url = f"http://127.0.0.1:{container_port(app)}{app.health.path}"
    timeout = seconds(app.health.timeout)
    probe = f"import urllib.request;urllib.request.urlopen('{url}',timeout={timeout})"
    return [
        "# Python instead of curl: the slim image has no curl.",
        f"HEALTHCHECK --interval={seconds(app.health.interval)}s "
        f"--timeout={seconds(app.health.timeout)}s --start-period={seconds(app.start_timeout)}s "
        f"--retries={app.health.failures} \\",
        f'    CMD ["python", "-c", "{probe}"]',
    ]


def _rel(config: GaiaConfig, path: Path) -> str:
    return os.path.relpath(path, config.source.parent)


def _one_line(value: str) -> str:
    # A line break ends a Dockerfile instruction whatever the quoting: it would start another.
    if "\n" in value or "\r" in value:
        raise Unexportable(f"{value!r} holds a line break and cannot be written in a Dockerfile")
    return value


def _shell_args(args: list[str]) -> str:
    return " ".join(shlex.quote(_one_line(arg)) for arg in args)


def _workdir(path: str) -> str:
    # WORKDIR has no quoting: it takes the rest of the line and expands `$` and `\`.
    if any(c in _one_line(path) for c in "\\$"):
        raise Unexportable(f"working directory {path!r} cannot be written in a Dockerfile")
    return f"WORKDIR {path}"


def _secret_files(config: GaiaConfig) -> set[Path]:
    found = {p for p in (config.gaia.env_file,) if p is not None}
    for app in config.apps.values():
        if app.env_file is not None:
            found.add(app.env_file)
        if app.https is not None:
            found |= {app.https.certfile, app.https.keyfile}
    return found


def dockerignore(config: GaiaConfig, existing: str = "") -> str:
    """The build context's `.dockerignore`: ``existing`` plus what must never reach an image
    (local state, virtualenvs, git, env files and TLS files named in gaia.toml)."""
    wanted = [".git", ".venv", "venv", "__pycache__", _rel(config, config.gaia.state_dir)]
    wanted += sorted(_rel(config, p) for p in _secret_files(config))
    have = {line.strip() for line in existing.splitlines()}
    missing = [
        p for p in dict.fromkeys(wanted) if not p.startswith("..") and p not in have and p != "."
    ]
    if not missing:
        return existing
    head = existing if not existing or existing.endswith("\n") else existing + "\n"
    return (
        head
        + "# Added by `gaia export dockerfile`: never copied into an image.\n"
        + "".join(f"{p}\n" for p in missing)
    )


def gaia_version() -> str:
    from importlib.metadata import version

    return version("gaia-runner")


def export_dockerfile(
    config: GaiaConfig,
    has_requirements: bool,
    app: str | None = None,
    runner: ContainerRunner = ContainerRunner.SERVER,
) -> str:
    """``has_requirements``: a requirements.txt sits next to gaia.toml.

    The default CMD serves plain HTTP even for an `https` app: a private key baked into an
    image leaks with the image, so TLS is the orchestrator's (Ingress, or a mounted Secret).
    """
    web = [a for a in config.apps.values() if not a.is_command]
    state = container_path(config, config.gaia.state_dir)
    chosen = config.apps[app] if app else (web[0] if web else next(iter(config.apps.values())))
    packages = " ".join(f'"{p}"' for p in _server_packages(config, runner))
    lines = [
        "# syntax=docker/dockerfile:1",
        "# Generated by `gaia export dockerfile` from gaia.toml.",
        f"FROM {BASE_IMAGE}",
        "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1",
        "# The app's directory and gaia's state_dir belong to the user that runs the app:",
        "# WORKDIR and COPY --chown leave the directory itself owned by root.",
        f"RUN useradd --create-home --uid {IMAGE_USER_ID} app \\",
        f"    && install -d -o app -g app {_shell_args([str(APP_ROOT), state])}",
        f"WORKDIR {APP_ROOT}",
        "# Dependencies first, in their own layer: rebuilt only when requirements change.",
    ]
    if has_requirements:
        lines += [
            "COPY requirements.txt ./",
            f"RUN pip install -r requirements.txt {packages}".rstrip(),
        ]
    else:
        lines += [
            "# No requirements.txt next to gaia.toml: add one for your app's own packages.",
            f"RUN pip install {packages}" if packages else "# (no server needed)",
        ]
    lines += [
        "# The app's files, owned by the user that runs them (prestart steps may write).",
        "# .dockerignore (written beside gaia.toml) keeps keys, env files and state out.",
        "COPY --chown=app:app . .",
        f"USER {IMAGE_USER_ID}",
    ]
    ports = sorted({p for a in web if (p := container_port(a)) is not None})
    lines += [f"EXPOSE {port}" for port in ports]
    lines += _healthcheck(chosen) if not chosen.is_command else []
    box = container_for(config, chosen, runner, None)
    argv = ", ".join(json.dumps(arg) for arg in box.argv)
    lines += [
        f"# Default command: {chosen.name}; Kubernetes and Compose set each app's own.",
        _workdir(box.workdir),
        f"CMD [{argv}]",
    ]
    return "\n".join(lines) + "\n"
