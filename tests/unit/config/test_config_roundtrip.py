"""`gaia config` prints a gaia.toml: whatever it prints must pass `gaia check` unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from tls_files import TlsFiles

from gaia_runner.config import GaiaConfig, parse_config_text
from gaia_runner.config import load as load_module
from gaia_runner.config.model import as_plain
from gaia_runner.config.resolved import MASK, resolved_toml

APPS = {
    "gunicorn": 'app = "m:app"\nworkers = 2\nbind = "127.0.0.1:9001"',
    "gunicorn-gthread": (
        'app = "m:app"\nworker_class = "gthread"\nthreads = 4\nbind = "127.0.0.1:9002"'
    ),
    "uvicorn": 'app = "m:app"\nserver = "uvicorn"\nbind = ["127.0.0.1:9003", "[::1]:9003"]',
    "command": 'command = "python -m worker --queue jobs"\nenv = { QUEUE = "jobs" }',
    "memory": (
        'app = "m:app"\nbind = "unix:app.sock"\n'
        'memory = { worker = "256MiB", total = "1GiB", interval = "2s", samples = 2 }'
    ),
    "health": 'app = "m:app"\nserver = "uvicorn"\nbind = "127.0.0.1:9004"\nhealth = "/healthz"',
    "command-with-limits": 'command = ["sleep", "60"]\nmemory = { total = "1GiB" }',
}


@pytest.fixture(autouse=True)
def _fixed_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "machine_memory", lambda: 8 * 1024**3)
    monkeypatch.setattr(load_module, "available_cpus", lambda: 3)


def _comparable(config: GaiaConfig) -> dict[str, object]:
    data = as_plain(config)
    del data["source"]
    for app in data["apps"].values():
        # Values are masked in the output, so only the names can survive the trip.
        app["env"] = sorted(app["env"])
    return data


def _round_trip(tmp_path: Path, text: str) -> None:
    first = parse_config_text(text, tmp_path / "gaia.toml").config
    printed = resolved_toml(first)
    second = parse_config_text(printed, tmp_path / "printed" / "gaia.toml").config
    assert _comparable(second) == _comparable(first)
    assert all(set(app.env.values()) <= {MASK} for app in second.apps.values())


@pytest.mark.parametrize("kind", sorted(APPS))
def test_gaia_config_output_passes_gaia_check(tmp_path: Path, kind: str) -> None:
    _round_trip(tmp_path, f"[apps.{kind}]\n{APPS[kind]}\n")


def test_https_app_output_passes_gaia_check(tmp_path: Path, tls_files: TlsFiles) -> None:
    text = (
        f'[apps.tls]\napp = "m:app"\nserver = "uvicorn"\nbind = "127.0.0.1:9443"\n'
        f'https = {{ certfile = "{tls_files.cert}", keyfile = "{tls_files.key}", '
        f'ca_certs = "{tls_files.cert}", client_auth = "optional" }}\n'
    )
    _round_trip(tmp_path, text)


def test_every_kind_together_with_runner_settings(tmp_path: Path) -> None:
    (tmp_path / "shared.env").write_text("SHARED=1\n")
    tables = "\n".join(f"[apps.{kind}]\n{body}\n" for kind, body in APPS.items())
    _round_trip(tmp_path, f'[gaia]\nstop_timeout = "5s"\nenv_file = "shared.env"\n{tables}')
