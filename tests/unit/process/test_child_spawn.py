"""What the kernel refuses at spawn surfaces as one typed error, an OSError, so the
supervisor treats it as a failed start, never as an internal error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gaia_runner.process.child import ChildProcess, SpawnError


@pytest.mark.parametrize(
    ("argv", "env", "cwd"),
    [
        (["echo", "a\0b"], {}, "."),
        (["echo"], {"A": "secret\0value"}, "."),
        (["echo"], {"A=B": "x"}, "."),
        (["echo"], {}, "missing"),
    ],
)
def test_what_exec_refuses_is_a_spawn_error(
    tmp_path: Path, argv: list[str], env: dict[str, str], cwd: str
) -> None:
    async def spawn() -> None:
        await ChildProcess.spawn(argv, env=env, cwd=tmp_path / cwd, sink=lambda _: None)

    with pytest.raises(SpawnError) as info:
        asyncio.run(spawn())
    assert isinstance(info.value, OSError)
    assert "secret" not in str(info.value)
