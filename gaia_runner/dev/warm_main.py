"""A standby for an app's next generation in dev mode: `python -m gaia_runner.dev.warm_main
GATE_FD IMPORTS_FILE`.

It imports the library modules the app's last worker recorded (never the app's own), then
waits at the gate. gaia releases it with the argv a cold start would have executed
(`python -m gunicorn ...`); it runs that module in this warm interpreter, so the save costs
only the import of the app's own code. The end of the gate without an argv means: not
needed, exit. Should the imports have pulled in one of the app's own modules, it would
serve stale code: then it executes the argv in a fresh interpreter instead (the same
process, so gaia's view of it does not change).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

from gaia_runner.dev.warm import app_modules, import_quietly, read_imports
from gaia_runner.process.proc_title import set_title


def _wait_at_gate(fd: int) -> list[str]:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    if not chunks:
        return []
    argv = json.loads(b"".join(chunks))
    return [str(arg) for arg in argv]


def main(args: list[str]) -> int:
    gate, imports = int(args[0]), args[1]
    app = Path(imports).stem  # the record is named after the app (launch.imports_record)
    set_title(f"gaia:{app} standby")
    app_dir = Path.cwd()
    import_quietly(read_imports(imports))
    argv = _wait_at_gate(gate)
    if not argv:
        return 0
    server = argv[2] if len(argv) > 2 and argv[1] == "-m" else Path(argv[0]).name
    set_title(f"gaia:{app} {server.split('.')[-1]} (dev)")
    warm = argv[0] == sys.executable and len(argv) > 2 and argv[1] == "-m"
    if not warm or app_modules(dict(sys.modules), app_dir):
        os.execv(argv[0], argv)
    # What `python -m MODULE ARGS` does, minus a new interpreter: sys.path[0] is already
    # this directory (this module was run with -m from it too).
    sys.argv = [argv[2], *argv[3:]]
    runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
