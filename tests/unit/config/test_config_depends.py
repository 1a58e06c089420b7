"""depends_on in gaia.toml: both spellings, and every refusal says where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, parse_config_text
from gaia_runner.desired import select_apps

APPS = """
[apps.migrate]
command = ["true"]
restart = "never"

[apps.web]
app = "app:app"
bind = "127.0.0.1:8001"
{web}

[apps.worker]
command = ["sleep", "60"]
{worker}
"""


def parse(web: str = "", worker: str = ""):  # type: ignore[no-untyped-def]
    text = APPS.format(web=web, worker=worker)
    return parse_config_text(text, Path("/srv/gaia.toml"), check_files=False).config


def problems(web: str = "", worker: str = "") -> str:
    with pytest.raises(ConfigError) as info:
        parse(web, worker)
    return str(info.value)


def test_an_array_means_started_and_a_table_names_conditions() -> None:
    config = parse(
        'depends_on = ["migrate"]', 'depends_on = { migrate = "completed", web = "serving" }'
    )
    assert config.apps["web"].depends_on == {"migrate": "started"}
    assert config.apps["worker"].depends_on == {"migrate": "completed", "web": "serving"}
    assert config.apps["migrate"].depends_on == {}


def test_an_unknown_app_is_named_with_a_close_match_and_its_line() -> None:
    text = problems('depends_on = ["migrat"]')
    assert (
        "/srv/gaia.toml:9: apps.web.depends_on: no app named 'migrat'; did you mean 'migrate'?"
        in text
    )


def test_an_app_cannot_depend_on_itself() -> None:
    assert "apps.web.depends_on: web depends on itself" in problems('depends_on = ["web"]')


def test_a_cycle_is_refused_naming_it() -> None:
    text = problems('depends_on = ["worker"]', 'depends_on = { web = "serving" }')
    assert "depends_on cycle: web -> worker -> web" in text
    assert text.count("cycle") == 1  # once, not once per app of it


def test_a_wrong_condition_is_refused() -> None:
    text = problems('depends_on = { migrate = "healthy" }')
    assert "apps.web.depends_on" in text and "expected one of started, serving, completed" in text


@pytest.mark.parametrize(
    ("worker", "why"),
    [
        ('depends_on = { web = "completed" }', "web is a web app"),
        ("", 'worker has restart = "always"'),
    ],
)
def test_completed_needs_an_app_that_can_complete(worker: str, why: str) -> None:
    web = 'depends_on = { worker = "completed" }' if not worker else ""
    assert why in problems(web, worker)


def test_up_with_names_brings_what_they_depend_on() -> None:
    config = parse('depends_on = ["migrate"]', 'depends_on = ["web"]')
    assert list(select_apps(config, ["worker"])) == ["migrate", "web", "worker"]
    assert list(select_apps(config, ["migrate"])) == ["migrate"]
