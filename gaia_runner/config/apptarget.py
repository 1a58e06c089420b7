"""The `app` import string: "module.sub:attribute", "module:factory()" or, as gunicorn
accepts it, "module:factory('prod', debug=False)" with literal arguments.

The arguments are read with ast.literal_eval, never evaluated: a string, number,
boolean, None, or a list/tuple/dict/set of those.
"""

from __future__ import annotations

import ast
import importlib
import keyword
from dataclasses import dataclass, field
from typing import Any

_USAGE = (
    'expected an import string "module.sub:attribute" (or "module:factory()", '
    "\"module:factory('arg', key=1)\")"
)


@dataclass(frozen=True)
class AppTarget:
    module: str
    attribute: str
    call: bool = False
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def has_arguments(self) -> bool:
        return bool(self.args or self.kwargs)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _is_identifier(part: str) -> bool:
    return part.isidentifier() and not keyword.iskeyword(part)


def parse_app_target(text: str) -> AppTarget:
    """Raises ValueError with a message meant for the user."""
    module, sep, expression = text.partition(":")
    if not sep or not all(_is_identifier(p) for p in module.split(".")):
        raise ValueError(f"{_USAGE}, got {text!r}")
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"{_USAGE}, got {text!r}") from None
    if not isinstance(node, ast.Call):
        attribute = _dotted(node)
        if attribute is None:
            raise ValueError(f"{_USAGE}, got {text!r}")
        return AppTarget(module, attribute)
    attribute = _dotted(node.func)
    if attribute is None or any(kw.arg is None for kw in node.keywords):
        raise ValueError(f"{_USAGE}, got {text!r}")
    try:
        args = tuple(ast.literal_eval(arg) for arg in node.args)
        kwargs = {str(kw.arg): ast.literal_eval(kw.value) for kw in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(
            f"the arguments of {attribute}() must be literals (strings, numbers, booleans, "
            f"None, lists, dicts), got {text!r}"
        ) from None
    return AppTarget(module, attribute, call=True, args=args, kwargs=kwargs)


def load_app(text: str) -> Any:
    """Import the target and call the factory, as the server's worker would."""
    target = parse_app_target(text)
    obj: Any = importlib.import_module(target.module)
    for part in target.attribute.split("."):
        obj = getattr(obj, part)
    return obj(*target.args, **target.kwargs) if target.call else obj
