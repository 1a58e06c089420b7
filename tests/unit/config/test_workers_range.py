"""`workers = { min, max }`: adaptive workers, and the files gaia refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, ConfigIssue, load_config
from gaia_runner.config import load as load_module
from gaia_runner.config.model import WorkersRange

WEB = '[apps.web]\napp = "m:a"\n'


@pytest.fixture(autouse=True)
def _three_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "available_cpus", lambda: 3)


def errors(folder: Path, text: str) -> list[ConfigIssue]:
    (folder / "gaia.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(folder / "gaia.toml")
    return list(info.value.issues)


def test_a_range_starts_at_min_with_documented_defaults(tmp_path: Path) -> None:
    (tmp_path / "gaia.toml").write_text(WEB + 'workers = { min = 2, max = "auto" }\n')
    web = load_config(tmp_path / "gaia.toml").config.apps["web"]
    assert web.workers == 2
    assert web.workers_range == WorkersRange(min=2, max=3, max_auto=True)
    assert (web.workers_range.up_after, web.workers_range.down_after) == (0.3, 5.0)


def test_tuning_keys_are_read(tmp_path: Path) -> None:
    text = WEB + 'workers = { min = 1, max = 4, up_after = "2s", down_after = "1m", step = 1 }\n'
    (tmp_path / "gaia.toml").write_text(text)
    web = load_config(tmp_path / "gaia.toml").config.apps["web"]
    assert web.workers_range == WorkersRange(min=1, max=4, up_after=2, down_after=60, step=1)


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ("{ min = 4, max = 2 }", "apps.web.workers.max", "max = 2 is below min = 4"),
        ("{ min = 1, max = 4, stpe = 1 }", "apps.web.workers.stpe", "did you mean 'step'?"),
        ("{ max = 4 }", "apps.web.workers.min", "required key is missing"),
        ("{ min = 0, max = 4 }", "apps.web.workers.min", "must be >= 1"),
        ('{ min = 1, max = "lots" }', "apps.web.workers.max", "or \"auto\", got 'lots'"),
        ("[1, 4]", "apps.web.workers", '"auto" or { min = N, max = M }, got an array'),
    ],
)
def test_a_bad_range_is_refused_where_it_is(
    tmp_path: Path, value: str, key: str, message: str
) -> None:
    issues = [i for i in errors(tmp_path, f"{WEB}workers = {value}\n") if i.key == key]
    assert len(issues) == 1 and issues[0].line == 3
    assert message in issues[0].message


def test_a_range_is_refused_for_a_command(tmp_path: Path) -> None:
    text = '[apps.job]\ncommand = "sleep 9"\nworkers = { min = 1, max = 3 }\n'
    (issue,) = errors(tmp_path, text)
    assert (issue.key, issue.line) == ("apps.job.workers", 3)
    assert "adaptive workers ({ min, max }) are for `app` apps" in issue.message
