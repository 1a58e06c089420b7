"""The `gaia export` commands: stdout, -o, [gaia].image, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_support import REPO, copy_full, parse_all
from harness import run_cli

from gaia_runner.config import ConfigError, parse_config_text

pytestmark = pytest.mark.timeout(60)


def test_kubernetes_needs_an_image_without_gaia_image(tmp_path: Path) -> None:
    result = run_cli("export", "kubernetes", "-c", str(REPO / "gaia.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "pass --image IMAGE or set [gaia].image" in result.stderr


def test_kubernetes_stdout_for_named_apps(tmp_path: Path) -> None:
    result = run_cli(
        "export",
        "kubernetes",
        "wsgi",
        "--image",
        "x/y:1",
        "--name",
        "Shop",
        "-c",
        str(REPO / "gaia.toml"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    docs = parse_all(result.stdout)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Deployment", "shop-wsgi"),
        ("PodDisruptionBudget", "shop-wsgi"),
        ("Service", "shop-wsgi"),
    ]
    unknown = run_cli(
        "export", "kubernetes", "nope", "--image", "x", "-c", str(REPO / "gaia.toml"), cwd=tmp_path
    )
    assert unknown.returncode == 2 and "unknown app nope" in unknown.stderr


def test_image_from_config_and_one_file_per_object(tmp_path: Path) -> None:
    config = copy_full(tmp_path)
    out = tmp_path / "k8s"
    result = run_cli("export", "kubernetes", "-c", str(config), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "full-api-configmap.yaml",
        "full-api-deployment.yaml",
        "full-api-ingress.yaml",
        "full-api-pdb.yaml",
        "full-api-service.yaml",
        "full-jobs-deployment.yaml",
        "full-jobs-pdb.yaml",
        "full-report-job.yaml",
        "full-site-deployment.yaml",
        "full-site-service.yaml",
    ]
    assert (
        'image: "registry.example.com/full:1.0"' in (out / "full-api-deployment.yaml").read_text()
    )


def test_compose_and_dockerfile_to_files(tmp_path: Path) -> None:
    config = copy_full(tmp_path)
    compose = run_cli(
        "export", "compose", "-c", str(config), "-o", str(tmp_path / "compose.yaml"), cwd=tmp_path
    )
    assert compose.returncode == 0, compose.stderr
    assert "services:" in (tmp_path / "compose.yaml").read_text()
    docker = run_cli("export", "dockerfile", "-c", str(config), "--app", "site", cwd=tmp_path)
    assert docker.returncode == 0, docker.stderr
    assert "COPY requirements.txt ./" in docker.stdout
    assert "EXPOSE 8080\nEXPOSE 8443\n" in docker.stdout
    assert "HEALTHCHECK" not in docker.stdout  # site has no health check
    assert 'CMD ["gunicorn", "--bind", "0.0.0.0:8080"' in docker.stdout
    root = config.parent
    assert not (root / ".dockerignore").exists()  # stdout only: nothing written beside it
    assert ".dockerignore" in docker.stderr
    (root / ".dockerignore").write_text("node_modules\ncerts/key.pem")  # the user's own
    written = run_cli(
        "export", "dockerfile", "-c", str(config), "-o", str(root / "Dockerfile"), cwd=tmp_path
    )
    assert written.returncode == 0, written.stderr
    ignored = (root / ".dockerignore").read_text().splitlines()
    assert ignored[:2] == ["node_modules", "certs/key.pem"]  # kept, first, not repeated
    assert ignored.count("certs/key.pem") == 1
    for path in ("app.env", "certs/cert.pem", ".gaia", ".venv", ".git"):
        assert path in ignored


def test_dockerfile_for_the_root_config(tmp_path: Path) -> None:
    result = run_cli("export", "dockerfile", "-c", str(REPO / "gaia.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("# syntax=docker/dockerfile:1\n")
    assert "FROM python:3.12-slim" in text and "USER 10001" in text
    assert text.index("RUN pip install") < text.index("COPY --chown=app:app . .")
    assert "HEALTHCHECK" in text and "http://127.0.0.1:8000/healthz" in text


def test_gaia_image_key_is_validated(tmp_path: Path) -> None:
    app = '\n[apps.w]\ncommand = "true"\n'
    loaded = parse_config_text(f'[gaia]\nimage = "r.example/app:2"\n{app}', tmp_path / "gaia.toml")
    assert loaded.config.gaia.image == "r.example/app:2"
    for bad in ('""', "3"):
        with pytest.raises(ConfigError, match=r"gaia\.image"):
            parse_config_text(f"[gaia]\nimage = {bad}\n{app}", tmp_path / "gaia.toml")


def test_factory_arguments_are_never_dropped(tmp_path: Path) -> None:
    (tmp_path / "fac.py").write_text("def create_app(greeting, times=1):\n    return None\n")
    config = tmp_path / "gaia.toml"
    config.write_text(
        '[apps.api]\napp = "fac:create_app(\'hi\', times=3)"\nserver = "uvicorn"\n'
        '[apps.wsgi]\napp = "fac:create_app(\'hi\')"\nworker_class = "sync"\n'
        'bind = "127.0.0.1:8001"\n'
    )
    for fmt in ("kubernetes", "compose"):
        done = run_cli("export", fmt, "-c", str(config), "--image", "x:1", cwd=tmp_path)
        assert done.returncode == 2, done.stdout
        assert "apps.api: uvicorn has no flag for the factory arguments" in done.stderr
    gaia_runner = run_cli(
        "export", "compose", "-c", str(config), "--image", "x:1", "--runner", "gaia", cwd=tmp_path
    )
    assert gaia_runner.returncode == 0, gaia_runner.stderr


def test_the_image_installs_gaia_when_the_manifests_run_it(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = run_cli(
        "export", "dockerfile", "-c", str(REPO / "gaia.toml"), "--runner", "gaia", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert f'"gaia-runner=={version("gaia-runner")}"' in done.stdout
    assert 'CMD ["gaia", "up"' in done.stdout
    server = run_cli("export", "dockerfile", "-c", str(REPO / "gaia.toml"), cwd=tmp_path)
    assert "gaia-runner" not in server.stdout


def test_an_export_never_writes_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    (tmp_path / "Dockerfile").symlink_to(victim)
    done = run_cli(
        "export", "dockerfile", "-c", str(REPO / "gaia.toml"), "-o", str(tmp_path / "Dockerfile"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and "cannot write" in done.stderr
    assert victim.read_text() == "root's file\n"
