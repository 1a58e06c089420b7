"""Find, read and validate a gaia.toml: the one entry point to configuration."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaia_runner.config.build import build_config
from gaia_runner.config.checks import check_rules, warn_memory
from gaia_runner.config.cpus import available_cpus
from gaia_runner.config.errors import ConfigError, ConfigIssue
from gaia_runner.config.files import check_files as check_files_on_disk
from gaia_runner.config.inputs import InputError, read_input
from gaia_runner.config.locate import KeyLines, deepest_line
from gaia_runner.config.model import GaiaConfig
from gaia_runner.config.privilege import Account, check_privilege
from gaia_runner.config.reporter import Reporter
from gaia_runner.config.schema import INVALID, Problems, validate
from gaia_runner.config.settings import FILE
from gaia_runner.config.syntax import syntax_issue

CONFIG_ENV_VAR = "GAIA_CONFIG"
_TOO_DEEP = "nested too deeply to read (arrays or tables inside each other)"
DEFAULT_CONFIG_NAME = "gaia.toml"


@dataclass(frozen=True)
class LoadedConfig:
    config: GaiaConfig
    warnings: tuple[ConfigIssue, ...]
    # Where each key was written, for problems found after loading (a reload's checks).
    lines: KeyLines = field(default_factory=lambda: KeyLines(""))
    read_digest: str | None = None  # what gaia.toml read: see source_digest


def find_config_path(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """``-c PATH``, else ``$GAIA_CONFIG``, else ``./gaia.toml``; absolute.

    A path the user named explicitly must exist: silently falling back to
    another file would run the wrong apps.
    """
    with _unexpected_as_config_error(Path(DEFAULT_CONFIG_NAME)):
        return _find_config_path(explicit, environ, cwd)


def _find_config_path(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    from_env = environ.get(CONFIG_ENV_VAR, "")
    if explicit is not None:
        candidate, origin = explicit, "given with -c"
    elif from_env:
        candidate, origin = Path(from_env), f"named by ${CONFIG_ENV_VAR}"
    else:
        candidate, origin = Path(DEFAULT_CONFIG_NAME), "in the current directory"
    try:
        path = cwd / candidate.expanduser()
    except RuntimeError:
        message = f"config file {origin}: cannot expand {str(candidate).split('/')[0]!r}"
        raise ConfigError([ConfigIssue(candidate, None, "", message)]) from None
    if path.exists() and not path.is_dir():
        return path  # a FIFO or device too: the reader says what is wrong with it
    if explicit is None and not from_env:
        message = (
            f"no {DEFAULT_CONFIG_NAME} in {cwd}: create one, pass -c PATH, or set ${CONFIG_ENV_VAR}"
        )
    elif path.exists():
        message = f"config file {origin} is not a file"
    else:
        message = f"config file {origin} does not exist"
    raise ConfigError([ConfigIssue(path, None, "", message)])


@contextlib.contextmanager
def _unexpected_as_config_error(path: Path) -> Iterator[None]:
    """Whatever goes wrong while reading a config is a problem with that config.

    Callers, the reload path above all, rely on ConfigError being the only
    failure: anything else would escape as a traceback or stop every app.
    The exception's text is left out because it may quote a value.
    """
    try:
        yield
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError([ConfigIssue(path, None, "", _TOO_DEEP)]) from None
    except Exception as exc:
        problem = f"cannot be read ({type(exc).__name__}); please report this as a gaia bug"
        raise ConfigError([ConfigIssue(path, None, "", problem)]) from None


def load_config(
    path: Path, *, check_files: bool = True, account: Account | None = None
) -> LoadedConfig:
    """Read and validate ``path``; raises ConfigError listing every problem, and nothing else."""
    with _unexpected_as_config_error(path):
        return _load_config(path, check_files=check_files, account=account)


def source_digest(path: Path) -> str:
    """What gaia.toml reads now, as a digest: compared with what a refused reload read, it
    tells whether the file moved on while that reload read it (a save that truncates and
    then writes can be read half-written, and the finished file may be what the watch
    last saw, so the watch would not report it again)."""
    try:
        return _digest(_read_source(path))
    except InputError as exc:
        return f"<{exc.reason}>"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_source(path: Path) -> bytes:
    # As root, gaia.toml decides what runs as root: it must be root's alone.
    return read_input(path, what="config file", trusted=True)


def _load_config(path: Path, *, check_files: bool, account: Account | None) -> LoadedConfig:
    path = Path(os.path.normpath(path.absolute()))
    try:
        data = _read_source(path)
    except InputError as exc:
        error = ConfigError([ConfigIssue(path, None, "", f"config file {exc.reason}")])
        error.read_digest = f"<{exc.reason}>"
        raise error from None
    digest = _digest(data)
    try:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 text: {exc.reason}"
            raise ConfigError([ConfigIssue(path, None, "", problem)]) from None
        loaded = _parse_config_text(text, path, check_files=check_files, account=account)
    except ConfigError as exc:
        exc.read_digest = digest
        raise
    return dataclasses.replace(loaded, read_digest=digest)


def parse_config_text(text: str, path: Path, *, check_files: bool = True) -> LoadedConfig:
    """Validate ``text`` as if read from ``path`` (used for messages and relative paths)."""
    with _unexpected_as_config_error(path):
        return _parse_config_text(text, path, check_files=check_files, account=None)


def _parse_config_text(
    text: str, path: Path, *, check_files: bool, account: Account | None
) -> LoadedConfig:
    path = Path(os.path.normpath(path.absolute()))
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([syntax_issue(exc, text, path)]) from None
    except RecursionError:
        raise ConfigError([ConfigIssue(path, deepest_line(text), "", _TOO_DEEP)]) from None
    lines = KeyLines(text)
    report = Reporter(path, lines)
    raw = _validate(data, report)
    check_rules(data, path.parent, report)
    env_files = check_files_on_disk(data, path.parent, report) if check_files else None
    if check_files:  # like the files: what this machine and gaia's account allow
        check_privilege(data, report, account)
    if report.errors or raw is None:
        raise ConfigError(report.sorted_errors())
    config = build_config(raw, path, env_files, available_cpus)
    warn_memory(config, machine_memory(), report)
    return LoadedConfig(config, report.sorted_warnings(), lines)


def machine_memory() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _validate(data: Mapping[str, object], report: Reporter) -> Mapping[str, Any] | None:
    problems: Problems = []
    raw = validate(FILE, data, (), problems)
    for key, message in problems:
        report.error(key, message)
    if raw is INVALID:
        return None
    assert isinstance(raw, dict)
    return raw
