"""A small, deterministic YAML emitter for what the exporters build: dicts, lists, str,
int, float, bool and None.

gaia does not depend on PyYAML just to write a few manifests. Keys keep the order the
exporter built them in (that order is chosen to read like hand-written manifests), and a
string is written plain only when YAML 1.1 and 1.2 both read it back as the same string;
anything else gets JSON double quotes, which YAML accepts as a double-quoted scalar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

Node = Mapping[str, "Node"] | Sequence["Node"] | str | int | float | bool | None

# Starts with a letter, digit, "/" or "." and has no character YAML treats specially.
_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@+=-]*$")
# Words some YAML reader (1.1 in particular: yes/no/on/off) turns into booleans or null.
_RESERVED = frozenset(
    {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", ".inf", ".nan"}
)
_NUMBER = re.compile(r"^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^0[xob]", re.IGNORECASE)
# Sexagesimal (1:30) and time-like values are numbers to YAML 1.1 readers.
_COLON_NUMBER = re.compile(r"^[-+]?\d+(:\d+)+")


def scalar(value: str | int | float | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    plain = (
        _PLAIN.match(value)
        and value.lower() not in _RESERVED
        and not _NUMBER.match(value)
        and not _COLON_NUMBER.match(value)
        and not value.endswith(":")
    )
    return value if plain else json.dumps(value)


def _lines(node: Node, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(node, Mapping):
        if not node:
            return [pad + "{}"]
        out: list[str] = []
        for key, value in node.items():
            head = f"{pad}{scalar(key)}:"
            if isinstance(value, Mapping | list | tuple) and value:
                # Lists under a key are not indented further: the common Kubernetes style.
                out.append(head)
                out += _lines(value, indent if isinstance(value, list | tuple) else indent + 2)
            else:
                out.append(f"{head} {_inline(value)}")
        return out
    if isinstance(node, list | tuple):
        if not node:
            return [pad + "[]"]
        out = []
        for item in node:
            if isinstance(item, Mapping | list | tuple) and item:
                inner = _lines(item, indent + 2)
                out.append(f"{pad}- {inner[0][indent + 2 :]}")
                out += inner[1:]
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + _inline(node)]


def _inline(node: Node) -> str:
    if isinstance(node, Mapping):
        return "{}"
    if isinstance(node, list | tuple):
        return "[]"
    assert not isinstance(node, Sequence) or isinstance(node, str)
    return scalar(node)


def dump(node: Node, comments: Sequence[str] = ()) -> str:
    """One YAML document, with ``comments`` as `#` lines above it."""
    head = [f"# {line}".rstrip() for text in comments for line in text.splitlines()]
    return "\n".join([*head, *_lines(node, 0)]) + "\n"


def dump_all(documents: Sequence[str]) -> str:
    """Join documents made by dump() into one multi-document stream."""
    return "---\n" + "---\n".join(documents)
