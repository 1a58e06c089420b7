"""Dev mode's warm start: a save is served by the standby gaia started ahead, which imported
the app's libraries but never its own modules. The real CLI, real servers, real HTTP."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest
from harness import free_port, try_get, wait_until
from load import SteadyLoad

# WARM: a library the app uses was already imported when the app's module ran (the standby
# imported it). FRESH: the app's own helper module was not: it is read from disk now.
APP = """
import os
import sys

WARM = "colorsys" in sys.modules
FRESH = "helper" not in sys.modules

import colorsys  # noqa: E402,F401 - a library the standby imports ahead
import helper  # noqa: E402 - the app's own module, edited by the tests


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = f"{helper.VALUE} warm={WARM} fresh={FRESH} pid={os.getpid()}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""

WARM_MAIN = "gaia_runner.dev.warm_main"


def write_helper(src: Path, value: str) -> None:
    """What editors do: write a temp file, then rename it over the original."""
    tmp = src / ".helper.py.swp"
    tmp.write_text(f"VALUE = {value!r}\n")
    tmp.replace(src / "helper.py")


def start_dev(gaia, tmp_path: Path, server: str, extra: str = ""):  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(APP)
    write_helper(src, "v1")
    port = free_port()
    g = gaia(
        f"""
        [apps.dev]
        app = "app:app"
        server = "{server}"
        bind = "127.0.0.1:{port}"
        cwd = "src"
        {extra}
        """,
        "--dev",
        env={"PYTHONPATH": ""},
    )
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"dev: starting -> running")
    return g, src, port


def _app_processes(gaia_pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(gaia_pid).children():
        try:
            if child.environ().get("GAIA_APP") == "dev":
                found.append(child)
        except psutil.Error:
            continue
    return found


def standby(gaia_pid: int) -> psutil.Process | None:
    """The warm process waiting at its gate: started from warm_main, no children yet."""
    for proc in _app_processes(gaia_pid):
        try:
            if WARM_MAIN in " ".join(proc.cmdline()) and not proc.children():
                return proc
        except psutil.Error:
            continue
    return None


def serving_master(gaia_pid: int, pid: int) -> psutil.Process:
    """The server master whose worker answered with `pid`."""
    worker = psutil.Process(pid)
    master = worker.parent()
    assert master is not None and master in _app_processes(gaia_pid)
    return master


def gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def body(port: int) -> str:
    answer = try_get(port)
    return answer[1] if answer else ""


def new_code(port: int, prefix: str) -> str | None:
    answer = body(port)
    return answer if answer.startswith(prefix) else None


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_every_save_is_served_warm_with_fresh_app_code(gaia, tmp_path: Path, server: str) -> None:
    g, src, port = start_dev(gaia, tmp_path, server)
    assert body(port).startswith("v1 warm=False fresh=True")  # the first start is cold
    with SteadyLoad(port, rate=50, duration=6) as load:
        for n in range(2, 5):
            wait_until(lambda: standby(g.pid), 20, "a standby")
            write_helper(src, f"v{n}")
            # The previous generation answers too until it has been stopped.
            answer = wait_until(lambda n=n: new_code(port, f"v{n} "), 20, f"v{n} served")
            assert isinstance(answer, str)
            assert answer.startswith(f"v{n} warm=True fresh=True"), answer
            master = serving_master(g.pid, int(answer.rsplit("pid=", 1)[1]))
            assert WARM_MAIN in " ".join(master.cmdline())  # released from the standby
    assert load.result.failed == 0, load.result.errors[:5]
    left = standby(g.pid)
    assert left is not None
    assert g.stop() == 0
    assert gone(left)


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_a_broken_save_keeps_the_old_generation_and_the_fix_is_warm(
    gaia, tmp_path: Path, server: str
) -> None:
    g, src, port = start_dev(gaia, tmp_path, server)
    wait_until(lambda: standby(g.pid), 20, "a standby")
    write_helper(src, "v2")
    wait_until(lambda: body(port).startswith("v2 warm=True"), 20, "v2 served warm")
    wait_until(lambda: standby(g.pid), 20, "the next standby")
    mark = g.mark()
    (src / "helper.py").write_text("VALUE = (\n")
    g.wait_for(r"SyntaxError", start=mark, timeout=20)
    g.wait_for(r"still serving the previous version", start=mark, timeout=20)
    assert body(port).startswith("v2 warm=True")
    # A standby is started again beside the generation that kept serving.
    wait_until(lambda: standby(g.pid), 20, "a standby after the failed start")
    write_helper(src, "v3")
    wait_until(lambda: body(port).startswith("v3 warm=True fresh=True"), 20, "v3 served warm")
    assert g.stop() == 0


def test_nothing_is_left_when_gaia_is_killed(gaia, tmp_path: Path) -> None:
    g, src, port = start_dev(gaia, tmp_path, "gunicorn")
    write_helper(src, "v2")
    wait_until(lambda: body(port).startswith("v2 warm=True"), 20, "v2 served warm")
    wait_until(lambda: standby(g.pid), 20, "the next standby")
    tree = psutil.Process(g.pid).children(recursive=True)
    assert len(tree) >= 3  # the released master, its worker, the standby
    g.signal(signal.SIGKILL)
    g.wait(5)
    # Parent-death signals: the released tree and the waiting standby die with gaia.
    wait_until(lambda: all(gone(p) for p in tree), 10, "every process gone")


def test_a_down_app_holds_no_standby_and_refuses(gaia, tmp_path: Path) -> None:
    g, _src, port = start_dev(gaia, tmp_path, "gunicorn", extra='restart = "never"')
    held = wait_until(lambda: standby(g.pid), 20, "a standby")
    assert isinstance(held, psutil.Process)
    master = serving_master(g.pid, int(body(port).rsplit("pid=", 1)[1]))
    master.kill()
    g.wait_for(r"dev: .*-> failed", timeout=20)
    # The standby held the app's listening socket: it is gone, so connections are refused.
    wait_until(lambda: gone(held), 10, "the standby gone")
    wait_until(lambda: try_get(port, timeout=0.5) is None, 10, "connections refused")
    assert g.stop() == 0


def test_a_killed_standby_costs_only_a_cold_start(gaia, tmp_path: Path) -> None:
    # A hostile operator (or the OOM killer) takes the standby: the app keeps serving, the
    # next save is served all the same (cold), and a new standby follows it.
    g, src, port = start_dev(gaia, tmp_path, "gunicorn")
    first = wait_until(lambda: standby(g.pid), 20, "a standby")
    assert isinstance(first, psutil.Process)
    first.kill()
    wait_until(lambda: gone(first), 5, "the standby gone")
    assert body(port).startswith("v1")
    write_helper(src, "v2")
    wait_until(lambda: new_code(port, "v2"), 20, "v2 served after the standby was killed")
    g.wait_for(r"dev: .*running")
    replacement = wait_until(lambda: standby(g.pid), 20, "a new standby")
    assert isinstance(replacement, psutil.Process) and replacement.pid != first.pid
    assert g.stop() == 0
    wait_until(lambda: gone(replacement), 5, "the new standby gone with gaia")
