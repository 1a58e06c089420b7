"""Keys for production behind a proxy: socket access, trusted proxies, server option
tables, factories with arguments and `user`; and what gaia generates from them."""

from __future__ import annotations

import json
import os
import socket
import stat
import textwrap
from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, ConfigIssue, load_config
from gaia_runner.config.apptarget import load_app, parse_app_target
from gaia_runner.config.load import LoadedConfig
from gaia_runner.config.model import Bind, BindKind
from gaia_runner.config.resolved import resolved_toml
from gaia_runner.process.launch import build_launch, trusted_proxies
from gaia_runner.process.sockets import SocketAccess, bind_listener


def load(folder: Path, text: str) -> LoadedConfig:
    path = folder / "gaia.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_config(path)


def errors(folder: Path, text: str) -> dict[str, ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load(folder, text)
    return {issue.key: issue for issue in info.value.issues}


def test_socket_keys_default_and_resolve(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [apps.a]
        app = "m:app"
        bind = "unix:a.sock"

        [apps.b]
        app = "m:app"
        bind = "unix:b.sock"
        socket_mode = "0660"
        socket_group = "root"
        socket_user = "root"
        """,
    ).config
    assert config.apps["a"].socket_mode == 0o666
    b = config.apps["b"]
    assert (b.socket_mode, b.socket_user, b.socket_group) == (0o660, "root", "root")
    assert 'socket_mode = "0660"' in resolved_toml(config)


def test_bad_production_values_are_errors_with_lines(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        """
        [apps.web]
        app = "m:app"
        socket_mode = "rw-rw-rw-"
        socket_user = "no-such-user-here"
        socket_group = "no-such-group-here"
        forwarded_allow_ips = ["10.0.0.0/8", "proxy.local"]
        user = "no-such-user-here"

        [apps.both]
        app = "m:app"
        bind = "127.0.0.1:9001"
        forwarded_allow_ips = ["*", "127.0.0.1"]
        socket_mode = "01777"
        """,
    )
    assert found["apps.web.socket_mode"].line == 3
    assert "octal" in found["apps.web.socket_mode"].message
    assert found["apps.web.socket_user"].message == "no user 'no-such-user-here' on this machine"
    assert found["apps.web.socket_group"].line == 5
    assert "'proxy.local' is not an IP address" in found["apps.web.forwarded_allow_ips"].message
    assert found["apps.web.user"].line == 7
    assert "cannot be combined" in found["apps.both.forwarded_allow_ips"].message
    assert "between" in found["apps.both.socket_mode"].message


def test_combinations_that_cannot_work_are_refused(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        """
        [gaia]
        user = "root"

        [apps.web]
        app = "m:factories.make('prod')"
        https = { certfile = "c.pem", keyfile = "k.pem", ca_certs = "ca.pem", client_auth = "required" }
        """,
    )
    assert "gunicorn calls only a factory named directly" in found["apps.web.app"].message
    assert "cannot be combined with `user`" in found["apps.web.https.client_auth"].message


def test_command_apps_take_no_proxy_keys(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        """
        [apps.job]
        command = "sleep 1"
        socket_mode = "0600"
        forwarded_allow_ips = "*"
        user = "root"
        """,
    )
    assert set(found) == {"apps.job.socket_mode", "apps.job.forwarded_allow_ips"}


def test_server_tables_are_checked_against_the_installed_server(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        """
        [apps.g]
        app = "m:app"
        bind = "127.0.0.1:9001"

        [apps.g.gunicorn]
        keepalive = 5
        keepaliv = 5
        workers = 3
        post_fork = "x.y"
        limit_request_line = "many"

        [apps.u]
        app = "m:app"
        server = "uvicorn"
        bind = "127.0.0.1:9002"

        [apps.u.uvicorn]
        limit_concurency = 10
        root_path = "/api"
        fd = 3
        timeout_keep_alive = "5"

        [apps.u.gunicorn]
        keepalive = 5
        """,
    )
    assert "apps.g.gunicorn.keepalive" not in found
    assert found["apps.g.gunicorn.keepaliv"].message == (
        "unknown gunicorn setting 'keepaliv'; did you mean 'keepalive'?"
    )
    assert found["apps.g.gunicorn.keepaliv"].line == 7
    assert found["apps.g.gunicorn.workers"].message.endswith("set `workers` instead")
    assert "post_fork" in found["apps.g.gunicorn.post_fork"].message
    assert "gunicorn rejects this value" in found["apps.g.gunicorn.limit_request_line"].message
    assert "did you mean 'limit_concurrency'?" in found["apps.u.uvicorn.limit_concurency"].message
    assert "apps.u.uvicorn.root_path" not in found
    assert "set `bind` instead" in found["apps.u.uvicorn.fd"].message
    assert "uvicorn expects" in found["apps.u.uvicorn.timeout_keep_alive"].message
    assert 'runs on server = "uvicorn"' in found["apps.u.gunicorn"].message


@pytest.mark.parametrize(
    ("text", "module", "attribute", "args", "kwargs"),
    [
        ("app:app", "app", "app", (), {}),
        ("pkg.mod:obj.asgi", "pkg.mod", "obj.asgi", (), {}),
        ("app:create_app()", "app", "create_app", (), {}),
        (
            "app:create_app('prod', debug=False, n=[1, 2])",
            "app",
            "create_app",
            ("prod",),
            {"debug": False, "n": [1, 2]},
        ),
    ],
)
def test_app_targets(
    text: str, module: str, attribute: str, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    target = parse_app_target(text)
    assert (target.module, target.attribute, target.args, target.kwargs) == (
        module,
        attribute,
        args,
        kwargs,
    )


@pytest.mark.parametrize(
    "text", ["main", "app:create_app(os.getcwd())", "app:f(**opts)", "app:1 + 2", "a-b:app"]
)
def test_app_targets_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"import string|literals"):
        parse_app_target(text)


def test_load_app_calls_the_factory_with_literal_arguments() -> None:
    assert load_app("os.path:join('a', 'b')") == "a/b"


def test_generated_configs_carry_the_tables_and_trusted_proxies(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [apps.g]
        app = "m:create_app('prod')"
        bind = "unix:g.sock"
        [apps.g.gunicorn]
        keepalive = 7

        [apps.u]
        app = "m:create_app('prod')"
        server = "uvicorn"
        bind = "127.0.0.1:9002"
        forwarded_allow_ips = ["10.0.0.0/8"]
        [apps.u.uvicorn]
        root_path = "/api"
        """,
    ).config
    g, u = config.apps["g"], config.apps["u"]
    assert trusted_proxies(g) == ["*"]  # unix sockets only: the peer is a local proxy
    spec = build_launch(g, [5], tmp_path / "run", 1, {})
    assert spec.argv[-1] == "m:create_app('prod')"  # gunicorn evaluates it itself
    text = (tmp_path / "run" / "g.g1.gunicorn.py").read_text()
    assert "keepalive = 7" in text and "forwarded_allow_ips = '*'" in text
    spec = build_launch(u, [5], tmp_path / "run", 1, {})
    launch = json.loads((tmp_path / "run" / "u.g1.uvicorn.json").read_text())
    assert launch["app_call"] == "m:create_app('prod')"
    assert launch["options"]["root_path"] == "/api"
    assert launch["options"]["forwarded_allow_ips"] == ["10.0.0.0/8"]
    assert spec.config_fd is None


def test_unix_socket_access_is_set_before_the_path_appears(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    old = os.umask(0o077)  # what a socket would get without gaia's chmod
    try:
        listener = bind_listener(Bind(kind=BindKind.UNIX, path=path), SocketAccess(mode=0o660))
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
        listener.set_access(SocketAccess(mode=0o600))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # same inode as the private name
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))
    finally:
        listener.close()
