"""Which modules a dev-mode standby may import ahead: libraries, never the app's own."""

from __future__ import annotations

import json
import sys
import sysconfig
import types
from pathlib import Path

import pytest

from gaia_runner.dev import warm


def _module(name: str, filename: str | None) -> types.ModuleType:
    module = types.ModuleType(name)
    if filename is not None:
        module.__file__ = filename
    return module


def test_libraries_are_recorded_and_the_apps_own_modules_never(tmp_path: Path) -> None:
    site = sysconfig.get_paths()["purelib"]
    modules = {
        "json": json,  # the standard library
        "fastapi": _module("fastapi", f"{site}/fastapi/__init__.py"),
        "app": _module("app", str(tmp_path / "app.py")),
        "pkg.views": _module("pkg.views", str(tmp_path / "pkg" / "views.py")),
        "builtin_thing": _module("builtin_thing", None),
        "__main__": _module("__main__", f"{site}/gunicorn/__main__.py"),
        "elsewhere": _module("elsewhere", "/opt/checkout/elsewhere.py"),  # not installed
    }
    assert warm.library_modules(modules, tmp_path) == ["json", "fastapi"]
    assert warm.app_modules(modules, tmp_path) == ["app", "pkg.views"]


def test_a_virtualenv_inside_the_app_directory_holds_libraries(tmp_path: Path) -> None:
    venv_site = tmp_path / ".venv" / "lib" / "site-packages"
    lib = _module("lib", str(venv_site / "lib.py"))
    mine = _module("mine", str(tmp_path / "mine.py"))
    sys.path.append(str(venv_site))
    try:
        modules = {"lib": lib, "mine": mine}
        assert warm.library_modules(modules, tmp_path) == ["lib"]
        assert warm.app_modules(modules, tmp_path) == ["mine"]
    finally:
        sys.path.remove(str(venv_site))


def test_an_app_directory_inside_site_packages_has_no_libraries(tmp_path: Path) -> None:
    app_dir = Path(sysconfig.get_paths()["purelib"]) / "someapp"
    inside = _module("someapp.views", str(app_dir / "views.py"))
    assert warm.library_modules({"someapp.views": inside}, app_dir) == []


def test_the_record_round_trips_and_drops_what_is_no_module_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "run" / "web.imports"
    record.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "gaia_app_module", _module("x", str(tmp_path / "x.py")))
    warm.record_imports(str(record))
    names = warm.read_imports(str(record))
    assert "json" in names
    assert "gaia_app_module" not in names
    record.write_text("json\nos; rm -rf /\n__main__\nidlelib.foo\ncolorsys\n")
    assert warm.read_imports(str(record)) == ["json", "colorsys"]
    assert warm.read_imports(str(tmp_path / "missing")) == []


def test_failing_imports_are_skipped() -> None:
    warm.import_quietly(["gaia_no_such_module_anywhere", "colorsys"])
    assert "colorsys" in sys.modules
