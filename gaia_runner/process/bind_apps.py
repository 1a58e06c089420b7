"""Binding every address a set of apps needs, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gaia_runner.config.model import AppConfig, Bind
from gaia_runner.process.sockets import BindError, Listener, SocketAccess, bind_listener


class BindErrors(Exception):
    """Every address that could not be bound, one per line, naming its app."""


def bind_apps(apps: Iterable[AppConfig], held: Mapping[Bind, Listener]) -> dict[Bind, Listener]:
    """Bind what `held` does not hold yet. If any bind fails, the fresh ones are closed
    again and every failure is reported at once."""
    fresh: dict[Bind, Listener] = {}
    errors: list[str] = []
    for app in apps:
        access = SocketAccess(app.socket_mode, app.socket_user, app.socket_group)
        for bind in app.bind:
            if bind in held or bind in fresh:
                continue
            try:
                fresh[bind] = bind_listener(bind, access)
            except BindError as exc:
                errors.append(f"app {app.name!r}: {exc}")
    if errors:
        for listener in fresh.values():
            listener.close()
        raise BindErrors("\n".join(errors))
    return fresh
