"""The `gaia` command line end to end: the real CLI in a subprocess, real files on disk.

Every bad input must exit 2, name the file, the line and the key, and start nothing.
"Nothing" is checked three ways: no process started by the call is left, no port of the
config is listening, and a valid "canary" app beside the broken one never ran its
prestart step or its command (each would leave a marker file behind).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from harness import free_port

import gaia_runner

CALL_TIMEOUT = 30.0
CALL_MARK = "GAIA_CLI_TEST_CALL"  # set in each call's environment, to find what it started
MARKERS = ("prestart-ran", "command-ran")

# A valid app that leaves a marker file behind as soon as gaia runs any part of it.
CANARY = """
[apps.canary]
command = ["python", "-c", "open('command-ran', 'w').close()"]
prestart = [["python", "-c", "open('prestart-ran', 'w').close()"]]
"""


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    mark: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (
            f"`gaia {' '.join(self.args)}` exited {self.code}\n"
            f"--- stdout:\n{self.stdout}--- stderr:\n{self.stderr}"
        )


def run_gaia(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run `python -m gaia_runner ARGS` in `cwd`; it must exit on its own within the timeout."""
    mark = uuid.uuid4().hex
    environ = {k: v for k, v in os.environ.items() if k not in ("GAIA_CONFIG", "CI")}
    environ.update(env or {})
    environ[CALL_MARK] = mark
    proc = subprocess.Popen(
        [sys.executable, "-m", "gaia_runner", *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=CALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(
            f"`gaia {' '.join(args)}` did not exit within {CALL_TIMEOUT}s (did it start apps?)\n"
            f"--- stdout:\n{stdout}--- stderr:\n{stderr}"
        )
    return Result(tuple(args), proc.returncode, stdout, stderr, mark)


def write_config(folder: Path, text: str, name: str = "gaia.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def processes_of(result: Result) -> list[str]:
    """Live processes started by that call (they carry its mark in their environment)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(CALL_MARK) == result.mark:
                found.append(f"{proc.pid} {' '.join(proc.cmdline())[:100]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def assert_started_nothing(result: Result, folder: Path, ports: tuple[int, ...] = ()) -> None:
    left = processes_of(result)
    assert not left, f"processes left running after a config error: {left}\n{result}"
    for port in ports:
        assert not listening(port), f"port {port} is listening after a config error\n{result}"
    ran = [name for name in MARKERS if (folder / name).exists()]
    assert not ran, f"the canary app ran ({', '.join(ran)}) although the config is invalid"


def assert_reported(
    result: Result, config: Path, line: int | None, key: str, *fragments: str
) -> None:
    """One error line reads `FILE:LINE: KEY: message` and the message holds every fragment."""
    where = str(config) if line is None else f"{config}:{line}"
    head = f"{where}: {key}: " if key else f"{where}: "
    candidates = [text for text in result.stderr.splitlines() if text.startswith(head)]
    assert candidates, f"no error line starting with {head!r}\n{result}"
    assert any(all(f in text for f in fragments) for text in candidates), (
        f"no error line {head!r}... containing {fragments}\n{result}"
    )


def error_lines(result: Result, config: Path) -> list[str]:
    return [text for text in result.stderr.splitlines() if text.startswith(f"{config}:")]


# -- every bad input: exit 2, file:line and key named, nothing started -------------------------


@dataclass(frozen=True)
class BadCase:
    config: str  # `{port}` is replaced by a free port
    line: int | None
    key: str
    fragments: tuple[str, ...]
    setup: Callable[[Path], None] | None = None


def _make_dir(name: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        (folder / name).mkdir()

    return setup


BAD_CASES: dict[str, BadCase] = {
    "toml-syntax-error": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}
        """,
        3,
        "",
        ("invalid TOML",),
    ),
    "unknown-key-did-you-mean": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        wokers = 2
        """,
        4,
        "apps.web.wokers",
        ("unknown key 'wokers'", "did you mean 'workers'?"),
    ),
    "unknown-runner-key": BadCase(
        """
        [gaia]
        stop_timout = "10s"

        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        """,
        2,
        "gaia.stop_timout",
        ("did you mean 'stop_timeout'?",),
    ),
    "wrong-type-workers": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        workers = "four"
        """,
        4,
        "apps.web.workers",
        ("expected", '"auto"', "'four'"),
    ),
    "wrong-type-cwd": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        cwd = 5
        """,
        4,
        "apps.web.cwd",
        ("expected a string", "5"),
    ),
    "workers-zero": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        workers = 0
        """,
        4,
        "apps.web.workers",
        (">= 1", "0"),
    ),
    "port-out-of-range": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:70000"
        """,
        3,
        "apps.web.bind",
        ("between 1 and 65535", "70000"),
    ),
    "malformed-import-string": BadCase(
        """
        [apps.web]
        app = "main.app"
        bind = "127.0.0.1:{port}"
        """,
        2,
        "apps.web.app",
        ("import string", "'main.app'"),
    ),
    "both-app-and-command": BadCase(
        """
        [apps.web]
        app = "main:app"
        command = "python worker.py"
        bind = "127.0.0.1:{port}"
        """,
        3,
        "apps.web.command",
        ("either `app`", "not both"),
    ),
    "neither-app-nor-command": BadCase(
        """
        [apps.web]
        workers = 2
        bind = "127.0.0.1:{port}"
        """,
        1,
        "apps.web",
        ("missing `app`", "`command`"),
    ),
    "two-apps-same-bind": BadCase(
        """
        [apps.one]
        app = "main:app"
        bind = "127.0.0.1:{port}"

        [apps.two]
        app = "main:app"
        bind = "localhost:{port}"
        """,
        7,
        "apps.two.bind",
        ("already used by app 'one'",),
    ),
    "two-apps-same-default-bind": BadCase(
        """
        [apps.one]
        app = "main:app"

        [apps.two]
        app = "main:app"
        """,
        4,
        "apps.two",
        ("default bind 127.0.0.1:8000", "already used by app 'one'"),
    ),
    "missing-cwd": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        cwd = "no-such-dir"
        """,
        4,
        "apps.web.cwd",
        ("no-such-dir", "does not exist"),
    ),
    "missing-env-file": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        env_file = ".env.missing"
        """,
        4,
        "apps.web.env_file",
        ("file not found", ".env.missing"),
    ),
    "missing-runner-env-file": BadCase(
        """
        [gaia]
        env_file = ".env.missing"

        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        """,
        2,
        "gaia.env_file",
        ("file not found",),
    ),
    "missing-tls-file": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        https = { certfile = "certs/missing.pem", keyfile = "certs/missing.key" }
        """,
        4,
        "apps.web.https.certfile",
        ("file not found", "missing.pem"),
    ),
    "unreadable-env-file-is-a-directory": BadCase(
        """
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        env_file = "envdir"
        """,
        4,
        "apps.web.env_file",
        ("is a directory, expected a file",),
        setup=_make_dir("envdir"),
    ),
    "empty-apps": BadCase(
        """
        [apps]
        """,
        1,
        "apps",
        ("no apps defined",),
    ),
    "no-apps-table": BadCase(
        """
        [gaia]
        stop_timeout = "10s"
        """,
        None,
        "apps",
        ("no apps defined",),
    ),
}

# `gaia up` validates exactly as `gaia check` does; a few cases prove it exits the same way.
UP_CASES = ("toml-syntax-error", "unknown-key-did-you-mean", "two-apps-same-bind", "missing-cwd")


def _bad_params() -> list[object]:
    params: list[object] = []
    for case in BAD_CASES:
        params.append(pytest.param(case, ("check",), id=f"check-{case}"))
        if case in UP_CASES:
            params.append(pytest.param(case, ("up", "--no-tui"), id=f"up-{case}"))
    return params


@pytest.mark.parametrize(("case_id", "command"), _bad_params())
def test_bad_input_exits_2_names_line_and_key_and_starts_nothing(
    tmp_path: Path, case_id: str, command: tuple[str, ...]
) -> None:
    case = BAD_CASES[case_id]
    port = free_port()
    text = textwrap.dedent(case.config).lstrip("\n").replace("{port}", str(port))
    has_apps = "[apps." in text
    config = write_config(tmp_path, text + (CANARY if has_apps else ""))
    if case.setup is not None:
        case.setup(tmp_path)

    result = run_gaia(tmp_path, *command, "-c", str(config))

    assert result.code == 2, f"expected exit code 2 for a config error\n{result}"
    assert "error: invalid configuration" in result.stderr, str(result)
    assert_reported(result, config, case.line, case.key, *case.fragments)
    assert_started_nothing(result, tmp_path, (port,))
    if command[0] == "up":
        assert not (tmp_path / ".gaia").exists(), "gaia up wrote to its state_dir before failing"


def test_tls_key_not_matching_its_certificate(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not installed")
    for stem in ("one", "two"):
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost",
                "-keyout", str(tmp_path / f"{stem}.key"), "-out", str(tmp_path / f"{stem}.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=CALL_TIMEOUT,
        )  # fmt: skip
    port = free_port()
    config = write_config(
        tmp_path,
        f"""
        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        https = {{ certfile = "one.pem", keyfile = "two.key" }}
        """
        + CANARY,
    )
    for command in (("check",), ("up", "--no-tui")):
        result = run_gaia(tmp_path, *command, "-c", str(config))
        assert result.code == 2, str(result)
        assert_reported(
            result, config, 4, "apps.web.https.keyfile", "two.key", "does not match the certificate"
        )
        assert_started_nothing(result, tmp_path, (port,))


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        f"""
        [gaia]
        stop_timeout = "soon"

        [apps.web]
        app = "main:app"
        bind = "127.0.0.1:{port}"
        workers = 0

        [apps.worker]
        comand = "python worker.py"
        """,
    )
    for command in (("check",), ("up", "--no-tui")):
        result = run_gaia(tmp_path, *command, "-c", str(config))
        assert result.code == 2, str(result)
        lines = error_lines(result, config)
        assert len(lines) >= 3, f"expected every error at once, got {len(lines)}\n{result}"
        assert_reported(result, config, 2, "gaia.stop_timeout", "duration", '"soon"')
        assert_reported(result, config, 7, "apps.web.workers", ">= 1")
        assert_reported(result, config, 10, "apps.worker.comand", "did you mean 'command'?")
        # Top to bottom, so the output reads like the file.
        numbers = [int(text.split(":")[1]) for text in lines]
        assert numbers == sorted(numbers), str(result)
        assert_started_nothing(result, tmp_path, (port,))


def test_three_errors_give_exactly_three_lines(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
        [apps.web]
        app = "main"
        workers = 0
        bind = "127.0.0.1:70000"
        """,
    )
    result = run_gaia(tmp_path, "check", "-c", str(config))
    assert result.code == 2, str(result)
    lines = error_lines(result, config)
    assert [text.split(": ")[0:2] for text in lines] == [
        [f"{config}:2", "apps.web.app"],
        [f"{config}:3", "apps.web.workers"],
        [f"{config}:4", "apps.web.bind"],
    ], str(result)


def test_a_taken_bind_stops_up_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(
            tmp_path,
            f"""
            [apps.web]
            app = "main:app"
            bind = "127.0.0.1:{port}"
            """
            + CANARY,
        )
        check = run_gaia(tmp_path, "check", "-c", str(config))
        assert check.code == 0, f"check validates the file, it does not bind\n{check}"
        result = run_gaia(tmp_path, "up", "--no-tui", "-c", str(config))
    assert result.code == 2, str(result)
    assert f"127.0.0.1:{port}" in result.stderr and "already in use" in result.stderr, str(result)
    assert_started_nothing(result, tmp_path)


def test_up_with_an_unknown_app_name_starts_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, CANARY)
    result = run_gaia(tmp_path, "up", "--no-tui", "-c", str(config), "nosuch")
    assert result.code == 2, str(result)
    assert "no app named nosuch" in result.stderr and "canary" in result.stderr, str(result)
    assert_started_nothing(result, tmp_path)


def test_secrets_never_appear_in_error_messages(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('GOOD=fine\nBROKEN="s3cret-from-env-file\n')
    config = write_config(
        tmp_path,
        """
        [apps.web]
        app = "main:app"
        env_file = ".env"
        env = { TOKEN = "s3cret-inline", BAD = ["s3cret-in-array"] }
        """,
    )
    result = run_gaia(tmp_path, "check", "-c", str(config))
    assert result.code == 2, str(result)
    assert_reported(result, config, 4, "apps.web.env.BAD", "got an array")
    assert_reported(result, tmp_path / ".env", 2, "BROKEN", "unterminated")
    assert "s3cret" not in result.output, f"a secret value leaked into the output\n{result}"


# -- check, discovery ------------------------------------------------------------------------


def named_config(folder: Path, filename: str, app: str) -> Path:
    return write_config(folder, f'[apps.{app}]\ncommand = "python -V"\n', filename)


def test_check_ok(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
        [apps.web]
        app = "main:app"
        workers = "auto"

        [apps.queue]
        command = "python -m worker"
        workers = 2
        """,
    )
    result = run_gaia(tmp_path, "check")
    assert result.code == 0, str(result)
    assert result.stdout == f"{config}: ok (2 apps: web, queue)\n", str(result)
    assert result.stderr == "", str(result)


def test_config_discovery_order(tmp_path: Path) -> None:
    local = named_config(tmp_path, "gaia.toml", "local")
    from_env = named_config(tmp_path, "env.toml", "fromenv")
    flag = named_config(tmp_path, "flag.toml", "flag")

    chosen = run_gaia(tmp_path, "check", "-c", "flag.toml", env={"GAIA_CONFIG": str(from_env)})
    assert chosen.code == 0 and chosen.stdout.startswith(f"{flag}: ok"), f"-c first\n{chosen}"

    chosen = run_gaia(tmp_path, "check", env={"GAIA_CONFIG": "env.toml"})
    assert chosen.code == 0 and chosen.stdout.startswith(f"{from_env}: ok"), str(chosen)

    chosen = run_gaia(tmp_path, "check")
    assert chosen.code == 0 and chosen.stdout.startswith(f"{local}: ok"), str(chosen)

    chosen = run_gaia(tmp_path, "check", env={"GAIA_CONFIG": ""})
    assert chosen.code == 0 and chosen.stdout.startswith(f"{local}: ok"), str(chosen)


def test_a_named_config_must_exist_with_no_fallback(tmp_path: Path) -> None:
    named_config(tmp_path, "gaia.toml", "local")

    result = run_gaia(tmp_path, "check", "-c", "missing.toml")
    assert result.code == 2, str(result)
    assert f"{tmp_path / 'missing.toml'}: config file given with -c does not exist" in (
        result.stderr
    ), str(result)
    assert "local" not in result.stdout, str(result)

    result = run_gaia(tmp_path, "check", env={"GAIA_CONFIG": "missing.toml"})
    assert result.code == 2, str(result)
    assert "named by $GAIA_CONFIG does not exist" in result.stderr, str(result)

    (tmp_path / "adir").mkdir()
    result = run_gaia(tmp_path, "check", "-c", "adir")
    assert result.code == 2 and "is not a file" in result.stderr, str(result)


def test_no_config_at_all(tmp_path: Path) -> None:
    for command in (("check",), ("config",), ("up", "--no-tui")):
        result = run_gaia(tmp_path, *command)
        assert result.code == 2, str(result)
        assert f"no gaia.toml in {tmp_path}" in result.stderr, str(result)
        assert "-c" in result.stderr and "$GAIA_CONFIG" in result.stderr, str(result)
        assert "Traceback" not in result.output, str(result)
        assert_started_nothing(result, tmp_path)


# -- init --------------------------------------------------------------------------------------


def test_init_writes_a_config_that_check_accepts(tmp_path: Path) -> None:
    result = run_gaia(tmp_path, "init")
    assert result.code == 0, str(result)
    written = tmp_path / "gaia.toml"
    text = written.read_text()
    assert text.startswith("#"), "the starter file explains itself in comments"
    assert tomllib.loads(text)["apps"], text

    check = run_gaia(tmp_path, "check")
    assert check.code == 0, f"`gaia check` rejects what `gaia init` wrote:\n{check}\n{text}"
    assert check.stdout == f"{written}: ok (1 apps: web)\n", str(check)


def test_init_to_another_path(tmp_path: Path) -> None:
    result = run_gaia(tmp_path, "init", "deploy.toml")
    assert result.code == 0, str(result)
    assert not (tmp_path / "gaia.toml").exists()
    check = run_gaia(tmp_path, "check", "-c", "deploy.toml")
    assert check.code == 0, str(check)


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "gaia.toml"
    existing.write_text("# mine, hand written\n")
    result = run_gaia(tmp_path, "init")
    assert result.code == 1, str(result)
    assert "already exists" in result.stderr, str(result)
    assert existing.read_text() == "# mine, hand written\n"


# -- config ------------------------------------------------------------------------------------


def test_config_prints_resolved_toml_with_defaults_and_masked_env(tmp_path: Path) -> None:
    (tmp_path / "shared.env").write_text("SHARED_KEY=s3cret-shared-value\n")
    (tmp_path / "web.env").write_text("export FILE_KEY='s3cret-file-value'\n")
    config = write_config(
        tmp_path,
        """
        [gaia]
        env_file = "shared.env"

        [apps.web]
        app = "main:app"
        env_file = "web.env"
        env = { INLINE_KEY = "s3cret-inline-value", PORT_HINT = 48151623 }

        [apps.queue]
        command = "python -m worker"
        """,
    )
    result = run_gaia(tmp_path, "config")
    assert result.code == 0, str(result)
    assert "s3cret" not in result.output, f"an env value leaked into `gaia config`\n{result}"
    assert "48151623" not in result.stdout, str(result)

    text = result.stdout
    for line in ("workers = 1", "stop_timeout = 30.0", 'server = "gunicorn"', 'restart = "always"'):
        assert line in text.splitlines(), f"{line!r} missing from `gaia config`\n{text}"
    data = tomllib.loads(text)
    assert data["gaia"]["state_dir"] == str(tmp_path / ".gaia")
    assert data["gaia"]["stop_timeout"] == 30.0
    web = data["apps"]["web"]
    assert web["workers"] == 1
    assert web["worker_class"] == "uvicorn"
    assert web["cwd"] == str(tmp_path)
    assert web["timeout"] == 30.0
    assert web["start_timeout"] == 60.0
    assert web["max_start_failures"] == 5
    assert web["backoff"] == {"initial": 1.0, "factor": 2.0, "max": 60.0, "reset_after": 60.0}
    # Every key from [gaia].env_file, the app's env_file and its env table, none of the values.
    assert web["env"] == dict.fromkeys(("SHARED_KEY", "FILE_KEY", "INLINE_KEY", "PORT_HINT"), "***")
    assert data["apps"]["queue"]["command"] == ["python", "-m", "worker"]
    assert data["apps"]["queue"]["env"] == {"SHARED_KEY": "***"}
    assert web["bind"] == ["127.0.0.1:8000"]
    assert "server" not in data["apps"]["queue"]  # keys a command cannot have are left out
    assert config.exists()
    # The output is itself a valid gaia.toml.
    (tmp_path / "resolved.toml").write_text(text)
    checked = run_gaia(tmp_path, "check", "-c", "resolved.toml")
    assert checked.code == 0, str(checked)


def test_config_on_an_invalid_file_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[apps.web]\napp = "main:app"\nworkers = 0\n')
    result = run_gaia(tmp_path, "config")
    assert result.code == 2, str(result)
    assert result.stdout == "", str(result)
    assert_reported(result, config, 3, "apps.web.workers", ">= 1")


# -- the small commands ----------------------------------------------------------------------


def test_reload_without_a_running_gaia_exits_1(tmp_path: Path) -> None:
    named_config(tmp_path, "gaia.toml", "local")
    result = run_gaia(tmp_path, "reload")
    assert result.code == 1, str(result)
    assert "no gaia running for this config" in result.stderr, str(result)


def test_version(tmp_path: Path) -> None:
    result = run_gaia(tmp_path, "version")
    assert result.code == 0, str(result)
    assert result.stdout.strip() == gaia_runner.__version__
