"""Tie a child's life to its parent's, so a SIGKILLed gaia leaves nothing serving.

Linux only; elsewhere this is a no-op. Kept free of heavy imports because it runs
inside gunicorn workers (post_fork) and uvicorn's spawned workers.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


# Looked up at import, in the parent: a child forked from one of gaia's spawner threads must
# not dlopen() before its exec (the loader's lock may have been held by another thread at
# the fork, and would never be released in the child).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(sig: int = signal.SIGKILL, expected_parent: int | None = None) -> None:
    """Ask the kernel to send `sig` to this process when its parent thread dies."""
    if not sys.platform.startswith("linux"):
        return
    if _PRCTL is None or _PRCTL(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        return
    # The parent may have died between fork and prctl: then nobody will signal us.
    if expected_parent is not None and os.getppid() != expected_parent:
        os.kill(os.getpid(), sig)
