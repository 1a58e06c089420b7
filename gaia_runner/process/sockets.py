"""gaia owns every listening socket: it binds them once and hands the fds down.

Because the socket outlives any one server process, a restarted or replacement
process tree never meets "address already in use", and two generations of an
app can accept from the same queue while one replaces the other.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from gaia_runner.config.model import Bind, BindKind
from gaia_runner.process import socket_path
from gaia_runner.process.socket_path import Inode, SocketPathError

BACKLOG = 2048


@dataclass(frozen=True)
class SocketAccess:
    """Who may connect to a unix socket: its permission bits and owner."""

    mode: int = 0o666
    user: str | None = None
    group: str | None = None


class BindError(Exception):
    def __init__(self, bind: Bind, reason: str) -> None:
        super().__init__(f"cannot bind {bind}: {reason}")
        self.bind = bind
        self.reason = reason


@dataclass
class Listener:
    bind: Bind
    sock: socket.socket
    suspended: bool = False
    access: SocketAccess = SocketAccess()
    # A unix socket's file, as bound: the only inode gaia ever chmods, chowns or unlinks.
    inode: Inode | None = None
    # While suspended, a bound but not listening socket keeps the port gaia's: connections
    # are refused, and no ephemeral bind (gaia's own probe listeners included) takes it.
    _placeholder: socket.socket | None = None

    @property
    def fd(self) -> int:
        return self.sock.fileno()

    def suspend(self) -> None:
        """Stop accepting at the kernel: new connections are refused instead of queuing
        for a server that is not coming back. `resume` binds the address again."""
        if not self.suspended:
            self.close()
            self.suspended = True
            if self.bind.kind is BindKind.TCP:
                self._placeholder = _reserve(self.sock.family, self.bind)

    def resume(self) -> None:
        """Raises BindError when another process took the address meanwhile."""
        if self.suspended:
            self._release()
            fresh = bind_listener(self.bind, self.access)
            self.sock, self.inode = fresh.sock, fresh.inode
            self.suspended = False

    def _release(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None

    def set_access(self, access: SocketAccess) -> None:
        """Apply `access` to a unix socket's inode, which its published path shares; the
        next generation (and a reload that changed the mode) gets it on the same socket.
        Raises SocketPathError when the path no longer names that socket: nothing else
        is touched."""
        self.access = access
        path = self.bind.path
        if self.bind.kind is not BindKind.UNIX or path is None or self.suspended:
            return
        if self.inode is None:
            return
        try:
            owner = _owner(access)
        except KeyError:
            return  # an unknown user or group was reported when the socket was first bound
        # The published name first: a stopping gunicorn master unlinks the private one.
        with socket_path.directory(path.parent) as dirfd:
            try:
                socket_path.set_owner_and_mode(dirfd, path.name, self.inode, *owner, access.mode)
            except FileNotFoundError:
                private = _private_unix_name(path).name
                socket_path.set_owner_and_mode(dirfd, private, self.inode, *owner, access.mode)

    def close(self) -> None:
        self._release()
        if self.suspended:
            return
        self.sock.close()
        path = self.bind.path
        if self.bind.kind is BindKind.UNIX and path is not None and self.inode is not None:
            with contextlib.suppress(OSError), socket_path.directory(path.parent) as dirfd:
                for name in (path.name, _private_unix_name(path).name):
                    socket_path.unlink_if_ours(dirfd, name, self.inode)


def apply_access(listeners: tuple[Listener, ...], access: SocketAccess) -> list[str]:
    """Set `access` on each listener; what could not be applied, one line each. A unix
    socket whose name was replaced (by a symlink to someone's file, say) is left alone:
    gaia touches nothing else, and the socket keeps serving."""
    problems = []
    for listener in listeners:
        try:
            listener.set_access(access)
        except OSError as exc:
            problems.append(f"socket mode/owner of {listener.bind} not applied: {exc}")
    return problems


def _reserve(family: int, bind: Bind) -> socket.socket | None:
    """Bind without listening (and without SO_REUSEADDR, so nobody binds beside it)."""
    holder = socket.socket(family, socket.SOCK_STREAM)
    try:
        holder.bind((bind.host or "0.0.0.0", bind.port))
    except OSError:
        holder.close()
        return None
    return holder


def _describe(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use by another process"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "address not available on this machine"
    return exc.strerror or str(exc)


def _private_unix_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.gaia")


def _remove_stale_unix_socket(dirfd: int, path: Path) -> None:
    """A socket file left by a dead process blocks bind(); a live one must not be stolen."""
    try:
        mode = os.stat(path.name, dir_fd=dirfd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Never blocking: a listener whose backlog someone filled would otherwise hold gaia's
    # loop for as long as they like (EAGAIN: it is alive, only busy).
    probe.setblocking(False)
    try:
        probe.connect(socket_path.connect_name(dirfd, path))
    except (ConnectionRefusedError, FileNotFoundError):
        socket_path.unlink_if_ours(dirfd, path.name, None)
        return
    except BlockingIOError:
        pass
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "in use")


def _owner(access: SocketAccess) -> tuple[int, int]:
    uid = pwd.getpwnam(access.user).pw_uid if access.user is not None else -1
    gid = grp.getgrnam(access.group).gr_gid if access.group is not None else -1
    return uid, gid


def _bind_unix(path: Path, access: SocketAccess) -> tuple[socket.socket, Inode]:
    """Bind to a private name beside `path`, set its owner and mode, then publish it
    under `path` as a second (hard) link: nobody sees the socket with other bits, and
    a stopping gunicorn master, which unlinks the name its socket was bound to (the
    private one), leaves the user's path to every later generation."""
    owner = _owner(access)
    private = _private_unix_name(path)
    with socket_path.directory(path.parent) as dirfd:
        _remove_stale_unix_socket(dirfd, path)
        socket_path.unlink_if_ours(dirfd, private.name, None)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        inode: Inode | None = None
        try:
            sock.bind(str(private))
            inode = socket_path.bound_inode(dirfd, private.name)
            socket_path.set_owner_and_mode(dirfd, private.name, inode, *owner, access.mode)
            socket_path.link(dirfd, private.name, inode, path.name)
        except BaseException:
            sock.close()
            socket_path.unlink_if_ours(dirfd, private.name, inode)
            raise
    return sock, inode


def bind_listener(bind: Bind, access: SocketAccess | None = None) -> Listener:
    access = access or SocketAccess()
    inode: Inode | None = None
    try:
        if bind.kind is BindKind.UNIX:
            assert bind.path is not None
            sock, inode = _bind_unix(bind.path, access)
        else:
            infos = socket.getaddrinfo(
                bind.host, bind.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            family, _, _, _, address = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
            except OSError:
                sock.close()
                raise
        sock.listen(BACKLOG)
    except SocketPathError as exc:
        raise BindError(bind, str(exc)) from exc
    except OSError as exc:
        raise BindError(bind, _describe(exc)) from exc
    except socket.gaierror as exc:
        raise BindError(bind, f"unknown host {bind.host!r}") from exc
    except KeyError as exc:
        raise BindError(bind, f"unknown user or group {exc}") from exc
    return Listener(bind, sock, access=access, inode=inode)


def bind_private_listener(unix_path: Path | None = None) -> Listener:
    """A loopback listener that only one generation serves: probes through it reach that
    generation and no other, which a shared public socket cannot promise."""
    if unix_path is not None:
        bind = Bind(kind=BindKind.UNIX, path=unix_path)
    else:
        bind = Bind(kind=BindKind.TCP, host="127.0.0.1", port=0)
    listener = bind_listener(bind, SocketAccess(mode=0o600))
    if unix_path is None:
        port = listener.sock.getsockname()[1]
        listener.bind = Bind(kind=BindKind.TCP, host="127.0.0.1", port=port)
    return listener


def connect_address(bind: Bind) -> tuple[int, str | tuple[str, int]]:
    """Where a client on this machine reaches `bind` (wildcards mean loopback)."""
    if bind.kind is BindKind.UNIX:
        return socket.AF_UNIX, str(bind.path)
    host = bind.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, bind.port)


def inheritable_fds(listeners: list[Listener]) -> tuple[int, ...]:
    fds = tuple(listener.fd for listener in listeners)
    for fd in fds:
        os.set_inheritable(fd, True)
    return fds
