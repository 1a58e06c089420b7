"""Finding a running gaia's state dir from a gaia.toml that may not validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.cli.which_gaia import find_state_dir, state_dir_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[gaia]\nstate_dir = "run/gaia"\n[apps.web]\nworkers = 0\n', "run/gaia"),
        ("[gaia]\nstate_dir = 'single'\n[apps.web\n", "single"),  # not TOML any more
        ('[apps.web\nstate_dir = "not the gaia table"\n', ".gaia"),
        ('[gaia]\nstop_timeout = "5s"\n', ".gaia"),
        ("[gaia]\nstate_dir = 5\n", ".gaia"),
        ("\x00\xff garbage", ".gaia"),
    ],
)
def test_state_dir_text(text: str, expected: str) -> None:
    assert state_dir_text(text) == expected


def test_relative_to_the_config_and_missing_file(tmp_path: Path) -> None:
    config = tmp_path / "gaia.toml"
    config.write_text('[gaia]\nstate_dir = "s"\n[apps\n')
    assert find_state_dir(config) == tmp_path / "s"
    assert find_state_dir(tmp_path / "gone.toml") == tmp_path / ".gaia"
