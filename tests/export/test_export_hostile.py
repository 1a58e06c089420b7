"""Hostile values through the exporters: the real tools still parse the output and the value
comes back unchanged (Compose's `$` interpolation, YAML's typed scalars, emoji)."""

from __future__ import annotations

import json
import random
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import tomli_w
from export_support import IMAGE, load_project, parse_all
from test_export_validate import compose_binary, kubernetes_validate

from gaia_runner.export import Unexportable
from gaia_runner.export.compose import export_compose
from gaia_runner.export.dockerfile import export_dockerfile
from gaia_runner.export.kubernetes import KubeOptions, export_kubernetes

pytestmark = pytest.mark.timeout(120)

NAMED = {
    "DOLLARS": "pa$$word",
    "HOME_REF": "$HOME/x",
    "BRACED": "${USER:-nobody}",
    "DATE": "2001-12-14",
    "EMOJI": "ok 😀",
    "BOOLISH": "no",
    "NUMBER": "0x1f",
    "QUOTES": 'it\'s "quoted"',
    "HASH": "a #b",
    "PERCENT": "%h%%",
    "NEWLINE": "one\ntwo",
    "UNICODE_BREAK": "a\u2028b",
}
# Printable, plus the characters each format treats specially; fixed seed, so it replays.
_ALPHABET = "aZ09 :#-?!&*|>%@`'\"\\$~{}[],=é😀\n\t"
GENERATED = {
    f"GEN_{i}": "".join(random.Random(i).choices(_ALPHABET, k=random.Random(-i).randint(1, 16)))
    for i in range(40)
}
HOSTILE = {**NAMED, **GENERATED}


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "proj"
    root.mkdir()
    (root / "main.py").write_text("async def app(scope, receive, send): pass\n")
    config = {"apps": {"web": {"app": "main:app", "bind": "127.0.0.1:8000", "env": HOSTILE}}}
    path = root / "gaia.toml"
    path.write_text(tomli_w.dumps(config))
    return load_project(path)


def test_compose_gives_the_app_the_values_gaia_gives(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(export_compose(project.config, IMAGE, project.table_env))
    result = subprocess.run(
        [str(compose_binary()), "-f", str(compose_file), "--project-directory",
         str(project.root), "config", "--format", "json"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "USER": "someone"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["web"]["environment"]
    for key, value in HOSTILE.items():
        # `config` prints a file Compose can read again, so it doubles `$` once more.
        assert environment[key].replace("$$", "$") == value, key


def test_kubernetes_configmap_keeps_strings_strings(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifests = export_kubernetes(project.config, KubeOptions(IMAGE), project.table_env)
    out = tmp_path / "k8s"
    out.mkdir()
    for manifest in manifests:
        (out / manifest.filename).write_text(manifest.text)
    result = subprocess.run(
        [str(kubernetes_validate()), "--strict", *sorted(str(p) for p in out.iterdir())],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    docs = [d for m in manifests for d in parse_all(m.text)]
    data = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    for key, value in HOSTILE.items():
        assert data[key] == value, key


def test_dockerfile_paths_stay_one_argument(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "main.py").write_text("async def app(scope, receive, send): pass\n")
    state = 'st "ate" $HOME #1'
    config = {"gaia": {"state_dir": state}, "apps": {"web": {"app": "main:app"}}}
    (root / "gaia.toml").write_text(tomli_w.dumps(config))
    text = export_dockerfile(load_project(root / "gaia.toml").config, False)
    line = next(x for x in text.splitlines() if "install -d" in x)
    assert shlex.split(line)[-1] == f"/app/{state}"


DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def test_kubernetes_names_follow_the_name_rules(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "main.py").write_text("async def app(scope, receive, send): pass\n")
    apps: dict[str, dict[str, object]] = {
        "my_api": {"app": "main:app", "bind": "127.0.0.1:8001"},
        "Web": {"app": "main:app", "bind": "127.0.0.1:8002"},
        "2fa": {"command": ["true"]},
        "x" * 60: {"app": "main:app", "bind": "127.0.0.1:8003", "env": {"A": "1"}},
    }
    (root / "gaia.toml").write_text(tomli_w.dumps({"apps": apps}))
    project = load_project(root / "gaia.toml")
    docs = [
        d
        for m in export_kubernetes(project.config, KubeOptions(IMAGE), project.table_env)
        for d in parse_all(m.text)
    ]
    for doc in docs:
        name = doc["metadata"]["name"]
        assert DNS_1035.match(name) and len(name) <= 63, name
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for box in pod.get("containers", []) + pod.get("initContainers", []):
            assert DNS_1035.match(box["name"]), box["name"]
    names = {d["metadata"]["name"] for d in docs if d["kind"] in ("Deployment", "Job")}
    assert {"proj-my-api", "proj-web", "proj-app-2fa"} <= names
    apps_written = {d["metadata"]["annotations"]["gaia/app"] for d in docs}
    assert apps_written == set(apps)


def test_kubernetes_name_collisions_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "main.py").write_text("async def app(scope, receive, send): pass\n")
    apps = {"my_api": {"command": ["true"]}, "my-api": {"command": ["true"]}}
    (root / "gaia.toml").write_text(tomli_w.dumps({"apps": apps}))
    project = load_project(root / "gaia.toml")
    with pytest.raises(Unexportable, match="'my_api' and 'my-api'"):
        export_kubernetes(project.config, KubeOptions(IMAGE), project.table_env)
