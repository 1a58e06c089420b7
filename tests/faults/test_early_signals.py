"""A signal during gaia's own start-up is never lost: whatever instant Ctrl-C or SIGTERM
arrives (importing, loading the config, binding, spawning the first server), gaia ends,
and nothing it started survives. Issue 13 made start-up faster, which moved a window
where asyncio's own SIGINT handling, not gaia's, received the signal and it was lost."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from harness import free_port, try_get, wait_until

# The instants span gaia's whole start on a slow machine, finely enough to land in a
# window of ~10 ms more than once.
OFFSETS = [i * 0.015 for i in range(24)]


@pytest.mark.timeout(240)
def test_a_signal_at_any_instant_of_start_up_ends_gaia(gaia) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    config = f"""
        [gaia]
        stop_timeout = "3s"

        [apps.api]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
    """
    for n, offset in enumerate(OFFSETS):
        sig = signal.SIGINT if n % 2 == 0 else signal.SIGTERM
        g = gaia(config)
        time.sleep(offset)  # the instant under test, not a wait for a condition
        g.signal(sig)
        try:
            code = g.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"gaia did not end within 10 s of {sig.name} at +{offset:.3f}s:\n"
                + g.output()[-3000:]
            ) from None
        # 0: a graceful stop; 130 or killed by the signal itself: it arrived before gaia's
        # handlers were installed, when nothing was started or the parent-death signal
        # takes what was.
        ended = [0, 130, -signal.SIGINT, -signal.SIGTERM]
        if _in_python_start_up(g.output()):
            ended.append(1)
        assert code in ended, (offset, sig.name, code, g.output()[-2000:])
        # Its server dies with it (parent-death signal), so the next start can bind.
        wait_until(lambda: try_get(port, timeout=0.3) is None, 5, "the app gone with gaia")


def _in_python_start_up(output: str) -> bool:
    """SIGINT while CPython itself initialises (importing site, runpy, the std streams: more
    likely on a loaded machine, where that takes longer) ends it with status 1 and a "Fatal
    Python error" or "Could not import runpy module", before any line of gaia ran: ended, with
    nothing started, which is all this test asks."""
    python_failed = "Fatal Python error: init_" in output or "Could not import runpy" in output
    return python_failed and "KeyboardInterrupt" in output and "/gaia_runner/" not in output
