"""Run uvicorn on sockets gaia already bound, always under uvicorn's multiprocess supervisor.

Always supervising (even for one worker) keeps the tree shape the same for every
worker count, lets gaia scale in place with TTIN/TTOU, and lets gaia make each
spawned worker die with its parent: stock uvicorn workers outlive a killed master.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gaia_runner import server_patches as patches
from gaia_runner.dev.warm import name_forked_worker, record_imports
from gaia_runner.metrics.wire import CHANNEL_ENV
from gaia_runner.process import drain
from gaia_runner.process.pdeathsig import die_with_parent


def _worker_entry(
    target: Callable[..., None],
    parent: int,
    spec: dict[str, Any],
    channel: socket.socket | None,
    **kwargs: Any,
) -> None:
    die_with_parent(expected_parent=parent)
    drain.install()
    config = target.__self__.config  # type: ignore[attr-defined]
    if channel is not None:
        # The metrics channel as this worker received it (a spawned worker gets it under
        # another number); detached, so no garbage collection ever closes it.
        os.environ[CHANNEL_ENV] = str(channel.detach())
    if spec.get("metrics"):
        from gaia_runner.metrics.hooks import wrap_uvicorn_server

        # target is Server.run: wrap what its Config loads, in this worker.
        wrap_uvicorn_server(config)
    if spec.get("last_hop"):
        from gaia_runner.process.one_hop import wrap_uvicorn_config

        wrap_uvicorn_config(config)
    if "record_imports" in spec:
        _record_after_load(config, spec["record_imports"])
    target(**kwargs)


def _record_after_load(config: Any, path: str) -> None:
    load = config.load

    def load_and_record() -> None:
        load()
        record_imports(path)

    config.load = load_and_record


def _forked(config: Any, target: Callable[..., None], sockets: list[socket.socket]) -> Any:
    """Dev mode: a worker forked from this process, which has not imported the app (so
    the worker imports it fresh) but has imported the server and, released from a
    standby, the app's libraries. It starts with the default signal handlers, as a
    spawned worker does: uvicorn's parent installed its own."""
    import multiprocessing
    import signal

    from uvicorn._subprocess import subprocess_started
    from uvicorn.supervisors.multiprocess import SIGNALS

    def started(**kwargs: Any) -> None:
        name_forked_worker()
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        subprocess_started(**kwargs)

    kwargs = {"config": config, "target": target, "sockets": sockets, "stdin_fileno": None}
    return multiprocessing.get_context("fork").Process(target=started, kwargs=kwargs)


def _metrics_channel(spec: dict[str, Any]) -> socket.socket | None:
    """gaia's metrics channel (see metrics/channels.py), handed to each worker with its
    arguments: uvicorn spawns workers, which inherit only the fds passed this way."""
    if not spec.get("metrics") or CHANNEL_ENV not in os.environ:
        return None
    try:
        return socket.socket(fileno=int(os.environ[CHANNEL_ENV]))
    except (ValueError, OSError):
        return None  # each worker says it cannot send (recorder.open_channel)


def _install_worker_hook(spec: dict[str, Any]) -> None:
    channel = _metrics_channel(spec)

    def wrap(stock: Any) -> Any:
        original = _forked if spec.get("fork_workers") else stock

        def get_subprocess(
            config: Any, target: Callable[..., None], sockets: list[socket.socket]
        ) -> Any:
            wrapped = functools.partial(_worker_entry, target, os.getpid(), spec, channel)
            return original(config, wrapped, sockets)

        return get_subprocess

    patches.replace(
        "uvicorn.supervisors.multiprocess",
        "get_subprocess",
        "gaia's worker setup (dying with the server, drain, metrics, dev mode's imports)",
        wrap,
    )


def _read_spec(source: str) -> Any:
    """A path, or `fd:N` for an app running as another user (see launch.py)."""
    if source.startswith("fd:"):
        os.environ.pop("GAIA_CONFIG_FD", None)
        with os.fdopen(int(source.removeprefix("fd:")), "rb") as handle:
            return json.loads(handle.read())
    return json.loads(Path(source).read_text())


def main(argv: list[str]) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    spec = _read_spec(argv[0])
    # Dropped from sys.argv so the app never sees gaia's arguments.
    del sys.argv[1:]
    sys.path.insert(0, str(Path.cwd()))
    sockets = [socket.socket(fileno=fd) for fd in spec["fds"]]
    options = spec["options"]
    if "app_call" in spec:
        # "module:create_app('prod')": uvicorn only calls factories without arguments, so
        # each worker calls gaia's loader, which reads the arguments as literals. Imported
        # here: every spawned worker imports this module again, as its __main__.
        from gaia_runner.config.apptarget import load_app

        options["app"] = functools.partial(load_app, spec["app_call"])
        options["factory"] = True
    config = uvicorn.Config(**options)
    _install_worker_hook(spec)
    Multiprocess(config, sockets=sockets).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
