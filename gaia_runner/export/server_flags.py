"""A server's settings as its own command-line flags, for containers that run the server
directly. Each setting is looked up in the installed server's CLI definition, so what the
export writes is what that server parses; a setting with no flag is reported, never dropped."""

from __future__ import annotations

from collections.abc import Mapping


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def uvicorn_flags(options: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """(argv, names of options uvicorn's CLI has no flag for)."""
    import click
    from uvicorn import main as uvicorn_cli

    params = {p.name: p for p in uvicorn_cli.params if isinstance(p, click.Option)}
    argv: list[str] = []
    unmapped: list[str] = []
    for name, value in options.items():
        param = params.get(name)
        if param is None:
            unmapped.append(name)
        elif param.is_flag:
            if value:
                argv.append(param.opts[0])
            elif param.secondary_opts:
                argv.append(param.secondary_opts[0])
        elif param.multiple:
            for item in value if isinstance(value, list | tuple) else [value]:
                text = ":".join(map(str, item)) if isinstance(item, list | tuple) else str(item)
                argv += [param.opts[0], text]
        else:
            argv += [param.opts[0], _text(value)]
    return argv, unmapped


def gunicorn_flags(settings: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """(argv, names of settings gunicorn's CLI has no flag for, such as server hooks)."""
    from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped]

    known = {setting.name: setting for setting in KNOWN_SETTINGS}
    argv: list[str] = []
    unmapped: list[str] = []
    for name, value in settings.items():
        setting = known.get(name)
        flags = [flag for flag in (setting.cli or []) if flag.startswith("--")] if setting else []
        if setting is None or not flags:
            unmapped.append(name)
        elif setting.action == "store_true":
            if value:
                argv.append(flags[0])
        elif setting.action == "store_false":
            if not value:
                argv.append(flags[0])
        elif setting.action == "append":
            for item in value if isinstance(value, list | tuple) else [value]:
                argv += [flags[0], str(item)]
        else:
            argv += [flags[0], _text(value)]
    return argv, unmapped
