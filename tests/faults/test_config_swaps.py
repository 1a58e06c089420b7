"""Config files that deployments swap: a symlink whose target is edited, Kubernetes'
ConfigMap `..data` swap, a `current -> releases/N` swap, the config's directory renamed
away or deleted and then recreated, all seen by inotify (the periodic check is off).
Each edit sets workers = 2 through the swap; the running app must follow, and `applied`
must then be true; then so must a later edit of what the path leads to now. Real gaia,
real files."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import run_cli, wait_until


def _config(tmp_path: Path, workers: int) -> str:
    return textwrap.dedent(f"""
        [gaia]
        state_dir = "{tmp_path / "state"}"

        [apps.worker]
        command = ["python", "-c", "import time; time.sleep(120)"]
        workers = {workers}
    """)


def _status(config: Path) -> dict | None:  # type: ignore[type-arg]
    done = run_cli("status", "--json", "-c", str(config), cwd=config.parent.parent)
    return json.loads(done.stdout) if done.returncode == 0 else None


def _follows(config: Path, workers: int) -> bool:
    status = _status(config)
    if status is None or not status["config"]["applied"]:
        return False
    (app,) = status["apps"]
    return bool(app["workers"]["desired"] == workers and app["workers"]["live"] == workers)


def _run(gaia, tmp_path: Path, config: Path, swap: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    g = gaia(_config(tmp_path, 1), start=False, env={"GAIA_CONFIG_CHECK": "1000"})
    g.workdir = config.parent
    g.start()
    g.wait_for(r"worker: starting -> running", timeout=20)
    wait_until(lambda: _follows(config, 1), 20, "one worker")
    swap(_config(tmp_path, 2))
    wait_until(lambda: _follows(config, 2), 20, "the swapped config to be applied")
    # The watch follows what the path leads to now: a later edit there is seen too.
    staged = tmp_path / "staged.toml"
    staged.write_text(_config(tmp_path, 3))
    staged.replace(config.resolve())
    wait_until(lambda: _follows(config, 3), 20, "the next edit to be applied")
    assert g.stop() == 0


def _link(link: Path, target: str) -> None:
    """Replace `link` atomically, as deployment tools do (ln -sfn + mv -T)."""
    tmp = link.with_name(link.name + "_tmp")
    tmp.symlink_to(target)
    tmp.rename(link)


@pytest.mark.timeout(90)
def test_the_target_of_a_symlinked_config_is_edited(gaia, tmp_path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "gaia.toml").write_text(_config(tmp_path, 1))
    top = tmp_path / "top"
    top.mkdir()
    (top / "gaia.toml").symlink_to(real / "gaia.toml")
    _run(gaia, tmp_path, top / "gaia.toml", (real / "gaia.toml").write_text)


@pytest.mark.timeout(90)
def test_a_configmap_data_swap(gaia, tmp_path) -> None:
    mount = tmp_path / "config"
    (mount / "..2026_01").mkdir(parents=True)
    (mount / "..2026_01" / "gaia.toml").write_text(_config(tmp_path, 1))
    (mount / "..data").symlink_to("..2026_01")
    (mount / "gaia.toml").symlink_to("..data/gaia.toml")

    def swap(text: str) -> None:
        (mount / "..2026_02").mkdir()
        (mount / "..2026_02" / "gaia.toml").write_text(text)
        _link(mount / "..data", "..2026_02")
        shutil.rmtree(mount / "..2026_01")

    _run(gaia, tmp_path, mount / "gaia.toml", swap)


@pytest.mark.timeout(90)
def test_a_current_release_swap(gaia, tmp_path) -> None:
    app = tmp_path / "app"
    (app / "releases" / "1").mkdir(parents=True)
    (app / "releases" / "1" / "gaia.toml").write_text(_config(tmp_path, 1))
    (app / "current").symlink_to("releases/1")
    top = tmp_path / "top"
    top.mkdir()
    (top / "gaia.toml").symlink_to(app / "current" / "gaia.toml")

    def swap(text: str) -> None:
        (app / "releases" / "2").mkdir()
        (app / "releases" / "2" / "gaia.toml").write_text(text)
        _link(app / "current", "releases/2")

    _run(gaia, tmp_path, top / "gaia.toml", swap)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("away", ["renamed", "deleted"])
def test_the_config_directory_is_replaced(gaia, tmp_path, away) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()

    def swap(text: str) -> None:
        if away == "renamed":
            conf.rename(tmp_path / "conf.old")
        else:
            shutil.rmtree(conf)
        conf.mkdir()
        (conf / "gaia.toml").write_text(text)

    _run(gaia, tmp_path, conf / "gaia.toml", swap)


@pytest.mark.timeout(60)
def test_applied_is_false_while_the_file_differs_from_what_runs(gaia, tmp_path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    g = gaia(_config(tmp_path, 1), "--no-watch", start=False)
    g.workdir = conf
    g.start()
    g.wait_for(r"worker: starting -> running", timeout=20)
    wait_until(lambda: _follows(conf / "gaia.toml", 1), 20, "one worker")
    (conf / "gaia.toml").write_text(_config(tmp_path, 2))

    def stale() -> bool:
        status = _status(conf / "gaia.toml")
        return status is not None and status["config"]["applied"] is False

    wait_until(stale, 20, "applied: false for an edit not applied")
    done = run_cli("status", "-c", str(conf / "gaia.toml"), cwd=tmp_path)
    assert "changed on disk, not applied yet" in done.stdout
    assert run_cli("reload", "-c", str(conf / "gaia.toml"), cwd=tmp_path).returncode == 0
    wait_until(lambda: _follows(conf / "gaia.toml", 2), 20, "the reloaded config")
    assert g.stop() == 0
