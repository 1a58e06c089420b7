"""`applied` says true only for what a load read: a save between the load and the reading
of the files for `applied` left status claiming a config that was not running."""

from __future__ import annotations

from pathlib import Path

from gaia_runner.config import load_config
from gaia_runner.config_on_disk import ConfigOnDisk

TEXT = '[gaia]\nstate_dir = "{state}"\n\n[apps.web]\ncommand = ["sleep", "60"]\nworkers = {n}\n'


def test_a_save_between_the_load_and_the_reading_is_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "gaia.toml"
    path.write_text(TEXT.format(state=tmp_path / "s", n=1))
    first = load_config(path, check_files=False)
    on_disk = ConfigOnDisk(first.config)
    loaded = load_config(path, check_files=False)
    path.write_text(TEXT.format(state=tmp_path / "s", n=2))  # saved after the load read
    on_disk.now_running(loaded.config, loaded.read_digest)
    assert on_disk.pending  # what runs is not what the file says
    loaded = load_config(path, check_files=False)
    on_disk.now_running(loaded.config, loaded.read_digest)
    assert not on_disk.pending
