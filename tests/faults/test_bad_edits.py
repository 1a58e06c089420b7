"""Bad edits saved while gaia runs: each is refused with a located message, and the apps,
their processes and gaia itself carry on as if nothing had been saved."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from harness import Gaia, free_port, try_get, wait_until

BASE = """\
[gaia]
stop_timeout = "10s"

[apps.api]
app = "hello:app"
workers = 2
bind = "127.0.0.1:{api}"
env = {{ APP_VERSION = "v1" }}

[apps.side]
app = "hello:app"
server = "uvicorn"
bind = "127.0.0.1:{side}"
"""
PEM_FRAGMENT = "u5ZQ7y9rKd0cW1x3mJ8bN2vT6aQeR4s+LpY0hZ=="
SECRETS_ENV = f'TLS_KEY="-----BEGIN PRIVATE KEY-----\n{PEM_FRAGMENT}\n-----END PRIVATE KEY-----"\n'

# (name, what to change in BASE, a pattern the rejection must print)
EDITS: list[tuple[str, tuple[str, str], str]] = [
    (
        "home of an unknown user",
        ("[apps.api]\n", '[apps.api]\ncwd = "~nobody_here/app"\n'),
        r"gaia\.toml:5: apps\.api\.cwd: cannot expand '~nobody_here'",
    ),
    (
        "deeply nested array",
        ("[apps.side]\n", "[apps.side]\nx = " + "[" * 3000 + "]" * 3000 + "\n"),
        r"gaia\.toml:11: nested too deeply",
    ),
    (
        "'=' in an env key",
        ('{ APP_VERSION = "v1" }', '{ "A=B" = "v1" }'),
        r'gaia\.toml:8: apps\.api\.env\."A=B": invalid variable name',
    ),
    (
        "NUL in an env key",
        ('{ APP_VERSION = "v1" }', '{ "A\\u0000B" = "v1" }'),
        r"gaia\.toml:8: apps\.api\.env\..*: invalid variable name",
    ),
    (
        "state_dir is a file",
        ('stop_timeout = "10s"\n', 'stop_timeout = "10s"\nstate_dir = "a-file"\n'),
        r"gaia\.toml:3: gaia\.state_dir: .*a-file is a file",
    ),
    (
        "huge timeout",
        ("workers = 2\n", "workers = 2\ntimeout = 1e300\n"),
        r"gaia\.toml:7: apps\.api\.timeout: must be at most 1 day",
    ),
    (
        "an app named gaia (gaia's own log and line prefix)",
        ("[apps.side]\n", '[apps.gaia]\ncommand = ["sleep", "60"]\n\n[apps.side]\n'),
        r"gaia\.toml:10: apps\.gaia: app name 'gaia' is reserved",
    ),
    (
        "health interval 0",
        ("workers = 2\n", 'workers = 2\nhealth = { path = "/", interval = 0 }\n'),
        r"gaia\.toml:7: apps\.api\.health\.interval: must be at least 100ms",
    ),
    (
        "memory interval 0",
        ("workers = 2\n", "workers = 2\nmemory = { interval = 0 }\n"),
        r"gaia\.toml:7: apps\.api\.memory\.interval: must be at least 100ms",
    ),
    (
        "TOML syntax error",
        ("workers = 2\n", "workers = \n"),
        r"gaia\.toml:6: invalid TOML: Invalid value at column \d+ in: workers =",
    ),
    (
        "state_dir changed",
        ('stop_timeout = "10s"\n', 'stop_timeout = "10s"\nstate_dir = "elsewhere"\n'),
        r"gaia\.toml:3: gaia\.state_dir: .*restart gaia to change state_dir",
    ),
    (
        "stop_timeout changed",
        ('stop_timeout = "10s"\n', 'stop_timeout = "5s"\n'),
        r"gaia\.toml:2: gaia\.stop_timeout: .*restart gaia to change stop_timeout",
    ),
    (
        "multi-line value in an env file",
        ("workers = 2\n", 'workers = 2\nenv_file = "secrets.env"\n'),
        r"secrets\.env:1: TLS_KEY: unterminated double quote",
    ),
    (
        "NUL in a prestart argument",
        ("workers = 2\n", 'workers = 2\nprestart = [["echo", "a\\u0000b"]]\n'),
        r"gaia\.toml:7: apps\.api\.prestart\[0\]\[1\]: an argument cannot contain a NUL",
    ),
    (
        "NUL in a prestart command line",
        ("workers = 2\n", 'workers = 2\nprestart = "echo a\\u0000b"\n'),
        r"gaia\.toml:7: apps\.api\.prestart: an argument cannot contain a NUL",
    ),
    (
        "an app name too long for its files",
        ("[apps.side]\n", "[apps." + "x" * 240 + "]\ncommand = 'true'\n\n[apps.side]\n"),
        r"gaia\.toml:10: apps\.x+: app name of 240 characters: at most 63",
    ),
]
try:
    Path("/proc/1/root/").stat()
except PermissionError:  # a container's pid 1, not ours to follow
    EDITS.append(
        (
            "cwd gaia may not look into",
            ("[apps.api]\n", '[apps.api]\ncwd = "/proc/1/root"\n'),
            r"gaia\.toml:5: apps\.api\.cwd: cannot reach /proc/1/root: Permission denied",
        )
    )
if not os.access("/proc/sys", os.W_OK):
    EDITS.append(
        (
            "state_dir not writable",
            ('stop_timeout = "10s"\n', 'stop_timeout = "10s"\nstate_dir = "/proc/sys/gaia"\n'),
            r"gaia\.toml:3: gaia\.state_dir: cannot create /proc/sys/gaia: .* not writable",
        )
    )


def save_atomically(path: Path, text: str) -> None:
    """What editors do: write a temp file, then rename it over the original."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    tmp.replace(path)


def process_tree(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def both_serve(ports: tuple[int, int]) -> bool:
    return all((answer := try_get(port)) is not None and answer[0] == 200 for port in ports)


@pytest.mark.timeout(240)
def test_every_bad_edit_is_refused_and_changes_nothing(gaia, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a-file").write_text("")
    (tmp_path / "secrets.env").write_text(SECRETS_ENV)
    ports = (free_port(), free_port())
    base = BASE.format(api=ports[0], side=ports[1])
    g: Gaia = gaia(base)
    wait_until(lambda: both_serve(ports), 30, "both apps to answer")
    g.wait_for(r"api: starting -> running", timeout=30)
    g.wait_for(r"side: starting -> running", timeout=30)
    wait_until(lambda: len(process_tree(g.pid)) >= 4, 15, "every worker")
    pids = process_tree(g.pid)

    for name, (old, new), expected in EDITS:
        assert old in base, name
        mark = g.mark()
        save_atomically(g.config_path, base.replace(old, new, 1))
        g.wait_for(r"gaia\.toml not applied, apps unchanged", timeout=15, start=mark)
        g.wait_for(expected, timeout=5, start=mark)
        assert both_serve(ports), name
        assert process_tree(g.pid) == pids, name
        assert g.proc is not None and g.proc.poll() is None, name

    output = g.output()
    assert PEM_FRAGMENT not in output and "BEGIN" not in output
    assert "Traceback" not in output
    assert g.stop() == 0
    # Workers get the group's SIGTERM with their master and may outlive gaia by a moment.
    wait_until(lambda: not any(alive(pid) for pid in pids), 10, "no process left behind")
