"""Edit gaia.toml (or the code, in dev mode) while traffic flows: nothing may fail."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from harness import FIXTURES, free_port, http_get, try_get, wait_until
from load import SteadyLoad
from test_up import app_master, workers_of

BASE = """
    [gaia]
    stop_timeout = "10s"

    [apps.api]
    app = "hello:app"
    server = "{server}"
    workers = {workers}
    bind = "127.0.0.1:{port}"
    env = {{ APP_VERSION = "{version}" }}
    {extra}
"""


def config(port: int, server: str = "gunicorn", workers: int = 2, version: str = "v1", extra: str = "") -> str:
    return BASE.format(port=port, server=server, workers=workers, version=version, extra=extra)


def save_atomically(path: Path, text: str) -> None:
    """What editors do: write a temp file, then rename it over the original."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def start(gaia, port: int, **kw: object):  # type: ignore[no-untyped-def]
    g = gaia(config(port, **kw))  # type: ignore[arg-type]
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"api: starting -> running")
    return g


def test_scale_in_place_under_load(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    master = app_master(g.pid, "api")
    wait_until(lambda: len(workers_of(master.pid)) == 2, 10, "2 workers")
    with SteadyLoad(port, rate=200, duration=6) as load:
        time.sleep(1)
        save_atomically(g.config_path, config(port, workers=3))
        g.wait_for(r"reload plan: api: scale 2->3")
        wait_until(lambda: len(workers_of(master.pid)) == 3, 10, "3 workers")
    assert load.result.failed == 0, load.result.errors[:5]
    assert app_master(g.pid, "api").pid == master.pid
    assert g.stop() == 0


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"version": "v2"}, "hello v2"),
        ({"server": "uvicorn"}, "hello v1"),
    ],
    ids=["env", "gunicorn-to-uvicorn"],
)
def test_replace_without_dropping_a_request(gaia, change: dict[str, str], expect: str) -> None:
    port = free_port()
    g = start(gaia, port)
    old_master = app_master(g.pid, "api").pid
    with SteadyLoad(port, rate=200, duration=7) as load:
        time.sleep(1)
        save_atomically(g.config_path, config(port, **change))  # type: ignore[arg-type]
        g.wait_for(r"reload plan: api: replace")
        g.wait_for(r"api: generation 2 serving", timeout=20)
    assert load.result.failed == 0, load.result.errors[:5]
    assert http_get(port)[1].startswith(expect)
    wait_until(lambda: app_master(g.pid, "api").pid != old_master, 10, "old master gone")
    assert g.stop() == 0


def test_invalid_edit_changes_nothing_until_fixed(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    master = app_master(g.pid, "api").pid
    wait_until(lambda: len(workers_of(master)) == 2, 10, "2 workers")
    workers = sorted(w.pid for w in workers_of(master))
    with SteadyLoad(port, rate=200, duration=6) as load:
        time.sleep(0.5)
        save_atomically(g.config_path, config(port).replace("workers = 2", "workers = 0"))
        g.wait_for(r"gaia.toml not applied")
        g.wait_for(r"gaia.toml:\d+: apps\.api\.workers")
        assert app_master(g.pid, "api").pid == master
        assert sorted(w.pid for w in workers_of(master)) == workers
        save_atomically(g.config_path, config(port, version="v3"))
        g.wait_for(r"valid again")
        g.wait_for(r"api: generation 2 serving", timeout=20)
    assert load.result.failed == 0, load.result.errors[:5]
    assert http_get(port)[1].startswith("hello v3")
    assert g.stop() == 0


def test_saves_are_debounced_and_touches_ignored(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    path = g.config_path
    mark = g.mark()
    save_atomically(path, config(port, version="a"))
    g.wait_for(r"reload plan", start=mark)
    g.wait_for(r"api: generation 2 serving", start=mark, timeout=20)
    mark = g.mark()
    for i in range(5):
        path.write_text(config(port, version=f"burst{i}"))
        time.sleep(0.15)
    g.wait_for(r"api: generation 3 serving", start=mark, timeout=20)
    mark2 = g.mark()
    path.touch()
    save_atomically(path, path.read_text())
    # A reload would print its plan within the debounce time; give it three times that.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        time.sleep(0.05)
    lines = g.lines[mark:]
    assert sum("reload plan" in line for line in lines) == 1, "\n".join(lines)
    assert not any("reload plan" in line for line in g.lines[mark2:])
    assert http_get(port)[1].startswith("hello burst4")
    assert g.stop() == 0


def test_failed_replacement_keeps_the_old_generation(gaia) -> None:
    port = free_port()
    g = start(gaia, port)
    master = app_master(g.pid, "api").pid
    bad_prestart = 'prestart = [["python", "-c", "raise SystemExit(5)"]]'
    save_atomically(g.config_path, config(port, version="v2", extra=bad_prestart))
    g.wait_for(r"still serving the previous version", timeout=20)
    assert http_get(port)[1].startswith("hello v1")
    mark = g.mark()
    save_atomically(g.config_path, config(port, version="v3").replace("hello:app", "broken:app"))
    g.wait_for(r"still serving the previous version", start=mark, timeout=30)
    assert http_get(port)[1].startswith("hello v1")
    assert app_master(g.pid, "api").pid == master
    assert g.stop() == 0


def test_added_and_removed_apps(gaia) -> None:
    port, other = free_port(), free_port()
    g = start(gaia, port)
    added = config(port) + f"""
    [apps.extra]
    app = "hello:app"
    bind = "127.0.0.1:{other}"
    """
    save_atomically(g.config_path, added)
    wait_until(lambda: try_get(other), 20, "the added app")
    save_atomically(g.config_path, config(port))
    g.wait_for(r"extra: .*-> stopped", timeout=20)
    wait_until(lambda: try_get(other, timeout=0.3) is None, 5, "the removed app's port closed")
    assert try_get(port) is not None
    assert g.stop() == 0


def test_dev_mode_follows_code_edits(gaia, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "hello.py", src / "hello.py")
    port = free_port()
    g = gaia(
        f"""
        [apps.dev]
        app = "hello:app"
        server = "uvicorn"
        workers = 4
        bind = "127.0.0.1:{port}"
        cwd = "src"
        """,
        "--dev",
        env={"PYTHONPATH": ""},
    )
    wait_until(lambda: try_get(port), 20, "first answer")
    g.wait_for(r"dev: starting -> running")
    master = app_master(g.pid, "dev")
    assert len(workers_of(master.pid)) == 1  # dev mode runs one worker
    code = (src / "hello.py").read_text()
    with SteadyLoad(port, rate=100, duration=5) as load:
        time.sleep(0.5)
        (src / "hello.py").write_text(code.replace('f"hello {VERSION}', 'f"edited {VERSION}'))
        wait_until(lambda: (r := try_get(port)) and r[1].startswith("edited"), 10, "new code")
    assert load.result.failed == 0, load.result.errors[:5]
    mark = g.mark()
    (src / "hello.py").write_text(code + "\nthis is not python\n")
    g.wait_for(r"SyntaxError", start=mark, timeout=15)
    g.wait_for(r"still serving the previous version", start=mark, timeout=15)
    assert http_get(port)[1].startswith("edited")
    assert g.stop() == 0
