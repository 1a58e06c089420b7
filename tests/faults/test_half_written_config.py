"""A save that is not atomic (truncate, then write: `echo > gaia.toml`, most scripts) can be
read half-written: that read is refused, and the finished file must still be applied."""

from __future__ import annotations

import json
import signal
import time

from harness import free_port, run_cli, try_get, wait_until

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


def _serving(gaia, quiet: float):  # type: ignore[no-untyped-def]
    """gaia serving one app, its watch quiet for `quiet` seconds after a change (longer
    than the save under test: the watch then sees only the finished file)."""
    port = free_port()
    text = CONFIG.format(port=port, workers=1)
    g = gaia(text, env={"GAIA_DEBOUNCE": f"{quiet:g}", "GAIA_CONFIG_CHECK": "1000"})
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"web: starting -> running", timeout=20)
    return g, text


def test_a_reload_that_read_a_save_half_done_reads_again(gaia) -> None:  # type: ignore[no-untyped-def]
    """SIGHUP reads the file truncated; the save then finishes with the content that runs.
    The watch, quiet for a while after the first change, sees the file only finished: the
    same content it last saw, nothing to report. gaia still must not stay refused."""
    g, text = _serving(gaia, quiet=5)
    mark = g.mark()
    started = time.monotonic()
    with g.config_path.open("w") as f:
        f.flush()
        g.signal(signal.SIGHUP)
        g.wait_for(r"not applied", timeout=4, start=mark)
        f.write(text)
    # Within the watch's quiet time: only the re-read after the refusal can notice.
    assert time.monotonic() - started < 4.5
    g.wait_for(r"gaia.toml is valid again", timeout=4, start=mark)
    done = run_cli("status", "--json", "-c", str(g.config_path), cwd=g.config_path.parent)
    assert json.loads(done.stdout)["config"]["applied"] is True, done.stdout
    assert g.stop() == 0


def test_a_refused_read_of_a_save_that_ends_as_before_is_read_again(gaia) -> None:  # type: ignore[no-untyped-def]
    """A reload reads the save's first bytes (refused, and the re-read right after finds the
    same bytes), then the rest comes: the file ends as the watch last saw it. The watch
    must still read it again, or the refusal stays for good."""
    g, text = _serving(gaia, quiet=3)
    cut = text.index("[") + 1  # "\n[": not TOML
    mark = g.mark()
    started = time.monotonic()
    with g.config_path.open("w") as f:
        f.write(text[:cut])
        f.flush()
        # `gaia reload` answers once the reload, and its re-read, are done.
        refused = run_cli("reload", "-c", str(g.config_path), cwd=g.config_path.parent)
        assert refused.returncode != 0, refused.stdout
        f.write(text[cut:])
    assert time.monotonic() - started < 3
    g.wait_for(r"gaia.toml is valid again", timeout=10, start=mark)
    done = run_cli("status", "--json", "-c", str(g.config_path), cwd=g.config_path.parent)
    assert json.loads(done.stdout)["config"]["applied"] is True, done.stdout
    assert g.stop() == 0
