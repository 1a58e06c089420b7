"""Listening addresses: parsing ``bind`` strings and spotting clashes."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from gaia_runner.config.model import Bind, BindKind

DEFAULT_BIND = "127.0.0.1:8000"
_HINT = 'expected "HOST:PORT", "[IPV6]:PORT" or "unix:PATH"'
_WILDCARDS = frozenset({"0.0.0.0", "::"})


def parse_bind(text: str, base: Path) -> Bind:
    """A Bind from ``text``; a relative unix socket path is taken from ``base``."""
    if text.startswith("unix:"):
        raw = text.removeprefix("unix:")
        if not raw:
            raise ValueError(f'{_HINT}, got "{text}" (no socket path)')
        try:
            path = Path(raw).expanduser()
        except RuntimeError as exc:
            raise ValueError(f"cannot expand the socket path: {exc}") from None
        return Bind(kind=BindKind.UNIX, path=Path(os.path.normpath(base / path)))
    host, port = _split_host_port(text)
    return Bind(kind=BindKind.TCP, host=host, port=port)


def _split_host_port(text: str) -> tuple[str, int]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise ValueError(f'{_HINT}, got "{text}"')
        host, port_text = text[1:close], text[close + 2 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f'"{host}" is not an IPv6 address') from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f'{_HINT}, got "{text}"')
        if ":" in host:
            raise ValueError(f'put IPv6 addresses in brackets, like "[::1]:8000", got "{text}"')
        if any(ch.isspace() for ch in host):
            raise ValueError(f'{_HINT}, got "{text}"')
    if not port_text.isdigit():
        raise ValueError(f'port must be a number, got "{port_text}" in "{text}"')
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    return host, port


def _normal_host(host: str) -> str:
    lowered = host.lower()
    if lowered == "localhost":
        return "127.0.0.1"
    try:
        return ipaddress.ip_address(lowered).compressed
    except ValueError:
        return lowered


def binds_clash(a: Bind, b: Bind) -> bool:
    """True when both cannot be bound at once on this machine.

    A wildcard address takes the port on every interface, and with Linux's
    default dual-stack sockets ``[::]`` also takes it for IPv4.
    """
    if a.kind is BindKind.UNIX or b.kind is BindKind.UNIX:
        return a.kind is b.kind and a.path == b.path
    if a.port != b.port:
        return False
    ha, hb = _normal_host(a.host), _normal_host(b.host)
    return ha == hb or ha in _WILDCARDS or hb in _WILDCARDS
