"""What is watched for a config path that deployments swap, and the periodic content
check that backs inotify up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gaia_runner.watch import watch_named_files
from gaia_runner.watch_targets import hops, watch_targets


def _configmap(mount: Path) -> Path:
    (mount / "..2026_01").mkdir(parents=True)
    (mount / "..2026_01" / "gaia.toml").write_text("a = 1\n")
    (mount / "..data").symlink_to("..2026_01")
    (mount / "gaia.toml").symlink_to("..data/gaia.toml")
    return mount / "gaia.toml"


def test_every_hop_of_a_configmap_path_is_named(tmp_path: Path) -> None:
    mount = tmp_path.resolve() / "config"
    config = _configmap(mount)
    assert hops(config) == [
        config,
        mount / "..data/gaia.toml",
        mount / "..data",
        mount / "..2026_01/gaia.toml",
    ]
    targets = watch_targets([config])
    assert targets.paths == [mount, mount / "..2026_01"]
    assert {mount / "..data", config, mount / "..2026_01/gaia.toml"} <= targets.names
    assert targets.matters(mount / "..data")
    assert not targets.matters(mount / "..2026_01/other.toml")


def test_a_directory_symlink_in_the_middle_is_a_hop(tmp_path: Path) -> None:
    app = tmp_path.resolve() / "app"
    (app / "releases/1").mkdir(parents=True)
    (app / "current").symlink_to("releases/1")
    targets = watch_targets([app / "current/gaia.toml"])
    assert targets.paths == [app, app / "releases/1"]
    assert app / "current" in targets.names


def test_a_missing_directory_is_watched_for_from_its_nearest_ancestor(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    targets = watch_targets([root / "conf/deeper/gaia.toml"])
    assert targets.paths == [root]
    assert targets.names == {root / "conf"}


def test_a_recreated_directory_is_a_new_target(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    before = watch_targets([conf / "gaia.toml"])
    conf.rename(tmp_path / "old")
    conf.mkdir()
    assert watch_targets([conf / "gaia.toml"]) != before  # same path, another inode


def test_a_symlink_loop_ends(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert len(hops(tmp_path / "a")) <= 41


@pytest.mark.timeout(10)
def test_the_periodic_check_sees_what_inotify_did_not(tmp_path: Path) -> None:
    watched, elsewhere = tmp_path / "watched", tmp_path / "elsewhere"
    watched.mkdir()
    elsewhere.mkdir()
    config = watched / "gaia.toml"
    config.write_text("a = 1\n")
    # A write through a hard link in another directory is an event there, not in the
    # config's directory: the same blind spot as NFS or a bind mount's other side.
    (elsewhere / "link.toml").hardlink_to(config)

    async def scenario(check_every: float) -> set[Path] | None:
        stop = asyncio.Event()
        changes = watch_named_files(lambda: [config], 0.01, stop, check_every=check_every)
        pending = asyncio.ensure_future(changes.__anext__())
        await asyncio.sleep(0.1)
        with (elsewhere / "link.toml").open("r+") as file:
            file.write("a = 2")
        try:
            return await asyncio.wait_for(pending, 1.0)
        except TimeoutError:
            return None
        finally:
            stop.set()

    assert asyncio.run(scenario(check_every=1000.0)) is None  # inotify alone misses it
    config.write_text("a = 1\n")
    assert asyncio.run(scenario(check_every=0.1)) == {config}
