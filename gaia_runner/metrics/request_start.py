"""The wait in front of the workers, from the proxy's `X-Request-Start` header.

The proxy stamps the moment it took the request (nginx: `t=${msec}`, seconds with a
millisecond fraction; Heroku and New Relic agents: milliseconds or microseconds, with or
without `t=`); the app's arrival minus that stamp is the time the request waited for a
worker. Only a header from a trusted proxy counts, by the rule the server applies to
X-Forwarded-*: the peer is in the app's forwarded_allow_ips (gaia's default for the app,
see process/launch.py's trusted_proxies). A client writing the header itself would
otherwise put any figure it likes in the operator's wait.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable

# gaia's children read the trusted proxies from here (process/launch.py writes it).
TRUST_ENV = "GAIA_PROXY_TRUST"
# The server's own default when gaia sets no forwarded_allow_ips: gunicorn (and its
# UvicornWorker) trusts 127.0.0.1 and ::1, uvicorn 127.0.0.1 only.
GUNICORN_DEFAULT = ("127.0.0.1", "::1")
UVICORN_DEFAULT = ("127.0.0.1",)
# Past this the stamp is not a wait but clock skew or a forged value: dropped.
MAX_WAIT = 3600.0
# A stamp in seconds is about 1.7e9 (2023) and stays below 1e11 for millennia; in
# milliseconds it is about 1.7e12, in microseconds 1.7e15.
_SECONDS_BELOW = 1e11
_MILLIS_BELOW = 1e14


def parse_stamp(value: str) -> float | None:
    """The header's moment in Unix seconds, its unit told by magnitude; None if malformed."""
    text = value.strip()
    if text[:2] in ("t=", "T="):
        text = text[2:].strip()
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    if number < _SECONDS_BELOW:
        return number
    if number < _MILLIS_BELOW:
        return number / 1e3
    return number / 1e6


def queue_seconds(value: str, arrived: float) -> float | None:
    """The wait before the app saw the request, or None: malformed, negative (the proxy's
    clock ahead of the app's) or over an hour (skew or a forged stamp), never recorded."""
    stamp = parse_stamp(value)
    if stamp is None:
        return None
    wait = arrived - stamp
    return wait if 0.0 <= wait <= MAX_WAIT else None


class ProxyTrust:
    """Whether a peer may set X-Request-Start: the same list the server is given for
    X-Forwarded-*, addresses or networks, `*` for every peer. A unix socket peer (no
    address) is trusted as gunicorn trusts it: only a local process, the proxy, connects."""

    def __init__(self, allowed: Iterable[str]) -> None:
        items = [item.strip() for item in allowed if item.strip()]
        self.everyone = "*" in items
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in items:
            if item != "*":
                try:
                    self.networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    continue  # gaia check refuses these; a hand-made env gets no trust from them

    @classmethod
    def from_env(cls, value: str) -> ProxyTrust:
        return cls(value.split(","))

    def trusts(self, peer: str | None) -> bool:
        if self.everyone or not peer:
            return True
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return True  # a unix socket's name (gunicorn's REMOTE_ADDR): a local peer
        return any(address in network for network in self.networks)
