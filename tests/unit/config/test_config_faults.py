"""Configs that used to crash `gaia check`, `gaia up` or a reload: each must be a ConfigError
that names the file (and the line where one exists), never another exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, ConfigIssue, load_config, parse_config_text
from gaia_runner.config import load as load_module
from gaia_runner.config.restart_only import check_live_edit

HEAD = '[apps.web]\napp = "m:app"\n'


@pytest.fixture(autouse=True)
def _fixed_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "machine_memory", lambda: 8 * 1024**3)
    monkeypatch.setattr(load_module, "available_cpus", lambda: 3)


def issues_of(folder: Path, text: str) -> list[ConfigIssue]:
    path = folder / "gaia.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert all(issue.file == path for issue in info.value.issues)
    return list(info.value.issues)


def one(folder: Path, text: str) -> ConfigIssue:
    issues = issues_of(folder, text)
    assert len(issues) == 1, issues
    return issues[0]


@pytest.mark.parametrize("key", ["cwd", "env_file"])
def test_home_of_an_unknown_user(tmp_path: Path, key: str) -> None:
    issue = one(tmp_path, f'{HEAD}{key} = "~nobody_here/app"\n')
    assert (issue.line, issue.key) == (3, f"apps.web.{key}")
    assert "'~nobody_here'" in issue.message


def test_home_of_an_unknown_user_in_tls_state_dir_and_socket(tmp_path: Path) -> None:
    text = (
        '[gaia]\nstate_dir = "~nobody_here/s"\n'
        '[apps.web]\napp = "m:app"\nbind = "unix:~nobody_here/a.sock"\n'
        'https = { certfile = "~nobody_here/c", keyfile = "~nobody_here/k" }\n'
    )
    keys = {i.key for i in issues_of(tmp_path, text)}
    assert {"gaia.state_dir", "apps.web.bind", "apps.web.https.certfile"} <= keys


def test_deeply_nested_array(tmp_path: Path) -> None:
    issue = one(tmp_path, f"{HEAD}x = {'[' * 5000}{']' * 5000}\n")
    assert issue.line == 3
    assert "nested too deeply" in issue.message


@pytest.mark.parametrize("key", ["A=B", "A\\u0000B", ""])
def test_env_key_the_environment_cannot_hold(tmp_path: Path, key: str) -> None:
    issue = one(tmp_path, f'{HEAD}env = {{ "{key}" = "hunter2" }}\n')
    assert issue.line == 3
    assert issue.key.startswith("apps.web.env")
    assert "[key]" not in issue.key
    assert "invalid variable name" in issue.message
    assert "hunter2" not in str(issue)


def test_env_value_with_a_nul_is_reported_without_the_value(tmp_path: Path) -> None:
    issue = one(tmp_path, f'{HEAD}env = {{ TOKEN = "hunter2\\u0000" }}\n')
    assert (issue.line, issue.key) == (3, "apps.web.env.TOKEN")
    assert "hunter2" not in str(issue)


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    issue = one(tmp_path, f'[gaia]\nstate_dir = "taken"\n{HEAD}')
    assert (issue.line, issue.key) == (2, "gaia.state_dir")
    assert "is a file" in issue.message


def test_state_dir_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    issue = one(tmp_path, f'[gaia]\nstate_dir = "taken/state"\n{HEAD}')
    assert "cannot create" in issue.message


def test_default_state_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / ".gaia").write_text("")
    issue = one(tmp_path, HEAD)
    assert issue.key == "gaia.state_dir"


def _read_only_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
        return folder
    # root writes through permission bits; /proc/sys refuses even root.
    if os.access("/proc/sys", os.W_OK):
        pytest.skip("no directory here that root cannot write")
    return Path("/proc/sys")


def test_state_dir_that_is_read_only(tmp_path: Path) -> None:
    folder = _read_only_dir(tmp_path)
    issue = one(tmp_path, f'[gaia]\nstate_dir = "{folder}/state"\n{HEAD}')
    assert "not writable" in issue.message


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ("timeout = 1e300", "apps.web.timeout", "at most 1 day"),
        ('timeout = "2d"', "apps.web.timeout", "at most 1 day"),
        ("timeout = inf", "apps.web.timeout", "expected a duration"),
        ("timeout = nan", "apps.web.timeout", "expected a duration"),
        ('health = { path = "/", interval = 0 }', "apps.web.health.interval", "at least 100ms"),
        ('health = { path = "/", timeout = "1ms" }', "apps.web.health.timeout", "at least 100ms"),
        ("memory = { interval = 0 }", "apps.web.memory.interval", "at least 100ms"),
        ('memory = { interval = "50ms" }', "apps.web.memory.interval", "at least 100ms"),
        ("backoff = { max = 1e300 }", "apps.web.backoff.max", "at most 1 day"),
    ],
)
def test_duration_out_of_range(tmp_path: Path, line: str, key: str, words: str) -> None:
    issue = one(tmp_path, f"{HEAD}{line}\n")
    assert (issue.line, issue.key) == (3, key)
    assert words in issue.message


def test_stop_timeout_out_of_range(tmp_path: Path) -> None:
    issue = one(tmp_path, f"[gaia]\nstop_timeout = 1e300\n{HEAD}")
    assert (issue.line, issue.key) == (2, "gaia.stop_timeout")


def test_syntax_error_quotes_the_line(tmp_path: Path) -> None:
    issue = one(tmp_path, f"{HEAD}workers = \n")
    assert issue.line == 3
    assert str(issue).endswith("invalid TOML: Invalid value at column 11 in: workers =")


@pytest.mark.parametrize(
    "text",
    [
        f'{HEAD}env = {{ TOKEN = "hunter2 }}\n',
        f"{HEAD}[apps.web.env]\nTOKEN = hunter2\n",
        f"{HEAD}env.TOKEN = hunter2\n",
    ],
)
def test_syntax_error_in_env_hides_the_value(tmp_path: Path, text: str) -> None:
    issue = one(tmp_path, text)
    assert "the line is not shown: it may be part of an env value" in issue.message
    assert "hunter2" not in str(issue)


def test_syntax_error_at_a_unicode_line_separator_counts_lines_as_toml_does(
    tmp_path: Path,
) -> None:
    issue = one(tmp_path, f"# note \u2028 more\n{HEAD}workers = ")
    assert issue.line == 4
    assert issue.message.endswith("in: workers =")


def test_any_unexpected_exception_becomes_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("hunter2")

    monkeypatch.setattr(load_module, "check_rules", broken)
    with pytest.raises(ConfigError) as info:
        parse_config_text(HEAD, tmp_path / "gaia.toml")
    (issue,) = info.value.issues
    assert issue.file == tmp_path / "gaia.toml"
    assert "RuntimeError" in issue.message
    assert "hunter2" not in issue.message


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        ('state_dir = "elsewhere"', "state_dir"),
        ('stop_timeout = "5s"', "stop_timeout"),
        ("logs = { keep = 5 }", "logs"),
    ],
)
def test_restart_only_settings_are_refused_live(tmp_path: Path, edit: str, key: str) -> None:
    path = tmp_path / "gaia.toml"
    running = parse_config_text(f"[gaia]\n{HEAD}", path).config
    edited = parse_config_text(f"[gaia]\n{edit}\n{HEAD}", path)
    with pytest.raises(ConfigError) as info:
        check_live_edit(running, edited)
    (issue,) = info.value.issues
    assert (issue.line, issue.key) == (2, f"gaia.{key}")
    assert f"restart gaia to change {key}" in issue.message


def test_other_edits_are_live(tmp_path: Path) -> None:
    path = tmp_path / "gaia.toml"
    (tmp_path / "shared.env").write_text("A=1\n")
    running = parse_config_text(HEAD, path).config
    check_live_edit(running, parse_config_text(f'{HEAD}workers = 4\nenv = {{ A = "2" }}\n', path))
    edited = parse_config_text(f'[gaia]\nenv_file = "shared.env"\n{HEAD}', path)
    check_live_edit(running, edited)


def test_log_rotation_settings(tmp_path: Path) -> None:
    path = tmp_path / "gaia.toml"
    default = parse_config_text(HEAD, path).config.gaia.logs
    assert (default.max_size, default.keep) == (10 * 1024**2, 3)
    text = f'[gaia]\nlogs = {{ max_size = "1MiB", keep = 0 }}\n{HEAD}'
    logs = parse_config_text(text, path).config.gaia.logs
    assert (logs.max_size, logs.keep) == (1024**2, 0)
    with pytest.raises(ConfigError) as info:
        parse_config_text(f"[gaia]\nlogs = {{ keep = -1, max_sise = 5 }}\n{HEAD}", path)
    keys = sorted(issue.key for issue in info.value.issues)
    assert keys == ["gaia.logs.keep", "gaia.logs.max_sise"]
