"""Which generated server files wrap the app: only for measured apps, with the right kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaia_runner.config.model import AppConfig, Bind, BindKind, ServerKind, WorkerClass
from gaia_runner.metrics.wire import CHANNEL_ENV
from gaia_runner.process.launch import build_launch

CHANNEL = {CHANNEL_ENV: "7"}


def make(**changes: object) -> AppConfig:
    fields: dict[str, object] = {
        "name": "web",
        "app": "hello:app",
        "cwd": Path("/srv"),
        "bind": (Bind(kind=BindKind.TCP, host="127.0.0.1", port=8000),),
    }
    fields.update(changes)
    return AppConfig(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("worker_class", "interface"),
    [
        (WorkerClass.UVICORN, "asgi"),
        (WorkerClass.ASGI, "asgi"),
        (WorkerClass.SYNC, "wsgi"),
        (WorkerClass.GTHREAD, "wsgi"),
    ],
)
def test_gunicorn_hooks_wrap_the_loaded_app(
    tmp_path: Path, worker_class: WorkerClass, interface: str
) -> None:
    spec = build_launch(make(worker_class=worker_class), [3], tmp_path, 1, CHANNEL)
    assert spec.config_file is not None
    text = spec.config_file.read_text()
    assert f"wrap_gunicorn_worker(worker, {interface!r})" in text
    assert "def worker_exit(server, worker):" in text
    assert spec.env[CHANNEL_ENV] == CHANNEL[CHANNEL_ENV]
    assert spec.pass_fds == (3, 7)  # the channel reaches the server, and so every worker
    assert spec.argv[-1] == "hello:app"  # the server still loads the user's app itself
    compile(text, str(spec.config_file), "exec")


def test_metrics_false_means_no_hook_and_no_channel(tmp_path: Path) -> None:
    spec = build_launch(make(metrics=False), [3], tmp_path, 1, CHANNEL)
    assert spec.config_file is not None
    assert "post_worker_init" not in spec.config_file.read_text()
    assert CHANNEL_ENV not in spec.env
    assert spec.pass_fds == (3,)


def test_uvicorn_launch_file_says_whether_to_measure(tmp_path: Path) -> None:
    on = build_launch(make(server=ServerKind.UVICORN), [3], tmp_path, 1, CHANNEL)
    off = build_launch(make(server=ServerKind.UVICORN, metrics=False), [3], tmp_path, 2, CHANNEL)
    assert on.config_file is not None and off.config_file is not None
    assert json.loads(on.config_file.read_text())["metrics"] is True
    assert json.loads(off.config_file.read_text())["metrics"] is False


def test_commands_never_get_the_channel(tmp_path: Path) -> None:
    app = AppConfig(name="w", command=("python", "-m", "w"), cwd=Path("/srv"))
    assert CHANNEL_ENV not in build_launch(app, [], tmp_path, 1, CHANNEL).env
