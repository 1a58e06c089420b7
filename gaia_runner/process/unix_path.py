"""Unix socket paths of any length, without leaving the directory they belong in.

sun_path holds 108 bytes, so a socket in a deep state dir cannot be bound or reached by
its own path. Falling back to another directory (say $TMPDIR) makes the socket's place
depend on the environment of whoever looks for it; instead the socket stays where it
belongs and is named through an open fd of its directory, /proc/self/fd/N/NAME, which
Linux resolves for bind() and connect() alike.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

# 108 bytes including the terminating NUL.
MAX_SUN_PATH = 107


@contextlib.contextmanager
def socket_name(path: Path) -> Iterator[str]:
    """A name for `path` that fits in sun_path, valid inside the block only."""
    if len(os.fsencode(path)) <= MAX_SUN_PATH:
        yield str(path)
        return
    # O_NOFOLLOW: a link planted in place of the directory is refused, not followed.
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    dir_fd = os.open(path.parent, flags)
    try:
        yield f"/proc/self/fd/{dir_fd}/{path.name}"
    finally:
        os.close(dir_fd)


def bind_unix(path: Path, kind: int = socket.SOCK_STREAM) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, kind)
    try:
        with socket_name(path) as name:
            sock.bind(name)
    except BaseException:
        sock.close()
        raise
    return sock


def connect_unix(sock: socket.socket, path: Path) -> None:
    with socket_name(path) as name:
        sock.connect(name)
