"""Tiny HTTP helpers on loopback: one request per connection, no retries."""

from __future__ import annotations

import http.client
import time


def get(port: int, path: str = "/", timeout: float = 2.0) -> tuple[int, str] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def ok_body(port: int, path: str = "/", timeout: float = 2.0) -> str | None:
    result = get(port, path, timeout)
    return result[1] if result is not None and result[0] == 200 else None


def wait_http(port: int, timeout: float, path: str = "/", step: float = 0.01) -> float:
    """Seconds until the first 200; raises TimeoutError."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if ok_body(port, path, timeout=1.0) is not None:
            return time.monotonic() - start
        time.sleep(step)
    raise TimeoutError(f"no HTTP 200 on 127.0.0.1:{port}{path} within {timeout:g}s")


def wait_body(port: int, path: str, want: str, timeout: float, step: float = 0.02) -> float:
    """Seconds until a 200 whose body contains `want`; raises TimeoutError."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        body = ok_body(port, path, timeout=1.0)
        if body is not None and want in body:
            return time.monotonic() - start
        time.sleep(step)
    raise TimeoutError(f"{path} never answered {want!r} within {timeout:g}s")
