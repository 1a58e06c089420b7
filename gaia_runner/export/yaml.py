"""A small, deterministic YAML emitter for what the exporters build: dicts, lists, str,
int, float, bool and None.

gaia does not depend on PyYAML just to write a few manifests. Keys keep the order the
exporter built them in (that order is chosen to read like hand-written manifests).

Every string value is double-quoted. Guessing which strings may stay plain is a denylist,
and denylists fail: `2001-12-14` became a date, emoji became escapes Compose refused. Only
keys, which the exporters choose, stay plain when they are a plain identifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from gaia_runner.export import Unexportable

Node = Mapping[str, "Node"] | Sequence["Node"] | str | int | float | bool | None

# A key such as `apiVersion` or `app.kubernetes.io/name`: nothing any YAML reader types.
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
# Words some YAML reader (1.1 in particular: yes/no/on/off) turns into booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
# Characters a YAML double-quoted scalar may not hold raw: C0/C1 controls, DEL, the
# Unicode line breaks YAML treats as breaks, the BOM, and lone surrogates (not encodable).
_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise Unexportable("a lone surrogate cannot be written as YAML (or UTF-8)")
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar that every reader reads back unchanged."""
    body = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _ESCAPE.sub(lambda m: _escape(m.group()), body) + '"'


def scalar(value: str | int | float | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return quoted(value)


def _key(key: str) -> str:
    plain = _PLAIN_KEY.match(key) and key.lower() not in _RESERVED
    return key if plain else quoted(key)


def _lines(node: Node, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(node, Mapping):
        if not node:
            return [pad + "{}"]
        out: list[str] = []
        for key, value in node.items():
            head = f"{pad}{_key(key)}:"
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
