"""Readable process names for dev mode's warm processes, which otherwise all read
`python -m gaia_runner.dev.warm_main 31 …/web.imports` in `ps`, the server they became
included.

setproctitle (a C extension) is not a dependency: gaia's base install stays pure Python.
When it is installed (gunicorn uses it too, for `proc_name`), the whole command line is
replaced. Otherwise the kernel's short name (15 bytes: `ps -e`, `top`, `pgrep`, psutil's
`name()`) is set with prctl(PR_SET_NAME) through ctypes; `ps aux` still shows the argv.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib

PR_SET_NAME = 15
COMM_BYTES = 15


def set_title(title: str) -> None:
    with contextlib.suppress(ImportError):
        importlib.import_module("setproctitle").setproctitle(title)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, title.encode()[:COMM_BYTES], 0, 0, 0)
