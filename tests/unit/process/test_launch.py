"""What gaia hands each server: generated configs, env, socket paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app_configs import make_app as make

from gaia_runner.config.model import ServerKind, WorkerClass
from gaia_runner.process.launch import build_launch, child_environment, short_socket_path


def test_gunicorn_gets_a_config_file_with_fd_binds_and_its_own_control_socket(
    tmp_path: Path,
) -> None:
    app = make(workers=3, worker_class=WorkerClass.UVICORN)
    spec = build_launch(app, [7, 9], tmp_path, 4, {"PATH": "/usr/bin"})
    conf = tmp_path / "web.g4.gunicorn.py"
    assert spec.argv[-3:] == ("-c", str(conf), "hello:app")
    namespace: dict[str, object] = {}
    exec(conf.read_text(), namespace)
    assert namespace["bind"] == ["fd://7", "fd://9"]
    assert namespace["workers"] == 3
    assert namespace["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert namespace["control_socket"] == str(tmp_path / "web.g4.ctl")
    assert callable(namespace["post_fork"])
    assert spec.pass_fds == (7, 9)


def test_uvicorn_gets_a_launch_file(tmp_path: Path) -> None:
    app = make(server=ServerKind.UVICORN, workers=2, app="pkg.mod:create()")
    spec = build_launch(app, [5], tmp_path, 1, {})
    data = json.loads((tmp_path / "web.g1.uvicorn.json").read_text())
    assert data["fds"] == [5]
    assert data["options"]["app"] == "pkg.mod:create"
    assert data["options"]["factory"] is True
    assert data["options"]["workers"] == 2
    assert spec.argv[1:3] == ("-m", "gaia_runner.process.uvicorn_main")


def test_child_env_has_the_interpreter_bin_first_and_app_env() -> None:
    env = child_environment(make(env={"A": "1"}), {"PATH": "/usr/bin"})
    assert env["A"] == "1"
    assert env["PATH"].split(":")[1] == "/usr/bin"
    assert env["GAIA_APP"] == "web"


def test_long_control_socket_paths_are_shortened() -> None:
    long = Path("/tmp") / ("x" * 120) / "web.g1.ctl"
    short = short_socket_path(long)
    assert len(str(short)) < 100
    assert short == short_socket_path(long)


def test_dev_mode_gunicorn_workers_record_their_libraries(tmp_path: Path) -> None:
    spec = build_launch(make(), [7], tmp_path, 1, {}, debug=True)
    text = (tmp_path / "web.g1.gunicorn.py").read_text()
    assert f"record_imports({str(tmp_path / 'web.imports')!r})" in text
    namespace: dict[str, object] = {}
    exec(text, namespace)
    assert callable(namespace["post_worker_init"])
    assert spec.argv[1:3] == ("-m", "gunicorn")


def test_dev_mode_uvicorn_forks_its_workers_and_records_their_libraries(tmp_path: Path) -> None:
    build_launch(make(server=ServerKind.UVICORN), [5], tmp_path, 1, {}, debug=True)
    data = json.loads((tmp_path / "web.g1.uvicorn.json").read_text())
    assert data["fork_workers"] is True
    assert data["record_imports"] == str(tmp_path / "web.imports")


def test_production_launches_have_no_dev_mode_hooks(tmp_path: Path) -> None:
    build_launch(make(), [7], tmp_path, 1, {})
    build_launch(make(server=ServerKind.UVICORN), [5], tmp_path, 1, {})
    assert "record_imports" not in (tmp_path / "web.g1.gunicorn.py").read_text()
    data = json.loads((tmp_path / "web.g1.uvicorn.json").read_text())
    assert "fork_workers" not in data and "record_imports" not in data


def test_the_gunicorn_master_imports_the_worker_hooks_as_it_reads_its_config(
    tmp_path: Path,
) -> None:
    # A worker forked for a burst inherits them: importing the metrics hooks in each new
    # worker (asyncio and all) delayed its first answer by ~30 ms.
    app = make(workers=1, worker_class=WorkerClass.SYNC)
    build_launch(app, [7], tmp_path, 1, {"GAIA_METRICS_FD": "9"})
    conf = tmp_path / "web.g1.gunicorn.py"
    read = (
        "import runpy, sys; runpy.run_path(sys.argv[1]);"
        "print(sorted(m for m in sys.modules if m.startswith('gaia_runner.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", read, str(conf)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "gaia_runner.metrics.hooks" in done.stdout
    assert "gaia_runner.process.pdeathsig" in done.stdout
