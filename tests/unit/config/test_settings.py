"""The settings table is the one declaration of each key: what is generated from it
stays in step with it, and it agrees with the typed models' defaults."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from gaia_runner.cli.scaffold import starter_text
from gaia_runner.config import parse_config_text
from gaia_runner.config.model import AppConfig, RunnerSettings
from gaia_runner.config.reference import reference_markdown
from gaia_runner.config.settings import (
    APP_KEYS,
    APP_SETTINGS,
    GAIA_KEYS,
    INIT_COMMENTS,
    Apps,
    Setting,
)

REPO = Path(__file__).resolve().parents[3]


def test_the_configuration_reference_is_generated_from_the_table() -> None:
    written = (REPO / "docs" / "configuration.md").read_text()
    assert written == reference_markdown(), (
        "docs/configuration.md is stale: python -m gaia_runner.config.reference "
        "> docs/configuration.md"
    )
    assert "docs/configuration.md" in (REPO / "README.md").read_text()


def test_every_model_field_is_a_declared_key_and_back() -> None:
    # `workers_auto` and `workers_range` come from `workers`, not keys of their own.
    derived = {"name", "workers_auto", "workers_range"}
    app_fields = {f.name for f in dataclasses.fields(AppConfig)} - derived
    gaia_fields = {f.name for f in dataclasses.fields(RunnerSettings)}
    assert app_fields == set(APP_KEYS)
    assert gaia_fields == set(GAIA_KEYS)


@pytest.mark.parametrize("setting", APP_SETTINGS, ids=lambda s: s.key)
def test_a_default_written_out_builds_what_leaving_it_out_builds(
    setting: Setting, tmp_path: Path
) -> None:
    key, default = setting.key, setting.default
    try:
        literal = tomllib.loads(f"x = {default}")["x"]
    except tomllib.TOMLDecodeError:
        pytest.skip("the default is described in words")
    kind = 'command = "true"' if setting.apps is Apps.COMMAND else 'app = "m:app"'
    if key == "uvicorn":
        kind += '\nserver = "uvicorn"'
    plain = f"[apps.a]\n{kind}\n"
    written = plain + f"{key} = {default}\n" if key not in ("app", "command") else plain
    assert literal is not None

    def build(text: str) -> AppConfig:
        return parse_config_text(text, tmp_path / "gaia.toml").config.apps["a"]

    assert getattr(build(written), key) == getattr(build(plain), key)


def test_gaia_init_comments_only_keys_the_table_declares() -> None:
    assert set(INIT_COMMENTS) <= set(APP_KEYS) | set(GAIA_KEYS)
    text = starter_text()
    for key, comment in INIT_COMMENTS.items():
        if f"{key} =" in text:
            assert f"# {comment}" in text
