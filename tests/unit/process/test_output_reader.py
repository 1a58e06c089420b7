from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from gaia_runner.logs.writer import stderr_output
from gaia_runner.process.child import ChildProcess

# 200,000 lines (about 4 MB): four times what the pipe holds, so a reader that stopped
# would leave the writer blocked and never exiting.
WRITER = (
    "import sys\nfor i in range(200_000): sys.stdout.write(f'line {i:08d}\\n')\nsys.stdout.flush()"
)


async def _run(sink_calls: list[list[str]], fail_first: int) -> int:
    def sink(lines: list[str]) -> None:
        sink_calls.append(lines)
        if len(sink_calls) <= fail_first:
            raise RuntimeError("a bug downstream")

    child = await ChildProcess.spawn(
        [sys.executable, "-c", WRITER], env={}, cwd=Path.cwd(), sink=sink
    )
    code = await asyncio.wait_for(asyncio.shield(child.exited), 20)
    await child.drain(timeout=10)
    return code


@pytest.mark.timeout(30)
def test_every_line_arrives_in_order() -> None:
    calls: list[list[str]] = []
    assert asyncio.run(_run(calls, fail_first=0)) == 0
    lines = [line for batch in calls for line in batch]
    assert lines == [f"line {i:08d}" for i in range(200_000)]
    assert len(calls) < 1000, "lines should arrive in batches, not one by one"


@pytest.mark.timeout(30)
def test_a_failing_sink_never_stops_the_pipe_being_drained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[list[str]] = []
    assert asyncio.run(_run(calls, fail_first=3)) == 0
    lines = [line for batch in calls[3:] for line in batch]
    assert lines[-1] == "line 00199999"
    assert stderr_output().drain(10)  # gaia's stderr is written by a thread
    assert capsys.readouterr().err.count("is being dropped") == 1
