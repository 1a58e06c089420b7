"""The slow-request keys: validated like every key (file:line, did-you-mean, web apps only),
refused where they cannot work, and printed by `gaia config` so that it checks again."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, parse_config_text
from gaia_runner.config.resolved import resolved_toml
from gaia_runner.process.launch import child_environment

WEB = '[apps.web]\napp = "hello:app"\n'


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return parse_config_text(text, tmp_path / "gaia.toml", check_files=False)


def issues(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [str(issue) for issue in info.value.issues]


def test_defaults_are_on_and_log_only(tmp_path: Path) -> None:
    app = load(tmp_path, WEB).config.apps["web"]
    assert (app.slow_request, app.slow_request_action, app.blocked_loop) == (10.0, "log", 0.2)


@pytest.mark.parametrize("off", ['"off"', "false", "0"])
def test_off(tmp_path: Path, off: str) -> None:
    app = load(tmp_path, f"{WEB}slow_request = {off}\nblocked_loop = {off}\n").config.apps["web"]
    assert (app.slow_request, app.blocked_loop) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('slow_request = "50ms"', "gaia.toml:3: apps.web.slow_request: must be at least 100ms"),
        ("slow_request = true", 'expected a duration such as "10s", or "off", got true'),
        ('slow_request_action = "kill"', "must be 'log' or 'cancel', got string 'kill'"),
        ('slow_requets = "5s"', "unknown key 'slow_requets'; did you mean 'slow_request'?"),
        ('blocked_lop = "1s"', "did you mean 'blocked_loop'?"),
    ],
)
def test_bad_values_say_where(tmp_path: Path, line: str, message: str) -> None:
    (problem,) = issues(tmp_path, f"{WEB}{line}\n")
    assert message in problem


def test_a_command_app_takes_none(tmp_path: Path) -> None:
    text = '[apps.w]\ncommand = "python -m w"\nslow_request = "5s"\nblocked_loop = "1s"\n'
    found = issues(tmp_path, text)
    assert len(found) == 2 and all("only for `app` apps" in p for p in found)


def test_cancel_and_loop_need_an_asyncio_worker(tmp_path: Path) -> None:
    text = f'{WEB}worker_class = "gthread"\nslow_request_action = "cancel"\nblocked_loop = "1s"\n'
    found = issues(tmp_path, text)
    assert any(
        ":4: apps.web.slow_request_action: a gthread worker cannot cancel" in p for p in found
    )
    assert any(":5: apps.web.blocked_loop: a gthread worker has no event loop" in p for p in found)


def test_they_need_the_middleware(tmp_path: Path) -> None:
    found = issues(tmp_path, f'{WEB}metrics = false\nslow_request = "5s"\n')
    assert found and "metrics = false turns off" in found[0]


def test_a_sync_worker_killed_first_is_a_warning(tmp_path: Path) -> None:
    text = f'{WEB}worker_class = "sync"\ntimeout = "20s"\nslow_request = "30s"\n'
    (warning,) = load(tmp_path, text).warnings
    assert "no stack would be logged" in str(warning)


@pytest.mark.parametrize(
    "extra",
    ["", 'worker_class = "sync"\n', "metrics = false\n", 'slow_request_action = "cancel"\n'],
)
def test_gaia_config_output_checks_again(tmp_path: Path, extra: str) -> None:
    printed = resolved_toml(load(tmp_path, WEB + extra).config)
    again = load(tmp_path, printed).config.apps["web"]
    assert again == load(tmp_path, WEB + extra).config.apps["web"]


def test_workers_are_told_through_their_environment(tmp_path: Path) -> None:
    sync = load(tmp_path, f'{WEB}worker_class = "sync"\nslow_request = "2s"\n').config.apps["web"]
    env = child_environment(sync, {"GAIA_METRICS_FD": "7"})
    assert (env["GAIA_SLOW_REQUEST"], env["GAIA_BLOCKED_LOOP"]) == ("2.0", "0.0")
    off = load(tmp_path, f"{WEB}metrics = false\n").config.apps["web"]
    assert "GAIA_SLOW_REQUEST" not in child_environment(off, {"GAIA_METRICS_FD": "7"})
