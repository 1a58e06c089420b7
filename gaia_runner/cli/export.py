"""`gaia export FORMAT`: the same gaia.toml for Kubernetes, Compose, Docker and systemd."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated

import typer

from gaia_runner.cli.flags import ConfigOption
from gaia_runner.cli.options import fail, load
from gaia_runner.config import ConfigError, GaiaConfig, load_config, raw
from gaia_runner.config.inputs import ReadAs
from gaia_runner.config.privilege import Account
from gaia_runner.export import Unexportable
from gaia_runner.export.compose import export_compose
from gaia_runner.export.dockerfile import dockerignore, export_dockerfile
from gaia_runner.export.envfiles import check_exportable
from gaia_runner.export.kubernetes import (
    KubeOptions,
    Prestart,
    TlsMode,
    as_stream,
    export_kubernetes,
)
from gaia_runner.export.mapping import ContainerRunner, env_files
from gaia_runner.export.systemd import export_systemd, unit_name
from gaia_runner.install_trust import install_paths, untrusted
from gaia_runner.process.launch import interpreter_bin_dir

app = typer.Typer(no_args_is_help=True, help="Write this gaia.toml for another runner.")

ImageOption = Annotated[
    str | None, typer.Option("--image", help="Container image (else [gaia].image).")
]
RunnerOption = Annotated[
    ContainerRunner,
    typer.Option("--runner", help="server: one server process per container; gaia: gaia up."),
]

# What an export runs as is the target's business (a container starts as root), not
# whose account ran `gaia export`.
AS_ROOT = Account(uid=0)


def _image(config: GaiaConfig, image: str | None) -> str:
    chosen = image or config.gaia.image
    if not chosen:
        raise fail("error: no image: pass --image IMAGE or set [gaia].image")
    return chosen


def _table_env(config: GaiaConfig) -> Mapping[str, Mapping[str, str]]:
    """Only the `env` tables: env_file values are secrets and never go into the output."""
    try:
        bare = load_config(config.source, check_files=False).config
    except ConfigError as exc:  # the file changed since it was loaded
        raise fail(f"error: invalid configuration\n{exc}") from None
    return {name: app.env for name, app in bare.apps.items()}


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except Unexportable as exc:
        raise fail(f"error: cannot export: {exc}") from None


def _check_env_files(config: GaiaConfig, names: list[str] | None = None) -> None:
    """Env files the output refers to must read the same to the orchestrator as to gaia."""
    with _refusals():
        for name in names or list(config.apps):
            app = config.apps[name]
            for path in env_files(config, app):
                # [gaia].env_file is gaia's own; an app's is read as its user, as gaia does.
                user = None if path == config.gaia.env_file else ReadAs.for_user(app.user)
                check_exportable(path, os.path.relpath(path, config.source.parent), user)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    _write_file(output, text)
    typer.echo(f"wrote {output}", err=True)


def _write_file(path: Path, text: str) -> None:
    """Never through a symlink: a root export into a directory another user can write
    must not overwrite whatever file that user points the name at."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise fail(f"error: cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


@app.command()
def kubernetes(
    apps: Annotated[list[str] | None, typer.Argument(help="Apps to export (default: all).")] = None,
    image: ImageOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Directory: one file per object.")
    ] = None,
    runner: RunnerOption = ContainerRunner.SERVER,
    prestart: Annotated[
        Prestart, typer.Option(help="init: initContainers; job: a Job to run before.")
    ] = Prestart.INIT,
    tls: Annotated[
        TlsMode, typer.Option(help="ingress: terminate at the Ingress; app: mount the cert.")
    ] = TlsMode.INGRESS,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Project name prefixing every object (default: the config's directory)."
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Ingress controller networks, comma-separated (default: private ranges).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Kubernetes manifests: Deployment, Service, ConfigMap, Ingress, Job."""
    loaded = load(config, AS_ROOT).config
    unknown = [name for name in apps or [] if name not in loaded.apps]
    if unknown:
        raise fail(f"error: unknown app {', '.join(unknown)}")
    trusted = _networks(forwarded_allow_ips) if forwarded_allow_ips is not None else None
    opts = KubeOptions(_image(loaded, image), runner, prestart, tls, name, trusted)
    _check_env_files(loaded, apps)
    with _refusals():
        manifests = export_kubernetes(loaded, opts, _table_env(loaded), apps)
    if output is None:
        typer.echo(as_stream(manifests), nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    for manifest in manifests:
        _write_file(output / manifest.filename, manifest.text)
    typer.echo(f"wrote {len(manifests)} files to {output}", err=True)


def _networks(text: str) -> tuple[str, ...]:
    """Checked as gaia.toml's `forwarded_allow_ips` is."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        raw.forwarded_allow_ips(items or "")
    except ValueError as exc:
        raise fail(f"error: --forwarded-allow-ips: {exc}") from None
    return tuple(items)


@app.command()
def compose(
    image: ImageOption = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    runner: RunnerOption = ContainerRunner.SERVER,
    config: ConfigOption = None,
) -> None:
    """A Docker Compose file (keep it next to gaia.toml)."""
    loaded = load(config, AS_ROOT).config
    _check_env_files(loaded)
    with _refusals():
        text = export_compose(loaded, _image(loaded, image), _table_env(loaded), runner)
    _write(text, output)


@app.command()
def dockerfile(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    default_app: Annotated[
        str | None, typer.Option("--app", help="App for CMD/HEALTHCHECK (default: first web app).")
    ] = None,
    runner: RunnerOption = ContainerRunner.SERVER,
    config: ConfigOption = None,
) -> None:
    """A Dockerfile for this project: slim Python, non-root user, cached dependencies."""
    loaded = load(config, AS_ROOT).config
    if default_app is not None and default_app not in loaded.apps:
        raise fail(f"error: unknown app {default_app}")
    has_requirements = (loaded.source.parent / "requirements.txt").is_file()
    with _refusals():
        text = export_dockerfile(loaded, has_requirements, default_app, runner)
    _write(text, output)
    ignore = loaded.source.parent / ".dockerignore"
    existing = ignore.read_text() if ignore.is_file() else ""
    wanted = dockerignore(loaded, existing)
    if output is None:
        if wanted != existing:
            typer.echo(f"note: with -o, gaia also writes {ignore} (keys, env files)", err=True)
    elif wanted != existing:
        _write(wanted, ignore)


@app.command()
def systemd(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Directory for the .service file.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="User that runs gaia.")] = None,
    config: ConfigOption = None,
) -> None:
    """A systemd unit that runs `gaia up` for this gaia.toml on startup."""
    loaded = load(config, AS_ROOT).config
    with _refusals():
        text = export_systemd(loaded, Path(interpreter_bin_dir()) / "gaia", user)
    if user is None or user == "root":
        _warn_untrusted_exec_start()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    _write(text, output / unit_name(loaded))


def _warn_untrusted_exec_start() -> None:
    """The unit runs this very install as root; gaia would refuse to start from it."""
    found = untrusted(install_paths())
    if found:
        where = "\n".join(f"  {finding}" for finding in found)
        typer.echo(
            "warning: the unit runs gaia as root from an install other users can write, so\n"
            f"gaia will refuse to start:\n{where}\n"
            "Install it where only root can write (docs/security.md).",
            err=True,
        )
