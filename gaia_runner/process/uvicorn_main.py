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

from gaia_runner.config.apptarget import load_app
from gaia_runner.process import drain
from gaia_runner.process.pdeathsig import die_with_parent


def _worker_entry(target: Callable[..., None], parent: int, measured: bool, **kwargs: Any) -> None:
    die_with_parent(expected_parent=parent)
    drain.install()
    if measured:
        from gaia_runner.metrics.hooks import wrap_uvicorn_server

        # target is Server.run: wrap what its Config loads, in this worker.
        wrap_uvicorn_server(target.__self__.config)  # type: ignore[attr-defined]
    target(**kwargs)


def _install_worker_hook(measured: bool) -> None:
    from uvicorn import _subprocess
    from uvicorn.supervisors import multiprocess

    original = _subprocess.get_subprocess

    def get_subprocess(
        config: Any, target: Callable[..., None], sockets: list[socket.socket]
    ) -> Any:
        wrapped = functools.partial(_worker_entry, target, os.getpid(), measured)
        return original(config, wrapped, sockets)

    multiprocess.get_subprocess = get_subprocess  # type: ignore[attr-defined]


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
        # each worker calls gaia's loader, which reads the arguments as literals.
        options["app"] = functools.partial(load_app, spec["app_call"])
        options["factory"] = True
    config = uvicorn.Config(**options)
    _install_worker_hook(bool(spec.get("metrics")))
    Multiprocess(config, sockets=sockets).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
