"""A TOML syntax error anywhere near an env value never shows text from that value."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, parse_config_text

SECRET = "u5ZQ7y9rKd0cW1x3mJ8bN2vT6aQeR4sLpY0hZk"
HEAD = '[apps.web]\napp = "m:app"\n'
# Each places SECRET (as {value}) somewhere an env value lives.
PLACES = {
    "multi-line string in an inline env table": (
        HEAD + 'env = {{ PRIVATE_KEY = """-----BEGIN KEY-----\n{value}\n-----END KEY-----""" }}\n'
    ),
    "multi-line string in an [apps.x.env] table": (
        HEAD + '[apps.web.env]\nPRIVATE_KEY = """-----BEGIN KEY-----\n{value}\n-----END"""\n'
    ),
    "one-line value in an [apps.x.env] table": HEAD + '[apps.web.env]\nTOKEN = "{value}"\n',
    "dotted env key": HEAD + 'env.PRIVATE_KEY = """\n{value}\n"""\n',
    "[gaia].env": '[gaia]\nenv = {{ TOKEN = "{value}" }}\n' + HEAD,
    "[gaia.env] table": '[gaia.env]\nTOKEN = """\n{value}"""\n' + HEAD,
    "literal multi-line string": HEAD + "[apps.web.env]\nK = '''\n{value}\n'''\n",
    "inline env table on later lines": HEAD + 'env = {{ A = "1",\n  TOKEN = "{value}" }}\n',
    "array in an env table": HEAD + 'env = {{ TOKEN = [\n  "{value}",\n] }}\n',
    "header-like line inside the value": (
        HEAD + 'env.K = """\n[apps.other]\nx = 1 {value}\n"""\n[apps.b]\n'
    ),
    "quoted env table header": HEAD + '[apps.web."env"]\nTOKEN = """\n{value}\n"""\n',
}
# What can go wrong inside the value: a bad escape, a control character, an early end.
BREAKS = ["\\q", "\x01", '"""x', "'''x", "\\u12", "\n[bad", "\n=x", "}", "]"]


def message_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config_text(text, Path("/srv/gaia.toml"))
    return str(info.value)


def fragments(secret: str, size: int = 5) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("damage", BREAKS)
def test_no_fragment_of_an_env_value_in_a_syntax_error(place: str, damage: str) -> None:
    for at in range(0, len(SECRET) + 1, 4):
        value = SECRET[:at] + damage + SECRET[at:]
        try:
            parse_config_text(PLACES[place].format(value=value), Path("/srv/gaia.toml"))
        except ConfigError as exc:
            shown = str(exc)
        else:
            continue  # still valid TOML ("}" inside a string), nothing printed
        assert "/srv/gaia.toml:" in shown
        leaked = [f for f in fragments(SECRET) if f in shown]
        assert not leaked, shown


def test_a_line_outside_env_values_is_still_quoted() -> None:
    shown = message_of(HEAD + 'env = { A = "1" }\nworkers = \n')
    assert shown.endswith(":4: invalid TOML: Invalid value at column 11 in: workers =")


def test_the_offending_character_is_not_quoted() -> None:
    shown = message_of(HEAD + 'env = { A = "ab\x01" }\n')
    assert "\x01" not in shown and "'\\x01'" not in shown
    assert "Illegal character at column" in shown


def test_a_line_after_a_closed_env_table_is_quoted() -> None:
    shown = message_of(HEAD + '[apps.web.env]\nA = "1"\n[apps.b]\ncommand = [\n')
    assert shown.endswith("in: command = [") or "Unclosed array" in shown
