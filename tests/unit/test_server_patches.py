"""The patches of uvicorn's internals: one per internal, and a missing one is named once."""

from __future__ import annotations

import asyncio
import io
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from gaia_runner import server_patches


@pytest.fixture
def fresh_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("_before_shutdown", "_after_shutdown", "_after_startup"):
        monkeypatch.setattr(server_patches, name, {})
    monkeypatch.setattr(server_patches, "_warned", set())
    yield


def _server_module(monkeypatch: pytest.MonkeyPatch, calls: list[str], shutdown: bool) -> str:
    """A stand-in for uvicorn.server, under its own name, with or without Server.shutdown."""

    class Server:
        async def startup(self, sockets: Any = None) -> None:
            calls.append("startup")

    if shutdown:

        async def stock_shutdown(self: Any, sockets: Any = None) -> None:
            calls.append("shutdown")

        Server.shutdown = stock_shutdown  # type: ignore[attr-defined]
    module = types.ModuleType("fake_uvicorn_server")
    module.Server = Server  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


@pytest.mark.usefixtures("fresh_steps")
def test_steps_of_one_internal_share_one_patch_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    name = _server_module(monkeypatch, calls, shutdown=True)

    async def drain(server: Any) -> None:
        calls.append("drain")

    server_patches.on_uvicorn_shutdown("drain", "drain", before=drain, module=name)
    server_patches.on_uvicorn_shutdown(
        "flush", "flush", after=lambda: calls.append("flush"), module=name
    )
    server_patches.on_uvicorn_shutdown("drain", "drain", before=drain, module=name)  # again
    server = sys.modules[name].Server()
    asyncio.run(server.shutdown())
    assert calls == ["drain", "shutdown", "flush"]


@pytest.mark.usefixtures("fresh_steps")
def test_a_missing_internal_is_one_line_and_no_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    name = _server_module(monkeypatch, calls, shutdown=False)
    err = io.StringIO()
    for _ in range(3):
        server_patches.on_uvicorn_shutdown(
            "drain", "the drain of accepted connections", after=lambda: None, module=name, err=err
        )
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert f"{name}.Server.shutdown" in lines[0]
    assert "the drain of accepted connections is off" in lines[0]
    assert not hasattr(sys.modules[name].Server, "shutdown")
    # the internal that is there is still patched
    server_patches.after_uvicorn_startup("lag", "lag", lambda: calls.append("lag"), module=name)
    asyncio.run(sys.modules[name].Server().startup())
    assert calls == ["startup", "lag"]
