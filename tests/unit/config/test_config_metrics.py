"""The metrics keys: [gaia].metrics (the Prometheus endpoint) and per-app metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, parse_config_text
from gaia_runner.config.model import BindKind
from gaia_runner.config.resolved import resolved_toml
from gaia_runner.config.restart_only import check_live_edit

WEB = '[apps.web]\napp = "hello:app"\n'


def parse(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return parse_config_text(text, tmp_path / "gaia.toml", check_files=False).config


def test_defaults_measure_apps_and_serve_no_endpoint(tmp_path: Path) -> None:
    config = parse(tmp_path, WEB)
    assert config.gaia.metrics is None
    assert config.apps["web"].metrics is True


def test_endpoint_and_opt_out(tmp_path: Path) -> None:
    config = parse(tmp_path, f'[gaia]\nmetrics = "127.0.0.1:9464"\n{WEB}metrics = false\n')
    assert config.gaia.metrics is not None
    assert (config.gaia.metrics.kind, config.gaia.metrics.port) == (BindKind.TCP, 9464)
    assert config.apps["web"].metrics is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"unix:/tmp/m.sock"', 'expected "HOST:PORT"'),
        ('"127.0.0.1:70000"', "port must be between"),
        ("9464", "string"),
    ],
)
def test_bad_endpoints_are_config_errors(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(tmp_path, f"[gaia]\nmetrics = {value}\n{WEB}")
    (issue,) = info.value.issues
    assert issue.key == "gaia.metrics"
    assert message in issue.message


def test_a_command_takes_no_metrics_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse(tmp_path, '[apps.w]\ncommand = "python -m w"\nmetrics = false\n')
    assert any(issue.key == "apps.w.metrics" for issue in info.value.issues)


def test_gaia_config_output_round_trips(tmp_path: Path) -> None:
    first = parse(tmp_path, f'[gaia]\nmetrics = "[::1]:9464"\n{WEB}metrics = false\n')
    printed = resolved_toml(first)
    assert 'metrics = "[::1]:9464"' in printed
    second = parse(tmp_path, printed)
    assert second.gaia.metrics == first.gaia.metrics
    assert second.apps["web"].metrics is False


def test_the_endpoint_cannot_change_live(tmp_path: Path) -> None:
    path = tmp_path / "gaia.toml"
    running = parse_config_text(WEB, path, check_files=False).config
    edited = parse_config_text(
        f'[gaia]\nmetrics = "127.0.0.1:9464"\n{WEB}', path, check_files=False
    )
    with pytest.raises(ConfigError, match="restart gaia to change metrics"):
        check_live_edit(running, edited)
