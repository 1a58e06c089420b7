"""The slow-request watchdog runs in gaia's middleware: an export that runs the server alone
says that slow requests are no longer cancelled; --runner gaia keeps it, so says nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gaia_runner.config import load_config
from gaia_runner.export.mapping import ContainerRunner, unmapped_notes

pytestmark = pytest.mark.timeout(30)


def test_cancelling_slow_requests_is_said_to_be_gaias_own(tmp_path: Path) -> None:
    (tmp_path / "gaia.toml").write_text(
        '[apps.api]\napp = "hello:app"\nslow_request = "5s"\nslow_request_action = "cancel"\n'
    )
    api = load_config(tmp_path / "gaia.toml").config.apps["api"]
    assert any(
        'slow_request_action = "cancel"' in n for n in unmapped_notes(api, ContainerRunner.SERVER)
    )
    assert not unmapped_notes(api, ContainerRunner.GAIA)
    logged = dataclasses.replace(api, slow_request_action="log")
    assert not any("slow_request" in n for n in unmapped_notes(logged, ContainerRunner.SERVER))
