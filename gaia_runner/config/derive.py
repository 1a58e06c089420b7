"""What gaia derives from a loaded config: an app's dev-mode variant, and the files
whose edits a running gaia must notice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gaia_runner.config.model import AppConfig, GaiaConfig


def dev_variant(app: AppConfig) -> AppConfig:
    """Dev mode: one worker, so a code change restarts quickly."""
    if app.command is not None:
        return app
    return with_workers(app, 1)


def with_workers(app: AppConfig, workers: int) -> AppConfig:
    return dataclasses.replace(app, workers=workers)


def tls_files(app: AppConfig) -> list[Path]:
    if app.https is None:
        return []
    return [p for p in (app.https.certfile, app.https.keyfile, app.https.ca_certs) if p]


def config_file_users(config: GaiaConfig) -> dict[Path, str | None]:
    """The user each watched file is read as: an app's own env file and TLS files as the
    app's `user` (None: gaia's own user)."""
    users: dict[Path, str | None] = {}
    for app in config.apps.values():
        own = [app.env_file] if app.env_file is not None else []
        if app.https is not None:
            own += [app.https.certfile, app.https.keyfile]
            if app.https.ca_certs is not None:
                own.append(app.https.ca_certs)
        for path in own:
            users.setdefault(path, app.user)
    users[config.source] = None
    if config.gaia.env_file is not None:
        users[config.gaia.env_file] = None
    return users


def watched_config_files(config: GaiaConfig) -> list[Path]:
    paths = [config.source]
    if config.gaia.env_file is not None:
        paths.append(config.gaia.env_file)
    for app in config.apps.values():
        if app.env_file is not None:
            paths.append(app.env_file)
        if app.https is not None:
            paths += [app.https.certfile, app.https.keyfile]
            if app.https.ca_certs is not None:
                paths.append(app.https.ca_certs)
    return paths
