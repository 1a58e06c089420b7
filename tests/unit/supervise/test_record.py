"""How often an app's tree is sampled: slower while nothing changes, back at once after."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gaia_runner.config.model import AppConfig, MemoryLimits
from gaia_runner.logs.applog import AppLog
from gaia_runner.process.tree import ProcessSample, TreeSample
from gaia_runner.supervise.record import SLOWEST_SAMPLE, AppRecord, _pids
from gaia_runner.supervise.timing import Timings


class Clock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        pass


def record(tmp_path: Path, **app: object) -> AppRecord:
    config = AppConfig(name="job", command=("true",), cwd=tmp_path, **app)  # type: ignore[arg-type]
    log = AppLog("job", tmp_path / "logs", lambda *_: None)
    return AppRecord(config, log, Clock(), lambda _: None, Timings(sample=1.0))


def test_a_steady_tree_is_sampled_less_often_up_to_a_bound(tmp_path: Path) -> None:
    rec = record(tmp_path)
    intervals = [rec._sample_interval(steady) for steady in range(8)]
    assert intervals[:4] == [1.0, 1.0, 2.0, 4.0]
    assert max(intervals) == SLOWEST_SAMPLE * 1.0
    assert rec._sample_interval(0) == 1.0  # a changed tree: back to the interval at once


def test_a_memory_limit_keeps_its_own_interval(tmp_path: Path) -> None:
    rec = record(tmp_path, memory=MemoryLimits(worker=100 * 1024**2, interval=0.25))
    assert rec._sample_interval(10) == 0.25


def test_pids_cover_the_whole_tree() -> None:
    one = ProcessSample(1, 0, 0, 0.0)
    sample = TreeSample(one, (ProcessSample(2, 0, 0, 0.0),), (ProcessSample(3, 0, 0, 0.0),))
    assert _pids(sample) == {1, 2, 3}
    assert _pids(None) == set()


def test_watchers_get_each_new_sample_once(tmp_path: Path) -> None:
    rec = record(tmp_path)
    first = TreeSample(None, (ProcessSample(2, 0, 0, 0.0),))
    second = TreeSample(None, (ProcessSample(3, 0, 0, 0.0),))

    async def scenario() -> None:
        a = asyncio.ensure_future(rec.next_sample())
        b = asyncio.ensure_future(rec.next_sample())
        await asyncio.sleep(0)
        rec._publish(first)
        assert await a is first and await b is first
        assert rec.sample is first
        later = asyncio.ensure_future(rec.next_sample())
        await asyncio.sleep(0)
        assert not later.done()  # the sample already seen is not handed out again
        rec._publish(second)
        assert await later is second

    asyncio.run(asyncio.wait_for(scenario(), 5))
