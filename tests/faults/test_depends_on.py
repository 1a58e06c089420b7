"""Issue 19.9 (the order part): `depends_on` starts apps after what they need, as
Compose and process-compose do, and stops them in reverse order."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from harness import free_port, run_cli, try_get, wait_until

pytestmark = pytest.mark.timeout(90)

# A migration that refuses to run while another holds the lock (a directory: mkdir is
# atomic); it holds the lock long enough that two unordered apps always overlap.
# api needs db serving.
DB_AND_API = """
    [apps.db]
    app = "hello:app"
    bind = "127.0.0.1:{db}"

    [apps.api]
    app = "hello:app"
    bind = "127.0.0.1:{api}"
    depends_on = {{ db = "serving" }}
"""
MIGRATE = '["sh", "-c", "mkdir {lock} || {{ echo locked; exit 1; }}; sleep 1; rmdir {lock}"]'


def test_depends_on_orders_two_racing_migrations(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    migrate = MIGRATE.format(lock=tmp_path / "migration.lock")
    ports = (free_port(), free_port())
    # retry_prestart = false: a lost race would leave the loser FAILED for good.
    g = gaia(f"""
        [apps.two]
        app = "hello:app"
        bind = "127.0.0.1:{ports[1]}"
        prestart = [{migrate}]
        retry_prestart = false
        depends_on = ["one"]

        [apps.one]
        app = "hello:app"
        bind = "127.0.0.1:{ports[0]}"
        prestart = [{migrate}]
        retry_prestart = false
    """)
    g.wait_for(r"two: waiting for one \(started", timeout=30)
    for port in ports:
        wait_until(lambda p=port: try_get(p) is not None, 40, f"the app on {port}")
    out = g.output()
    assert not re.search(r":prestart \| locked", out) and "-> failed" not in out, out
    # two's prestart ran only after one's had finished.
    assert out.index("one: prestart -> starting") < out.index("two: stopped -> prestart")
    assert g.stop() == 0


def test_an_app_waits_for_a_one_shot_command_to_complete(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done, port = tmp_path / "migrated", free_port()
    g = gaia(f"""
        [apps.web]
        app = "hello:app"
        bind = "127.0.0.1:{port}"
        prestart = [["test", "-f", "{done}"]]
        retry_prestart = false
        depends_on = {{ migrate = "completed" }}

        [apps.migrate]
        command = ["sh", "-c", "sleep 1; echo ok > {done}"]
        restart = "never"
    """)
    g.wait_for(r"web: waiting for migrate \(completed\)", timeout=30)
    wait_until(lambda: try_get(port) is not None, 40, "web serving after the migration")
    # A one-shot that exited 0 completed: stopped, not failed.
    g.wait_for(r"migrate: stopping -> stopped: exit code 0 \(restart = never\)", timeout=5)
    assert "-> failed" not in g.output()
    assert g.stop() == 0


def test_a_failed_one_shot_leaves_its_dependent_waiting_and_says_why(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    g = gaia(f"""
        [apps.web]
        app = "hello:app"
        bind = "127.0.0.1:{free_port()}"
        depends_on = {{ migrate = "completed" }}

        [apps.migrate]
        command = ["sh", "-c", "sleep 1; exit 3"]
        restart = "never"
    """)
    g.wait_for(r"web: waiting for migrate \(completed; it is failed: exit code 3", timeout=30)
    status = run_cli("status", "-c", str(g.config_path), cwd=tmp_path)
    assert "web: waiting for migrate (completed; it is failed: exit code 3" in status.stdout
    assert "web: stopped -> " not in g.output()  # never started
    restart = run_cli("restart", "web", "-c", str(g.config_path), cwd=tmp_path)
    assert restart.returncode != 0 and "web is not started yet: waiting for" in restart.stderr
    # A live edit that drops the dependency lets it start at once.
    g.write_config(g.config_text.replace('depends_on = { migrate = "completed" }', ""))
    g.wait_for(r"web: stopped -> starting", timeout=30)
    assert g.stop() == 0


def test_dependents_stop_before_what_they_depend_on(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ports = (free_port(), free_port())
    g = gaia(DB_AND_API.format(db=ports[0], api=ports[1]))
    g.wait_for(r"api: waiting for db \(serving\)", timeout=30)
    g.wait_for(r"api: starting -> running", timeout=40)
    out = g.output()
    assert out.index("db: starting -> running") < out.index("api: stopped -> starting")
    mark = g.mark()
    assert g.stop() == 0
    after = g.output().splitlines()[mark:]

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(after) if re.search(pattern, line))

    assert first(r"api: stopping -> stopped") < first(r"db: running -> stopping")


def test_check_refuses_a_cycle_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "gaia.toml"
    config.write_text(
        textwrap.dedent("""
        [apps.a]
        command = ["sleep", "60"]
        depends_on = ["b"]

        [apps.b]
        command = ["sleep", "60"]
        depends_on = { a = "started" }
        """)
    )
    result = run_cli("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2, result
    assert f"{config}:4: apps.a.depends_on: depends_on cycle: a -> b -> a" in result.stderr


def test_start_of_an_app_whose_dependency_is_stopped_waits_for_it(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ports = (free_port(), free_port())
    g = gaia(DB_AND_API.format(db=ports[0], api=ports[1]))
    g.wait_for(r"api: starting -> running", timeout=40)
    config = str(g.config_path)
    mark = g.mark()
    # Named db first: still, api (the dependent) stops before db.
    assert run_cli("stop", "db", "api", "-c", config, cwd=tmp_path).returncode == 0
    stopped = g.output().splitlines()[mark:]
    api_gone = next(i for i, line in enumerate(stopped) if "api: stopping -> stopped" in line)
    assert api_gone < next(i for i, line in enumerate(stopped) if "db: running -> stopping" in line)
    assert run_cli("start", "api", "-c", config, cwd=tmp_path).returncode == 0
    g.wait_for(r"api: waiting for db \(serving; it is stopped: `gaia start` it\)", timeout=20)
    assert try_get(ports[1]) is None
    assert run_cli("start", "db", "-c", config, cwd=tmp_path).returncode == 0
    wait_until(lambda: try_get(ports[1]) is not None, 40, "api serving once db does")
    assert g.stop() == 0


@pytest.mark.parametrize(
    ("migration", "code", "table"),
    [
        # Completed: stopped, not failed, and web serves (rows in file order).
        ("sleep 1", 0, r"web\s+running[\s\S]*migrate\s+completed"),
        # Not a timeout: web waits for good, and the table says why.
        ("exit 3", 4, r"web: waiting for migrate \(completed; it is failed"),
    ],
)
def test_up_detached_settles_with_a_one_shot_dependency(
    tmp_path: Path, migration: str, code: int, table: str
) -> None:
    config = tmp_path / "gaia.toml"
    config.write_text(
        textwrap.dedent(f"""
        [apps.web]
        app = "hello:app"
        bind = "127.0.0.1:{free_port()}"
        depends_on = {{ migrate = "completed" }}

        [apps.migrate]
        command = ["sh", "-c", "{migration}"]
        restart = "never"
        """)
    )
    try:
        up = run_cli("up", "-d", "-c", str(config), "--wait", "40", cwd=tmp_path, timeout=60)
        assert up.returncode == code, up.stdout + up.stderr
        assert re.search(table, up.stdout), up.stdout
    finally:
        down = run_cli("down", "-c", str(config), cwd=tmp_path, timeout=60)
    assert down.returncode == 0, down.stderr
