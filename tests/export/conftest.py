"""Fixtures for the export tests; the helpers live in export_support.py."""

from __future__ import annotations

import pytest
from export_support import REPO, Project, copy_full, load_project


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return load_project(copy_full(tmp_path_factory.mktemp("full")))


@pytest.fixture(scope="module")
def root_project() -> Project:
    return load_project(REPO / "gaia.toml")
