"""Which running gaia a command talks to, found without validating gaia.toml.

`gaia status`, `stop`, `logs`, `down`... are needed most when the file on disk is
broken (a bad edit gaia refused), so they read only `[gaia].state_dir` from it, as
leniently as possible: parsed TOML if it parses, else a line scan of the `[gaia]`
table, else the default `.gaia` next to the config file. A gaia that runs this file
from another state dir (state_dir was edited while it runs) is found by discover.py.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path

from gaia_runner.config import ConfigError, find_config_path
from gaia_runner.config.files import DEFAULT_STATE_DIR, resolve_path
from gaia_runner.config.inputs import InputError, read_input
from gaia_runner.config.load import DEFAULT_CONFIG_NAME
from gaia_runner.discover import running_for
from gaia_runner.pidfile import pid_file, running_gaia

_HEADER = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]")
_STATE_DIR = re.compile(r"""^\s*state_dir\s*=\s*(?:"([^"\\]*)"|'([^']*)')""")


def config_path_leniently(explicit: Path | None) -> Path:
    """The config the user means; a missing file still names its directory (the
    state dir next to it may belong to a gaia started before the file was removed)."""
    cwd = Path.cwd()
    try:
        return find_config_path(explicit, os.environ, cwd)
    except ConfigError:
        named = explicit or Path(os.environ.get("GAIA_CONFIG") or DEFAULT_CONFIG_NAME)
        return Path(os.path.normpath(cwd / named.expanduser()))


def _scan_state_dir(text: str) -> str | None:
    table = ""
    for line in text.splitlines():
        if header := _HEADER.match(line):
            table = header.group(1)
        elif table == "gaia" and (found := _STATE_DIR.match(line)):
            return found.group(1) if found.group(1) is not None else found.group(2)
    return None


def state_dir_text(text: str) -> str:
    """`[gaia].state_dir` as written, or the default; never raises."""
    try:
        gaia = tomllib.loads(text).get("gaia")
    except (tomllib.TOMLDecodeError, RecursionError):
        return _scan_state_dir(text) or DEFAULT_STATE_DIR
    value = gaia.get("state_dir") if isinstance(gaia, dict) else None
    return value if isinstance(value, str) else DEFAULT_STATE_DIR


def find_state_dir(config: Path) -> Path:
    try:
        text = read_input(config, what="config file").decode("utf-8", errors="replace")
    except InputError:
        text = ""
    try:
        return resolve_path(state_dir_text(text), config.parent)
    except ValueError:
        return resolve_path(DEFAULT_STATE_DIR, config.parent)


def state_dir_in_use(config: Path) -> Path:
    """The file's state dir, unless no gaia runs there and one runs this very file from
    another: state_dir changes only when gaia restarts, so that gaia's is the one."""
    named = find_state_dir(config)
    if running_gaia(pid_file(named)) is not None:
        return named
    found = running_for(config)
    if found is None or found.state_dir == named:
        return named
    print(
        f"note: the running gaia (pid {found.record.pid}) uses state_dir {found.state_dir}; "
        f"{config.name} names {named}, which applies when gaia restarts",
        file=sys.stderr,
    )
    return found.state_dir
