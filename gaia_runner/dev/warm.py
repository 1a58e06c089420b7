"""Dev mode's warm start: which modules a standby interpreter may import ahead of a save.

A serving worker records the library modules it imported (the standard library and
installed packages: nothing from the app's own directory); the app's next standby
(`warm_main`) imports them before the save that releases it, so the new generation only
has to import the app's own code. Kept free of heavy imports: it runs inside workers.
"""

from __future__ import annotations

import contextlib
import os
import re
import site
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

# Never worth importing ahead, or harmful to: the entry points, the interactive helpers.
_SKIPPED = frozenset(
    {"__main__", "__mp_main__", "site", "sitecustomize", "usercustomize", "readline"}
)
_SKIPPED_ROOTS = frozenset({"idlelib", "tkinter", "turtle", "this", "antigravity", "test"})
# What a uvicorn worker forked in dev mode calls itself (/proc/PID/comm): its command line
# is its parent's, so this is how gaia tells it from the parent's other children.
FORKED_WORKER_NAME = "uvicorn-worker"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def name_forked_worker() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(FORKED_WORKER_NAME)


def _forms(path: str) -> set[str]:
    """A directory as written and as resolved, with a trailing separator: module file
    names are compared by prefix, without resolving each one (that costs a save ~10 ms)."""
    return {str(Path(path).absolute()) + os.sep, str(Path(path).resolve()) + os.sep}


def library_roots(app_dir: Path) -> tuple[str, ...]:
    """Where the standard library and installed packages live, as path prefixes. A root
    that holds the app's directory is left out: then nothing there counts as a library."""
    paths = sysconfig.get_paths()
    found = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    with contextlib.suppress(AttributeError):
        found.update(site.getsitepackages())
        found.add(site.getusersitepackages())
    found.update(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))
    app = _forms(str(app_dir))
    roots: set[str] = set()
    for root in found:
        forms = _forms(root)
        if not any(a.startswith(r) for a in app for r in forms):
            roots |= forms
    return tuple(sorted(roots))


def library_modules(modules: dict[str, object], app_dir: Path) -> list[str]:
    """Names of the imported modules that came from a library root, in import order."""
    roots = library_roots(app_dir)
    names = []
    for name, module in list(modules.items()):
        filename = getattr(module, "__file__", None)
        if isinstance(filename, str) and filename.startswith(roots) and importable(name):
            names.append(name)
    return names


def app_modules(modules: dict[str, object], app_dir: Path) -> list[str]:
    """Modules loaded from the app's own files (under its directory, and no installed
    library: a virtualenv inside the app's directory holds libraries). A standby holding
    one would serve stale code."""
    roots = library_roots(app_dir)
    app = tuple(_forms(str(app_dir)))
    found = []
    for name, module in list(modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str):
            continue
        if not filename.startswith(os.sep):
            filename = str(Path(filename).absolute())
        if filename.startswith(app) and not filename.startswith(roots):
            found.append(name)
    return found


def importable(name: str) -> bool:
    return (
        _NAME.fullmatch(name) is not None
        and name not in _SKIPPED
        and name.partition(".")[0] not in _SKIPPED_ROOTS
    )


def record_imports(path: str) -> None:
    """Called in a worker once its app is loaded: write the library modules it imported.
    Best effort: a standby without the list only starts less warm."""
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    try:
        names = library_modules(dict(sys.modules), Path.cwd())
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        with os.fdopen(os.open(tmp, flags, 0o600), "w") as handle:
            handle.write("\n".join(names) + "\n")
        tmp.replace(path)
    except Exception:  # the record is only an optimisation
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def read_imports(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return [n for n in handle.read().splitlines() if importable(n)]
    except OSError:
        return []


def import_quietly(names: Iterable[str]) -> None:
    """Import what it can: a module that fails here (it needs the app set up first, say)
    is simply imported later by the app itself, as without a standby."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except BaseException:  # SystemExit from an import, too
                continue
