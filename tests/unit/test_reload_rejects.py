"""The reload path: whatever goes wrong before an edit is applied rejects the edit."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from gaia_runner import runner as runner_module
from gaia_runner.config import parse_config_text
from gaia_runner.runner import Runner
from gaia_runner.view.display import PlainDisplay

TEXT = '[apps.web]\ncommand = "true"\n'


def _runner(tmp_path: Path) -> tuple[Runner, io.StringIO]:
    config = parse_config_text(TEXT, tmp_path / "gaia.toml").config
    out = io.StringIO()
    return Runner(config, PlainDisplay(out), watch_config=False, environ={}), out


@pytest.mark.timeout(10)
def test_an_unexpected_exception_while_planning_rejects_the_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, out = _runner(tmp_path)

    def broken(*_args: object, **_kwargs: object) -> object:
        raise KeyError("hunter2")

    edited = parse_config_text(TEXT.replace("true", "false"), tmp_path / "gaia.toml")
    monkeypatch.setattr(runner_module, "load_config", lambda *_a, **_k: edited)
    monkeypatch.setattr(runner_module, "plan_reload", broken)
    asyncio.run(runner.reload())
    assert runner.config_error is not None
    assert "KeyError" in runner.config_error
    assert "hunter2" not in out.getvalue()
    assert "not applied, apps unchanged" in out.getvalue()
    assert runner.supervisors == {}
