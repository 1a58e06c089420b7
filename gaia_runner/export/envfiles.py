"""Env files as the orchestrators read them, checked against gaia's own reading.

gaia reads `.env` files strictly (quotes, `export`, comments after a value, no `$VAR`).
Compose expands `$VAR` in env files unless told `format: raw`, and raw keeps quotes;
`kubectl create secret --from-env-file` keeps quotes too. An exported app must get exactly
the values `gaia up` gives it, so an env file is exported only when every line reads the
same to all three: `KEY=value`, unquoted, with nothing gaia would strip.
"""

from __future__ import annotations

from pathlib import Path

from gaia_runner.config.envfile import parse_env_text
from gaia_runner.config.inputs import InputError, ReadAs, read_input
from gaia_runner.export import Unexportable


def literal_problems(text: str) -> list[str]:
    """Where ``text`` would read differently outside gaia, as `line N (KEY)`: never a value,
    which is often a secret."""
    values, problems = parse_env_text(text)
    found = [f"line {p.line}: {p.message}" for p in problems]
    last_line: dict[str, int] = {}
    raw_values: dict[str, str] = {}
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, raw = line.partition("=")
        if key not in values:
            found.append(f"line {number}: write `KEY=value` with no space or `export` before `=`")
            continue
        last_line[key], raw_values[key] = number, raw
    for key, raw in raw_values.items():
        if raw != values[key]:
            found.append(
                f"line {last_line[key]} ({key}): quotes, spaces around the value or a comment "
                "after it are read differently by Compose and kubectl; write the value unquoted"
            )
    return found


def check_exportable(path: Path, shown: str, as_user: ReadAs | None = None) -> None:
    """Raise Unexportable naming ``shown`` (the path as the user wrote it) and every line.
    Read as gaia reads it (``as_user``: the app's user), bounded, never from a FIFO."""
    try:
        text = read_input(path, what="env file", as_user=as_user).decode("utf-8")
    except InputError as exc:
        raise Unexportable(f"{shown}: {exc.reason}") from None
    except UnicodeDecodeError:
        raise Unexportable(f"{shown}: not UTF-8 text") from None
    problems = literal_problems(text)
    if problems:
        lines = "\n".join(f"  {shown}: {p}" for p in problems)
        raise Unexportable(
            f"{shown} would give the exported app other values than `gaia up` does:\n{lines}"
        )
