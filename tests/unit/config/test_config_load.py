from __future__ import annotations

import os
import pickle
import textwrap
from pathlib import Path

import pytest
from tls_files import TlsFiles

from gaia_runner.config import (
    ConfigError,
    ConfigIssue,
    find_config_path,
    load_config,
    parse_config_text,
)
from gaia_runner.config import load as load_module
from gaia_runner.config.load import LoadedConfig
from gaia_runner.config.model import (
    BindKind,
    ClientAuth,
    RestartPolicy,
    ServerKind,
    WorkerClass,
    as_plain,
)
from gaia_runner.config.reporter import format_key

GiB = 1024**3


@pytest.fixture(autouse=True)
def _fixed_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    # Warnings and "auto" depend on the host; pin them so tests are deterministic.
    monkeypatch.setattr(load_module, "machine_memory", lambda: 8 * GiB)
    monkeypatch.setattr(load_module, "available_cpus", lambda: 3)


def write(folder: Path, text: str) -> Path:
    path = folder / "gaia.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load(folder: Path, text: str, *, check_files: bool = True) -> LoadedConfig:
    return load_config(write(folder, text), check_files=check_files)


def errors(folder: Path, text: str, *, check_files: bool = True) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load(folder, text, check_files=check_files)
    return list(info.value.issues)


def only(issues: list[ConfigIssue], key: str) -> ConfigIssue:
    found = [i for i in issues if i.key == key]
    assert len(found) == 1, f"expected one issue for {key}, got: {issues}"
    return found[0]


# -- a valid file resolves fully ------------------------------------------------


FULL = """
[gaia]
state_dir = "state"
stop_timeout = "45s"
env_file = ".env"

[apps.web]
app = "app.webapp:create_app()"
server = "gunicorn"
worker_class = "gthread"
workers = 4
threads = 8
bind = ["0.0.0.0:8085", "[::1]:8086", "unix:run/web.sock"]
cwd = "src"
env = { LOG_LEVEL = "info", DEBUG = true, PORT = 8085, RATIO = 0.5, SHARED = "app" }
env_file = ".env.web"
prestart = ["alembic upgrade head", ["python", "-m", "app.seed"]]
prestart_timeout = "5m"
timeout = "1m30s"
graceful_timeout = 10
max_requests = 1000
max_requests_jitter = 50
start_timeout = "2m"
restart = "on-failure"
max_start_failures = 2
backoff = { initial = "500ms", factor = 3, max = "1m", reset_after = "2m" }
memory = { worker = "512MiB", total = "2GiB", interval = "2s", samples = 4 }
health = { path = "/healthz", interval = "10s", timeout = "1s", failures = 5 }

[apps.queue]
command = "python -m app.worker --queue 'high prio'"
workers = 2
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / ".env").write_text("SHARED=gaia\nFROM_GAIA=1\nOVERRIDDEN=gaia\n")
    (tmp_path / ".env.web").write_text("OVERRIDDEN=web\nSHARED=web\n")
    return tmp_path


def test_full_file_resolves(project: Path) -> None:
    loaded = load(project, FULL)
    config = loaded.config
    assert loaded.warnings == ()
    assert config.source == project / "gaia.toml"
    assert config.gaia.state_dir == project / "state"
    assert config.gaia.stop_timeout == 45.0
    assert config.gaia.env_file == project / ".env"

    web = config.apps["web"]
    assert web.name == "web"
    assert web.app == "app.webapp:create_app()"
    assert web.command is None
    assert web.server is ServerKind.GUNICORN
    assert web.worker_class is WorkerClass.GTHREAD
    assert (web.workers, web.threads) == (4, 8)
    assert [str(b) for b in web.bind] == [
        "0.0.0.0:8085",
        "[::1]:8086",
        f"unix:{project / 'run' / 'web.sock'}",
    ]
    assert web.bind[2].kind is BindKind.UNIX
    assert web.cwd == project / "src"
    assert web.env_file == project / ".env.web"
    assert dict(web.env) == {
        "SHARED": "app",
        "FROM_GAIA": "1",
        "OVERRIDDEN": "web",
        "LOG_LEVEL": "info",
        "DEBUG": "true",
        "PORT": "8085",
        "RATIO": "0.5",
    }
    assert web.prestart == (("alembic", "upgrade", "head"), ("python", "-m", "app.seed"))
    assert web.prestart_timeout == 300.0
    assert (web.timeout, web.graceful_timeout, web.start_timeout) == (90.0, 10.0, 120.0)
    assert (web.max_requests, web.max_requests_jitter) == (1000, 50)
    assert web.restart is RestartPolicy.ON_FAILURE
    assert web.max_start_failures == 2
    assert as_plain(web.backoff) == {
        "initial": 0.5,
        "factor": 3.0,
        "max": 60.0,
        "reset_after": 120.0,
    }
    assert web.memory is not None
    assert (web.memory.worker, web.memory.total) == (512 * 1024**2, 2 * GiB)
    assert (web.memory.interval, web.memory.samples) == (2.0, 4)
    assert web.health is not None
    assert as_plain(web.health) == {
        "path": "/healthz",
        "interval": 10.0,
        "timeout": 1.0,
        "failures": 5,
    }

    queue = config.apps["queue"]
    assert queue.command == ("python", "-m", "app.worker", "--queue", "high prio")
    assert queue.is_command
    assert queue.workers == 2
    assert queue.bind == ()
    assert dict(queue.env) == {"SHARED": "gaia", "FROM_GAIA": "1", "OVERRIDDEN": "gaia"}


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, '[apps.web]\napp = "main:app"\n').config
    assert config.gaia.state_dir == tmp_path / ".gaia"
    assert config.gaia.env_file is None
    web = config.apps["web"]
    assert [str(b) for b in web.bind] == ["127.0.0.1:8000"]
    assert web.cwd == tmp_path
    assert web.workers == 1
    assert web.server is ServerKind.GUNICORN
    assert web.worker_class is WorkerClass.UVICORN
    assert web.env == {}
    assert web.https is None
    assert web.health is None


def test_workers_auto_uses_available_cpus(tmp_path: Path) -> None:
    config = load(tmp_path, '[apps.web]\napp = "main:app"\nworkers = "auto"\n').config
    assert config.apps["web"].workers == 3


def test_health_string_is_a_path(tmp_path: Path) -> None:
    health = load(tmp_path, '[apps.web]\napp = "m:a"\nhealth = "/up"\n').config.apps["web"].health
    assert health is not None
    assert (health.path, health.interval, health.failures) == ("/up", 5.0, 3)


def test_single_prestart_string_is_one_command(tmp_path: Path) -> None:
    app = load(tmp_path, '[apps.w]\napp = "m:a"\nprestart = "make migrate"\n').config.apps["w"]
    assert app.prestart == (("make", "migrate"),)


def test_relative_paths_are_taken_from_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("A=1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    write(project, '[apps.w]\napp = "m:a"\nenv_file = ".env"\ncwd = "."\n')
    app = load_config(Path("../project/gaia.toml")).config.apps["w"]
    assert app.cwd == project
    assert app.env_file == project / ".env"
    assert app.env == {"A": "1"}


def test_parse_config_text_uses_path_for_messages_and_paths(tmp_path: Path) -> None:
    source = tmp_path / "virtual.toml"
    loaded = parse_config_text('[apps.w]\napp = "m:a"\n', source, check_files=False)
    assert loaded.config.apps["w"].cwd == tmp_path
    with pytest.raises(ConfigError) as info:
        parse_config_text("[apps.w]\nap = 1\n", source)
    assert info.value.issues[0].file == source


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "gaia.toml"
    path.write_bytes('\ufeff[apps.w]\napp = "m:a"\n'.encode())
    assert "w" in load_config(path).config.apps


# -- syntax, unknown keys, types -----------------------------------------------------


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    issues = errors(tmp_path, '[apps.web]\napp = "m:a"\nworkers = = 3\n')
    assert len(issues) == 1
    assert issues[0].line == 3
    assert issues[0].message.startswith("invalid TOML: ")
    assert "(at line" not in issues[0].message


def test_toml_error_at_end_of_file(tmp_path: Path) -> None:
    issues = errors(tmp_path, '[apps.web]\napp = "m:a\n')
    assert issues[0].line == 2


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    issues = errors(tmp_path, '[apps.web]\napp = "m:a"\n\nwokers = 3\n')
    issue = only(issues, "apps.web.wokers")
    assert issue.line == 4
    assert issue.message == "unknown key 'wokers'; did you mean 'workers'?"


def test_unknown_key_in_small_table_lists_allowed(tmp_path: Path) -> None:
    issues = errors(tmp_path, '[apps.web]\napp = "m:a"\nbackoff = { zzz = 1 }\n')
    issue = only(issues, "apps.web.backoff.zzz")
    assert issue.line == 3
    assert "expected one of: initial, factor, max, reset_after" in issue.message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    issues = errors(tmp_path, '[app.web]\napp = "m:a"\n')
    assert only(issues, "app").message == "unknown key 'app'; did you mean 'apps'?"
    assert only(issues, "app").line == 1
    assert only(issues, "apps").message.startswith("no apps defined")


def test_unknown_key_in_gaia_table(tmp_path: Path) -> None:
    issues = errors(tmp_path, '[gaia]\nstop_timout = "1s"\n[apps.w]\napp = "m:a"\n')
    issue = only(issues, "gaia.stop_timout")
    assert (issue.line, issue.message) == (
        2,
        "unknown key 'stop_timout'; did you mean 'stop_timeout'?",
    )


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        (
            'workers = "four"',
            "apps.web.workers",
            'expected a number of processes (>= 1), "auto" or { min = N, max = M }',
        ),
        ("workers = 0", "apps.web.workers", "must be >= 1, got 0"),
        ("workers = true", "apps.web.workers", "got a boolean"),
        ('max_requests = "10"', "apps.web.max_requests", "expected an integer, got string '10'"),
        ("max_requests = -1", "apps.web.max_requests", "must be >= 0, got -1"),
        ("threads = 1.5", "apps.web.threads", "expected an integer, got number 1.5"),
        ("cwd = 5", "apps.web.cwd", "expected a string, got integer 5"),
        ('server = "nginx"', "apps.web.server", "must be 'gunicorn' or 'uvicorn', got string"),
        ('restart = "sometimes"', "apps.web.restart", "'always', 'on-failure' or 'never'"),
        ('worker_class = "gevent"', "apps.web.worker_class", "'sync' or 'gthread'"),
        ('timeout = "abc"', "apps.web.timeout", 'expected a duration such as "500ms"'),
        ("timeout = -3", "apps.web.timeout", "must not be negative"),
        ('memory = { worker = "lots" }', "apps.web.memory.worker", "expected a size such as"),
        ("memory = { samples = 0 }", "apps.web.memory.samples", "must be >= 1, got 0"),
        ("backoff = { factor = 0.5 }", "apps.web.backoff.factor", "must be >= 1.0, got 0.5"),
        ("health = 5", "apps.web.health", "expected a table, got integer 5"),
        ('health = "healthz"', "apps.web.health.path", 'must start with "/"'),
        ("health = { failures = 0 }", "apps.web.health.failures", "must be >= 1"),
        ('bind = "localhost"', "apps.web.bind", 'expected "HOST:PORT"'),
        ('bind = "0.0.0.0:70000"', "apps.web.bind", "between 1 and 65535, got 70000"),
        ('bind = "0.0.0.0:0"', "apps.web.bind", "between 1 and 65535, got 0"),
        ('bind = "[nope]:80"', "apps.web.bind", "is not an IPv6 address"),
        ('bind = "::1:80"', "apps.web.bind", "brackets"),
        ('bind = "unix:"', "apps.web.bind", "no socket path"),
        ('bind = "h:http"', "apps.web.bind", "port must be a number"),
        ("bind = []", "apps.web.bind", "must not be empty"),
        ("bind = 8000", "apps.web.bind", "expected an array, got integer 8000"),
        ('prestart = [""]', "apps.web.prestart[0]", "must not be empty"),
        ("prestart = [[]]", "apps.web.prestart[0]", "must not be empty"),
        ("prestart = [3]", "apps.web.prestart[0]", "expected a command string or an array"),
        ("prestart = ['echo \"x']", "apps.web.prestart[0]", "cannot split the command line"),
        ("https = 1", "apps.web.https", "expected a table, got integer 1"),
        ('https = { certfile = "c.pem" }', "apps.web.https.keyfile", "required key is missing"),
        ("env = 1", "apps.web.env", "expected a table, got an integer"),
        ("env = { A = [1] }", "apps.web.env.A", "expected a string, number or boolean"),
        ("start_timeout = 1979-05-27", "apps.web.start_timeout", "got a value of type date"),
    ],
)
def test_bad_value_is_reported_on_its_line(
    tmp_path: Path, line: str, key: str, message: str
) -> None:
    issues = errors(tmp_path, f'[apps.web]\napp = "m:a"\n{line}\n', check_files=False)
    issue = only(issues, key)
    assert issue.line == 3
    assert message in issue.message
    assert issue.file == tmp_path / "gaia.toml"


def test_bind_error_in_multiline_list_points_at_the_element(tmp_path: Path) -> None:
    text = '[apps.web]\napp = "m:a"\nbind = [\n  "127.0.0.1:80",\n  "nope",\n]\n'
    issue = only(errors(tmp_path, text), "apps.web.bind[1]")
    assert issue.line == 5


@pytest.mark.parametrize(
    "value",
    ["app", "app:", ":app", "app:1x", "my-app:app", "app:app.", "a..b:c", "app:class", "a:b()()"],
)
def test_malformed_import_string(tmp_path: Path, value: str) -> None:
    issue = only(errors(tmp_path, f'[apps.web]\napp = "{value}"\n'), "apps.web.app")
    assert issue.line == 2
    assert "expected an import string" in issue.message


@pytest.mark.parametrize("value", ["app:app", "pkg.mod:create_app()", "a.b:c.d", "ünï:cödé"])
def test_valid_import_strings(tmp_path: Path, value: str) -> None:
    assert load(tmp_path, f'[apps.web]\napp = "{value}"\n').config.apps["web"].app == value


# -- rules across keys ----------------------------------------------------------------


def test_app_and_command_together(tmp_path: Path) -> None:
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\ncommand = "x"\n'), "apps.w.command")
    assert issue.line == 3
    assert "not both" in issue.message


def test_neither_app_nor_command(tmp_path: Path) -> None:
    issue = only(errors(tmp_path, "[gaia]\n\n[apps.w]\nworkers = 2\n"), "apps.w")
    assert issue.line == 3
    assert "missing `app`" in issue.message


def test_worker_class_with_uvicorn_server(tmp_path: Path) -> None:
    text = '[apps.w]\napp = "m:a"\nserver = "uvicorn"\nworker_class = "sync"\n'
    issue = only(errors(tmp_path, text), "apps.w.worker_class")
    assert issue.line == 4
    assert 'server = "gunicorn" only' in issue.message


@pytest.mark.parametrize(
    "line",
    [
        'server = "uvicorn"',
        'worker_class = "sync"',
        'bind = "127.0.0.1:9000"',
        'https = { certfile = "c", keyfile = "k" }',
        'health = "/h"',
        "threads = 2",
        "max_requests = 10",
    ],
)
def test_web_keys_on_command_app(tmp_path: Path, line: str) -> None:
    key = line.split(" ")[0]
    text = f'[apps.q]\ncommand = ["python", "w.py"]\n{line}\n'
    issue = only(errors(tmp_path, text, check_files=False), f"apps.q.{key}")
    assert issue.line == 3
    assert issue.message == f"`{key}` is only for `app` apps; this app runs a `command`"


def test_threads_need_gthread(tmp_path: Path) -> None:
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\nthreads = 4\n'), "apps.w.threads")
    assert issue.line == 3
    assert 'needs worker_class = "gthread"' in issue.message


def test_threads_with_uvicorn_server(tmp_path: Path) -> None:
    text = '[apps.w]\napp = "m:a"\nserver = "uvicorn"\nthreads = 4\n'
    assert only(errors(tmp_path, text), "apps.w.threads").line == 4


def test_client_auth_needs_ca_certs(tmp_path: Path) -> None:
    text = (
        '[apps.w]\napp = "m:a"\n'
        'https = { certfile = "c", keyfile = "k", client_auth = "required" }\n'
    )
    issue = only(errors(tmp_path, text, check_files=False), "apps.w.https.client_auth")
    assert issue.line == 3
    assert "needs ca_certs" in issue.message


def test_memory_worker_above_total(tmp_path: Path) -> None:
    text = '[apps.w]\napp = "m:a"\nmemory = { worker = "1GiB", total = "512MiB" }\n'
    issue = only(errors(tmp_path, text), "apps.w.memory.worker")
    assert issue.line == 3
    assert issue.message == "memory.worker (1GiB) is larger than memory.total (512MiB)"


@pytest.mark.parametrize("name", ["-web", "web.api", "wéb", "has space", "_x"])
def test_bad_app_names(tmp_path: Path, name: str) -> None:
    text = f'[gaia]\n\n[apps."{name}"]\napp = "m:a"\n'
    issues = errors(tmp_path, text)
    assert len(issues) == 1
    assert issues[0].key == format_key(("apps", name))
    assert issues[0].line == 3
    assert "invalid app name" in issues[0].message


def test_app_names_fit_every_file_and_export(tmp_path: Path) -> None:
    longest = "a" * 63
    assert longest in load(tmp_path, f'[apps.{longest}]\napp = "m:a"\n').config.apps
    issue = only(errors(tmp_path, f'[apps.{"a" * 240}]\napp = "m:a"\n'), f"apps.{'a' * 240}")
    assert issue.line == 1
    assert issue.message.startswith("app name of 240 characters: at most 63")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('command = "echo a\\u0000b"', "apps.w.command"),
        ('command = ["echo", "a\\u0000b"]', "apps.w.command[1]"),
        ('command = "true"\nprestart = [["echo", "\\u0000"]]', "apps.w.prestart[0][1]"),
    ],
)
def test_an_argument_with_nul_is_refused_as_exec_would(tmp_path: Path, line: str, key: str) -> None:
    issue = only(errors(tmp_path, f"[apps.w]\n{line}\n"), key)
    assert issue.message == "an argument cannot contain a NUL character"


def test_a_directory_gaia_may_not_look_into_is_a_config_error(tmp_path: Path) -> None:
    # stat() of pid 1's root link fails with EACCES for whoever may not ptrace it: even
    # root, in a container. Path.is_dir() raises then, which was "a gaia bug".
    try:
        Path("/proc/1/root/").stat()
        pytest.skip("pid 1's root is reachable here: nothing to refuse")
    except PermissionError:
        pass
    text = '[apps.w]\ncommand = "true"\ncwd = "/proc/1/root"\n'
    issue = only(errors(tmp_path, text), "apps.w.cwd")
    assert issue.message == "cannot reach /proc/1/root: Permission denied"


@pytest.mark.parametrize("text", ["[gaia]\n", "[apps]\n", "apps = {}\n"])
def test_no_apps(tmp_path: Path, text: str) -> None:
    issue = only(errors(tmp_path, text), "apps")
    assert issue.message == "no apps defined: add an [apps.NAME] table"


# -- bind clashes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("127.0.0.1:8000", "127.0.0.1:8000"),
        ("0.0.0.0:8000", "127.0.0.1:8000"),
        ("127.0.0.1:8000", "0.0.0.0:8000"),
        ("localhost:8000", "127.0.0.1:8000"),
        ("[::]:8000", "10.0.0.1:8000"),
        ("[::1]:8000", "[0:0:0:0:0:0:0:1]:8000"),
        ("unix:/tmp/a.sock", "unix:/tmp/./a.sock"),
    ],
)
def test_same_bind_in_two_apps(tmp_path: Path, first: str, second: str) -> None:
    text = f"""
    [apps.one]
    app = "m:a"
    bind = "{first}"

    [apps.two]
    app = "m:a"
    bind = "{second}"
    """
    issue = only(errors(tmp_path, text, check_files=False), "apps.two.bind")
    assert issue.line == 7
    assert "is already used by app 'one'" in issue.message


@pytest.mark.parametrize(
    ("first", "second"),
    [("127.0.0.1:8000", "127.0.0.1:8001"), ("127.0.0.1:8000", "10.0.0.1:8000"),
     ("[::1]:8000", "127.0.0.1:8000"), ("unix:/tmp/a.sock", "unix:/tmp/b.sock")],
)  # fmt: skip
def test_different_binds_do_not_clash(tmp_path: Path, first: str, second: str) -> None:
    text = f"""
    [apps.one]
    app = "m:a"
    bind = "{first}"
    [apps.two]
    app = "m:a"
    bind = "{second}"
    """
    assert len(load(tmp_path, text, check_files=False).config.apps) == 2


def test_default_binds_clash(tmp_path: Path) -> None:
    text = '[apps.one]\napp = "m:a"\n\n[apps.two]\napp = "m:b"\n'
    issue = only(errors(tmp_path, text), "apps.two")
    assert issue.line == 4
    assert issue.message == (
        "the default bind 127.0.0.1:8000 is already used by app 'one'; "
        "set `bind` to another address"
    )


def test_prestart_string_errors_name_the_key_as_written(tmp_path: Path) -> None:
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\nprestart = ""\n'), "apps.w.prestart")
    assert (issue.line, issue.message) == (3, "must not be empty")


def test_format_key() -> None:
    assert format_key(("apps", "web", "bind", 1)) == "apps.web.bind[1]"
    assert format_key(("apps", "my app", "x")) == 'apps."my app".x'
    assert format_key(()) == ""


def test_clash_within_a_list_points_at_the_element(tmp_path: Path) -> None:
    text = """
    [apps.one]
    app = "m:a"
    bind = ["127.0.0.1:9000", "0.0.0.0:9001"]
    [apps.two]
    app = "m:a"
    bind = [
        "127.0.0.1:9002",
        "127.0.0.1:9001",
    ]
    """
    issue = only(errors(tmp_path, text, check_files=False), "apps.two.bind[1]")
    assert issue.line == 8
    assert "app 'one'" in issue.message


def test_same_bind_twice_in_one_app(tmp_path: Path) -> None:
    text = '[apps.w]\napp = "m:a"\nbind = ["0.0.0.0:80", "127.0.0.1:80"]\n'
    issue = only(errors(tmp_path, text, check_files=False), "apps.w.bind[1]")
    assert "already used by this app" in issue.message


# -- files ------------------------------------------------------------------------


def test_missing_cwd(tmp_path: Path) -> None:
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\ncwd = "nope"\n'), "apps.w.cwd")
    assert issue.line == 3
    assert issue.message == f"directory {tmp_path / 'nope'} does not exist"


def test_cwd_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\ncwd = "file"\n'), "apps.w.cwd")
    assert "is not a directory" in issue.message


def test_missing_env_files(tmp_path: Path) -> None:
    text = '[gaia]\nenv_file = "g.env"\n[apps.w]\napp = "m:a"\nenv_file = "w.env"\n'
    issues = errors(tmp_path, text)
    assert only(issues, "gaia.env_file").line == 2
    assert only(issues, "gaia.env_file").message == f"file not found: {tmp_path / 'g.env'}"
    assert only(issues, "apps.w.env_file").line == 5


def test_env_file_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "envdir").mkdir()
    issue = only(
        errors(tmp_path, '[apps.w]\napp = "m:a"\nenv_file = "envdir"\n'), "apps.w.env_file"
    )
    assert issue.message == f"{tmp_path / 'envdir'} is a directory, expected a file"


def test_unreadable_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("A=1\n")
    # Tests run as root, which can read anything; simulate the open failing.
    real_open = os.open

    def denied(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith(".env"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\nenv_file = ".env"\n'), "apps.w.env_file")
    assert issue.message == f"{tmp_path / '.env'} cannot be read: permission denied"


def test_env_file_whose_read_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("A=1\n")

    env_inode = (tmp_path / ".env").stat().st_ino
    real_read = os.read

    def broken(fd: int, size: int) -> bytes:
        if os.fstat(fd).st_ino == env_inode:
            raise OSError(5, "Input/output error")
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", broken)
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\nenv_file = ".env"\n'), "apps.w.env_file")
    assert issue.message == f"{tmp_path / '.env'} cannot be read: Input/output error"


def test_env_file_not_utf8(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"A=\xff\n")
    issue = only(errors(tmp_path, '[apps.w]\napp = "m:a"\nenv_file = ".env"\n'), "apps.w.env_file")
    assert "is not UTF-8 text" in issue.message


def test_malformed_env_file_lines_point_into_the_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("GOOD=1\nthis is secret-ish\nTOKEN='s3cret\n")
    text = '[apps.a]\napp = "m:a"\nenv_file = ".env"\n[apps.b]\ncommand = "x"\nenv_file = ".env"\n'
    issues = errors(tmp_path, text)
    assert [(i.file, i.line) for i in issues] == [(env, 2), (env, 3)]
    assert str(issues[0]) == f"{env}:2: expected KEY=VALUE"
    assert issues[1].key == "TOKEN"
    assert all("s3cret" not in str(i) and "secret-ish" not in str(i) for i in issues)


def test_env_values_never_appear_in_messages(tmp_path: Path) -> None:
    text = '[apps.w]\napp = "m:a"\nenv = { TOKEN = ["hunter2"], N = { x = "hunter2" } }\n'
    issues = errors(tmp_path, text)
    assert {i.key for i in issues} == {"apps.w.env.TOKEN", "apps.w.env.N"}
    assert all("hunter2" not in str(i) for i in issues)
    issues = errors(tmp_path, '[apps.w]\napp = "m:a"\nenv = "TOKEN=hunter2"\n')
    assert all("hunter2" not in str(i) for i in issues)


def test_tls_files_missing(tmp_path: Path) -> None:
    text = (
        '[apps.w]\napp = "m:a"\n'
        'https = { certfile = "c.pem", keyfile = "k.pem", ca_certs = "ca.pem",'
        ' client_auth = "optional" }\n'
    )
    issues = errors(tmp_path, text)
    for key in ("certfile", "keyfile", "ca_certs"):
        assert only(issues, f"apps.w.https.{key}").line == 3
        assert "file not found" in only(issues, f"apps.w.https.{key}").message


def test_tls_good_pair(tmp_path: Path, tls_files: TlsFiles) -> None:
    text = f"""
    [apps.w]
    app = "m:a"
    https = {{ certfile = "{tls_files.cert}", keyfile = "{tls_files.key}", ca_certs = "{tls_files.cert}", client_auth = "required" }}
    """
    https = load(tmp_path, text).config.apps["w"].https
    assert https is not None
    assert (https.certfile, https.keyfile) == (tls_files.cert, tls_files.key)
    assert https.client_auth is ClientAuth.REQUIRED


def test_tls_relative_paths(tmp_path: Path, tls_files: TlsFiles) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "c.pem").write_bytes(tls_files.cert.read_bytes())
    (certs / "k.pem").write_bytes(tls_files.key.read_bytes())
    text = (
        '[apps.w]\napp = "m:a"\n[apps.w.https]\ncertfile = "certs/c.pem"\nkeyfile = "certs/k.pem"\n'
    )
    https = load(tmp_path, text).config.apps["w"].https
    assert https is not None
    assert https.certfile == certs / "c.pem"


def test_tls_key_does_not_match(tmp_path: Path, tls_files: TlsFiles) -> None:
    text = f"""
    [apps.w]
    app = "m:a"

    [apps.w.https]
    certfile = "{tls_files.cert}"
    keyfile = "{tls_files.other_key}"
    """
    issue = only(errors(tmp_path, text), "apps.w.https.keyfile")
    assert issue.line == 6
    assert "does not match the certificate in certfile" in issue.message
    assert "KEY_VALUES_MISMATCH" in issue.message
    assert "_ssl.c" not in issue.message


def test_tls_garbage_files(tmp_path: Path, tls_files: TlsFiles) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    text = f"""
    [apps.w]
    app = "m:a"
    [apps.w.https]
    certfile = "junk.pem"
    keyfile = "{tls_files.key}"
    ca_certs = "junk.pem"
    client_auth = "optional"
    """
    issues = errors(tmp_path, text)
    assert "is not a PEM certificate" in only(issues, "apps.w.https.certfile").message
    assert only(issues, "apps.w.https.certfile").line == 4
    assert only(issues, "apps.w.https.ca_certs").line == 6


def test_tls_key_that_is_not_a_key(tmp_path: Path, tls_files: TlsFiles) -> None:
    (tmp_path / "k.pem").write_text("nope\n")
    text = (
        f'[apps.w]\napp = "m:a"\nhttps = {{ certfile = "{tls_files.cert}", keyfile = "k.pem" }}\n'
    )
    issue = only(errors(tmp_path, text), "apps.w.https.keyfile")
    assert issue.message.startswith(f"cannot load {tmp_path / 'k.pem'} with certfile")


def test_tls_certfile_is_a_directory(tmp_path: Path, tls_files: TlsFiles) -> None:
    https = f'https = {{ certfile = "{tmp_path}", keyfile = "{tls_files.key}" }}'
    text = f'[apps.w]\napp = "m:a"\n{https}\n'
    issue = only(errors(tmp_path, text), "apps.w.https.certfile")
    assert issue.message == f"{tmp_path} is a directory, expected a file"


def test_unix_socket_directory_must_exist(tmp_path: Path) -> None:
    issue = only(
        errors(tmp_path, '[apps.w]\napp = "m:a"\nbind = "unix:run/w.sock"\n'), "apps.w.bind"
    )
    assert issue.line == 3
    assert "for the unix socket does not exist" in issue.message


def test_check_files_false_skips_the_disk(tmp_path: Path) -> None:
    text = """
    [gaia]
    env_file = "missing.env"
    [apps.w]
    app = "m:a"
    cwd = "missing"
    env_file = "missing.env"
    env = { A = "1" }
    https = { certfile = "missing.pem", keyfile = "missing.pem" }
    """
    app = load(tmp_path, text, check_files=False).config.apps["w"]
    assert app.cwd == tmp_path / "missing"
    assert app.env == {"A": "1"}


# -- warnings, all-at-once -------------------------------------------------------------


def test_memory_warning(tmp_path: Path) -> None:
    text = '[apps.w]\napp = "m:a"\nworkers = 6\nmemory = { worker = "2GiB" }\n'
    loaded = load(tmp_path, text)
    assert len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    assert (warning.key, warning.line) == ("apps.w.memory.worker", 4)
    assert warning.message == "workers x memory.worker = 12GiB exceeds this machine's 8GiB"


def test_memory_warning_uses_resolved_auto_workers(tmp_path: Path) -> None:
    text = '[apps.w]\ncommand = "x"\nworkers = "auto"\nmemory = { worker = "2GiB" }\n'
    assert load(tmp_path, text).warnings == ()  # 3 x 2GiB fits in 8GiB


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = """
    [gaia]
    stop_timeout = "soon"

    [apps.web]
    app = "not an import"
    workers = 0
    server = "uvicorn"
    worker_class = "sync"
    cwd = "nope"

    [apps.queue]
    command = "x"
    bind = "127.0.0.1:1"
    """
    issues = errors(tmp_path, text)
    assert [(i.line, i.key) for i in issues] == [
        (2, "gaia.stop_timeout"),
        (5, "apps.web.app"),
        (6, "apps.web.workers"),
        (8, "apps.web.worker_class"),
        (9, "apps.web.cwd"),
        (13, "apps.queue.bind"),
    ]


# -- finding and reading the file ---------------------------------------------------


def test_find_explicit_wins(tmp_path: Path) -> None:
    (tmp_path / "gaia.toml").write_text("")
    (tmp_path / "other.toml").write_text("")
    (tmp_path / "env.toml").write_text("")
    environ = {"GAIA_CONFIG": "env.toml"}
    assert find_config_path(Path("other.toml"), environ, tmp_path) == tmp_path / "other.toml"
    assert find_config_path(None, environ, tmp_path) == tmp_path / "env.toml"
    assert find_config_path(None, {"GAIA_CONFIG": ""}, tmp_path) == tmp_path / "gaia.toml"
    absolute = tmp_path / "other.toml"
    assert find_config_path(absolute, {}, Path("/")) == absolute


@pytest.mark.parametrize(
    ("explicit", "environ", "message"),
    [
        (Path("missing.toml"), {}, "config file given with -c does not exist"),
        (None, {"GAIA_CONFIG": "missing.toml"}, "config file named by $GAIA_CONFIG does not exist"),
        (None, {}, "no gaia.toml in"),
        (Path(), {}, "config file given with -c is not a file"),
    ],
)
def test_find_reports_what_is_missing(
    tmp_path: Path, explicit: Path | None, environ: dict[str, str], message: str
) -> None:
    (tmp_path / "gaia.toml").write_text("")  # never a silent fallback for named paths
    if explicit is None and not environ:
        (tmp_path / "gaia.toml").unlink()
    with pytest.raises(ConfigError) as info:
        find_config_path(explicit, environ, tmp_path)
    assert message in str(info.value)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file does not exist"):
        load_config(tmp_path / "gaia.toml")


def test_load_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file is a directory, expected a file"):
        load_config(tmp_path)


def test_load_binary_file(tmp_path: Path) -> None:
    (tmp_path / "gaia.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(tmp_path / "gaia.toml")


# -- issue and error rendering ------------------------------------------------------


def test_issue_str() -> None:
    path = Path("gaia.toml")
    assert str(ConfigIssue(path, 12, "apps.web.workers", "must be >= 1, got 0")) == (
        "gaia.toml:12: apps.web.workers: must be >= 1, got 0"
    )
    assert str(ConfigIssue(path, None, "apps", "no apps")) == "gaia.toml: apps: no apps"
    assert str(ConfigIssue(path, 3, "", "bad")) == "gaia.toml:3: bad"


def test_config_error_str_and_pickle() -> None:
    issues = [ConfigIssue(Path("a"), 1, "k", "m1"), ConfigIssue(Path("a"), 2, "", "m2")]
    error = ConfigError(issues)
    assert str(error) == "a:1: k: m1\na:2: m2"
    clone = pickle.loads(pickle.dumps(error))
    assert clone.issues == error.issues
