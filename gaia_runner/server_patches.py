"""Every patch gaia makes to uvicorn's internals, in one place.

They run inside the app's server processes, whose uvicorn is the one in the app's venv:
gaia declares lower bounds only (pyproject), so a newer uvicorn may have moved what is
patched. Then the patch is skipped with one line on the worker's stderr, which is the
app's log, naming what is missing and what is off; the server itself runs as it would
without gaia.

One patch per internal: what several features need at one point (the drain before
`Server.shutdown`, the last metrics flush after it) are steps of the same patch, so their
order is written here once.
"""

from __future__ import annotations

import importlib
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import IO, Any

ShutdownStep = Callable[[Any], Awaitable[None]]  # given uvicorn's Server
Step = Callable[[], None]

_before_shutdown: dict[str, ShutdownStep] = {}
_after_shutdown: dict[str, Step] = {}
_after_startup: dict[str, Step] = {}
_warned: set[tuple[str, str]] = set()
_MARK = "_gaia_patched"


def internal(module: str, path: str, feature: str, err: IO[str] | None = None) -> Any | None:
    """The object at `path` (dotted, e.g. "Server.shutdown") in `module`, or None after
    one line in the app's log (once per internal and feature) saying `feature` is off."""
    try:
        found: Any = importlib.import_module(module)
        for part in path.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        if (f"{module}.{path}", feature) not in _warned:
            _warned.add((f"{module}.{path}", feature))
            top = module.split(".")[0]
            print(
                f"gaia: {top} {_version(top)} has no {module}.{path}: {feature} is off",
                file=err or sys.stderr,
                flush=True,
            )
        return None
    return found


def replace(
    module: str, path: str, feature: str, wrap: Callable[[Any], Any], err: IO[str] | None = None
) -> bool:
    """Replace the internal at `path` by `wrap(original)`, once; False when it is missing."""
    original = internal(module, path, feature, err)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True
    owner_path, _, name = path.rpartition(".")
    owner = internal(module, owner_path, feature, err) if owner_path else sys.modules[module]
    wrapped = wrap(original)
    setattr(wrapped, _MARK, True)
    setattr(owner, name, wrapped)
    return True


def on_uvicorn_shutdown(
    name: str,
    feature: str,
    before: ShutdownStep | None = None,
    after: Step | None = None,
    module: str = "uvicorn.server",
    err: IO[str] | None = None,
) -> None:
    """Run `before` (given the Server) before uvicorn's own shutdown, `after` once it has
    ended, whether or not it raised."""
    if before is not None:
        _before_shutdown[name] = before
    if after is not None:
        _after_shutdown[name] = after
    replace(module, "Server.shutdown", feature, _shutdown_with_steps, err)


def after_uvicorn_startup(
    name: str, feature: str, step: Step, module: str = "uvicorn.server", err: IO[str] | None = None
) -> None:
    _after_startup[name] = step
    replace(module, "Server.startup", feature, _startup_with_steps, err)


def _shutdown_with_steps(original: Any) -> Any:
    async def shutdown(self: Any, sockets: list[socket.socket] | None = None) -> None:
        try:
            for step in list(_before_shutdown.values()):
                await step(self)
            await original(self, sockets)
        finally:
            for after in list(_after_shutdown.values()):
                after()

    return shutdown


def _startup_with_steps(original: Any) -> Any:
    async def startup(self: Any, sockets: list[socket.socket] | None = None) -> None:
        await original(self, sockets)
        for step in list(_after_startup.values()):
            step()

    return startup


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(version unknown)"
