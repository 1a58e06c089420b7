"""A save that is not atomic (truncate, then write: `echo > gaia.toml`, most scripts) can be
read half-written: that read is refused, and the finished file must still be applied."""

from __future__ import annotations

import time

from harness import free_port, try_get, wait_until

CONFIG = """
[apps.web]
app = "hello:app"
bind = "127.0.0.1:{port}"
workers = {workers}
"""


def test_a_config_read_half_written_is_applied_once_finished(gaia) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    g = gaia(CONFIG.format(port=port, workers=1))
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"web: starting -> running", timeout=20)
    mark = g.mark()
    with g.config_path.open("w") as f:  # truncated: gaia sees an empty file first
        f.flush()
        g.wait_for(r"not applied", timeout=15, start=mark)
        time.sleep(0.3)  # the writer is slow: the half-written state is what is under test
        f.write(CONFIG.format(port=port, workers=2))
    g.wait_for(r"reload plan: web: scale 1->2", timeout=15, start=mark)
    assert g.stop() == 0
