"""Shared by the export tests: the two example configs, loaded the way `gaia export` loads them.

A module of its own (not conftest) so that `import` cannot pick another directory's conftest."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import make_self_signed

from gaia_runner.config import GaiaConfig, load_config

REPO = Path(__file__).resolve().parents[2]
FULL = REPO / "examples" / "full"
IMAGE = "registry.example.com/app:1.0"


@dataclass(frozen=True)
class Project:
    config: GaiaConfig
    table_env: Mapping[str, Mapping[str, str]]

    @property
    def root(self) -> Path:
        return self.config.source.parent


def load_project(path: Path) -> Project:
    config = load_config(path).config
    bare = load_config(path, check_files=False).config
    return Project(config, {name: app.env for name, app in bare.apps.items()})


def copy_full(dest: Path) -> Path:
    """examples/full in ``dest`` with a freshly generated self-signed certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the example's certificate")
    root = dest / "full"
    shutil.copytree(FULL, root, ignore=shutil.ignore_patterns("__pycache__", "certs"))
    (root / "certs").mkdir()
    make_self_signed(root / "certs")
    return root / "gaia.toml"


def parse_all(text: str) -> list[dict[str, Any]]:
    """PyYAML (a dependency of kubernetes-validate) reads what gaia's own emitter wrote."""
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def by_kind(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, got {len(found)}"
    return found[0]


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to a server started in its own session, SIGKILL if it overstays."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
