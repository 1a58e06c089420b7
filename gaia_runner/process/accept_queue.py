"""How many connections wait in a listening socket's accept queue: the wait in front of
the workers that a latency measured inside the app cannot show (a saturated sync worker
answers in 1 ms while clients queue for a second).

TCP: TCP_INFO on a listener reports the queue's current length in `tcpi_unacked` (and
its limit in `tcpi_sacked`). Unix sockets: sock_diag's UNIX_DIAG_RQLEN, asked of the
kernel over netlink for the socket's inode. Either answers None when the kernel cannot
(no unix_diag module, a socket that is not listening): shown as unknown, never as 0.
Asyncio and gthread workers accept eagerly, so for them the queue stays short and the
event-loop lag tells more; this is the reader for the sync worker's case.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable

# struct tcp_info: 8 one-byte fields, then u32 rto, ato, snd_mss, rcv_mss, unacked, sacked.
_TCP_INFO = struct.Struct("8x6I")
TCP_LISTEN = 10

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLMSG_ERROR = 2
UDIAG_SHOW_RQLEN = 0x10
UNIX_DIAG_RQLEN = 4
_NLMSGHDR = struct.Struct("=IHHII")
# struct unix_diag_req: family, protocol, pad, states, ino, show, cookie[2]
_UNIX_DIAG_REQ = struct.Struct("=BBHIIIII")
_UNIX_DIAG_MSG = struct.Struct("=BBBBIII")  # family, type, state, pad, ino, cookie[2]
_RTATTR = struct.Struct("=HH")
_NO_COOKIE = 0xFFFFFFFF
TIMEOUT = 0.2


def accept_queue(sock: socket.socket) -> int | None:
    """Connections the kernel accepted that no worker has taken yet."""
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
            state = info[0]
            return _TCP_INFO.unpack_from(info)[4] if state == TCP_LISTEN else None
        if sock.family == socket.AF_UNIX:
            return unix_queue(os.fstat(sock.fileno()).st_ino)
    except (OSError, struct.error):
        return None
    return None


def unix_queue(inode: int) -> int | None:
    """UNIX_DIAG_RQLEN of the listening unix socket with this inode (its queue length)."""
    request = _UNIX_DIAG_REQ.pack(
        socket.AF_UNIX, 0, 0, 1 << TCP_LISTEN, inode, UDIAG_SHOW_RQLEN, _NO_COOKIE, _NO_COOKIE
    )
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as netlink:
        netlink.settimeout(TIMEOUT)
        netlink.sendto(header + request, (0, 0))
        reply = netlink.recv(8192)
    return _rqlen(reply, inode)


def _rqlen(reply: bytes, inode: int) -> int | None:
    length, kind, _, _, _ = _NLMSGHDR.unpack_from(reply)
    if kind == NLMSG_ERROR or length > len(reply):
        return None
    at = _NLMSGHDR.size
    if _UNIX_DIAG_MSG.unpack_from(reply, at)[4] != inode:
        return None
    at += _UNIX_DIAG_MSG.size
    while at + _RTATTR.size <= length:
        size, kind = _RTATTR.unpack_from(reply, at)
        if size < _RTATTR.size:
            return None
        if kind == UNIX_DIAG_RQLEN:
            return int(struct.unpack_from("=I", reply, at + _RTATTR.size)[0])
        at += (size + 3) & ~3
    return None


def total_queue(socks: Iterable[socket.socket]) -> int | None:
    """The sum over an app's listeners; None when none of them could be read."""
    counts = [n for n in map(accept_queue, socks) if n is not None]
    return sum(counts) if counts else None
